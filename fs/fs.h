/*
 * fs.h - declarations shared by the parts of ipmmapfs; private to fs/.
 *
 *   config.c  the INI configuration file -> struct fs_config
 *   define.c  what layout an instance is shown with: the schema's, its
 *             stored definition, or its bytes alone
 *   tree.c    a structure type walked once -> a static table of nodes;
 *             the text a node reads as
 *   inst.c    the instances shown, their pools of map handles and locks,
 *             rescans, files replaced or removed under the mount
 *   status.c  .status: how an instance is, tried when it is read
 *   peek.c    the text of a file of a native instance, read without a lock
 *   ops.c     the low-level FUSE operations: a thin adapter
 *   attr.c    what stat shows: owner and mode, exact size, times
 *   file.c    an open file: its buffer, its states, its requests (file.h)
 *   store.c   text written to an open file, checked and stored
 *   proc.c    what /proc tells about the task that closes a file
 *   poll.c    poll()/select()/epoll on a file: watcher threads, notifications
 *   park.c    requests that find a lock held: parked, served by a waiter
 *   values.c  the lines written to .values, checked by lib/lines.c
 *   main.c    command line, mount, signals, tear-down
 *
 * Inode numbers: 1 is the root; an instance's node n is
 * ((instance index + 1) << 32) | n, node 0 being the instance directory. The
 * tree never changes while mounted (instances are only ever added), so the
 * kernel may cache names and attributes for as long as it likes.
 *
 * fs/ uses only the public lib/ipmmap.h.
 */
#ifndef IPMFS_FS_H
#define IPMFS_FS_H

#define FUSE_USE_VERSION 314 /* 3.12+ for fuse_loop_cfg_*; see FUSE-NOTES */

#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "ipmmap.h"

#define FS_NAME "ipmmapfs"

/* Most instances one mount shows: the slot table is allocated once so that
 * request threads can read it without a lock while a rescan appends. */
#define FS_MAX_INST 4096

/* Idle map handles kept per instance; more are opened when threads need them
 * at the same time, and closed again when the pool is full. */
#define FS_POOL_MAX 16

/* Idle map handles kept by all instances together at most (scan mode may
 * show thousands of instances; each handle holds descriptors): the soft
 * RLIMIT_NOFILE, raised to the hard one at start, divided by this. */
#define FS_POOL_FD_SHARE 4

/* A request found the lock busy: it is parked (park.c), not failed. Never
 * returned by the library (EINPROGRESS has no meaning for a map). */
#define FS_PARK (-EINPROGRESS)

/* Longest a parked GETATTR waits for the lock before it replies the
 * longest size; a parked read or GETATTR of .status, before it shows
 * "state = busy". In ms. */
#define FS_ATTR_WAIT_MS 2000
/* Most watcher threads of a mount (poll.c): one per instance polled or
 * stat'ed, up to this; the instances past it are looked at by one shared
 * thread. */
#define FS_MAX_WATCHERS 64
#define FS_STATUS_WAIT_MS 500

/* Shortest time between two looks (stat) at an instance's file for a file
 * replaced under a new inode or removed, in ns. */
#define FS_CHECK_NS 1000000000LL

/* ------------------------------------------------------------------------ */
/* Configuration (config.c)                                                  */
/* ------------------------------------------------------------------------ */

struct fs_inst_conf {
	char *name; /* structure name */
	char *tag;  /* tag, "" for none */
	int ro;	    /* "ro" flag: shown read-only, opened as a reader */
	int line;   /* its line in the configuration file */
};

