/*
 * fuzz_text.c - libFuzzer target: text values of every kind, both ways.
 *
 * The first input byte picks a field of a schema that has one of every
 * scalar kind and strings of several lengths; the rest is, in turn:
 * - text for ipm_text_parse(): refused without touching the destination, or
 *   accepted, formatted by ipm_text_format(), and read back to the same bytes;
 * - raw bytes of a value: formatted, then parsed back to the same value.
 */
#include "ipmmap.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FT_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_text: %s:%d: %s\n", __FILE__, __LINE__, #cond);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static const char ft_schema_text[] = "[All]\n"
				     "header = MmapStructureHeader\n"
				     "i8 = int8\ni16 = int16\ni32 = int32\ni64 = int64\n"
				     "u8 = uint8\nu16 = uint16\nu32 = uint32\nu64 = uint64\n"
				     "f = float\nd = double\nb = bool\n"
				     "s1 = char[1]\ns2 = char[2]\ns4 = char[4]\ns16 = char[16]\n"
				     "s256 = char[256]\n"
				     "ld = longdouble\nw1 = c_wchar\nw8 = c_wchar * 8\n";
static const char *const ft_names[] = {"i8", "i16", "i32", "i64", "u8", "u16", "u32",
				       "u64", "f",   "d",   "b",   "s1", "s2",  "s4",
				       "s16", "s256", "ld", "w1", "w8"};
#define FT_NFIELDS (sizeof(ft_names) / sizeof(ft_names[0]))

static struct ipm_field ft_fields[FT_NFIELDS];

static void ft_init(void)
{
	static ipm_schema *s;
	size_t i;

	if (s)
		return;
	s = ipm_schema_new();
	FT_CHECK(s && ipm_schema_load_string(s, ft_schema_text, "all.ini") == 0);
	for (i = 0; i < FT_NFIELDS; i++)
		FT_CHECK(ipm_type_resolve(ipm_schema_find(s, "All"), ft_names[i], &ft_fields[i],
					  NULL) == 0);
	/* The schema lives as long as the process, as the fields need. */
}

/* Equal values: the same bytes, or two NaNs of the field's kind. */
static int ft_same(const struct ipm_field *f, const unsigned char *a, const unsigned char *b)
{
	float fa, fb;
	double da, db;

	if (f->kind == IPM_LONGDOUBLE) {
		/* Raw bytes may hold padding, or encodings the FPU never makes
		 * (pseudo-denormals, unnormals) that read back in their normal
		 * form: the same text is the same value. */
		char ta[64], tb[64];

		return ipm_text_format(f, a, ta, sizeof(ta)) > 0 &&
		       ipm_text_format(f, b, tb, sizeof(tb)) > 0 && !strcmp(ta, tb);
	}
	if (f->kind == IPM_FLOAT) {
		memcpy(&fa, a, 4);
		memcpy(&fb, b, 4);
		if (isnan(fa) || isnan(fb))
			return isnan(fa) && isnan(fb);
	} else if (f->kind == IPM_DOUBLE) {
		memcpy(&da, a, 8);
		memcpy(&db, b, 8);
		if (isnan(da) || isnan(db))
			return isnan(da) && isnan(db);
	}
	return memcmp(a, b, f->size) == 0;
}

/* Parses text, and if accepted checks it formats and reads back the same. */
static void ft_parse(const struct ipm_field *f, const char *text, size_t len)
{
	unsigned char v[256], v2[256], guard[256];
	char t[300], t2[300], err[IPM_ERRLEN];
	int rc, n, n2;

	memset(v, 0xa5, sizeof(v));
	memcpy(guard, v, sizeof(v));
	err[0] = '\0';
	rc = ipm_text_parse(f, text, len, v, err);
	if (rc < 0) {
		FT_CHECK(rc == -EINVAL || rc == -ERANGE);
		FT_CHECK(err[0] != '\0' && memchr(err, '\0', IPM_ERRLEN));
		FT_CHECK(memcmp(v, guard, sizeof(v)) == 0);
		return;
	}
	FT_CHECK(rc == 0);
	FT_CHECK(memcmp(v + f->size, guard + f->size, sizeof(v) - f->size) == 0);
	n = ipm_text_format(f, v, t, sizeof(t));
	FT_CHECK(n >= 0 && (size_t)n + 1 < sizeof(t) && strlen(t) == (size_t)n);
	/*
	 * Read back as a field file is: the text and one newline. Without it a
	 * string ending in a newline would lose it, since the parser takes one
	 * trailing newline for the end of the line (found by this target).
	 */
	t[n] = '\n';
	rc = ipm_text_parse(f, t, (size_t)n + 1, v2, err);
	t[n] = '\0';
	FT_CHECK(rc == 0);
	FT_CHECK(ft_same(f, v, v2));
	n2 = ipm_text_format(f, v2, t2, sizeof(t2));
	FT_CHECK(n2 == n && memcmp(t, t2, (size_t)n) == 0);
	/* A buffer one byte short is refused, never overrun. */
	if (n > 0)
		FT_CHECK(ipm_text_format(f, v, t2, (size_t)n) == -ENOSPC);
}

/* Formats raw bytes, and reads the text back to the same value. */
static void ft_format(const struct ipm_field *f, const unsigned char *raw)
{
	unsigned char v[256];
	char t[300], err[IPM_ERRLEN];
	int n, rc;

	n = ipm_text_format(f, raw, t, sizeof(t));
	FT_CHECK(n >= 0 && (size_t)n + 1 < sizeof(t));
	t[n] = '\n';
	rc = ipm_text_parse(f, t, (size_t)n + 1, v, err);
	t[n] = '\0';
	if (f->kind == IPM_STRING) {
		/* Bytes that are not UTF-8 are shown but cannot be written back. */
		if (rc == 0)
			FT_CHECK(strncmp((const char *)v, t, f->size) == 0);
		return;
	}
	if (f->kind == IPM_WSTRING) {
		/* Units that are no character show as U+FFFD: the text is stable. */
		char t2[300];

		FT_CHECK(rc == 0);
		FT_CHECK(ipm_text_format(f, v, t2, sizeof(t2)) == n && !strcmp(t, t2));
		return;
	}
	FT_CHECK(rc == 0);
	if (f->kind == IPM_BOOL)
		FT_CHECK(v[0] == (raw[0] != 0));
	else
		FT_CHECK(ft_same(f, raw, v));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct ipm_field *f;
	unsigned char raw[256];
	char *text;

	ft_init();
	if (size < 1)
		return 0;
	f = &ft_fields[data[0] % FT_NFIELDS];
	data++;
	size--;
	/* Exactly len bytes, no NUL after them: the parser must not read on. */
	text = malloc(size ? size : 1);
	FT_CHECK(text);
	memcpy(text, data, size);
	ft_parse(f, text, size);
	free(text);
	if (size >= f->size) {
		memcpy(raw, data, f->size);
		ft_format(f, raw);
	}
	return 0;
}
