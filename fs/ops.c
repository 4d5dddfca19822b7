/*
 * ops.c - the low-level FUSE operations of ipmmapfs, one reply each.
 *
 * Field files behave like sysfs attributes:
 * - read: at every read at offset 0 the value is rendered once, under one
 *   read lock, as the library's text and a newline into the handle's buffer;
 *   later offsets are served from that buffer, so one cat never splices two
 *   values. direct_io on every open and never keep_cache: other processes
 *   write the shared memory directly, so the page cache would serve stale
 *   values. Read-only opens set noflush: no FLUSH round trip.
 * - write: each write() is placed at its offset in the handle's buffer and the
 *   whole text is parsed strictly there, so that bad text fails write()
 *   itself with EINVAL or ERANGE (bash's builtin echo loses errors of close).
 *   The error sticks to the handle: a later chunk never commits a fragment.
 *   The value is stored, with the header time stamp, under one write lock as
 *   soon as the text ends with a newline; text without one (printf 42, dd,
 *   Python) is stored at FLUSH (close), or when a new value starts at
 *   offset 0. So a value written in several chunks is stored once, whole.
 *   O_TRUNC is ignored (FUSE_CAP_ATOMIC_O_TRUNC): `: > f` and truncate -s0
 *   store nothing. O_APPEND (>>) writes like > (sysfs does the same).
 * - .values: read renders "path = value" for every field under ONE read
 *   lock. Written lines are checked in write() as soon as they are complete
 *   (bash writes one line per write()), and applied all together at FLUSH
 *   under ONE write lock, only if every line was good.
 *
 * poll(), select() and epoll: see poll.c.
 *
 * - A second value on the same open file: once a number ending in a newline
 *   was stored, a write at the end of it starts a new value, as on sysfs:
 *   `{ echo 1; echo 2; } > f` stores 1, then 2 (a string's text may hold
 *   newlines: see fs_field_done()). A read of a handle with
 *   written text not yet stored stores it first (or fails with its error).
 *
 * Locks: a request tries the lock once, without waiting (one system call
 * when nobody holds it); when another process holds it, the request is
 * parked and answered later by the instance's waiter thread (park.c), so
 * that no session thread ever waits: other instances, INTERRUPTs (Ctrl-C on
 * a waiting cat) and the handle's other requests are served meanwhile.
 *
 * Open files: the kernel does not serialise the requests of one open file
 * (threads sharing a descriptor, read and write on O_RDWR), so each handle
 * has a mutex, held by read, write, flush and poll while they use its
 * buffer. It is never held while waiting for the shared lock, nor while
 * replying (fs_send()): a reply wakes the requester, which on the same CPU
 * runs at once and sends the file's next request; with the mutex still held
 * that request's thread would block on it, two more context switches and
 * two futex calls per request. A handle with parked requests parks its later
 * ones too, so that they are served in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"

#define FS_TIMEOUT 86400.0	/* the tree never changes while mounted */
#define FS_SCAN_TIMEOUT 1.0	/* scan mode: an instance's file may go away */
#define FS_VALUES_MAX (1 << 20) /* longest text accepted by .values */
#define FS_SCALAR_CAP 128	/* longest text accepted by a number field */
#define FS_KEEP_CAP 8192	/* buffers kept with a reused handle */
#define FS_FREE_MAX 256		/* handles kept for reuse */

/* One open file. */
struct fs_handle {
	pthread_mutex_t mu;	    /* guards all below but next; made once at malloc */
	struct fs_handle *next;	    /* free list link */
	struct fs_poll *poll;	    /* poll state once polled (poll.c), else NULL */
	struct fs_inst *in;	    /* instance */
	const struct fs_node *node; /* file */
	char *buf;		    /* text: rendered, or written so far */
	size_t cap;		    /* bytes at buf */
	size_t len;		    /* bytes of text in buf */
	size_t textcap;		    /* field: bytes of text accepted; scratch follows */
	size_t checked;		    /* .values: bytes of complete lines checked */
	off_t base;		    /* field: file offset of the value being written */
	unsigned parked;	    /* requests of this handle parked (park.c) */
	unsigned lines;		    /* .values: lines in those bytes */
	int err;		    /* sticky negative errno of a refused write */
	uint8_t append;		    /* opened with O_APPEND */
	uint8_t rendered;	    /* buf holds rendered text, not written text */
	uint8_t dirty;		    /* text written since the last store */
	uint8_t partial;	    /* text ends inside a UTF-8 character */
	uint8_t resume;		    /* field write parked with its text placed */
	unsigned char *scratch;	    /* .values: parsed values, structure-sized */
	struct ipm_field *set;	    /* .values: fields to store */
	size_t nset;		    /* entries in set */
	char small[192];	    /* buf for short texts: no allocation per open */
};

static struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static fuse_ino_t fs_ino(size_t inst, uint32_t node)
{
	return ((fuse_ino_t)(inst + 1) << 32) | node;
}

