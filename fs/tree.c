/*
 * tree.c - a structure type walked once into a static table of nodes.
 *
 * Node 0 is the instance directory, 1 is .values, 2 is .raw, 3 is .status
 * (names that no field can have: fields are C identifiers), then the fields
 * in pre-order with the children of every directory contiguous, so that a
 * directory is a range of the table and readdir is a loop. Every instance of
 * a type shares one table; lookups never allocate.
 *
 * The text a node reads as (fs_node_text()) is here too, beside the table:
 * one value and a newline, .values' "path = value" lines (the library's one
 * line format, ipm_values_format()), or .raw's bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

#define TREE_PAGE 4096

/*
 * The longest size a file can have: its longest text rounded up to a page
 * (4096 for every scalar and char[N] up to N = 4094, as sysfs shows). stat
 * shows the exact size of the text (attr.c); this is what it shows while
 * the text cannot be rendered (the lock busy at that instant, a damaged
 * file). .raw has exactly the structure's size.
 */
static off_t tree_size(size_t textmax)
{
	return (off_t)((textmax + TREE_PAGE - 1) / TREE_PAGE * TREE_PAGE);
}

/* Longest text of a leaf, newline included. */
static size_t tree_textmax(const ipm_type *type)
{
	if (ipm_type_kind(type) == IPM_STRING)
		return ipm_type_count(type) + 1;
	return IPM_SCALAR_TEXTLEN;
}

/* Longest text of one number of an FS_LIST, newline included: a list's
 * open file holds its whole text. */
static size_t tree_elem_textmax(const ipm_type *et)
{
	switch (ipm_type_kind(et)) {
	case IPM_BOOL:
		return 2;
	case IPM_INT8:
		return 5; /* -128 */
	case IPM_UINT8:
		return 4;
	case IPM_INT16:
		return 7;
	case IPM_UINT16:
		return 6;
	case IPM_INT32:
		return 12;
	case IPM_UINT32:
		return 11;
	case IPM_INT64:
	case IPM_UINT64:
		return 21;
	default:
		return IPM_SCALAR_TEXTLEN;
	}
}

/* An array of more than FS_ARRAY_FILES numbers: one file (FS_LIST). Strings
 * are left out: their text may hold newlines. */
static int tree_list(const ipm_type *type)
{
	enum ipm_kind ek;

	if (ipm_type_kind(type) != IPM_ARRAY || ipm_type_count(type) <= FS_ARRAY_FILES)
		return 0;
	ek = ipm_type_kind(ipm_type_elem(type));
	return ek != IPM_STRUCT && ek != IPM_ARRAY && ek != IPM_STRING;
}

static int tree_add(struct fs_tree *t, size_t *cap, uint32_t parent, char *name, char *path,
		    size_t offset, const ipm_type *type, int ro)
{
	struct fs_node *n;
	enum ipm_kind k = ipm_type_kind(type);

	if (!name || !path)
		goto nomem;
	if (t->count >= FS_MAX_NODES) {
		free(name);
		free(path);
		return -EFBIG;
	}
	if (t->count == *cap) {
		size_t c = *cap ? *cap * 2 : 64;

		if (c > UINT32_MAX / 2)
			goto nomem;
		n = realloc(t->nodes, c * sizeof(*n));
		if (!n)
			goto nomem;
		t->nodes = n;
		*cap = c;
	}
	n = &t->nodes[t->count++];
	memset(n, 0, sizeof(*n));
	n->name = name;
	n->path = path;
	n->parent = parent;
	n->ro = ro;
	n->field.offset = offset;
	n->field.size = ipm_type_size(type);
	n->field.kind = k;
	n->field.type = type;
	if (tree_list(type)) {
		n->kind = FS_LIST;
		n->ro = 1; /* its elements are written through .values */
		n->textmax = ipm_type_count(type) * tree_elem_textmax(ipm_type_elem(type));
		n->size = tree_size(n->textmax);
	} else if (k == IPM_STRUCT || k == IPM_ARRAY) {
		n->kind = FS_DIR;
		n->array = k == IPM_ARRAY;
	} else {
		n->kind = FS_FIELD;
		n->textmax = tree_textmax(type);
		n->size = tree_size(n->textmax);
	}
	return 0;
nomem:
	free(name);
	free(path);
	return -ENOMEM;
}

/* Appends the children of directory node d, then walks into each. */
static int tree_expand(struct fs_tree *t, size_t *cap, uint32_t d)
{
	const struct fs_node *dn = &t->nodes[d];
	const ipm_type *type = dn->field.type;
	size_t base = dn->field.offset;
	const char *path = dn->path;
	int ro = dn->ro, rc = 0;
	uint32_t first = t->count, n;
	char *name, *cpath;

	if (ipm_type_kind(type) == IPM_ARRAY) {
		const ipm_type *et = ipm_type_elem(type);
		size_t es = ipm_type_size(et);

		n = (uint32_t)ipm_type_count(type);
		for (uint32_t i = 0; i < n && !rc; i++) {
			if (asprintf(&name, "%u", i) < 0)
				name = NULL;
			if (asprintf(&cpath, "%s[%u]", path, i) < 0)
				cpath = NULL;
			rc = tree_add(t, cap, d, name, cpath, base + i * es, et, ro);
			path = t->nodes[d].path; /* the table may have moved */
		}
	} else {
		n = (uint32_t)ipm_type_nfields(type);
		for (uint32_t i = 0; i < n && !rc; i++) {
			const char *fname = ipm_type_field_name(type, i);
			const ipm_type *ft = ipm_type_field_type(type, i);
			/* The header is the library's: header_code is the magic
			 * number, time_stamp is set by every write. */
			int fro = ro || (d == FS_NODE_ROOT && i == 0);

			name = strdup(fname);
			if (*path) {
				if (asprintf(&cpath, "%s.%s", path, fname) < 0)
					cpath = NULL;
			} else {
				cpath = strdup(fname);
			}
			rc = tree_add(t, cap, d, name, cpath, base + ipm_type_field_offset(type, i),
				      ft, fro);
			path = t->nodes[d].path;
		}
	}
	if (rc)
		return rc;
	if (d == FS_NODE_ROOT) {
		/* .values, .raw and .status were added first: widen the range
		 * to them. */
		t->nodes[d].first = FS_NODE_VALUES;
		t->nodes[d].count = n + FS_NODE_FIRST - FS_NODE_VALUES;
	} else {
		t->nodes[d].first = first;
		t->nodes[d].count = n;
	}
	for (uint32_t i = first; i < first + n && !rc; i++)
		if (t->nodes[i].kind == FS_DIR)
			rc = tree_expand(t, cap, i);
	return rc;
}

