/*
 * cfgfile.c - reading a program's INI configuration, for ipmmapfs and
 * ipmmap-bridge alike. See cfgfile.h.
 */
#include "cfgfile.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

/* Stops inih at the reader's first error, whose message names its line. */
static char *cfg_reader(char *str, int num, void *stream)
{
	struct cfg_file *cf = stream;
	int rc;

	if (cf->rc)
		return NULL;
	rc = ipm_lines_next(cf->f, str, (size_t)num);
	cf->line = ipm_lines_number(cf->f);
	if (rc < 0) {
		snprintf(cf->err, cf->errlen, "%s", ipm_lines_errmsg(cf->f));
		cf->rc = rc;
	}
	if (rc <= 0)
		return NULL;
	cf->indented = (*str == ' ' || *str == '\t') && strspn(str, " \t\r\n") != strlen(str);
	return str;
}

int cfg_fail(struct cfg_file *cf, int rc, const char *fmt, ...)
{
	va_list ap;

	if (!cf->rc) {
		int n = snprintf(cf->err, cf->errlen, "%s:%d: ", cf->path, cf->line);

		va_start(ap, fmt);
		if (n >= 0 && (size_t)n < cf->errlen)
			vsnprintf(cf->err + n, cf->errlen - n, fmt, ap);
		va_end(ap);
		cf->rc = rc;
	}
	return 0;
}

char *cfg_path(const struct cfg_file *cf, const char *v)
{
	char *s;

	if (v[0] == '/')
		return strdup(v);
	if (asprintf(&s, "%s/%s", cf->dir, v) < 0)
		return NULL;
	return s;
}

/* An indented line would be inih's continuation of the previous value:
 * refused, rather than read as the same key given twice. */
static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_file *cf = user;

	if (cf->indented)
		return cfg_fail(
		    cf, -EINVAL,
		    "line starts with white space (continuation lines are not supported)");
	if (strcmp(section, cf->section)) {
		if (!*section)
			return cfg_fail(cf, -EINVAL, "'%s' outside the [%s] section", name,
					cf->section);
		return cfg_fail(cf, -EINVAL, "unknown section [%s]", section);
	}
	return cf->key(cf, name, value);
}

int cfg_read(struct cfg_file *cf, const char *path, char *err, size_t errlen)
{
	char *slash;
	int rc;

	cf->err = err;
	cf->errlen = errlen;
	cf->rc = 0;
	cf->line = 0;
	cf->dir = NULL;
	cf->path = realpath(path, NULL);
	if (!cf->path) {
		rc = -errno;
		snprintf(err, errlen, "cannot open configuration %s: %s", path, strerror(-rc));
		return rc;
	}
	cf->dir = strdup(cf->path);
	if (!cf->dir) {
		snprintf(err, errlen, "%s: out of memory", cf->path);
		return -ENOMEM;
	}
	slash = strrchr(cf->dir, '/');
	if (slash == cf->dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	cf->f = ipm_lines_open(cf->path, NULL);
	if (!cf->f) {
		rc = errno ? -errno : -EINVAL;
		snprintf(err, errlen, "cannot open configuration %s: %s", cf->path, strerror(-rc));
		return rc;
	}
	rc = ini_parse_stream(cfg_reader, cf, cfg_handler, cf);
	ipm_lines_close(cf->f);
	cf->f = NULL;
	if (cf->rc)
		return cf->rc;
	if (rc > 0) {
		snprintf(err, errlen, "%s:%d: syntax error: expected [section] or key = value",
			 cf->path, rc);
		return -EINVAL;
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: out of memory", cf->path);
		return -ENOMEM;
	}
	return 0;
}