/* Instance and node of ino; 0, or -ENOENT for the root (in is NULL then)
 * and for numbers we never gave out. */
static int fs_node_of(struct fs *fs, fuse_ino_t ino, struct fs_inst **in, uint32_t *node)
{
	size_t i = (size_t)(ino >> 32);

	*in = NULL;
	if (ino == FUSE_ROOT_ID || i == 0 || i > fs_ninsts(fs))
		return -ENOENT;
	*in = fs->insts[i - 1];
	*node = (uint32_t)ino;
	if (*node >= (*in)->tree->count) {
		*in = NULL;
		return -ENOENT;
	}
	return 0;
}

static void fs_stat(struct fs *fs, const struct fs_inst *in, size_t idx, uint32_t node,
		    struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_atim = st->st_mtim = st->st_ctim = fs->start;
	st->st_blksize = 4096;
	if (!in) {
		st->st_ino = FUSE_ROOT_ID;
		st->st_mode = S_IFDIR | (fs->read_only ? 0555 : 0755);
		st->st_nlink = 2;
		return;
	}
	const struct fs_node *n = &in->tree->nodes[node];

	st->st_ino = fs_ino(idx, node);
	if (n->kind == FS_DIR) {
		st->st_mode = S_IFDIR | (in->ro ? 0555 : 0755);
		st->st_nlink = 2;
		return;
	}
	st->st_mode = S_IFREG | (in->ro || n->ro ? 0444 : 0644);
	st->st_nlink = 1;
	st->st_size = n->size;
	st->st_blocks = (n->size + 511) / 512;
}

static int fs_writable(const struct fs_inst *in, const struct fs_node *n)
{
	if (in->ro)
		return -EROFS;
	if (n->ro)
		return -EACCES;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Handles                                                                   */
/* ------------------------------------------------------------------------ */

static struct fs_handle *fs_handle_get(struct fs *fs, size_t need)
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
			if (h->buf != h->small)
				free(h->buf);
			pthread_mutex_destroy(&h->mu);
			free(h);
			return NULL;
		}
		if (h->buf != h->small)
			free(h->buf);
		h->buf = b;
		h->cap = need;
	}
	h->next = NULL;
	h->poll = NULL;
	h->len = h->checked = h->nset = h->textcap = 0;
	h->lines = h->parked = 0;
	h->base = 0;
	h->err = 0;
	h->append = h->rendered = h->dirty = h->partial = h->resume = 0;
	h->scratch = NULL;
	h->set = NULL;
	return h;
}

static void fs_handle_put(struct fs *fs, struct fs_handle *h)
{
	free(h->scratch);
	free(h->set);
	if (h->cap > FS_KEEP_CAP) {
		free(h->buf);
		h->buf = h->small;
		h->cap = sizeof(h->small);
	}
	pthread_mutex_lock(&fs->free_mu);
	if (fs->nfree < FS_FREE_MAX) {
		h->next = fs->free_handles;
		fs->free_handles = h;
		fs->nfree++;
		h = NULL;
	}
	pthread_mutex_unlock(&fs->free_mu);
	if (h) {
		if (h->buf != h->small)
			free(h->buf);
		pthread_mutex_destroy(&h->mu);
		free(h);
	}
}

/* See fs.h. */
void fs_handle_orphan(struct fs *fs, struct fs_handle *h)
{
	fs_handle_put(fs, h);
}

/* See fs.h. */
void fs_handles_free(struct fs *fs)
{
	struct fs_handle *h, *next;

	for (h = fs->free_handles; h; h = next) {
		next = h->next;
		if (h->buf != h->small)
			free(h->buf);
		pthread_mutex_destroy(&h->mu);
		free(h);
	}
	fs->free_handles = NULL;
	fs->nfree = 0;
}

static int fs_grow(struct fs_handle *h, size_t need)
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

/* ------------------------------------------------------------------------ */
/* Locked work                                                               */
/* ------------------------------------------------------------------------ */

/* See fs.h. */
int fs_acquire(struct fs_inst *in, int write, struct fs_lk *lk)
{
	struct fs_held *held = fs_held;
	int rc;

	if (held && held->in == in) {
		if (write && !held->write)
			return FS_PARK;
		lk->m = held->m;
		lk->borrowed = 1;
		return 0;
	}
	rc = fs_map_get(in, &lk->m, &lk->gen);
	if (rc < 0)
		return rc;
	lk->borrowed = 0;
	rc = write ? ipm_lock_write(lk->m, 0) : ipm_lock_read(lk->m, 0);
	if (rc == 0)
		return 0;
	fs_map_put(in, lk->m, lk->gen);
	return rc == -EAGAIN || rc == -ETIMEDOUT || rc == -EINTR ? FS_PARK : rc;
}

/* See fs.h. */
void fs_release(struct fs_inst *in, struct fs_lk *lk)
{
	if (!lk->borrowed)
		fs_map_put(in, lk->m, lk->gen); /* unlocks */
}

