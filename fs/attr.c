/*
 * attr.c - what stat(2) shows for an entry of the mount: owner, group and
 * mode from the instance's .mmap, an exact size, and times that follow the
 * instance's last change.
 *
 * - Sizes are exact when stat runs: the value is rendered at GETATTR under
 *   a read lock, as a read at offset 0 would render it, so tar, rsync and
 *   shutil.copyfile (which read st_size bytes) copy it exactly. The kernel
 *   is told not to keep a file's attributes (timeout 0), so each stat asks
 *   again; reads ignore st_size (direct_io), so a value that grew since
 *   the last stat is still read whole by cat, head, cp and Python. While
 *   another process holds the write lock at that instant, or the file is
 *   damaged, the size is the longest the text can be (as sysfs' 4096).
 * - mtime and ctime are the header's time_stamp: the instance's clock, set
 *   by every write of this library, of the mount and of stamping Python
 *   peers. So find -newer, make and rsync's quick check see a change of any
 *   value of the instance (the time is per instance, not per field).
 * - Directories never change (the tree is the schema's): their times are
 *   the mount's start, and the kernel keeps their attributes for
 *   FS_ATTR_TIMEOUT, as a path walk checks each of them and only their
 *   mode can change. (With the instance's time, a directory cached before
 *   a write and seen again after it made tar say "file changed as we read
 *   it".)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"

#define FS_TIMEOUT 86400.0  /* the root never changes while mounted */
#define FS_ATTR_TIMEOUT 1.0 /* a directory's mode and times */

/* The mapping rendered for a size: one node's text into a buffer. */
struct attr_ctx {
	const struct fs_inst *in;
	const struct fs_node *n;
	char *buf;
	size_t cap;
};

static int attr_values_fn(ipm_map *m, void *arg)
{
	struct attr_ctx *c = arg;

	return fs_node_text(c->in->tree, c->n, ipm_map_view(m), c->buf, c->cap);
}

/* Length of n's text now, and the instance's time_stamp, under one read
 * lock taken without waiting: 0, or FS_PARK / a negative errno (nothing
 * known then). */
static int attr_peek(struct fs_inst *in, const struct fs_node *n, off_t *size, double *ts)
{
	struct attr_ctx c = {in, n, NULL, 0};
	char small[256];
	struct fs_lk lk;
	int rc;

	c.cap = n->textmax + 1;
	c.buf = c.cap <= sizeof(small) ? small : malloc(c.cap);
	if (!c.buf)
		return -ENOMEM;
	rc = fs_acquire(in, 0, &lk);
	if (rc < 0)
		goto out;
	rc = ipm_map_timestamp(lk.m, ts);
	if (rc >= 0 && n->kind == FS_FIELD)
		rc = ipm_get_text(lk.m, &n->field, c.buf, c.cap - 1);
	else if (rc >= 0 && n->kind == FS_VALUES)
		rc = ipm_map_guarded(lk.m, attr_values_fn, &c);
	fs_release(in, &lk);
	if (rc >= 0 && n->kind == FS_FIELD)
		*size = rc + 1; /* and its newline */
	else if (rc >= 0 && n->kind == FS_VALUES)
		*size = rc;
out:
	if (c.buf != small)
		free(c.buf);
	return rc < 0 ? rc : 0;
}

/* .status: its text now (a real attempt: see fs_inst_status()). */
static void attr_status(struct fs_inst *in, off_t *size)
{
	char *buf = malloc(FS_STATUS_MAX + 1);
	int rc = buf ? fs_inst_status(in, buf, FS_STATUS_MAX + 1) : -ENOMEM;

	if (rc >= 0)
		*size = rc;
	free(buf);
}

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

/* See fs.h. */
double fs_attr(struct fs *fs, struct fs_inst *in, size_t idx, uint32_t node, struct stat *st)
{
	const struct fs_node *n;
	double ts = 0;
	off_t size;
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
		return FS_ATTR_TIMEOUT;
	}
	size = n->size; /* the longest, if nothing better is known */
	if (n->kind == FS_STATUS)
		attr_status(in, &size);
	/* Busy or damaged: the time_stamp seen last. */
	if (attr_peek(in, n, &size, &ts) == 0)
		atomic_store_explicit(&in->stamp, ts, memory_order_relaxed);
	else
		ts = atomic_load_explicit(&in->stamp, memory_order_relaxed);
	attr_time(fs, ts, st);
	st->st_mode = S_IFREG | (n->ro ? m & ~0222 : m);
	st->st_nlink = 1;
	st->st_size = size;
	st->st_blocks = (size + 511) / 512;
	return 0;
}
