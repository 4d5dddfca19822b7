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
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"

static const struct fs_tree *inst_tree(struct fs *fs, const ipm_type *type)
{
	struct fs_tree **trees, *t;

	for (size_t i = 0; i < fs->ntrees; i++)
		if (fs->trees[i]->type == type)
			return fs->trees[i];
	trees = realloc(fs->trees, (fs->ntrees + 1) * sizeof(*trees));
	if (!trees)
		return NULL;
	fs->trees = trees;
	t = malloc(sizeof(*t));
	if (!t || fs_tree_build(t, type) < 0) {
		free(t);
		return NULL;
	}
	fs->trees[fs->ntrees++] = t;
	return t;
}

/* Registers an instance; the caller holds scan_mu or runs before the loop. */
static int inst_add(struct fs *fs, const char *sname, const char *tag, int ro)
{
	const ipm_type *type = ipm_schema_find(fs->schema, sname);
	size_t n = fs_ninsts(fs);
	struct fs_inst *in;

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
	in->tree = inst_tree(fs, type);
	in->ro = ro || fs->read_only;
	in->role = in->ro ? IPM_READER : IPM_EDITOR;
	if (!in->sname || !in->tag || !in->dirname || !in->tree) {
		free(in->sname);
		free(in->tag);
		free(in->dirname);
		free(in);
		return -ENOMEM;
	}
	pthread_mutex_init(&in->mu, NULL);
	fs->insts[n] = in;
	atomic_store_explicit(&fs->ninsts, n + 1, memory_order_release);
	return 0;
}

static void inst_free(struct fs_inst *in)
{
	for (unsigned i = 0; i < in->npool; i++)
		ipm_map_free(in->pool[i]);
	pthread_mutex_destroy(&in->mu);
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

	if (!type) {
		snprintf(err, errlen, "%s:%d: no structure '%s' in the schema", c->path, ic->line,
			 ic->name);
		return -ENOENT;
	}
	if (!ipm_type_mappable(type)) {
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

/* A listed instance: created if asked, opened once before mounting. */
static int inst_listed(struct fs *fs, const struct fs_inst_conf *ic, char *err, size_t errlen)
{
	const struct fs_config *c = fs->conf;
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
	rc = inst_add(fs, ic->name, ic->tag, ic->ro);
	if (rc < 0) {
		ipm_map_free(m);
		snprintf(err, errlen, "%s:%d: %s", c->path, ic->line, strerror(-rc));
		return rc;
	}
	in = fs->insts[fs_ninsts(fs) - 1];
	rc = ipm_map_open(m, ic->name, ic->tag, in->role, &fs->oopts);
	if (rc < 0)
		goto fail;
	in->pool[in->npool++] = m;
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
	fs->uid = getuid();
	fs->gid = getgid();
	clock_gettime(CLOCK_REALTIME, &fs->start);
	pthread_mutex_init(&fs->scan_mu, NULL);
	pthread_mutex_init(&fs->free_mu, NULL);
	atomic_init(&fs->ninsts, 0);
	fs->insts = calloc(FS_MAX_INST, sizeof(*fs->insts));
	fs->schema = ipm_schema_new();
	if (!fs->insts || !fs->schema) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->nschemas; i++) {
		rc = ipm_schema_load_file(fs->schema, c->schemas[i]);
		if (rc < 0) {
			snprintf(err, errlen, "%s", ipm_schema_errmsg(fs->schema));
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
	fs_handles_free(fs);
	pthread_mutex_destroy(&fs->scan_mu);
	pthread_mutex_destroy(&fs->free_mu);
}

/* The mappable structure whose name is the longest "<Struct>_" prefix of
 * base: "A_B_c" is A_B with tag c when both A and A_B exist. */
static const ipm_type *inst_match(struct fs *fs, const char *base, size_t *len)
{
	const ipm_type *best = NULL;
	size_t n = ipm_schema_count(fs->schema), bl = 0;

	for (size_t i = 0; i < n; i++) {
		const ipm_type *t = ipm_schema_at(fs->schema, i);
		const char *name = ipm_type_name(t);
		size_t l = strlen(name);

		if (l > bl && !strncmp(base, name, l) && base[l] == '_' && ipm_type_mappable(t)) {
			best = t;
			bl = l;
		}
	}
	*len = bl;
	return best;
}

/* See fs.h. */
void fs_rescan(struct fs *fs)
{
	struct dirent *de;
	DIR *d;

	pthread_mutex_lock(&fs->scan_mu);
	d = opendir(fs->conf->mmap_dir);
	while (d && (de = readdir(d))) {
		size_t l = strlen(de->d_name), sl;
		const ipm_type *t;
		char *base, *dirname;

		if (l <= 5 || strcmp(de->d_name + l - 5, ".mmap"))
			continue;
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		base = strndup(de->d_name, l - 5);
		if (!base)
			break;
		t = inst_match(fs, base, &sl);
		if (t) {
			/* The directory is the file's name without .mmap and
			 * without the "_" of an empty tag. */
			dirname = base;
			if (!base[sl + 1])
				base[sl] = '\0';
			if (!fs_inst_find(fs, dirname, NULL)) {
				base[sl] = '\0';
				if (inst_add(fs, base, base + sl + 1, 0) < 0)
					fprintf(stderr, FS_NAME ": cannot show %s\n", de->d_name);
			}
		}
		free(base);
	}
	if (d)
		closedir(d);
	pthread_mutex_unlock(&fs->scan_mu);
}

/* See fs.h. */
int fs_map_get(struct fs_inst *in, ipm_map **out)
{
	ipm_map *m = NULL;
	int rc;

	pthread_mutex_lock(&in->mu);
	if (in->npool)
		m = in->pool[--in->npool];
	pthread_mutex_unlock(&in->mu);
	if (m) {
		*out = m;
		return 0;
	}
	m = ipm_map_new(in->fs->schema);
	if (!m)
		return -ENOMEM;
	rc = ipm_map_open(m, in->sname, in->tag, in->role, &in->fs->oopts);
	if (rc < 0) {
		/* A damaged or vanished file: EIO for this instance only,
		 * and one message until it opens again. */
		pthread_mutex_lock(&in->mu);
		if (!in->warned)
			fprintf(stderr, FS_NAME ": %s: %s\n", in->dirname, ipm_map_errmsg(m));
		in->warned = 1;
		pthread_mutex_unlock(&in->mu);
		ipm_map_free(m);
		return rc == -ENOMEM ? rc : -EIO;
	}
	pthread_mutex_lock(&in->mu);
	in->warned = 0;
	pthread_mutex_unlock(&in->mu);
	*out = m;
	return 0;
}

/* See fs.h. */
void fs_map_put(struct fs_inst *in, ipm_map *m)
{
	if (ipm_lock_held(m))
		ipm_unlock(m);
	pthread_mutex_lock(&in->mu);
	if (in->npool < FS_POOL_MAX) {
		in->pool[in->npool++] = m;
		m = NULL;
	}
	pthread_mutex_unlock(&in->mu);
	ipm_map_free(m);
}
