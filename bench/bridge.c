/*
 * bridge.c - the measuring side of bench/bridge.sh (which starts two
 * ipmmap-bridge processes A and B on loopback):
 *
 *   bridgebench prop SCHEMA A B N    N writes of data_int on A, one at a time;
 *                                    each timed from just before A's write
 *                                    lock to ipm_map_wait() on B returning
 *                                    with B's memory holding the value.
 *                                    Prints "p50 p99 mean max" in µs.
 *   bridgebench rate SCHEMA A B SECS one writer on A as fast as it can for
 *                                    SECS; B is watched until it holds the
 *                                    last value. Prints "writes secs catchup_ms
 *                                    states_seen_on_B".
 *
 * A and B are host folders (A/mmap, A/locks); the instance
 * DemoMmapStructure exists on both. Nothing is asserted: a measurement.
 */
#include "ipmmap.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const sname = "DemoMmapStructure";

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void die(const char *what, ipm_map *m)
{
	fprintf(stderr, "bridgebench: %s: %s\n", what, m ? ipm_map_errmsg(m) : "");
	exit(1);
}

static ipm_map *open_host(ipm_schema *s, const char *dir, enum ipm_role role)
{
	char mm[4096], lk[4096];
	struct ipm_open_opts o = {.mmap_dir = mm, .lock_dir = lk};
	ipm_map *m = ipm_map_new(s);

	snprintf(mm, sizeof(mm), "%s/mmap", dir);
	snprintf(lk, sizeof(lk), "%s/locks", dir);
	if (!m || ipm_map_open(m, sname, "", role, &o) < 0)
		die(dir, m);
	return m;
}

/* A write of v on A: one write section with the time_stamp, as any writer. */
static void put(ipm_map *a, const struct ipm_field *f, int64_t v)
{
	if (ipm_lock_write(a, -1) < 0 || ipm_set_i64(a, f, v) < 0 || ipm_map_touch(a) < 0)
		die("write on A", a);
	ipm_unlock(a);
}

/* B's value and its change token, under one read lock. */
static int64_t look(ipm_map *b, const struct ipm_field *f, uint64_t *seen)
{
	int64_t v;

	if (ipm_lock_read(b, -1) < 0 || ipm_map_changes(b, seen) < 0 || ipm_get_i64(b, f, &v) < 0)
		die("read on B", b);
	ipm_unlock(b);
	return v;
}

/* Waits until B holds want; 0, or -ETIMEDOUT after 10 s. */
static int await(ipm_map *b, const struct ipm_field *f, int64_t want, int64_t *seen_states)
{
	int64_t deadline = now_ns() + 10000000000LL, last = INT64_MIN, v;
	uint64_t seen;

	for (;;) {
		v = look(b, f, &seen);
		if (v != last && seen_states)
			(*seen_states)++;
		last = v;
		if (v == want)
			return 0;
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		ipm_map_wait(b, seen, 1000);
	}
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return (a > b) - (a < b);
}

static int cmd_prop(ipm_map *a, ipm_map *b, const struct ipm_field *fa, const struct ipm_field *fb,
		    int n)
{
	int64_t *lat = calloc(n, sizeof(*lat)), base = now_ns() % 1000000 * 1000, sum = 0;
	int lost = 0;

	if (!lat)
		return 1;
	for (int i = 0; i < n; i++) {
		int64_t t0 = now_ns();

		put(a, fa, base + i);
		if (await(b, fb, base + i, NULL) < 0)
			lost++;
		lat[i] = now_ns() - t0;
		sum += lat[i];
	}
	qsort(lat, n, sizeof(*lat), cmp_i64);
	printf("%.1f %.1f %.1f %.1f %d\n", lat[n / 2] / 1e3, lat[(int)(0.99 * (n - 1) + 0.5)] / 1e3,
	       (double)sum / n / 1e3, lat[n - 1] / 1e3, lost);
	free(lat);
	return lost != 0;
}

struct writer {
	ipm_map *a;		   /* A's handle */
	const struct ipm_field *f; /* data_int */
	int64_t base;		   /* first value */
	int64_t end_ns;		   /* stop then */
	int64_t count;		   /* writes made */
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	while (now_ns() < w->end_ns)
		put(w->a, w->f, w->base + w->count++);
	return NULL;
}

static int cmd_rate(ipm_map *a, ipm_map *b, const struct ipm_field *fa, const struct ipm_field *fb,
		    double secs)
{
	struct writer w = {a, fa, now_ns() % 1000000 * 1000 + 500000000, 0, 0};
	int64_t t0, t1, states = 0;
	pthread_t thr;
	int rc;

	t0 = now_ns();
	w.end_ns = t0 + (int64_t)(secs * 1e9);
	if (pthread_create(&thr, NULL, writer_main, &w))
		return 1;
	pthread_join(thr, NULL);
	t1 = now_ns();
	rc = await(b, fb, w.base + w.count - 1, &states);
	printf("%lld %.3f %.1f %lld\n", (long long)w.count, (t1 - t0) / 1e9, (now_ns() - t1) / 1e6,
	       (long long)states);
	return rc < 0;
}

int main(int argc, char **argv)
{
	struct ipm_field fa, fb;
	ipm_schema *s;
	ipm_map *a, *b;
	int rc;

	if (argc != 6 || (strcmp(argv[1], "prop") && strcmp(argv[1], "rate"))) {
		fprintf(stderr, "usage: bridgebench prop|rate SCHEMA A B N|SECS\n");
		return 2;
	}
	s = ipm_schema_new();
	if (!s || ipm_schema_load_file(s, argv[2]) < 0) {
		fprintf(stderr, "bridgebench: %s\n", s ? ipm_schema_errmsg(s) : "out of memory");
		return 1;
	}
	a = open_host(s, argv[3], IPM_EDITOR);
	b = open_host(s, argv[4], IPM_READER);
	if (ipm_map_resolve(a, "data_int", &fa) < 0 || ipm_map_resolve(b, "data_int", &fb) < 0)
		die("data_int", a);
	if (!strcmp(argv[1], "prop"))
		rc = cmd_prop(a, b, &fa, &fb, atoi(argv[5]));
	else
		rc = cmd_rate(a, b, &fa, &fb, atof(argv[5]));
	ipm_map_free(a);
	ipm_map_free(b);
	ipm_schema_free(s);
	return rc;
}
