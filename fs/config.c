/*
 * config.c - the ipmmapfs configuration file.
 *
 *   [ipmmapfs]
 *   schema    = demo.ini              ; repeatable, loaded in order
 *   mmap_dir  = .mmap                 ; default: .mmap next to this file
 *   lock_dir  = .fasteners            ; default: .fasteners next to this file
 *   create    = no                    ; yes: manager, creates listed instances
 *   read_only = no                    ; yes: every file 0444, reader locks only
 *   native    = yes                   ; with create: the instances' mode (ipmmap.h)
 *   mode      = 0640                  ; files the mount makes (default 0600)
 *   group     = staff                 ; ... and their group (name or number)
 *   instance  = DemoMmapStructure     ; repeatable: Name, Name:tag, "Name:tag ro"
 *   owners    = alice 1001 @ipm       ; scan mode: whose files are shown (users,
 *                                     ; @groups, or any; default: the mount's
 *                                     ; owner and root)
 *
 * Relative paths are relative to the directory of the configuration file
 * (not to the working directory, which fuse_daemonize() changes to /).
 * Without instance lines every <Struct>_<tag>.mmap of mmap_dir is shown, and
 * mmap_dir must then be a directory that can be read.
 * Every key is optional, schema too: instances are then shown with the
 * definitions their managers stored (define.c). Without any configuration
 * file, fs_config_default() gives what the library's defaults give, from
 * the working directory.
 * Every error is "file:line: what is wrong"; the first one wins.
 *
 * The file is read as ipmmap-bridge's is, by common/cfgfile.c: through the
 * library's bounded line reader (ipm_lines_*, as schemas are), which counts
 * the lines for inih and refuses a line inih would cut in two, a file over
 * IPM_TEXT_MAX, and a file without end (/dev/zero).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cfgfile.h"
#include "fs.h"

struct cfg_parse {
	struct cfg_file cf;  /* the file (common/cfgfile.h) */
	struct fs_config *c; /* being filled */
	int mmap_line;	     /* line of mmap_dir =, 0 if none yet */
	int lock_line;	     /* line of lock_dir =, 0 if none yet */
	int ro_line;	     /* line of read_only =, 0 if none yet */
	int native_line;     /* line of native =, 0 if none yet */
	int mode_line;	     /* line of mode =, 0 if none yet */
	int group_line;	     /* line of group =, 0 if none yet */
};

static int cfg_bool(const char *v)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i]))
			return 1;
		if (!strcasecmp(v, no[i]))
			return 0;
	}
	return -1;
}

static int cfg_instance(struct cfg_parse *p, const char *v)
{
	struct fs_config *c = p->c;
	char name[256], flag[16], extra[2];
	struct fs_inst_conf *ic, *n;
	char *colon;
	int k;

	k = sscanf(v, "%255s %15s %1s", name, flag, extra);
	if (k < 1 || strlen(v) > 250)
		return cfg_fail(&p->cf, -EINVAL,
				"bad instance '%s': expected Name, Name:tag or 'Name:tag ro'", v);
	if (k == 3 || (k == 2 && strcmp(flag, "ro")))
		return cfg_fail(&p->cf, -EINVAL,
				"bad instance '%s': only the flag 'ro' may follow the name", v);
	colon = strchr(name, ':');
	if (colon)
		*colon = '\0';
	if (!name[0])
		return cfg_fail(&p->cf, -EINVAL, "bad instance '%s': no structure name", v);
	n = realloc(c->insts, (c->ninsts + 1) * sizeof(*n));
	if (!n)
		return cfg_fail(&p->cf, -ENOMEM, "out of memory");
	c->insts = n;
	ic = &c->insts[c->ninsts];
	ic->name = strdup(name);
	ic->tag = strdup(colon ? colon + 1 : "");
	ic->ro = k == 2;
	ic->line = p->cf.line;
	c->ninsts++;
	if (!ic->name || !ic->tag)
		return cfg_fail(&p->cf, -ENOMEM, "out of memory");
	return 1;
}

static int cfg_dir(struct cfg_parse *p, char **dst, int *seen, const char *key, const char *v)
{
	if (*seen)
		return cfg_fail(&p->cf, -EINVAL, "%s given twice", key);
	*seen = p->cf.line;
	if (!*v)
		return cfg_fail(&p->cf, -EINVAL, "%s is empty", key);
	*dst = cfg_path(&p->cf, v);
	if (!*dst)
		return cfg_fail(&p->cf, -ENOMEM, "out of memory");
	return 1;
}

/* mode = 0640: octal, at most 0777, and the owner must keep read and write
 * (the library opens its files read-write). */
