/*
 * test_notify.c - waiting for a change: tokens, timeouts, wake-ups across
 * processes, a Python writer seen through time_stamp, killed waiters.
 *
 * Processes meet through pipes, never through sleeps. Where a test needs a
 * child to be asleep in its wait, it yields until /proc says the child
 * sleeps. Children open their own handles.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

static const char schema_text[] = "[Small]\n"
				  "header = MmapStructureHeader\n"
				  "value = int32\n";

struct fix {
	struct unit_inst u;	   /* schema, directory, manager handle */
	struct ipm_field value;	   /* Small.value */
};

static struct fix *fx; /* for children, which run outside cmocka */

static int setup(void **state)
{
	/* 0644: readonly_lock_file has another user read it. */
	int rc = unit_inst_setup(state, sizeof(struct fix), schema_text, "Small", "notify", 0644);

	fx = *state;
	return rc < 0 ? rc : ipm_map_resolve(fx->u.m, "value", &fx->value);
}

#define teardown unit_inst_teardown

/* A child's own handle on the instance (of tag), exits on failure. */
static ipm_map *child_open_tag(enum ipm_role role, const char *tag)
{
	return unit_inst_handle_tag(&fx->u, role, tag, 1);
}

static ipm_map *child_open(enum ipm_role role)
{
	return child_open_tag(role, "");
}

/* The state letter of /proc/PID/stat ('R', 'S', ...). */
static char proc_state(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fp = fopen(path, "r");
	if (!fp)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* Yields until the child sleeps (in its wait, since it has nothing else to
 * block on); fails after 5 s. */
static void wait_asleep(pid_t pid)
{
	int64_t end = unit_now_ns() + 5000000000LL;

	while (proc_state(pid) != 'S') {
		if (unit_now_ns() > end)
			fail_msg("child %d never went to sleep", (int)pid);
		sched_yield();
	}
}

static void reap(pid_t pid, int want_status)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), want_status);
}

/* Tokens change with every write section and with nothing else. */
static void token_follows_writes(void **state)
{
	struct fix *f = *state;
	uint64_t t0, t1, t2, t3;
	int64_t v;
	char want[160];

	assert_int_equal(ipm_map_changes(f->u.m, &t0), 0);
	assert_int_equal(ipm_map_wait(f->u.m, t0, 0), -ETIMEDOUT);
	/* Reading, under a lock or not, is no change. */
	assert_int_equal(ipm_get_i64(f->u.m, &f->value, &v), 0);
	assert_int_equal(ipm_lock_read(f->u.m, -1), 0);
	assert_int_equal(ipm_unlock(f->u.m), 0);
	assert_int_equal(ipm_map_changes(f->u.m, &t1), 0);
	assert_true(t1 == t0);
	/* An auto-locked write is one. */
	assert_int_equal(ipm_set_i64(f->u.m, &f->value, 5), 0);
	assert_int_equal(ipm_map_changes(f->u.m, &t1), 0);
	assert_true(t1 != t0);
	assert_int_equal(ipm_map_wait(f->u.m, t0, 0), 0);
	assert_int_equal(ipm_map_wait(f->u.m, t0, -1), 0);
	/* So is a write lock going down to a read lock, counted before it goes:
	 * under the read lock the token already says so. */
	assert_int_equal(ipm_lock_write(f->u.m, -1), 0);
	assert_int_equal(ipm_lock_read(f->u.m, -1), 0);
	assert_int_equal(ipm_map_changes(f->u.m, &t2), 0);
	assert_true(t2 != t1);
	assert_int_equal(ipm_unlock(f->u.m), 0);
	/* A time_stamp change alone is one too (how Python writes are seen). */
	assert_int_equal(ipm_lock_write(f->u.m, -1), 0);
	assert_int_equal(ipm_map_changes(f->u.m, &t2), 0);
	assert_int_equal(ipm_map_touch(f->u.m), 0);
	assert_int_equal(ipm_map_changes(f->u.m, &t3), 0);
	assert_true(t3 != t2);
	assert_true(t3 >> 32 == t2 >> 32);
	assert_int_equal(ipm_unlock(f->u.m), 0);

	/* A closed handle. */
	{
		ipm_map *c = ipm_map_new(f->u.s);

		assert_int_equal(ipm_map_changes(c, &t0), -EBADF);
		assert_int_equal(ipm_map_wait(c, t0, 0), -EBADF);
		snprintf(want, sizeof(want), "cannot wait: map is not open");
		assert_string_equal(ipm_map_errmsg(c), want);
		ipm_map_free(c);
	}
}