/* See fs.h. */
int fs_node_text(const struct fs_tree *t, const struct fs_node *n, const void *data, char *buf,
		 size_t cap)
{
	const char *d = data;
	int rc;

	switch (n->kind) {
	case FS_FIELD:
		rc = ipm_text_format(&n->field, d + n->field.offset, buf, cap - 1);
		if (rc < 0)
			return rc;
		buf[rc] = '\n';
		return rc + 1;
	case FS_VALUES: /* the library's one line format */
		return (int)ipm_values_format(t->type, NULL, d, buf, cap);
	case FS_RAW:
		if (cap < n->textmax)
			return -ENOSPC;
		memcpy(buf, d, n->textmax);
		return (int)n->textmax;
	default:
		return -EISDIR;
	}
}

/* .values in the mapping: only memory, so it may run guarded (ipmmap.h). */
static int fs_values_fn(ipm_map *m, void *ctx)
{
	struct fs_handle *h = ctx;
	int rc = fs_node_text(h->in->tree, h->node, ipm_map_data(m), h->buf, h->cap);

	if (rc >= 0)
		h->len = (size_t)rc;
	return rc;
}

/*
 * .status: sysfs-like "key = value" lines about the instance, the crash
 * recoveries read under a read lock (pending is only known under one). A
 * file that cannot be opened reads as state = damaged (why), not as EIO:
 * .status is where one looks for the reason.
 */
static int fs_render_status(struct fs_handle *h)
{
	struct fs_inst *in = h->in;
	struct ipm_recovery r;
	char msg[IPM_ERRLEN + 16];
	struct fs_lk lk;
	struct stat st;
	int rc, n, cleared = 0;

	memset(&r, 0, sizeof(r));
	rc = fs_acquire(in, 0, &lk);
	if (rc == FS_PARK)
		return rc;
	if (rc == 0) {
		ipm_map_recovery(lk.m, &r);
		cleared = ipm_map_cleared(lk.m) == 1;
		fs_release(in, &lk);
		snprintf(msg, sizeof(msg), "ok");
	} else {
		pthread_mutex_lock(&in->mu);
		snprintf(msg, sizeof(msg), "damaged (%s)",
			 in->errmsg[0] ? in->errmsg : strerror(-rc));
		pthread_mutex_unlock(&in->mu);
	}
	if (stat(in->path, &st) < 0)
		st.st_size = -1;
	n = snprintf(h->buf, h->cap,
		     "file = %s\nsize = %lld\nstate = %s\nrecoveries = %llu\n"
		     "last_recovery_pid = %d\nlast_recovery_time = %.6f\npending = %d\n"
		     "cleared = %d\n",
		     in->path, (long long)st.st_size, msg, (unsigned long long)r.count,
		     (int)r.last_pid, r.last_time, r.pending, cleared);
	if (n < 0)
		return -EIO;
	h->len = (size_t)n < h->cap ? (size_t)n : h->cap - 1;
	h->rendered = 1;
	h->dirty = 0;
	return 0;
}

/* Renders the handle's file into its buffer under one read lock. */
static int fs_render(struct fs_handle *h)
{
	const struct fs_node *n = h->node;
	struct fs_poll *p;
	struct fs_lk lk;
	ipm_map *m;
	int rc;

	if (n->kind == FS_STATUS)
		return fs_render_status(h);
	rc = fs_acquire(h->in, 0, &lk);
	if (rc < 0)
		return rc;
	m = lk.m;
	switch (n->kind) {
	case FS_FIELD:
		rc = ipm_get_text(m, &n->field, h->buf, h->cap - 1);
		if (rc >= 0) {
			h->buf[rc] = '\n';
			h->len = (size_t)rc + 1;
		}
		break;
	case FS_VALUES:
		rc = ipm_map_guarded(m, fs_values_fn, h);
		break;
	default:
		rc = ipm_map_copy(m, h->buf, h->cap);
		if (rc >= 0)
			h->len = ipm_map_size(m);
		break;
	}
	/* The only cost of poll() here when nobody polls: one load. */
	p = __atomic_load_n(&h->poll, __ATOMIC_ACQUIRE);
	if (p && rc >= 0)
		fs_poll_rendered(h->in, p, h->buf, h->len);
	fs_release(h->in, &lk);
	if (rc >= 0) {
		h->rendered = 1;
		h->dirty = 0;
	}
	return rc < 0 ? rc : 0;
}

/* Stores bytes parsed from text: fields[i] from src + fields[i].offset,
 * or one field from src, with the time stamp, under one write lock. */
static int fs_store(struct fs_inst *in, const struct ipm_field *fields, size_t n,
		    const unsigned char *src, int shifted)
{
	struct fs_lk lk;
	int rc;

	rc = fs_acquire(in, 1, &lk);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n && rc >= 0; i++)
		rc = ipm_set_bytes(lk.m, &fields[i], shifted ? src + fields[i].offset : src,
				   fields[i].size);
	if (rc >= 0)
		rc = ipm_map_touch(lk.m);
	fs_release(in, &lk);
	return rc < 0 ? rc : 0;
}

