/*
 * schema.c - the schema: structure types by name and in order, the type
 * spellings (C and ctypes), and a load from start to end: its three passes
 * (schema_ini.c, layout.c), its "file:line: what is wrong" message, and the
 * move of what it made into the schema, all or nothing. See ipmmap.h, and
 * ipmmap_i.h for the passes.
 */
#include "ipmmap_i.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUILTIN_FILE "<builtin>"

/* ------------------------------------------------------------------------ */
/* The schema                                                                */
/* ------------------------------------------------------------------------ */

static void type_free(struct ipm_type *t)
{
	size_t i;

	for (i = 0; i < t->nfields; i++)
		free(t->fields[i].name);
	free(t->fields);
	free(t->name);
	free(t);
}

static void types_free(struct ipm_type *t)
{
	while (t) {
		struct ipm_type *next = t->next;

		type_free(t);
		t = next;
	}
}

ipm_schema *ipm_schema_new(void)
{
	ipm_schema *s = calloc(1, sizeof(*s));
	struct ipm_type *h = calloc(1, sizeof(*h));
	struct ipm_member *f = calloc(2, sizeof(*f));

	if (!s || !h || !f)
		goto fail;
	s->types = h;
	h->kind = IPM_STRUCT;
	h->fields = f;
	h->name = strdup(IPM_HEADER_STRUCT);
	f[0].name = strdup("header_code");
	f[1].name = strdup("time_stamp");
	f[0].type = &ipm_scalar_types[IPM_INT16];
	f[1].type = &ipm_scalar_types[IPM_DOUBLE];
	h->nfields = 2;
	h->file = BUILTIN_FILE;
	s->structs = malloc(8 * sizeof(*s->structs));
	if (!h->name || !f[0].name || !f[1].name || !s->structs ||
	    ipm_strmap_put(&s->names, h->name, h) ||
	    ipm_strmap_put(&s->nest, h->name, (void *)(uintptr_t)1))
		goto fail;
	s->cap = 8;
	s->structs[s->nstructs++] = h;
	ipm_layout_struct(h);
	ipm_layout_fingerprint(h);
	return s;
fail:
	if (s && s->types) {
		ipm_schema_free(s);
		return NULL;
	}
	free(f);
	free(h);
	free(s);
	return NULL;
}

