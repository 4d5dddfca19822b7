/*
 * fs.h - declarations shared by the parts of ipmmapfs; private to fs/.
 *
 *   config.c  the INI configuration file -> struct fs_config
 *   tree.c    a structure type walked once -> a static table of nodes
 *   inst.c    the instances shown, their pools of map handles, rescans
 *   ops.c     the low-level FUSE operations
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

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "ipmmap.h"

#define FS_NAME "ipmmapfs"

/* Most instances one mount shows: the slot table is allocated once so that
 * request threads can read it without a lock while a rescan appends. */
#define FS_MAX_INST 4096

/* Idle map handles kept per instance; more are opened when threads need them
 * at the same time, and closed again when the pool is full. */
#define FS_POOL_MAX 16

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
	char *path;		    /* the configuration file, absolute */
	char *dir;		    /* its directory: relative paths start here */
	char **schemas;		    /* schema files, absolute, in order */
	size_t nschemas;	    /* entries in schemas */
	int *schema_lines;	    /* line of each schema = */
	char *mmap_dir;		    /* absolute */
	char *lock_dir;		    /* absolute */
	int create;		    /* manager: create missing listed instances */
	int create_line;	    /* line of create = yes, for messages */
	int read_only;		    /* every instance read-only */
	struct fs_inst_conf *insts; /* instance = lines; none: scan mmap_dir */
	size_t ninsts;		    /* entries in insts */
};

/* Reads the configuration at path. On error returns a negative errno with
 * "file:line: what is wrong" in err; c is then empty (fs_config_free is
 * harmless). */
int fs_config_load(struct fs_config *c, const char *path, char *err, size_t errlen);
void fs_config_free(struct fs_config *c);

/* ------------------------------------------------------------------------ */
/* The node table of one structure type (tree.c)                             */
/* ------------------------------------------------------------------------ */

enum fs_node_kind {
	FS_DIR,	   /* the instance, a nested structure or an array */
	FS_FIELD,  /* a scalar or char[N]: one value as text */
	FS_VALUES, /* .values: every field as "path = value" lines */
	FS_RAW,	   /* .raw: the structure's bytes */
};

/* Fixed node numbers inside every instance. */
#define FS_NODE_ROOT 0
#define FS_NODE_VALUES 1
#define FS_NODE_RAW 2

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
	struct fs_node *nodes; /* node 0 is the instance directory */
	uint32_t count;	       /* nodes in the table */
	uint32_t nleaves;      /* FS_FIELD nodes: lines of .values */
};

int fs_tree_build(struct fs_tree *t, const ipm_type *type);
void fs_tree_free(struct fs_tree *t);
/* Child of directory node dir called name, or UINT32_MAX. */
uint32_t fs_tree_lookup(const struct fs_tree *t, uint32_t dir, const char *name);

/* ------------------------------------------------------------------------ */
/* Instances (inst.c)                                                        */
/* ------------------------------------------------------------------------ */

struct fs;

struct fs_inst {
	struct fs *fs;		    /* the filesystem it belongs to */
	char *dirname;		    /* "DemoMmapStructure_left" */
	char *sname;		    /* structure name */
	char *tag;		    /* tag, "" for none */
	const struct fs_tree *tree; /* its structure's nodes, shared */
	enum ipm_role role;	    /* role of the pooled handles */
	int ro;			    /* writes refused with EROFS */
	pthread_mutex_t mu;	    /* guards pool, npool, warned */
	ipm_map *pool[FS_POOL_MAX]; /* idle open handles */
	unsigned npool;		    /* entries in pool */
	int warned;		    /* an open failure has been logged */
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
	struct fs_tree **trees;		/* one per structure type in use */
	size_t ntrees;			/* entries in trees */
	uid_t uid;			/* owner shown for every file */
	gid_t gid;			/* group shown for every file */
	struct timespec start;		/* times shown for every file */
	struct fuse_session *se;	/* for fuse_session_exited() */
	pthread_mutex_t free_mu;	/* guards free_handles */
	struct fs_handle *free_handles; /* released handles kept for reuse */
	unsigned nfree;			/* entries in free_handles */
};

/* Loads the schemas, registers (and with create = yes creates) the listed
 * instances, opening each once so that a bad one stops the start. */
int fs_init(struct fs *fs, struct fs_config *c, int read_only, char *err, size_t errlen);
void fs_fini(struct fs *fs);

/* Scan mode: registers the files of mmap_dir not seen before. Cheap enough to
 * run on every readdir of the root and every failed lookup in it. */
void fs_rescan(struct fs *fs);

static inline size_t fs_ninsts(struct fs *fs)
{
	return atomic_load_explicit(&fs->ninsts, memory_order_acquire);
}

/* Instance whose directory is called name, with its index in *idx. */
struct fs_inst *fs_inst_find(struct fs *fs, const char *name, size_t *idx);

/* A map handle of the instance for one request, and back. Returns 0 or a
 * negative errno (-EIO when the instance cannot be opened: damaged file). */
int fs_map_get(struct fs_inst *in, ipm_map **out);
void fs_map_put(struct fs_inst *in, ipm_map *m);

/* ------------------------------------------------------------------------ */
/* Operations (ops.c)                                                        */
/* ------------------------------------------------------------------------ */

extern const struct fuse_lowlevel_ops fs_ops;

/* Frees the handles kept for reuse. */
void fs_handles_free(struct fs *fs);

#endif /* IPMFS_FS_H */
