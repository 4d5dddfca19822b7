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
	if (ipm_type_kind(type) == IPM_WSTRING) /* at most 4 bytes of UTF-8 each */
		return ipm_type_size(type) + 1;
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
	return ek != IPM_STRUCT && ek != IPM_ARRAY && ek != IPM_STRING && ek != IPM_WSTRING;
}

/* Appends n zeroed nodes to the table: 0, -ENOMEM, or -EFBIG past
 * FS_MAX_NODES. */
static int tree_reserve(struct fs_tree *t, size_t *cap, size_t n)
{
	struct fs_node *nodes;
	size_t c = *cap ? *cap : 64;

	if (n > FS_MAX_NODES - t->count)
		return -EFBIG;
	while (c < t->count + n)
		c *= 2;
	if (c != *cap) {
		nodes = realloc(t->nodes, c * sizeof(*nodes));
		if (!nodes)
			return -ENOMEM;
		t->nodes = nodes;
		*cap = c;
	}
	memset(&t->nodes[t->count], 0, n * sizeof(*t->nodes));
	t->count += (uint32_t)n;
	return 0;
}

/* Fills node i, taking over name and path (freed on failure). */
static int tree_set(struct fs_tree *t, uint32_t i, uint32_t parent, char *name, char *path,
		    size_t offset, const ipm_type *type, int ro)
{
	struct fs_node *n = &t->nodes[i];
	enum ipm_kind k = ipm_type_kind(type);

	if (!name || !path) {
		free(name);
		free(path);
		return -ENOMEM;
	}
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
}

static int tree_add(struct fs_tree *t, size_t *cap, uint32_t parent, char *name, char *path,
		    size_t offset, const ipm_type *type, int ro)
{
	int rc = tree_reserve(t, cap, 1);

	if (rc) {
		free(name);
		free(path);
		return rc;
	}
	return tree_set(t, t->count - 1, parent, name, path, offset, type, ro);
}

/* A directory open in the walk: its node and where its children go. */
struct tree_dir {
	uint32_t node;	/* the directory's node */
	uint32_t first; /* node of its first child */
};

/* The walk's state (see tree_visit()). */
struct tree_walk {
	struct fs_tree *t;    /* the table being built */
	size_t cap;	      /* nodes allocated in it */
	struct tree_dir *dir; /* the directory open at each depth */
	size_t ndir;	      /* entries allocated in dir */
};

/*
 * One node of ipm_type_walk(), which visits in pre-order: a node's slot was
 * reserved with its siblings when its directory was entered, and entering a
 * directory reserves its children's block at the end of the table. So each
 * directory's children are contiguous, in the order the table always had.
 */
