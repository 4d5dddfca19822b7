/*
 * layout.c - native C layout of structures: sizes, alignments, offsets, and
 * the layout fingerprint. See ipmmap.h and ipmmap_i.h.
 *
 * The rules are the ones gcc and Python ctypes share on the platform: every
 * member at the next multiple of its alignment, a structure aligned as its
 * most aligned member, its size rounded up to that alignment.
 */
#include "ipmmap_i.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/*
 * The alignment a member of type T gets inside a structure. Not _Alignof(T):
 * on some ABIs (i386) a double is 8-aligned alone but 4-aligned in a
 * structure, and the structure alignment is what gcc and ctypes use.
 */
#define IPM_MEMBER_ALIGN(T) offsetof(struct { char c; T x; }, x)

#define IPM_SCALAR(k, T, n, lo, hi)                                                        \
	[k] = {.kind = k, .size = sizeof(T), .align = IPM_MEMBER_ALIGN(T), .name = n},

const struct ipm_type ipm_scalar_types[IPM_BOOL + 1] = {IPM_SCALARS(IPM_SCALAR)};

static size_t round_up(size_t n, size_t align)
{
	return (n + align - 1) / align * align;
}

/*
 * A derived structure "[D : B]" lays out as ctypes lays out a subclass: B's
 * fields keep B's offsets and D's own fields start at sizeof(B), after B's
 * trailing padding, exactly as the C struct { struct B base; ... own ... }.
 * Checked against ctypes: B {int64 a; int8 b;} (size 16), D(B) {int8 c;}
 * puts c at 16, not 9, and sizeof(D) is 24.
 */
int ipm_layout_struct(struct ipm_type *t)
{
	size_t off = 0, align = 1, first = 0, i;

	if (t->base) {
		off = t->base->size;
		align = t->base->align;
		first = t->base->nfields;
	}
	for (i = first; i < t->nfields; i++) {
		const struct ipm_type *ft = t->fields[i].type;

		off = round_up(off, ft->align);
		if (ft->size > IPM_SIZE_LIMIT || off > IPM_SIZE_LIMIT - ft->size)
			return -EOVERFLOW;
		t->fields[i].offset = off;
		off += ft->size;
		if (ft->align > align)
			align = ft->align;
	}
	t->size = round_up(off, align);
	t->align = align;
	if (t->size > IPM_SIZE_LIMIT)
		return -EOVERFLOW;
	return 0;
}

/* FNV-1a, 64 bits, continued from h over a NUL-terminated text. */
static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/*
 * The fingerprint is FNV-1a 64 (offset basis 0xcbf29ce484222325) over this
 * text, so that any tool can recompute it:
 *
 *   "struct <name> <size> <align>\n"
 *   then per field, base's first: "<field> <type name> <offset> <size>\n",
 *   where a field whose type is a structure, or an array of one at any depth,
 *   has " {<that structure's fingerprint, 16 lowercase hex digits>}" before
 *   the newline.
 *
 * Nested structures enter through their own fingerprint instead of their
 * full text so the work stays linear in the size of the schema.
 */
void ipm_layout_fingerprint(struct ipm_type *t)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	char num[128];
	size_t i;

	snprintf(num, sizeof(num), " %zu %zu\n", t->size, t->align);
	h = fnv1a(h, "struct ");
	h = fnv1a(h, t->name);
	h = fnv1a(h, num);
	for (i = 0; i < t->nfields; i++) {
		const struct ipm_member *m = &t->fields[i];
		const struct ipm_type *in = m->type;

		while (in->kind == IPM_ARRAY)
			in = in->elem;
		h = fnv1a(h, m->name);
		h = fnv1a(h, " ");
		h = fnv1a(h, m->type->name);
		snprintf(num, sizeof(num), " %zu %zu", m->offset, m->type->size);
		h = fnv1a(h, num);
		if (in->kind == IPM_STRUCT) {
			snprintf(num, sizeof(num), " {%016" PRIx64 "}", in->fingerprint);
			h = fnv1a(h, num);
		}
		h = fnv1a(h, "\n");
	}
	t->fingerprint = h;
}

/* ------------------------------------------------------------------------ */
/* Type introspection                                                        */
/* ------------------------------------------------------------------------ */

/* NULL is harmless everywhere below; it reads as an empty int8. */
enum ipm_kind ipm_type_kind(const ipm_type *t)
{
	return t ? t->kind : IPM_INT8;
}

size_t ipm_type_size(const ipm_type *t)
{
	return t ? t->size : 0;
}

size_t ipm_type_align(const ipm_type *t)
{
	return t ? t->align : 0;
}

const char *ipm_type_name(const ipm_type *t)
{
	return t ? t->name : NULL;
}

size_t ipm_type_count(const ipm_type *t)
{
	return t && (t->kind == IPM_ARRAY || t->kind == IPM_STRING) ? t->count : 0;
}

const ipm_type *ipm_type_elem(const ipm_type *t)
{
	return t && t->kind == IPM_ARRAY ? t->elem : NULL;
}

size_t ipm_type_nfields(const ipm_type *t)
{
	return t && t->kind == IPM_STRUCT ? t->nfields : 0;
}

static const struct ipm_member *member(const ipm_type *t, size_t i)
{
	return t && t->kind == IPM_STRUCT && i < t->nfields ? &t->fields[i] : NULL;
}

const char *ipm_type_field_name(const ipm_type *t, size_t i)
{
	const struct ipm_member *m = member(t, i);

	return m ? m->name : NULL;
}

size_t ipm_type_field_offset(const ipm_type *t, size_t i)
{
	const struct ipm_member *m = member(t, i);

	return m ? m->offset : 0;
}

const ipm_type *ipm_type_field_type(const ipm_type *t, size_t i)
{
	const struct ipm_member *m = member(t, i);

	return m ? m->type : NULL;
}

const ipm_type *ipm_type_base(const ipm_type *t)
{
	return t && t->kind == IPM_STRUCT ? t->base : NULL;
}

const char *ipm_type_file(const ipm_type *t)
{
	return t && t->kind == IPM_STRUCT && t->file ? t->file : "<builtin>";
}

int ipm_type_line(const ipm_type *t)
{
	return t && t->kind == IPM_STRUCT ? t->line : 0;
}

/* By name: a schema refuses a second MmapStructureHeader, so the one a
 * structure can refer to is always the built-in one. */
int ipm_type_mappable(const ipm_type *t)
{
	const struct ipm_member *m = member(t, 0);

	return m && m->type->kind == IPM_STRUCT && !strcmp(m->type->name, IPM_HEADER_STRUCT);
}

uint64_t ipm_type_fingerprint(const ipm_type *t)
{
	return t && t->kind == IPM_STRUCT ? t->fingerprint : 0;
}