void ipm_schema_free(ipm_schema *s)
{
	size_t i;

	if (!s)
		return;
	types_free(s->types);
	for (i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	free(s->structs);
	ipm_strmap_free(&s->names);
	ipm_strmap_free(&s->derived);
	ipm_strmap_free(&s->nest);
	free(s);
}

const char *ipm_schema_errmsg(const ipm_schema *s)
{
	return s ? s->err : "";
}

const ipm_type *ipm_schema_find(const ipm_schema *s, const char *name)
{
	return s && name ? ipm_strmap_get(&s->names, name) : NULL;
}

size_t ipm_schema_count(const ipm_schema *s)
{
	return s ? s->nstructs : 0;
}

const ipm_type *ipm_schema_at(const ipm_schema *s, size_t i)
{
	return s && i < s->nstructs ? s->structs[i] : NULL;
}

/* ------------------------------------------------------------------------ */
/* Names                                                                     */
/* ------------------------------------------------------------------------ */

/* Spellings of the scalar types; char, c_char, wchar and c_wchar are text
 * types (ipm_text_width()). IPM_LONGDOUBLE is ipm_longdouble_type, not one
 * of ipm_scalar_types. */
static const struct {
	const char *name; /* as written in a schema */
	int kind;	  /* enum ipm_kind; -1, -2: C long, unsigned long (as ssize_t, size_t) */
} scalar_names[] = {
    {"int8", IPM_INT8},
    {"int16", IPM_INT16},
    {"int32", IPM_INT32},
    {"int64", IPM_INT64},
    {"uint8", IPM_UINT8},
    {"uint16", IPM_UINT16},
    {"uint32", IPM_UINT32},
    {"uint64", IPM_UINT64},
    {"float", IPM_FLOAT},
    {"double", IPM_DOUBLE},
    {"bool", IPM_BOOL},
    {"c_int8", IPM_INT8},
    {"c_int16", IPM_INT16},
    {"c_int32", IPM_INT32},
    {"c_int64", IPM_INT64},
    {"c_uint8", IPM_UINT8},
    {"c_uint16", IPM_UINT16},
    {"c_uint32", IPM_UINT32},
    {"c_uint64", IPM_UINT64},
    {"c_byte", IPM_INT8},
    {"c_ubyte", IPM_UINT8},
    {"c_short", IPM_INT16},
    {"c_ushort", IPM_UINT16},
    {"c_int", IPM_INT32},
    {"c_uint", IPM_UINT32},
    {"c_long", -1},
    {"c_ulong", -2},
    {"c_longlong", IPM_INT64},
    {"c_ulonglong", IPM_UINT64},
    {"c_float", IPM_FLOAT},
    {"c_double", IPM_DOUBLE},
    {"c_bool", IPM_BOOL},
    {"c_size_t", -2},
    {"c_ssize_t", -1},
    {"c_time_t", sizeof(time_t) == 8 ? IPM_INT64 : IPM_INT32},
    {"longdouble", IPM_LONGDOUBLE},
    {"c_longdouble", IPM_LONGDOUBLE},
};

/* The scalar spelled name, or NULL. */
const struct ipm_type *ipm_scalar_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(scalar_names) / sizeof(scalar_names[0]); i++) {
		int k = scalar_names[i].kind;

		if (strcmp(scalar_names[i].name, name))
			continue;
		if (k == -1)
			k = sizeof(long) == 8 ? IPM_INT64 : IPM_INT32;
		else if (k == -2)
			k = sizeof(long) == 8 ? IPM_UINT64 : IPM_UINT32;
		else if (k == IPM_LONGDOUBLE)
			return &ipm_longdouble_type;
		return &ipm_scalar_types[k];
	}
	return NULL;
}

size_t ipm_text_width(const char *name)
{
	if (!strcmp(name, "char") || !strcmp(name, "c_char"))
		return 1;
	if (!strcmp(name, "wchar") || !strcmp(name, "c_wchar"))
		return IPM_WCHAR_SIZE;
	return 0;
}

/* Refused as names so that generated C headers compile. */

int ipm_load_fail(struct ipm_load *ld, int code, int line, const char *fmt, ...)
{
	va_list ap;

	if (ld->code)
		return ld->code;
	ld->code = code;
	ld->errline = line;
	va_start(ap, fmt);
	ipm_verrf(ld->err, code, fmt, ap);
	va_end(ap);
	return code;
}

int ipm_load_nomem(struct ipm_load *ld)
{
	return ipm_load_fail(ld, -ENOMEM, 0, "out of memory");
}

struct ipm_type *ipm_load_find_struct(struct ipm_load *ld, const char *name,
				      struct ipm_pstruct **psp)
{
	uintptr_t i = (uintptr_t)ipm_strmap_get(&ld->names, name);

	if (psp)
		*psp = i ? &ld->ps[i - 1] : NULL;
	if (i)
		return ld->ps[i - 1].t;
	return ipm_strmap_get(&ld->s->names, name);
}

