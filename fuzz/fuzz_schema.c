/*
 * fuzz_schema.c - libFuzzer target: the schema loader on arbitrary text.
 *
 *   make fuzz FUZZ_SECONDS=600
 *
 * A load either fails with a "name:line: ..." message and leaves the schema
 * as it was, or succeeds with types whose layout holds together: every field
 * inside its structure, every field's path resolving to that field.
 */
#include "ipmmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stops the run with the reason when an invariant does not hold. */
#define FS_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_schema: %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void fs_check_type(const ipm_type *t)
{
	size_t i, n = ipm_type_nfields(t);
	char err[IPM_ERRLEN];

	FS_CHECK(ipm_type_kind(t) == IPM_STRUCT);
	FS_CHECK(ipm_type_align(t) > 0 && ipm_type_size(t) % ipm_type_align(t) == 0);
	for (i = 0; i < n; i++) {
		const char *name = ipm_type_field_name(t, i);
		const ipm_type *ft = ipm_type_field_type(t, i);
		size_t off = ipm_type_field_offset(t, i);
		struct ipm_field f;

		FS_CHECK(name && ft);
		FS_CHECK(off <= ipm_type_size(t) && ipm_type_size(ft) <= ipm_type_size(t) - off);
		FS_CHECK(off % ipm_type_align(ft) == 0);
		FS_CHECK(ipm_type_resolve(t, name, &f, err) == 0);
		FS_CHECK(f.offset == off && f.size == ipm_type_size(ft) && f.type == ft);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ipm_schema *s = ipm_schema_new();
	char *text = malloc(size + 1);
	size_t i, before;
	int rc;

	FS_CHECK(s && text);
	memcpy(text, data, size);
	text[size] = '\0';
	before = ipm_schema_count(s);
	rc = ipm_schema_load_string(s, text, "fuzz.ini");
	if (rc < 0) {
		/* All or nothing, with a message that names the input. */
		FS_CHECK(ipm_schema_count(s) == before);
		FS_CHECK(strncmp(ipm_schema_errmsg(s), "fuzz.ini", 8) == 0 || rc == -ENOMEM);
	} else {
		FS_CHECK(rc == 0);
		for (i = 0; i < ipm_schema_count(s); i++) {
			const ipm_type *t = ipm_schema_at(s, i);

			FS_CHECK(ipm_schema_find(s, ipm_type_name(t)) == t);
			fs_check_type(t);
			(void)ipm_type_fingerprint(t);
			(void)ipm_type_mappable(t);
		}
		/* Loading the same text again must fail: every name is taken. */
		FS_CHECK(ipm_schema_count(s) == before ||
			 ipm_schema_load_string(s, text, "again.ini") < 0);
	}
	ipm_schema_free(s);
	free(text);
	return 0;
}
