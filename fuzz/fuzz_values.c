/*
 * fuzz_values.c - libFuzzer target: text written to a .values file of the
 * mount, through fs_values_parse() (fs/values.c, no FUSE).
 *
 * The input is the text, parsed against a structure with a header, every
 * scalar kind, strings, a nested structure and an array, once to check and
 * once to collect, as the mount does at write() and at close. Checked:
 * - both passes agree (result, lines counted) and the check pass collects
 *   nothing;
 * - every field collected lies inside the structure, is a leaf, never in
 *   the header, and at most one per line;
 * - the value parsed for it formats and parses back to the same bytes.
 * Built with fs/values.c and the library; fs/fs.h needs FUSE's headers, not
 * its library.
 */
#include "fs.h"

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

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const ipm_type *t = fv_type();
	size_t tsize = ipm_type_size(t), nset = 0, nset2 = 0, nl = 1;
	size_t hend = ipm_type_field_offset(t, 0) + ipm_type_size(ipm_type_field_type(t, 0));
	unsigned char *scratch = calloc(1, tsize), *back = malloc(tsize);
	char text[IPM_SCALAR_TEXTLEN + 300];
	unsigned lines = 0, lines2 = 0;
	struct ipm_field *set;
	int rc, rc2;

	for (size_t i = 0; i < size; i++)
		nl += data[i] == '\n';
	set = malloc(nl * sizeof(*set));
	FV_CHECK(scratch && back && set);
	rc = fs_values_parse(t, scratch, (const char *)data, size, NULL, &nset, &lines);
	FV_CHECK(rc == 0 || rc == -EINVAL || rc == -ERANGE || rc == -ENOMEM);
	FV_CHECK(nset == 0 && lines <= nl);
	memset(scratch, 0, tsize);
	rc2 = fs_values_parse(t, scratch, (const char *)data, size, set, &nset2, &lines2);
	FV_CHECK(rc2 == rc && lines2 == lines && nset2 <= lines2);
	for (size_t i = 0; rc == 0 && i < nset2; i++) {
		const struct ipm_field *f = &set[i];
		int n;

		FV_CHECK(f->kind < IPM_ARRAY && f->size > 0);
		FV_CHECK(f->offset >= hend && f->offset + f->size <= tsize);
		if (f->kind == IPM_STRING) {
			/* A char[N] may be full (no NUL), and a field file
			 * takes a newline at its end as the end of the text:
			 * no round trip through ipm_text_parse(). */
			continue;
		}
		n = ipm_text_format(f, scratch + f->offset, text, sizeof(text));
		FV_CHECK(n >= 0 && (size_t)n < sizeof(text));
		FV_CHECK(ipm_text_parse(f, text, (size_t)n, back, NULL) == 0);
		if (f->kind != IPM_FLOAT && f->kind != IPM_DOUBLE)
			FV_CHECK(memcmp(back, scratch + f->offset, f->size) == 0);
		else
			FV_CHECK(memcmp(back, scratch + f->offset, f->size) == 0 ||
				 (f->kind == IPM_DOUBLE ? *(double *)back != *(double *)back
							: *(float *)back != *(float *)back));
	}
	free(set);
	free(back);
	free(scratch);
	return 0;
}