/* ------------------------------------------------------------------------ */
/* Field text                                                                */
/* ------------------------------------------------------------------------ */

/* Length of text without an incomplete UTF-8 character at its end, which a
 * later chunk (dd bs=16) may complete; len if it ends on a boundary. */
static size_t fs_utf8_whole(const char *text, size_t len)
{
	for (size_t back = 1; back <= 3 && back <= len; back++) {
		unsigned char c = (unsigned char)text[len - back];
		size_t need;

		if ((c & 0xc0) == 0x80)
			continue; /* continuation byte: look further back */
		if (c >= 0x80 && (c < 0xc2 || c > 0xf4))
			return len; /* starts no character: never completed */
		need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		return need > back ? len - back : len;
	}
	return len;
}

static int fs_field_parse(struct fs_handle *h)
{
	const struct ipm_field *f = &h->node->field;
	unsigned char *scratch = (unsigned char *)h->buf + h->textcap;
	size_t whole;
	int rc;

	h->partial = 0;
	rc = ipm_text_parse(f, h->buf, h->len, scratch, NULL);
	if (rc == -EINVAL && f->kind == IPM_STRING) {
		whole = fs_utf8_whole(h->buf, h->len);
		if (whole < h->len && !ipm_text_parse(f, h->buf, whole, scratch, NULL)) {
			h->partial = 1;
			rc = 0;
		}
	}
	return rc;
}

/* Stores the written text; FS_PARK leaves everything as it was. */
static int fs_field_commit(struct fs_handle *h)
{
	int rc = 0;

	if (h->partial)
		rc = ipm_text_parse(&h->node->field, h->buf, h->len,
				    (unsigned char *)h->buf + h->textcap, NULL);
	if (rc >= 0)
		rc = fs_store(h->in, &h->node->field, 1, (unsigned char *)h->buf + h->textcap, 0);
	if (rc != FS_PARK)
		h->dirty = 0;
	return rc;
}

/* Written number text ending in a newline, stored: the next write at its
 * end starts a new value (sysfs: `{ echo 1; echo 2; } > f`). Not for a
 * string: its text may hold newlines, and bash's printf writes
 * "a\nb" as two writes, so a string's file takes all its text as one
 * value (`{ echo a; echo b; } > f` stores "a\nb"). */
static int fs_field_done(const struct fs_handle *h)
{
	return h->node->field.kind != IPM_STRING && !h->rendered && !h->dirty && h->len &&
	       h->buf[h->len - 1] == '\n';
}

static int fs_field_write(struct fs_handle *h, const char *data, size_t size, off_t off)
{
	int rc;

	if (h->resume) /* parked after its text was placed: only the store is left */
		goto commit;
	if (h->rendered) {
		h->rendered = 0;
		h->len = 0;
	}
	if (h->append) {
		if (fs_field_done(h))
			h->len = 0;
		off = (off_t)h->len;
	} else if (off == 0) {
		/* A new value: the one before it is complete. Parked, nothing
		 * has changed yet. */
		if (h->dirty) {
			rc = fs_field_commit(h);
			if (rc < 0)
				return rc;
		}
		h->len = 0;
		h->base = 0;
	} else if (fs_field_done(h) && off == h->base + (off_t)h->len) {
		h->base = off;
		h->len = 0;
	}
	if (off < h->base)
		return -EINVAL; /* back into a value already stored */
	off -= h->base;
	if ((size_t)off > h->textcap || size > h->textcap - (size_t)off)
		return h->node->field.kind == IPM_STRING ? -ERANGE : -EINVAL;
	if ((size_t)off > h->len)
		memset(h->buf + h->len, 0, (size_t)off - h->len); /* a hole: refused */
	memcpy(h->buf + off, data, size);
	if ((size_t)off + size > h->len)
		h->len = (size_t)off + size;
	rc = fs_field_parse(h);
	if (rc < 0)
		return rc;
	h->dirty = 1;
	if (!h->len || h->buf[h->len - 1] != '\n')
		return 0;
commit:
	rc = fs_field_commit(h);
	h->resume = rc == FS_PARK;
	return rc;
}

/* ------------------------------------------------------------------------ */
/* .values text                                                              */
/* ------------------------------------------------------------------------ */

/* Checks (apply 0) or collects (apply 1) the lines of buf[from, to); see
 * values.c. */
static int fs_values_parse_h(struct fs_handle *h, size_t from, size_t to, int apply)
{
	unsigned lines = h->lines;
	int rc;

	if (apply) {
		h->nset = 0;
		lines = 0;
	}
	rc = fs_values_parse(h->in->tree->type, h->scratch, h->buf + from, to - from,
			     apply ? h->set : NULL, &h->nset, &lines);
	if (rc < 0 && h->in->fs->verbose)
		fprintf(stderr, FS_NAME ": %s/.values:%u: refused: %s\n", h->in->dirname,
			lines + 1, strerror(-rc));
	if (!apply)
		h->lines = lines;
	return rc;
}

