/*
 * textread.c - text files read line by line with bounds, for inih: a schema
 * (schema_ini.c) and the mount's configuration (fs/config.c) both read
 * through it, so the bounds, the line count, "\r\n", the byte order mark
 * and NUL bytes are handled in one place. See ipmmap.h.
 *
 * Bytes come one at a time from stdio (a schema is read once, and stdio
 * buffers), so that a line is never read past its bound: /dev/zero stops
 * after size bytes, not after the memory runs out.
 */
#include "ipmmap_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ipm_lines {
	FILE *fp;	       /* the file; NULL for text in memory */
	const char *text;      /* text in memory */
	size_t textlen;	       /* its length */
	size_t total;	       /* bytes read so far, ends of line included */
	int lineno;	       /* see ipm_lines_number() */
	int rc;		       /* 0, or the error every later call returns */
	unsigned char pend[3]; /* bytes read ahead at the start (see lines_bom()) */
	int npend;	       /* how many */
	size_t what;	       /* where the message's "what" starts */
	char err[IPM_ERRLEN];  /* "path:line: what", or "cannot read path: why" */
	char name[];	       /* the path, for messages */
};

static ipm_lines *lines_new(const char *name)
{
	size_t n = strlen(name) + 1;
	ipm_lines *r = calloc(1, sizeof(*r) + n);

	if (r)
		memcpy(r->name, name, n);
	return r;
}

/* See ipmmap.h. */
ipm_lines *ipm_lines_open(const char *path, char err[IPM_ERRLEN])
{
	ipm_lines *r;
	int e;

	if (!path) {
		ipm_errf(err, -EINVAL, "cannot open a file without a name");
		errno = EINVAL;
		return NULL;
	}
	r = lines_new(path);
	if (!r) {
		ipm_errf(err, -ENOMEM, "cannot open %s: %s", path, strerror(ENOMEM));
		errno = ENOMEM;
		return NULL;
	}
	r->fp = fopen(path, "r");
	if (!r->fp) {
		e = errno ? errno : EIO;
		ipm_errf(err, -e, "cannot open %s: %s", path, strerror(e));
		free(r);
		errno = e;
		return NULL;
	}
	return r;
}

ipm_lines *ipm_lines_text(const char *text, const char *name)
{
	ipm_lines *r = lines_new(name);

	if (r) {
		r->text = text;
		r->textlen = strlen(text);
	}
	return r;
}

/* Records the reader's error at the current line. Returns rc. */
__attribute__((format(printf, 3, 4))) static int lines_fail(ipm_lines *r, int rc, const char *fmt,
							    ...)
{
	va_list ap;
	int n = snprintf(r->err, sizeof(r->err), "%s:%d: ", r->name, r->lineno);

	r->what = n > 0 && (size_t)n < sizeof(r->err) ? (size_t)n : strlen(r->err);
	va_start(ap, fmt);
	vsnprintf(r->err + r->what, sizeof(r->err) - r->what, fmt, ap);
	va_end(ap);
	r->rc = rc;
	return rc;
}

/* The next byte of the source, EOF at the end, or -2 after a read error
 * (r->rc set). */
static int lines_read(ipm_lines *r)
{
	int c;

	if (!r->fp)
		return r->total < r->textlen ? (unsigned char)r->text[r->total++] : EOF;
	errno = 0;
	c = getc_unlocked(r->fp);
	if (c != EOF) {
		r->total++;
		return c;
	}
	if (ferror(r->fp)) {
		int e = errno ? errno : EIO;

		r->what = 0;
		snprintf(r->err, sizeof(r->err), "cannot read %s: %s", r->name, strerror(e));
		r->rc = -e;
		return -2;
	}
	return EOF;
}

/* The next byte of the text: those read ahead first. */
static int lines_getc(ipm_lines *r)
{
	int c;

	if (!r->npend)
		return lines_read(r);
	c = r->pend[0];
	memmove(r->pend, r->pend + 1, (size_t)--r->npend);
	return c;
}

/* Skips a UTF-8 byte order mark at the start; bytes read that are not one
 * are kept for lines_getc(). 0, or -2 after a read error. */
static int lines_bom(ipm_lines *r)
{
	static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
	int c;

	while (r->npend < 3) {
		c = lines_read(r);
		if (c == -2)
			return c;
		if (c == EOF)
			return 0;
		r->pend[r->npend++] = (unsigned char)c;
		if (c != bom[r->npend - 1])
			return 0;
	}
	r->npend = 0;
	return 0;
}

/* See ipmmap.h. */
int ipm_lines_next(ipm_lines *r, char *buf, size_t size)
{
	size_t n = 0, max = size - 1;
	int c = 0;

	if (r->rc)
		return r->rc;
	if (size < 2)
		return lines_fail(r, -EINVAL, "line buffer of %zu bytes", size);
	if (r->total == 0 && lines_bom(r) < 0)
		return r->rc;
	for (;;) {
		c = lines_getc(r);
		if (c == -2)
			return r->rc;
		if (c == EOF && !n)
			return 0;
		if (n == 0)
			r->lineno++;
		if (r->total > IPM_TEXT_MAX)
			return lines_fail(r, -EFBIG, "file too large (more than %d bytes)",
					  IPM_TEXT_MAX);
		if (c == EOF || c == '\n')
			break;
		/* one byte beyond the bound may still be the '\r' of "\r\n" */
		if (n > max || (n == max && c != '\r'))
			return lines_fail(r, -EINVAL, "line too long (more than %zu characters)",
					  max);
		if (n < max)
			buf[n] = (char)c;
		n++;
	}
	if (n && (n > max || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	if (strlen(buf) != n)
		return lines_fail(r, -EINVAL, "NUL byte in line");
	return 1;
}

/* See ipmmap.h. */
int ipm_lines_number(const ipm_lines *r)
{
	return r ? r->lineno : 0;
}

/* See ipmmap.h. */
const char *ipm_lines_errmsg(const ipm_lines *r)
{
	return r ? r->err : "";
}

const char *ipm_lines_what(const ipm_lines *r)
{
	return r->err + r->what;
}

/* See ipmmap.h. */
void ipm_lines_close(ipm_lines *r)
{
	if (!r)
		return;
	if (r->fp)
		fclose(r->fp);
	free(r);
}
