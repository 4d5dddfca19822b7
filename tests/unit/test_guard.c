/*
 * test_guard.c - damaged files: a .mmap file cut short by another process
 * while it is mapped makes every call fail with -EIO instead of killing the
 * process with SIGBUS; a repaired file is used again. And files that are
 * damaged before they are opened are refused.
 *
 * The structure spans two pages, so that a file cut to 100 bytes leaves the
 * first page readable (the kernel maps the partial last page) and the
 * second one faulting.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static const char schema_text[] = "[Big]\n"
				  "header = MmapStructureHeader\n"
				  "pad = char[5000]\n"
				  "x = int64\n"
				  "s = char[64]\n";

#define BIG_SIZE 5088 /* 16 + 5000, 8 for x at 5016, 64 for s */

/*
 * cmocka puts its own SIGBUS handler in place while a test runs, and the
 * library installs its guard only over the default disposition. So main()
 * lets the library install it before cmocka starts, keeps it, and every
 * test puts it back first (cmocka restores it after the test anyway).
 */
static struct sigaction guard_handler;

static void guard_back(void)
{
	assert_int_equal(sigaction(SIGBUS, &guard_handler, NULL), 0);
}

struct fix {
	struct unit_inst u;	   /* schema, directory, manager handle */
	char path[96];		   /* the .mmap file */
	struct ipm_field x, str;   /* on the second page */
};

static int setup(void **state)
{
	struct fix *f;

	if (unit_inst_setup(state, sizeof(*f), schema_text, "Big", "guard", 0) < 0)
		return -1;
	f = *state;
	snprintf(f->path, sizeof(f->path), "%s/Big_.mmap", f->u.dir);
	if (ipm_map_resolve(f->u.m, "x", &f->x) < 0 || ipm_map_resolve(f->u.m, "s", &f->str) < 0 ||
	    ipm_set_i64(f->u.m, &f->x, 42) < 0)
		return -1;
	return 0;
}

#define teardown unit_inst_teardown

static ipm_map *open_as(struct fix *f, enum ipm_role role)
{
	return unit_inst_handle(&f->u, role, 0);
}

/* rc is -EIO and the handle says the file was cut to n bytes. */
static void expect_eio(struct fix *f, ipm_map *m, int rc, long n)
{
	char want[160];

	snprintf(want, sizeof(want), "%s: file was truncated to %ld bytes", f->path, n);
	assert_int_equal(rc, -EIO);
	assert_string_equal(ipm_map_errmsg(m), want);
}

/* Every call that touches the second page, on a writer and a reader. */
static void every_call_fails(struct fix *f, ipm_map *w, ipm_map *r, long n)
{
	char buf[BIG_SIZE];
	int64_t i;
	uint64_t u;
	double d;

	expect_eio(f, w, ipm_get_i64(w, &f->x, &i), n);
	expect_eio(f, w, ipm_get_u64(w, &f->x, &u), n);
	expect_eio(f, w, ipm_get_f64(w, &f->x, &d), n);
	expect_eio(f, w, ipm_get_str(w, &f->str, buf, sizeof(buf)), n);
	expect_eio(f, w, ipm_get_bytes(w, &f->x, buf, 8), n);
	expect_eio(f, w, ipm_get_text(w, &f->x, buf, sizeof(buf)), n);
	expect_eio(f, w, ipm_read_text(w, "s", buf, sizeof(buf)), n);
	expect_eio(f, w, ipm_map_copy(w, buf, sizeof(buf)), n);
	/* Writing begins a section, which saves the whole structure first. */
	expect_eio(f, w, ipm_lock_write(w, -1), n);
	assert_int_equal(ipm_lock_held(w), 0);
	expect_eio(f, w, ipm_set_i64(w, &f->x, 1), n);
	expect_eio(f, w, ipm_set_u64(w, &f->x, 1), n);
	expect_eio(f, w, ipm_set_str(w, &f->str, "a"), n);
	expect_eio(f, w, ipm_set_text(w, &f->x, "1", 1), n);
	expect_eio(f, w, ipm_write_text(w, "s", "b"), n);
	expect_eio(f, w, ipm_map_clear(w), n);
	expect_eio(f, w, ipm_map_touch(w), n);
	assert_int_equal(ipm_lock_held(w), 0);
	/* Nor a read lock: what it would guard is gone. */
	expect_eio(f, w, ipm_lock_read(w, -1), n);
	assert_int_equal(ipm_lock_held(w), 0);

	expect_eio(f, r, ipm_get_i64(r, &f->x, &i), n);
	expect_eio(f, r, ipm_get_text(r, &f->str, buf, sizeof(buf)), n);
	expect_eio(f, r, ipm_map_copy(r, buf, sizeof(buf)), n);
}

