/*
 * config.c - the ipmmap-bridge configuration file.
 *
 *   [bridge]
 *   schema    = demo.ini              ; repeatable, loaded in order
 *   mmap_dir  = .mmap                 ; default: .mmap next to this file
 *   lock_dir  = .fasteners            ; default: .fasteners next to this file
 *   domain    = 0                     ; DDS domain id, 0..230
 *   direction = both                  ; default of every instance
 *   status    = bridge.status         ; default: <lock_dir>/ipmmap-bridge.status
 *   instance  = DemoMmapStructure     ; repeatable: Name, Name:tag,
 *   instance  = Other:left subscribe  ;   "Name:tag both|publish|subscribe"
 *
 * Relative paths are relative to the directory of the configuration file.
 * Every error is "file:line: what is wrong"; the first one wins.
 *
 * Lines are counted by our own reader for ini_parse_stream(): Debian's inih
 * is built without INI_HANDLER_LINENO (see INIH-NOTES.md), and an indented
 * line (inih's continuation of the previous value) is refused rather than
 * read as the same key given twice.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "bridge.h"

struct cfg_parse {
	struct br_config *c; /* being filled */
	ipm_lines *f;	     /* the file, read with bounds (lib's line reader) */
	int line;	     /* line last handed to inih */
	int indented;	     /* that line starts with white space */
	int mmap_line;	     /* line of mmap_dir =, 0 if none yet */
	int lock_line;	     /* line of lock_dir =, 0 if none yet */
	int status_line;     /* line of status =, 0 if none yet */
	int domain_line;     /* line of domain =, 0 if none yet */
	int dir_line;	     /* line of direction =, 0 if none yet */
	char *err;	     /* first error */
	size_t errlen;	     /* bytes at err */
	int rc;		     /* its errno, negative; 0 if none */
};

static const char *const dir_names[] = {"both", "publish", "subscribe"};

/* See bridge.h. */
const char *br_dir_name(enum br_dir d)
{
	return dir_names[d];
}

static int dir_parse(const char *v)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(v, dir_names[i]))
			return i;
	return -1;
}

/* Through the library's bounded reader, as the mount's configuration: at
 * most IPM_TEXT_MAX bytes and 199 characters a line; its first error stops
 * inih, and its message names the line. */
static char *cfg_reader(char *str, int num, void *stream)
{
	struct cfg_parse *p = stream;
	int rc;

	if (p->rc)
		return NULL;
	rc = ipm_lines_next(p->f, str, (size_t)num);
	p->line = ipm_lines_number(p->f);
	if (rc < 0) {
		snprintf(p->err, p->errlen, "%s", ipm_lines_errmsg(p->f));
		p->rc = rc;
	}
	if (rc <= 0)
		return NULL;
	p->indented = (*str == ' ' || *str == '\t') && strspn(str, " \t\r\n") != strlen(str);
	return str;
}

/* Keeps the first error; returns 0 so that inih goes on to the end and the
 * first problem is the one reported, as a compiler would. */
__attribute__((format(printf, 3, 4))) static int cfg_fail(struct cfg_parse *p, int rc,
							  const char *fmt, ...)
{
	va_list ap;

	if (!p->rc) {
		int n = snprintf(p->err, p->errlen, "%s:%d: ", p->c->path, p->line);

		va_start(ap, fmt);
		if (n >= 0 && (size_t)n < p->errlen)
			vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
		p->rc = rc;
	}
	return 0;
}

/* v relative to the configuration's directory, made absolute. */
static char *cfg_path(const struct br_config *c, const char *v)
{
	char *s;

	if (v[0] == '/')
		return strdup(v);
	if (asprintf(&s, "%s/%s", c->dir, v) < 0)
		return NULL;
	return s;
}

