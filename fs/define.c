/*
 * define.c - what layout an instance is shown with: a structure of the
 * configured schema, else the definition its manager stored beside the lock
 * file (ipm_definition_read()), else its bytes alone.
 *
 *   $ cd /srv/app && ipmmapfs /mnt/shared        # no configuration at all
 *   $ ls -A /mnt/shared/DemoMmapStructure        # a stored definition
 *   .raw  .status  .values  data_int  data_string  data_xy  header  multi_pts
 *   $ ls -A /mnt/shared/PyOnly                   # made by Python IPMMAP
 *   .raw  .status
 *   $ grep definition /mnt/shared/PyOnly/.status
 *   definition = none (no stored definition ...: give a schema)
 *
 * An instance without a definition is shown through a structure made up
 * for it, MmapStructureHeader and then its bytes, so that .raw is read
 * under the read lock and every check of the library, like any other. One
 * whose stored definition cannot be trusted (damaged, cut, too large, of
 * another size than the file) is shown with .raw and .status too, and
 * answers EIO: .status says why. The layout is chosen once, when the mount
 * first sees the instance: a definition stored or changed later shows after
 * a remount (a handle then finds a different definition and fails, with
 * the field that differs in .status).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"

/* See fs.h. */
const ipm_type *fs_define_match(struct fs *fs, const char *base, size_t *len)
{
	const ipm_type *best = NULL;
	size_t n = ipm_schema_count(fs->schema), bl = 0;

	/* The longest "<Struct>_" prefix: "A_B_c" is A_B with tag c when
	 * both A and A_B exist. */
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

/* The bytes alone: MmapStructureHeader, then uint8[size - 16]. Every file
 * of a ctypes structure has a multiple of 8 bytes (the header's double). */
static int define_raw(struct fs_layout *l, off_t size)
{
	char text[256];

	if (size < 16 || size % 8 || (uint64_t)size > (1u << 30)) {
		snprintf(l->why + strlen(l->why), sizeof(l->why) - strlen(l->why),
			 "; and its size, %lld, cannot be a mappable structure's", (long long)size);
		return -EIO;
	}
	snprintf(text, sizeof(text), "[%s]\nheader = " IPM_HEADER_STRUCT "\n%s%lld%s", l->sname,
		 size > 16 ? "bytes = uint8[" : ";", (long long)size - 16,
		 size > 16 ? "]\n" : "\n");
	l->schema = ipm_schema_new();
	if (!l->schema)
		return -ENOMEM;
	if (ipm_schema_load_string(l->schema, text, l->sname) < 0) {
		snprintf(l->why + strlen(l->why), sizeof(l->why) - strlen(l->why),
			 "; and its name cannot be shown raw: %s", ipm_schema_errmsg(l->schema));
		ipm_schema_free(l->schema);
		l->schema = NULL;
		return -EIO;
	}
	l->type = ipm_schema_find(l->schema, l->sname);
	return 0;
}

/* Structure name and tag of a file without a definition: split at its
 * last '_' (any split names the same files). */
static int define_split(struct fs_layout *l, const char *base)
{
	const char *us = strrchr(base, '_');

	if (!us)
		return -ENOENT; /* not "<Struct>_<tag>": not an instance */
	l->sname = strndup(base, (size_t)(us - base));
	l->tag = strdup(us + 1);
	return l->sname && l->tag ? 0 : -ENOMEM;
}

/* See fs.h. */
int fs_define_file(struct fs *fs, const char *base, struct fs_layout *l)
{
	const ipm_type *t;
	struct stat st;
	size_t sl;
	char path[4096];
	int rc, found;

	memset(l, 0, sizeof(*l));
	t = fs_define_match(fs, base, &sl);
	if (t) {
		l->def = FS_DEF_SCHEMA;
		l->type = t;
		l->sname = strndup(base, sl);
		l->tag = strdup(base + sl + 1);
		return l->sname && l->tag ? 0 : -ENOMEM;
	}
	rc = ipm_definition_read(base, NULL, &fs->oopts, &l->schema, &t, l->why);
	if (rc == 0) {
		sl = strlen(ipm_type_name(t));
		l->def = FS_DEF_STORED;
		l->type = t;
		l->sname = strdup(ipm_type_name(t));
		l->tag = strdup(base + sl + 1);
		snprintf(l->why, sizeof(l->why), "%s/%s.schema", fs->conf->lock_dir, base);
		return l->sname && l->tag ? 0 : -ENOMEM;
	}
	if (rc == -ENOMEM)
		return rc;
	found = rc != -ENOENT;
	rc = define_split(l, base);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/%s.mmap", fs->conf->mmap_dir, base);
	if (!found && stat(path, &st) == 0) {
		l->def = FS_DEF_RAW;
		rc = define_raw(l, st.st_size);
		if (rc == 0 || rc == -ENOMEM)
			return rc;
	}
	/* Damaged, or not even raw: shown, but refused (EIO). */
	l->def = FS_DEF_BAD;
	l->type = ipm_schema_find(fs->schema, IPM_HEADER_STRUCT);
	return 0;
}

/* See fs.h. */
int fs_define_listed(struct fs *fs, const char *name, const char *tag, struct fs_layout *l)
{
	const ipm_type *t = ipm_schema_find(fs->schema, name);
	int rc;

	memset(l, 0, sizeof(*l));
	l->sname = strdup(name);
	l->tag = strdup(tag);
	if (!l->sname || !l->tag)
		return -ENOMEM;
	if (t) {
		l->def = FS_DEF_SCHEMA;
		l->type = t;
		return 0;
	}
	rc = ipm_definition_read(name, tag, &fs->oopts, &l->schema, &l->type, l->why);
	if (rc == 0) {
		l->def = FS_DEF_STORED;
		snprintf(l->why, sizeof(l->why), "%s/%s_%s.schema", fs->conf->lock_dir, name, tag);
	}
	return rc;
}

/* See fs.h. */
void fs_define_free(struct fs_layout *l)
{
	free(l->sname);
	free(l->tag);
	ipm_schema_free(l->schema);
	memset(l, 0, sizeof(*l));
}