static void timeout_expires(void **state)
{
	struct fix *f = *state;
	uint64_t t;
	int64_t t0, ms;

	assert_int_equal(ipm_map_changes(f->u.m, &t), 0);
	t0 = unit_now_ns();
	assert_int_equal(ipm_map_wait(f->u.m, t, 50), -ETIMEDOUT);
	ms = (unit_now_ns() - t0) / 1000000;
	assert_true(ms >= 50);
	assert_true(ms < 1000);
	t0 = unit_now_ns();
	assert_int_equal(ipm_map_wait(f->u.m, t, 0), -ETIMEDOUT);
	assert_true(unit_now_ns() - t0 < 10000000);
}

/*
 * A reader in another process: nothing wakes it while the parent only reads
 * (its 60 ms wait times out), then the parent's write wakes it, and it sees
 * the value written.
 */
static void wakes_on_write_not_before(void **state)
{
	struct fix *f = *state;
	int to_child[2], to_parent[2];
	struct {
		int rc_idle;   /* wait while the parent only read */
		int rc;	       /* wait while the parent wrote */
		int64_t t_ret; /* when the second wait returned */
		int64_t value; /* read after it */
	} r;
	int64_t t_write, v;
	char c;
	pid_t pid;

	assert_int_equal(pipe(to_child), 0);
	assert_int_equal(pipe(to_parent), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipm_map *m = child_open(IPM_READER);
		uint64_t seen;

		ipm_lock_read(m, -1);
		ipm_map_changes(m, &seen);
		ipm_unlock(m);
		unit_put(to_parent[1], "r", 1);
		if (read(to_child[0], &c, 1) != 1)
			_exit(92);
		r.rc_idle = ipm_map_wait(m, seen, 60);
		unit_put(to_parent[1], "w", 1);
		r.rc = ipm_map_wait(m, seen, 10000);
		r.t_ret = unit_now_ns();
		r.value = -1;
		ipm_get_i64(m, &fx->value, &r.value);
		unit_put(to_parent[1], &r, sizeof(r));
		ipm_map_free(m);
		_exit(0);
	}
	unit_get(to_parent[0], &c, 1);
	/* Reads of every kind, while the child holds its token. */
	assert_int_equal(ipm_get_i64(f->u.m, &f->value, &v), 0);
	assert_int_equal(ipm_lock_read(f->u.m, -1), 0);
	assert_int_equal(ipm_unlock(f->u.m), 0);
	unit_put(to_child[1], "g", 1);
	unit_get(to_parent[0], &c, 1);
	assert_int_equal(c, 'w');
	wait_asleep(pid);
	t_write = unit_now_ns();
	assert_int_equal(ipm_set_i64(f->u.m, &f->value, 4242), 0);
	unit_get(to_parent[0], &r, sizeof(r));
	reap(pid, 0);
	assert_int_equal(r.rc_idle, -ETIMEDOUT);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.value, 4242);
	print_message("wake after a C write: %.1f us\n", (double)(r.t_ret - t_write) / 1000);
	assert_true(r.t_ret - t_write < 50000000);
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Wake-up latency over many rounds: median and worst, printed. */
static void wake_latency(void **state)
{
	enum { ROUNDS = 40 };
	struct fix *f = *state;
	int to_parent[2];
	int64_t lat[ROUNDS];
	pid_t pid;

	assert_int_equal(pipe(to_parent), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipm_map *m = child_open(IPM_READER);

		for (int i = 0; i < ROUNDS; i++) {
			uint64_t seen;
			int64_t t;

			ipm_lock_read(m, -1);
			ipm_map_changes(m, &seen);
			ipm_unlock(m);
			unit_put(to_parent[1], "r", 1);
			if (ipm_map_wait(m, seen, 10000) != 0)
				_exit(93);
			t = unit_now_ns();
			unit_put(to_parent[1], &t, sizeof(t));
		}
		ipm_map_free(m);
		_exit(0);
	}
	for (int i = 0; i < ROUNDS; i++) {
		int64_t t_write, t_ret;
		char c;

		unit_get(to_parent[0], &c, 1);
		wait_asleep(pid);
		t_write = unit_now_ns();
		assert_int_equal(ipm_set_i64(f->u.m, &f->value, i), 0);
		unit_get(to_parent[0], &t_ret, sizeof(t_ret));
		lat[i] = t_ret - t_write;
	}
	reap(pid, 0);
	qsort(lat, ROUNDS, sizeof(lat[0]), cmp_i64);
	print_message("wake latency over %d writes: median %.1f us, max %.1f us\n", ROUNDS,
		      (double)lat[ROUNDS / 2] / 1000, (double)lat[ROUNDS - 1] / 1000);
	assert_true(lat[ROUNDS - 1] < 50000000);
	close(to_parent[0]);
	close(to_parent[1]);
}

