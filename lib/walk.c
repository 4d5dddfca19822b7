/*
 * walk.c - every leaf of a type tree with its dotted path, and optionally
 * every structure and array on the way down and up. See ipmmap.h.
 *
 * Iterative, with the stack of open structures and arrays and the path in
 * growing heap buffers: a schema may nest a thousand structures, each with
 * arrays of up to 16 dimensions, and a walk may run on a thread with a
 * small stack (the mount builds its trees where instances appear).
 */
#include "ipmmap_i.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A structure or array whose members are being visited. */
struct walk_frame {
	const struct ipm_type *t; /* the structure or array */
	size_t offset;		  /* of its start */
	size_t index;		  /* its own index in its parent (see ipm_walk) */
	size_t next;		  /* member to visit next */
	size_t pathlen;		  /* length of its own path in the path buffer */
};

struct walker {
	ipm_walk_fn fn;		  /* the caller's callback */
	void *ctx;		  /* and its argument */
	unsigned flags;		  /* IPM_WALK_* */
	char *path;		  /* the current path, NUL-terminated */
	size_t pathcap;		  /* its allocation */
	struct walk_frame *stack; /* open structures and arrays, outermost first */
	size_t depth;		  /* frames in use */
	size_t cap;		  /* frames allocated */
	char idx[24];		  /* an element's index as its name */
};

static bool is_leaf(const struct ipm_type *t)
{
	return t->kind != IPM_STRUCT && t->kind != IPM_ARRAY;
}

static size_t members(const struct ipm_type *t)
{
	return t->kind == IPM_STRUCT ? t->nfields : t->count;
}

/* Makes room for len bytes and a NUL in the path buffer. */
static int path_reserve(struct walker *w, size_t len)
{
	size_t cap = w->pathcap ? w->pathcap : 256;
	char *bigger;

	if (len < w->pathcap)
		return 0;
	while (cap <= len)
		cap *= 2;
	bigger = realloc(w->path, cap);
	if (!bigger)
		return -ENOMEM;
	w->path = bigger;
	w->pathcap = cap;
	return 0;
}

/* Writes the path of member i of parent, whose path is the first at bytes. */
static int path_member(struct walker *w, size_t at, const struct ipm_type *parent, size_t i)
{
	char num[24];
	const char *part;
	size_t n;

	if (parent->kind == IPM_STRUCT) {
		part = parent->fields[i].name;
	} else {
		snprintf(num, sizeof(num), "[%zu]", i);
		part = num;
	}
	n = strlen(part);
	if (path_reserve(w, at + 1 + n))
		return -ENOMEM;
	if (parent->kind == IPM_STRUCT && at)
		w->path[at++] = '.';
	memcpy(w->path + at, part, n + 1);
	return 0;
}

/* Calls the callback for t at offset, member index of parent (NULL: the
 * walked type) at depth. */
static int emit(struct walker *w, enum ipm_walk_event ev, const struct ipm_type *t, size_t offset,
		const struct ipm_type *parent, size_t index, size_t depth)
{
	struct ipm_walk it = {
	    .event = ev,
	    .path = w->path,
	    .name = "",
	    .field = {offset, t->size, t->kind, 0, 0, t},
	    .parent = parent,
	    .index = index,
	    .depth = depth,
	};

	if (parent && parent->kind == IPM_STRUCT) {
		it.name = parent->fields[index].name;
		it.field.bit = parent->fields[index].bit;
		it.field.width = parent->fields[index].width;
	} else if (parent) {
		snprintf(w->idx, sizeof(w->idx), "%zu", index);
		it.name = w->idx;
	}
	return w->fn(&it, w->ctx);
}

/* Visits t, whose path is in the buffer: a leaf, or an aggregate entered. */
static int visit(struct walker *w, const struct ipm_type *t, size_t offset,
		 const struct ipm_type *parent, size_t index)
{
	struct walk_frame *fr;
	int rc;

	if (is_leaf(t)) {
		rc = emit(w, IPM_WALK_LEAF, t, offset, parent, index, w->depth);
		return rc == IPM_WALK_SKIP ? 0 : rc;
	}
	if (w->flags & IPM_WALK_DIRS) {
		rc = emit(w, IPM_WALK_ENTER, t, offset, parent, index, w->depth);
		if (rc)
			return rc == IPM_WALK_SKIP ? 0 : rc;
	}
	if (w->depth == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 16;

		fr = realloc(w->stack, cap * sizeof(*fr));
		if (!fr)
			return -ENOMEM;
		w->stack = fr;
		w->cap = cap;
	}
	fr = &w->stack[w->depth++];
	fr->t = t;
	fr->offset = offset;
	fr->index = index;
	fr->next = 0;
	fr->pathlen = strlen(w->path);
	return 0;
}

/* Visits the next member of the innermost open aggregate, or leaves it. */
static int step(struct walker *w)
{
	struct walk_frame *fr = &w->stack[w->depth - 1];
	const struct ipm_type *t = fr->t, *mt;
	size_t i, offset;
	int rc;

	assert(t->kind == IPM_STRUCT || t->kind == IPM_ARRAY);
	if (fr->next == members(t)) {
		const struct ipm_type *parent = w->depth > 1 ? w->stack[w->depth - 2].t : NULL;

		w->path[fr->pathlen] = '\0';
		w->depth--;
		if (!(w->flags & IPM_WALK_DIRS))
			return 0;
		rc = emit(w, IPM_WALK_LEAVE, t, fr->offset, parent, fr->index, w->depth);
		return rc == IPM_WALK_SKIP ? 0 : rc;
	}
	i = fr->next++;
	if (t->kind == IPM_STRUCT) {
		mt = t->fields[i].type;
		offset = fr->offset + t->fields[i].offset;
	} else {
		mt = t->elem;
		offset = fr->offset + i * t->elem->size;
	}
	rc = path_member(w, fr->pathlen, t, i);
	return rc ? rc : visit(w, mt, offset, t, i);
}

/* See ipmmap.h. */
int ipm_type_walk(const ipm_type *t, const char *path, size_t offset, unsigned flags,
		  ipm_walk_fn fn, void *ctx)
{
	struct walker w = {.fn = fn, .ctx = ctx, .flags = flags};
	size_t len = path ? strlen(path) : 0;
	int rc;

	if (!t || !fn)
		return -EINVAL;
	if (path_reserve(&w, len))
		return -ENOMEM;
	memcpy(w.path, path ? path : "", len + 1);
	rc = visit(&w, t, offset, NULL, 0);
	while (!rc && w.depth)
		rc = step(&w);
	free(w.path);
	free(w.stack);
	return rc;
}
