/*
 * inst.c - the instances a mount shows, and their pools of map handles.
 *
 * A map handle belongs to one thread at a time (ipmmap.h), and the session
 * loop runs requests on several threads. Each instance therefore keeps a small
 * pool of open handles: a request takes one (a mutex and a pointer, no system
 * call), uses it and gives it back; when the pool is empty another handle is
 * opened, so concurrent requests never share one. Each handle has its own
 * lock file description, so two requests exclude each other exactly as two
 * processes do. Instances are never removed while mounted: their slots are
 * read without a lock by request threads.
 *
 * A pooled handle maps the file it was opened on for its life. A manager
 * that re-creates a file of the wrong size renames a new file into place,
 * and a removed file stays mapped: both would be served stale for ever. So
 * the open of a file of the instance (and its watcher, and the root's
 * lookup) looks at the file again at most once every FS_CHECK_NS: one
 * coarse clock read otherwise, a stat() then. A new inode bumps the
 * instance's generation and closes the idle handles; handles in use finish
 * their request and are closed when they come back. A missing file marks
 * the instance gone: in scan mode it then leaves the root listing and its
 * files answer ENOENT, listed instances answer EIO, until the file is back.
 *
 * A request takes its instance's lock through fs_acquire() on a pooled
 * handle (or borrows the one the instance's waiter holds, park.c), and
 * .status is rendered here: both are about the instance, not the file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"

/* A directory mtime younger than this may be shared by a file made next. */
#define FS_RESCAN_FRESH_NS 20000000LL

/* Shortest time between two log lines about files not shown. */
#define FS_LOG_NS 60000000000LL

/*
 * Scan mode: whose files are shown. A shared (1777) mmap_dir lets any user
 * put files there; the slots (FS_MAX_INST) and the watchers are the mount's
 * owner's, so by default only files of the mount's owner and of root are
 * shown (owners = in the configuration widens or narrows it). Listed
 * instances are the administrator's choice and never filtered.
 */
static int inst_owner_ok(const struct fs *fs, uid_t uid, gid_t gid)
{
	const struct fs_config *c = fs->conf;

	if (!fs->scan || c->owners_any)
		return 1;
	if (!c->owners_line)
		return uid == fs->uid || uid == 0;
	for (size_t i = 0; i < c->nown_uids; i++)
		if (c->own_uids[i] == uid)
			return 1;
	for (size_t i = 0; i < c->nown_gids; i++)
		if (c->own_gids[i] == gid)
			return 1;
	return 0;
}

/* The node table of type, walked at its first instance; NULL with *rc set
 * (-EFBIG: more than FS_MAX_NODES). A type is shown whole or raw, never
 * both: raw ones are each instance's own, or the header's. */
static const struct fs_tree *inst_tree(struct fs *fs, const ipm_type *type, int raw, int *rc)
{
	struct fs_tree **trees, *t;

	*rc = -ENOMEM;
	for (size_t i = 0; i < fs->ntrees; i++)
		if (fs->trees[i]->type == type)
			return fs->trees[i];
	trees = realloc(fs->trees, (fs->ntrees + 1) * sizeof(*trees));
	if (!trees)
		return NULL;
	fs->trees = trees;
	t = malloc(sizeof(*t));
	if (!t || (*rc = raw ? fs_tree_build_raw(t, type) : fs_tree_build(t, type)) < 0) {
		free(t);
		return NULL;
	}
	fs->trees[fs->ntrees++] = t;
	return t;
}

/* Registers an instance of layout l (its own schema passes to the
 * instance); the caller holds scan_mu or runs before the loop. */
