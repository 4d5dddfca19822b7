/*
 * ipmmapfs - every field of the shared structures as a file.
 *
 *   $ cd /srv/app && ipmmapfs /mnt/shared    (every instance of ./.mmap, as
 *                                            their managers stored them)
 *   $ ipmmapfs -o mmap_dir=/srv/app/.mmap,lock_dir=/srv/app/.fasteners /mnt/shared
 *
 * or with a configuration (schemas, listed instances, create, modes):
 *   $ cat conf/ipmmapfs.ini
 *   [ipmmapfs]
 *   schema   = demo.ini
 *   mmap_dir = /tmp/demo/.mmap
 *   lock_dir = /tmp/demo/.fasteners
 *   create   = yes
 *   instance = DemoMmapStructure
 *   $ ipmmapfs -o config=conf/ipmmapfs.ini /mnt/ipm
 *   $ ls /mnt/ipm/DemoMmapStructure
 *   data_int  data_string  data_xy  header  multi_pts
 *   $ cat /mnt/ipm/DemoMmapStructure/data_xy/x
 *   0.0
 *   $ echo 42 > /mnt/ipm/DemoMmapStructure/data_int
 *   $ echo abc > /mnt/ipm/DemoMmapStructure/data_int
 *   bash: echo: write error: Invalid argument
 *   $ cat /mnt/ipm/DemoMmapStructure/.values
 *   header.header_code = 4392
 *   ...
 *   $ printf 'data_int = 7\ndata_xy.y = 2.5\n' > /mnt/ipm/DemoMmapStructure/.values
 *   $ fusermount3 -u /mnt/ipm
 *
 * From /etc/fstab (the mount helper passes the configuration as the source):
 *   /etc/ipmmapfs.ini /mnt/ipm fuse.ipmmapfs allow_other,nofail 0 0
 * or: mount -t fuse.ipmmapfs /etc/ipmmapfs.ini /mnt/ipm
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"

/* Under AddressSanitizer (make SANITIZE=1) SIGBUS is left to the library's
 * guard, which installs itself only over the default disposition
 * (lib/guard.c): a .mmap or lock file cut under the mount must give EIO,
 * not end the mount. Read by the sanitizer's runtime, unused otherwise. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "handle_sigbus=0";
}

struct main_opts {
	char *config;	 /* -o config=FILE */
	char *mmap_dir;	 /* -o mmap_dir=DIR */
	char *lock_dir;	 /* -o lock_dir=DIR */
	char *nonopt[2]; /* [CONFIG] MOUNTPOINT */
	int nnonopt;	 /* entries in nonopt */
	int ro;		 /* -o ro */
	int named;	 /* -o fsname= or subtype= given */
};

enum { KEY_RO, KEY_NAMED };

static const struct fuse_opt main_spec[] = {
    {"config=%s", offsetof(struct main_opts, config), 0},
    {"mmap_dir=%s", offsetof(struct main_opts, mmap_dir), 0},
    {"lock_dir=%s", offsetof(struct main_opts, lock_dir), 0},
    FUSE_OPT_KEY("ro", KEY_RO),
    FUSE_OPT_KEY("fsname=", KEY_NAMED),
    FUSE_OPT_KEY("subtype=", KEY_NAMED),
    FUSE_OPT_END,
};

static int main_opt(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct main_opts *o = data;

	(void)outargs;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (o->nnonopt == 2) {
			fprintf(stderr, FS_NAME ": too many arguments: '%s'\n", arg);
			return -1;
		}
		o->nonopt[o->nnonopt] = strdup(arg);
		if (!o->nonopt[o->nnonopt])
			return -1;
		o->nnonopt++;
		return 0;
	case KEY_RO:
		o->ro = 1;
		return 1; /* libfuse mounts read-only too */
	case KEY_NAMED:
		o->named = 1;
		return 1;
	}
	return 1;
}