static int cfg_mode(struct cfg_parse *p, const char *v)
{
	unsigned long m = 0;
	const char *q;

	if (p->mode_line)
		return cfg_fail(&p->cf, -EINVAL, "mode given twice");
	p->mode_line = p->cf.line;
	for (q = v; *q >= '0' && *q <= '7' && m <= 07777; q++)
		m = m * 8 + (unsigned long)(*q - '0');
	if (!*v || *q || m > 0777)
		return cfg_fail(&p->cf, -EINVAL,
				"bad mode '%s': expected octal permissions 0600..0777", v);
	if ((m & 0600) != 0600)
		return cfg_fail(&p->cf, -EINVAL,
				"bad mode '%s': the owner needs read and write (0600)", v);
	p->c->mode = (mode_t)m;
	return 1;
}

/* group = NAME or GID. */
static int cfg_group(struct cfg_parse *p, const char *v)
{
	struct group gr, *res = NULL;
	char buf[4096];
	char *end;
	unsigned long g;

	if (p->group_line)
		return cfg_fail(&p->cf, -EINVAL, "group given twice");
	p->group_line = p->cf.line;
	if (!*v)
		return cfg_fail(&p->cf, -EINVAL, "group is empty");
	if (*v >= '0' && *v <= '9') {
		errno = 0;
		g = strtoul(v, &end, 10);
		if (*end || errno || g >= (gid_t)-1)
			return cfg_fail(&p->cf, -EINVAL,
					"bad group '%s': expected a name or a number", v);
		p->c->gid = (gid_t)g;
	} else {
		int rc = getgrnam_r(v, &gr, buf, sizeof(buf), &res);

		if (!res)
			return cfg_fail(&p->cf, rc ? -rc : -ENOENT, "unknown group '%s'", v);
		p->c->gid = gr.gr_gid;
	}
	p->c->group = 1;
	return 1;
}

/* One word of owners =: a user (name or uid) or @group (name or gid). */
static int cfg_owner(struct cfg_parse *p, const char *w)
{
	struct fs_config *c = p->c;
	int grp = *w == '@';
	const char *v = w + grp;
	unsigned long id;
	char buf[4096], *end;
	void *a;

	errno = 0;
	id = strtoul(v, &end, 10);
	if (!*v || ((*v >= '0' && *v <= '9') && (*end || errno || id >= (uid_t)-1)))
		return cfg_fail(&p->cf, -EINVAL,
				"bad owner '%s': expected a user or @group, a name "
				"or a number",
				w);
	if (*v < '0' || *v > '9') {
		struct passwd pw, *pr = NULL;
		struct group gr, *gres = NULL;
		int rc = grp ? getgrnam_r(v, &gr, buf, sizeof(buf), &gres)
			     : getpwnam_r(v, &pw, buf, sizeof(buf), &pr);

		if (grp ? !gres : !pr)
			return cfg_fail(&p->cf, rc ? -rc : -ENOENT, "unknown %s '%s'",
					grp ? "group" : "user", v);
		id = grp ? gr.gr_gid : pw.pw_uid;
	}
	if (grp) {
		a = realloc(c->own_gids, (c->nown_gids + 1) * sizeof(gid_t));
		if (a)
			((gid_t *)(c->own_gids = a))[c->nown_gids++] = (gid_t)id;
	} else {
		a = realloc(c->own_uids, (c->nown_uids + 1) * sizeof(uid_t));
		if (a)
			((uid_t *)(c->own_uids = a))[c->nown_uids++] = (uid_t)id;
	}
	return a ? 1 : cfg_fail(&p->cf, -ENOMEM, "out of memory");
}

/* owners = any, or users and @groups separated by spaces or commas. */
static int cfg_owners(struct cfg_parse *p, const char *v)
{
	char *copy, *w, *save = NULL;
	int rc = 1;

	if (p->c->owners_line)
		return cfg_fail(&p->cf, -EINVAL, "owners given twice");
	p->c->owners_line = p->cf.line;
	if (!strcmp(v, "any")) {
		p->c->owners_any = 1;
		return 1;
	}
	copy = strdup(v);
	if (!copy)
		return cfg_fail(&p->cf, -ENOMEM, "out of memory");
	for (w = strtok_r(copy, " \t,", &save); w && rc == 1; w = strtok_r(NULL, " \t,", &save))
		rc = cfg_owner(p, w);
	if (rc == 1 && !p->c->nown_uids && !p->c->nown_gids)
		rc = cfg_fail(&p->cf, -EINVAL, "owners is empty");
	free(copy);
	return rc;
}