struct fs_config {
	char *path;		    /* the configuration file, absolute; NULL: none */
	char *dir;		    /* its directory: relative paths start here */
	char **schemas;		    /* schema files, absolute, in order */
	size_t nschemas;	    /* entries in schemas */
	int *schema_lines;	    /* line of each schema = */
	char *mmap_dir;		    /* absolute */
	char *lock_dir;		    /* absolute */
	int create;		    /* manager: create missing listed instances */
	int create_line;	    /* line of create = yes, for messages */
	int read_only;		    /* every instance read-only */
	unsigned mode_flag;	    /* native = yes|no: IPM_NATIVE or IPM_COMPAT; 0: not given */
	mode_t mode;		    /* files made (ipm_open_opts.mode); 0: library's */
	int group;		    /* group = given: files made get gid */
	gid_t gid;		    /* ... that group */
	struct fs_inst_conf *insts; /* instance = lines; none: scan mmap_dir */
	size_t ninsts;		    /* entries in insts */
	int owners_line;	    /* line of owners =; 0: the mount's owner and root */
	int owners_any;		    /* owners = any: every file of mmap_dir */
	uid_t *own_uids;	    /* scan mode: files of these users are shown */
	size_t nown_uids;	    /* entries in own_uids */
	gid_t *own_gids;	    /* ... and files of these groups (@group) */
	size_t nown_gids;	    /* entries in own_gids */
};

/* Reads the configuration at path. On error returns a negative errno with
 * "file:line: what is wrong" in err; c is then empty (fs_config_free is
 * harmless). */
int fs_config_load(struct fs_config *c, const char *path, char *err, size_t errlen);
void fs_config_free(struct fs_config *c);

/* No configuration file: mmap_dir and lock_dir as given (-o, relative to
 * the working directory; NULL: ./.mmap and ./.fasteners), no schema, every
 * file shown; mmap_dir must be readable. 0 or a negative errno with err. */
int fs_config_default(struct fs_config *c, const char *mmap_dir, const char *lock_dir, char *err,
		      size_t errlen);

/* -o mmap_dir=, lock_dir= (NULL: not given), relative to the working
 * directory, over what c says. 0 or a negative errno with err. */
int fs_config_dirs(struct fs_config *c, const char *mmap_dir, const char *lock_dir, char *err,
		   size_t errlen);

/* ------------------------------------------------------------------------ */
/* The node table of one structure type (tree.c)                             */
/* ------------------------------------------------------------------------ */

enum fs_node_kind {
	FS_DIR,	   /* the instance, a nested structure or an array */
	FS_FIELD,  /* a scalar or char[N]: one value as text */
	FS_VALUES, /* .values: every field as "path = value" lines */
	FS_RAW,	   /* .raw: the structure's bytes */
	FS_STATUS, /* .status: the instance's file and crash recoveries */
	FS_LIST,   /* an array of more than FS_ARRAY_FILES numbers: one per line */
};

/* An array of numbers longer than this is one read-only file (FS_LIST), not
 * a directory of one file per element: int8[20000000] would cost twenty
 * million nodes (about 3 GB) and seconds at start. */
#define FS_ARRAY_FILES 1024

/* Most nodes (files and directories) of one structure: about 300 bytes
 * each, so at most about 80 MB. A structure that needs more is refused. */
#define FS_MAX_NODES (1u << 18)

/* Fixed node numbers inside every instance. */
#define FS_NODE_ROOT 0
#define FS_NODE_VALUES 1
#define FS_NODE_RAW 2
#define FS_NODE_STATUS 3
#define FS_NODE_FIRST 4 /* the structure's first field: its header */

/* Longest text of .status: a path and a message, plus a few numbers. */
#define FS_STATUS_MAX (4096 + IPM_ERRLEN + 512)

struct fs_node {
	char *name;		/* directory entry: field name or array index */
	char *path;		/* library path: "multi_pts.multi_points[3].y" */
	uint32_t parent;	/* node of the directory holding it */
	uint32_t first;		/* FS_DIR: first child; children are contiguous */
	uint32_t count;		/* FS_DIR: number of children */
	uint8_t kind;		/* enum fs_node_kind */
	uint8_t ro;		/* never written through the mount (the header) */
	uint8_t array;		/* FS_DIR: children are named 0..count-1 */
	size_t textmax;		/* longest text it reads as, newline included */
	off_t size;		/* st_size: see fs_tree_build() */
	struct ipm_field field; /* where the value lives in the structure */
};

struct fs_tree {
	const ipm_type *type;  /* the structure walked */
	ipm_schema *own;       /* the schema of type when it is an instance's own
				  (stored, raw): kept with the tree; else NULL */
	struct fs_node *nodes; /* node 0 is the instance directory */
	uint32_t count;	       /* nodes in the table */
};

