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

/* Appends n zeroed nodes to the table. */
static int tree_reserve(struct fs_tree *t, size_t *cap, size_t n)
{
	struct fs_node *nodes;
	size_t c = *cap ? *cap : 64;

	if (n > UINT32_MAX / 2 - t->count)
		return -ENOMEM;
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
	if (k == IPM_STRUCT || k == IPM_ARRAY) {
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
	if (tree_reserve(t, cap, 1)) {
		free(name);
		free(path);
		return -ENOMEM;
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

/* See fs.h. */
int fs_tree_build(struct fs_tree *t, const ipm_type *type)
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
	if (!rc)
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
	case FS_RAW:
		if (cap < n->textmax)
			return -ENOSPC;
		memcpy(buf, d, n->textmax);
		return (int)n->textmax;
	default:
		return -EISDIR;
	}
}