static int cfg_key(struct cfg_file *cf, const char *name, const char *value)
{
	struct cfg_parse *p = cf->user;
	struct fs_config *c = p->c;
	int b;

	if (!strcmp(name, "schema")) {
		char **s = realloc(c->schemas, (c->nschemas + 1) * sizeof(*s));
		int *l;

		if (!s)
			return cfg_fail(&p->cf, -ENOMEM, "out of memory");
		c->schemas = s;
		l = realloc(c->schema_lines, (c->nschemas + 1) * sizeof(*l));
		if (!l)
			return cfg_fail(&p->cf, -ENOMEM, "out of memory");
		c->schema_lines = l;
		if (!*value)
			return cfg_fail(&p->cf, -EINVAL, "schema is empty");
		s[c->nschemas] = cfg_path(&p->cf, value);
		if (!s[c->nschemas])
			return cfg_fail(&p->cf, -ENOMEM, "out of memory");
		l[c->nschemas++] = p->cf.line;
		return 1;
	}
	if (!strcmp(name, "mmap_dir"))
		return cfg_dir(p, &c->mmap_dir, &p->mmap_line, name, value);
	if (!strcmp(name, "lock_dir"))
		return cfg_dir(p, &c->lock_dir, &p->lock_line, name, value);
	if (!strcmp(name, "instance"))
		return cfg_instance(p, value);
	if (!strcmp(name, "mode"))
		return cfg_mode(p, value);
	if (!strcmp(name, "group"))
		return cfg_group(p, value);
	if (!strcmp(name, "owners"))
		return cfg_owners(p, value);
	if (!strcmp(name, "create") || !strcmp(name, "read_only") || !strcmp(name, "native")) {
		int *seen = name[0] == 'c'   ? &c->create_line
			    : name[0] == 'r' ? &p->ro_line
					     : &p->native_line;

		if (*seen)
			return cfg_fail(&p->cf, -EINVAL, "%s given twice", name);
		*seen = p->cf.line;
		b = cfg_bool(value);
		if (b < 0)
			return cfg_fail(&p->cf, -EINVAL, "bad boolean '%s': expected yes or no",
					value);
		if (name[0] == 'c')
			c->create = b;
		else if (name[0] == 'r')
			c->read_only = b;
		else
			c->mode_flag = b ? IPM_NATIVE : IPM_COMPAT;
		return 1;
	}
	return cfg_fail(&p->cf, -EINVAL, "unknown key '%s'", name);
}

/* Scan mode shows what mmap_dir holds: one that is missing, is not a
 * directory or cannot be read would mount an empty root without a word.
 * line: of mmap_dir =, 0 for the default. */
static int cfg_scan_dir(const struct fs_config *c, int line, char *err, size_t errlen)
{
	DIR *d = opendir(c->mmap_dir);
	int e = errno;

	if (d) {
		closedir(d);
		return 0;
	}
	if (line)
		snprintf(err, errlen, "%s:%d: mmap_dir %s: %s", c->path, line, c->mmap_dir,
			 strerror(e));
	else
		snprintf(err, errlen, "%s: mmap_dir %s (the default): %s", c->path, c->mmap_dir,
			 strerror(e));
	return -e;
}

/* See fs.h. */
int fs_config_load(struct fs_config *c, const char *path, char *err, size_t errlen)
{
	struct cfg_parse p = {.cf = {.section = "ipmmapfs", .key = cfg_key}, .c = c};
	int rc;

	memset(c, 0, sizeof(*c));
	p.cf.user = &p;
	rc = cfg_read(&p.cf, path, err, errlen);
	c->path = p.cf.path;
	c->dir = p.cf.dir;
	if (rc < 0)
		goto fail;
	/* Without a schema, instances are shown by their stored definitions;
	 * making one takes a schema. */
	if (c->create && !c->nschemas) {
		snprintf(err, errlen, "%s:%d: create = yes needs a schema (schema = FILE)", c->path,
			 c->create_line);
		rc = -EINVAL;
		goto fail;
	}
	if (c->create && !c->ninsts) {
		snprintf(err, errlen,
			 "%s:%d: create = yes needs instance lines naming what to create", c->path,
			 c->create_line);
		rc = -EINVAL;
		goto fail;
	}
	/* Only a manager records the mode: a mount that creates nothing
	 * would silently not do what the line says. */
	if (p.native_line && !c->create) {
		snprintf(err, errlen,
			 "%s:%d: native = needs create = yes (the mode is recorded "
			 "by whoever creates the instance)",
			 c->path, p.native_line);
		rc = -EINVAL;
		goto fail;
	}
	if (c->create && c->read_only) {
		snprintf(err, errlen, "%s:%d: create = yes and read_only = yes exclude each other",
			 c->path, c->create_line > p.ro_line ? c->create_line : p.ro_line);
		rc = -EINVAL;
		goto fail;
	}
	if (!c->mmap_dir)
		c->mmap_dir = cfg_path(&p.cf, IPM_DEFAULT_MMAP_DIR + 2);
	if (!c->lock_dir)
		c->lock_dir = cfg_path(&p.cf, IPM_DEFAULT_LOCK_DIR + 2);
	if (!c->mmap_dir || !c->lock_dir) {
		snprintf(err, errlen, "%s: out of memory", c->path);
		rc = -ENOMEM;
		goto fail;
	}
	if (!c->ninsts) {
		rc = cfg_scan_dir(c, p.mmap_line, err, errlen);
		if (rc < 0)
			goto fail;
	}
	return 0;
fail:
	fs_config_free(c);
	return rc;
}