/* Walks type into t: 0, -ENOMEM, or -EFBIG (more than FS_MAX_NODES). */
int fs_tree_build(struct fs_tree *t, const ipm_type *type);
/* The tree of an instance shown by its bytes alone: .raw and .status. */
int fs_tree_build_raw(struct fs_tree *t, const ipm_type *type);
void fs_tree_free(struct fs_tree *t);
/* Child of directory node dir called name, or UINT32_MAX. */
uint32_t fs_tree_lookup(const struct fs_tree *t, uint32_t dir, const char *name);

/* The text file node n of tree t reads as, rendered from the structure's
 * bytes at data into buf (cap bytes): its length, or a negative errno. */
int fs_node_text(const struct fs_tree *t, const struct fs_node *n, const void *data, char *buf,
		 size_t cap);
/* The same from the node's own bytes at src (n->field.size of them, from
 * n->field.offset of the structure; .values and .raw: the structure's). */
int fs_node_text_at(const struct fs_tree *t, const struct fs_node *n, const void *src, char *buf,
		    size_t cap);

/* ------------------------------------------------------------------------ */
/* Where an instance's layout comes from (define.c)                          */
/* ------------------------------------------------------------------------ */

struct fs;

enum fs_def {
	FS_DEF_SCHEMA, /* a structure of the configured schema */
	FS_DEF_STORED, /* the definition stored beside its lock file */
	FS_DEF_RAW,    /* none stored: its bytes alone, .raw and .status */
	FS_DEF_BAD,    /* a stored one that cannot be trusted: EIO */
};

struct fs_layout {
	enum fs_def def;      /* where it comes from */
	ipm_schema *schema;   /* the instance's own (stored, raw); NULL: the mount's */
	const ipm_type *type; /* its structure (FS_DEF_BAD: the header, for sizes) */
	char *sname;	      /* structure name */
	char *tag;	      /* tag, "" for none */
	char why[IPM_ERRLEN]; /* the stored file (stored), or why not (raw, bad) */
};

/* The mappable structure of the schema whose name is the longest
 * "<Struct>_" prefix of base, its length in *len; NULL if none. */
const ipm_type *fs_define_match(struct fs *fs, const char *base, size_t *len);

/* The layout of the file <base>.mmap of mmap_dir, found by a listing: 0,
 * -ENOENT (not an instance's name), -ENOMEM. fs_define_free() it. */
int fs_define_file(struct fs *fs, const char *base, struct fs_layout *l);

/* The layout of a listed instance: the schema's, or its stored definition;
 * 0, or a negative errno with why in l->why. */
int fs_define_listed(struct fs *fs, const char *name, const char *tag, struct fs_layout *l);
void fs_define_free(struct fs_layout *l);

/* ------------------------------------------------------------------------ */
/* Instances (inst.c)                                                        */
/* ------------------------------------------------------------------------ */

struct fs;
struct fs_poll;

/* The watcher of one instance (poll.c): a thread started by the first poll
 * that asks to be told, idle on cv while nobody waits. */
struct fs_watch {
	pthread_mutex_t mu;	    /* guards all below and every fs_poll of the instance */
	pthread_cond_t cv;	    /* narmed became non-zero, or stop */
	pthread_t thread;	    /* the watcher */
	int started;		    /* thread runs (or ran): join it at the end */
	int stop;		    /* the mount is ending */
	int exited;		    /* the thread is about to return */
	void *fire;		    /* its scratch list of handles to notify */
	size_t nfire;		    /* room in fire */
	struct fs_poll *polls;	    /* open files of the instance ever polled */
	unsigned narmed;	    /* of those, waiting for a notification */
	_Atomic int64_t attr_until; /* watch for attr.c until (fs_now() ns) */
	int shared;		    /* on the shared watcher's list (no thread) */
	struct fs_inst *snext;	    /* that list */
	uint64_t stok;		    /* shared watcher only: token of its last pass */
	unsigned sgen;		    /* ... and generation */
	int stok_ok;		    /* ... that pass was made */
};

/* A request parked on an instance (park.c): the operation again, run by
 * the instance's waiter once it holds the lock in the mode asked. */