/* instance = Name[:tag] [both|publish|subscribe] */
static int cfg_instance(struct cfg_parse *p, const char *v)
{
	struct br_config *c = p->c;
	char name[256], flag[16], extra[2];
	struct br_inst_conf *ic, *n;
	const char *tag;
	char *colon;
	int k, d = -1;

	k = sscanf(v, "%255s %15s %1s", name, flag, extra);
	if (k < 1 || strlen(v) > 250)
		return cfg_fail(
		    p, -EINVAL,
		    "bad instance '%s': expected Name, Name:tag or 'Name:tag direction'", v);
	if (k == 2)
		d = dir_parse(flag);
	if (k == 3 || (k == 2 && d < 0))
		return cfg_fail(p, -EINVAL,
				"bad instance '%s': only both, publish or subscribe may follow the "
				"name",
				v);
	colon = strchr(name, ':');
	if (colon)
		*colon = '\0';
	tag = colon ? colon + 1 : "";
	if (!name[0])
		return cfg_fail(p, -EINVAL, "bad instance '%s': no structure name", v);
	for (size_t i = 0; i < c->ninsts; i++)
		if (!strcmp(c->insts[i].name, name) && !strcmp(c->insts[i].tag, tag))
			return cfg_fail(p, -EINVAL,
					"instance %s%s%s given twice (first at line %d)", name,
					*tag ? ":" : "", tag, c->insts[i].line);
	n = realloc(c->insts, (c->ninsts + 1) * sizeof(*n));
	if (!n)
		return cfg_fail(p, -ENOMEM, "out of memory");
	c->insts = n;
	ic = &c->insts[c->ninsts];
	ic->name = strdup(name);
	ic->tag = strdup(tag);
	/* Without its own, the global direction, filled in at the end (the
	 * direction = line may come later). */
	ic->dir = d < 0 ? BR_BOTH : (enum br_dir)d;
	ic->own_dir = d >= 0;
	ic->line = p->line;
	c->ninsts++;
	if (!ic->name || !ic->tag)
		return cfg_fail(p, -ENOMEM, "out of memory");
	return 1;
}

static int cfg_once(struct cfg_parse *p, int *seen, const char *key)
{
	if (*seen)
		return cfg_fail(p, -EINVAL, "%s given twice (first at line %d)", key, *seen);
	*seen = p->line;
	return 1;
}

static int cfg_file(struct cfg_parse *p, char **dst, int *seen, const char *key, const char *v)
{
	if (!cfg_once(p, seen, key))
		return 0;
	if (!*v)
		return cfg_fail(p, -EINVAL, "%s is empty", key);
	*dst = cfg_path(p->c, v);
	if (!*dst)
		return cfg_fail(p, -ENOMEM, "out of memory");
	return 1;
}

/* domain = 0..230: Cyclone's default port mapping (7400 + 250 * domain + ...)
 * runs out of UDP ports above 230. */
static int cfg_domain(struct cfg_parse *p, const char *v)
{
	char *end;
	unsigned long d;

	if (!cfg_once(p, &p->domain_line, "domain"))
		return 0;
	errno = 0;
	d = strtoul(v, &end, 10);
	if (!*v || *v < '0' || *v > '9' || *end || errno || d > 230)
		return cfg_fail(p, -EINVAL, "bad domain '%s': expected a number 0..230", v);
	p->c->domain = (uint32_t)d;
	return 1;
}

static int cfg_schema(struct cfg_parse *p, const char *v)
{
	struct br_config *c = p->c;
	char **s = realloc(c->schemas, (c->nschemas + 1) * sizeof(*s));
	int *l;

	if (!s)
		return cfg_fail(p, -ENOMEM, "out of memory");
	c->schemas = s;
	l = realloc(c->schema_lines, (c->nschemas + 1) * sizeof(*l));
	if (!l)
		return cfg_fail(p, -ENOMEM, "out of memory");
	c->schema_lines = l;
	if (!*v)
		return cfg_fail(p, -EINVAL, "schema is empty");
	s[c->nschemas] = cfg_path(c, v);
	if (!s[c->nschemas])
		return cfg_fail(p, -ENOMEM, "out of memory");
	l[c->nschemas++] = p->line;
	return 1;
}