static int inst_add(struct fs *fs, struct fs_layout *l, int ro)
{
	const char *sname = l->sname, *tag = l->tag;
	size_t n = fs_ninsts(fs);
	struct fs_inst *in;
	int rc = 0;

	if (n == FS_MAX_INST)
		return -ENFILE;
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->fs = fs;
	in->sname = strdup(sname);
	in->tag = strdup(tag);
	if (*tag) {
		if (asprintf(&in->dirname, "%s_%s", sname, tag) < 0)
			in->dirname = NULL;
	} else {
		in->dirname = strdup(sname);
	}
	if (asprintf(&in->path, "%s/%s_%s.mmap", fs->conf->mmap_dir, sname, tag) < 0)
		in->path = NULL;
	in->tree = inst_tree(fs, l->type, l->def == FS_DEF_RAW || l->def == FS_DEF_BAD, &rc);
	/* An instance's own schema (stored, raw) has its own tree, made just
	 * now: the tree keeps it, as long as the mount (fs_fini()). */
	if (in->tree && l->schema && !in->tree->own) {
		((struct fs_tree *)in->tree)->own = l->schema;
		l->schema = NULL;
	}
	in->ro = ro || fs->read_only;
	in->role = in->ro ? IPM_READER : IPM_EDITOR;
	if (!in->sname || !in->tag || !in->dirname || !in->path || !in->tree) {
		rc = in->tree ? -ENOMEM : rc;
		free(in->sname);
		free(in->tag);
		free(in->dirname);
		free(in->path);
		free(in);
		return rc;
	}
	in->def = l->def;
	in->schema = in->tree->own;
	snprintf(in->defmsg, sizeof(in->defmsg), "%s", l->why);
	pthread_mutex_init(&in->mu, NULL);
	pthread_mutex_init(&in->watch.mu, NULL);
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&in->watch.cv, &ca);
	pthread_condattr_destroy(&ca);
	fs_park_init(&in->park);
	atomic_init(&in->next_check, 0);
	atomic_init(&in->gone, 0);
	atomic_init(&in->stamp, 0.0);
	in->scan_seen = fs->scan_serial; /* added by a rescan: seen by it */
	in->uid = fs->uid; /* until its file is looked at */
	in->gid = fs->gid;
	in->mode = 0600;
	in->idx = n;
	atomic_init(&in->watch.attr_until, 0);
	fs->insts[n] = in;
	atomic_store_explicit(&fs->ninsts, n + 1, memory_order_release);
	return 0;
}

static void inst_free(struct fs_inst *in)
{
	for (unsigned i = 0; i < in->npool; i++)
		ipm_map_free(in->pool[i]);
	pthread_mutex_destroy(&in->mu);
	pthread_mutex_destroy(&in->watch.mu);
	pthread_cond_destroy(&in->watch.cv);
	fs_park_destroy(&in->park);
	free(in->path);
	free(in->sname);
	free(in->tag);
	free(in->dirname);
	free(in);
}

/* See fs.h. */
struct fs_inst *fs_inst_find(struct fs *fs, const char *name, size_t *idx)
{
	size_t n = fs_ninsts(fs);

	for (size_t i = 0; i < n; i++) {
		if (!strcmp(fs->insts[i]->dirname, name)) {
			if (idx)
				*idx = i;
			return fs->insts[i];
		}
	}
	return NULL;
}

static void inst_dirname(const struct fs_inst_conf *ic, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", ic->name, *ic->tag ? "_" : "", ic->tag);
}

/* What the configuration alone can tell about instance line k, before any
 * file is touched: the structure, and a directory name shown once. */
static int inst_check(struct fs *fs, size_t k, char *err, size_t errlen)
{
	const struct fs_config *c = fs->conf;
	const struct fs_inst_conf *ic = &c->insts[k];
	const ipm_type *type = ipm_schema_find(fs->schema, ic->name);
	char a[512], b[512];

	/* Not in the schema: its stored definition, read at inst_listed(). A
	 * manager needs the schema's, to make the file. */
	if (!type && c->create) {
		snprintf(err, errlen, "%s:%d: no structure '%s' in the schema", c->path, ic->line,
			 ic->name);
		return -ENOENT;
	}
	if (type && !ipm_type_mappable(type)) {
		snprintf(err, errlen,
			 "%s:%d: structure '%s' does not start with %s: cannot be mapped", c->path,
			 ic->line, ic->name, IPM_HEADER_STRUCT);
		return -EINVAL;
	}
	inst_dirname(ic, a, sizeof(a));
	for (size_t i = 0; i < k; i++) {
		inst_dirname(&c->insts[i], b, sizeof(b));
		if (!strcmp(a, b)) {
			snprintf(err, errlen,
				 "%s:%d: instance directory '%s' already given on line %d", c->path,
				 ic->line, a, c->insts[i].line);
			return -EEXIST;
		}
	}
	return 0;
}

