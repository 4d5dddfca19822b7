/*
 * demo_editor.c - the seed's demo_manager.py in C.
 *
 *   $ build/demo_editor            # creates .mmap/DemoMmapStructure_.mmap
 *   demo_editor: writing ./.mmap/DemoMmapStructure_.mmap once a second; Ctrl-C stops
 *   12:00:01  data_int=1804289383 data_string=8c0e5d1f-... data_xy=(0.394383, 0.783099)
 *             multi_points[0]=(0.79844, 0.911647)  locked 0.6 us
 *
 * Creates the demo instance as manager, then about once a second writes
 * random values to data_int, data_string (a fresh UUID-like text), data_xy
 * and multi_pts.multi_points[0] under one write lock, sets the timestamp,
 * and prints what it wrote with the time the locked section took.
 * SIGINT or SIGTERM ends it cleanly.
 *
 * It writes through `struct DemoMmapStructure` from the header that
 * `ipmmap header` generates from conf/demo.ini (build/demo.h), and opens the
 * instance with that header's layout fingerprint: if the schema changes and
 * the program is not rebuilt, the library refuses to open the file.
 */
#include "ipmmap.h"
#include "demo.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void uuid_like(char out[37], unsigned int *seed)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 36; i++)
		out[i] = (i == 8 || i == 13 || i == 18 || i == 23) ? '-' : hex[rand_r(seed) % 16];
	out[36] = '\0';
}

static double unit(unsigned int *seed)
{
	return rand_r(seed) / (double)RAND_MAX;
}

int main(int argc, char **argv)
{
	const char *schema_path = argc > 1 ? argv[1] : "conf/demo.ini";
	const char *tag = argc > 2 ? argv[2] : "";
	int cycles = argc > 3 ? atoi(argv[3]) : -1; /* for tests: stop after N writes */
	unsigned int seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	struct ipm_open_opts opts = {.fingerprint = DemoMmapStructure_FINGERPRINT};
	struct sigaction sa = {.sa_handler = on_signal};
	ipm_schema *s;
	ipm_map *m = NULL;
	int rc = 1;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	s = ipm_schema_new();
	if (!s || ipm_schema_load_file(s, schema_path) < 0) {
		fprintf(stderr, "demo_editor: %s\n", s ? ipm_schema_errmsg(s) : "out of memory");
		goto out;
	}
	m = ipm_map_new(s);
	if (!m || ipm_map_open(m, "DemoMmapStructure", tag, IPM_MANAGER, &opts) < 0) {
		fprintf(stderr, "demo_editor: %s\n", m ? ipm_map_errmsg(m) : "out of memory");
		goto out;
	}
	struct DemoMmapStructure *d = ipm_map_data(m);
	printf("demo_editor: writing %s once a second; Ctrl-C stops\n", ipm_map_path(m));

	while (!stop && cycles != 0) {
		struct DemoMmapStructure v;

		v.data_int = (int32_t)rand_r(&seed);
		uuid_like(v.data_string, &seed);
		v.data_xy.x = unit(&seed);
		v.data_xy.y = unit(&seed);
		v.multi_pts.multi_points[0].x = unit(&seed);
		v.multi_pts.multi_points[0].y = unit(&seed);

		double t0 = now_us();
		if (ipm_lock_write(m, -1) < 0) {
			fprintf(stderr, "demo_editor: %s\n", ipm_map_errmsg(m));
			goto out;
		}
		d->data_int = v.data_int;
		strncpy(d->data_string, v.data_string, sizeof(d->data_string));
		d->data_xy = v.data_xy;
		d->multi_pts.multi_points[0] = v.multi_pts.multi_points[0];
		ipm_map_touch(m);
		ipm_unlock(m);
		double took = now_us() - t0;

		time_t wall = time(NULL);
		char hms[16];
		strftime(hms, sizeof(hms), "%H:%M:%S", localtime(&wall));
		printf("%s  data_int=%d data_string=%s data_xy=(%g, %g) multi_points[0]=(%g, %g)  "
		       "locked %.1f us\n",
		       hms, v.data_int, v.data_string, v.data_xy.x, v.data_xy.y,
		       v.multi_pts.multi_points[0].x, v.multi_pts.multi_points[0].y, took);
		if (cycles > 0)
			cycles--;
		for (int i = 0; i < 10 && !stop && cycles != 0; i++)
			usleep(100000);
	}
	rc = 0;
out:
	ipm_map_free(m);
	ipm_schema_free(s);
	return rc;
}
