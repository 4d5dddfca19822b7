/*
 * soak.c - the library side of tests/soak.sh.
 *
 *   soak SCHEMA MMAP LOCKS writer SECONDS ID   writes data_xy.x = v and
 *                                              data_xy.y = -v under one lock
 *   soak SCHEMA MMAP LOCKS reader SECONDS      reads both under one read lock
 *   soak SCHEMA MMAP LOCKS faults SECONDS      a careless admin: cuts the lock
 *                                              file and the data file short
 *
 * Writers keep v >= 1, and the data file is cut at data_xy.y: a value read
 * from a cut file pairs x with y = 0. The size canary (datafile.c) refuses
 * every read of a file once cut; while truncate() is zeroing the page's
 * tail (after the new size is set, before the canary past the structure is
 * reached) a read may still see y = 0: the one window the library leaves
 * open rather than pay a system call per access (README, "Damaged files").
 * Such a pair is counted as "cutwin", apart from torn pairs (y != 0): a
 * canary that failed would give hundreds a cut, the window about one a
 * minute, and tests/soak.sh fails on more than one per cut.
 *
 * Prints "ops N torn T cutwin C eio I errors E" at the end; exits 1 if T or
 * E is non-zero. -EIO (a damaged file said so) is counted apart: it is the
 * right answer while a file is cut.
 */
#include "ipmmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CUT_AT 288 /* data_xy.y of the demo structure: x stays, y is cut */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void nap_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* The OFD write lock on the lock file, as the library would take it but
 * announcing nothing: the admin's restore must not race a writer. */
static int raw_lock(int fd, int type)
{
	struct flock fl = {.l_type = (short)type, .l_whence = SEEK_SET};

	return fcntl(fd, F_OFD_SETLKW, &fl);
}

/*
 * Every 50-150 ms, one of: the lock file cut to 0 or to 4096 bytes (handles
 * grow it back); the data file cut at data_xy.y, or to nothing, for 30 ms,
 * then put back as it was before the cut (a snapshot taken under the read
 * lock, written back under the write lock: whatever was written between
 * snapshot and cut is lost, as an admin's restore loses it).
 */
static int faults(ipm_map *m, double end)
{
	unsigned long lcuts = 0, dcuts = 0, restores = 0, errors = 0;
	size_t size = ipm_map_size(m);
	unsigned char *snap = malloc(size);
	int lfd = open(ipm_map_lock_path(m), O_RDWR | O_CLOEXEC);
	unsigned seed = (unsigned)getpid();

	if (!snap || lfd < 0)
		return 2;
	/* Everyone opens first: opening a cut file is refused by design, and
	 * that is not what this run measures. */
	nap_ms(2000);
	while (now() < end) {
		int what = (int)(rand_r(&seed) % 4);

		if (what < 2) {
			if (truncate(ipm_map_lock_path(m), what ? 4096 : 0) < 0)
				errors++;
			lcuts++;
		} else if (ipm_map_copy(m, snap, size) == 0) {
			if (truncate(ipm_map_path(m), what == 2 ? CUT_AT : 0) < 0)
				errors++;
			dcuts++;
			nap_ms(30);
			int dfd = open(ipm_map_path(m), O_WRONLY | O_CLOEXEC);

			if (dfd < 0 || raw_lock(lfd, F_WRLCK) < 0 ||
			    pwrite(dfd, snap, size, 0) != (ssize_t)size)
				errors++;
			raw_lock(lfd, F_UNLCK);
			if (dfd >= 0)
				close(dfd);
			restores++;
		}
		nap_ms(50 + (int)(rand_r(&seed) % 100));
	}
	printf("ops %lu lockcuts %lu datacuts %lu restores %lu torn 0 eio 0 errors %lu\n",
	       lcuts + dcuts, lcuts, dcuts, restores, errors);
	free(snap);
	close(lfd);
	return errors != 0;
}

int main(int argc, char **argv)
{
	struct ipm_open_opts o;
	unsigned long ops = 0, torn = 0, cutwin = 0, eio = 0, errors = 0;
	struct ipm_field fx, fy;
	int writer, id, rc;
	enum ipm_role role;
	double end, x, y, v;
	ipm_schema *s;
	ipm_map *m;

	if (argc < 6)
		return 2;
	memset(&o, 0, sizeof(o));
	o.mmap_dir = argv[2];
	o.lock_dir = argv[3];
	writer = !strcmp(argv[4], "writer");
	role = writer ? IPM_EDITOR : IPM_READER;
	id = argc > 6 ? atoi(argv[6]) : 0;
	end = now() + atof(argv[5]);
	s = ipm_schema_new();
	if (!s || ipm_schema_load_file(s, argv[1]) < 0)
		return 2;
	m = ipm_map_new(s);
	if (!m ||
	    ipm_map_open(m, "DemoMmapStructure", "", role, &o) < 0 ||
	    ipm_map_resolve(m, "data_xy.x", &fx) < 0 || ipm_map_resolve(m, "data_xy.y", &fy) < 0) {
		fprintf(stderr, "soak: %s\n", ipm_map_errmsg(m));
		return 2;
	}
	if (!strcmp(argv[4], "faults")) {
		rc = faults(m, end);
		ipm_map_free(m);
		ipm_schema_free(s);
		return rc;
	}
	v = id * 1e9;
	while (now() < end) {
		if (writer) {
			v += 1;
			rc = ipm_lock_write(m, 5000);
			if (rc == 0)
				rc = ipm_set_f64(m, &fx, v);
			if (rc == 0)
				rc = ipm_set_f64(m, &fy, -v);
			if (rc == 0)
				rc = ipm_map_touch(m);
		} else {
			rc = ipm_lock_read(m, 5000);
			if (rc == 0)
				rc = ipm_get_f64(m, &fx, &x);
			if (rc == 0)
				rc = ipm_get_f64(m, &fy, &y);
			if (rc == 0 && x != -y && y == 0 && x != 0)
				cutwin++;
			else if (rc == 0 && x != -y && torn++ < 5)
				fprintf(stderr, "soak: torn: x %.1f y %.1f\n", x, y);
		}
		if (ipm_unlock(m) < 0 && rc == 0)
			rc = -EIO; /* a section whose file was cut meanwhile */
		if (rc == -EIO)
			eio++;
		else if (rc < 0) {
			if (errors++ < 5)
				fprintf(stderr, "soak: %s\n", ipm_map_errmsg(m));
		}
		ops++;
	}
	printf("ops %lu torn %lu cutwin %lu eio %lu errors %lu\n", ops, torn, cutwin, eio, errors);
	ipm_map_free(m);
	ipm_schema_free(s);
	return torn || errors;
}
