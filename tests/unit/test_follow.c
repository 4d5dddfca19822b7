/*
 * test_follow.c - a handle follows a .mmap file replaced under it: made anew
 * by a C manager (seen at the next lock), moved into place by anyone else
 * (seen within the bound of IPM_FOLLOW_MS), waited for (ipm_map_wait()
 * reports it), replaced by a file it cannot map (-EIO until a good one is
 * back), and the crash recovery of an editor's open and of ipm_map_recover();
 * a dead writer's record is never put into a file that replaced its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

static const char schema_text[] = "[S]\n"
				  "header = MmapStructureHeader\n"
				  "a = int32\n"
				  "b = int32\n";

#define SIZE 24
#define OFF_A 16
#define OFF_B 20
#define DEADLINE_NS (5 * 1000000000LL) /* far beyond any bound stated */

struct fix {
	struct unit_inst u; /* S_ in dir, opened as manager */
	char path[160];	    /* its .mmap file */
};

static int setup(void **state)
{
	struct fix *f;
	int rc = unit_inst_setup(state, sizeof(*f), schema_text, "S", "follow", 0);

	f = *state;
	if (f)
		snprintf(f->path, sizeof(f->path), "%s/S_.mmap", f->u.dir);
	return rc;
}

static int teardown(void **state)
{
	return unit_inst_teardown(state);
}

/* Locked read of a. */
static int32_t get_a(ipm_map *m)
{
	struct ipm_field fa;
	int64_t v = -1;

	assert_int_equal(ipm_map_resolve(m, "a", &fa), 0);
	assert_int_equal(ipm_get_i64(m, &fa, &v), 0);
	return (int32_t)v;
}

static void set_a(ipm_map *m, int32_t v)
{
	struct ipm_field fa;

	assert_int_equal(ipm_map_resolve(m, "a", &fa), 0);
	assert_int_equal(ipm_set_i64(m, &fa, v), 0);
}

/* a as the file at path holds it now. */
static int32_t file_a(const char *path)
{
	int fd = open(path, O_RDONLY);
	int32_t v = -1;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &v, sizeof(v), OFF_A), (ssize_t)sizeof(v));
	close(fd);
	return v;
}

/* What `mv new S_.mmap` does: a good file of size bytes with a = v, written
 * under another name and renamed over path. */
static void mv_new(const char *path, size_t size, int32_t v)
{
	unsigned char buf[4096] = {0};
	char tmp[200];
	int16_t code = IPM_HEADER_CODE;
	int fd;

	assert_true(size <= sizeof(buf));
	memcpy(buf, &code, sizeof(code));
	memcpy(buf + OFF_A, &v, sizeof(v));
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	close(fd);
	assert_int_equal(rename(tmp, path), 0);
}

/* Reads a under the read lock until it is want or the deadline passes: the
 * nanoseconds it took, or -1. */
static int64_t read_until(ipm_map *m, int32_t want)
{
	int64_t t0 = unit_now_ns();

	while (unit_now_ns() - t0 < DEADLINE_NS) {
		if (get_a(m) == want)
			return unit_now_ns() - t0;
		usleep(5000);
	}
	return -1;
}

/* A C manager that makes a new file renames it into place and says so in
 * the lock file: every handle maps the new file at its next lock. */
static void manager_rename_seen_at_next_lock(void **state)
{
	struct fix *f = *state;
	ipm_map *r = unit_inst_handle(&f->u, IPM_READER, 0);
	ipm_map *e = unit_inst_handle(&f->u, IPM_EDITOR, 0);
	ipm_map *mg;

	set_a(f->u.m, 1);
	assert_int_equal(get_a(r), 1);
	assert_int_equal(get_a(e), 1);
	assert_int_equal(unlink(f->path), 0);
	mg = unit_inst_handle(&f->u, IPM_MANAGER, 0); /* a new file, by rename */
	set_a(mg, 2);
	assert_int_equal(get_a(r), 2); /* the very next lock */
	assert_int_equal(get_a(e), 2);
	set_a(e, 3); /* writes go to the new file */
	assert_int_equal(file_a(f->path), 3);
	assert_int_equal(get_a(f->u.m), 3);
	ipm_map_free(mg);
	ipm_map_free(e);
	ipm_map_free(r);
}