/* Closes the idle handles and starts a new generation; in->mu held. The
 * handles are returned in drop (FS_POOL_MAX entries), to be freed unlocked. */
static unsigned inst_drop(struct fs_inst *in, ipm_map **drop)
{
	unsigned n = in->npool;

	memcpy(drop, in->pool, n * sizeof(*drop));
	in->npool = 0;
	atomic_fetch_sub(&in->fs->npooled, n);
	in->gen++;
	return n;
}

static void inst_free_maps(ipm_map **drop, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		ipm_map_free(drop[i]);
}

/*
 * Looks at the file: a new inode (or a file back after it was missing)
 * starts a new generation, a missing file too and marks the instance gone.
 * Returns whether it is gone. Stat before open: a file replaced between the
 * two is then seen as replaced at the next look, never the other way round.
 */
static int inst_ident(struct fs_inst *in)
{
	ipm_map *drop[FS_POOL_MAX];
	struct stat st;
	unsigned n = 0;
	int gone = stat(in->path, &st) < 0 ? errno == ENOENT
					   : !inst_owner_ok(in->fs, st.st_uid, st.st_gid);

	pthread_mutex_lock(&in->mu);
	if (gone) {
		if (in->ino || in->npool)
			n = inst_drop(in, drop);
		in->ino = 0;
	} else if (in->ino != st.st_ino || in->dev != st.st_dev) {
		if (in->ino || atomic_load(&in->gone))
			n = inst_drop(in, drop);
		in->ino = st.st_ino;
		in->dev = st.st_dev;
	}
	if (!gone) {
		in->uid = st.st_uid;
		in->gid = st.st_gid;
		in->mode = st.st_mode & 0777;
	}
	atomic_store(&in->gone, gone);
	pthread_mutex_unlock(&in->mu);
	inst_free_maps(drop, n);
	return gone;
}

static int64_t inst_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* See fs.h. */
int fs_inst_check(struct fs_inst *in)
{
	int64_t now = inst_now(), due = atomic_load_explicit(&in->next_check, memory_order_relaxed);

	/* One thread wins the look; the others go on with what is known. */
	if (now < due || !atomic_compare_exchange_strong(&in->next_check, &due, now + FS_CHECK_NS))
		return atomic_load_explicit(&in->gone, memory_order_relaxed);
	return inst_ident(in);
}

/* See fs.h. */
void fs_inst_attr(struct fs_inst *in, uid_t *uid, gid_t *gid, mode_t *mode)
{
	fs_inst_check(in);
	pthread_mutex_lock(&in->mu);
	*uid = in->uid;
	*gid = in->gid;
	*mode = in->mode;
	pthread_mutex_unlock(&in->mu);
}

/* See fs.h. */
unsigned fs_inst_gen(struct fs_inst *in)
{
	unsigned gen;

	pthread_mutex_lock(&in->mu);
	gen = in->gen;
	pthread_mutex_unlock(&in->mu);
	return gen;
}

/* Why a structure's instance cannot be shown (fs_tree_build() said -EFBIG). */
static const char *inst_toobig(const char *sname)
{
	static __thread char msg[512];

	snprintf(msg, sizeof(msg),
		 "structure '%s' needs more than %u files and directories, the most a mount "
		 "shows (an array of more than %d numbers is one file; arrays of structures "
		 "and strings are not)",
		 sname, FS_MAX_NODES, FS_ARRAY_FILES);
	return msg;
}

