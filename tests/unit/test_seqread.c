/*
 * test_seqread.c - reads without a lock on a native instance (seqread.c):
 * the mode and who sets it, no torn read while a writer writes several
 * fields together, a writer killed inside its section (readers get the last
 * whole update at once, the next writer restores it), a live writer in a
 * long section (readers wait in the kernel, never spin), damaged and
 * replaced files, and a compat instance that still locks against a foreign
 * (fasteners-like, POSIX lockf) writer.
 *
 * The torn-read run lasts IPM_SEQ_SECONDS (default 1.5 s); make soak runs
 * it for 60 s. Processes meet through pipes; a child opens its own handles.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

/* AddressSanitizer handles SIGBUS itself unless told not to; the library
 * guards only over the default disposition. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "handle_sigbus=0";
}

/* cmocka puts its own SIGBUS handler in place while a test runs: main()
 * lets the library install the guard first, and a test that cuts files
 * puts it back (as test_guard.c does). */
static struct sigaction guard_handler;

static void guard_back(void)
{
	assert_int_equal(sigaction(SIGBUS, &guard_handler, NULL), 0);
}

static const char schema_text[] = "[Pair]\n"
				  "x = int64\n"
				  "y = int64\n"
				  "\n"
				  "[Seq]\n"
				  "header = MmapStructureHeader\n"
				  "a = int64\n"
				  "note = char[48]\n"
				  "pad = uint8[200]\n"
				  "pair = Pair\n"
				  "b = int64\n"
				  "tail = uint8[300]\n"
				  "c = int64\n";

struct fix {
	struct unit_inst u; /* schema, directory, manager handle (native) */
	struct ipm_field a, note, pair, b, c, x, y;
};

static struct fix *fx;

static void resolve(ipm_map *m, const char *path, struct ipm_field *f)
{
	if (ipm_map_resolve(m, path, f) < 0)
		fail_msg("%s", ipm_map_errmsg(m));
}

/* The manager opened again with flags (the mode it records). */
static void manager_flags(unsigned flags)
{
	ipm_map_close(fx->u.m);
	fx->u.opts.flags = flags;
	if (ipm_map_open(fx->u.m, "Seq", "", IPM_MANAGER, &fx->u.opts) < 0)
		fail_msg("%s", ipm_map_errmsg(fx->u.m));
	fx->u.opts.flags = 0;
}

static int setup(void **state)
{
	int rc;

	rc = unit_inst_setup(state, sizeof(struct fix), schema_text, "Seq", "seqread", 0);
	fx = *state;
	if (rc < 0)
		return rc;
	fx->u.opts.flags = IPM_NATIVE;
	ipm_map_close(fx->u.m);
	if (ipm_map_open(fx->u.m, "Seq", "", IPM_MANAGER, &fx->u.opts) < 0)
		return -1;
	fx->u.opts.flags = 0;
	resolve(fx->u.m, "a", &fx->a);
	resolve(fx->u.m, "note", &fx->note);
	resolve(fx->u.m, "pair", &fx->pair);
	resolve(fx->u.m, "b", &fx->b);
	resolve(fx->u.m, "c", &fx->c);
	resolve(fx->u.m, "pair.x", &fx->x);
	resolve(fx->u.m, "pair.y", &fx->y);
	return 0;
}

#define teardown unit_inst_teardown

static ipm_map *handle(enum ipm_role role, int child)
{
	return unit_inst_handle(&fx->u, role, child);
}

/* One whole update of generation v: every field says v. */
static int write_gen(ipm_map *m, int64_t v)
{
	char note[48];
	int rc;

	snprintf(note, sizeof(note), "generation %" PRId64, v);
	rc = ipm_lock_write(m, -1);
	if (rc == 0)
		rc = ipm_set_i64(m, &fx->a, v);
	if (rc == 0)
		rc = ipm_set_str(m, &fx->note, note);
	if (rc == 0)
		rc = ipm_set_i64(m, &fx->x, v);
	if (rc == 0)
		rc = ipm_set_i64(m, &fx->b, v);
	if (rc == 0)
		rc = ipm_set_i64(m, &fx->y, v);
	if (rc == 0)
		rc = ipm_set_i64(m, &fx->c, v);
	if (ipm_unlock(m) < 0 && rc == 0)
		rc = -EIO;
	return rc;
}