static int fs_values_write(struct fs_handle *h, const char *data, size_t size, off_t off)
{
	const char *nl;
	size_t end;
	int rc;

	if (h->rendered) {
		h->rendered = 0;
		h->len = h->checked = 0;
		h->lines = 0;
	}
	if (h->append)
		off = (off_t)h->len;
	if ((size_t)off > FS_VALUES_MAX || size > FS_VALUES_MAX - (size_t)off)
		return -EFBIG;
	if (!h->scratch) {
		h->scratch = calloc(1, ipm_type_size(h->in->tree->type));
		if (!h->scratch)
			return -ENOMEM;
	}
	rc = fs_grow(h, (size_t)off + size + 1);
	if (rc < 0)
		return rc;
	if ((size_t)off > h->len)
		memset(h->buf + h->len, '\n', (size_t)off - h->len);
	memcpy(h->buf + off, data, size);
	if ((size_t)off + size > h->len)
		h->len = (size_t)off + size;
	if ((size_t)off < h->checked) { /* rewritten: check again from the top */
		h->checked = 0;
		h->lines = 0;
	}
	h->dirty = 1;
	nl = memrchr(h->buf + h->checked, '\n', h->len - h->checked);
	if (!nl)
		return 0;
	end = (size_t)(nl - h->buf) + 1;
	rc = fs_values_parse_h(h, h->checked, end, 0);
	h->checked = end;
	return rc;
}

/* All lines, then every value under one write lock. */
static int fs_values_commit(struct fs_handle *h)
{
	int rc;

	rc = fs_values_parse_h(h, h->checked, h->len, 0);
	h->checked = h->len;
	h->dirty = 0;
	if (rc < 0)
		return rc;
	/* At most one field per line. */
	size_t nl = 1;

	for (const char *p = h->buf; (p = memchr(p, '\n', h->len - (size_t)(p - h->buf))); p++)
		nl++;
	free(h->set);
	h->set = malloc(nl * sizeof(*h->set));
	if (!h->set)
		return -ENOMEM;
	rc = fs_values_parse_h(h, 0, h->len, 1);
	if (rc < 0 || !h->nset)
		return rc;
	rc = fs_store(h->in, h->set, h->nset, h->scratch, 1);
	if (rc == FS_PARK)
		h->dirty = 1; /* parsed again when the waiter runs it */
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Operations                                                                */
/* ------------------------------------------------------------------------ */

static void fs_op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* Writes must reach write() to be refused there: no writeback cache. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* O_TRUNC arrives in open's flags and truncates nothing. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
}

static void fs_entry(struct fs *fs, struct fs_inst *in, size_t idx, uint32_t node,
		     struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	fs_stat(fs, in, idx, node, &e->attr);
	e->ino = e->attr.st_ino;
	e->attr_timeout = FS_TIMEOUT;
	e->entry_timeout = FS_TIMEOUT;
}

static void fs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct fs_inst *in;
	uint32_t node, c;
	size_t idx;

	if (parent == FUSE_ROOT_ID) {
		in = fs_inst_find(fs, name, &idx);
		if (fs->scan && (!in || fs_inst_check(in))) {
			fs_rescan_lookup(fs); /* a file made (or made again) after mounting */
			in = fs_inst_find(fs, name, &idx);
			if (in && atomic_load(&in->gone))
				in = NULL;
		}
		if (in) {
			fs_entry(fs, in, idx, FS_NODE_ROOT, &e);
			if (fs->scan) /* its file may go: ask again soon */
				e.entry_timeout = FS_SCAN_TIMEOUT;
		} else {
			/* A negative entry; not cached when a file may appear. */
			memset(&e, 0, sizeof(e));
			e.entry_timeout = fs->scan ? 0 : FS_TIMEOUT;
		}
		fuse_reply_entry(req, &e);
		return;
	}
	if (fs_node_of(fs, parent, &in, &node) < 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (in->tree->nodes[node].kind != FS_DIR) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	c = fs_tree_lookup(in->tree, node, name);
	if (c == UINT32_MAX) {
		memset(&e, 0, sizeof(e));
		e.entry_timeout = FS_TIMEOUT; /* vim and Python probe for names */
	} else {
		fs_entry(fs, in, (size_t)(parent >> 32) - 1, c, &e);
	}
	fuse_reply_entry(req, &e);
}

static void fs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inst *in;
	struct stat st;
	uint32_t node = 0;

	(void)fi;
	if (fs_node_of(fs, ino, &in, &node) < 0 && ino != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fs_stat(fs, in, (size_t)(ino >> 32) - 1, node, &st);
	fuse_reply_attr(req, &st, FS_TIMEOUT);
}

