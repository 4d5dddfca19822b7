/*
 * values.c - the lines written to .values, parsed without FUSE (the mount
 * and fuzz/fuzz_values.c both use it).
 *
 * One "path = value" line. Not parsed with inih: Debian's inih cuts lines at
 * 200 bytes (a char[256] would not fit), strips inline "; comments" and
 * trims values, so a string would not read back as it was written. The
 * conventions are inih's otherwise: blank lines and lines starting with ';'
 * or '#' are skipped, white space around the path and '=' is ignored. A
 * string's value starts after "= " (one space) and runs to the end of the
 * line, with \\, \n and \r escaped as .values shows them; a number's value
 * may have white space around it. The header's lines are checked and then
 * ignored: its code is the library's and every update sets its time stamp.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

/* One line (its newline included or not) at line, len bytes, NUL-terminated
 * at len + 1 room: changed in place. 1 with *out set, 0 for a line that
 * stores nothing, or a negative errno. */
static int values_line(const ipm_type *type, unsigned char *scratch, char *line, size_t len,
		       struct ipm_field *out)
{
	size_t hoff, hsize, vl;
	struct ipm_field f;
	char *eq, *name, *v, *end;
	int rc;

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (memchr(line, '\0', len))
		return -EINVAL; /* no text has a NUL: "5\0junk" is not 5 */
	line[len] = '\0';
	name = line + strspn(line, " \t");
	if (!*name || *name == ';' || *name == '#')
		return 0;
	eq = strchr(name, '=');
	if (!eq)
		return -EINVAL;
	end = eq;
	while (end > name && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	rc = ipm_type_resolve(type, name, &f, NULL);
	if (rc < 0 || f.kind >= IPM_ARRAY)
		return -EINVAL; /* not a field: ENOENT would read "no such file" */
	v = eq + 1;
	vl = len - (size_t)(v - line);
	if (f.kind == IPM_STRING) {
		size_t o = 0;

		if (*v == ' ') {
			v++;
			vl--;
		}
		for (size_t i = 0; i < vl; i++) { /* unescape in place */
			char c = v[i];

			if (c == '\\') {
				c = ++i < vl ? v[i] : '\0';
				if (c == 'n')
					c = '\n';
				else if (c == 'r')
					c = '\r';
				else if (c != '\\')
					return -EINVAL;
			}
			v[o++] = c;
		}
		vl = o;
	} else {
		size_t sp = strspn(v, " \t");

		v += sp;
		vl -= sp;
		while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			vl--;
	}
	rc = ipm_text_parse(&f, v, vl, scratch + f.offset, NULL);
	if (rc < 0)
		return rc;
	/* The header is the structure's first field (the schema loader
	 * makes sure of it). */
	hoff = ipm_type_field_offset(type, 0);
	hsize = ipm_type_size(ipm_type_field_type(type, 0));
	if (f.offset >= hoff && f.offset < hoff + hsize)
		return 0;
	*out = f;
	return 1;
}

/* See fs.h. */
int fs_values_parse(const ipm_type *type, unsigned char *scratch, const char *text, size_t len,
		    struct ipm_field *set, size_t *nset, unsigned *lines)
{
	size_t p = 0;
	char *line = NULL;
	int rc = 0;

	while (p < len) {
		const char *nl = memchr(text + p, '\n', len - p);
		size_t l = nl ? (size_t)(nl - (text + p)) + 1 : len - p;
		struct ipm_field f;
		char *tmp = realloc(line, l + 1);

		if (!tmp) {
			rc = -ENOMEM;
			break;
		}
		line = tmp;
		memcpy(line, text + p, l);
		rc = values_line(type, scratch, line, l, &f);
		if (rc < 0)
			break;
		if (rc && set)
			set[(*nset)++] = f;
		rc = 0;
		(*lines)++;
		p += l;
	}
	free(line);
	return rc;
}