static void main_help(const char *prog)
{
	printf(
	    "usage: %s [options] [CONFIG] MOUNTPOINT\n\n"
	    "Shows the structures shared through ipmmap files as directories, and\n"
	    "every field as a file to cat and echo to.\n\n" FS_NAME " options:\n"
	    "    -o config=FILE         the configuration (INI); a first argument\n"
	    "                           CONFIG does the same (mount -t fuse.ipmmapfs, fstab)\n"
	    "    -o mmap_dir=DIR        where the .mmap files are (default ./.mmap)\n"
	    "    -o lock_dir=DIR        where the lock files are (default ./.fasteners)\n"
	    "    -o ro                  read-only mount: every file 0444, read locks only\n"
	    "    -o auto_unmount        fusermount3 unmounts when ipmmapfs dies (it may miss\n"
	    "                           one; the next start detaches a dead mount anyway)\n"
	    "    -o allow_other         let other users in (default_permissions is always on)\n"
	    "    -s                     one session thread: fine, requests that wait for a\n"
	    "                           lock are parked and never block the mount\n\n"
	    "Without a configuration given, the first that exists of:\n"
	    "    $IPMMAPFS_CONFIG, ./ipmmapfs.ini, /etc/ipmmapfs.ini\n"
	    "and without any, every <Struct>_<tag>.mmap of ./.mmap (or mmap_dir=),\n"
	    "each with the definition its manager stored beside its lock file; an\n"
	    "instance made without one (Python IPMMAP) shows .raw and .status only.\n\n"
	    "Configuration ([ipmmapfs] section; paths relative to the file):\n"
	    "    schema = FILE          schema INI, repeatable (optional: stored\n"
	    "                           definitions serve what it lacks)\n"
	    "    mmap_dir = DIR         default .mmap      lock_dir = DIR  default .fasteners\n"
	    "    create = yes|no        manager: create the listed instances at mount\n"
	    "    read_only = yes|no     as -o ro\n"
	    "    mode = 0640            files and lock files the mount makes (default 0600;\n"
	    "                           directories get x where the mode gives r)\n"
	    "    group = NAME|GID       ... and their group; existing files keep theirs\n"
	    "    instance = Name[:tag] [ro]   repeatable; none: show every\n"
	    "                           <Struct>_<tag>.mmap of mmap_dir, new ones too\n"
	    "    owners = USER @GROUP   ... of these owners only (default: the mount's\n"
	    "                           owner and root; any: everyone's)\n\n"
	    "Every instance directory holds .values (all fields, read and written at\n"
	    "once), .raw (the bytes) and .status (file, recoveries of dead writers).\n\n"
	    "/etc/fstab: /etc/ipmmapfs.ini /mnt/ipm fuse.ipmmapfs allow_other,nofail 0 0\n\n",
	    prog);
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

static const char *main_find_config(const char *given)
{
	const char *env = getenv("IPMMAPFS_CONFIG");

	if (given)
		return given;
	if (env && *env)
		return env;
	if (!access("ipmmapfs.ini", F_OK))
		return "ipmmapfs.ini";
	if (!access("/etc/ipmmapfs.ini", F_OK))
		return "/etc/ipmmapfs.ini";
	return NULL;
}

/* Whether /proc/self/mountinfo has a mount at abs; the type and id of the
 * last one (the one on top) in type and *id. */
static int main_mounted(const char *abs, char *type, size_t typelen, int *id)
{
	char line[4096], mp[PATH_MAX], fstype[256];
	int found = 0, mid;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		char *o = mp;

		/* id parent major:minor root MOUNTPOINT ... - TYPE source */
		if (!sep || sscanf(line, "%d %*s %*s %*s %4095s", &mid, mp) != 2 ||
		    sscanf(sep + 3, "%255s", fstype) != 1)
			continue;
		for (char *p = mp; *p; p++) { /* undo \040-style escapes */
			if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] && p[3]) {
				*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
				p += 3;
			} else {
				*o++ = *p;
			}
		}
		*o = '\0';
		if (!strcmp(mp, abs)) {
			snprintf(type, typelen, "%s", fstype);
			*id = mid;
			found = 1;
		}
	}
	fclose(f);
	return found;
}