/* Python's fasteners and IPMMAP's way of writing: lock, bytes, time_stamp. */
static const char py_writer[] =
    "import sys, mmap, struct, time, fasteners\n"
    "rw = fasteners.InterProcessReaderWriterLock(sys.argv[1])\n"
    "print('1' if rw.acquire_write_lock(blocking=False) else '0', flush=True)\n"
    "sys.stdin.readline()\n"
    "rw.acquire_write_lock()\n"
    "with open(sys.argv[2], 'r+b') as fp:\n"
    "    mm = mmap.mmap(fp.fileno(), 0)\n"
    "    struct.pack_into('i', mm, 16, 777)\n"
    "    struct.pack_into('d', mm, 8, time.time())\n"
    "    t = time.monotonic_ns()\n"
    "    mm.close()\n"
    "rw.release_write_lock()\n"
    "print(t, flush=True)\n";

static const char *python(void)
{
	const char *p = getenv("PYTHON");

	return p && *p ? p : "/usr/bin/python3";
}

static int have_fasteners(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "%s -c 'import fasteners' 2>/dev/null", python());
	return access(python(), X_OK) == 0 && system(cmd) == 0;
}

/*
 * A Python writer that knows nothing of the counter: fasteners still
 * excludes it with our control block in the lock file, and its change is
 * seen through time_stamp within IPM_WAIT_POLL_MS (plus a margin).
 */
