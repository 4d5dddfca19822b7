/*
 * fuzz_path.c - libFuzzer target: dotted paths on the demo schema.
 *
 * Run from the top of the repository (it loads conf/demo.ini). A path either
 * resolves to a field inside the structure, whose type is what the path's
 * last step says, or is refused with -ENOENT, -ERANGE or -EINVAL and a
 * message.
 */
#include "ipmmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FP_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_path: %s:%d: %s\n", __FILE__, __LINE__, #cond);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static const char fp_extra[] = "[Grid]\n"
			       "header = MmapStructureHeader\n"
			       "cells = int16[3][4]\n"
			       "pts = Point2D[2][2]\n"
			       "name = char[8]\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ipm_schema *s;
	static const ipm_type *types[4];
	char *path, err[IPM_ERRLEN];
	struct ipm_field f;
	size_t i;
	int rc;

	if (!s) {
		s = ipm_schema_new();
		FP_CHECK(s && ipm_schema_load_file(s, "conf/demo.ini") == 0);
		FP_CHECK(ipm_schema_load_string(s, fp_extra, "grid.ini") == 0);
		types[0] = ipm_schema_find(s, "DemoMmapStructure");
		types[1] = ipm_schema_find(s, "MultiPointsData");
		types[2] = ipm_schema_find(s, "Grid");
		types[3] = ipm_schema_find(s, "Point2D");
	}
	path = malloc(size + 1);
	FP_CHECK(path);
	memcpy(path, data, size);
	path[size] = '\0';
	for (i = 0; i < 4; i++) {
		memset(&f, 0xa5, sizeof(f));
		err[0] = '\0';
		rc = ipm_type_resolve(types[i], path, &f, err);
		if (rc < 0) {
			FP_CHECK(rc == -ENOENT || rc == -ERANGE || rc == -EINVAL);
			FP_CHECK(err[0] != '\0' && memchr(err, '\0', IPM_ERRLEN));
			continue;
		}
		FP_CHECK(rc == 0 && f.type);
		FP_CHECK(f.size == ipm_type_size(f.type) && f.kind == ipm_type_kind(f.type));
		FP_CHECK(f.offset <= ipm_type_size(types[i]) &&
			 f.size <= ipm_type_size(types[i]) - f.offset);
		FP_CHECK(ipm_type_resolve(types[i], path, &f, NULL) == 0);
	}
	free(path);
	return 0;
}
