/*
 * fuzz_describe.c - libFuzzer target: the reader of stored definitions
 * (ipm_definition_parse()) on arbitrary bytes, as a damaged, truncated or
 * hostile <Struct>_<tag>.schema file would give them.
 *
 *   make fuzz FUZZ_TARGETS=describe FUZZ_SECONDS=600
 *
 * A read either fails with a message that names the input and hands out
 * nothing, or gives a mappable structure of the size and fingerprint its
 * header says, whose own definition (ipm_type_describe()) reads back to the
 * same layout and is a fixed point of describing.
 */
#include "ipmmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stops the run with the reason when an invariant does not hold. */
#define FD_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_describe: %s:%d: %s\n", __FILE__, __LINE__, #cond);  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const ipm_type *t = (const ipm_type *)1, *t2;
	ipm_schema *s = (ipm_schema *)1, *s2;
	char err[IPM_ERRLEN], *out = NULL, *again = NULL;
	int rc, n;

	rc = ipm_definition_parse(text, size, "fuzz.schema", NULL, 0, &s, &t, err);
	if (rc < 0) {
		FD_CHECK(rc == -EINVAL || rc == -EFBIG || rc == -ENOMEM);
		FD_CHECK(!s && !t);
		FD_CHECK(!strncmp(err, "fuzz.schema", 11) || rc == -ENOMEM);
		return 0;
	}
	FD_CHECK(rc == 0 && s && t);
	FD_CHECK(ipm_type_mappable(t));
	FD_CHECK(ipm_type_size(t) > 0);
	/* What it asks for is checked too. */
	FD_CHECK(ipm_definition_parse(text, size, "again", ipm_type_name(t), ipm_type_size(t), &s2,
				      &t2, err) == 0);
	FD_CHECK(ipm_type_fingerprint(t2) == ipm_type_fingerprint(t));
	ipm_schema_free(s2);
	FD_CHECK(ipm_definition_parse(text, size, "again", NULL, ipm_type_size(t) + 8, &s2, &t2,
				      err) == -EINVAL);
	/* Described again, it reads back alike, and describing that is a
	 * fixed point. */
	n = ipm_type_describe(t, &out, err);
	if (n >= 0) {
		FD_CHECK(ipm_definition_parse(out, (size_t)n, "out", ipm_type_name(t),
					      ipm_type_size(t), &s2, &t2, err) == 0);
		FD_CHECK(ipm_type_fingerprint(t2) == ipm_type_fingerprint(t));
		FD_CHECK(ipm_type_describe(t2, &again, err) == n);
		FD_CHECK(!strcmp(out, again));
		ipm_schema_free(s2);
	} else {
		/* Only a text too long for the cap may fail: the input's own
		 * comments and spacing do not count against it. */
		FD_CHECK(n == -EFBIG || n == -ENOMEM);
	}
	free(again);
	free(out);
	ipm_schema_free(s);
	return 0;
}
