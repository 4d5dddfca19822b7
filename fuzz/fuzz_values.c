/*
 * fuzz_values.c - libFuzzer target: "path = value" lines, the text the
 * mount's .values takes and `ipmmap set STRUCT FILE` reads, through the
 * library's one parser and renderer (ipm_values_parse/format, lib/lines.c).
 *
 * The input is the text, parsed against a structure with a header, every
 * scalar kind, strings, a nested structure and an array: once to check and
 * once to collect, as the mount does at write() and at close, and once in
 * two pieces cut after a newline, as write() may bring it. Checked:
 * - all passes agree (result, lines counted, bytes), and the check pass
 *   collects nothing;
 * - every field collected lies inside the structure, is a leaf, never in
 *   the header, and at most one per line;
 * - the values parsed render (one line per leaf: no string forges a line)
 *   and parse back to the same bytes (a NaN to a NaN).
 */
#include "ipmmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FV_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_values: %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static const char fv_schema_text[] = "[P]\nx = double\ny = double\n"
				     "[In]\nn = int32\np = P[3]\nname = char[8]\n"
				     "[All]\n"
				     "header = MmapStructureHeader\n"
				     "i8 = int8\ni16 = int16\ni32 = int32\ni64 = int64\n"
				     "u8 = uint8\nu16 = uint16\nu32 = uint32\nu64 = uint64\n"
				     "f = float\nd = double\nb = bool\n"
				     "s1 = char[1]\ns16 = char[16]\ns256 = char[256]\n"
				     "in = In\narr = In[2]\n";

/* Leaves of All, of which 2 in the header. */
#define FV_LEAVES 40

static const ipm_type *fv_type(void)
{
	static ipm_schema *s;

	if (!s) {
		s = ipm_schema_new();
		FV_CHECK(s && ipm_schema_load_string(s, fv_schema_text, "all.ini") == 0);
	}
	/* The schema lives as long as the process. */
	return ipm_schema_find(s, "All");
}

/* Same value: equal bytes, or both NaN. */
static int fv_same(const struct ipm_field *f, const unsigned char *a, const unsigned char *b)
{
	if (!memcmp(a, b, f->size))
		return 1;
	if (f->kind == IPM_DOUBLE)
		return *(const double *)a != *(const double *)a &&
		       *(const double *)b != *(const double *)b;
	if (f->kind == IPM_FLOAT)
		return *(const float *)a != *(const float *)a &&
		       *(const float *)b != *(const float *)b;
	return 0;
}

/* The values v parsed render and parse back to the same. */
static void fv_round_trip(const ipm_type *t, const struct ipm_values *v)
{
	size_t tsize = ipm_type_size(t), len = ipm_values_textlen(t, NULL), nl = 0;
	struct ipm_field back_fields[FV_LEAVES];
	struct ipm_values w = {.fields = back_fields, .cap = FV_LEAVES};
	char *text = malloc(len);
	ssize_t n;

	w.bytes = calloc(1, tsize);
	FV_CHECK(text && w.bytes);
	n = ipm_values_format(t, NULL, v->bytes, text, len);
	FV_CHECK(n > 0 && (size_t)n < len);
	for (ssize_t i = 0; i < n; i++)
		nl += text[i] == '\n';
	FV_CHECK(nl == FV_LEAVES);
	FV_CHECK(ipm_values_parse(t, text, (size_t)n, &w, NULL) == 0);
	FV_CHECK(w.lines == FV_LEAVES && w.n == FV_LEAVES - 2);
	for (size_t i = 0; i < v->n; i++) {
		const struct ipm_field *f = &v->fields[i];

		FV_CHECK(fv_same(f, (const unsigned char *)v->bytes + f->offset,
				 (const unsigned char *)w.bytes + f->offset));
	}
	free(w.bytes);
	free(text);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const ipm_type *t = fv_type();
	const char *text = (const char *)data;
	size_t tsize = ipm_type_size(t), nl = 1, cut;
	size_t hend = ipm_type_field_offset(t, 0) + ipm_type_size(ipm_type_field_type(t, 0));
	struct ipm_values check = {0}, all = {0}, two = {0};
	const char *p;
	int rc, rc2, rc3;

	for (size_t i = 0; i < size; i++)
		nl += data[i] == '\n';
	check.bytes = calloc(1, tsize);
	all.bytes = calloc(1, tsize);
	two.bytes = calloc(1, tsize);
	all.fields = malloc(nl * sizeof(*all.fields));
	two.fields = malloc(nl * sizeof(*two.fields));
	all.cap = two.cap = nl;
	FV_CHECK(check.bytes && all.bytes && two.bytes && all.fields && two.fields);

	rc = ipm_values_parse(t, text, size, &check, NULL);
	FV_CHECK(rc == 0 || rc == -EINVAL || rc == -ERANGE || rc == -ENOMEM);
	FV_CHECK(check.n == 0 && check.lines <= nl);
	rc2 = ipm_values_parse(t, text, size, &all, NULL);
	FV_CHECK(rc2 == rc && all.lines == check.lines && all.n <= all.lines);
	FV_CHECK(!memcmp(check.bytes, all.bytes, tsize));

	/* In two pieces of whole lines. */
	p = memchr(text + size / 2, '\n', size - size / 2);
	cut = p ? (size_t)(p - text) + 1 : size;
	rc3 = ipm_values_parse(t, text, cut, &two, NULL);
	if (rc3 == 0)
		rc3 = ipm_values_parse(t, text + cut, size - cut, &two, NULL);
	FV_CHECK(rc3 == rc && two.lines == all.lines && two.n == all.n);
	FV_CHECK(!memcmp(two.bytes, all.bytes, tsize));

	for (size_t i = 0; i < all.n; i++) {
		const struct ipm_field *f = &all.fields[i];

		FV_CHECK(f->kind != IPM_ARRAY && f->kind != IPM_STRUCT && f->size > 0);
		FV_CHECK(f->offset >= hend && f->offset + f->size <= tsize);
	}
	if (rc == 0)
		fv_round_trip(t, &all);
	free(two.fields);
	free(all.fields);
	free(two.bytes);
	free(all.bytes);
	free(check.bytes);
	return 0;
}