/* truncate -s0, vim's chmod, touch: accepted, and nothing changes. */
static void fs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			  struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inst *in;
	struct stat st;
	uint32_t node = 0;
	int rc;

	(void)attr;
	(void)fi;
	if (fs_node_of(fs, ino, &in, &node) < 0 && ino != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (!in || in->tree->nodes[node].kind == FS_DIR) {
			fuse_reply_err(req, EISDIR);
			return;
		}
		rc = fs_writable(in, &in->tree->nodes[node]);
		if (rc < 0) {
			fuse_reply_err(req, -rc);
			return;
		}
	}
	fs_stat(fs, in, (size_t)(ino >> 32) - 1, node, &st);
	fuse_reply_attr(req, &st, FS_TIMEOUT);
}

static void fs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inst *in;
	uint32_t node;

	if (ino == FUSE_ROOT_ID) {
		/* The root grows in scan mode: list it afresh every time. */
		fi->cache_readdir = !fs->scan;
		fi->keep_cache = !fs->scan;
		fuse_reply_open(req, fi);
		return;
	}
	if (fs_node_of(fs, ino, &in, &node) < 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (in->tree->nodes[node].kind != FS_DIR) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void fs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inst *in = NULL;
	const struct fs_node *d = NULL;
	uint32_t node = 0;
	size_t n, pos = 0, idx = (size_t)(ino >> 32) - 1;
	struct stat st;
	char *buf;

	(void)fi;
	if (ino == FUSE_ROOT_ID) {
		if (fs->scan && off == 0)
			fs_rescan(fs);
		n = fs_ninsts(fs);
	} else if (fs_node_of(fs, ino, &in, &node) == 0) {
		d = &in->tree->nodes[node];
		n = d->count;
	} else {
		fuse_reply_err(req, ENOENT);
		return;
	}
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memset(&st, 0, sizeof(st));
	for (off_t i = off; i < (off_t)n + 2; i++) {
		const char *name;
		size_t l;

		if (i < 2) {
			name = i ? ".." : ".";
			st.st_ino = i || !in ? FUSE_ROOT_ID : fs_ino(idx, node);
			st.st_mode = S_IFDIR;
		} else if (!in) {
			if (fs->scan && atomic_load(&fs->insts[i - 2]->gone))
				continue; /* its file was removed */
			name = fs->insts[i - 2]->dirname;
			st.st_ino = fs_ino((size_t)i - 2, FS_NODE_ROOT);
			st.st_mode = S_IFDIR;
		} else {
			const struct fs_node *c = &in->tree->nodes[d->first + i - 2];

			name = c->name;
			st.st_ino = fs_ino(idx, d->first + (uint32_t)i - 2);
			st.st_mode = c->kind == FS_DIR ? S_IFDIR : S_IFREG;
		}
		l = fuse_add_direntry(req, buf + pos, size - pos, name, &st, i + 1);
		if (l > size - pos)
			break;
		pos += l;
	}
	fuse_reply_buf(req, buf, pos);
	free(buf);
}

static void fs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_handle *h;
	struct fs_inst *in;
	const struct fs_node *n;
	uint32_t node;
	int wr = (fi->flags & O_ACCMODE) != O_RDONLY, rc;
	size_t need, textcap = 0;

	if (fs_node_of(fs, ino, &in, &node) < 0) {
		fuse_reply_err(req, ino == FUSE_ROOT_ID ? EISDIR : ENOENT);
		return;
	}
	n = &in->tree->nodes[node];
	if (n->kind == FS_DIR) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	rc = wr ? fs_writable(in, n) : 0;
	if (!rc && fs_inst_check(in))
		rc = fs->scan ? -ENOENT : -EIO; /* its file was removed */
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	need = n->textmax + 1;
	if (n->kind == FS_FIELD) {
		/* Text accepted, then room for the parsed bytes, aligned. */
		textcap = n->field.kind == IPM_STRING ? n->textmax + 1 : FS_SCALAR_CAP;
		textcap = (textcap + 15) & ~(size_t)15;
		if (textcap < need)
			textcap = (need + 15) & ~(size_t)15;
		need = textcap + n->field.size;
	}
	h = fs_handle_get(fs, need);
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	h->in = in;
	h->node = n;
	h->textcap = textcap;
	h->append = !!(fi->flags & O_APPEND);
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1; /* every read asks us: values change behind the kernel */
	fi->keep_cache = 0;
	fi->noflush = !wr; /* nothing to store at close: save the FLUSH */
	if (fuse_reply_open(req, fi) == -ENOENT)
		fs_handle_put(fs, h); /* the opener was interrupted */
}

enum { FS_OP_READ, FS_OP_WRITE, FS_OP_FLUSH, FS_OP_POLL };

enum { FS_R_ERR, FS_R_BUF, FS_R_WRITE, FS_R_POLL };

#define FS_REPLY_COPY 4096 /* replies up to this size sent after unlocking */