struct fs_job {
	struct fs_job *next;	    /* queue link */
	fuse_req_t req;		    /* replied to exactly once, by whoever owns the job */
	struct fs_handle *h;	    /* the open file; NULL: FS_JOB_ATTR */
	int op;			    /* which request (file.c), or FS_JOB_ATTR */
	fuse_ino_t ino;		    /* FS_JOB_ATTR: the inode */
	int64_t deadline;	    /* CLOCK_MONOTONIC_COARSE ns to wait until; 0: no end */
	int expired;		    /* run past its deadline, without the lock */
	int write;		    /* wait for the write lock, else the read lock */
	int how;		    /* flush: what this close does (file.c) */
	size_t size;		    /* read/write size */
	off_t off;		    /* read/write offset */
	struct fuse_pollhandle *ph; /* poll: the kernel's handle, or NULL */
	char data[];		    /* write: the bytes */
};

/* A job that is a GETATTR without an open file (attr.c). */
#define FS_JOB_ATTR (-1)

/* The parked requests of one instance and their waiter thread. */
struct fs_park {
	pthread_mutex_t mu;  /* guards all below */
	pthread_cond_t cv;   /* the waiter left (running became 0) */
	struct fs_job *head; /* parked requests, oldest first */
	struct fs_job *tail; /* ... last */
	pthread_t thread;    /* the waiter, while running or not joined */
	int started;	     /* thread was created and not joined yet */
	int running;	     /* the waiter serves the queue */
	int stop;	     /* the mount is ending: answer EINTR */
};

struct fs_inst {
	struct fs *fs;		    /* the filesystem it belongs to */
	char *dirname;		    /* "DemoMmapStructure_left" */
	char *sname;		    /* structure name */
	char *tag;		    /* tag, "" for none */
	const struct fs_tree *tree; /* its structure's nodes, shared */
	ipm_schema *schema;	    /* its own (stored, raw), its tree's; NULL: fs->schema */
	enum fs_def def;	    /* where its layout comes from */
	char defmsg[IPM_ERRLEN];    /* the stored file, or why there is none */
	enum ipm_role role;	    /* role of the pooled handles */
	int ro;			    /* writes refused with EROFS */
	char *path;		    /* the .mmap file */
	pthread_mutex_t mu;	    /* guards pool to gen */
	ipm_map *pool[FS_POOL_MAX]; /* idle open handles, all of generation gen */
	unsigned npool;		    /* entries in pool */
	int warned;		    /* an open failure has been logged */
	char errmsg[IPM_ERRLEN];    /* why the last open failed; "" after one worked */
	dev_t dev;		    /* the file the handles of gen were opened on */
	ino_t ino;		    /* ... its inode; 0: not known yet */
	uid_t uid;		    /* its owner, group and permission bits at the */
	gid_t gid;		    /* ... last look (0600 of the daemon's before: */
	mode_t mode;		    /* ... see fs_inst_attr()) */
	unsigned gen;		    /* bumped when the file is replaced or removed */
	_Atomic int64_t next_check; /* CLOCK_MONOTONIC_COARSE ns of the next stat */
	_Atomic int gone;	    /* the file was missing at the last look */
	_Atomic double stamp;	    /* its time_stamp at the last stat (attr.c) */
	unsigned scan_seen;	    /* serial of the last rescan that saw the file */
	int clashed;		    /* scan mode: another file of its name was logged */
	struct fs_watch watch;	    /* poll(): its watcher and pollers */
	size_t idx;		    /* its slot in fs->insts */
	struct fs_park park;	    /* requests waiting for its lock */
};

struct fs_handle;