/*
 * Whether mp is a FUSE mount whose server is gone. Asked with statfs(), which
 * always reaches the server: stat() of the mount point is answered from the
 * attributes the kernel cached while the server lived, so a dead mount that a
 * client had just looked at would pass for a live one.
 */
static bool main_dead(const char *mp)
{
	struct statfs sf;

	return statfs(mp, &sf) < 0 && (errno == ENOTCONN || errno == ECONNABORTED);
}

/*
 * After a crash the mount point says "Transport endpoint is not connected",
 * and libfuse would mount on top of the dead mount. Detach it (what
 * `fusermount3 -u -z` does) or say exactly what to run. -o auto_unmount does
 * not make this useless: fusermount3's watcher misses some deaths (see
 * tests/fs/05_mount.sh).
 */
static int main_recover(const char *mp)
{
	char abs[PATH_MAX], dir[PATH_MAX], type[256] = "fuse";
	const char *base;
	int rc = -1, id;

	if (!main_dead(mp))
		return 0;
	base = strrchr(mp, '/');
	snprintf(dir, sizeof(dir), "%.*s", base ? (int)(base - mp) : 1, base ? mp : ".");
	if (!dir[0])
		strcpy(dir, "/");
	base = base ? base + 1 : mp;
	if (!realpath(dir, abs) ||
	    (size_t)snprintf(abs + strlen(abs), sizeof(abs) - strlen(abs), "%s%s",
			     strcmp(abs, "/") ? "/" : "", base) >= sizeof(abs))
		snprintf(abs, sizeof(abs), "%s", mp);
	main_mounted(abs, type, sizeof(type), &id);
	fprintf(stderr,
		FS_NAME ": %s: stale %s mount left by a dead server (Transport endpoint is not "
			"connected): detaching it (fusermount3 -u -z %s)\n",
		abs, type, abs);
	if (geteuid() == 0) {
		rc = umount2(abs, MNT_DETACH);
	} else {
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			execlp("fusermount3", "fusermount3", "-u", "-z", abs, (char *)NULL);
			_exit(127);
		}
		if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    !WEXITSTATUS(status))
			rc = 0;
	}
	if (rc < 0 || main_dead(abs)) {
		fprintf(stderr, FS_NAME ": cannot detach it; run: fusermount3 -u -z %s\n", abs);
		return -1;
	}
	return 0;
}

/* Every instance keeps idle map handles open, each with descriptors: scan
 * mode may show thousands. Take all the descriptors allowed, and keep at
 * most a share of them in the pools. */
