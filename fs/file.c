/*
 * file.c - the open files of the mount: their buffers, their states (see
 * file.h) and the requests on them (read, write, flush, poll), each run at
 * once or parked, and answered exactly once.
 *
 * Field files behave like sysfs attributes:
 * - read: at every read at offset 0 the value is rendered once, under one
 *   read lock (a native instance: from one copy made without a lock, see
 *   peek.c), as the library's text and a newline into the open file's
 *   buffer; later offsets are served from that buffer, so one cat never
 *   splices two values. A read of an open file with written text not yet
 *   stored stores it first (or fails with its error).
 * - write: see store.c. An error sticks to the open file: bash writes the
 *   rest after a refused chunk, and that must not store a fragment.
 * - flush: pending text is stored at the opener's last close only; see
 *   "Who writes, who closes".
 * - .values: read renders "path = value" for every field under ONE read
 *   lock (native: from ONE copy).
 * poll(), select() and epoll: see poll.c.
 *
 * Locks: a request tries the lock once, without waiting (one system call
 * when nobody holds it); when another process holds it, the request is
 * parked and answered later by the instance's waiter thread (park.c), so
 * that no session thread ever waits: other instances, INTERRUPTs (Ctrl-C on
 * a waiting cat) and the file's other requests are served meanwhile.
 *
 * Mutex: the kernel does not serialise the requests of one open file
 * (threads sharing a descriptor, read and write on O_RDWR), so each has a
 * mutex, held by read, write, flush and poll while they use its buffer. It
 * is never held while waiting for the shared lock, nor while replying
 * (file_send()): a reply wakes the requester, which on the same CPU runs at
 * once and sends the file's next request; with the mutex still held that
 * request's thread would block on it, two more context switches and two
 * futex calls per request. An open file with parked requests parks its
 * later ones too, so that they are served in order.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"

#define FS_KEEP_CAP 8192 /* buffers kept with a reused handle */
#define FS_FREE_MAX 256	 /* handles kept for reuse */

/* ------------------------------------------------------------------------ */
/* States                                                                    */
/* ------------------------------------------------------------------------ */

/* See file.h. The moves of its diagram, one bit per state moved to. */
void fs_file_to(struct fs_handle *h, enum fs_fstate to)
{
#define TO(s) (1u << (s))
	static const unsigned allowed[] = {
	    [FS_F_FRESH] = TO(FS_F_SHOWN) | TO(FS_F_PENDING) | TO(FS_F_CUT) | TO(FS_F_WRITTEN),
	    [FS_F_SHOWN] = TO(FS_F_SHOWN) | TO(FS_F_PENDING) | TO(FS_F_CUT) | TO(FS_F_WRITTEN),
	    [FS_F_PENDING] = TO(FS_F_PENDING) | TO(FS_F_CUT) | TO(FS_F_STORING) | TO(FS_F_WRITTEN),
	    [FS_F_CUT] = TO(FS_F_PENDING) | TO(FS_F_CUT) | TO(FS_F_STORING) | TO(FS_F_WRITTEN),
	    /* Back to PENDING or CUT: the parked request was cancelled, or
	     * must run again from its start. */
	    [FS_F_STORING] = TO(FS_F_PENDING) | TO(FS_F_CUT) | TO(FS_F_WRITTEN),
	    [FS_F_WRITTEN] = TO(FS_F_SHOWN) | TO(FS_F_PENDING) | TO(FS_F_CUT) | TO(FS_F_WRITTEN),
	};
#undef TO
	assert((unsigned)h->state < sizeof(allowed) / sizeof(allowed[0]));
	assert(allowed[h->state] & (1u << to));
	h->state = to;
}

/* ------------------------------------------------------------------------ */
/* Handles                                                                   */
/* ------------------------------------------------------------------------ */

