/*
 * test_lockfile.c - faults from outside the protocol, in the lock file and in
 * a .mmap file smaller than a page (issue 11, items 1 to 3):
 * - a lock file cut short while in use (truncate -s 0, -s 4096) never kills
 *   the process: a handle that may write it grows it back and goes on with
 *   the data intact; one that may not answers -EIO naming the lock file
 *   until someone repairs it;
 * - a lock file is allocated in full when it is opened, so a full disk is an
 *   -ENOSPC at open naming the lock file, never a SIGBUS later;
 * - a .mmap file cut within its only page (no SIGBUS there: the kernel keeps
 *   the partial page) or grown past its size is noticed before any value or
 *   success is reported.
 *
 * Each scenario runs in a child process, so that a SIGBUS (the bug) fails
 * the test instead of killing the test program.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

/* AddressSanitizer handles SIGBUS itself unless told not to; the library
 * guards only over the default disposition. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "handle_sigbus=0";
}

static const char schema_text[] = "[Small]\n"
				  "header = MmapStructureHeader\n"
				  "pad = char[184]\n"
				  "x = int64\n"
				  "s = char[64]\n";

#define SMALL_SIZE 272 /* 16 + 184, x at 200, s at 208 */

struct fix {
	struct unit_inst u;	 /* schema, directory, manager handle */
	char path[96];		 /* the .mmap file */
	char lock[96];		 /* the lock file */
	struct ipm_field x, str; /* fields past byte 100 */
};

static int setup(void **state)
{
	struct fix *f;

	if (unit_inst_setup(state, sizeof(*f), schema_text, "Small", "lockfile", 0644) < 0)
		return -1;
	f = *state;
	snprintf(f->path, sizeof(f->path), "%s/Small_.mmap", f->u.dir);
	snprintf(f->lock, sizeof(f->lock), "%s/Small_.lockfile", f->u.dir);
	if (ipm_map_resolve(f->u.m, "x", &f->x) < 0 || ipm_map_resolve(f->u.m, "s", &f->str) < 0 ||
	    ipm_set_i64(f->u.m, &f->x, 4242) < 0)
		return -1;
	return 0;
}

#define teardown unit_inst_teardown

/* Handles are opened in children: a failure exits 91. */
static ipm_map *open_as(struct fix *f, enum ipm_role role)
{
	return unit_inst_handle(&f->u, role, 1);
}

static off_t size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* In a child: a failed check exits with the line, so the parent names it. */
#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,    \
				#cond);                                                    \
			_exit(__LINE__ % 200 + 1);                                         \
		}                                                                          \
	} while (0)

/*
 * cmocka puts its own SIGBUS handler in place while a test runs, and the
 * library installs its guard only over the default disposition. So main()
 * lets the library install it before cmocka starts, keeps it, and every
 * child puts it back first.
 */
static struct sigaction guard_handler;

/* Runs fn(f) in a child: it must exit 0, not fail a check or die. */
static void in_child(struct fix *f, void (*fn)(struct fix *f))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (sigaction(SIGBUS, &guard_handler, NULL) < 0)
			_exit(82);
		fn(f);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("child killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	if (WEXITSTATUS(status) != 0)
		fail_msg("child failed a check (exit %d, see above)", WEXITSTATUS(status));
}

/* An editor whose lock file is cut to nothing grows it back at its next
 * access and goes on: the value is intact, locks and waits work. */
static void cut_to_zero_writer(struct fix *f)
{
	ipm_map *w = open_as(f, IPM_EDITOR);
	struct ipm_recovery rec;
	uint64_t seq;
	int64_t v = 0;

	CHECK(truncate(f->lock, 0) == 0);
	CHECK(ipm_get_i64(w, &f->x, &v) == 0 && v == 4242);
	CHECK(size_of(f->lock) >= 4096 + SMALL_SIZE);
	CHECK(truncate(f->lock, 0) == 0);
	CHECK(ipm_set_i64(w, &f->x, 7) == 0);
	CHECK(truncate(f->lock, 4096) == 0); /* the undo record only */
	CHECK(ipm_set_i64(w, &f->x, 8) == 0);
	CHECK(ipm_get_i64(f->u.m, &f->x, &v) == 0 && v == 8);
	CHECK(truncate(f->lock, 0) == 0);
	CHECK(ipm_map_recovery(w, &rec) == 0);
	CHECK(truncate(f->lock, 0) == 0);
	CHECK(ipm_map_changes(w, &seq) == 0);
	CHECK(truncate(f->lock, 0) == 0);
	CHECK(ipm_map_wait(w, seq, 30) == -ETIMEDOUT);
	ipm_map_free(w);
}