/* Whether a copy of the structure is one whole generation: its value, or -1. */
static int64_t gen_of(const unsigned char *d)
{
	int64_t a, b, c, x, y;
	char want[48];

	memcpy(&a, d + fx->a.offset, 8);
	memcpy(&b, d + fx->b.offset, 8);
	memcpy(&c, d + fx->c.offset, 8);
	memcpy(&x, d + fx->x.offset, 8);
	memcpy(&y, d + fx->y.offset, 8);
	memset(want, 0, sizeof(want));
	snprintf(want, sizeof(want), "generation %" PRId64, a);
	if (b != a || c != a || x != a || y != a || memcmp(want, d + fx->note.offset, 48))
		return -1;
	return a;
}

/* Waits (up to 10 s) until process pid sleeps in fcntl(): a lock wait. */
static bool in_fcntl(pid_t pid)
{
	char path[64], buf[128];
	int64_t end = unit_now_ns() + 10000000000;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	while (unit_now_ns() < end) {
		FILE *f = fopen(path, "r");
		long nr = -1;

		if (f && fgets(buf, sizeof(buf), f))
			nr = strtol(buf, NULL, 10);
		if (f)
			fclose(f);
		if (nr == SYS_fcntl)
			return true;
		usleep(1000);
	}
	return false;
}

/* ---- the mode ---- */

static void test_mode(void **state)
{
	ipm_map *r;

	(void)state;
	assert_int_equal(ipm_map_native(fx->u.m), 1);
	r = handle(IPM_READER, 0);
	assert_int_equal(ipm_map_native(r), 1);
	/* Without a flag a manager keeps the mode; IPM_COMPAT sets it back. */
	manager_flags(0);
	assert_int_equal(ipm_map_native(fx->u.m), 1);
	manager_flags(IPM_COMPAT);
	assert_int_equal(ipm_map_native(r), 0);
	manager_flags(IPM_NATIVE);
	assert_int_equal(ipm_map_native(r), 1);
	ipm_map_free(r);
	assert_int_equal(ipm_map_native(NULL), -EBADF);
}

/* A new instance is compat: the default. */
static void test_default_compat(void **state)
{
	struct ipm_open_opts o = fx->u.opts;
	ipm_map *m = ipm_map_new(fx->u.s);

	(void)state;
	assert_int_equal(ipm_map_open(m, "Seq", "other", IPM_MANAGER, &o), 0);
	assert_int_equal(ipm_map_native(m), 0);
	ipm_map_free(m);
}

/* Generation v written into the file with pwrite(), as a writer that is
 * not this library writes: no lock of ours, no count. */
static void raw_gen(const char *path, int64_t v)
{
	size_t size = ipm_map_size(fx->u.m);
	unsigned char *d = malloc(size);
	char note[48];
	int fd = open(path, O_RDWR | O_CLOEXEC);

	assert_non_null(d);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, d, size, 0), (ssize_t)size);
	memset(note, 0, sizeof(note));
	snprintf(note, sizeof(note), "generation %" PRId64, v);
	memcpy(d + fx->a.offset, &v, 8);
	memcpy(d + fx->b.offset, &v, 8);
	memcpy(d + fx->c.offset, &v, 8);
	memcpy(d + fx->x.offset, &v, 8);
	memcpy(d + fx->y.offset, &v, 8);
	memcpy(d + fx->note.offset, note, 48);
	assert_int_equal(pwrite(fd, d, size, 0), (ssize_t)size);
	close(fd);
	free(d);
}

/*
 * A foreign writer (Python IPMMAP takes fasteners' POSIX lockf() lock and
 * publishes no count): a compat reader waits for it, a native one does not
 * look at its lock at all, which is why native is a promise.
 */