/* See fs.h. */
int fs_tree_build(struct fs_tree *t, const ipm_type *type)
{
	size_t cap = 0, vmax = 0;
	int rc;

	memset(t, 0, sizeof(*t));
	t->type = type;
	rc = tree_add(t, &cap, 0, strdup(""), strdup(""), 0, type, 0);
	if (!rc)
		rc = tree_add(t, &cap, 0, strdup(".values"), strdup(""), 0, type, 0);
	if (!rc)
		rc = tree_add(t, &cap, 0, strdup(".raw"), strdup(""), 0, type, 1);
	if (!rc)
		rc = tree_add(t, &cap, 0, strdup(".status"), strdup(""), 0, type, 1);
	if (!rc)
		rc = tree_expand(t, &cap, FS_NODE_ROOT);
	if (rc) {
		fs_tree_free(t);
		return rc;
	}
	t->nodes[FS_NODE_VALUES].kind = FS_VALUES;
	t->nodes[FS_NODE_RAW].kind = FS_RAW;
	t->nodes[FS_NODE_RAW].size = (off_t)ipm_type_size(type);
	t->nodes[FS_NODE_RAW].textmax = ipm_type_size(type);
	t->nodes[FS_NODE_STATUS].kind = FS_STATUS;
	t->nodes[FS_NODE_STATUS].textmax = FS_STATUS_MAX;
	t->nodes[FS_NODE_STATUS].size = tree_size(FS_STATUS_MAX);
	/* .values: the library's line format, NUL not counted. */
	vmax = ipm_values_textlen(type, NULL) - 1;
	t->nodes[FS_NODE_VALUES].textmax = vmax;
	t->nodes[FS_NODE_VALUES].size = tree_size(vmax ? vmax : 1);
	return 0;
}

/* See fs.h. */
void fs_tree_free(struct fs_tree *t)
{
	for (uint32_t i = 0; i < t->count; i++) {
		free(t->nodes[i].name);
		free(t->nodes[i].path);
	}
	free(t->nodes);
	memset(t, 0, sizeof(*t));
}

/* See fs.h. */
uint32_t fs_tree_lookup(const struct fs_tree *t, uint32_t dir, const char *name)
{
	const struct fs_node *d = &t->nodes[dir];

	if (d->array) {
		/* "3", never "03" or "+3": one name per element. */
		unsigned long i = 0;
		const char *p = name;

		if (!*p || (p[0] == '0' && p[1]))
			return UINT32_MAX;
		for (; *p; p++) {
			if (*p < '0' || *p > '9' || i > d->count)
				return UINT32_MAX;
			i = i * 10 + (unsigned long)(*p - '0');
		}
		return i < d->count ? d->first + (uint32_t)i : UINT32_MAX;
	}
	for (uint32_t i = d->first; i < d->first + d->count; i++)
		if (!strcmp(t->nodes[i].name, name))
			return i;
	return UINT32_MAX;
}

/* An FS_LIST node's elements, one per line. */
static int tree_list_text(const struct fs_node *n, const char *src, char *buf, size_t cap)
{
	const ipm_type *et = ipm_type_elem(n->field.type);
	struct ipm_field ef = {0, ipm_type_size(et), ipm_type_kind(et), et};
	size_t count = ipm_type_count(n->field.type), pos = 0;
	int rc;

	for (size_t i = 0; i < count; i++) {
		rc = ipm_text_format(&ef, src + i * ef.size, buf + pos, cap - pos);
		if (rc < 0 || pos + (size_t)rc + 1 > cap)
			return -ENOSPC;
		pos += (size_t)rc;
		buf[pos++] = '\n';
	}
	return pos > INT32_MAX ? -EFBIG : (int)pos;
}

/* See fs.h. */
int fs_node_text(const struct fs_tree *t, const struct fs_node *n, const void *data, char *buf,
		 size_t cap)
{
	const char *d = data;
	int rc;

	switch (n->kind) {
	case FS_FIELD:
		rc = ipm_text_format(&n->field, d + n->field.offset, buf, cap - 1);
		if (rc < 0)
			return rc;
		buf[rc] = '\n';
		return rc + 1;
	case FS_VALUES: /* the library's one line format */
		return (int)ipm_values_format(t->type, NULL, d, buf, cap);
	case FS_LIST:
		return tree_list_text(n, d + n->field.offset, buf, cap);
	case FS_RAW:
		if (cap < n->textmax)
			return -ENOSPC;
		memcpy(buf, d, n->textmax);
		return (int)n->textmax;
	default:
		return -EISDIR;
	}
}
