/*
 * attr.c - what stat(2) shows for an entry of the mount: owner, group and
 * mode from the instance's .mmap, an exact size, and times that follow the
 * instance's last change; and the snapshots that keep a stat and the reads
 * that follow it one value.
 *
 * - Sizes are exact: a GETATTR renders the text as a read at offset 0
 *   would: under a read lock, or on a native instance without one (peek.c).
 *   While another process holds the write lock of a compat instance, the
 *   GETATTR is parked like a read (park.c) for at most FS_ATTR_WAIT_MS; only
 *   past that, or for a damaged file, is the size the longest the text can
 *   be (as sysfs' 4096).
 * - An open file is one value. The kernel sends fstat(fd) as a GETATTR of
 *   the inode that names only the task, not the open file: a GETATTR from a
 *   task that has the file open read-only shows the value that open file
 *   shows, rendering it into the open file if it shows none yet, and its
 *   next read serves that text (fs_file_stat(), "primed"). So tar (fstat,
 *   read st_size bytes, fstat again to compare ctime), rsync (fstat, then
 *   reads up to st_size) and Python's read() see one value, whatever
 *   changes meanwhile.
 * - The kernel may keep a file's attributes for FS_ATTR_SHORT, rounded up
 *   to a clock tick (so for up to two ticks: 8 ms at HZ=250): the
 *   permission check of the next open (default_permissions) and its fstat
 *   are then answered without a round trip, which is what the FUSE floor
 *   does (bench/run.sh, pinned: read 1.41x -> 1.06x the floor, write 1.43x
 *   -> 1.16x). To keep stat exact:
 *   - the snapshot behind every such reply is kept (struct attr_snap), and
 *     the instance's watcher (poll.c) looks at its change token every
 *     FS_WATCH_ATTR_MS while any is kept: a snapshot of an older state is
 *     dropped from the kernel (fuse_lowlevel_notify_inval_inode());
 *     its text is kept too if not longer than FS_SNAP_TEXT (4 MiB) and
 *     the long ones (over 64 KiB) all fit FS_SNAP_BUDGET (32 MiB), so the
 *     memory stays bounded whatever a local user stats (struct
 *     attr_snaps); a text that does not fit is not kept, so its open
 *     cannot be primed with it (tar may then say "file changed");
 *   - a write through the mount drops those of every file of the instance
 *     at once (the kernel drops the written file's size and times itself);
 *   - an open the kernel may answer fstat for from a kept snapshot is
 *     primed with it if the change token shows nothing changed since (its
 *     first read then takes no lock), and otherwise the kernel is told to
 *     drop it, so that the fstat comes here.
 *   What remains: a stat within about a millisecond (the watcher's period
 *   and scheduling) after another process's change may show the state
 *   before it, if the same file was stat'ed in the two ticks before that
 *   change; a read never does.
 * - mtime and ctime are the header's time_stamp: the instance's clock, set
 *   by every write of this library, of the mount and of stamping Python
 *   peers. So find -newer, make and rsync's quick check see a change of any
 *   value of the instance (the time is per instance, not per field).
 * - Directories never change (the tree is the schema's): their times are
 *   the mount's start, and the kernel keeps their attributes for
 *   FS_DIR_TIMEOUT, as a path walk checks each of them and only their mode
 *   can change. (With the instance's time, a directory cached before a
 *   write and seen again after it made tar say "file changed as we read
 *   it".)
 * - .status is rendered at each GETATTR and never kept (timeout 0): its
 *   text is a look at the files, not a value with a change token.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fs.h"

#define FS_TIMEOUT 86400.0	   /* the root never changes while mounted */
#define FS_DIR_TIMEOUT 1.0	   /* a directory's mode and times */
#define FS_ATTR_SHORT 0.001	   /* a file's size and times: one clock tick */
#define FS_SNAPS 256		   /* snapshots kept: a hash table of inodes */
#define FS_SNAP_SMALL 65536	   /* a text buffer up to this stays with its slot */
#define FS_SNAP_TEXT (4u << 20)	   /* longest text a snapshot keeps */
#define FS_SNAP_BUDGET (32u << 20) /* all buffers over FS_SNAP_SMALL, in all */