static void python_writer_seen(void **state)
{
	struct fix *f = *state;
	int in[2], out[2];
	uint64_t seen, now;
	int64_t t_wake, t_py, v;
	char line[64];
	struct stat st;
	FILE *fp;
	pid_t pid;

	if (!have_fasteners())
		skip();
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	assert_int_equal(ipm_lock_write(f->u.m, -1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execl(python(), python(), "-c", py_writer, ipm_map_lock_path(fx->u.m),
		      ipm_map_path(fx->u.m), (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	fp = fdopen(out[0], "r");
	assert_non_null(fp);
	/* Our write lock keeps fasteners out, control block or not. */
	assert_non_null(fgets(line, sizeof(line), fp));
	assert_string_equal(line, "0\n");
	assert_int_equal(ipm_unlock(f->u.m), 0);
	assert_int_equal(ipm_map_changes(f->u.m, &seen), 0);
	assert_int_equal(write(in[1], "go\n", 3), 3);
	assert_int_equal(ipm_map_wait(f->u.m, seen, 10000), 0);
	t_wake = unit_now_ns();
	assert_non_null(fgets(line, sizeof(line), fp));
	t_py = strtoll(line, NULL, 10);
	fclose(fp);
	close(in[1]);
	reap(pid, 0);
	/* Seen through time_stamp alone: the counter did not move. */
	assert_int_equal(ipm_map_changes(f->u.m, &now), 0);
	assert_true(now >> 32 == seen >> 32);
	assert_int_equal(ipm_get_i64(f->u.m, &f->value, &v), 0);
	assert_int_equal(v, 777);
	print_message("python write seen after %.1f ms (bound %d ms)\n",
		      (double)(t_wake - t_py) / 1e6, IPM_WAIT_POLL_MS);
	assert_true(t_wake - t_py < (IPM_WAIT_POLL_MS + 30) * 1000000LL);
	/* fasteners left the control block and the undo record (a page for
	 * its header and range headers, and room for the structure) alone. */
	assert_int_equal(stat(ipm_map_lock_path(f->u.m), &st), 0);
	assert_int_equal(st.st_size, 8192 + ipm_map_size(f->u.m) + 1); /* + the sentinel */
}

/* A waiter killed in its wait leaves nothing that stops the next one. */
static void killed_waiter_harmless(void **state)
{
	struct fix *f = *state;
	int to_parent[2];
	int64_t t_write, t_ret;
	int status;
	char c;
	pid_t pid;

	for (int round = 0; round < 2; round++) {
		assert_int_equal(pipe(to_parent), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			ipm_map *m = child_open(IPM_READER);
			uint64_t seen;

			ipm_map_changes(m, &seen);
			unit_put(to_parent[1], "r", 1);
			if (ipm_map_wait(m, seen, round == 0 ? -1 : 10000) != 0)
				_exit(94);
			t_ret = unit_now_ns();
			unit_put(to_parent[1], &t_ret, sizeof(t_ret));
			ipm_map_free(m);
			_exit(0);
		}
		unit_get(to_parent[0], &c, 1);
		wait_asleep(pid);
		if (round == 0) {
			assert_int_equal(kill(pid, SIGKILL), 0);
			assert_int_equal(waitpid(pid, &status, 0), pid);
			assert_true(WIFSIGNALED(status));
		} else {
			t_write = unit_now_ns();
			assert_int_equal(ipm_set_i64(f->u.m, &f->value, 1), 0);
			unit_get(to_parent[0], &t_ret, sizeof(t_ret));
			reap(pid, 0);
			assert_true(t_ret - t_write < 50000000);
		}
		close(to_parent[0]);
		close(to_parent[1]);
	}
	/* The writer goes on as before. */
	assert_int_equal(ipm_set_i64(f->u.m, &f->value, 2), 0);
}

/* ipm_lock_signal() ends a wait with -EINTR, as it ends a lock wait. */
static void signal_interrupts(void **state)
{
	int to_parent[2];
	int rc;
	char c;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(to_parent), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipm_map *m = child_open(IPM_READER);
		uint64_t seen;

		ipm_map_changes(m, &seen);
		/* The first wait that may sleep installs the handler. */
		ipm_map_wait(m, seen, 1);
		unit_put(to_parent[1], "r", 1);
		rc = ipm_map_wait(m, seen, -1);
		unit_put(to_parent[1], &rc, sizeof(rc));
		ipm_map_free(m);
		_exit(0);
	}
	unit_get(to_parent[0], &c, 1);
	wait_asleep(pid);
	assert_int_equal(kill(pid, ipm_lock_signal()), 0);
	unit_get(to_parent[0], &rc, sizeof(rc));
	reap(pid, 0);
	assert_int_equal(rc, -EINTR);
	close(to_parent[0]);
	close(to_parent[1]);
}

/*
 * A reader that may not write the lock file cannot take a lease: it still
 * sees a C write within IPM_WAIT_POLL_MS, through its read-only control block
 * or, when the lock file is too short for one, through time_stamp alone.
 * (Root ignores file modes, so then the child also gives up root.)
 */
static void readonly_lock_file(void **state)
{
	struct fix *f = *state;
	int to_parent[2];

	assert_int_equal(chmod(f->u.dir, 0755), 0);
	for (int round = 0; round < 2; round++) {
		const char *tag = round ? "empty" : "";
		struct {
			int rc;	       /* of the wait */
			int64_t t_ret; /* when it returned */
		} r;
		ipm_map *w = f->u.m;
		char lock_path[128];
		int64_t t_write;
		char c;
		pid_t pid;

		/* Round 1: an empty lock file, as fasteners would leave it,
		 * which nobody has mapped (cutting a mapped one kills its
		 * users with SIGBUS, as cutting the .mmap file does). */
		snprintf(lock_path, sizeof(lock_path), "%s/Small_%s.lockfile", f->u.dir, tag);
		if (round == 1) {
			w = ipm_map_new(f->u.s);
			assert_int_equal(ipm_map_open(w, "Small", tag, IPM_MANAGER, &f->u.opts), 0);
			ipm_map_close(w);
			assert_int_equal(truncate(lock_path, 0), 0);
		}
		assert_int_equal(chmod(lock_path, 0444), 0);
		assert_int_equal(pipe(to_parent), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			ipm_map *m;
			uint64_t seen;

			if (geteuid() == 0 && setuid(65534) < 0)
				_exit(95);
			if (w != fx->u.m)
				ipm_map_free(w); /* the parent's */
			memset(&r, 0, sizeof(r)); /* padding too: it goes down a pipe */
			m = child_open_tag(IPM_READER, tag);
			ipm_map_changes(m, &seen);
			unit_put(to_parent[1], "r", 1);
			r.rc = ipm_map_wait(m, seen, 10000);
			r.t_ret = unit_now_ns();
			unit_put(to_parent[1], &r, sizeof(r));
			ipm_map_free(m);
			_exit(0);
		}
		unit_get(to_parent[0], &c, 1);
		wait_asleep(pid);
		if (round == 1) /* only now: opening as a writer grows the file */
			assert_int_equal(ipm_map_open(w, "Small", tag, IPM_EDITOR, &f->u.opts), 0);
		t_write = unit_now_ns();
		assert_int_equal(ipm_lock_write(w, -1), 0);
		assert_int_equal(ipm_set_i64(w, &f->value, 10 + round), 0);
		assert_int_equal(ipm_map_touch(w), 0);
		assert_int_equal(ipm_unlock(w), 0);
		unit_get(to_parent[0], &r, sizeof(r));
		reap(pid, 0);
		assert_int_equal(r.rc, 0);
		print_message("read-only lock file%s: write seen after %.1f ms\n",
			      round ? ", no control block" : "", (double)(r.t_ret - t_write) / 1e6);
		assert_true(r.t_ret - t_write < (IPM_WAIT_POLL_MS + 30) * 1000000LL);
		if (w != f->u.m)
			ipm_map_free(w);
		close(to_parent[0]);
		close(to_parent[1]);
	}
}

/* The control block: made in an empty lock file (as fasteners leaves it),
 * never cutting a longer one, refused when something else is in it. */
static void control_block_in_lock_file(void **state)
{
	struct fix *f = *state;
	char path[128], head[9] = "", want[300];
	struct stat st;
	ipm_map *m;
	int fd;

	/* An empty lock file, as a fasteners process would have made it. */
	snprintf(path, sizeof(path), "%s/Small_a.lockfile", f->u.dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0666);
	assert_true(fd >= 0);
	close(fd);
	m = ipm_map_new(f->u.s);
	assert_int_equal(ipm_map_open(m, "Small", "a", IPM_MANAGER, &f->u.opts), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 8192 + ipm_map_size(m) + 1); /* the undo record, the sentinel */
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, head, 8), 8);
	close(fd);
	assert_string_equal(head, "IPMCTL01");
	ipm_map_free(m);

	/* A longer file (a later version's pages) stays as long. */
	assert_int_equal(truncate(path, 12288), 0);
	m = ipm_map_new(f->u.s);
	assert_int_equal(ipm_map_open(m, "Small", "a", IPM_READER, &f->u.opts), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 12288);
	ipm_map_free(m);

	/* Someone else's bytes: left alone, and the handle goes on without a
	 * control block, saying why. */
	snprintf(path, sizeof(path), "%s/Small_b.lockfile", f->u.dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0666);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "NOTOURS\n", 8), 8);
	close(fd);
	m = ipm_map_new(f->u.s);
	assert_int_equal(ipm_map_open(m, "Small", "b", IPM_MANAGER, &f->u.opts), 0);
	snprintf(want, sizeof(want),
		 "lock file %s: control block magic 'NOTOURS?', expected 'IPMCTL01': ignored",
		 path);
	assert_string_equal(ipm_map_errmsg(m), want);
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, head, 8), 8);
	close(fd);
	assert_memory_equal(head, "NOTOURS\n", 8);
	ipm_map_free(m);
}