struct fs {
	struct fs_config *conf;		/* the configuration, owned by main */
	ipm_schema *schema;		/* every schema file, loaded once */
	struct ipm_open_opts oopts;	/* mmap_dir and lock_dir */
	int read_only;			/* config read_only or -o ro */
	int scan;			/* no instance lines: show all files */
	int verbose;			/* log refused writes (foreground) */
	struct fs_inst **insts;		/* FS_MAX_INST slots */
	_Atomic size_t ninsts;		/* slots in use; only grows */
	pthread_mutex_t scan_mu;	/* serialises rescans, guards trees */
	_Atomic unsigned nwatchers;	/* watcher threads started (poll.c) */
	pthread_mutex_t shared_mu;	/* guards the four below */
	struct fs_inst *shared;		/* polled instances past FS_MAX_WATCHERS */
	pthread_t shared_thread;	/* their one watcher */
	int shared_started;		/* it runs */
	int shared_stop;		/* the mount is ending */
	struct fs_tree **trees;		/* one per structure type in use */
	size_t ntrees;			/* entries in trees */
	unsigned scan_serial;		/* rescans done, under scan_mu */
	unsigned log_owner;		/* files of other owners last logged */
	unsigned log_full;		/* files past FS_MAX_INST last logged */
	int64_t log_at;			/* fs_now() of that log line; under scan_mu */
	int log_other;			/* a file not shown for another reason was logged */
	struct timespec scan_mtim;	/* mmap_dir's mtime at the last rescan */
	int64_t scan_at;		/* CLOCK_MONOTONIC_COARSE ns of the last rescan */
	_Atomic unsigned npooled;	/* idle map handles of all instances */
	unsigned pool_total;		/* most idle map handles kept in all */
	uid_t uid;			/* owner shown for the root */
	gid_t gid;			/* group shown for the root */
	struct timespec start;		/* times shown for every file */
	struct fuse_session *se;	/* for fuse_session_exited() */
	pthread_mutex_t free_mu;	/* guards free_handles, open_handles */
	struct fs_handle *free_handles; /* released handles kept for reuse */
	unsigned nfree;			/* entries in free_handles */
	struct fs_handle *open_handles; /* handles open now */
	struct fs_handle *byino[256];	/* read-only open files by inode (file.c) */
	int mnt_id;			/* the mount's id in /proc; 0: not known */
	pthread_mutex_t snap_mu;	/* guards snaps */
	void *snaps;			/* attributes the kernel may keep (attr.c) */
};

/* Loads the schemas, registers (and with create = yes creates) the listed
 * instances, opening each once so that a bad one stops the start. */
int fs_init(struct fs *fs, struct fs_config *c, int read_only, char *err, size_t errlen);
void fs_fini(struct fs *fs);

/* Scan mode: registers the files of mmap_dir not seen before; run at every
 * readdir of the root. */
void fs_rescan(struct fs *fs);

/* fs_rescan() for a failed lookup in the root: only when mmap_dir's mtime
 * moved (one stat) or the last rescan is older than FS_CHECK_NS. */
void fs_rescan_lookup(struct fs *fs);

/* CLOCK_MONOTONIC_COARSE in ns: one vDSO read. */
static inline int64_t fs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A field of text (char[N], wchar[N]): its file takes all it is written
 * as one value at close, newlines and all. */
static inline int fs_is_text(enum ipm_kind k)
{
	return k == IPM_STRING || k == IPM_WSTRING;
}

static inline size_t fs_ninsts(struct fs *fs)
{
	return atomic_load_explicit(&fs->ninsts, memory_order_acquire);
}

/* Instance whose directory is called name, with its index in *idx. */
struct fs_inst *fs_inst_find(struct fs *fs, const char *name, size_t *idx);

/* A map handle of the instance for one request, and back. Returns 0 or a
 * negative errno (-EIO when the instance cannot be opened: damaged file).
 * *gen is the generation the handle belongs to: put back a handle of an
 * older one (the file was replaced meanwhile) is closed, not pooled. */
int fs_map_get(struct fs_inst *in, ipm_map **out, unsigned *gen);
void fs_map_put(struct fs_inst *in, ipm_map *m, unsigned gen);

/* At most once every FS_CHECK_NS per instance (otherwise one clock read):
 * stats the file; replaced under a new inode or removed, the idle handles
 * are dropped and the generation bumped. Returns in->gone. */
int fs_inst_check(struct fs_inst *in);

/* The instance's generation, read under its mutex. */
unsigned fs_inst_gen(struct fs_inst *in);

/* Owner, group and permission bits of the entries of in: its .mmap's, as
 * seen at most FS_CHECK_NS ago. */
void fs_inst_attr(struct fs_inst *in, uid_t *uid, gid_t *gid, mode_t *mode);

/* A lock taken for one request: a pooled map handle holding it, or the
 * lock the instance's waiter holds for the parked request it runs. */
