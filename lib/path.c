/*
 * path.c - "a.b[3].c" to a field descriptor. See ipmmap.h.
 *
 * Grammar: ident ( '.' ident | '[' index ']' )*, where ident is
 * [A-Za-z_][A-Za-z0-9_]* and index is decimal without sign or leading zeros.
 * A char[N] string is a leaf: it cannot be indexed. Paths are resolved once
 * and the descriptor reused, so fields are found by a plain linear scan.
 */
#include "ipmmap_i.h"

#include <errno.h>
#include <string.h>

static bool ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool ident_char(char c)
{
	return ident_start(c) || (c >= '0' && c <= '9');
}

static const char *type_name(const struct ipm_type *t)
{
	return t->name ? t->name : "?";
}

/* The [index] at *pp (just past '['): its value into *idx (SIZE_MAX when it
 * does not fit), *pp past the ']'. 0, or -EINVAL for a malformed index. */
static int parse_index(const char *path, const char **pp, size_t *idx, char *err)
{
	const char *p = *pp, *start = p;
	size_t v = 0;

	while (*p >= '0' && *p <= '9') {
		size_t d = (size_t)(*p - '0');

		v = v > (SIZE_MAX - d) / 10 ? SIZE_MAX : v * 10 + d;
		p++;
	}
	if (*p != ']') {
		if (!*p)
			return ipm_errf(err, -EINVAL, "missing ']' in '%s'", path);
		return ipm_errf(err, -EINVAL, "bad index at offset %zu in '%s'",
				(size_t)(p - path), path);
	}
	if (p == start)
		return ipm_errf(err, -EINVAL, "empty index at offset %zu in '%s'",
				(size_t)(start - path), path);
	if (*start == '0' && p - start > 1)
		return ipm_errf(err, -EINVAL, "index with leading zero at offset %zu in '%s'",
				(size_t)(start - path), path);
	*idx = v;
	*pp = p + 1;
	return 0;
}

int ipm_type_resolve(const ipm_type *t, const char *path, struct ipm_field *out,
		     char err[IPM_ERRLEN])
{
	const struct ipm_type *cur = t;
	const char *p = path;
	size_t off = 0;
	unsigned char bit = 0, width = 0;

	if (!t || t->kind != IPM_STRUCT)
		return ipm_errf(err, -EINVAL, "cannot resolve '%s': not in a structure",
				path ? path : "");
	if (!path || !*path)
		return ipm_errf(err, -EINVAL, "empty path");
	for (;;) {
		/* here p is at a field name: at the start, or just past a '.' */
		const char *name = p;
		size_t n, i;

		while (ident_char(*p))
			p++;
		n = (size_t)(p - name);
		if (!n || !ident_start(*name)) {
			if (!*name && name > path)
				return ipm_errf(err, -EINVAL, "trailing '.' in '%s'", path);
			return ipm_errf(err, -EINVAL, "bad field name at offset %zu in '%s'",
					(size_t)(name - path), path);
		}
		if (*p && *p != '.' && *p != '[')
			return ipm_errf(err, -EINVAL, "unexpected '%c' at offset %zu in '%s'", *p,
					(size_t)(p - path), path);
		if (cur->kind != IPM_STRUCT)
			return ipm_errf(err, -EINVAL, "'%.*s' is not a structure",
					(int)(name - path - 1), path);
		for (i = 0; i < cur->nfields; i++)
			if (!strncmp(cur->fields[i].name, name, n) && !cur->fields[i].name[n])
				break;
		if (i == cur->nfields)
			return ipm_errf(err, -ENOENT, "no field '%.*s' in '%s' (at '%.*s')", (int)n,
					name, type_name(cur), (int)(p - path), path);
		off += cur->fields[i].offset;
		bit = cur->fields[i].bit;
		width = cur->fields[i].width;
		cur = cur->fields[i].type;

		while (*p == '[') {
			const char *open = p;
			size_t idx = 0;
			int rc;

			if (cur->kind != IPM_ARRAY)
				return ipm_errf(err, -EINVAL, "'%.*s' is not an array",
						(int)(open - path), path);
			p++;
			rc = parse_index(path, &p, &idx, err);
			if (rc < 0)
				return rc;
			if (idx >= cur->count)
				return ipm_errf(err, -ERANGE,
						"index %.*s out of range for '%.*s' (0..%zu)",
						(int)(p - open - 2), open + 1, (int)(open - path),
						path, cur->count - 1);
			off += idx * cur->elem->size;
			cur = cur->elem;
		}
		if (!*p)
			break;
		if (*p != '.')
			return ipm_errf(err, -EINVAL, "unexpected '%c' at offset %zu in '%s'", *p,
					(size_t)(p - path), path);
		p++;
	}
	out->offset = off;
	out->size = cur->size;
	out->kind = cur->kind;
	out->bit = bit;
	out->width = width;
	out->type = cur;
	return 0;
}

int ipm_map_resolve(ipm_map *m, const char *path, struct ipm_field *out)
{
	if (!m->type)
		return ipm_errf(m->err, -EBADF, "cannot resolve '%s': map is not open",
				path ? path : "");
	return ipm_type_resolve(m->type, path, out, m->err);
}