/* A listed instance: created if asked, opened once before mounting. */
static int inst_listed(struct fs *fs, const struct fs_inst_conf *ic, char *err, size_t errlen)
{
	const struct fs_config *c = fs->conf;
	struct fs_layout l;
	struct fs_inst *in;
	ipm_map *m;
	int rc;

	m = ipm_map_new(fs->schema);
	if (!m)
		return -ENOMEM;
	if (c->create) {
		rc = ipm_map_open(m, ic->name, ic->tag, IPM_MANAGER, &fs->oopts);
		if (rc < 0)
			goto fail;
		ipm_map_close(m);
	}
	rc = fs_define_listed(fs, ic->name, ic->tag, &l);
	if (rc < 0) {
		ipm_map_free(m);
		snprintf(err, errlen, "%s:%d: no structure '%s' in the schema, and %s", c->path,
			 ic->line, ic->name, l.why);
		fs_define_free(&l);
		return rc;
	}
	rc = inst_add(fs, &l, ic->ro);
	fs_define_free(&l);
	if (rc < 0) {
		ipm_map_free(m);
		snprintf(err, errlen, "%s:%d: %s", c->path, ic->line,
			 rc == -EFBIG ? inst_toobig(ic->name) : strerror(-rc));
		return rc;
	}
	in = fs->insts[fs_ninsts(fs) - 1];
	if (in->schema) {
		ipm_map_free(m);
		m = ipm_map_new(in->schema);
		if (!m)
			return -ENOMEM;
	}
	inst_ident(in); /* before the open: see fs_map_get() */
	rc = ipm_map_open(m, ic->name, ic->tag, in->role, &fs->oopts);
	if (rc < 0)
		goto fail;
	in->pool[in->npool++] = m;
	atomic_fetch_add(&fs->npooled, 1);
	return 0;
fail:
	snprintf(err, errlen, "%s:%d: %s", c->path, ic->line, ipm_map_errmsg(m));
	ipm_map_free(m);
	return rc;
}

/* See fs.h. */
int fs_init(struct fs *fs, struct fs_config *c, int read_only, char *err, size_t errlen)
{
	int rc;

	fs->conf = c;
	fs->read_only = read_only || c->read_only;
	fs->scan = c->ninsts == 0;
	fs->oopts.mmap_dir = c->mmap_dir;
	fs->oopts.lock_dir = c->lock_dir;
	fs->oopts.mode = c->mode;
	fs->oopts.flags |= c->mode_flag; /* managers record it; others ignore it */
	if (c->group) {
		fs->oopts.flags |= IPM_GROUP;
		fs->oopts.gid = c->gid;
	}
	fs->uid = getuid();
	fs->gid = getgid();
	clock_gettime(CLOCK_REALTIME, &fs->start);
	pthread_mutex_init(&fs->scan_mu, NULL);
	pthread_mutex_init(&fs->free_mu, NULL);
	atomic_init(&fs->ninsts, 0);
	atomic_init(&fs->npooled, 0);
	if (!fs->pool_total)
		fs->pool_total = 256;
	fs->insts = calloc(FS_MAX_INST, sizeof(*fs->insts));
	fs->schema = ipm_schema_new();
	fs_poll_init(fs);
	if (fs_attr_init(fs) < 0 || !fs->insts || !fs->schema) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->nschemas; i++) {
		rc = ipm_schema_load_file(fs->schema, c->schemas[i]);
		if (rc < 0) {
			const char *msg = ipm_schema_errmsg(fs->schema);
			size_t pl = strlen(c->schemas[i]);

			/* A message about a line of the schema names it; one about
			 * the file itself (missing, unreadable) gets the line of
			 * the configuration that names the file. */
			if (!strncmp(msg, c->schemas[i], pl) && msg[pl] == ':' &&
			    msg[pl + 1] >= '0' && msg[pl + 1] <= '9')
				snprintf(err, errlen, "%s", msg);
			else
				snprintf(err, errlen, "%s:%d: %s", c->path, c->schema_lines[i],
					 msg);
			return rc;
		}
	}
	for (size_t i = 0; i < c->ninsts; i++) {
		rc = inst_check(fs, i, err, errlen);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < c->ninsts; i++) {
		rc = inst_listed(fs, &c->insts[i], err, errlen);
		if (rc < 0)
			return rc;
	}
	if (fs->scan)
		fs_rescan(fs);
	return 0;
}

