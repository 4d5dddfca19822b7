/*
 * values.c - the lines written to .values, checked and collected by the
 * library's one "path = value" parser (ipm_values_parse(), lib/lines.c),
 * without FUSE: the mount and fuzz/fuzz_values.c both use it.
 */
#include <stdint.h>

#include "fs.h"

/* See fs.h. */
int fs_values_parse(const ipm_type *type, unsigned char *scratch, const char *text, size_t len,
		    struct ipm_field *set, size_t *nset, unsigned *lines)
{
	/* The caller makes room for one field per line. */
	struct ipm_values v = {.bytes = scratch, .fields = set, .cap = set ? SIZE_MAX : 0,
			       .n = *nset, .lines = *lines};
	int rc = ipm_values_parse(type, text, len, &v, NULL);

	*nset = v.n;
	*lines = v.lines;
	return rc;
}