/* Anyone else's `mv new S_.mmap` (or Python's manager after a removal):
 * seen within the stated bound (IPM_FOLLOW_MS, 1 s); the test allows 5 s. */
static void mv_seen_within_bound(void **state)
{
	struct fix *f = *state;
	ipm_map *r = unit_inst_handle(&f->u, IPM_READER, 0);
	ipm_map *e = unit_inst_handle(&f->u, IPM_EDITOR, 0);
	int64_t took;

	set_a(f->u.m, 1);
	assert_int_equal(get_a(r), 1);
	mv_new(f->path, SIZE, 7);
	took = read_until(r, 7);
	assert_true(took >= 0);
	assert_true(read_until(e, 7) >= 0);
	set_a(e, 8);
	assert_int_equal(file_a(f->path), 8);
	assert_int_equal(get_a(r), 8);
	ipm_map_free(e);
	ipm_map_free(r);
}

/* A waiter hears of a replaced file as of a change, and the next lock maps
 * the new file. */
static void wait_reports_replacement(void **state)
{
	struct fix *f = *state;
	ipm_map *r = unit_inst_handle(&f->u, IPM_READER, 0);
	uint64_t seen;
	int64_t t0;

	assert_int_equal(get_a(r), 0);
	assert_int_equal(ipm_lock_read(r, -1), 0);
	assert_int_equal(ipm_map_changes(r, &seen), 0);
	assert_int_equal(ipm_unlock(r), 0);
	mv_new(f->path, SIZE, 9);
	t0 = unit_now_ns();
	assert_int_equal(ipm_map_wait(r, seen, 5000), 0);
	assert_true(unit_now_ns() - t0 < DEADLINE_NS);
	assert_int_equal(get_a(r), 9);
	ipm_map_free(r);
}

/* A file that cannot be mapped put in place: locks fail with -EIO naming
 * the file, until a good one is back. */
static void bad_replacement_refused(void **state)
{
	struct fix *f = *state;
	ipm_map *r = unit_inst_handle(&f->u, IPM_READER, 0);
	int64_t t0 = unit_now_ns();
	int rc;

	assert_int_equal(get_a(r), 0);
	mv_new(f->path, SIZE + 8, 5);
	do {
		rc = ipm_lock_read(r, -1);
		if (rc == 0)
			ipm_unlock(r);
		usleep(5000);
	} while (rc == 0 && unit_now_ns() - t0 < DEADLINE_NS);
	assert_int_equal(rc, -EIO);
	assert_non_null(strstr(ipm_map_errmsg(r), "S_.mmap"));
	assert_non_null(strstr(ipm_map_errmsg(r), "size 32, expected 24"));
	assert_int_equal(ipm_lock_held(r), 0);
	mv_new(f->path, SIZE, 6);
	assert_true(read_until(r, 6) >= 0);
	ipm_map_free(r);
}

/* A writer killed inside its section, as Python readers would see it. */
static void die_in_section(struct fix *f)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		ipm_map *w = unit_inst_handle(&f->u, IPM_EDITOR, 1);
		struct ipm_field fa;

		if (ipm_map_resolve(w, "a", &fa) < 0 || ipm_lock_write(w, -1) < 0 ||
		    ipm_set_i64(w, &fa, 666) < 0)
			_exit(92);
		kill(getpid(), SIGKILL);
		_exit(93);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(file_a(f->path), 666); /* what a Python reader sees */
}

/* An editor's open undoes a dead writer's section when it can lock alone. */
static void editor_open_undoes(void **state)
{
	struct fix *f = *state;
	struct ipm_recovery rec;
	ipm_map *e;

	set_a(f->u.m, 4);
	die_in_section(f);
	e = unit_inst_handle(&f->u, IPM_EDITOR, 0);
	assert_int_equal(file_a(f->path), 4);
	assert_int_equal(ipm_map_recovery(e, &rec), 0);
	assert_int_equal(rec.undone, 1);
	ipm_map_free(e);
}