struct fs_lk {
	ipm_map *m;   /* the handle holding the lock */
	unsigned gen; /* its generation (fs_map_put) */
	int borrowed; /* the waiter's: not released by fs_release() */
};

/* Takes the read (write 0) or write lock of in without waiting: 0, FS_PARK
 * when it is held by someone else (park the request), or a negative errno.
 * In the waiter running a parked request, returns the lock it holds
 * (FS_PARK if it holds the read lock and write is asked). */
int fs_acquire(struct fs_inst *in, int write, struct fs_lk *lk);
void fs_release(struct fs_inst *in, struct fs_lk *lk);

/* The text of in's .status into buf (cap bytes, NUL-terminated): its
 * length, FS_PARK (the lock is busy), or a negative errno. With busy_ok, a
 * busy lock is not waited for: state says so (see inst.c). */
int fs_inst_status(struct fs_inst *in, char *buf, size_t cap, int busy_ok);

/* fs_acquire(), and on failure the handle's message in why (whylen bytes;
 * NULL: none) (inst.c). */
int fs_acquire_why(struct fs_inst *in, int write, struct fs_lk *lk, char *why, size_t whylen);

/* ------------------------------------------------------------------------ */
/* Operations (ops.c) and attributes (attr.c)                                */
/* ------------------------------------------------------------------------ */

extern const struct fuse_lowlevel_ops fs_ops;

static inline fuse_ino_t fs_ino(size_t inst, uint32_t node)
{
	return ((fuse_ino_t)(inst + 1) << 32) | node;
}

/* What a rendered text was read from: under one read lock, or one copy of
 * a native instance between two equal change tokens (peek.c). */
struct fs_snapmeta {
	double ts;    /* the header's time_stamp: mtime and ctime */
	uint64_t tok; /* ipm_map_changes() token */
	unsigned gen; /* the instance's generation */
	int64_t at;   /* CLOCK_MONOTONIC_COARSE ns of the render */
};

int fs_attr_init(struct fs *fs);
void fs_attr_fini(struct fs *fs);

/* The attributes of node of instance in (slot idx), or of the root when in
 * is NULL, into st, without rendering anything: a file's size is the
 * longest its text can be. Returns how long the kernel may keep them
 * (seconds): 0 for a file. */
double fs_attr(struct fs *fs, struct fs_inst *in, size_t idx, uint32_t node, struct stat *st);

/* The attributes of a file whose text (len bytes, rendered from meta) is
 * shown: exact size and times. Returns the timeout to reply them with: not
 * 0 only with keep set, when the snapshot is still the instance's state and
 * its watcher runs (it is then kept for fs_attr_open()); keep < 0: kept
 * already. */
double fs_attr_snapshot(struct fs *fs, struct fs_inst *in, size_t idx, uint32_t node,
			const char *text, size_t len, const struct fs_snapmeta *meta,
			struct stat *st, int keep);

/* Replies st with timeout tmo; a kept snapshot (meta) only keeps its
 * timeout while it is still the one kept for its inode. */
void fs_attr_reply(fuse_req_t req, struct fs *fs, const struct stat *st, double tmo,
		   const struct fs_snapmeta *meta);

/* A GETATTR without an open file: replied now, or parked (bounded) while
 * another process holds the write lock. */
void fs_attr_getattr(fuse_req_t req, struct fs *fs, struct fs_inst *in, size_t idx, uint32_t node);

/* Runs a parked FS_JOB_ATTR (with the lock held, or expired): FS_PARK, or
 * 0 after replying and freeing it. */
int fs_attr_job(struct fs_job *j);

/* Node n's text rendered with m holding the read lock (gen: m's
 * generation): 0 with its length in *len and meta filled, or a negative
 * errno. A field reads as its text and a newline. */
int fs_attr_render(struct fs_inst *in, const struct fs_node *n, ipm_map *m, unsigned gen, char *buf,
		   size_t cap, size_t *len, struct fs_snapmeta *meta);

/* What fs_peek_render() answers when the text must be read under the read
 * lock; never returned by the library. */
#define FS_LOCKED 1

