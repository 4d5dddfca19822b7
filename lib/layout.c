/*
 * layout.c - structures laid out: the native C rules (sizes, alignments,
 * offsets), the layout fingerprint, and passes 2 and 3 of a schema load
 * (every name must exist; structures laid out depth first, after what they
 * contain, which finds cycles and makes the array and string types). See
 * ipmmap.h and ipmmap_i.h.
 *
 * The rules are the ones gcc and Python ctypes share on the platform: every
 * member at the next multiple of its alignment, a structure aligned as its
 * most aligned member, its size rounded up to that alignment.
 */
#include "ipmmap_i.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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

/* ctypes' c_longdouble is C's long double: on x86-64 the 80-bit extended
 * format in 16 bytes aligned to 16, its last 6 bytes padding. */
const struct ipm_type ipm_longdouble_type = {.kind = IPM_LONGDOUBLE,
					     .size = sizeof(long double),
					     .align = IPM_MEMBER_ALIGN(long double),
					     .name = "longdouble"};

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
 *
 * "_pack_ = N" caps the alignment of each own field at N, as ctypes' _pack_
 * and gcc's #pragma pack(N) do. A derived structure without its own _pack_
 * takes its base's (a Python class attribute is inherited), and its
 * alignment starts from the base's whole alignment, packed or not, as
 * ctypes computes it: B {int8 a; int64 b;}, D(B) {_pack_ = 1; int8 c; int64
 * d;} puts c at 16, d at 17, and sizeof(D) is 32. (C cannot say that with
 * #pragma pack, which would cap the base member's alignment too.)
 *
 * A union ("[U : Union]", ctypes.Union) puts every member at offset 0; its
 * size is its largest member's, rounded up to its alignment, which _pack_
 * caps as in a structure: gcc and ctypes agree on both.
 */
int ipm_layout_struct(struct ipm_type *t)
{
	size_t off = 0, end = 0, align = 1, first = 0, i, bits;

	if (t->base) {
		off = t->base->size;
		align = t->base->align;
		first = t->base->nfields;
	}
	bits = 8 * off;
	for (i = first; i < t->nfields; i++) {
		const struct ipm_type *ft = t->fields[i].type;
		size_t fa = t->pack && ft->align > t->pack ? t->pack : ft->align;

		if (fa > align)
			align = fa;
		if (t->fields[i].width) {
			/* a bit field, as gcc places it on the SysV ABIs: at the next
			 * free bit unless that crosses a boundary of its type's size,
			 * then at the next such boundary; a plain field after it takes
			 * the next free byte */
			size_t unit = 8 * ft->size, w = t->fields[i].width;

			if (bits / unit != (bits + w - 1) / unit)
				bits = round_up(bits, unit);
			t->fields[i].offset = bits / unit * ft->size;
			t->fields[i].bit = (unsigned char)(bits % unit);
			bits += w;
			off = (bits + 7) / 8;
			continue;
		}
		if (t->is_union) {
			/* a union: every member at 0, as large as its largest */
			t->fields[i].offset = 0;
			if (ft->size > end)
				end = ft->size;
			continue;
		}
		off = round_up(off, fa);
		if (ft->size > IPM_SIZE_LIMIT || off > IPM_SIZE_LIMIT - ft->size)
			return -EOVERFLOW;
		t->fields[i].offset = off;
		off += ft->size;
		bits = 8 * off;
	}
	if (end > off)
		off = end;
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
 *   "struct <name> <size> <align>\n" ("union ..." for a union)
 *   then per field, base's first: "<field> <type name> <offset> <size>\n",
 *   where a field whose type is a structure, or an array of one at any depth,
 *   has " {<that structure's fingerprint, 16 lowercase hex digits>}" before
 *   the newline, and a bit field " :<width>@<lowest bit>" after its size.
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
	h = fnv1a(h, t->is_union ? "union " : "struct ");
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
		if (m->width) {
			snprintf(num, sizeof(num), " :%u@%u", m->width, m->bit);
			h = fnv1a(h, num);
		}
		if (in->kind == IPM_STRUCT) {
			snprintf(num, sizeof(num), " {%016" PRIx64 "}", in->fingerprint);
			h = fnv1a(h, num);
		}
		h = fnv1a(h, "\n");
	}
	t->fingerprint = h;
}