static void main_nofile(struct fs *fs)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1 << 20)
		rl.rlim_cur = 1 << 20;
	fs->pool_total = (unsigned)(rl.rlim_cur / FS_POOL_FD_SHARE);
	if (fs->pool_total < 16)
		fs->pool_total = 16;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts = {0};
	struct fuse_loop_config *lcfg;
	struct main_opts mo = {0};
	struct fs_config conf;
	struct fs fs = {0};
	struct fuse_session *se;
	const char *cpath;
	char err[1024], *named = NULL, abs[PATH_MAX], fstype[256];
	int ret = 1, rc;

	if (fuse_opt_parse(&args, &mo, main_spec, main_opt) < 0)
		goto out_args;
	if (mo.nnonopt == 2) {
		if (mo.config) {
			fprintf(stderr, FS_NAME ": both -o config= and CONFIG given\n");
			goto out_args;
		}
		mo.config = mo.nonopt[0];
		mo.nonopt[0] = NULL;
	}
	if (mo.nnonopt && fuse_opt_add_arg(&args, mo.nonopt[mo.nnonopt - 1]) < 0)
		goto out_args;
	if (fuse_opt_insert_arg(&args, 1, "-odefault_permissions") < 0)
		goto out_args;
	if (fuse_parse_cmdline(&args, &opts) != 0)
		goto out_args;
	if (opts.show_help) {
		main_help(argv[0]);
		ret = 0;
		goto out_opts;
	}
	if (opts.show_version) {
		printf(FS_NAME " version %s (libipmmap %s)\n", IPM_VERSION, IPM_VERSION);
		fuse_lowlevel_version();
		ret = 0;
		goto out_opts;
	}
	if (!opts.mountpoint) {
		fprintf(stderr, "usage: %s [options] [CONFIG] MOUNTPOINT (--help for more)\n",
			argv[0]);
		goto out_opts;
	}
	/* No configuration is fine: the working directory's instances. */
	cpath = main_find_config(mo.config);
	rc = cpath ? fs_config_load(&conf, cpath, err, sizeof(err))
		   : fs_config_default(&conf, mo.mmap_dir, mo.lock_dir, err, sizeof(err));
	if (rc == 0 && cpath)
		rc = fs_config_dirs(&conf, mo.mmap_dir, mo.lock_dir, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		fs_config_free(&conf);
		goto out_opts;
	}
	main_nofile(&fs);
	rc = fs_init(&fs, &conf, mo.ro, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		goto out_fs;
	}
	fs.verbose = opts.foreground || opts.debug;
	if (!mo.named) {
		/* The mount table names the configuration, or the directory
		 * shown; a comma would split the option, so such a path is not
		 * shown. */
		const char *src = conf.path ? conf.path : conf.mmap_dir;

		if (asprintf(&named, "-osubtype=" FS_NAME ",fsname=%s",
			     strchr(src, ',') ? FS_NAME : src) < 0 ||
		    fuse_opt_add_arg(&args, named) < 0)
			goto out_fs;
	}
	if (main_recover(opts.mountpoint) < 0)
		goto out_fs;
	se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), &fs);
	if (!se)
		goto out_fs;
	fs.se = se;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	/* The path before mounting: looking it up after would ask ourselves. */
	if (!realpath(opts.mountpoint, abs))
		abs[0] = '\0';
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_handlers;
	/* Its id tells our files in /proc/PID/fdinfo (fs_proc_holds()). */
	if (abs[0] && !main_mounted(abs, fstype, sizeof(fstype), &fs.mnt_id))
		fs.mnt_id = 0;
	/* After the mount, before any thread: fuse_daemonize() forks. */
	fuse_daemonize(opts.foreground);
	if (opts.singlethread) {
		rc = fuse_session_loop(se);
	} else {
		lcfg = fuse_loop_cfg_create();
		if (!lcfg) {
			rc = -ENOMEM;
		} else {
			fuse_loop_cfg_set_clone_fd(lcfg, opts.clone_fd);
			/* UINT_MAX: not given on the command line. */
			if (opts.max_threads != UINT_MAX)
				fuse_loop_cfg_set_max_threads(lcfg, opts.max_threads);
			if (opts.max_idle_threads != UINT_MAX)
				fuse_loop_cfg_set_idle_threads(lcfg, opts.max_idle_threads);
			rc = fuse_session_loop_mt(se, lcfg);
			fuse_loop_cfg_destroy(lcfg);
		}
	}
	/* 0, or the number of the signal (INT, TERM, HUP) that ended it: a
	 * clean stop either way. */
	ret = rc < 0 ? 1 : 0;
	fs_park_fini(&fs); /* parked requests answered through the session */
	fs_poll_fini(&fs); /* its watchers notify through the session */
	fuse_session_unmount(se);
out_handlers:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_fs:
	fs_fini(&fs);
	fs_config_free(&conf);
out_opts:
	free(opts.mountpoint);
out_args:
	free(named);
	free(mo.config);
	free(mo.mmap_dir);
	free(mo.lock_dir);
	free(mo.nonopt[0]);
	free(mo.nonopt[1]);
	fuse_opt_free_args(&args);
	return ret;
}
