/*
 * type.c - what a type is, for walkers, generators and checkers: the
 * ipm_type_* getters. See ipmmap.h.
 */
#include "ipmmap_i.h"

#include <string.h>

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
	return t && (t->kind == IPM_ARRAY || ipm_kind_text(t->kind)) ? t->count : 0;
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

unsigned ipm_type_field_bits(const ipm_type *t, size_t i, unsigned *bit)
{
	const struct ipm_member *m = member(t, i);

	if (bit)
		*bit = m ? m->bit : 0;
	return m ? m->width : 0;
}

const ipm_type *ipm_type_base(const ipm_type *t)
{
	return t && t->kind == IPM_STRUCT ? t->base : NULL;
}

size_t ipm_type_pack(const ipm_type *t)
{
	return t && t->kind == IPM_STRUCT ? t->pack : 0;
}

int ipm_type_is_union(const ipm_type *t)
{
	return t && t->kind == IPM_STRUCT && t->is_union;
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

	return m && !t->is_union && m->type->kind == IPM_STRUCT && !strcmp(m->type->name, IPM_HEADER_STRUCT);
}

uint64_t ipm_type_fingerprint(const ipm_type *t)
{
	return t && t->kind == IPM_STRUCT ? t->fingerprint : 0;
}