static int tree_visit(const struct ipm_walk *w, void *ctx)
{
	struct tree_walk *b = ctx;
	struct fs_tree *t = b->t;
	uint32_t node = FS_NODE_ROOT, n;
	int rc;

	if (w->event == IPM_WALK_LEAVE)
		return 0;
	if (w->depth) {
		const struct tree_dir *d = &b->dir[w->depth - 1];
		/* The header is the library's: header_code is the magic
		 * number, time_stamp is set by every write. */
		int ro = t->nodes[d->node].ro || (d->node == FS_NODE_ROOT && w->index == 0);

		node = d->first + (uint32_t)w->index;
		rc = tree_set(t, node, d->node, strdup(w->name), strdup(w->path), w->field.offset,
			      w->field.type, ro);
		if (rc)
			return rc;
		t->nodes[node].field.bit = w->field.bit; /* a bit field's */
		t->nodes[node].field.width = w->field.width;
	}
	if (w->event != IPM_WALK_ENTER)
		return 0;
	if (t->nodes[node].kind == FS_LIST)
		return IPM_WALK_SKIP; /* one file: no node per element */
	if (w->depth == b->ndir) {
		size_t c = b->ndir ? 2 * b->ndir : 16;
		struct tree_dir *bigger = realloc(b->dir, c * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		b->dir = bigger;
		b->ndir = c;
	}
	n = (uint32_t)(w->field.kind == IPM_ARRAY ? ipm_type_count(w->field.type)
						  : ipm_type_nfields(w->field.type));
	b->dir[w->depth].node = node;
	b->dir[w->depth].first = t->count;
	if (node == FS_NODE_ROOT) {
		/* .values, .raw and .status were added first: widen the range
		 * to them. */
		t->nodes[node].first = FS_NODE_VALUES;
		t->nodes[node].count = n + FS_NODE_FIRST - FS_NODE_VALUES;
	} else {
		t->nodes[node].first = t->count;
		t->nodes[node].count = n;
	}
	return tree_reserve(t, &b->cap, n);
}

/* The tree of type: every field (raw 0), or .raw and .status only. */
static int tree_build(struct fs_tree *t, const ipm_type *type, int raw)
{
	struct tree_walk b = {.t = t};
	size_t vmax = 0;
	int rc;

	memset(t, 0, sizeof(*t));
	t->type = type;
	rc = tree_add(t, &b.cap, 0, strdup(""), strdup(""), 0, type, 0);
	if (!rc)
		rc = tree_add(t, &b.cap, 0, strdup(".values"), strdup(""), 0, type, 0);
	if (!rc)
		rc = tree_add(t, &b.cap, 0, strdup(".raw"), strdup(""), 0, type, 1);
	if (!rc)
		rc = tree_add(t, &b.cap, 0, strdup(".status"), strdup(""), 0, type, 1);
	if (!rc && !raw)
		rc = ipm_type_walk(type, "", 0, IPM_WALK_DIRS, tree_visit, &b);
	free(b.dir);
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
	if (raw) {
		/* Nothing but the bytes to show: .values stays out of the
		 * directory's range, so no lookup ever finds it. */
		t->nodes[FS_NODE_ROOT].kind = FS_DIR;
		t->nodes[FS_NODE_ROOT].first = FS_NODE_RAW;
		t->nodes[FS_NODE_ROOT].count = 2;
		return 0;
	}
	/* .values: the library's line format, NUL not counted. */
	vmax = ipm_values_textlen(type, NULL) - 1;
	t->nodes[FS_NODE_VALUES].textmax = vmax;
	t->nodes[FS_NODE_VALUES].size = tree_size(vmax ? vmax : 1);
	return 0;
}

/* See fs.h. */
int fs_tree_build(struct fs_tree *t, const ipm_type *type)
{
	return tree_build(t, type, 0);
}

/* See fs.h. */
int fs_tree_build_raw(struct fs_tree *t, const ipm_type *type)
{
	return tree_build(t, type, 1);
}

/* See fs.h. */
void fs_tree_free(struct fs_tree *t)
{
	for (uint32_t i = 0; i < t->count; i++) {
		free(t->nodes[i].name);
		free(t->nodes[i].path);
	}
	free(t->nodes);
	ipm_schema_free(t->own);
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
	struct ipm_field ef = {.size = ipm_type_size(et), .kind = ipm_type_kind(et), .type = et};
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
	return fs_node_text_at(t, n, (const char *)data + n->field.offset, buf, cap);
}

/* See fs.h. */
int fs_node_text_at(const struct fs_tree *t, const struct fs_node *n, const void *src, char *buf,
		    size_t cap)
{
	const char *d = src;
	int rc;

	switch (n->kind) {
	case FS_FIELD:
		rc = ipm_text_format(&n->field, d, buf, cap - 1);
		if (rc < 0)
			return rc;
		buf[rc] = '\n';
		return rc + 1;
	case FS_VALUES: /* the library's one line format */
		return (int)ipm_values_format(t->type, NULL, d, buf, cap);
	case FS_LIST:
		return tree_list_text(n, d, buf, cap);
	case FS_RAW:
		if (cap < n->textmax)
			return -ENOSPC;
		memcpy(buf, d, n->textmax);
		return (int)n->textmax;
	default:
		return -EISDIR;
	}
}
