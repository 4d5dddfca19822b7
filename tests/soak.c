/*
 * soak.c - the library side of tests/soak.sh.
 *
 *   soak SCHEMA MMAP LOCKS writer SECONDS ID   writes data_xy.x = v and
 *                                              data_xy.y = -v under one lock
 *   soak SCHEMA MMAP LOCKS reader SECONDS      reads both under one read lock
 *
 * Prints "ops N torn T errors E" at the end; exits 1 if T or E is non-zero.
 */
#include "ipmmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct ipm_open_opts o;
	unsigned long ops = 0, torn = 0, errors = 0;
	struct ipm_field fx, fy;
	int writer, id;
	double end, x, y, v;
	ipm_schema *s;
	ipm_map *m;

	if (argc < 6)
		return 2;
	memset(&o, 0, sizeof(o));
	o.mmap_dir = argv[2];
	o.lock_dir = argv[3];
	writer = !strcmp(argv[4], "writer");
	id = argc > 6 ? atoi(argv[6]) : 0;
	end = now() + atof(argv[5]);
	s = ipm_schema_new();
	if (!s || ipm_schema_load_file(s, argv[1]) < 0)
		return 2;
	m = ipm_map_new(s);
	if (!m ||
	    ipm_map_open(m, "DemoMmapStructure", "", writer ? IPM_EDITOR : IPM_READER, &o) < 0 ||
	    ipm_map_resolve(m, "data_xy.x", &fx) < 0 || ipm_map_resolve(m, "data_xy.y", &fy) < 0) {
		fprintf(stderr, "soak: %s\n", ipm_map_errmsg(m));
		return 2;
	}
	v = id * 1e9;
	while (now() < end) {
		if (writer) {
			v += 1;
			if (ipm_lock_write(m, 5000) < 0 || ipm_set_f64(m, &fx, v) < 0 ||
			    ipm_set_f64(m, &fy, -v) < 0 || ipm_map_touch(m) < 0)
				errors++;
		} else {
			if (ipm_lock_read(m, 5000) < 0 || ipm_get_f64(m, &fx, &x) < 0 ||
			    ipm_get_f64(m, &fy, &y) < 0)
				errors++;
			else if (x != -y)
				torn++;
		}
		ipm_unlock(m);
		ops++;
	}
	printf("ops %lu torn %lu errors %lu\n", ops, torn, errors);
	ipm_map_free(m);
	ipm_schema_free(s);
	return torn || errors;
}