static void foreign_writer(unsigned mode_flag, bool expect_wait)
{
	int lfd, go[2], done[2];
	char c;
	pid_t pid;

	manager_flags(mode_flag);
	assert_int_equal(write_gen(fx->u.m, 5), 0);
	lfd = open(ipm_map_lock_path(fx->u.m), O_RDWR | O_CLOEXEC);
	assert_true(lfd >= 0);
	assert_int_equal(lockf(lfd, F_LOCK, 0), 0); /* fasteners' write lock */
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(done), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipm_map *m = handle(IPM_READER, 1);
		int64_t v = -1;

		alarm(20); /* a native read that waits fails, not hangs */
		if (read(go[0], &c, 1) != 1)
			_exit(94);
		if (ipm_get_i64(m, &fx->a, &v) < 0)
			_exit(92);
		unit_put(done[1], &v, sizeof(v));
		_exit(0);
	}
	close(done[1]); /* a child that dies ends the read below */
	unit_put(go[1], "g", 1);
	if (expect_wait) {
		/* The reader waits; the foreign writer's whole update, then its
		 * unlock, as Python IPMMAP writes: plain bytes, no count. */
		assert_true(in_fcntl(pid));
		raw_gen(ipm_map_path(fx->u.m), 6);
		assert_int_equal(lockf(lfd, F_ULOCK, 0), 0);
	}
	{
		int64_t v = -1;
		int st;

		/* Native: answered while the lock is still held, though it is
		 * the handle's first read (its look at the path needs none). */
		unit_get(done[0], &v, sizeof(v));
		if (!expect_wait)
			assert_int_equal(lockf(lfd, F_ULOCK, 0), 0);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		assert_int_equal(v, expect_wait ? 6 : 5);
	}
	close(lfd);
	close(go[0]);
	close(go[1]);
	close(done[0]);
	manager_flags(IPM_NATIVE);
}

static void test_compat_waits_for_foreign(void **state)
{
	(void)state;
	foreign_writer(IPM_COMPAT, true);
}

static void test_native_ignores_foreign_lock(void **state)
{
	(void)state;
	foreign_writer(IPM_NATIVE, false);
}

/* ---- no torn read ---- */

static double seconds(void)
{
	const char *s = getenv("IPM_SEQ_SECONDS");

	return s && atof(s) > 0 ? atof(s) : 1.5;
}

/* A reader child: copies the structure, a sub-structure and fields
 * without a lock until end; reports reads, torn reads, changes seen. */
static void reader_child(int out, int64_t end)
{
	ipm_map *m = handle(IPM_READER, 1);
	size_t size = ipm_map_size(m);
	unsigned char *d = malloc(size);
	long n[3] = {0, 0, 0}; /* reads, torn, changes */
	int64_t last = -2;

	if (!d)
		_exit(93);
	while (unit_now_ns() < end) {
		int64_t g, p[2], a, y;

		if (ipm_map_copy(m, d, size) < 0)
			_exit(94);
		g = gen_of(d);
		n[1] += g < 0;
		n[2] += g != last;
		last = g;
		if (ipm_get_bytes(m, &fx->pair, p, sizeof(p)) < 0)
			_exit(95);
		n[1] += p[0] != p[1];
		if (ipm_get_i64(m, &fx->a, &a) < 0 || ipm_get_i64(m, &fx->y, &y) < 0)
			_exit(96);
		n[1] += a < 0 || y < 0;
		n[0] += 3;
	}
	unit_put(out, n, sizeof(n));
	_exit(0);
}