/* ------------------------------------------------------------------------ */
/* Passes 2 and 3 of a schema load: references, then depth-first layout      */
/* ------------------------------------------------------------------------ */

/* Pass 2: every base and every structure a field names exists. */
static int check_references(struct ipm_load *ld)
{
	size_t i, j;

	for (i = 0; i < ld->nps; i++) {
		struct ipm_pstruct *ps = &ld->ps[i];

		if (ps->base && !ipm_load_find_struct(ld, ps->base, NULL))
			return ipm_load_fail(ld, -EINVAL, ps->t->line,
					     "unknown base structure '%s'", ps->base);
		for (j = 0; j < ps->nfields; j++) {
			struct ipm_pfield *pf = &ps->fields[j];

			if (!ipm_scalar_by_name(pf->tname) && !ipm_text_width(pf->tname) &&
			    !ipm_load_find_struct(ld, pf->tname, NULL))
				return ipm_load_fail(ld, -EINVAL, pf->line, "unknown type '%s'",
						     pf->tname);
		}
	}
	return 0;
}

/* The text or array type called name (allocated; taken over): the
 * schema's, this load's, or a new one of n elem (NULL elem: text of n
 * characters of width bytes, char[n] or wchar[n]). */
static const struct ipm_type *derived_type(struct ipm_load *ld, char *name,
					   const struct ipm_type *elem, size_t n, size_t width)
{
	struct ipm_type *t = ipm_strmap_get(&ld->s->derived, name);

	if (!t)
		t = ipm_strmap_get(&ld->derived, name);
	if (t) {
		free(name);
		return t;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		free(name);
		ipm_load_nomem(ld);
		return NULL;
	}
	t->name = name;
	t->count = n;
	if (elem) {
		t->kind = IPM_ARRAY;
		t->elem = elem;
		t->size = n * elem->size;
		t->align = elem->align;
	} else {
		t->kind = width == 1 ? IPM_STRING : IPM_WSTRING;
		t->size = n * width;
		t->align = width;
	}
	t->next = ld->types;
	ld->types = t;
	if (ipm_strmap_put(&ld->derived, t->name, t)) {
		ipm_load_nomem(ld);
		return NULL;
	}
	return t;
}

/* The type of field pf, whose named structure (if any) st is laid out. */
static const struct ipm_type *field_type(struct ipm_load *ld, const struct ipm_pfield *pf,
					 const struct ipm_type *st)
{
	const struct ipm_type *t;
	int i = pf->ndims - 1;
	char *name;

	size_t width = ipm_text_width(pf->tname);

	if (width) {
		size_t n = pf->ndims ? pf->dims[i--] : 1;

		/* IPM_SIZE_LIMIT keeps n * width far from overflowing */
		if (asprintf(&name, "%s[%zu]", width == 1 ? "char" : "wchar", n) < 0) {
			ipm_load_nomem(ld);
			return NULL;
		}
		t = derived_type(ld, name, NULL, n, width);
		if (t && t->size > IPM_SIZE_LIMIT) {
			ipm_load_fail(ld, -EINVAL, pf->line,
				      "'%s' is too large (more than %zu bytes)", pf->text,
				      IPM_SIZE_LIMIT);
			return NULL;
		}
	} else {
		t = ipm_scalar_by_name(pf->tname);
		if (!t)
			t = st;
	}
	for (; t && i >= 0; i--) {
		size_t n = pf->dims[i], at = strcspn(t->name, "[");

		if (t->size > IPM_SIZE_LIMIT / n) {
			ipm_load_fail(ld, -EINVAL, pf->line,
				      "'%s' is too large (more than %zu bytes)", pf->text,
				      IPM_SIZE_LIMIT);
			return NULL;
		}
		if (asprintf(&name, "%.*s[%zu]%s", (int)at, t->name, n, t->name + at) < 0) {
			ipm_load_nomem(ld);
			return NULL;
		}
		t = derived_type(ld, name, t, n, 0);
	}
	return t;
}