/* A reply made under the handle's mutex, sent after (fs_send()). */
struct fs_reply {
	int kind;	  /* FS_R_* */
	int err;	  /* FS_R_ERR: positive errno, 0 for success */
	const char *p;	  /* FS_R_BUF: the bytes, NULL when none */
	size_t n;	  /* FS_R_BUF: their count; FS_R_WRITE: bytes written */
	unsigned revents; /* FS_R_POLL: the events */
};

static void fs_reply_err(struct fs_reply *r, int err)
{
	r->kind = FS_R_ERR;
	r->err = err;
}

static void fs_send(fuse_req_t req, const struct fs_reply *r)
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
	default:
		fuse_reply_err(req, r->err);
		break;
	}
}

/* Unlocks h's mutex and sends r: a reply from h's buffer is copied to copy
 * first (FS_REPLY_COPY bytes), or, when longer, sent before unlocking. */
static void fs_unlock_send(struct fs_handle *h, fuse_req_t req, struct fs_reply *r, char *copy)
{
	if (r->kind == FS_R_BUF && r->n > FS_REPLY_COPY) {
		fs_send(req, r);
		pthread_mutex_unlock(&h->mu);
		return;
	}
	if (r->kind == FS_R_BUF && r->n) {
		memcpy(copy, r->p, r->n);
		r->p = copy;
	}
	pthread_mutex_unlock(&h->mu);
	fs_send(req, r);
}

/* The written text of h stored: field or .values. */
static int fs_commit(struct fs_handle *h)
{
	if (h->node->kind == FS_FIELD)
		return fs_field_commit(h);
	if (h->node->kind == FS_VALUES)
		return fs_values_commit(h);
	h->dirty = 0;
	return 0;
}

static void fs_reply_read(struct fs_reply *r, struct fs_handle *h, size_t size, off_t off)
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

static int fs_do_read(struct fs_reply *r, struct fs_handle *h, size_t size, off_t off)
{
	int rc;

	if (h->dirty && !h->err) {
		/* Text written on this O_RDWR handle: stored before it is read
		 * back, as close would store it. */
		rc = fs_commit(h);
		if (rc == FS_PARK)
			return rc;
		if (rc < 0) {
			if (rc != -EINTR)
				h->err = rc;
			fs_reply_err(r, -rc);
			return 0;
		}
	}
	if (off == 0 || !h->rendered) {
		rc = fs_render(h);
		if (rc == FS_PARK)
			return rc;
		if (rc < 0) {
			fs_reply_err(r, -rc);
			return 0;
		}
	}
	fs_reply_read(r, h, size, off);
	return 0;
}

static int fs_do_write(struct fs_reply *r, struct fs_handle *h, const char *data, size_t size,
		       off_t off)
{
	int rc;

	if (h->err) {
		fs_reply_err(r, -h->err);
		return 0;
	}
	if (h->node->kind == FS_FIELD)
		rc = fs_field_write(h, data, size, off);
	else if (h->node->kind == FS_VALUES)
		rc = fs_values_write(h, data, size, off);
	else
		rc = -EACCES;
	if (rc == FS_PARK)
		return rc;
	if (rc < 0) {
		/* Sticky: bash writes the rest after a refused chunk. */
		if (rc != -EINTR)
			h->err = rc;
		h->dirty = 0;
		if (h->in->fs->verbose && h->node->kind == FS_FIELD)
			fprintf(stderr, FS_NAME ": %s/%s: refused: %s\n", h->in->dirname,
				h->node->path, strerror(-rc));
		fs_reply_err(r, -rc);
		return 0;
	}
	r->kind = FS_R_WRITE;
	r->n = size;
	return 0;
}

/* The close of a writer: store what is pending. */
static int fs_do_flush(struct fs_reply *r, struct fs_handle *h)
{
	int rc = 0;

	if (h->dirty && !h->err) {
		rc = fs_commit(h);
		if (rc == FS_PARK)
			return rc;
		if (rc < 0 && rc != -EINTR)
			h->err = rc;
	}
	fs_reply_err(r, -rc);
	return 0;
}

static int fs_do_poll(struct fs_reply *r, struct fs_handle *h, struct fuse_pollhandle *ph)
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
	rc =
	    fs_poll(h, h->in, h->node, &h->poll, h->rendered ? h->buf : NULL, h->len, ph, &revents);
	if (rc == FS_PARK)
		return rc;
	if (rc < 0) {
		fs_reply_err(r, -rc);
	} else {
		r->kind = FS_R_POLL;
		r->revents = revents;
	}
	return 0;
}

/* One operation on h, its mutex held: FS_PARK (nothing to reply, nothing
 * changed that running it again would repeat), or 0 with the reply in r. */
static int fs_do(int op, struct fs_reply *r, struct fs_handle *h, const char *data, size_t size,
		 off_t off, struct fuse_pollhandle *ph)
{
	switch (op) {
	case FS_OP_READ:
		return fs_do_read(r, h, size, off);
	case FS_OP_WRITE:
		return fs_do_write(r, h, data, size, off);
	case FS_OP_FLUSH:
		return fs_do_flush(r, h);
	default:
		return fs_do_poll(r, h, ph);
	}
}