/* Moves everything the load made into the schema; cannot fail half way. */
static int move_into_schema(struct ipm_load *ld)
{
	ipm_schema *s = ld->s;
	struct ipm_type **tail;
	char **files;
	size_t i;

	if (!ld->nps)
		return 0;
	if (s->nstructs + ld->nps > s->cap) {
		size_t cap = 2 * (s->nstructs + ld->nps);
		struct ipm_type **bigger = realloc(s->structs, cap * sizeof(*bigger));

		if (!bigger)
			return ipm_load_nomem(ld);
		s->structs = bigger;
		s->cap = cap;
	}
	files = realloc(s->files, (s->nfiles + 1) * sizeof(*files));
	if (!files)
		return ipm_load_nomem(ld);
	s->files = files;
	if (ipm_strmap_reserve(&s->names, s->names.n + ld->nps) ||
	    ipm_strmap_reserve(&s->nest, s->nest.n + ld->nps) ||
	    ipm_strmap_reserve(&s->derived, s->derived.n + ld->derived.n))
		return ipm_load_nomem(ld);

	/* from here on nothing allocates, so nothing can fail */
	assert(s->nstructs + ld->nps <= s->cap);
	for (i = 0; i < ld->nps; i++) {
		s->structs[s->nstructs++] = ld->ps[i].t;
		ipm_strmap_put_room(&s->names, ld->ps[i].t->name, ld->ps[i].t);
		ipm_strmap_put_room(&s->nest, ld->ps[i].t->name, (void *)(uintptr_t)ld->ps[i].nest);
	}
	for (i = 0; i < ld->derived.cap; i++)
		if (ld->derived.slots[i].key)
			ipm_strmap_put_room(&s->derived, ld->derived.slots[i].key,
					    ld->derived.slots[i].val);
	for (tail = &ld->types; *tail; tail = &(*tail)->next)
		;
	*tail = s->types;
	s->types = ld->types;
	ld->types = NULL;
	s->files[s->nfiles++] = ld->file;
	ld->file = NULL;
	return 0;
}

void ipm_pfield_free(struct ipm_pfield *pf)
{
	free(pf->name);
	free(pf->tname);
	free(pf->text);
}

/* Runs the passes, then moves their work into the schema or leaves the
 * message; frees the staging area either way. */
static int run_load(struct ipm_load *ld)
{
	ipm_schema *s = ld->s;
	size_t i;

	if (!ipm_load_read_ini(ld) && !ipm_load_layout(ld))
		move_into_schema(ld);

	if (ld->code) {
		size_t n = 0;

		if (ld->errline > 0)
			n = (size_t)snprintf(s->err, sizeof(s->err), "%s:%d: ", ld->file,
					     ld->errline);
		else if (ld->errline == 0)
			n = (size_t)snprintf(s->err, sizeof(s->err), "%s: ", ld->file);
		if (n < sizeof(s->err)) {
			size_t len = strlen(ld->err);

			if (len > sizeof(s->err) - n - 1)
				len = sizeof(s->err) - n - 1;
			memcpy(s->err + n, ld->err, len);
			s->err[n + len] = '\0';
		}
	}

	for (i = 0; i < ld->nps; i++) {
		size_t j;

		for (j = 0; j < ld->ps[i].nfields; j++)
			ipm_pfield_free(&ld->ps[i].fields[j]);
		free(ld->ps[i].fields);
		free(ld->ps[i].base);
		ipm_strmap_free(&ld->ps[i].fnames);
	}
	free(ld->ps);
	free(ld->stack);
	free(ld->line);
	ipm_lines_close(ld->lines);
	ipm_strmap_free(&ld->names);
	ipm_strmap_free(&ld->derived);
	types_free(ld->types);
	free(ld->file);
	return ld->code;
}

int ipm_schema_load_file(ipm_schema *s, const char *path)
{
	struct ipm_load ld = {.s = s};

	if (!s || !path)
		return -EINVAL;
	s->err[0] = '\0';
	ld.lines = ipm_lines_open(path, s->err);
	if (!ld.lines)
		return errno ? -errno : -EIO;
	ld.file = strdup(path);
	if (!ld.file) {
		ipm_lines_close(ld.lines);
		snprintf(s->err, sizeof(s->err), "%s: out of memory", path);
		return -ENOMEM;
	}
	return run_load(&ld);
}

int ipm_schema_load_string(ipm_schema *s, const char *text, const char *name)
{
	struct ipm_load ld = {.s = s};

	if (!s || !text)
		return -EINVAL;
	if (!name)
		name = "<string>";
	s->err[0] = '\0';
	ld.lines = ipm_lines_text(text, name);
	ld.file = strdup(name);
	if (!ld.lines || !ld.file) {
		ipm_lines_close(ld.lines);
		free(ld.file);
		snprintf(s->err, sizeof(s->err), "%s: out of memory", name);
		return -ENOMEM;
	}
	return run_load(&ld);
}