/* The whole structure of a native instance copied without a lock into data
 * (size bytes), *tok the change token read before the copy: 0, or
 * FS_LOCKED as fs_peek_render(). fs_peek_token(): the token now (0, or
 * FS_LOCKED when it cannot be read). */
int fs_peek_copy(struct fs_inst *in, void *data, size_t size, uint64_t *tok);
int fs_peek_token(struct fs_inst *in, uint64_t *tok);

/* Node n's text (not .status) rendered without a lock when in is native
 * (peek.c): 0 with *len and *meta filled as fs_attr_render() fills them,
 * or FS_LOCKED: a compat instance, a live writer's long section, a file to
 * map, any failure; the caller then takes the lock its own way. p: the
 * open file's poll state (NULL: none), whose reference the text becomes. */
int fs_peek_render(struct fs_inst *in, const struct fs_node *n, char *buf, size_t cap, size_t *len,
		   struct fs_snapmeta *meta, struct fs_poll *p);

/* A read-only open of text file ino: when the kernel may answer its fstat
 * from kept attributes, the open file is primed with their text (*primed 1,
 * buf, *len, *meta) if nothing changed since, and the kernel is told to
 * drop them otherwise. */
void fs_attr_open(struct fs *fs, struct fs_inst *in, fuse_ino_t ino, char *buf, size_t cap,
		  size_t *len, struct fs_snapmeta *meta, int *primed);

/* A value of ino's instance was written through the mount: the kernel drops
 * the attributes it may keep of the instance's files (but ino's own when
 * keep: the kernel drops them itself after a write request). */
void fs_attr_changed(struct fs *fs, fuse_ino_t ino, int keep);

/* The watcher of instance idx saw its state at tok (generation gen): the
 * kernel drops the attributes it may keep from an older state. */
void fs_attr_stale(struct fs *fs, size_t idx, uint64_t tok, unsigned gen);

/* How long after the reply of a snapshot the kernel may still answer from
 * it: more than two clock ticks at HZ=100. */
#define FS_SNAP_NS 50000000LL

/* ------------------------------------------------------------------------ */
/* Open files (file.c, store.c; their insides in file.h)                     */
/* ------------------------------------------------------------------------ */

/* A new open file of node n of in (inode ino), opened with open(2) flags
 * by task pid; NULL when out of memory. Freed by fs_file_free() (RELEASE)
 * or fs_files_free(). */
struct fs_handle *fs_file_new(struct fs *fs, struct fs_inst *in, const struct fs_node *n,
			      fuse_ino_t ino, int flags, pid_t pid);
void fs_file_free(struct fs *fs, struct fs_handle *h);

/* The requests on the open file fi->fh; each replies exactly once, now or
 * once parked (park.c). */
void fs_file_read(fuse_req_t req, struct fuse_file_info *fi, size_t size, off_t off);
void fs_file_write(fuse_req_t req, struct fuse_file_info *fi, const char *data, size_t size,
		   off_t off);
void fs_file_flush(fuse_req_t req, struct fuse_file_info *fi);
void fs_file_poll(fuse_req_t req, struct fuse_file_info *fi, struct fuse_pollhandle *ph);
/* fstat(fd): the attributes of the value the open file shows (attr.c). */
void fs_file_getattr(fuse_req_t req, struct fuse_file_info *fi);

/* A GETATTR of ino from task tid (the kernel's fstat() sends no open file,
 * only the task): when tid has ino open read-only, the value that open file
 * shows wins. Returns 1 with its text in buf (cap bytes), *len and *meta
 * when it shows one; when it shows none yet and have is set, it is primed
 * with the text given in buf and returns 2; else 0. */
int fs_file_stat(struct fs *fs, fuse_ino_t ino, pid_t tid, char *buf, size_t cap, size_t *len,
		 struct fs_snapmeta *meta, int have);

/* A read-only open of a text file: primed with the text whose attributes
 * the kernel may keep (fs_attr_open()). */
void fs_file_prime(struct fs *fs, struct fs_handle *h);

/* At the end: frees the open files the kernel never released (a lazy
 * unmount, a signal) and those kept for reuse. */
void fs_files_free(struct fs *fs);