/* See fs.h. */
int fs_job_run(struct fs_job *j)
{
	struct fs_handle *h = j->h;
	struct fs_reply r;
	char copy[FS_REPLY_COPY];
	int rc;

	pthread_mutex_lock(&h->mu);
	rc = fs_do(j->op, &r, h, j->data, j->size, j->off, j->ph);
	if (rc == FS_PARK) {
		pthread_mutex_unlock(&h->mu);
		return rc;
	}
	h->parked--;
	/* No RELEASE comes before this reply, and it takes the mutex before
	 * the handle goes. */
	fs_unlock_send(h, j->req, &r, copy);
	free(j);
	return rc;
}

/* See fs.h. */
void fs_job_cancel(struct fs_job *j, int err)
{
	struct fs_handle *h = j->h;

	pthread_mutex_lock(&h->mu);
	h->parked--;
	pthread_mutex_unlock(&h->mu);
	if (j->ph)
		fuse_pollhandle_destroy(j->ph);
	fuse_reply_err(j->req, err);
	free(j);
}

/* A request of a session thread: run, or parked when the lock is busy or
 * earlier requests of the handle are parked. */
static void fs_enter(int op, fuse_req_t req, struct fuse_file_info *fi, const char *data,
		     size_t size, off_t off, struct fuse_pollhandle *ph)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	struct fs_reply r;
	char copy[FS_REPLY_COPY];
	struct fs_job *j;
	int rc = FS_PARK;

	pthread_mutex_lock(&h->mu);
	if (!h->parked)
		rc = fs_do(op, &r, h, data, size, off, ph);
	if (rc != FS_PARK) {
		fs_unlock_send(h, req, &r, copy);
		return;
	}
	j = malloc(sizeof(*j) + (op == FS_OP_WRITE ? size : 0));
	if (!j) {
		rc = -ENOMEM;
	} else {
		j->req = req;
		j->h = h;
		j->op = op;
		j->write = op == FS_OP_WRITE || op == FS_OP_FLUSH ||
			   (op == FS_OP_READ && h->dirty && !h->err);
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

static void fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)ino;
	fs_enter(FS_OP_READ, req, fi, NULL, size, off, NULL);
}

static void fs_op_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	(void)ino;
	fs_enter(FS_OP_WRITE, req, fi, data, size, off, NULL);
}

static void fs_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fs_enter(FS_OP_FLUSH, req, fi, NULL, 0, 0, NULL);
}

static void fs_op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		       struct fuse_pollhandle *ph)
{
	(void)ino;
	fs_enter(FS_OP_POLL, req, fi, NULL, 0, 0, ph);
}

static void fs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;

	(void)ino;
	/* A waiter that answered this file's last request may still be
	 * unlocking the mutex: wait for it. */
	pthread_mutex_lock(&h->mu);
	pthread_mutex_unlock(&h->mu);
	if (h->poll)
		fs_poll_drop(h->in, h->poll);
	fs_handle_put(fs_of(req), h);
	fuse_reply_err(req, 0);
}

static void fs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, 0); /* every store is already in shared memory */
}

/* The tree is the schema's: nothing is made, removed or renamed. */
static void fs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			dev_t rdev)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)rdev;
	fuse_reply_err(req, EACCES);
}

static void fs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	(void)parent;
	(void)name;
	(void)mode;
	fuse_reply_err(req, EACCES);
}

static void fs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent;
	(void)name;
	fuse_reply_err(req, EACCES);
}

static void fs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	(void)link;
	(void)parent;
	(void)name;
	fuse_reply_err(req, EACCES);
}

static void fs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
			 const char *newname, unsigned int flags)
{
	(void)parent;
	(void)name;
	(void)newparent;
	(void)newname;
	(void)flags;
	fuse_reply_err(req, EACCES);
}

static void fs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	fuse_reply_err(req, EACCES);
}

static void fs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			 struct fuse_file_info *fi)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)fi;
	fuse_reply_err(req, EACCES);
}

const struct fuse_lowlevel_ops fs_ops = {
    .init = fs_op_init,
    .lookup = fs_op_lookup,
    .getattr = fs_op_getattr,
    .setattr = fs_op_setattr,
    .opendir = fs_op_opendir,
    .readdir = fs_op_readdir,
    .open = fs_op_open,
    .read = fs_op_read,
    .write = fs_op_write,
    .flush = fs_op_flush,
    .release = fs_op_release,
    .poll = fs_op_poll,
    .fsync = fs_op_fsync,
    .mknod = fs_op_mknod,
    .mkdir = fs_op_mkdir,
    .unlink = fs_op_unlink,
    .rmdir = fs_op_unlink,
    .symlink = fs_op_symlink,
    .rename = fs_op_rename,
    .link = fs_op_link,
    .create = fs_op_create,
};
