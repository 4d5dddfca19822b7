/*
 * native_writer.c - the C writer of tests/python/18_binding_native.sh: says
 * whether a C handle finds the instance native, then updates several fields
 * of the demo structure together, in one write section each, N times, for
 * the binding's lock-free readers to catch in the middle:
 *
 *   $ native_writer conf/demo.ini MMAPDIR LOCKDIR TAG N
 *   native 1            (ipm_map_native() of its handle; then waits for a line)
 *   go                  <- on stdin
 *   done 20000          (after the last section)
 *
 * Update v sets data_int = v, data_xy.x = v, data_xy.y = -v,
 * multi_pts.multi_data_int = v, multi_pts.multi_points[23].y = v and
 * data_string = "v<v>": a reader that sees them disagree saw a torn state.
 *
 * Built by the test into its temp dir; not part of the library.
 */
#include "ipmmap.h"

#include <stdio.h>
#include <stdlib.h>

#define NF 5

static const char *const paths[NF] = {"data_int", "data_xy.x", "data_xy.y",
				      "multi_pts.multi_data_int", "multi_pts.multi_points[23].y"};

static int update(ipm_map *m, const struct ipm_field *f, const struct ipm_field *str, long v)
{
	char text[32];
	int rc = ipm_lock_write(m, -1);

	if (rc < 0)
		return rc;
	snprintf(text, sizeof(text), "v%ld", v);
	if ((rc = ipm_set_i64(m, &f[0], v)) < 0 || (rc = ipm_set_f64(m, &f[1], (double)v)) < 0 ||
	    (rc = ipm_set_f64(m, &f[2], (double)-v)) < 0 || (rc = ipm_set_i64(m, &f[3], v)) < 0 ||
	    (rc = ipm_set_f64(m, &f[4], (double)v)) < 0 || (rc = ipm_set_str(m, str, text)) < 0) {
		ipm_unlock(m);
		return rc;
	}
	return ipm_unlock(m);
}

int main(int argc, char **argv)
{
	struct ipm_open_opts o = {0};
	struct ipm_field f[NF], str;
	ipm_schema *s = NULL;
	ipm_map *m = NULL;
	char line[64];
	long n, v;
	int i, rc = 1;

	if (argc != 6) {
		fprintf(stderr, "usage: native_writer SCHEMA MMAPDIR LOCKDIR TAG N\n");
		return 2;
	}
	o.mmap_dir = argv[2];
	o.lock_dir = argv[3];
	n = atol(argv[5]);
	s = ipm_schema_new();
	if (!s || ipm_schema_load_file(s, argv[1]) < 0) {
		fprintf(stderr, "native_writer: %s\n", s ? ipm_schema_errmsg(s) : "out of memory");
		goto out;
	}
	m = ipm_map_new(s);
	if (!m || ipm_map_open(m, "DemoMmapStructure", argv[4], IPM_EDITOR, &o) < 0)
		goto fail;
	for (i = 0; i < NF; i++)
		if (ipm_map_resolve(m, paths[i], &f[i]) < 0)
			goto fail;
	if (ipm_map_resolve(m, "data_string", &str) < 0)
		goto fail;
	printf("native %d\n", ipm_map_native(m));
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		goto out;
	for (v = 1; v <= n; v++)
		if (update(m, f, &str, v) < 0)
			goto fail;
	printf("done %ld\n", n);
	fflush(stdout);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "native_writer: %s\n", m ? ipm_map_errmsg(m) : "out of memory");
out:
	ipm_map_free(m);
	ipm_schema_free(s);
	return rc;
}