static void file_destroy(struct fs_handle *h)
{
	if (h->buf != h->small)
		free(h->buf);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

/* A handle with room for need bytes, on the open list. */
static struct fs_handle *file_get(struct fs *fs, size_t need)
{
	struct fs_handle *h;

	pthread_mutex_lock(&fs->free_mu);
	h = fs->free_handles;
	if (h) {
		fs->free_handles = h->next;
		fs->nfree--;
	}
	pthread_mutex_unlock(&fs->free_mu);
	if (!h) {
		h = malloc(sizeof(*h));
		if (!h)
			return NULL;
		pthread_mutex_init(&h->mu, NULL);
		h->buf = h->small;
		h->cap = sizeof(h->small);
	}
	if (h->cap < need) {
		char *b = malloc(need);

		if (!b) {
			file_destroy(h);
			return NULL;
		}
		if (h->buf != h->small)
			free(h->buf);
		h->buf = b;
		h->cap = need;
	}
	h->poll = NULL;
	h->len = h->checked = h->nset = h->textcap = 0;
	h->lines = h->parked = 0;
	h->base = 0;
	h->err = 0;
	h->oflags = 0;
	h->state = FS_F_FRESH;
	h->primed = 0;
	h->stores = 0;
	h->opener = 0;
	h->owner = 0;
	h->nwriters = 0;
	h->scratch = NULL;
	h->set = NULL;
	return h;
}

static struct fs_handle **file_bucket(struct fs *fs, fuse_ino_t ino)
{
	return &fs->byino[((uint64_t)ino * 0x9e3779b97f4a7c15u) >> 56];
}

/* On the open list: freed at the end if the kernel never releases it (a
 * lazy unmount, a signal); read-only, also found by inode (fs_file_stat). */
static void file_link(struct fs *fs, struct fs_handle *h)
{
	struct fs_handle **b = file_bucket(fs, h->ino);

	pthread_mutex_lock(&fs->free_mu);
	h->prev = NULL;
	h->next = fs->open_handles;
	if (h->next)
		h->next->prev = h;
	fs->open_handles = h;
	h->inext = NULL;
	if ((h->oflags & O_ACCMODE) == O_RDONLY) {
		h->inext = *b;
		*b = h;
	}
	pthread_mutex_unlock(&fs->free_mu);
}

static void file_put(struct fs *fs, struct fs_handle *h)
{
	free(h->scratch);
	free(h->set);
	if (h->cap > FS_KEEP_CAP) {
		free(h->buf);
		h->buf = h->small;
		h->cap = sizeof(h->small);
	}
	pthread_mutex_lock(&fs->free_mu);
	for (struct fs_handle **b = file_bucket(fs, h->ino); *b; b = &(*b)->inext) {
		if (*b == h) {
			*b = h->inext;
			break;
		}
	}
	if (h->prev)
		h->prev->next = h->next;
	else
		fs->open_handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	if (fs->nfree < FS_FREE_MAX) {
		h->next = fs->free_handles;
		fs->free_handles = h;
		fs->nfree++;
		h = NULL;
	}
	pthread_mutex_unlock(&fs->free_mu);
	if (h)
		file_destroy(h);
}

/* See fs.h. */
void fs_files_free(struct fs *fs)
{
	struct fs_handle *h, *next;

	for (h = fs->open_handles; h; h = next) {
		next = h->next;
		free(h->scratch);
		free(h->set);
		file_destroy(h);
	}
	for (h = fs->free_handles; h; h = next) {
		next = h->next;
		file_destroy(h);
	}
	fs->open_handles = fs->free_handles = NULL;
	fs->nfree = 0;
}

/* See file.h. */
int fs_file_grow(struct fs_handle *h, size_t need)
{
	size_t cap = h->cap;
	char *b;

	if (need <= cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (h->buf == h->small) {
		b = malloc(cap);
		if (b)
			memcpy(b, h->buf, h->len);
	} else {
		b = realloc(h->buf, cap);
	}
	if (!b)
		return -ENOMEM;
	h->buf = b;
	h->cap = cap;
	return 0;
}

/* See fs.h. */
struct fs_handle *fs_file_new(struct fs *fs, struct fs_inst *in, const struct fs_node *n,
			      fuse_ino_t ino, int flags, pid_t pid)
{
	size_t textcap = fs_store_textcap(n), need = n->textmax + 1;
	struct fs_handle *h;

	if (textcap)
		need = textcap + n->field.size;
	h = file_get(fs, need);
	if (!h)
		return NULL;
	h->in = in;
	h->node = n;
	h->textcap = textcap;
	h->oflags = flags;
	h->ino = ino;
	h->opener = pid;
	file_link(fs, h);
	return h;
}

/* See fs.h. Lock order: free_mu, then the open file's mutex, which is never
 * held while waiting for the shared lock. */
int fs_file_stat(struct fs *fs, fuse_ino_t ino, pid_t tid, char *buf, size_t cap, size_t *len,
		 struct fs_snapmeta *meta, int have)
{
	struct fs_handle *h, *found = NULL;
	int rc = 0;

	pthread_mutex_lock(&fs->free_mu);
	for (h = *file_bucket(fs, ino); h; h = h->inext)
		if (h->ino == ino && h->opener == tid) {
			found = h; /* the first found is the last opened */
			break;
		}
	if (found) {
		h = found;
		pthread_mutex_lock(&h->mu);
		if (h->state == FS_F_SHOWN && h->len <= cap) {
			memcpy(buf, h->buf, h->len);
			*len = h->len;
			*meta = h->meta;
			rc = 1;
		} else if (h->state == FS_F_FRESH && have && *len <= h->cap) {
			memcpy(h->buf, buf, *len);
			h->len = *len;
			h->meta = *meta;
			fs_file_to(h, FS_F_SHOWN);
			h->primed = 1;
			rc = 2;
		}
		pthread_mutex_unlock(&h->mu);
	}
	pthread_mutex_unlock(&fs->free_mu);
	return rc;
}

/* See fs.h. */
void fs_file_free(struct fs *fs, struct fs_handle *h)
{
	/* A waiter that answered this file's last request may still be
	 * unlocking the mutex: wait for it. */
	pthread_mutex_lock(&h->mu);
	pthread_mutex_unlock(&h->mu);
	if (h->poll)
		fs_poll_drop(h->in, h->poll);
	file_put(fs, h);
}

/* ------------------------------------------------------------------------ */
/* Rendering                                                                 */
/* ------------------------------------------------------------------------ */

/* Renders the open file's text into its buffer: without a lock on a
 * native instance, else under one read lock. expired: a parked .status
 * read waited long enough (see inst.c). */
static int file_render(struct fs_handle *h, int expired)
{
	const struct fs_node *n = h->node;
	struct fs_poll *p;
	struct fs_lk lk;
	unsigned gen;
	int rc;

	/* A removed file: as an open of it would answer (ops.c). */
	if (n->kind != FS_STATUS && fs_inst_check(h->in))
		return h->in->fs->scan ? -ENOENT : -EIO;
	h->primed = 0;
	if (n->kind == FS_STATUS) {
		rc = fs_inst_status(h->in, h->buf, h->cap, expired);
		if (rc < 0)
			return rc;
		h->len = (size_t)rc;
		h->meta.ts = 0;
		fs_file_to(h, FS_F_SHOWN);
		return 0;
	}
	/* The only cost of poll() here when nobody polls: one load. */
	p = __atomic_load_n(&h->poll, __ATOMIC_ACQUIRE);
	/* A native instance: no lock (peek.c). */
	rc = fs_peek_render(h->in, n, h->buf, h->cap, &h->len, &h->meta, p);
	if (rc == 0) {
		fs_file_to(h, FS_F_SHOWN);
		return 0;
	}
	gen = fs_inst_gen(h->in);
	rc = fs_acquire(h->in, 0, &lk);
	if (rc < 0)
		return rc;
	rc = fs_attr_render(h->in, n, lk.m, gen, h->buf, h->cap, &h->len, &h->meta);
	if (p && rc >= 0)
		fs_poll_rendered(h->in, p, h->buf, h->len);
	fs_release(h->in, &lk);
	if (rc < 0)
		return rc;
	fs_file_to(h, FS_F_SHOWN);
	return 0;
}

/* See fs.h. */
void fs_file_prime(struct fs *fs, struct fs_handle *h)
{
	int primed;

	fs_attr_open(fs, h->in, h->ino, h->buf, h->cap, &h->len, &h->meta, &primed);
	if (primed) {
		fs_file_to(h, FS_F_SHOWN);
		h->primed = 1;
	}
}

/* ------------------------------------------------------------------------ */
/* Replies                                                                   */
/* ------------------------------------------------------------------------ */

enum { FS_OP_READ, FS_OP_WRITE, FS_OP_FLUSH, FS_OP_POLL, FS_OP_ATTR };

enum { FS_R_ERR, FS_R_BUF, FS_R_WRITE, FS_R_POLL, FS_R_ATTR };

#define FS_REPLY_COPY 4096 /* replies up to this size sent after unlocking */

/* A reply made under the open file's mutex, sent after (file_send()). */
struct fs_reply {
	int kind;		 /* FS_R_* */
	int err;		 /* FS_R_ERR: positive errno, 0 for success */
	const char *p;		 /* FS_R_BUF: the bytes, NULL when none */
	size_t n;		 /* FS_R_BUF: their count; FS_R_WRITE: bytes written */
	unsigned revents;	 /* FS_R_POLL: the events */
	struct stat st;		 /* FS_R_ATTR: the attributes */
	double tmo;		 /* FS_R_ATTR: how long the kernel may keep them */
	struct fs_snapmeta meta; /* FS_R_ATTR: what they were rendered from */
};

static void file_reply_err(struct fs_reply *r, int err)
{
	r->kind = FS_R_ERR;
	r->err = err;
}

static void file_send(fuse_req_t req, const struct fs_reply *r)
{
	switch (r->kind) {
	case FS_R_BUF:
		fuse_reply_buf(req, r->p, r->n);
		break;
	case FS_R_WRITE:
		fuse_reply_write(req, r->n);
		break;
	case FS_R_POLL:
		fuse_reply_poll(req, r->revents);
		break;
	case FS_R_ATTR:
		fs_attr_reply(req, fuse_req_userdata(req), &r->st, r->tmo, &r->meta);
		break;
	default:
		fuse_reply_err(req, r->err);
		break;
	}
}

/* Unlocks h's mutex and sends r: a reply from h's buffer is copied to copy
 * first (FS_REPLY_COPY bytes), or, when longer, sent before unlocking. */
static void file_unlock_send(struct fs_handle *h, fuse_req_t req, struct fs_reply *r, char *copy)
{
	if (r->kind == FS_R_BUF && r->n > FS_REPLY_COPY) {
		file_send(req, r);
		pthread_mutex_unlock(&h->mu);
		return;
	}
	if (r->kind == FS_R_BUF && r->n) {
		memcpy(copy, r->p, r->n);
		r->p = copy;
	}
	pthread_mutex_unlock(&h->mu);
	file_send(req, r);
}

/* ------------------------------------------------------------------------ */
/* Who writes, who closes                                                    */
/* ------------------------------------------------------------------------ */

/*
 * The kernel sends a FLUSH at every close() of every descriptor of an open
 * file: a child's that inherited it, a dup's, the exit of a killed writer.
 * Storing at each would store half an update. Written text is stored once,
 * at the opener's last close: a FLUSH from the opener's files table
 * (lock_owner) when that table holds no other descriptor of the file. A
 * FLUSH from a task dying of a signal drops the pending text when that
 * task opened the file or wrote to it: the update is cancelled (later
 * writes and the opener's last close answer ECANCELED). Text written after
 * the opener's last close is never stored. Facts in proc.c.
 */
enum { FS_CLOSE_KEEP, FS_CLOSE_STORE, FS_CLOSE_DROP };

/* Whether (pid, owner) is the opener's files table; learns it from the
 * first request of the opener's thread group. */
static int file_opener(struct fs_handle *h, pid_t pid, uint64_t owner)
{
	pid_t g;

	if (!owner)
		return 0;
	if (h->owner)
		return owner == h->owner;
	if (pid != h->opener) {
		g = fs_proc_tgid(pid);
		if (!g || g != fs_proc_tgid(h->opener))
			return 0;
	}
	h->owner = owner;
	return 1;
}

/* A write from files table owner. */
static void file_writer(struct fs_handle *h, pid_t pid, uint64_t owner)
{
	if (!owner || file_opener(h, pid, owner))
		return;
	for (unsigned i = 0; i < h->nwriters && i < FS_WRITERS; i++)
		if (h->writers[i] == owner)
			return;
	if (h->nwriters < FS_WRITERS)
		h->writers[h->nwriters++] = owner;
	else
		h->nwriters = FS_WRITERS + 1; /* too many to tell: all wrote */
}

static int file_wrote(const struct fs_handle *h, uint64_t owner)
{
	if (h->nwriters > FS_WRITERS)
		return 1;
	for (unsigned i = 0; i < h->nwriters; i++)
		if (h->writers[i] == owner)
			return 1;
	return 0;
}

/* What a FLUSH from (pid, owner) does: FS_CLOSE_*. Decided when it comes,
 * while /proc still shows the closing task as it is. */
static int file_close_kind(struct fs_handle *h, pid_t pid, uint64_t owner)
{
	int opener = file_opener(h, pid, owner);

	/* With requests parked, text may be on its way: look closer. */
	if ((!fs_file_pending(h) && !h->parked) || h->err)
		return FS_CLOSE_KEEP;
	if (!owner || pid <= 0)
		return FS_CLOSE_STORE; /* who closes is not known: every close stores */
	if ((opener || file_wrote(h, owner)) && fs_proc_killed(pid))
		return FS_CLOSE_DROP;
	if (!opener || fs_proc_holds(pid, h->ino, h->in->fs->mnt_id))
		return FS_CLOSE_KEEP;
	return FS_CLOSE_STORE;
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                  */
/* ------------------------------------------------------------------------ */

static void file_reply_read(struct fs_reply *r, struct fs_handle *h, size_t size, off_t off)
{
	r->kind = FS_R_BUF;
	if ((size_t)off >= h->len) {
		r->p = NULL;
		r->n = 0;
	} else {
		r->p = h->buf + off;
		r->n = size < h->len - (size_t)off ? size : h->len - (size_t)off;
	}
}

static int file_read(struct fs_reply *r, struct fs_handle *h, size_t size, off_t off, int expired)
{
	int rc;

	if (fs_file_pending(h) && !h->err) {
		/* Text written on this O_RDWR file: stored before it is read
		 * back, as close would store it. */
		rc = fs_store_commit(h);
		if (rc == FS_PARK)
			return rc;
		if (rc < 0) {
			if (rc != -EINTR)
				h->err = rc;
			file_reply_err(r, -rc);
			return 0;
		}
		fs_attr_changed(h->in->fs, h->ino, 0);
	}
	/* Primed: the value its fstat showed (or its open was handed). */
	if ((off == 0 && !h->primed) || h->state != FS_F_SHOWN) {
		rc = file_render(h, expired);
		if (rc == FS_PARK)
			return rc;
		if (rc < 0) {
			file_reply_err(r, -rc);
			return 0;
		}
	}
	h->primed = 0;
	file_reply_read(r, h, size, off);
	return 0;
}

static int file_write(struct fs_reply *r, struct fs_handle *h, const char *data, size_t size,
		      off_t off)
{
	unsigned stores = h->stores;
	int rc;

	if (h->err) {
		file_reply_err(r, -h->err);
		return 0;
	}
	rc = fs_store_write(h, data, size, off);
	/* The kernel drops this file's attributes after a write itself. */
	if (h->stores != stores)
		fs_attr_changed(h->in->fs, h->ino, 1);
	if (rc == FS_PARK)
		return rc;
	if (rc < 0) {
		/* Sticky: bash writes the rest after a refused chunk. */
		if (rc != -EINTR)
			h->err = rc;
		fs_file_to(h, FS_F_WRITTEN);
		if (h->in->fs->verbose && h->node->kind == FS_FIELD)
			fprintf(stderr, FS_NAME ": %s/%s: refused: %s\n", h->in->dirname,
				h->node->path, strerror(-rc));
		file_reply_err(r, -rc);
		return 0;
	}
	r->kind = FS_R_WRITE;
	r->n = size;
	return 0;
}

/* A close: store what is pending, keep it, or drop it (file_close_kind()). */
static int file_flush(struct fs_reply *r, struct fs_handle *h, int how)
{
	int rc = 0;

	if (how == FS_CLOSE_DROP) {
		if (fs_file_pending(h))
			fs_file_to(h, FS_F_WRITTEN);
		h->err = -ECANCELED;
	} else if (how == FS_CLOSE_STORE && fs_file_pending(h) && !h->err) {
		rc = fs_store_commit(h);
		if (rc == FS_PARK)
			return rc;
		if (rc < 0 && rc != -EINTR)
			h->err = rc;
		if (rc == 0)
			fs_attr_changed(h->in->fs, h->ino, 0);
	} else if (how == FS_CLOSE_STORE && h->err == -ECANCELED) {
		rc = h->err; /* the opener learns its update was cancelled */
	}
	file_reply_err(r, -rc);
	return 0;
}

static int file_poll(struct fs_reply *r, struct fs_handle *h, struct fuse_pollhandle *ph)
{
	unsigned revents = 0;
	int rc;

	if (h->node->kind == FS_STATUS) {
		/* Recoveries ring no change counter: never notified. */
		if (ph)
			fuse_pollhandle_destroy(ph);
		r->kind = FS_R_POLL;
		r->revents = POLLIN | POLLRDNORM;
		return 0;
	}
	rc = fs_poll(h->in, h->node, &h->poll, h->state == FS_F_SHOWN ? h->buf : NULL, h->len, ph,
		     &revents);
	if (rc == FS_PARK)
		return rc;
	if (rc < 0) {
		file_reply_err(r, -rc);
	} else {
		r->kind = FS_R_POLL;
		r->revents = revents;
	}
	return 0;
}

/* fstat(fd): the attributes of the value the open file shows. A fresh
 * read-only file renders it now (primed: its first read serves it); one
 * with written text shows the value as a stat would. */
static int file_attr(struct fs_reply *r, struct fs_handle *h, int expired)
{
	struct fs *fs = h->in->fs;
	size_t idx = (size_t)(h->ino >> 32) - 1;
	uint32_t node = (uint32_t)h->ino;
	int rc;

	if (h->state == FS_F_FRESH && (h->oflags & O_ACCMODE) == O_RDONLY) {
		rc = file_render(h, expired);
		if (rc == FS_PARK && !expired)
			return rc;
		if (rc == 0)
			h->primed = 1;
	}
	r->kind = FS_R_ATTR;
	r->meta = h->meta;
	if (h->state == FS_F_SHOWN)
		r->tmo =
		    fs_attr_snapshot(fs, h->in, idx, node, h->buf, h->len, &h->meta, &r->st, 1);
	else
		r->tmo = fs_attr(fs, h->in, idx, node, &r->st); /* damaged, busy, written */
	return 0;
}

/* One request on h, its mutex held: FS_PARK (nothing to reply, nothing
 * changed that running it again would repeat), or 0 with the reply in r. */
static int file_do(int op, struct fs_reply *r, struct fs_handle *h, const char *data, size_t size,
		   off_t off, struct fuse_pollhandle *ph, int how, int expired)
{
	switch (op) {
	case FS_OP_READ:
		return file_read(r, h, size, off, expired);
	case FS_OP_ATTR:
		return file_attr(r, h, expired);
	case FS_OP_WRITE:
		return file_write(r, h, data, size, off);
	case FS_OP_FLUSH:
		return file_flush(r, h, how);
	default:
		return file_poll(r, h, ph);
	}
}

/* See fs.h. */
int fs_job_run(struct fs_job *j)
{
	struct fs_handle *h = j->h;
	struct fs_reply r;
	char copy[FS_REPLY_COPY];
	int rc;

	if (!h)
		return fs_attr_job(j);
	pthread_mutex_lock(&h->mu);
	rc = file_do(j->op, &r, h, j->data, j->size, j->off, j->ph, j->how, j->expired);
	if (rc == FS_PARK) {
		pthread_mutex_unlock(&h->mu);
		return rc;
	}
	h->parked--;
	/* No RELEASE comes before this reply, and it takes the mutex before
	 * the handle goes. */
	file_unlock_send(h, j->req, &r, copy);
	free(j);
	return rc;
}

/* See fs.h. */
void fs_job_cancel(struct fs_job *j, int err)
{
	struct fs_handle *h = j->h;

	if (!h) { /* FS_JOB_ATTR */
		fuse_reply_err(j->req, err);
		free(j);
		return;
	}
	pthread_mutex_lock(&h->mu);
	h->parked--;
	/* A store that will not run now: pending again. */
	if (h->state == FS_F_STORING)
		fs_file_to(h, FS_F_PENDING);
	pthread_mutex_unlock(&h->mu);
	if (j->ph)
		fuse_pollhandle_destroy(j->ph);
	fuse_reply_err(j->req, err);
	free(j);
}

/* How long a parked request may wait for the lock: fstat, and reading
 * .status, only so long (then run without it); the others until they get
 * it or are interrupted. */
static int64_t file_deadline(const struct fs_handle *h, int op)
{
	int ms;

	if (op == FS_OP_ATTR)
		ms = h->node->kind == FS_STATUS ? FS_STATUS_WAIT_MS : FS_ATTR_WAIT_MS;
	else if (op == FS_OP_READ && h->node->kind == FS_STATUS)
		ms = FS_STATUS_WAIT_MS;
	else
		return 0;
	return fs_now() + (int64_t)ms * 1000000;
}

/* A request of a session thread: run, or parked when the lock is busy or
 * earlier requests of the open file are parked. */
static void file_enter(int op, fuse_req_t req, struct fuse_file_info *fi, const char *data,
		       size_t size, off_t off, struct fuse_pollhandle *ph)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	struct fs_reply r;
	char copy[FS_REPLY_COPY];
	pid_t pid = fuse_req_ctx(req)->pid;
	struct fs_job *j;
	int rc = FS_PARK, how = FS_CLOSE_KEEP;

	pthread_mutex_lock(&h->mu);
	if (op == FS_OP_WRITE)
		file_writer(h, pid, fi->lock_owner);
	else if (op == FS_OP_FLUSH)
		how = file_close_kind(h, pid, fi->lock_owner);
	if (!h->parked)
		rc = file_do(op, &r, h, data, size, off, ph, how, 0);
	if (rc != FS_PARK) {
		file_unlock_send(h, req, &r, copy);
		return;
	}
	j = malloc(sizeof(*j) + (op == FS_OP_WRITE ? size : 0));
	if (!j) {
		rc = -ENOMEM;
	} else {
		j->deadline = file_deadline(h, op);
		j->expired = 0;
		j->ino = h->ino;
		j->req = req;
		j->h = h;
		j->op = op;
		j->write = op == FS_OP_WRITE || op == FS_OP_FLUSH ||
			   (op == FS_OP_READ && fs_file_pending(h) && !h->err);
		j->how = how;
		j->size = size;
		j->off = off;
		j->ph = ph;
		if (op == FS_OP_WRITE)
			memcpy(j->data, data, size);
		rc = fs_park(h->in, j);
		if (rc < 0)
			free(j);
		else
			h->parked++;
	}
	if (rc < 0) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_err(req, -rc);
	}
	pthread_mutex_unlock(&h->mu);
}

/* See fs.h. */
void fs_file_read(fuse_req_t req, struct fuse_file_info *fi, size_t size, off_t off)
{
	file_enter(FS_OP_READ, req, fi, NULL, size, off, NULL);
}

/* See fs.h. */
void fs_file_write(fuse_req_t req, struct fuse_file_info *fi, const char *data, size_t size,
		   off_t off)
{
	file_enter(FS_OP_WRITE, req, fi, data, size, off, NULL);
}

/* See fs.h. */
void fs_file_flush(fuse_req_t req, struct fuse_file_info *fi)
{
	file_enter(FS_OP_FLUSH, req, fi, NULL, 0, 0, NULL);
}

/* See fs.h. */
void fs_file_getattr(fuse_req_t req, struct fuse_file_info *fi)
{
	file_enter(FS_OP_ATTR, req, fi, NULL, 0, 0, NULL);
}

/* See fs.h. */
void fs_file_poll(fuse_req_t req, struct fuse_file_info *fi, struct fuse_pollhandle *ph)
{
	file_enter(FS_OP_POLL, req, fi, NULL, 0, 0, ph);
}