static void truncated_while_mapped(void **state)
{
	struct fix *f = *state;
	ipm_map *w = open_as(f, IPM_EDITOR), *r = open_as(f, IPM_READER);
	double t;
	int64_t i;

	guard_back();
	assert_int_equal(truncate(f->path, 100), 0);
	every_call_fails(f, w, r, 100);
	/* The first page is still there, but the size is wrong: no header
	 * either (issue 11: nothing read from a damaged file). */
	expect_eio(f, r, ipm_map_timestamp(r, &t), 100);
	assert_int_equal(truncate(f->path, 0), 0);
	expect_eio(f, r, ipm_map_timestamp(r, &t), 0);
	expect_eio(f, r, ipm_map_changes(r, &(uint64_t){0}), 0);
	expect_eio(f, r, ipm_map_wait(r, 0, 0), 0);

	/* Grown back in place: usable again, as the grower left it. */
	assert_int_equal(truncate(f->path, BIG_SIZE), 0);
	assert_int_equal(ipm_get_i64(r, &f->x, &i), 0);
	assert_int_equal(i, 0);
	assert_int_equal(ipm_set_i64(w, &f->x, 5), 0);
	assert_int_equal(ipm_get_i64(r, &f->x, &i), 0);
	assert_int_equal(i, 5);
	ipm_map_free(w);
	ipm_map_free(r);
}

/* A manager repairs a cut file by making it anew (renamed over it): old
 * handles map the new file at the same address and go on. */
static void replaced_file_mapped_again(void **state)
{
	struct fix *f = *state;
	ipm_map *r = open_as(f, IPM_READER), *mg;
	void *before = ipm_map_data(r);
	struct stat st;
	int64_t i;

	guard_back();
	assert_int_equal(truncate(f->path, 10), 0);
	expect_eio(f, r, ipm_get_i64(r, &f->x, &i), 10);
	f->u.opts.flags |= IPM_FORCE; /* wrong size: made anew when forced */
	mg = open_as(f, IPM_MANAGER);
	f->u.opts.flags &= ~IPM_FORCE;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, BIG_SIZE);
	assert_int_equal(ipm_set_i64(mg, &f->x, 77), 0);
	assert_int_equal(ipm_get_i64(r, &f->x, &i), 0);
	assert_int_equal(i, 77);
	assert_ptr_equal(ipm_map_data(r), before);
	/* The fixture's manager too, through its first fault. */
	assert_int_equal(ipm_get_i64(f->u.m, &f->x, &i), 0);
	assert_int_equal(i, 77);
	ipm_map_free(mg);
	ipm_map_free(r);
}

/* A cut file not yet repaired stays an error; a bad replacement is not
 * taken. */
static void bad_replacement_refused(void **state)
{
	struct fix *f = *state;
	char tmp[128];
	int fd;
	int64_t i;

	guard_back();
	assert_int_equal(truncate(f->path, 0), 0);
	snprintf(tmp, sizeof(tmp), "%s/other", f->u.dir);
	fd = open(tmp, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, BIG_SIZE), 0); /* right size, a foreign magic */
	assert_int_equal(pwrite(fd, &(int16_t){0x7777}, 2, 0), 2); /* (0: cleared, taken) */
	close(fd);
	assert_int_equal(rename(tmp, f->path), 0);
	expect_eio(f, f->u.m, ipm_get_i64(f->u.m, &f->x, &i), 0);
	expect_eio(f, f->u.m, ipm_get_i64(f->u.m, &f->x, &i), 0);
}

