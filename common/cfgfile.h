/*
 * cfgfile.h - reading a program's INI configuration: shared by ipmmapfs
 * (fs/config.c) and ipmmap-bridge (bridge/config.c), compiled into both.
 *
 * One section of key = value lines, read through the library's bounded line
 * reader (ipm_lines_*: at most IPM_TEXT_MAX bytes and 199 characters a line,
 * no file without end) and handed to inih one line at a time, so that every
 * error names its line although Debian's inih is built without
 * INI_HANDLER_LINENO (see INIH-NOTES.md). The first error is kept and
 * reported as "file:line: what", as a compiler would; reading goes on to
 * the end. Relative paths are relative to the file's directory.
 *
 * Not in the library: this is the programs' convention for their own files
 * (one section, first error wins, paths from the file's place), and no user
 * of libipmmap needs it; the library gives the primitive, ipm_lines_*.
 *
 * Calling sequence: fill section, key and user; cfg_read(); in key, call
 * cfg_fail() for a bad line and cfg_path() for a path. Afterwards path and
 * dir belong to the caller (NULL if they could not be had), also on failure.
 */
#ifndef CFGFILE_H
#define CFGFILE_H

#include <stddef.h>

#include "ipmmap.h"

struct cfg_file {
	const char *section; /* the one section allowed ("ipmmapfs", "bridge") */
	/* One key = value of the section, in order: 1 to go on, or what
	 * cfg_fail() returns. */
	int (*key)(struct cfg_file *cf, const char *name, const char *value);
	void *user;   /* for key */
	char *path;   /* the file, absolute: the caller's to free */
	char *dir;    /* its directory: the caller's to free */
	ipm_lines *f; /* while it is read */
	int line;     /* line last handed to inih */
	int indented; /* that line starts with white space */
	char *err;    /* the first error */
	size_t errlen;
	int rc; /* its errno, negative; 0 if none */
};

/* Reads path. 0, or -errno with err "file:line: what" (or "cannot open
 * configuration P: why"). */
int cfg_read(struct cfg_file *cf, const char *path, char *err, size_t errlen);

/* Keeps the first error, at the line being read; returns 0 (inih goes on). */
__attribute__((format(printf, 3, 4))) int cfg_fail(struct cfg_file *cf, int rc, const char *fmt,
						   ...);

/* v relative to the file's directory, made absolute: malloc'd, or NULL. */
char *cfg_path(const struct cfg_file *cf, const char *v);

#endif
