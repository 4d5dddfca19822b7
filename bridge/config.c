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
 * Every error is "file:line: what is wrong"; the first one wins. The file is
 * read as the mount's is, by common/cfgfile.c (the library's bounded line
 * reader under inih; an indented line is refused).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "cfgfile.h"

struct cfg_parse {
	struct cfg_file cf;  /* the file (common/cfgfile.h) */
	struct br_config *c; /* being filled */
	int mmap_line;	     /* line of mmap_dir =, 0 if none yet */
	int lock_line;	     /* line of lock_dir =, 0 if none yet */
	int status_line;     /* line of status =, 0 if none yet */
	int domain_line;     /* line of domain =, 0 if none yet */
	int dir_line;	     /* line of direction =, 0 if none yet */
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
		    &p->cf, -EINVAL,
		    "bad instance '%s': expected Name, Name:tag or 'Name:tag direction'", v);
	if (k == 2)
		d = dir_parse(flag);
	if (k == 3 || (k == 2 && d < 0))
		return cfg_fail(&p->cf, -EINVAL,
				"bad instance '%s': only both, publish or subscribe may follow the "
				"name",
				v);
	colon = strchr(name, ':');
	if (colon)
		*colon = '\0';
	tag = colon ? colon + 1 : "";
	if (!name[0])
		return cfg_fail(&p->cf, -EINVAL, "bad instance '%s': no structure name", v);
	for (size_t i = 0; i < c->ninsts; i++)
		if (!strcmp(c->insts[i].name, name) && !strcmp(c->insts[i].tag, tag))
			return cfg_fail(&p->cf, -EINVAL,
					"instance %s%s%s given twice (first at line %d)", name,
					*tag ? ":" : "", tag, c->insts[i].line);
	n = realloc(c->insts, (c->ninsts + 1) * sizeof(*n));
	if (!n)
		return cfg_fail(&p->cf, -ENOMEM, "out of memory");
	c->insts = n;
	ic = &c->insts[c->ninsts];
	ic->name = strdup(name);
	ic->tag = strdup(tag);
	/* Without its own, the global direction, filled in at the end (the
	 * direction = line may come later). */
	ic->dir = d < 0 ? BR_BOTH : (enum br_dir)d;
	ic->own_dir = d >= 0;
	ic->line = p->cf.line;
	c->ninsts++;
	if (!ic->name || !ic->tag)
		return cfg_fail(&p->cf, -ENOMEM, "out of memory");
	return 1;
}

static int cfg_once(struct cfg_parse *p, int *seen, const char *key)
{
	if (*seen)
		return cfg_fail(&p->cf, -EINVAL, "%s given twice (first at line %d)", key, *seen);
	*seen = p->cf.line;
	return 1;
}

static int cfg_file(struct cfg_parse *p, char **dst, int *seen, const char *key, const char *v)
{
	if (!cfg_once(p, seen, key))
		return 0;
	if (!*v)
		return cfg_fail(&p->cf, -EINVAL, "%s is empty", key);
	*dst = cfg_path(&p->cf, v);
	if (!*dst)
		return cfg_fail(&p->cf, -ENOMEM, "out of memory");
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
		return cfg_fail(&p->cf, -EINVAL, "bad domain '%s': expected a number 0..230", v);
	p->c->domain = (uint32_t)d;
	return 1;
}

static int cfg_schema(struct cfg_parse *p, const char *v)
{
	struct br_config *c = p->c;
	char **s = realloc(c->schemas, (c->nschemas + 1) * sizeof(*s));
	int *l;

	if (!s)
		return cfg_fail(&p->cf, -ENOMEM, "out of memory");
	c->schemas = s;
	l = realloc(c->schema_lines, (c->nschemas + 1) * sizeof(*l));
	if (!l)
		return cfg_fail(&p->cf, -ENOMEM, "out of memory");
	c->schema_lines = l;
	if (!*v)
		return cfg_fail(&p->cf, -EINVAL, "schema is empty");
	s[c->nschemas] = cfg_path(&p->cf, v);
	if (!s[c->nschemas])
		return cfg_fail(&p->cf, -ENOMEM, "out of memory");
	l[c->nschemas++] = p->cf.line;
	return 1;
}

static int cfg_key(struct cfg_file *cf, const char *name, const char *value)
{
	struct cfg_parse *p = cf->user;
	struct br_config *c = p->c;

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
			return cfg_fail(&p->cf, -EINVAL,
					"bad direction '%s': expected both, publish or subscribe",
					value);
		c->direction = (enum br_dir)d;
		return 1;
	}
	return cfg_fail(&p->cf, -EINVAL, "unknown key '%s'", name);
}

/* What is left to check once the whole file is read; fills the defaults. */
static int cfg_finish(struct cfg_parse *p, char *err, size_t errlen)
{
	struct br_config *c = p->c;

	if (!c->nschemas) {
		snprintf(err, errlen, "%s:%d: no schema given (schema = FILE)", c->path,
			 p->cf.line);
		return -EINVAL;
	}
	if (!c->ninsts) {
		snprintf(err, errlen, "%s:%d: no instance given (instance = Name[:tag])", c->path,
			 p->cf.line);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->ninsts; i++)
		if (!c->insts[i].own_dir)
			c->insts[i].dir = c->direction;
	if (!c->mmap_dir)
		c->mmap_dir = cfg_path(&p->cf, IPM_DEFAULT_MMAP_DIR + 2);
	if (!c->lock_dir)
		c->lock_dir = cfg_path(&p->cf, IPM_DEFAULT_LOCK_DIR + 2);
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
	struct cfg_parse p = {.cf = {.section = "bridge", .key = cfg_key}, .c = c};
	int rc;

	memset(c, 0, sizeof(*c));
	p.cf.user = &p;
	rc = cfg_read(&p.cf, path, err, errlen);
	c->path = p.cf.path;
	c->dir = p.cf.dir;
	if (rc < 0)
		goto fail;
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