static int lay_out_depth_first(struct ipm_load *ld, struct ipm_pstruct *ps, bool via_base);

/* Reports the cycle from dep, on the stack, back to itself. Out of line, so
 * that the recursion does not carry the path buffer. */
static __attribute__((noinline)) void report_cycle(struct ipm_load *ld, struct ipm_pstruct *dep,
						   int line, bool via_base)
{
	const char *name = dep->t->name;
	char path[IPM_ERRLEN];
	bool all_base = via_base;
	size_t i, at, len = 0;

	/* dep is busy, so it is on the stack */
	for (at = ld->depth; ld->stack[at - 1].ps != dep; at--)
		assert(at > 1);
	for (i = at - 1; i < ld->depth; i++) {
		if (i >= at)
			all_base = all_base && ld->stack[i].via_base;
		len += (size_t)snprintf(path + len, len < sizeof(path) ? sizeof(path) - len : 0,
					"%s -> ", ld->stack[i].ps->t->name);
		if (len >= sizeof(path))
			len = sizeof(path) - 1;
	}
	ipm_load_fail(ld, -EINVAL, line, "'%s' %s itself (%s%s)", name,
		      all_base ? "inherits from" : "contains", path, name);
}

/* Nesting level of a structure that is laid out. */
static size_t nesting_of(struct ipm_load *ld, const struct ipm_type *t)
{
	struct ipm_pstruct *ps;

	ipm_load_find_struct(ld, t->name, &ps);
	return ps ? ps->nest : (uintptr_t)ipm_strmap_get(&ld->s->nest, t->name);
}

/* The structure called name, reached from the top of the stack at line, laid
 * out first if this load defines it and has not yet; NULL on a cycle or any
 * other error (ld->code). */
static const struct ipm_type *require_laid_out(struct ipm_load *ld, const char *name, int line,
					       bool via_base)
{
	struct ipm_pstruct *dep;
	struct ipm_type *t = ipm_load_find_struct(ld, name, &dep);

	if (!dep || dep->state == IPM_PS_DONE)
		return t;
	if (dep->state == IPM_PS_NEW)
		return lay_out_depth_first(ld, dep, via_base) ? NULL : t;
	report_cycle(ld, dep, line, via_base);
	return NULL;
}

static int fail_too_deep(struct ipm_load *ld, const struct ipm_type *t)
{
	return ipm_load_fail(ld, -EINVAL, t->line,
			     "'%s' is nested or derived too deeply (more than %d levels)", t->name,
			     IPM_NEST_MAX);
}

/* What a bit field may be: an integer of at least its width, as ctypes and
 * C take it, in a plain structure (gcc and ctypes place bit fields in
 * unions and packed structures differently from each other). */
static int check_bits(struct ipm_load *ld, const struct ipm_type *t,
		      const struct ipm_pfield *pf, const struct ipm_type *ft)
{
	if (ft->kind == IPM_BOOL) /* ctypes 3.11 reads and writes the whole byte */
		return ipm_load_fail(ld, -EINVAL, pf->line,
				     "bit field '%s' of bool is not supported: ctypes stores it as "
				     "a whole byte, over its neighbours",
				     pf->name);
	if (ft->kind > IPM_UINT64)
		return ipm_load_fail(ld, -EINVAL, pf->line,
				     "bit field '%s' must be an integer type, not '%s'", pf->name,
				     ft->name);
	if (pf->width > 8 * ft->size)
		return ipm_load_fail(ld, -EINVAL, pf->line,
				     "bit field '%s' has %u bits, more than its type's %zu",
				     pf->name, pf->width, 8 * ft->size);
	if (t->is_union || t->pack)
		return ipm_load_fail(ld, -EINVAL, pf->line,
				     "bit field '%s' in a %s is not supported", pf->name,
				     t->is_union ? "union" : "packed structure");
	return 0;
}

