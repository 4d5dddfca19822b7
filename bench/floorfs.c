/*
 * floorfs.c - the best case of a FUSE file with a generated value: the floor
 * the mount's figures are compared with in `make bench`.
 *
 *   # build/bench/floorfs -f /tmp/floor &
 *   # cat /tmp/floor/value
 *   12345
 *   # echo 7 > /tmp/floor/value      (accepted, forgotten)
 *   # fusermount3 -u /tmp/floor
 *
 * One file, "value", that answers a constant from memory. It does everything
 * ../shared/FUSE-NOTES.md lists as the cheapest correct way: the low-level
 * API, direct_io (the value would change behind the kernel), noflush on
 * read-only opens, long entry and attribute timeouts with cached negative
 * lookups, atomic O_TRUNC, default_permissions, and the 3.12 multi-threaded
 * loop configured through fuse_loop_cfg_* with FUSE_USE_VERSION 314 (below
 * 312 the macro reaches the 3.2 entry point and the floor is 2.5x slower).
 * A read-to-EOF is then OPEN, READ, READ, RELEASE; a write is OPEN, WRITE,
 * FLUSH, RELEASE. Nothing is shared between requests, so no lock is taken.
 */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FL_INO 2	   /* the one file */
#define FL_NAME "value"	   /* its name */
#define FL_TIMEOUT 86400.0 /* the tree never changes */

static const char fl_value[] = "12345\n";

static void fl_stat(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = getuid();
	st->st_gid = getgid();
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0644;
		st->st_nlink = 1;
		st->st_size = 4096; /* like sysfs: tools read until EOF */
	}
}

static void fl_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC; /* no SETATTR for O_TRUNC */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

static void fl_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.attr_timeout = FL_TIMEOUT;
	e.entry_timeout = FL_TIMEOUT; /* ino 0: a cached negative entry */
	if (parent == FUSE_ROOT_ID && strcmp(name, FL_NAME) == 0) {
		e.ino = FL_INO;
		fl_stat(FL_INO, &e.attr);
	}
	fuse_reply_entry(req, &e);
}

static void fl_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	fl_stat(ino, &st);
	fuse_reply_attr(req, &st, FL_TIMEOUT);
}

/* truncate and chmod change nothing: the file is generated. */
static void fl_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct stat st;

	(void)attr;
	(void)to_set;
	(void)fi;
	fl_stat(ino, &st);
	fuse_reply_attr(req, &st, FL_TIMEOUT);
}

static void fl_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != FL_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	fi->direct_io = 1;
	fi->keep_cache = 0;
	fi->noflush = (fi->flags & O_ACCMODE) == O_RDONLY;
	fuse_reply_open(req, fi);
}

static void fl_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	size_t len = sizeof(fl_value) - 1;

	(void)ino;
	(void)fi;
	if ((size_t)off >= len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	len -= off;
	fuse_reply_buf(req, fl_value + off, size < len ? size : len);
}

/* Parses the number as the real mount would, then forgets it. */
static void fl_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	char text[32], *end;

	(void)ino;
	(void)fi;
	if (off != 0 || size >= sizeof(text)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	memcpy(text, buf, size);
	text[size] = '\0';
	errno = 0;
	(void)strtol(text, &end, 10);
	if (errno || end == text || (*end && strcmp(end, "\n") != 0)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	fuse_reply_write(req, size);
}

static void fl_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void fl_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void fl_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	static const char *const names[] = {".", "..", FL_NAME};
	char buf[512];
	size_t used = 0;
	struct stat st;

	(void)fi;
	if (ino != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if (size > sizeof(buf))
		size = sizeof(buf);
	for (off_t i = off; i < 3; i++) {
		size_t n;

		fl_stat(i == 2 ? FL_INO : FUSE_ROOT_ID, &st);
		n = fuse_add_direntry(req, buf + used, size - used, names[i], &st, i + 1);
		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
}

static const struct fuse_lowlevel_ops fl_ops = {
    .init = fl_init,
    .lookup = fl_lookup,
    .getattr = fl_getattr,
    .setattr = fl_setattr,
    .open = fl_open,
    .read = fl_read,
    .write = fl_write,
    .flush = fl_flush,
    .release = fl_release,
    .readdir = fl_readdir,
};

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct fuse_loop_config *cfg;
	struct fuse_session *se;
	int ret = 1;

	/* The parse copies argv into args, which insert needs. */
	if (fuse_opt_parse(&args, NULL, NULL, NULL) < 0 ||
	    fuse_opt_insert_arg(&args, 1, "-odefault_permissions") < 0)
		goto out_args;
	if (fuse_parse_cmdline(&args, &opts) != 0)
		goto out_args;
	if (!opts.mountpoint) {
		fprintf(stderr, "usage: %s [-f] [-s] MOUNTPOINT\n", argv[0]);
		goto out_opts;
	}
	se = fuse_session_new(&args, &fl_ops, sizeof(fl_ops), NULL);
	if (!se)
		goto out_opts;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_handlers;
	fuse_daemonize(opts.foreground);
	if (opts.singlethread) {
		ret = fuse_session_loop(se);
	} else {
		cfg = fuse_loop_cfg_create();
		if (!cfg)
			goto out_unmount;
		fuse_loop_cfg_set_clone_fd(cfg, opts.clone_fd);
		fuse_loop_cfg_set_max_threads(cfg,
					      opts.max_threads != UINT_MAX ? opts.max_threads : 10);
		ret = fuse_session_loop_mt(se, cfg);
		fuse_loop_cfg_destroy(cfg);
	}
	ret = ret < 0 ? 1 : 0;
out_unmount:
	fuse_session_unmount(se);
out_handlers:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_opts:
	free(opts.mountpoint);
out_args:
	fuse_opt_free_args(&args);
	return ret;
}