/* ipm_map_recover(): at once when it can, nothing when nothing is open, and
 * not under another's lock. */
static void recover_call(void **state)
{
	struct fix *f = *state;
	ipm_map *e = unit_inst_handle(&f->u, IPM_EDITOR, 0);
	ipm_map *r = unit_inst_handle(&f->u, IPM_READER, 0);

	set_a(f->u.m, 5);
	assert_int_equal(ipm_map_recover(e, 0), 0); /* nothing to undo */
	die_in_section(f);
	assert_int_equal(ipm_lock_read(r, -1), 0);
	assert_int_equal(ipm_map_recover(e, 0), -EAGAIN); /* r reads */
	assert_int_equal(ipm_unlock(r), 0);
	assert_int_equal(ipm_map_recover(r, 0), -EACCES);
	assert_int_equal(ipm_map_recover(e, 0), 1);
	assert_int_equal(file_a(f->path), 5);
	assert_int_equal(ipm_map_recover(e, 0), 0);
	assert_int_equal(ipm_lock_held(e), 0);
	ipm_map_free(r);
	ipm_map_free(e);
}

/*
 * A writer killed inside its section, then its file replaced by `mv new
 * S_.mmap`: the record holds the old file's bytes and must not be put into
 * the new one, neither by a reader (locked, or lock-free on a native
 * instance) nor by the next writer. Handles opened after the rename map
 * the new file at once.
 */
static void record_stays_with_its_file(struct fix *f)
{
	ipm_map *r, *e;
	struct ipm_field fb;

	set_a(f->u.m, 4);
	die_in_section(f);
	mv_new(f->path, SIZE, 7);
	r = unit_inst_handle(&f->u, IPM_READER, 0);
	assert_int_equal(get_a(r), 7);
	e = unit_inst_handle(&f->u, IPM_EDITOR, 0);
	assert_int_equal(ipm_map_resolve(e, "b", &fb), 0);
	assert_int_equal(ipm_set_i64(e, &fb, 1), 0);
	assert_int_equal(file_a(f->path), 7);
	assert_int_equal(get_a(r), 7);
	assert_int_equal(get_a(e), 7);
	ipm_map_free(e);
	ipm_map_free(r);
}

static void record_not_into_new_file(void **state)
{
	record_stays_with_its_file(*state);
}

static void go_native(struct fix *f)
{
	f->u.opts.flags = IPM_NATIVE | IPM_FORCE;
	ipm_map_close(f->u.m);
	assert_int_equal(ipm_map_open(f->u.m, "S", "", IPM_MANAGER, &f->u.opts), 0);
	f->u.opts.flags = 0;
}

static void record_not_into_new_file_native(void **state)
{
	go_native(*state);
	record_stays_with_its_file(*state);
}

/* The record of a replaced file, forgotten by an editor's open, leaves no
 * odd count behind: reads of the new file take no lock again at once. */
static void forgotten_record_reads_free(void **state)
{
	struct fix *f = *state;
	ipm_map *e, *r;
	int32_t a = -1;

	go_native(f);
	set_a(f->u.m, 4);
	die_in_section(f);
	mv_new(f->path, SIZE, 7);
	e = unit_inst_handle(&f->u, IPM_EDITOR, 0); /* forgets the record */
	r = unit_inst_handle(&f->u, IPM_READER, 0);
	assert_int_equal(get_a(r), 7);
	assert_int_equal(ipm_map_peek(r, OFF_A, &a, sizeof(a)), 0);
	assert_int_equal(a, 7);
	ipm_map_free(r);
	ipm_map_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(manager_rename_seen_at_next_lock, setup, teardown),
	    cmocka_unit_test_setup_teardown(mv_seen_within_bound, setup, teardown),
	    cmocka_unit_test_setup_teardown(wait_reports_replacement, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_replacement_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(editor_open_undoes, setup, teardown),
	    cmocka_unit_test_setup_teardown(recover_call, setup, teardown),
	    cmocka_unit_test_setup_teardown(record_not_into_new_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(record_not_into_new_file_native, setup, teardown),
	    cmocka_unit_test_setup_teardown(forgotten_record_reads_free, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
