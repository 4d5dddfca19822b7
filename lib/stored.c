/*
 * stored.c - the file <lock_dir>/<name>_<tag>.schema that holds an
 * instance's definition: written by a manager, read with limits by anyone
 * without a schema of their own, compared by everyone with one. See
 * ipmmap.h, "Stored definitions"; the text itself is describe.c's.
 *
 * Why a file beside the lock file, and not inside it: Python IPMMAP only
 * ever opens its lock file and the .mmap, so a file of another name is
 * invisible to it, and the lock file's layout stays the lock layer's alone.
 *
 * When: a manager writes it under the write lock and before the .mmap file
 * appears under its name (map.c calls ipm_stored_put() before it makes the
 * file), so whoever sees a new .mmap made by this library finds its
 * definition already there. It is written under a temporary name and
 * renamed into place, so a reader sees the old text or the new, whole.
 */
#include "ipmmap_i.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What the file of an instance held, for ipm_stored_put(). */
enum stored_state {
	STORED_SAME = 0,       /* a definition of the same layout */
	STORED_NONE = 1,       /* no file */
	STORED_BAD = 2,	       /* a file that is no good (m->err says why) */
	STORED_UNREADABLE = 3, /* a file we may not read (m->err says why) */
};

/* "<dir>/<base><ext>", without doubling the directory's slash; NULL if out
 * of memory. */
static char *side_path(const char *dir, const char *base, const char *ext)
{
	size_t dl = strlen(dir);
	char *p;

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	if (asprintf(&p, "%.*s%s%s%s", (int)dl, dir, dir[dl - 1] == '/' ? "" : "/", base, ext) < 0)
		return NULL;
	return p;
}

/* The whole file at path, at most IPM_DEFINITION_MAX bytes, into *text
 * (malloc()ed, NUL-terminated) and *len: 0, -ENOENT, -EFBIG, -EINVAL (not a
 * regular file), -ELOOP (a symbolic link) or the system's error, with err. */