/* See fs.h. */
void fs_fini(struct fs *fs)
{
	size_t n = fs->insts ? fs_ninsts(fs) : 0;

	for (size_t i = 0; i < n; i++)
		inst_free(fs->insts[i]);
	free(fs->insts);
	for (size_t i = 0; i < fs->ntrees; i++) {
		fs_tree_free(fs->trees[i]);
		free(fs->trees[i]);
	}
	free(fs->trees);
	ipm_schema_free(fs->schema);
	fs_files_free(fs);
	fs_attr_fini(fs);
	pthread_mutex_destroy(&fs->scan_mu);
	pthread_mutex_destroy(&fs->free_mu);
}

/* A rescan saw the file of in (inode ino) or not (ino 0): what it tells
 * is looked at by the next fs_inst_check(). */
static void inst_scanned(struct fs_inst *in, unsigned serial, ino_t ino)
{
	int stale;

	if (ino) {
		in->scan_seen = serial;
		pthread_mutex_lock(&in->mu);
		stale = in->ino && in->ino != ino;
		pthread_mutex_unlock(&in->mu);
		if (stale || atomic_load(&in->gone)) {
			atomic_store(&in->gone, 0);
			atomic_store(&in->next_check, 0);
		}
	} else if (in->scan_seen != serial && !atomic_load(&in->gone)) {
		atomic_store(&in->gone, 1);
		atomic_store(&in->next_check, 0);
	}
}

/* The instance already shown for the file <base>.mmap, or NULL. */
static struct fs_inst *inst_by_file(struct fs *fs, const char *base)
{
	size_t n = fs_ninsts(fs), bl = strlen(base);

	for (size_t i = 0; i < n; i++) {
		struct fs_inst *in = fs->insts[i];
		size_t sl = strlen(in->sname);

		if (sl < bl && !strncmp(base, in->sname, sl) && base[sl] == '_' &&
		    !strcmp(base + sl + 1, in->tag))
			return in;
	}
	return NULL;
}

/* What ipm_map_open() refuses in a name or tag: '/', "..", control
 * characters. Such a file is not shown. */
static int inst_name_ok(const char *s)
{
	if (strchr(s, '/') || strstr(s, ".."))
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* A file of mmap_dir. */
struct inst_ent {
	char *name; /* its name */
	ino_t ino;  /* its inode */
	uid_t uid;  /* its owner */
	gid_t gid;  /* its group */
};

static int inst_cmp(const void *a, const void *b)
{
	return strcmp(((const struct inst_ent *)a)->name, ((const struct inst_ent *)b)->name);
}

/* The names of mmap_dir ending in .mmap, sorted; NULL if it cannot be read. */
static struct inst_ent *inst_list(const char *dir, size_t *n)
{
	struct inst_ent *v = NULL, *nv;
	size_t cap = 0;
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);

	*n = 0;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l <= 5 || strcmp(de->d_name + l - 5, ".mmap"))
			continue;
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, (cap + 1) * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[*n].name = strdup(de->d_name);
		if (!v[*n].name)
			break;
		v[*n].ino = st.st_ino;
		v[*n].uid = st.st_uid;
		v[*n].gid = st.st_gid;
		(*n)++;
	}
	closedir(d);
	if (!v)
		v = calloc(1, sizeof(*v));
	if (v)
		qsort(v, *n, sizeof(*v), inst_cmp);
	return v;
}

/* One line when the count of files not shown changed, at most once every
 * FS_LOG_NS: another user's files must not fill the log at each lookup. */
static void inst_log_skipped(struct fs *fs, unsigned owner, unsigned full)
{
	int64_t now = fs_now();

	if ((owner == fs->log_owner && full == fs->log_full) ||
	    (fs->log_at && now - fs->log_at < FS_LOG_NS))
		return;
	if (owner != fs->log_owner && owner)
		fprintf(stderr,
			FS_NAME ": %s: %u files not shown: owned by users not in owners = (the "
			"mount's owner and root unless configured)\n",
			fs->conf->mmap_dir, owner);
	if (full != fs->log_full && full)
		fprintf(stderr, FS_NAME ": %s: %u files not shown: a mount shows at most %d instances\n",
			fs->conf->mmap_dir, full, FS_MAX_INST);
	fs->log_owner = owner;
	fs->log_full = full;
	fs->log_at = now;
}

