/*
 * ops.c - the low-level FUSE operations of ipmmapfs, one reply each: a thin
 * adapter, as sysfs sits over kernfs. Names, attributes and directories
 * come from the node table (tree.c) and the instances (inst.c); what
 * happens on an open file (read, write, flush, poll) is file.c's.
 *
 * - direct_io on every open and never keep_cache: other processes write
 *   the shared memory directly, so the page cache would serve stale
 *   values. Read-only opens set noflush: no FLUSH round trip.
 * - O_TRUNC is ignored (FUSE_CAP_ATOMIC_O_TRUNC): `: > f` and truncate -s0
 *   store nothing.
 * - The tree is the schema's: nothing is made, removed or renamed (EACCES).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"

#define FS_TIMEOUT 86400.0  /* the tree never changes while mounted */
#define FS_SCAN_TIMEOUT 1.0 /* scan mode: an instance's file may go away */

static struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
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

static int fs_writable(const struct fs_inst *in, const struct fs_node *n)
{
	if (in->ro)
		return -EROFS;
	if (n->ro)
		return -EACCES;
	return 0;
}

/* A write open of a file whose text is stored at the last close (.values,
 * a string): an instance that cannot be used now (no handle can be opened,
 * a damaged file) refuses it here, where a shell sees the error; bash loses
 * the error of a builtin's final close. A busy lock is no reason. */
static int fs_usable(struct fs_inst *in, const struct fs_node *n)
{
	struct fs_lk lk;
	int rc;

	if (n->kind != FS_VALUES && (n->kind != FS_FIELD || !fs_is_text(n->field.kind)))
		return 0;
	rc = fs_acquire(in, 0, &lk);
	if (rc == 0)
		fs_release(in, &lk);
	return rc == FS_PARK ? 0 : rc;
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
	e->attr_timeout = fs_attr(fs, in, idx, node, &e->attr);
	e->ino = e->attr.st_ino;
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

	if (fs_node_of(fs, ino, &in, &node) < 0) {
		if (ino == FUSE_ROOT_ID)
			fuse_reply_attr(req, &st, fs_attr(fs, NULL, 0, 0, &st));
		else
			fuse_reply_err(req, ENOENT);
		return;
	}
	/* fstat(fd) comes with the open file: the value it shows (attr.c). */
	if (fi && fi->fh && in->tree->nodes[node].kind != FS_DIR)
		fs_file_getattr(req, fi);
	else
		fs_attr_getattr(req, fs, in, (size_t)(ino >> 32) - 1, node);
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
	fuse_reply_attr(req, &st, fs_attr(fs, in, (size_t)(ino >> 32) - 1, node, &st));
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
	/* Its file was removed: .status of a listed instance says so. */
	if (!rc && fs_inst_check(in) && (fs->scan || n->kind != FS_STATUS))
		rc = fs->scan ? -ENOENT : -EIO;
	if (!rc && wr)
		rc = fs_usable(in, n);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	h = fs_file_new(fs, in, n, ino, fi->flags, fuse_req_ctx(req)->pid);
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* The kernel may answer this open file's fstat from attributes it
	 * keeps: its first read shows that value (attr.c). */
	if (!wr && n->kind != FS_STATUS)
		fs_file_prime(fs, h);
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1; /* every read asks us: values change behind the kernel */
	fi->keep_cache = 0;
	fi->noflush = !wr; /* nothing to store at close: save the FLUSH */
	if (fuse_reply_open(req, fi) == -ENOENT)
		fs_file_free(fs, h); /* the opener was interrupted */
}

static void fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)ino;
	fs_file_read(req, fi, size, off);
}

static void fs_op_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	(void)ino;
	fs_file_write(req, fi, data, size, off);
}

static void fs_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fs_file_flush(req, fi);
}

static void fs_op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		       struct fuse_pollhandle *ph)
{
	(void)ino;
	fs_file_poll(req, fi, ph);
}

static void fs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fs_file_free(fs_of(req), (struct fs_handle *)(uintptr_t)fi->fh);
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