static void lock_file_cut_writer_repairs(void **state)
{
	in_child(*state, cut_to_zero_writer);
}

/* Cut while a section is open: the section's writes stay, the unlock
 * succeeds, nothing is undone by mistake afterwards. */
static void cut_in_section(struct fix *f)
{
	ipm_map *w = open_as(f, IPM_EDITOR), *r = open_as(f, IPM_EDITOR);
	int64_t v = 0;

	CHECK(ipm_lock_write(w, -1) == 0);
	CHECK(ipm_set_i64(w, &f->x, 11) == 0);
	CHECK(truncate(f->lock, 0) == 0);
	CHECK(ipm_set_i64(w, &f->x, 12) == 0);
	CHECK(ipm_unlock(w) == 0);
	CHECK(ipm_get_i64(r, &f->x, &v) == 0 && v == 12);
	CHECK(ipm_lock_read(w, -1) == 0);
	CHECK(truncate(f->lock, 0) == 0);
	CHECK(ipm_lock_write(w, -1) == 0); /* read to write, then a section */
	CHECK(ipm_set_i64(w, &f->x, 13) == 0);
	CHECK(truncate(f->lock, 4096) == 0);
	CHECK(ipm_lock_read(w, -1) == 0); /* write to read ends the section */
	CHECK(ipm_unlock(w) == 0);
	CHECK(ipm_get_i64(r, &f->x, &v) == 0 && v == 13);
	ipm_map_free(r);
	ipm_map_free(w);
}

static void lock_file_cut_in_section(void **state)
{
	in_child(*state, cut_in_section);
}

/* A reader that cannot write the lock file (another user's 0644 file)
 * answers -EIO naming it, until a writer repairs it. */
static void cut_reader_child(struct fix *f)
{
	ipm_map *r;
	char want[200];
	int64_t v = 0;
	int rc;

	if (geteuid() == 0)
		CHECK(setuid(65534) == 0);
	r = open_as(f, IPM_READER);
	CHECK(ipm_get_i64(r, &f->x, &v) == 0 && v == 4242);
	/* The parent cuts the lock file, then repairs it. */
	CHECK(write(3, "c", 1) == 1);
	CHECK(read(4, &(char){0}, 1) == 1);
	rc = ipm_get_i64(r, &f->x, &v);
	snprintf(want, sizeof(want), "lock file %s was truncated to 0 bytes", f->lock);
	if (rc != -EIO || !strstr(ipm_map_errmsg(r), want))
		fprintf(stderr, "got %d '%s'\n", rc, ipm_map_errmsg(r));
	CHECK(rc == -EIO && strstr(ipm_map_errmsg(r), want));
	CHECK(ipm_lock_read(r, 0) == -EIO);
	CHECK(ipm_lock_held(r) == 0);
	CHECK(write(3, "r", 1) == 1);
	CHECK(read(4, &(char){0}, 1) == 1);
	CHECK(ipm_get_i64(r, &f->x, &v) == 0 && v == 4242);
	ipm_map_free(r);
}