/* See fs.h. */
void fs_rescan(struct fs *fs)
{
	struct timespec now;
	struct fs_inst *in;
	struct stat st;
	unsigned serial;
	struct inst_ent *names;
	char dn[512];
	size_t n;
	unsigned owner = 0, full = 0;
	int rc;

	pthread_mutex_lock(&fs->scan_mu);
	serial = ++fs->scan_serial;
	/* mtime first: a file made during the listing moves it again. One so
	 * recent that another file may still get the same time is not
	 * trusted (a coarse clock stamps it): the next lookup looks again. */
	fs->scan_at = inst_now();
	clock_gettime(CLOCK_REALTIME, &now);
	if (stat(fs->conf->mmap_dir, &st) < 0 ||
	    (now.tv_sec - st.st_mtim.tv_sec) * 1000000000LL + now.tv_nsec - st.st_mtim.tv_nsec <
		FS_RESCAN_FRESH_NS)
		fs->scan_mtim = (struct timespec){-1, -1};
	else
		fs->scan_mtim = st.st_mtim;
	names = inst_list(fs->conf->mmap_dir, &n);
	for (size_t k = 0; k < n; k++) {
		char *base = names[k].name;
		struct fs_layout l;

		base[strlen(base) - 5] = '\0';
		if (!inst_name_ok(base))
			continue;
		if (!inst_owner_ok(fs, names[k].uid, names[k].gid)) {
			owner++;
			continue;
		}
		in = inst_by_file(fs, base);
		if (in) {
			inst_scanned(in, serial, names[k].ino);
			continue;
		}
		/* New: the schema's structure, its stored definition, or its
		 * bytes (define.c), looked for once. */
		if (fs_define_file(fs, base, &l) < 0)
			continue;
		/* The directory is the file's name without .mmap and without
		 * the "_" of an empty tag. */
		snprintf(dn, sizeof(dn), "%s%s%s", l.sname, *l.tag ? "_" : "", l.tag);
		in = fs_inst_find(fs, dn, NULL);
		if (in) {
			/* Struct A tag B and struct A_B without a tag both make
			 * A_B: the one seen first is shown (of files there at
			 * the same rescan, the name that sorts first). */
			if (!in->clashed)
				fprintf(stderr,
					FS_NAME ": %s/%s.mmap: not shown: directory %s already "
						"shows %s\n",
					fs->conf->mmap_dir, base, dn, in->path);
			in->clashed = 1;
		} else if ((rc = inst_add(fs, &l, 0)) == -ENFILE) {
			full++;
		} else if (rc < 0 && !fs->log_other) {
			fprintf(stderr, FS_NAME ": cannot show %s/%s.mmap: %s\n", fs->conf->mmap_dir,
				base, rc == -EFBIG ? inst_toobig(l.sname) : strerror(-rc));
			fs->log_other = 1; /* once: a structure too big stays so */
		}
		fs_define_free(&l);
	}
	inst_log_skipped(fs, owner, full);
	if (names) {
		/* The files not seen are gone; only after a whole listing. */
		for (size_t i = 0; i < fs_ninsts(fs); i++)
			inst_scanned(fs->insts[i], serial, 0);
		for (size_t k = 0; k < n; k++)
			free(names[k].name);
		free(names);
	}
	pthread_mutex_unlock(&fs->scan_mu);
}

/* See fs.h. */
void fs_rescan_lookup(struct fs *fs)
{
	struct stat st;
	int64_t now = inst_now();
	int due;

	if (stat(fs->conf->mmap_dir, &st) < 0)
		memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&fs->scan_mu);
	due = now - fs->scan_at >= FS_CHECK_NS || st.st_mtim.tv_sec != fs->scan_mtim.tv_sec ||
	      st.st_mtim.tv_nsec != fs->scan_mtim.tv_nsec;
	pthread_mutex_unlock(&fs->scan_mu);
	if (due)
		fs_rescan(fs);
}