/* Nobody armed the guard for a raw access: the default action, SIGBUS. */
static void raw_access_not_guarded(void **state)
{
	struct fix *f = *state;
	int status;
	pid_t pid;

	guard_back();
	assert_int_equal(ipm_get_i64(f->u.m, &f->x, &(int64_t){0}), 0); /* guard installed */
	assert_int_equal(truncate(f->path, 0), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		volatile int64_t *p =
		    (volatile int64_t *)((char *)ipm_map_data(f->u.m) + f->x.offset);

		_exit((int)*p == 1234 ? 3 : 4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGBUS);
}

/* ipm_map_guarded() for the program's own raw accesses. */
struct raw_read {
	size_t off; /* where */
	int64_t v;  /* what was there */
	int runs;   /* how often the function ran */
};

static int read_raw(ipm_map *m, void *ctx)
{
	struct raw_read *r = ctx;

	r->runs++;
	memcpy(&r->v, (char *)ipm_map_data(m) + r->off, 8);
	return 7;
}

static void guarded_raw_access(void **state)
{
	struct fix *f = *state;
	struct raw_read r = {f->x.offset, 0, 0};

	guard_back();
	assert_int_equal(ipm_map_guarded(f->u.m, read_raw, &r), 7);
	assert_int_equal(r.v, 42);
	assert_int_equal(truncate(f->path, 4096), 0);
	r.runs = 0;
	expect_eio(f, f->u.m, ipm_map_guarded(f->u.m, read_raw, &r), 4096);
	assert_int_equal(r.runs, 1);
	assert_int_equal(ipm_map_guarded(NULL, read_raw, &r), -EBADF);
}

/* Damaged before opening: refused, for every role, with the reason. */
static void damaged_at_open(void **state)
{
	struct fix *f = *state;
	ipm_map *m = ipm_map_new(f->u.s);
	char want[200];
	int fd, status;
	pid_t pid;

	guard_back();
	assert_int_equal(truncate(f->path, 100), 0);
	assert_int_equal(ipm_map_open(m, "Big", "", IPM_READER, &f->u.opts), -EINVAL);
	snprintf(want, sizeof(want), "cannot map %s: size 100, expected %d", f->path, BIG_SIZE);
	assert_string_equal(ipm_map_errmsg(m), want);
	assert_int_equal(truncate(f->path, BIG_SIZE), 0);
	fd = open(f->path, O_WRONLY);
	assert_int_equal(pwrite(fd, "\x11\x22", 2, 0), 2);
	close(fd);
	assert_int_equal(ipm_map_open(m, "Big", "", IPM_EDITOR, &f->u.opts), -EINVAL);
	snprintf(want, sizeof(want), "%s: header_code 0x2211, expected 0x1128", f->path);
	assert_string_equal(ipm_map_errmsg(m), want);
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(ipm_map_open(m, "Big", "", IPM_READER, &f->u.opts), -ENOENT);
	snprintf(want, sizeof(want), "cannot open %s: No such file or directory", f->path);
	assert_string_equal(ipm_map_errmsg(m), want);

	/* Unreadable (0600, another user's): root reads anything, so the
	 * child gives up root. The lock file it may read. */
	ipm_map_free(open_as(f, IPM_MANAGER));
	assert_int_equal(chmod(f->u.dir, 0755), 0);
	snprintf(want, sizeof(want), "%s/Big_.lockfile", f->u.dir);
	assert_int_equal(chmod(want, 0644), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && setuid(65534) < 0)
			_exit(95);
		snprintf(want, sizeof(want), "cannot open %s: Permission denied", f->path);
		_exit(ipm_map_open(m, "Big", "", IPM_READER, &f->u.opts) == -EACCES &&
			      strcmp(ipm_map_errmsg(m), want) == 0
			  ? 0
			  : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	ipm_map_free(m);
}

/* What the guard adds to a typed read under a held lock. */
static void cost_of_the_guard(void **state)
{
	struct fix *f = *state;
	struct timespec t0, t1;
	int64_t v;
	int i, n = 1000000;

	assert_int_equal(ipm_lock_read(f->u.m, -1), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++)
		ipm_get_i64(f->u.m, &f->x, &v);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(ipm_unlock(f->u.m), 0);
	print_message("ipm_get_i64 under a held lock, guarded: %.1f ns\n",
		      ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
			  n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(truncated_while_mapped, setup, teardown),
	    cmocka_unit_test_setup_teardown(replaced_file_mapped_again, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_replacement_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(raw_access_not_guarded, setup, teardown),
	    cmocka_unit_test_setup_teardown(guarded_raw_access, setup, teardown),
	    cmocka_unit_test_setup_teardown(damaged_at_open, setup, teardown),
	    cmocka_unit_test_setup_teardown(cost_of_the_guard, setup, teardown),
	};

	/* The first guarded call installs the handler, even on no handle. */
	if (ipm_map_guarded(NULL, NULL, NULL) != -EBADF ||
	    sigaction(SIGBUS, NULL, &guard_handler) < 0 || !(guard_handler.sa_flags & SA_SIGINFO))
		return 1;
	alarm(60);
	return cmocka_run_group_tests_name("guard", tests, NULL, NULL);
}