/* Writes len bytes of c at off in the file at path, creating it. */
static void fill(const char *path, off_t off, int c, size_t len)
{
	char *buf = malloc(len);
	int fd = open(path, O_RDWR | O_CREAT, 0644);

	assert_non_null(buf);
	assert_true(fd >= 0);
	memset(buf, c, len);
	assert_int_equal(pwrite(fd, buf, len, off), (ssize_t)len);
	close(fd);
	free(buf);
}

/* A lock file full of garbage does not make the instance unusable: locks,
 * accesses and waits by time_stamp work, and nothing of it is restored. */
static void garbage_lock_file(void **state)
{
	struct fix *f = *state;
	size_t size = ipm_map_size(f->u.m), len = 4096 + 64 + size, i;
	char path[128], want[300], *back = malloc(len);
	uint64_t tok;
	int64_t v = 0;
	ipm_map *m;
	int fd;

	assert_non_null(back);
	snprintf(path, sizeof(path), "%s/Small_g.lockfile", f->u.dir);
	fill(path, 0, 'A', len);
	m = ipm_map_new(f->u.s);
	assert_int_equal(ipm_map_open(m, "Small", "g", IPM_MANAGER, &f->u.opts), 0);
	snprintf(want, sizeof(want),
		 "lock file %s: control block magic 'AAAAAAAA', expected 'IPMCTL01': ignored",
		 path);
	assert_string_equal(ipm_map_errmsg(m), want);
	assert_int_equal(ipm_lock_write(m, 100), 0);
	assert_int_equal(ipm_set_i64(m, &f->value, 42), 0);
	assert_int_equal(ipm_unlock(m), 0);
	assert_int_equal(ipm_lock_read(m, 100), 0);
	assert_int_equal(ipm_get_i64(m, &f->value, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(ipm_unlock(m), 0);
	/* Waiting watches the time_stamp only. */
	assert_int_equal(ipm_map_changes(m, &tok), 0);
	assert_int_equal(tok >> 32, 0);
	assert_int_equal(ipm_map_wait(m, tok, 20), -ETIMEDOUT);
	assert_int_equal(ipm_lock_write(m, 100), 0);
	assert_int_equal(ipm_map_touch(m), 0);
	assert_int_equal(ipm_unlock(m), 0);
	assert_int_equal(ipm_map_wait(m, tok, 5000), 0);
	ipm_map_free(m);
	/* Not one byte of the lock file written. */
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, back, len), (ssize_t)len);
	close(fd);
	for (i = 0; i < len; i++)
		assert_int_equal(back[i], 'A');
	free(back);
}