/* Lays out ps after everything it contains (depth first). */
static int lay_out_depth_first(struct ipm_load *ld, struct ipm_pstruct *ps, bool via_base)
{
	struct ipm_type *t = ps->t;
	const struct ipm_type *bt = NULL;
	struct ipm_strmap inherited = {0};
	size_t i, nbase = 0;

	/* every structure on the stack is one level in the one at its bottom */
	if (ld->depth == IPM_NEST_MAX)
		return fail_too_deep(ld, ld->stack[0].ps->t);
	ps->state = IPM_PS_BUSY;
	ps->nest = 1;
	ld->stack[ld->depth].ps = ps;
	ld->stack[ld->depth++].via_base = via_base;
	if (ps->base) {
		bt = require_laid_out(ld, ps->base, t->line, true);
		if (!bt)
			return ld->code;
		nbase = bt->nfields;
		ps->nest = nesting_of(ld, bt) + 1;
	}
	t->base = bt;
	t->pack = ps->pack ? ps->pack : bt ? bt->pack : 0;
	t->fields = calloc(nbase + ps->nfields, sizeof(*t->fields));
	if (!t->fields)
		return ipm_load_nomem(ld);
	for (i = 0; i < nbase; i++) {
		struct ipm_member *m = &t->fields[t->nfields];

		*m = bt->fields[i];
		m->name = strdup(bt->fields[i].name);
		if (!m->name)
			goto nomem;
		t->nfields++;
		if (ipm_strmap_put(&inherited, m->name, m))
			goto nomem;
	}
	for (i = 0; i < ps->nfields; i++) {
		struct ipm_pfield *pf = &ps->fields[i];
		struct ipm_member *m = &t->fields[t->nfields];
		const struct ipm_type *st = NULL;

		if (ipm_strmap_get(&inherited, pf->name)) {
			ipm_load_fail(ld, -EINVAL, pf->line,
				      "duplicate field '%s' in '%s' (inherited from '%s')",
				      pf->name, t->name, bt->name);
			goto out;
		}
		if (!ipm_scalar_by_name(pf->tname) && !ipm_text_width(pf->tname)) {
			st = require_laid_out(ld, pf->tname, pf->line, false);
			if (!st)
				goto out;
			if (nesting_of(ld, st) + 1 > ps->nest)
				ps->nest = nesting_of(ld, st) + 1;
		}
		m->type = field_type(ld, pf, st);
		if (!m->type)
			goto out;
		if (pf->width && check_bits(ld, t, pf, m->type))
			goto out;
		m->width = (unsigned char)pf->width;
		m->name = strdup(pf->name);
		if (!m->name)
			goto nomem;
		m->line = pf->line;
		t->nfields++;
	}
	if (ps->nest > IPM_NEST_MAX) {
		fail_too_deep(ld, t);
		goto out;
	}
	if (ipm_layout_struct(t)) {
		ipm_load_fail(ld, -EINVAL, t->line,
			      "structure '%s' is too large (more than %zu bytes)", t->name,
			      IPM_SIZE_LIMIT);
		goto out;
	}
	ipm_layout_fingerprint(t);
	ps->state = IPM_PS_DONE;
	assert(ld->depth && ld->stack[ld->depth - 1].ps == ps);
	ld->depth--;
	goto out;
nomem:
	ipm_load_nomem(ld);
out:
	ipm_strmap_free(&inherited);
	return ld->code;
}

int ipm_load_layout(struct ipm_load *ld)
{
	size_t i;

	if (check_references(ld))
		return ld->code;
	ld->stack = calloc(ld->nps + 1, sizeof(*ld->stack));
	if (!ld->stack)
		return ipm_load_nomem(ld);
	for (i = 0; !ld->code && i < ld->nps; i++)
		if (ld->ps[i].state == IPM_PS_NEW)
			lay_out_depth_first(ld, &ld->ps[i], false);
	return ld->code;
}