/* The last attributes replied for one inode with a timeout: what the kernel
 * may answer stat and an open's permission check with, until FS_SNAP_NS
 * after at. */
struct attr_snap {
	fuse_ino_t ino;		 /* the inode; 0: free */
	int64_t at;		 /* CLOCK_MONOTONIC_COARSE ns of the reply */
	struct fs_snapmeta meta; /* what the text was rendered from */
	char *text;		 /* the text, if it fits (attr_room()) */
	size_t len;		 /* its length, kept or not */
	size_t cap;		 /* bytes at text */
	int hastext;		 /* text holds it */
	int kdrop;		 /* written through the mount: the kernel dropped
				    size and times itself, the watcher leaves it */
};

/* The snapshots (fs->snaps). Buffers up to FS_SNAP_SMALL stay with their
 * slot, as many as there are slots (16 MiB at most); longer ones, for texts
 * up to FS_SNAP_TEXT, are counted in big and never hold more than
 * FS_SNAP_BUDGET together, whatever a local user stats: a text that does
 * not fit is not kept (its open is not primed, see fs_attr_open()). */
struct attr_snaps {
	size_t big; /* bytes in buffers over FS_SNAP_SMALL, under snap_mu */
	struct attr_snap slot[FS_SNAPS];
};

/* See fs.h. */
int fs_attr_init(struct fs *fs)
{
	pthread_mutex_init(&fs->snap_mu, NULL);
	fs->snaps = calloc(1, sizeof(struct attr_snaps));
	return fs->snaps ? 0 : -ENOMEM;
}

/* See fs.h. */
void fs_attr_fini(struct fs *fs)
{
	struct attr_snaps *t = fs->snaps;

	for (size_t i = 0; t && i < FS_SNAPS; i++)
		free(t->slot[i].text);
	free(fs->snaps);
	fs->snaps = NULL;
	pthread_mutex_destroy(&fs->snap_mu);
}

static struct attr_snap *attr_slots(struct fs *fs)
{
	return ((struct attr_snaps *)fs->snaps)->slot;
}

static struct attr_snap *attr_slot(struct fs *fs, fuse_ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15u;

	return &attr_slots(fs)[(h >> 32) % FS_SNAPS];
}

/* Frees s's buffer if it is a big one (under snap_mu). */
static void attr_unbig(struct attr_snaps *t, struct attr_snap *s)
{
	if (s->cap <= FS_SNAP_SMALL)
		return;
	t->big -= s->cap;
	free(s->text);
	s->text = NULL;
	s->cap = 0;
	s->hastext = 0;
}

/* Whether s (under snap_mu) has room for a text of len bytes, made if the
 * budget allows: the big buffers of snapshots that are no longer fresh or
 * hold no text are freed for it first. */
static int attr_room(struct attr_snaps *t, struct attr_snap *s, size_t len, int64_t now)
{
	size_t want = len;
	char *b;

	if (s->cap > FS_SNAP_SMALL && len <= FS_SNAP_SMALL)
		attr_unbig(t, s); /* give the budget back */
	if (len <= s->cap)
		return 1;
	if (len > FS_SNAP_TEXT) {
		attr_unbig(t, s);
		return 0;
	}
	if (len > FS_SNAP_SMALL) {
		/* Rounded up: a text that grows by a byte needs no new one. */
		want = (len + FS_SNAP_SMALL - 1) / FS_SNAP_SMALL * FS_SNAP_SMALL;
		attr_unbig(t, s);
		for (size_t i = 0; i < FS_SNAPS && t->big + want > FS_SNAP_BUDGET; i++) {
			struct attr_snap *o = &t->slot[i];

			if (o != s && (!o->hastext || now - o->at >= FS_SNAP_NS))
				attr_unbig(t, o);
		}
		if (t->big + want > FS_SNAP_BUDGET)
			return 0;
	}
	/* Nothing in it is kept: no copy as realloc() would make. */
	b = malloc(want);
	if (!b)
		return 0;
	free(s->text);
	s->text = b;
	s->cap = want;
	if (want > FS_SNAP_SMALL)
		t->big += want;
	return 1;
}