static void test_no_torn_read(void **state)
{
	int64_t end = unit_now_ns() + (int64_t)(seconds() * 1e9);
	long total[3] = {0, 0, 0}, writes = 0;
	pid_t pids[3];
	int res[2], wres[2];

	(void)state;
	assert_int_equal(write_gen(fx->u.m, 0), 0);
	assert_int_equal(pipe(res), 0);
	assert_int_equal(pipe(wres), 0);
	pids[0] = fork();
	assert_true(pids[0] >= 0);
	if (pids[0] == 0) {
		ipm_map *m = handle(IPM_EDITOR, 1);
		long v = 0;

		while (unit_now_ns() < end)
			if (write_gen(m, ++v) < 0)
				_exit(97);
		unit_put(wres[1], &v, sizeof(v));
		_exit(0);
	}
	for (int i = 1; i < 3; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			reader_child(res[1], end);
	}
	close(res[1]); /* a child that dies ends the reads below */
	close(wres[1]);
	for (int i = 1; i < 3; i++) {
		long n[3];

		unit_get(res[0], n, sizeof(n));
		for (int k = 0; k < 3; k++)
			total[k] += n[k];
	}
	unit_get(wres[0], &writes, sizeof(writes));
	for (int i = 0; i < 3; i++) {
		int st;

		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	print_message("seqread: %.1f s, %ld whole updates written, %ld reads without a lock, "
		      "%ld torn, %ld changes seen\n",
		      seconds(), writes, total[0], total[1], total[2]);
	assert_int_equal(total[1], 0);
	assert_true(total[0] > 0 && writes > 0);
	close(res[0]);
	close(wres[0]);
}

/* ---- writer priority ---- */

/*
 * Readers that take no lock never keep a writer out: a writer's tries
 * (timeout 0) succeed beside two processes reading in a loop. (A reader
 * sent to the lock by a writer preempted inside its section holds the read
 * lock for a moment: a try may then fail, rarely; half is a wide margin.)
 */
static void test_readers_never_block_writer(void **state)
{
	int ready[2], ok = 0, busy = 0;
	pid_t pids[2];
	char c;

	(void)state;
	assert_int_equal(write_gen(fx->u.m, 1), 0);
	assert_int_equal(pipe(ready), 0);
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			ipm_map *m = handle(IPM_READER, 1);
			int64_t v;

			if (ipm_get_i64(m, &fx->a, &v) < 0)
				_exit(92);
			unit_put(ready[1], "r", 1);
			for (;;)
				if (ipm_get_i64(m, &fx->c, &v) < 0)
					_exit(93);
		}
	}
	close(ready[1]); /* a child that dies ends the reads below */
	unit_get(ready[0], &c, 1);
	unit_get(ready[0], &c, 1);
	for (int i = 0; i < 2000; i++) {
		if (ipm_lock_write(fx->u.m, 0) == 0) {
			assert_int_equal(ipm_set_i64(fx->u.m, &fx->c, i), 0);
			assert_int_equal(ipm_unlock(fx->u.m), 0);
			ok++;
		} else {
			busy++;
		}
	}
	for (int i = 0; i < 2; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
	print_message("seqread: write tries beside 2 lock-free readers: %d in, %d busy\n", ok,
		      busy);
	assert_true(ok >= 1000);
	close(ready[0]);
}

/* ---- a writer killed inside its section ---- */

static void test_dead_writer(void **state)
{
	ipm_map *r = handle(IPM_READER, 0), *e;
	size_t size = ipm_map_size(r);
	unsigned char *d = malloc(size);
	const unsigned char *view;
	struct ipm_recovery rec;
	int ready[2], st;
	int64_t v, t0;
	pid_t pid;
	char c;

	(void)state;
	assert_non_null(d);
	assert_int_equal(write_gen(fx->u.m, 1), 0);
	assert_int_equal(ipm_get_i64(r, &fx->a, &v), 0); /* the first read locks: follow */
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipm_map *m = handle(IPM_EDITOR, 1);

		if (ipm_lock_write(m, -1) < 0 || ipm_set_i64(m, &fx->a, 2) < 0 ||
		    ipm_set_str(m, &fx->note, "half") < 0)
			_exit(92);
		unit_put(ready[1], "w", 1);
		for (;;)
			pause();
	}
	close(ready[1]); /* a child that dies ends the read below */
	unit_get(ready[0], &c, 1);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	/* The file holds the half update; every read gives the last whole
	 * one, at once (a wide margin for a loaded machine: no timeout is
	 * waited for), and none restores the file. */
	t0 = unit_now_ns();
	assert_int_equal(ipm_get_i64(r, &fx->a, &v), 0);
	assert_int_equal(v, 1);
	assert_true(unit_now_ns() - t0 < 2000000000);
	assert_int_equal(ipm_map_copy(r, d, size), 0);
	assert_int_equal(gen_of(d), 1);
	assert_int_equal(ipm_get_i64(r, &fx->x, &v), 0);
	assert_int_equal(v, 1);
	view = ipm_map_view(r);
	memcpy(&v, view + fx->a.offset, 8);
	assert_int_equal(v, 2); /* still in the file */
	assert_int_equal(ipm_lock_held(r), 0);

	/* A reader's open restores nothing either. */
	e = handle(IPM_READER, 0);
	assert_int_equal(ipm_get_i64(e, &fx->a, &v), 0);
	assert_int_equal(v, 1);
	memcpy(&v, view + fx->a.offset, 8);
	assert_int_equal(v, 2);
	/* The next writer restores it, then writes its own. */
	assert_int_equal(ipm_lock_write(fx->u.m, -1), 0);
	assert_int_equal(ipm_map_recovery(fx->u.m, &rec), 0);
	assert_int_equal(rec.undone, 1);
	memcpy(&v, view + fx->a.offset, 8);
	assert_int_equal(v, 1); /* restored in the file */
	assert_int_equal(ipm_unlock(fx->u.m), 0);
	assert_int_equal(write_gen(fx->u.m, 3), 0);
	assert_int_equal(ipm_map_copy(r, d, size), 0);
	assert_int_equal(gen_of(d), 3);
	ipm_map_free(e);
	ipm_map_free(r);
	free(d);
	close(ready[0]);
}