/* An undo record with our magic and a dirty mark but garbage in its fields
 * is never restored over the structure. */
static void garbage_undo_record(void **state)
{
	struct fix *f = *state;
	size_t size = ipm_map_size(f->u.m);
	char path[128];
	uint32_t dirty = 1;
	uint64_t sz = size;
	struct ipm_recovery rec;
	int64_t v = 0;
	ipm_map *m;
	int fd;

	snprintf(path, sizeof(path), "%s/Small_.lockfile", f->u.dir);
	assert_int_equal(ipm_lock_write(f->u.m, 100), 0);
	assert_int_equal(ipm_set_i64(f->u.m, &f->value, 7), 0);
	assert_int_equal(ipm_unlock(f->u.m), 0);
	/* magic stays; state dirty, the right size, the rest 'A's. */
	fill(path, 4096 + 8, 'A', 56 + size);
	fd = open(path, O_RDWR);
	assert_int_equal(pwrite(fd, &dirty, 4, 4096 + 8), 4);
	assert_int_equal(pwrite(fd, &sz, 8, 4096 + 16), 8);
	close(fd);
	m = ipm_map_new(f->u.s);
	assert_int_equal(ipm_map_open(m, "Small", "", IPM_EDITOR, &f->u.opts), 0);
	assert_int_equal(ipm_lock_read(m, 100), 0);
	assert_int_equal(ipm_map_recovery(m, &rec), 0);
	assert_false(rec.pending);
	assert_false(rec.reading_saved);
	assert_int_equal(ipm_get_i64(m, &f->value, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(ipm_lock_write(m, 100), 0);
	assert_int_equal(ipm_get_i64(m, &f->value, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(ipm_unlock(m), 0);
	assert_int_equal(ipm_map_recovery(m, &rec), 0);
	assert_int_equal(rec.undone, 0);
	ipm_map_free(m);
	/* A manager opening it does not restore it either. */
	m = ipm_map_new(f->u.s);
	assert_int_equal(ipm_map_open(m, "Small", "", IPM_MANAGER, &f->u.opts), 0);
	assert_int_equal(ipm_lock_read(m, 100), 0);
	assert_int_equal(ipm_get_i64(m, &f->value, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(ipm_unlock(m), 0);
	ipm_map_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(token_follows_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(timeout_expires, setup, teardown),
	    cmocka_unit_test_setup_teardown(wakes_on_write_not_before, setup, teardown),
	    cmocka_unit_test_setup_teardown(wake_latency, setup, teardown),
	    cmocka_unit_test_setup_teardown(python_writer_seen, setup, teardown),
	    cmocka_unit_test_setup_teardown(killed_waiter_harmless, setup, teardown),
	    cmocka_unit_test_setup_teardown(signal_interrupts, setup, teardown),
	    cmocka_unit_test_setup_teardown(readonly_lock_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(control_block_in_lock_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(garbage_lock_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(garbage_undo_record, setup, teardown),
	};

	return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