static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_parse *p = user;
	struct br_config *c = p->c;

	if (p->indented)
		return cfg_fail(
		    p, -EINVAL,
		    "line starts with white space (continuation lines are not supported)");
	if (strcmp(section, "bridge")) {
		if (!*section)
			return cfg_fail(p, -EINVAL, "'%s' outside the [bridge] section", name);
		return cfg_fail(p, -EINVAL, "unknown section [%s]", section);
	}
	if (!strcmp(name, "schema"))
		return cfg_schema(p, value);
	if (!strcmp(name, "mmap_dir"))
		return cfg_file(p, &c->mmap_dir, &p->mmap_line, name, value);
	if (!strcmp(name, "lock_dir"))
		return cfg_file(p, &c->lock_dir, &p->lock_line, name, value);
	if (!strcmp(name, "status"))
		return cfg_file(p, &c->status, &p->status_line, name, value);
	if (!strcmp(name, "instance"))
		return cfg_instance(p, value);
	if (!strcmp(name, "domain"))
		return cfg_domain(p, value);
	if (!strcmp(name, "direction")) {
		int d;

		if (!cfg_once(p, &p->dir_line, name))
			return 0;
		d = dir_parse(value);
		if (d < 0)
			return cfg_fail(p, -EINVAL,
					"bad direction '%s': expected both, publish or subscribe",
					value);
		c->direction = (enum br_dir)d;
		return 1;
	}
	return cfg_fail(p, -EINVAL, "unknown key '%s'", name);
}

/* What is left to check once the whole file is read; fills the defaults. */
static int cfg_finish(struct cfg_parse *p, char *err, size_t errlen)
{
	struct br_config *c = p->c;

	if (!c->nschemas) {
		snprintf(err, errlen, "%s:%d: no schema given (schema = FILE)", c->path, p->line);
		return -EINVAL;
	}
	if (!c->ninsts) {
		snprintf(err, errlen, "%s:%d: no instance given (instance = Name[:tag])", c->path,
			 p->line);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->ninsts; i++)
		if (!c->insts[i].own_dir)
			c->insts[i].dir = c->direction;
	if (!c->mmap_dir)
		c->mmap_dir = cfg_path(c, IPM_DEFAULT_MMAP_DIR + 2);
	if (!c->lock_dir)
		c->lock_dir = cfg_path(c, IPM_DEFAULT_LOCK_DIR + 2);
	if (c->lock_dir && !c->status &&
	    asprintf(&c->status, "%s/%s.status", c->lock_dir, BR_NAME) < 0)
		c->status = NULL;
	if (!c->mmap_dir || !c->lock_dir || !c->status) {
		snprintf(err, errlen, "%s: out of memory", c->path);
		return -ENOMEM;
	}
	return 0;
}

/* See bridge.h. */
int br_config_load(struct br_config *c, const char *path, char *err, size_t errlen)
{
	struct cfg_parse p = {.c = c, .err = err, .errlen = errlen};
	char *real, *slash;
	int rc;

	memset(c, 0, sizeof(*c));
	real = realpath(path, NULL);
	if (!real) {
		rc = -errno;
		snprintf(err, errlen, "cannot open configuration %s: %s", path, strerror(-rc));
		return rc;
	}
	c->path = real;
	c->dir = strdup(real);
	if (!c->dir) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", c->path);
		goto fail;
	}
	slash = strrchr(c->dir, '/');
	if (slash == c->dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	p.f = ipm_lines_open(real, NULL);
	if (!p.f) {
		rc = errno ? -errno : -EINVAL;
		snprintf(err, errlen, "cannot open configuration %s: %s", real, strerror(-rc));
		goto fail;
	}
	rc = ini_parse_stream(cfg_reader, &p, cfg_handler, &p);
	ipm_lines_close(p.f);
	if (p.rc) {
		rc = p.rc;
		goto fail;
	}
	if (rc > 0) {
		snprintf(err, errlen, "%s:%d: syntax error: expected [section] or key = value",
			 c->path, rc);
		rc = -EINVAL;
		goto fail;
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: out of memory", c->path);
		rc = -ENOMEM;
		goto fail;
	}
	rc = cfg_finish(&p, err, errlen);
	if (rc)
		goto fail;
	return 0;
fail:
	br_config_free(c);
	return rc;
}

/* See bridge.h. */
void br_config_free(struct br_config *c)
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
	free(c->status);
	free(c->dir);
	free(c->path);
	memset(c, 0, sizeof(*c));
}