/* ---- a live writer in a long section ---- */

static void test_live_long_section(void **state)
{
	int ready[2], got[2];
	int64_t v = -1;
	pid_t pid;
	char c;

	(void)state;
	assert_int_equal(write_gen(fx->u.m, 1), 0);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(got), 0);
	assert_int_equal(ipm_lock_write(fx->u.m, -1), 0);
	assert_int_equal(ipm_set_i64(fx->u.m, &fx->a, 2), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipm_map *m = handle(IPM_READER, 1);
		int64_t x = -1;

		/* The handle's first read goes to the lock behind the live
		 * writer too. */
		unit_put(ready[1], "r", 1);
		if (ipm_get_i64(m, &fx->a, &x) < 0)
			_exit(92);
		unit_put(got[1], &x, sizeof(x));
		_exit(0);
	}
	close(ready[1]); /* a child that dies ends the reads below */
	close(got[1]);
	unit_get(ready[0], &c, 1);
	/* It sleeps in the kernel behind the live writer: no value yet. */
	assert_true(in_fcntl(pid));
	assert_int_equal(ipm_set_i64(fx->u.m, &fx->y, 2), 0);
	assert_int_equal(ipm_unlock(fx->u.m), 0);
	unit_get(got[0], &v, sizeof(v));
	assert_int_equal(v, 2);
	waitpid(pid, NULL, 0);
	close(ready[0]);
	close(got[0]);
}

/* A handle that has read once reads without a lock; inside a live
 * section it goes to the lock and waits there too, never spinning. */
static void test_live_section_after_first_read(void **state)
{
	int ready[2], go[2], got[2];
	int64_t v = -1;
	pid_t pid;
	char c;

	(void)state;
	assert_int_equal(write_gen(fx->u.m, 1), 0);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(got), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipm_map *m = handle(IPM_READER, 1);
		int64_t x = -1;

		if (ipm_get_i64(m, &fx->a, &x) < 0 || x != 1)
			_exit(92);
		unit_put(ready[1], "r", 1);
		if (read(go[0], &c, 1) != 1)
			_exit(94);
		if (ipm_get_i64(m, &fx->a, &x) < 0)
			_exit(93);
		unit_put(got[1], &x, sizeof(x));
		_exit(0);
	}
	/* A child that dies makes the reads below end, not hang. */
	close(ready[1]);
	close(got[1]);
	unit_get(ready[0], &c, 1);
	assert_int_equal(ipm_lock_write(fx->u.m, -1), 0);
	assert_int_equal(ipm_set_i64(fx->u.m, &fx->a, 7), 0);
	unit_put(go[1], "g", 1);
	assert_true(in_fcntl(pid));
	assert_int_equal(ipm_unlock(fx->u.m), 0);
	unit_get(got[0], &v, sizeof(v));
	assert_int_equal(v, 7);
	waitpid(pid, NULL, 0);
	close(ready[0]);
	close(go[0]);
	close(go[1]);
	close(got[0]);
}

