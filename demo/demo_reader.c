/*
 * demo_reader.c - the seed's demo_reader.py in C.
 *
 *   $ build/demo_reader
 *   12:00:01.503  data_int=1804289383 data_string=8c0e5d1f-... data_xy=(0.394383, 0.783099)
 *                 multi_points[0]=(0.79844, 0.911647)
 *
 * Opens the demo instance as a reader (O_RDONLY, PROT_READ), copies the
 * structure under one read lock and prints it when its header timestamp
 * changed. Where the Python reader polls ten times a second, this one sleeps
 * in ipm_map_wait() until a writer finishes: a C writer wakes it within
 * microseconds, a Python writer within IPM_WAIT_POLL_MS. Built, like demo_editor, on the header
 * generated from conf/demo.ini, and opened with its layout fingerprint.
 * SIGINT or SIGTERM ends it cleanly.
 */
#include "ipmmap.h"
#include "demo.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	const char *schema_path = argc > 1 ? argv[1] : "conf/demo.ini";
	const char *tag = argc > 2 ? argv[2] : "";
	int changes = argc > 3 ? atoi(argv[3]) : -1; /* for tests: stop after N */
	struct ipm_open_opts opts = {.fingerprint = DemoMmapStructure_FINGERPRINT};
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: ends waits */
	ipm_schema *s;
	ipm_map *m = NULL;
	double seen = -1;
	int rc = 1;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	s = ipm_schema_new();
	if (!s || ipm_schema_load_file(s, schema_path) < 0) {
		fprintf(stderr, "demo_reader: %s\n", s ? ipm_schema_errmsg(s) : "out of memory");
		goto out;
	}
	m = ipm_map_new(s);
	if (!m || ipm_map_open(m, "DemoMmapStructure", tag, IPM_READER, &opts) < 0)
		goto fail;

	while (!stop && changes != 0) {
		struct DemoMmapStructure v;
		uint64_t token;
		int w;

		/* The token under the same read lock as the copy: no change is
		 * missed between them. */
		if (ipm_lock_read(m, -1) < 0) {
			if (stop) /* the signal ended the lock wait */
				break;
			goto fail;
		}
		ipm_map_changes(m, &token);
		w = ipm_map_copy(m, &v, sizeof(v));
		ipm_unlock(m);
		if (w < 0)
			goto fail;
		if (v.header.time_stamp != seen) {
			time_t sec = (time_t)v.header.time_stamp;
			char hms[16];

			strftime(hms, sizeof(hms), "%H:%M:%S", localtime(&sec));
			printf("%s.%03d  data_int=%d data_string=%.256s data_xy=(%g, %g) "
			       "multi_points[0]=(%g, %g)\n",
			       hms, (int)((v.header.time_stamp - (double)sec) * 1000), v.data_int,
			       v.data_string, v.data_xy.x, v.data_xy.y,
			       v.multi_pts.multi_points[0].x, v.multi_pts.multi_points[0].y);
			seen = v.header.time_stamp;
			if (changes > 0)
				changes--;
		}
		/* Finite waits, so that a signal landing just before one starts
		 * still stops us soon. */
		do
			w = changes != 0 ? ipm_map_wait(m, token, 250) : 0;
		while ((w == -ETIMEDOUT || w == -EINTR) && !stop);
		if (w < 0 && !stop)
			goto fail;
	}
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "demo_reader: %s\n", m ? ipm_map_errmsg(m) : "out of memory");
out:
	ipm_map_free(m);
	ipm_schema_free(s);
	return rc;
}