/* The kernel may now keep the attributes of ino, made from text: kept. */
static void attr_keep(struct fs *fs, fuse_ino_t ino, const char *text, size_t len,
		      const struct fs_snapmeta *meta)
{
	struct attr_snap *s = attr_slot(fs, ino);

	/* Another inode's fresh snapshot may be lost here: its next open then
	 * cannot know what the kernel keeps, and tells it to drop it. */
	pthread_mutex_lock(&fs->snap_mu);
	s->ino = ino;
	s->at = fs_now();
	s->meta = *meta;
	s->len = len;
	s->hastext = 0;
	s->kdrop = 0;
	if (attr_room(fs->snaps, s, len, s->at)) {
		memcpy(s->text, text, len);
		s->hastext = 1;
	}
	pthread_mutex_unlock(&fs->snap_mu);
}

/* Whether meta is still the instance's state: its change token now (two
 * loads, no lock: see fs_attr_open()) and its generation. */
static int attr_current(struct fs_inst *in, const struct fs_snapmeta *meta)
{
	uint64_t tok;
	unsigned gen;
	ipm_map *m;
	int rc;

	if (fs_map_get(in, &m, &gen) < 0)
		return 0;
	rc = ipm_map_changes(m, &tok);
	fs_map_put(in, m, gen);
	return rc == 0 && tok == meta->tok && gen == meta->gen;
}

/* See fs.h. Two GETATTRs of one file may keep their snapshots in one order
 * and reply in the other: the kernel would then keep one that is not the
 * kept one. So the reply of a kept snapshot is sent under snap_mu, and only
 * with its timeout while the slot still holds that very snapshot. */
void fs_attr_reply(fuse_req_t req, struct fs *fs, const struct stat *st, double tmo,
		   const struct fs_snapmeta *meta)
{
	struct attr_snap *s;

	if (tmo <= 0) {
		fuse_reply_attr(req, st, tmo);
		return;
	}
	s = attr_slot(fs, st->st_ino);
	pthread_mutex_lock(&fs->snap_mu);
	if (s->ino != st->st_ino || s->len != (size_t)st->st_size || s->meta.tok != meta->tok ||
	    s->meta.at != meta->at || s->meta.gen != meta->gen)
		tmo = 0;
	fuse_reply_attr(req, st, tmo);
	pthread_mutex_unlock(&fs->snap_mu);
}

static void attr_inval(struct fs *fs, fuse_ino_t ino)
{
	/* Attributes only (offset -1): no page to drop, no inode lock
	 * taken, so it is safe inside a request on the same file. */
	if (fs->se)
		fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
}

/* ------------------------------------------------------------------------ */
/* Rendering                                                                 */
/* ------------------------------------------------------------------------ */

struct attr_ctx {
	const struct fs_inst *in;
	const struct fs_node *n;
	char *buf;
	size_t cap;
};

/* .values and .raw from the mapping: only memory, so it may run guarded. */
static int attr_render_fn(ipm_map *m, void *arg)
{
	struct attr_ctx *c = arg;

	return fs_node_text(c->in->tree, c->n, ipm_map_view(m), c->buf, c->cap);
}