/* ---- damaged and replaced files ---- */

static void test_cut_file(void **state)
{
	ipm_map *e = handle(IPM_EDITOR, 0);
	size_t size = ipm_map_size(e);
	unsigned char *d = malloc(size);
	int64_t v;

	(void)state;
	guard_back();
	assert_non_null(d);
	assert_int_equal(write_gen(fx->u.m, 4), 0);
	assert_int_equal(ipm_get_i64(e, &fx->a, &v), 0);
	assert_int_equal(ipm_get_i64(e, &fx->a, &v), 0);
	assert_int_equal(v, 4);
	/* Within the last page: no SIGBUS, zeros past the end; the canary says. */
	assert_int_equal(truncate(ipm_map_path(e), (off_t)fx->c.offset), 0);
	assert_int_equal(ipm_get_i64(e, &fx->a, &v), -EIO);
	assert_contains(ipm_map_errmsg(e), "truncated");
	assert_int_equal(ipm_map_copy(e, d, size), -EIO);
	/* To nothing: SIGBUS, guarded. */
	assert_int_equal(truncate(ipm_map_path(e), 0), 0);
	assert_int_equal(ipm_get_i64(e, &fx->c, &v), -EIO);
	assert_int_equal(ipm_map_copy(e, d, size), -EIO);
	/* Whole again (a manager makes it anew): reads work again. */
	manager_flags(IPM_NATIVE | IPM_FORCE);
	assert_int_equal(write_gen(fx->u.m, 5), 0);
	assert_int_equal(ipm_map_copy(e, d, size), 0);
	assert_int_equal(gen_of(d), 5);
	ipm_map_free(e);
	free(d);
}

static void test_cut_lock_file(void **state)
{
	ipm_map *e = handle(IPM_EDITOR, 0);
	int64_t v;

	(void)state;
	guard_back();
	assert_int_equal(write_gen(fx->u.m, 8), 0);
	assert_int_equal(ipm_get_i64(e, &fx->a, &v), 0);
	/* The page and its mode are gone: reads lock (compat), and the next
	 * lock of a handle that knew the mode stamps it back. */
	assert_int_equal(truncate(ipm_map_lock_path(e), 0), 0);
	assert_int_equal(ipm_get_i64(e, &fx->a, &v), 0);
	assert_int_equal(v, 8);
	assert_int_equal(ipm_map_native(e), 1);
	assert_int_equal(write_gen(fx->u.m, 9), 0);
	assert_int_equal(ipm_get_i64(e, &fx->a, &v), 0);
	assert_int_equal(v, 9);
	ipm_map_free(e);
}

/* A manager makes the file anew (renamed into place): the next read
 * without a lock follows it, as a lock would. */