static int read_text(const char *path, char **text, size_t *len, char *err)
{
	struct stat st;
	size_t n = 0;
	char *buf;
	int fd, rc = 0;

	*text = NULL;
	fd = open(path, O_RDONLY | IPM_SAFE_OPEN);
	if (fd < 0)
		return ipm_open_failed(err, "", path);
	if (fstat(fd, &st) < 0) {
		rc = ipm_errf(err, -errno, "cannot stat %s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		rc = ipm_errf(err, -EINVAL, "%s: not a regular file", path);
	} else if (st.st_size > IPM_DEFINITION_MAX) {
		rc = ipm_errf(err, -EFBIG, "%s: too large (%lld bytes, at most %d)", path,
			      (long long)st.st_size, IPM_DEFINITION_MAX);
	}
	if (rc < 0)
		goto out;
	/* One byte more than allowed: a file that grew since fstat() shows. */
	buf = malloc(IPM_DEFINITION_MAX + 2);
	if (!buf) {
		rc = ipm_errf(err, -ENOMEM, "out of memory");
		goto out;
	}
	while (n <= IPM_DEFINITION_MAX) {
		ssize_t r = read(fd, buf + n, IPM_DEFINITION_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = ipm_errf(err, -errno, "cannot read %s: %s", path, strerror(errno));
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (rc == 0 && n > IPM_DEFINITION_MAX)
		rc = ipm_errf(err, -EFBIG, "%s: too large (more than %d bytes)", path,
			      IPM_DEFINITION_MAX);
	if (rc < 0) {
		free(buf);
		goto out;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
out:
	close(fd);
	return rc;
}

/* A part of a file name: kept inside its directory, as map.c keeps it. */
static int check_base(const char *base, char *err)
{
	char q[IPM_QUOTE_LEN];

	if (!*base || strchr(base, '/') || strstr(base, ".."))
		return ipm_errf(err, -EINVAL, "bad instance name '%s'",
				ipm_quote(base, strlen(base), q));
	for (const char *p = base; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return ipm_errf(err, -EINVAL, "bad instance name '%s'",
					ipm_quote(base, strlen(base), q));
	return 0;
}

/* See ipmmap.h. */
int ipm_definition_read(const char *name, const char *tag, const struct ipm_open_opts *opts,
			ipm_schema **schema, const ipm_type **type, char err[IPM_ERRLEN])
{
	const char *mdir =
	    opts && opts->mmap_dir && *opts->mmap_dir ? opts->mmap_dir : IPM_DEFAULT_MMAP_DIR;
	const char *ldir =
	    opts && opts->lock_dir && *opts->lock_dir ? opts->lock_dir : IPM_DEFAULT_LOCK_DIR;
	char *base = NULL, *mpath = NULL, *spath = NULL, *text = NULL;
	size_t len = 0, sl;
	struct stat st;
	int rc;

	if (!schema || !type || !name)
		return ipm_errf(err, -EINVAL, "nothing to read");
	*schema = NULL;
	*type = NULL;
	if (tag ? asprintf(&base, "%s_%s", name, tag) < 0 : !(base = strdup(name)))
		return ipm_errf(err, -ENOMEM, "out of memory");
	rc = check_base(base, err);
	if (rc < 0)
		goto out;
	mpath = side_path(mdir, base, ".mmap");
	spath = side_path(ldir, base, ".schema");
	if (!mpath || !spath) {
		rc = ipm_errf(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (stat(mpath, &st) < 0) {
		rc = ipm_errf(err, -errno, "cannot open %s: %s", mpath, strerror(errno));
		goto out;
	}
	rc = read_text(spath, &text, &len, err);
	if (rc == -ENOENT) {
		ipm_errf(err, rc,
			 "no stored definition %s (made by Python IPMMAP or an older libipmmap: "
			 "give a schema)",
			 spath);
		goto out;
	}
	if (rc == -EFBIG || rc == -EINVAL || rc == -ELOOP)
		rc = -EIO; /* err says why */
	if (rc < 0)
		goto out;
	rc = ipm_definition_parse(text, len, spath, tag ? name : NULL, (size_t)st.st_size, schema,
				  type, err);
	if (rc < 0 && rc != -ENOMEM)
		rc = -EIO;
	if (rc == 0 && !tag) {
		sl = strlen(ipm_type_name(*type));
		if (strncmp(base, ipm_type_name(*type), sl) || base[sl] != '_') {
			rc = ipm_errf(err, -EIO, "%s: describes structure '%s', not of file %s",
				      spath, ipm_type_name(*type), mpath);
			ipm_schema_free(*schema);
			*schema = NULL;
			*type = NULL;
		}
	}
out:
	free(text);
	free(base);
	free(mpath);
	free(spath);
	return rc;
}

/* What the file at spath holds, compared with t (see enum stored_state),
 * or -EINVAL with m->err naming the first field that differs. whole: read
 * all of it even when its header tells the same layout (a manager, which
 * puts a damaged one right). */
static int stored_compare(ipm_map *m, const ipm_type *t, const char *spath, bool whole)
{
	char why[IPM_ERRLEN], *text;
	struct ipm_defhead h;
	const ipm_type *st;
	ipm_schema *s;
	size_t len;
	int rc;

	rc = read_text(spath, &text, &len, why);
	if (rc == -ENOENT)
		return STORED_NONE;
	if (rc == -EACCES || rc == -ENOMEM) {
		ipm_errf(m->err, 0, "stored definition not compared: %s", why);
		return STORED_UNREADABLE;
	}
	if (rc < 0)
		goto bad;
	/* The common case costs no parse: the same layout, by its header. */
	rc = ipm_defhead_parse(text, len, spath, &h, why);
	if (rc == 0 && !whole && h.fingerprint == ipm_type_fingerprint(t) &&
	    h.size == ipm_type_size(t)) {
		free(text);
		return STORED_SAME;
	}
	if (rc == 0)
		rc = ipm_definition_parse(text, len, spath, NULL, 0, &s, &st, why);
	free(text);
	if (rc < 0)
		goto bad;
	rc = ipm_type_differ(t, st, why, sizeof(why));
	ipm_schema_free(s);
	if (rc)
		return ipm_errf(m->err, -EINVAL,
				"structure '%s' differs from its stored definition %s: %s",
				ipm_type_name(t), spath, why);
	return STORED_SAME;
bad:
	ipm_errf(m->err, 0, "stored definition not used: %s", why);
	return STORED_BAD;
}

/* Writes text to spath through a temporary file in dir, with mode and
 * (with group set) group gid: 0, or a negative errno with why. */
static int write_text(const char *dir, const char *base, const char *spath, const char *text,
		      size_t len, mode_t mode, int group, gid_t gid, char *why)
{
	char *hidden = NULL, *tmp = NULL;
	size_t done = 0;
	int fd, rc = 0;

	/* ".<base>.XXXXXX": hidden, and never taken for a lock or .mmap file. */
	if (asprintf(&hidden, ".%s", base) >= 0)
		tmp = side_path(dir, hidden, ".XXXXXX");
	free(hidden);
	if (!tmp)
		return ipm_errf(why, -ENOMEM, "out of memory");
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = ipm_errf(why, -errno, "cannot create %s: %s", tmp, strerror(errno));
		free(tmp);
		return rc;
	}
	/* group 2: the group asked for; 1: the instance's, if we may give it. */
	if (fchmod(fd, mode) < 0 || (group && fchown(fd, (uid_t)-1, gid) < 0 && group == 2))
		rc = ipm_errf(why, -errno, "cannot set the mode or group of %s: %s", tmp,
			      strerror(errno));
	while (rc == 0 && done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = ipm_errf(why, n < 0 ? -errno : -EIO, "cannot write %s: %s", tmp,
				      n < 0 ? strerror(errno) : "short write");
		else
			done += (size_t)n;
	}
	if (close(fd) < 0 && rc == 0)
		rc = ipm_errf(why, -errno, "cannot write %s: %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, spath) < 0)
		rc = ipm_errf(why, -errno, "cannot rename %s to %s: %s", tmp, spath,
			      strerror(errno));
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* See ipmmap_i.h. */
int ipm_stored_put(ipm_map *m, const struct ipm_type *t, const char *name, const char *tag,
		   const char *path, const char *lock_dir, const struct ipm_open_opts *o)
{
	bool exists, kept;
	char why[IPM_ERRLEN], *base = NULL, *spath = NULL, *text = NULL;
	struct stat st;
	mode_t mode;
	gid_t gid;
	int rc = 0, len, group;

	exists = stat(path, &st) == 0;
	kept = exists && (size_t)st.st_size == ipm_type_size(t) && !(o->flags & IPM_FORCE);
	/* A file of another size is refused by the manager, unless forced. */
	if (exists && !kept && !(o->flags & IPM_FORCE))
		return 0;
	if (asprintf(&base, "%s_%s", name, tag) < 0 ||
	    !(spath = side_path(lock_dir, base, ".schema"))) {
		free(base);
		return ipm_errf(m->err, -ENOMEM, "out of memory");
	}
	if (kept) {
		rc = stored_compare(m, t, spath, true);
		if (rc == -EINVAL) {
			size_t l = strlen(m->err);

			snprintf(m->err + l, sizeof(m->err) - l,
				 " (force re-creates the file, and its bytes are lost)");
		}
		if (rc < 0 || rc == STORED_SAME || rc == STORED_UNREADABLE)
			goto out;
		/* None or a damaged one: the manager's is the truth. Its file
		 * already has its mode and group: the definition gets them. */
		mode = st.st_mode & 07777;
		group = 1;
		gid = st.st_gid;
	} else {
		mode = o->mode ? o->mode & 07777 : IPM_DEFAULT_MODE;
		group = o->flags & IPM_GROUP ? 2 : 0;
		gid = o->gid;
	}
	rc = 0;
	len = ipm_type_describe(t, &text, why);
	if (len >= 0 &&
	    write_text(lock_dir, base, spath, text, (size_t)len, mode, group, gid, why) == 0)
		m->err[0] = '\0';
	else
		ipm_errf(m->err, 0, "definition not stored: %s", why);
out:
	free(text);
	free(base);
	free(spath);
	return rc < 0 ? rc : 0;
}

/* See ipmmap_i.h. */
int ipm_stored_check(ipm_map *m, const struct ipm_type *t, const char *name, const char *tag,
		     const char *lock_dir)
{
	char *base = NULL, *spath;
	int rc;

	if (asprintf(&base, "%s_%s", name, tag) < 0)
		return ipm_errf(m->err, -ENOMEM, "out of memory");
	spath = side_path(lock_dir, base, ".schema");
	free(base);
	if (!spath)
		return ipm_errf(m->err, -ENOMEM, "out of memory");
	rc = stored_compare(m, t, spath, false);
	free(spath);
	return rc < 0 ? rc : 0;
}

/* See ipmmap.h. */
int ipm_map_open_described(ipm_map *m, const char *name, const char *tag, enum ipm_role role,
			   const struct ipm_open_opts *opts)
{
	const ipm_schema *mine;
	const ipm_type *t;
	ipm_schema *s;
	int rc;

	if (!m)
		return -EINVAL;
	/* Its own structure, a bad name or a busy handle: as ipm_map_open(). */
	if (m->type || !name || !*name || (m->schema && ipm_schema_find(m->schema, name)))
		return ipm_map_open(m, name, tag, role, opts);
	m->err[0] = '\0';
	rc = ipm_definition_read(name, tag ? tag : "", opts, &s, &t, m->err);
	if (rc < 0)
		return rc;
	mine = m->schema;
	m->schema = s;
	rc = ipm_map_open(m, name, tag, role, opts);
	m->schema = mine;
	if (rc < 0) {
		ipm_schema_free(s);
		return rc;
	}
	ipm_schema_free(m->own);
	m->own = s;
	return 0;
}