/* See fs.h. */
int fs_attr_render(struct fs_inst *in, const struct fs_node *n, ipm_map *m, unsigned gen, char *buf,
		   size_t cap, size_t *len, struct fs_snapmeta *meta)
{
	struct attr_ctx c = {in, n, buf, cap};
	int rc;

	if (n->kind == FS_FIELD) {
		rc = ipm_get_text(m, &n->field, buf, cap - 1);
		if (rc >= 0)
			buf[rc++] = '\n';
	} else {
		rc = ipm_map_guarded(m, attr_render_fn, &c);
	}
	if (rc < 0)
		return rc;
	*len = (size_t)rc;
	meta->gen = gen;
	meta->at = fs_now();
	if (ipm_map_timestamp(m, &meta->ts) < 0)
		meta->ts = 0;
	if (ipm_map_changes(m, &meta->tok) < 0)
		meta->tok = 0;
	atomic_store_explicit(&in->stamp, meta->ts, memory_order_relaxed);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Attributes                                                                */
/* ------------------------------------------------------------------------ */

static void attr_time(struct fs *fs, double ts, struct stat *st)
{
	if (ts > 0) {
		st->st_mtim.tv_sec = (time_t)ts;
		st->st_mtim.tv_nsec = (long)((ts - (double)st->st_mtim.tv_sec) * 1e9);
		if (st->st_mtim.tv_nsec >= 1000000000 || st->st_mtim.tv_nsec < 0)
			st->st_mtim.tv_nsec = 0;
	} else {
		st->st_mtim = fs->start; /* never stamped */
	}
	st->st_ctim = st->st_mtim;
}

static void attr_size(struct stat *st, off_t size)
{
	st->st_size = size;
	st->st_blocks = (size + 511) / 512;
}

/* See fs.h. */
double fs_attr(struct fs *fs, struct fs_inst *in, size_t idx, uint32_t node, struct stat *st)
{
	const struct fs_node *n;
	mode_t m;

	memset(st, 0, sizeof(*st));
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_atim = st->st_mtim = st->st_ctim = fs->start;
	st->st_blksize = 4096;
	if (!in) {
		st->st_ino = FUSE_ROOT_ID;
		st->st_mode = S_IFDIR | (fs->read_only ? 0555 : 0755);
		st->st_nlink = 2;
		return FS_TIMEOUT;
	}
	n = &in->tree->nodes[node];
	/* Owner and mode: the .mmap's, so that with allow_other (and
	 * default_permissions, always on) the kernel lets in exactly whom
	 * the file lets in; read-only entries without w, directories with x
	 * wherever they give r. */
	fs_inst_attr(in, &st->st_uid, &st->st_gid, &m);
	if (in->ro)
		m &= ~0222;
	st->st_ino = fs_ino(idx, node);
	if (n->kind == FS_DIR) {
		st->st_mode = S_IFDIR | m | (m & 0444) >> 2;
		st->st_nlink = 2;
		return FS_DIR_TIMEOUT;
	}
	/* Nothing rendered: the longest size and the time seen last, not to
	 * be kept. */
	attr_time(fs, atomic_load_explicit(&in->stamp, memory_order_relaxed), st);
	st->st_mode = S_IFREG | (n->ro ? m & ~0222 : m);
	st->st_nlink = 1;
	attr_size(st, n->size);
	return 0;
}

/* See fs.h. */
double fs_attr_snapshot(struct fs *fs, struct fs_inst *in, size_t idx, uint32_t node,
			const char *text, size_t len, const struct fs_snapmeta *meta,
			struct stat *st, int keep)
{
	const struct fs_node *n = &in->tree->nodes[node];

	fs_attr(fs, in, idx, node, st);
	attr_size(st, (off_t)len);
	if (n->kind == FS_STATUS)
		return 0;
	attr_time(fs, meta->ts, st);
	if (keep < 0) /* kept already (attr_text) */
		return FS_ATTR_SHORT;
	/* A snapshot older than the instance's state (an open file read
	 * before a change) is shown to that file's fstat only: the kernel
	 * must not answer others' stat with it. */
	if (!keep || !attr_current(in, meta) || fs_watch_attrs(in) < 0)
		return 0;
	attr_keep(fs, st->st_ino, text, len, meta);
	return FS_ATTR_SHORT;
}

/* A GETATTR of text node n: rendered under a read lock taken without
 * waiting (or the waiter's), and replied; FS_PARK when the lock is busy
 * (nothing replied). expired: the wait is over, reply what is known. */
static int attr_text(fuse_req_t req, struct fs *fs, struct fs_inst *in, size_t idx, uint32_t node,
		     int expired)
{
	const struct fs_node *n = &in->tree->nodes[node];
	fuse_ino_t ino = fs_ino(idx, node);
	pid_t tid = fuse_req_ctx(req)->pid;
	struct fs_snapmeta meta = {0};
	char small[256], *buf;
	size_t cap = n->textmax + 1, len = 0;
	struct stat st;
	struct fs_lk lk;
	unsigned gen;
	double tmo;
	int rc, keep = 0;

	buf = cap <= sizeof(small) ? small : malloc(cap);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return 0;
	}
	/* fstat(fd) comes as a stat of the task: its open file's value. */
	if (fs_file_stat(fs, ino, tid, buf, cap, &len, &meta, 0)) {
		rc = 0;
		keep = 1;
	} else if (n->kind == FS_STATUS) {
		rc = fs_inst_status(in, buf, cap, expired);
		len = rc >= 0 ? (size_t)rc : 0;
		rc = rc >= 0 ? 0 : rc;
		meta.ts = atomic_load_explicit(&in->stamp, memory_order_relaxed);
		meta.at = fs_now();
	} else if (!fs_inst_check(in) && fs_peek_render(in, n, buf, cap, &len, &meta, NULL) == 0) {
		/* Native, read without a lock: kept only if still the
		 * instance's state once the watcher runs (fs_attr_snapshot()). */
		rc = 0;
		keep = 1;
	} else {
		gen = fs_inst_gen(in);
		rc = fs_inst_check(in) ? -EIO : fs_acquire(in, 0, &lk);
		if (rc == 0) {
			rc = fs_attr_render(in, n, lk.m, gen, buf, cap, &len, &meta);
			/* Kept while no writer can change it: the watcher,
			 * armed first, then sees every later change. */
			if (rc == 0 && fs_watch_attrs(in) == 0) {
				attr_keep(fs, ino, buf, len, &meta);
				keep = -1;
			}
			fs_release(in, &lk);
		}
	}
	if (rc == FS_PARK && !expired) {
		if (buf != small)
			free(buf);
		return FS_PARK;
	}
	/* Rendered: an open file of the task that shows nothing yet shows
	 * this (or one that meanwhile read a value wins). */
	if (rc == 0 && fs_file_stat(fs, ino, tid, buf, cap, &len, &meta, 1) == 1 && keep < 0)
		keep = 1; /* its own: kept only if still current */
	/* Damaged, or busy too long: the longest size, not kept. */
	if (rc < 0)
		tmo = fs_attr(fs, in, idx, node, &st);
	else
		tmo = fs_attr_snapshot(fs, in, idx, node, buf, len, &meta, &st, keep);
	fs_attr_reply(req, fs, &st, tmo, &meta);
	if (buf != small)
		free(buf);
	return 0;
}