/* dir made absolute from the working directory: fuse_daemonize() changes
 * it to /. NULL if out of memory. */
static char *cfg_abs(const char *dir)
{
	char cwd[PATH_MAX], *s;

	if (dir[0] == '/')
		return strdup(dir);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	if (asprintf(&s, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "",
		     strncmp(dir, "./", 2) ? dir : dir + 2) < 0)
		return NULL;
	return s;
}

/* Scan mode without a configuration file's line to name: as cfg_scan_dir(),
 * what says where dir came from. */
static int cfg_scan_given(const char *dir, const char *what, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	int e = errno;

	if (d) {
		closedir(d);
		return 0;
	}
	snprintf(err, errlen, "mmap_dir %s (%s): %s", dir, what, strerror(e));
	return -e;
}

/* Sets the directories given (NULL: left as they are). */
static int cfg_set_dirs(struct fs_config *c, const char *mmap_dir, const char *lock_dir,
			char *err, size_t errlen)
{
	const char *v[2] = {mmap_dir, lock_dir};
	char **dst[2] = {&c->mmap_dir, &c->lock_dir};

	for (int i = 0; i < 2; i++) {
		char *d;

		if (!v[i])
			continue;
		if (!*v[i]) {
			snprintf(err, errlen, "-o %s= is empty", i ? "lock_dir" : "mmap_dir");
			return -EINVAL;
		}
		errno = 0;
		d = cfg_abs(v[i]);
		if (!d) {
			int e = errno ? errno : ENOMEM;

			snprintf(err, errlen, "cannot make %s absolute: %s", v[i], strerror(e));
			return -e;
		}
		free(*dst[i]);
		*dst[i] = d;
	}
	return 0;
}

/* See fs.h. */
int fs_config_dirs(struct fs_config *c, const char *mmap_dir, const char *lock_dir, char *err,
		   size_t errlen)
{
	int rc = cfg_set_dirs(c, mmap_dir, lock_dir, err, errlen);

	if (rc == 0 && mmap_dir && !c->ninsts)
		rc = cfg_scan_given(c->mmap_dir, "-o mmap_dir=", err, errlen);
	return rc;
}

/* See fs.h. */
int fs_config_default(struct fs_config *c, const char *mmap_dir, const char *lock_dir, char *err,
		      size_t errlen)
{
	int rc;

	memset(c, 0, sizeof(*c));
	rc = cfg_set_dirs(c, mmap_dir ? mmap_dir : IPM_DEFAULT_MMAP_DIR,
			  lock_dir ? lock_dir : IPM_DEFAULT_LOCK_DIR, err, errlen);
	if (rc == 0) {
		c->dir = cfg_abs(".");
		if (!c->dir)
			rc = -ENOMEM;
	}
	if (rc == 0)
		rc = cfg_scan_given(c->mmap_dir,
				    mmap_dir ? "-o mmap_dir=" : "the default: ./.mmap of the working "
								"directory",
				    err, errlen);
	if (rc < 0)
		fs_config_free(c);
	return rc;
}

/* See fs.h. */
void fs_config_free(struct fs_config *c)
{
	for (size_t i = 0; i < c->nschemas; i++)
		free(c->schemas[i]);
	for (size_t i = 0; i < c->ninsts; i++) {
		free(c->insts[i].name);
		free(c->insts[i].tag);
	}
	free(c->schemas);
	free(c->schema_lines);
	free(c->insts);
	free(c->mmap_dir);
	free(c->lock_dir);
	free(c->own_uids);
	free(c->own_gids);
	free(c->dir);
	free(c->path);
	memset(c, 0, sizeof(*c));
}