static void test_replaced_file(void **state)
{
	ipm_map *r = handle(IPM_READER, 0);
	int64_t v;

	(void)state;
	assert_int_equal(write_gen(fx->u.m, 10), 0);
	assert_int_equal(ipm_get_i64(r, &fx->a, &v), 0);
	assert_int_equal(ipm_get_i64(r, &fx->a, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(unlink(ipm_map_path(r)), 0);
	manager_flags(0);
	assert_int_equal(ipm_get_i64(r, &fx->a, &v), 0);
	assert_int_equal(v, 0); /* the new file's */
	assert_int_equal(write_gen(fx->u.m, 11), 0);
	assert_int_equal(ipm_get_i64(r, &fx->a, &v), 0);
	assert_int_equal(v, 11);
	ipm_map_free(r);
}

/* Forced re-creation rewrites in place: readers see the old or the new
 * contents, whole. */
static void test_forced_rewrite(void **state)
{
	ipm_map *r = handle(IPM_READER, 0);
	size_t size = ipm_map_size(r);
	unsigned char *d = malloc(size);
	int64_t v;

	(void)state;
	assert_non_null(d);
	assert_int_equal(write_gen(fx->u.m, 12), 0);
	assert_int_equal(ipm_get_i64(r, &fx->a, &v), 0);
	manager_flags(IPM_FORCE | IPM_NATIVE);
	assert_int_equal(ipm_get_i64(r, &fx->a, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(ipm_map_native(r), 1);
	ipm_map_free(r);
	free(d);
}

/* ipm_map_peek(): the copy without a lock, or -EAGAIN where a read would
 * take the lock (here a live writer's section in another process), never a
 * wait; a compat instance is always -EAGAIN; under a held lock it copies. */
static void test_peek(void **state)
{
	ipm_map *r = handle(IPM_READER, 0);
	int done[2], st;
	int64_t v = -1;
	pid_t pid;

	(void)state;
	assert_int_equal(write_gen(fx->u.m, 4), 0);
	assert_int_equal(ipm_map_peek(r, fx->a.offset, &v, 8), 0);
	assert_int_equal(v, 4);
	{
		/* An editor's open takes the write lock and checks the file
		 * more than a reader's: its first peek still needs no lock
		 * (the generation it has not seen is looked at without one). */
		ipm_map *e = handle(IPM_EDITOR, 0);

		v = -1;
		assert_int_equal(ipm_map_peek(e, fx->a.offset, &v, 8), 0);
		assert_int_equal(v, 4);
		ipm_map_free(e);
	}
	assert_int_equal(ipm_map_peek(r, ipm_map_size(r) - 4, &v, 8), -EINVAL);
	assert_int_equal(pipe(done), 0);
	assert_int_equal(ipm_lock_write(fx->u.m, -1), 0);
	assert_int_equal(ipm_set_i64(fx->u.m, &fx->a, 5), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipm_map *m = handle(IPM_READER, 1);
		int64_t x = -1;
		int rc;

		alarm(20); /* a peek that waits fails the test, not hangs it */
		rc = ipm_map_peek(m, fx->a.offset, &x, 8);
		unit_put(done[1], &rc, sizeof(rc));
		_exit(0);
	}
	close(done[1]);
	unit_get(done[0], &st, sizeof(st));
	assert_int_equal(st, -EAGAIN);
	assert_int_equal(ipm_map_peek(fx->u.m, fx->a.offset, &v, 8), 0); /* its own lock */
	assert_int_equal(v, 5);
	assert_int_equal(ipm_unlock(fx->u.m), 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	close(done[0]);
	assert_int_equal(ipm_map_peek(r, fx->a.offset, &v, 8), 0);
	assert_int_equal(v, 5);
	manager_flags(IPM_COMPAT);
	assert_int_equal(ipm_map_native(r), 0);
	assert_int_equal(ipm_map_peek(r, fx->a.offset, &v, 8), -EAGAIN);
	assert_string_not_equal(ipm_map_errmsg(r), "");
	assert_int_equal(ipm_lock_read(r, -1), 0);
	assert_int_equal(ipm_map_peek(r, fx->a.offset, &v, 8), 0);
	assert_int_equal(ipm_unlock(r), 0);
	manager_flags(IPM_NATIVE);
	ipm_map_free(r);
}

/* Text and strings read without a lock too. */
static void test_text(void **state)
{
	ipm_map *r = handle(IPM_READER, 0);
	char buf[64];

	(void)state;
	assert_int_equal(write_gen(fx->u.m, 7), 0);
	assert_int_equal(ipm_get_text(r, &fx->a, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "7");
	assert_int_equal(ipm_get_text(r, &fx->a, buf, sizeof(buf)), 1); /* lock-free now */
	assert_string_equal(buf, "7");
	assert_int_equal(ipm_read_text(r, "note", buf, sizeof(buf)), 12);
	assert_string_equal(buf, "generation 7");
	assert_int_equal(ipm_get_str(r, &fx->note, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "generation 7");
	assert_int_equal(ipm_get_str(r, &fx->note, buf, 5), -ENOSPC);
	ipm_map_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_default_compat, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_compat_waits_for_foreign, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_native_ignores_foreign_lock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_peek, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_torn_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_readers_never_block_writer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dead_writer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_live_long_section, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_live_section_after_first_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cut_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cut_lock_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replaced_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_forced_rewrite, setup, teardown),
	};

	if (ipm_map_guarded(NULL, NULL, NULL) != -EBADF ||
	    sigaction(SIGBUS, NULL, &guard_handler) < 0 || !(guard_handler.sa_flags & SA_SIGINFO))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