/* See fs.h. */
void fs_attr_getattr(fuse_req_t req, struct fs *fs, struct fs_inst *in, size_t idx, uint32_t node)
{
	const struct fs_node *n = &in->tree->nodes[node];
	struct fs_job *j;
	struct stat st;

	if (n->kind == FS_DIR) {
		fuse_reply_attr(req, &st, fs_attr(fs, in, idx, node, &st));
		return;
	}
	if (attr_text(req, fs, in, idx, node, 0) != FS_PARK)
		return;
	/* Busy: parked, as a read is, but only for so long. */
	j = calloc(1, sizeof(*j));
	if (j) {
		j->req = req;
		j->op = FS_JOB_ATTR;
		j->ino = fs_ino(idx, node);
		j->deadline =
		    fs_now() +
		    (int64_t)(n->kind == FS_STATUS ? FS_STATUS_WAIT_MS : FS_ATTR_WAIT_MS) * 1000000;
		if (fs_park(in, j) == 0)
			return;
		free(j);
	}
	fuse_reply_attr(req, &st, fs_attr(fs, in, idx, node, &st));
}

/* See fs.h. */
int fs_attr_job(struct fs_job *j)
{
	struct fs *fs = fuse_req_userdata(j->req);
	size_t idx = (size_t)(j->ino >> 32) - 1;
	int rc = attr_text(j->req, fs, fs->insts[idx], idx, (uint32_t)j->ino, j->expired);

	if (rc != FS_PARK)
		free(j);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Opens and writes                                                          */
/* ------------------------------------------------------------------------ */

/* See fs.h. */
void fs_attr_open(struct fs *fs, struct fs_inst *in, fuse_ino_t ino, char *buf, size_t cap,
		  size_t *len, struct fs_snapmeta *meta, int *primed)
{
	struct attr_snap *s = attr_slot(fs, ino);
	uint64_t tok = 0;
	unsigned gen;
	ipm_map *m;
	int known, rc;

	*primed = 0;
	pthread_mutex_lock(&fs->snap_mu);
	known = s->ino == ino && fs_now() - s->at < FS_SNAP_NS;
	if (s->ino == ino && s->kdrop) {
		/* Written through the mount: the kernel dropped its size and
		 * times itself, so fstat comes here. */
		pthread_mutex_unlock(&fs->snap_mu);
		return;
	}
	/* An old snapshot is no proof: the reply it was kept for may have
	 * reached the kernel long after (a preempted thread), so the kernel
	 * is told, as for an unknown one. Normally the permission check of
	 * this very open asked, or the kernel's copy is younger than a tick:
	 * the snapshot is fresh. */
	pthread_mutex_unlock(&fs->snap_mu);
	if (known && fs_map_get(in, &m, &gen) == 0) {
		/* No lock: a write section under way has not counted its
		 * change yet, and its old value is still the value. */
		rc = ipm_map_changes(m, &tok);
		fs_map_put(in, m, gen);
		pthread_mutex_lock(&fs->snap_mu);
		if (rc == 0 && s->ino == ino && s->hastext && s->len <= cap && s->meta.tok == tok &&
		    s->meta.gen == gen && fs_now() - s->at < FS_SNAP_NS) {
			memcpy(buf, s->text, s->len);
			*len = s->len;
			*meta = s->meta;
			*primed = 1;
		}
		pthread_mutex_unlock(&fs->snap_mu);
	}
	if (!*primed)
		attr_inval(fs, ino); /* its fstat must come here */
}

/* See fs.h. */
void fs_attr_changed(struct fs *fs, fuse_ino_t ino, int keep)
{
	struct attr_snap *s = attr_slots(fs);
	fuse_ino_t drop[32];
	size_t nd = 0;
	int64_t now = fs_now();

	pthread_mutex_lock(&fs->snap_mu);
	for (size_t i = 0; i < FS_SNAPS; i++) {
		if (!s[i].ino || s[i].ino >> 32 != ino >> 32 || now - s[i].at >= FS_SNAP_NS)
			continue;
		if (keep && s[i].ino == ino) {
			s[i].kdrop = 1; /* the kernel drops its size and times */
			s[i].hastext = 0;
			continue;
		}
		s[i].at = 0; /* dropped below */
		if (nd < sizeof(drop) / sizeof(drop[0]))
			drop[nd++] = s[i].ino;
		else
			attr_inval(fs, s[i].ino); /* rare: under the mutex */
	}
	pthread_mutex_unlock(&fs->snap_mu);
	for (size_t i = 0; i < nd; i++)
		attr_inval(fs, drop[i]);
}

/* See fs.h. */
void fs_attr_stale(struct fs *fs, size_t idx, uint64_t tok, unsigned gen)
{
	struct attr_snap *s = attr_slots(fs);
	fuse_ino_t drop[32];
	size_t nd = 0;
	int64_t now = fs_now();

	pthread_mutex_lock(&fs->snap_mu);
	for (size_t i = 0; i < FS_SNAPS; i++) {
		if (!s[i].ino || s[i].ino >> 32 != idx + 1 || now - s[i].at >= FS_SNAP_NS ||
		    s[i].kdrop || (s[i].meta.tok == tok && s[i].meta.gen == gen))
			continue;
		s[i].at = 0;
		if (nd < sizeof(drop) / sizeof(drop[0]))
			drop[nd++] = s[i].ino;
		else
			attr_inval(fs, s[i].ino);
	}
	pthread_mutex_unlock(&fs->snap_mu);
	for (size_t i = 0; i < nd; i++)
		attr_inval(fs, drop[i]);
}