/* See fs.h. */
int fs_map_get(struct fs_inst *in, ipm_map **out, unsigned *gen)
{
	ipm_map *m = NULL;
	int rc;

	pthread_mutex_lock(&in->mu);
	if (in->npool) {
		m = in->pool[--in->npool];
		atomic_fetch_sub_explicit(&in->fs->npooled, 1, memory_order_relaxed);
	}
	*gen = in->gen;
	pthread_mutex_unlock(&in->mu);
	if (m) {
		*out = m;
		return 0;
	}
	/* A stored definition that cannot be trusted: never opened. */
	if (in->def == FS_DEF_BAD) {
		pthread_mutex_lock(&in->mu);
		if (!in->warned)
			fprintf(stderr, FS_NAME ": %s: %s\n", in->dirname, in->defmsg);
		in->warned = 1;
		snprintf(in->errmsg, sizeof(in->errmsg), "%s", in->defmsg);
		pthread_mutex_unlock(&in->mu);
		return -EIO;
	}
	m = ipm_map_new(in->schema ? in->schema : in->fs->schema);
	if (!m)
		return -ENOMEM;
	/* Opening costs a dozen system calls: one more tells which file. */
	inst_ident(in);
	*gen = fs_inst_gen(in);
	rc = ipm_map_open(m, in->sname, in->tag, in->role, &in->fs->oopts);
	if (rc < 0) {
		/* A damaged or vanished file: EIO for this instance only,
		 * and one message until it opens again. */
		pthread_mutex_lock(&in->mu);
		if (!in->warned)
			fprintf(stderr, FS_NAME ": %s: %s\n", in->dirname, ipm_map_errmsg(m));
		in->warned = 1;
		snprintf(in->errmsg, sizeof(in->errmsg), "%s", ipm_map_errmsg(m));
		pthread_mutex_unlock(&in->mu);
		ipm_map_free(m);
		return rc == -ENOMEM ? rc : -EIO;
	}
	pthread_mutex_lock(&in->mu);
	in->warned = 0;
	in->errmsg[0] = '\0';
	pthread_mutex_unlock(&in->mu);
	*out = m;
	return 0;
}

/* See fs.h. */
void fs_map_put(struct fs_inst *in, ipm_map *m, unsigned gen)
{
	if (ipm_lock_held(m))
		ipm_unlock(m);
	pthread_mutex_lock(&in->mu);
	if (in->npool < FS_POOL_MAX && gen == in->gen) {
		/* The total is bounded too: scan mode may show thousands. */
		if (atomic_fetch_add_explicit(&in->fs->npooled, 1, memory_order_relaxed) <
		    in->fs->pool_total) {
			in->pool[in->npool++] = m;
			m = NULL;
		} else {
			atomic_fetch_sub_explicit(&in->fs->npooled, 1, memory_order_relaxed);
		}
	}
	pthread_mutex_unlock(&in->mu);
	ipm_map_free(m);
}

/* fs_acquire(), and on failure the handle's message in why (whylen bytes)
 * when why is not NULL: "" when the lock is only busy. */
int fs_acquire_why(struct fs_inst *in, int write, struct fs_lk *lk, char *why, size_t whylen)
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
	if (rc < 0) {
		if (why) {
			pthread_mutex_lock(&in->mu);
			snprintf(why, whylen, "%s", in->errmsg[0] ? in->errmsg : strerror(-rc));
			pthread_mutex_unlock(&in->mu);
		}
		return rc;
	}
	lk->borrowed = 0;
	rc = write ? ipm_lock_write(lk->m, 0) : ipm_lock_read(lk->m, 0);
	if (rc == 0)
		return 0;
	if (why)
		snprintf(why, whylen, "%s", ipm_map_errmsg(lk->m));
	fs_map_put(in, lk->m, lk->gen);
	return rc == -EAGAIN || rc == -ETIMEDOUT || rc == -EINTR ? FS_PARK : rc;
}

/* See fs.h. */
int fs_acquire(struct fs_inst *in, int write, struct fs_lk *lk)
{
	return fs_acquire_why(in, write, lk, NULL, 0);
}

/* See fs.h. */
void fs_release(struct fs_inst *in, struct fs_lk *lk)
{
	if (!lk->borrowed)
		fs_map_put(in, lk->m, lk->gen); /* unlocks */
}