/* What /proc tells about task tid (proc.c): its thread group (0 if not
 * known); whether it is dying of a signal; whether its files table holds a
 * descriptor of inode ino of mount mnt_id (0: any mount). Each answers 0
 * when /proc does not tell. */
pid_t fs_proc_tgid(pid_t tid);
int fs_proc_killed(pid_t tid);
int fs_proc_holds(pid_t tid, uint64_t ino, int mnt_id);

/* Runs a parked job with the lock held (park.c calls it): FS_PARK when it
 * needs the write lock, else 0 after replying and freeing the job. */
int fs_job_run(struct fs_job *j);

/* Answers a parked job with -err and frees it (interrupted, mount ending). */
void fs_job_cancel(struct fs_job *j, int err);

/* ------------------------------------------------------------------------ */
/* .values lines (values.c), through the library's one parser (lib/lines.c)  */
/* ------------------------------------------------------------------------ */

/* Parses the "path = value" lines of text[0, len) of structure type: each
 * value's bytes go to scratch (structure-sized) at its field's offset, and
 * with set non-NULL (room for one field per line) the field is appended at
 * set[*nset]. *lines counts the lines parsed good, so a failure is on line
 * *lines + 1. Returns 0 or a negative errno: -EINVAL (not a field, no '=',
 * bad escape or NUL), what ipm_text_parse() returns, -ENOMEM. */
int fs_values_parse(const ipm_type *type, unsigned char *scratch, const char *text, size_t len,
		    struct ipm_field *set, size_t *nset, unsigned *lines);

/* ------------------------------------------------------------------------ */
/* Parked requests (park.c)                                                  */
/* ------------------------------------------------------------------------ */

/* The lock the waiter thread holds while it runs a parked job; NULL on the
 * session's threads. */
struct fs_held {
	struct fs_inst *in; /* the instance locked */
	ipm_map *m;	    /* the handle holding it */
	int write;	    /* write lock, else read */
};
extern __thread struct fs_held *fs_held;

/* Starts a helper thread of the mount (the park waiter, the poll watcher)
 * with every signal blocked that the session's threads handle (libfuse's
 * workers block them too), except ipm_lock_signal(), which bounds and
 * interrupts its lock waits, and the faults. 0 or a negative errno. */
int fs_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

void fs_park_init(struct fs_park *pk);
void fs_park_destroy(struct fs_park *pk);

/* Queues j on its instance and wakes (or starts) the waiter. 0, or a
 * negative errno (the job is then still the caller's). */
int fs_park(struct fs_inst *in, struct fs_job *j);

/* After the session loop: answers every parked request, ends the waiters. */
void fs_park_fini(struct fs *fs);

/* ------------------------------------------------------------------------ */
/* poll() (poll.c)                                                           */
/* ------------------------------------------------------------------------ */

/* A poll request on an open file of node n (its mutex held): *pp is its
 * poll state (made on the first poll), text/len what the open file last
 * rendered (NULL: nothing yet). Stores in *revents what to reply; takes ph
 * (may be NULL), except on FS_PARK (the lock is busy: nothing changed).
 * Returns 0, FS_PARK or a negative errno. */
int fs_poll(struct fs_inst *in, const struct fs_node *n, struct fs_poll **pp, const char *text,
	    size_t len, struct fuse_pollhandle *ph, unsigned *revents);

/* The kernel keeps attributes of in's files (attr.c) for FS_SNAP_NS: its
 * watcher looks for changes until then, and drops them at one. 0, or -1
 * when it has no watcher (FS_MAX_WATCHERS run): keep nothing then. */
int fs_watch_attrs(struct fs_inst *in);

/* After a render of a polled file, under the same read lock (a native
 * instance: before the change token is read again, see peek.c): what it
 * read is the new reference, and it is no longer changed. */
void fs_poll_rendered(struct fs_inst *in, struct fs_poll *p, const char *text, size_t len);

/* At release of a polled file. */
void fs_poll_drop(struct fs_inst *in, struct fs_poll *p);

void fs_poll_init(struct fs *fs);

/* After the session loop, before the session is destroyed: stops every
 * watcher and frees every poll state (open files that point to one are
 * only freed after, by fs_files_free()). */
void fs_poll_fini(struct fs *fs);

#endif /* IPMFS_FS_H */