static void lock_file_cut_reader_eio(void **state)
{
	struct fix *f = *state;
	int up[2], down[2], status;
	ipm_map *w;
	char c;
	pid_t pid;

	assert_int_equal(chmod(f->u.dir, 0755), 0);
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (dup2(up[1], 3) < 0 || dup2(down[0], 4) < 0 ||
		    sigaction(SIGBUS, &guard_handler, NULL) < 0)
			_exit(81);
		cut_reader_child(f);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	assert_int_equal(read(up[0], &c, 1), 1);
	assert_int_equal(truncate(f->lock, 0), 0);
	assert_int_equal(write(down[1], "k", 1), 1);
	if (read(up[0], &c, 1) == 1) {
		/* The next opener with write access repairs it. */
		w = ipm_map_new(f->u.s);
		assert_int_equal(ipm_map_open(w, "Small", "", IPM_EDITOR, &f->u.opts), 0);
		assert_true(size_of(f->lock) >= 4096 + SMALL_SIZE);
		ipm_map_free(w);
		assert_int_equal(write(down[1], "k", 1), 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(up[0]);
	close(down[1]);
	if (WIFSIGNALED(status))
		fail_msg("reader killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * A full disk: the lock directory on a small tmpfs, filled but for one
 * page. Before, the lock file was grown sparse with one byte at its end and
 * the first touch of a page in the hole raised SIGBUS; now the whole file
 * is allocated at open, and that fails cleanly.
 */
static void full_disk_child(struct fix *f)
{
	char dir[128], fill[160], one[160], want[256];
	struct ipm_open_opts o = f->u.opts;
	ipm_map *m = ipm_map_new(f->u.s);
	static char page[4096];
	int fd, rc;

	snprintf(dir, sizeof(dir), "%s/full", f->u.dir);
	CHECK(mkdir(dir, 0700) == 0);
	CHECK(mount("ipmtest", dir, "tmpfs", 0, "size=64k") == 0);
	snprintf(one, sizeof(one), "%s/one", dir);
	fd = open(one, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && write(fd, page, sizeof(page)) == sizeof(page));
	close(fd);
	snprintf(fill, sizeof(fill), "%s/fill", dir);
	fd = open(fill, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	while (write(fd, page, sizeof(page)) == sizeof(page))
		;
	close(fd);
	CHECK(unlink(one) == 0); /* one page free */
	o.lock_dir = dir;
	rc = ipm_map_open(m, "Small", "", IPM_EDITOR, &o);
	snprintf(want, sizeof(want), "cannot allocate lock file %s/Small_.lockfile: %s", dir,
		 strerror(ENOSPC));
	if (rc != -ENOSPC || strcmp(ipm_map_errmsg(m), want) != 0)
		fprintf(stderr, "got %d '%s'\n", rc, ipm_map_errmsg(m));
	CHECK(rc == -ENOSPC && strcmp(ipm_map_errmsg(m), want) == 0);
	/* Room again: it opens, and works. */
	CHECK(unlink(fill) == 0);
	CHECK(ipm_map_open(m, "Small", "", IPM_EDITOR, &o) == 0);
	CHECK(ipm_set_i64(m, &f->x, 9) == 0);
	ipm_map_free(m);
	CHECK(umount2(dir, MNT_DETACH) == 0);
}

static void lock_file_full_disk(void **state)
{
	if (geteuid() != 0) {
		print_message("needs root to mount a small tmpfs\n");
		skip();
	}
	in_child(*state, full_disk_child);
}

/* A .mmap of 272 bytes cut to 100: no SIGBUS (the page stays), yet every
 * call says so instead of reading zeros or losing writes. */
static void small_cut_child(struct fix *f)
{
	ipm_map *w = open_as(f, IPM_EDITOR), *r = open_as(f, IPM_READER);
	char buf[SMALL_SIZE], want[160];
	int64_t v = 0;
	double t;

	snprintf(want, sizeof(want), "%s: file was truncated to 100 bytes", f->path);
	CHECK(truncate(f->path, 100) == 0);
	CHECK(ipm_get_i64(w, &f->x, &v) == -EIO && strcmp(ipm_map_errmsg(w), want) == 0);
	CHECK(ipm_get_i64(r, &f->x, &v) == -EIO && strcmp(ipm_map_errmsg(r), want) == 0);
	CHECK(ipm_read_text(w, "x", buf, sizeof(buf)) == -EIO);
	CHECK(ipm_get_text(r, &f->str, buf, sizeof(buf)) == -EIO);
	CHECK(ipm_map_copy(r, buf, sizeof(buf)) == -EIO);
	CHECK(ipm_map_timestamp(r, &t) == -EIO);
	CHECK(ipm_set_i64(w, &f->x, 1) == -EIO);
	CHECK(ipm_write_text(w, "s", "lost") == -EIO);
	CHECK(ipm_lock_write(w, -1) == -EIO && ipm_lock_held(w) == 0);
	CHECK(ipm_lock_read(r, -1) == -EIO && ipm_lock_held(r) == 0);
	/* Grown back in place: usable again, as the grower left it (zeros). */
	CHECK(truncate(f->path, SMALL_SIZE) == 0);
	CHECK(ipm_get_i64(r, &f->x, &v) == 0 && v == 0);
	CHECK(ipm_set_i64(w, &f->x, 5) == 0);
	CHECK(ipm_get_i64(r, &f->x, &v) == 0 && v == 5);
	ipm_map_free(w);
	ipm_map_free(r);
}

static void small_file_cut_noticed(void **state)
{
	in_child(*state, small_cut_child);
}

/* A write section during which the file is cut: the unlock reports it. */
static void cut_during_section_child(struct fix *f)
{
	ipm_map *w = open_as(f, IPM_EDITOR);

	CHECK(ipm_lock_write(w, -1) == 0);
	CHECK(truncate(f->path, 100) == 0);
	CHECK(ipm_set_i64(w, &f->x, 3) == -EIO);
	CHECK(ipm_unlock(w) == -EIO);
	CHECK(ipm_lock_held(w) == 0);
	ipm_map_free(w);
}

static void small_file_cut_in_section(void **state)
{
	in_child(*state, cut_during_section_child);
}

/* A write lock refused because the file is cut must leave no open section
 * behind: its saved copy would hold the cut file's zeros, and the next
 * writer would "undo" a death that never happened with them (found by
 * make soak's fault injection). */
static void refused_section_child(struct fix *f)
{
	ipm_map *w = open_as(f, IPM_EDITOR), *w2 = open_as(f, IPM_EDITOR);
	struct ipm_recovery rec;
	int64_t v = 0;

	CHECK(truncate(f->path, 208) == 0); /* x (200..208) stays, s goes */
	CHECK(ipm_lock_write(w, -1) == -EIO);
	CHECK(ipm_lock_held(w) == 0);
	CHECK(truncate(f->path, SMALL_SIZE) == 0);
	CHECK(ipm_lock_write(w2, -1) == 0);
	CHECK(ipm_map_recovery(w2, &rec) == 0 && rec.count == 0 && rec.undone == 0);
	CHECK(ipm_set_i64(w2, &f->x, 77) == 0);
	CHECK(ipm_unlock(w2) == 0);
	CHECK(ipm_get_i64(w, &f->x, &v) == 0 && v == 77);
	CHECK(ipm_map_recovery(w, &rec) == 0 && rec.count == 0);
	ipm_map_free(w2);
	ipm_map_free(w);
}

static void refused_section_left_closed(void **state)
{
	in_child(*state, refused_section_child);
}

/*
 * A writer inside its section, then killed: the parent cuts the lock file
 * (within a page: no fault anywhere) before the kill. Returns the child's
 * pid, dead. The child set x to 1 and s to "half" in its section.
 */
static pid_t killed_in_section(struct fix *f, off_t cut)
{
	int p[2], status;
	pid_t pid;
	char c;

	CHECK(pipe(p) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		ipm_map *w = open_as(f, IPM_EDITOR);

		if (ipm_lock_write(w, -1) < 0 || ipm_set_i64(w, &f->x, 1) < 0 ||
		    ipm_set_str(w, &f->str, "half") < 0)
			_exit(3);
		if (write(p[1], "k", 1) != 1)
			_exit(4);
		pause();
		_exit(5);
	}
	close(p[1]);
	CHECK(read(p[0], &c, 1) == 1);
	close(p[0]);
	if (cut >= 0)
		CHECK(truncate(f->lock, cut) == 0);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));
	return pid;
}

/* The saved bytes of a dead writer's section cut away: the record is not
 * applied (it would write zeros over the structure), the half update stays
 * as the one thing left, and nothing else is touched. Found by review. */
static void cut_record_child(struct fix *f)
{
	ipm_map *r;
	struct ipm_recovery rec;
	char s[64];
	int64_t v = 0;

	CHECK(ipm_set_str(f->u.m, &f->str, "hello") == 0);
	killed_in_section(f, 4096 + 80);
	r = open_as(f, IPM_EDITOR);
	CHECK(ipm_get_i64(r, &f->x, &v) == 0);
	CHECK(ipm_get_str(r, &f->str, s, sizeof(s)) == 0);
	if (v != 1 || strcmp(s, "half") != 0)
		fprintf(stderr, "x %lld s '%s'\n", (long long)v, s);
	CHECK(v == 1 && strcmp(s, "half") == 0);
	CHECK(ipm_map_recovery(r, &rec) == 0 && rec.count == 0);
	ipm_map_free(r);
}

static void cut_record_not_applied(void **state)
{
	in_child(*state, cut_record_child);
}

/* A lock file cut through the undo record's magic, once: crash-atomic
 * writes must go on working (before, the half magic turned them off for
 * good, silently). */
static void cut_magic_child(struct fix *f)
{
	ipm_map *r;
	struct ipm_recovery rec;
	char s[64];
	int64_t v = 0;

	CHECK(ipm_set_str(f->u.m, &f->str, "hello") == 0);
	CHECK(truncate(f->lock, 4096 + 4) == 0);
	CHECK(ipm_set_i64(f->u.m, &f->x, 4243) == 0);
	killed_in_section(f, -1);
	r = open_as(f, IPM_READER);
	CHECK(ipm_get_i64(r, &f->x, &v) == 0);
	CHECK(ipm_get_str(r, &f->str, s, sizeof(s)) == 0);
	if (v != 4243 || strcmp(s, "hello") != 0)
		fprintf(stderr, "x %lld s '%s'\n", (long long)v, s);
	CHECK(v == 4243 && strcmp(s, "hello") == 0);
	ipm_map_free(r);
	r = open_as(f, IPM_EDITOR); /* undoes it in the file */
	CHECK(ipm_map_recovery(r, &rec) == 0 && rec.count == 1);
	ipm_map_free(r);
}

static void cut_magic_keeps_undo(void **state)
{
	in_child(*state, cut_magic_child);
}

/*
 * A writer lease far in the future (written by someone who may write the
 * lock file, or left by a writer waiting at a crash: CLOCK_MONOTONIC starts
 * again at boot, the file does not) must not make every reader step aside
 * for ever, nor every try fail. A live lease is never more than a few ms
 * ahead. Found by review.
 */
static void stale_lease_child(struct fix *f)
{
	uint64_t far = 0x7fffffffffffffffULL;
	ipm_map *r = open_as(f, IPM_EDITOR);
	int fd = open(f->lock, O_WRONLY);
	int64_t v = 0;

	CHECK(fd >= 0 && pwrite(fd, &far, 8, 24) == 8); /* struct ipm_ctl.wlease */
	close(fd);
	if (ipm_lock_read(r, 0) != 0)
		fprintf(stderr, "try: %s\n", ipm_map_errmsg(r));
	CHECK(ipm_lock_held(r) == 1);
	CHECK(ipm_get_i64(r, &f->x, &v) == 0 && v == 4242);
	CHECK(ipm_unlock(r) == 0);
	ipm_map_free(r);
}

static void stale_writer_lease_ignored(void **state)
{
	in_child(*state, stale_lease_child);
}

/*
 * The undo record holds the structure's bytes, and whoever may write it can
 * make writers restore them: it is used only from a lock file that gives
 * nobody more than the .mmap does. Found by review: a 0644 lock file (as
 * fasteners makes it) beside a 0600 .mmap leaked every saved byte, and
 * another user's lock file let them forge a record that root restored.
 */
static void lock_file_trust(void **state)
{
	struct fix *f = *state;
	struct stat st;
	ipm_map *m;

	/* Ours, and wider than the .mmap for users who may not use it: made
	 * narrower, and used. */
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_int_equal(chmod(f->lock, 0644), 0);
	m = unit_inst_handle(&f->u, IPM_EDITOR, 0);
	assert_string_equal(ipm_map_errmsg(m), "");
	assert_int_equal(stat(f->lock, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	ipm_map_free(m);
	/* Others may read the .mmap, and write the lock file (as a Python
	 * reader needs): not taken from them, and the record is not used. */
	assert_int_equal(chmod(f->path, 0644), 0);
	assert_int_equal(chmod(f->lock, 0666), 0);
	m = unit_inst_handle(&f->u, IPM_EDITOR, 0);
	assert_contains(ipm_map_errmsg(m), "its undo record is not used");
	assert_int_equal(stat(f->lock, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0666);
	assert_int_equal(ipm_set_i64(m, &f->x, 5), 0); /* works, without the record */
	ipm_map_free(m);
	/* Someone else's: not used (root may give it away to check). */
	if (geteuid() != 0)
		return;
	assert_int_equal(chmod(f->lock, 0600), 0);
	assert_int_equal(chown(f->lock, 65534, 65534), 0);
	m = unit_inst_handle(&f->u, IPM_EDITOR, 0);
	assert_contains(ipm_map_errmsg(m), "owner 65534");
	ipm_map_free(m);
}

/*
 * A lock file removed (rm -rf .fasteners/ *) or replaced while handles use
 * it: new openers lock the new file, old handles the old one, and the two
 * no longer exclude each other. Old handles must join the file the path
 * names within IPM_FOLLOW_MS. Found by review: split for ever.
 */
static void removed_lock_file_child(struct fix *f)
{
	ipm_map *a = open_as(f, IPM_EDITOR), *b;
	struct timespec ts = {IPM_FOLLOW_MS / 1000, (IPM_FOLLOW_MS % 1000 + 200) * 1000000L};

	CHECK(ipm_lock_read(a, 0) == 0 && ipm_unlock(a) == 0);
	CHECK(unlink(f->lock) == 0);
	b = open_as(f, IPM_EDITOR); /* makes a new lock file */
	CHECK(ipm_lock_write(b, 0) == 0);
	nanosleep(&ts, NULL);
	CHECK(ipm_lock_read(a, 0) == -EAGAIN); /* excluded again */
	CHECK(ipm_unlock(b) == 0);
	CHECK(ipm_lock_write(a, 0) == 0);
	CHECK(ipm_lock_read(b, 0) == -EAGAIN);
	CHECK(ipm_unlock(a) == 0);
	ipm_map_free(b);
	ipm_map_free(a);
}

static void removed_lock_file_joined(void **state)
{
	in_child(*state, removed_lock_file_child);
}

/*
 * A hard link of the .mmap used as its own lock file (one inode under both
 * names): the lock file's control page and undo record would be written
 * into the structure, and the file grown. Refused at open, with a message
 * naming both files; and a handle whose lock file is replaced by such a
 * link keeps the one it has. Found by review: the instance was broken.
 */
static void hard_link_child(struct fix *f)
{
	static const enum ipm_role roles[] = {IPM_MANAGER, IPM_EDITOR, IPM_READER};
	struct timespec ts = {IPM_FOLLOW_MS / 1000, (IPM_FOLLOW_MS % 1000 + 200) * 1000000L};
	char before[SMALL_SIZE], after[SMALL_SIZE];
	ipm_map *a = open_as(f, IPM_EDITOR), *m;
	int64_t v = 0;
	int fd;

	CHECK(ipm_lock_read(a, 0) == 0 && ipm_unlock(a) == 0);
	fd = open(f->path, O_RDONLY);
	CHECK(fd >= 0 && pread(fd, before, sizeof(before), 0) == SMALL_SIZE);
	CHECK(unlink(f->lock) == 0 && link(f->path, f->lock) == 0);
	for (size_t i = 0; i < 3; i++) {
		m = ipm_map_new(f->u.s);
		CHECK(ipm_map_open(m, "Small", "", roles[i], &f->u.opts) == -EINVAL);
		CHECK(strstr(ipm_map_errmsg(m), f->lock) && strstr(ipm_map_errmsg(m), f->path));
		CHECK(strstr(ipm_map_errmsg(m), "hard link"));
		ipm_map_free(m);
	}
	/* The old handle looks at the lock file's path again: not taken. */
	nanosleep(&ts, NULL);
	CHECK(ipm_lock_write(a, 0) == 0 && ipm_unlock(a) == 0);
	CHECK(ipm_get_i64(a, &f->x, &v) == 0 && v == 4242);
	CHECK(size_of(f->path) == SMALL_SIZE);
	CHECK(pread(fd, after, sizeof(after), 0) == SMALL_SIZE);
	CHECK(memcmp(before, after, SMALL_SIZE) == 0);
	close(fd);
	ipm_map_free(a);
}

static void hard_link_lock_file_refused(void **state)
{
	in_child(*state, hard_link_child);
}

/* Grown past its size: noticed (at once where the filesystem clears the
 * tail of the last page on growth, within IPM_SIZE_RECHECK accesses
 * elsewhere), and the other handles are not fooled either. */
static void small_grown_child(struct fix *f)
{
	ipm_map *r = open_as(f, IPM_READER);
	char want[160];
	int64_t v = 0;
	int i, rc = 0;

	snprintf(want, sizeof(want), "%s: size %d, expected %d", f->path, 1000, SMALL_SIZE);
	CHECK(truncate(f->path, 1000) == 0);
	for (i = 0; i < 1000 && rc == 0; i++)
		rc = ipm_get_i64(r, &f->x, &v);
	CHECK(rc == -EIO && strstr(ipm_map_errmsg(r), want));
	CHECK(truncate(f->path, SMALL_SIZE) == 0);
	CHECK(ipm_get_i64(r, &f->x, &v) == 0 && v == 4242);
	ipm_map_free(r);
}

static void small_file_grown_noticed(void **state)
{
	in_child(*state, small_grown_child);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(lock_file_cut_writer_repairs, setup, teardown),
	    cmocka_unit_test_setup_teardown(lock_file_cut_in_section, setup, teardown),
	    cmocka_unit_test_setup_teardown(lock_file_cut_reader_eio, setup, teardown),
	    cmocka_unit_test_setup_teardown(lock_file_full_disk, setup, teardown),
	    cmocka_unit_test_setup_teardown(small_file_cut_noticed, setup, teardown),
	    cmocka_unit_test_setup_teardown(small_file_cut_in_section, setup, teardown),
	    cmocka_unit_test_setup_teardown(small_file_grown_noticed, setup, teardown),
	    cmocka_unit_test_setup_teardown(refused_section_left_closed, setup, teardown),
	    cmocka_unit_test_setup_teardown(cut_record_not_applied, setup, teardown),
	    cmocka_unit_test_setup_teardown(cut_magic_keeps_undo, setup, teardown),
	    cmocka_unit_test_setup_teardown(stale_writer_lease_ignored, setup, teardown),
	    cmocka_unit_test_setup_teardown(lock_file_trust, setup, teardown),
	    cmocka_unit_test_setup_teardown(removed_lock_file_joined, setup, teardown),
	    cmocka_unit_test_setup_teardown(hard_link_lock_file_refused, setup, teardown),
	};

	/* The first guarded call installs the handler, even on no handle. */
	if (ipm_map_guarded(NULL, NULL, NULL) != -EBADF ||
	    sigaction(SIGBUS, NULL, &guard_handler) < 0 || !(guard_handler.sa_flags & SA_SIGINFO))
		return 1;
	alarm(120);
	return cmocka_run_group_tests_name("lockfile", tests, NULL, NULL);
}
