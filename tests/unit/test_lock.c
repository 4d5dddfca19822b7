/*
 * test_lock.c - reader/writer locks across processes, threads, and Python.
 *
 * Processes meet through pipes, never through sleeps. A forked child opens
 * its own handle: the parent's handle shares its open file description with
 * the child, and so its lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
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
};

static struct fix *fx; /* for children, which run outside cmocka */

static int setup(void **state)
{
	int rc = unit_inst_setup(state, sizeof(struct fix), schema_text, "Small", "lock", 0);

	fx = *state;
	return rc;
}

#define teardown unit_inst_teardown

/* A second handle on the same instance, in this process. */
static ipm_map *other(enum ipm_role role)
{
	return unit_inst_handle(&fx->u, role, 0);
}

/*
 * What a child does: open its own handle with role, take a lock (write if
 * want_write) with timeout, then report rc and the monotonic time it returned.
 */
struct try_report {
	int rc;	       /* of the lock call */
	int64_t t_ret; /* CLOCK_MONOTONIC when it returned */
	int64_t t_in;  /* CLOCK_MONOTONIC before the call */
};

static pid_t child_lock(enum ipm_role role, int want_write, int timeout, int *out)
{
	int p[2];
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct try_report r;
		ipm_map *m = ipm_map_new(fx->u.s);

		close(p[0]);
		if (!m || ipm_map_open(m, "Small", "", role, &fx->u.opts) < 0)
			_exit(91);
		r.t_in = unit_now_ns();
		r.rc = want_write ? ipm_lock_write(m, timeout) : ipm_lock_read(m, timeout);
		r.t_ret = unit_now_ns();
		ipm_map_free(m);
		unit_put(p[1], &r, sizeof(r));
		_exit(0);
	}
	close(p[1]);
	*out = p[0];
	return pid;
}

static struct try_report finish(pid_t pid, int fd)
{
	struct try_report r;
	int status;

	unit_get(fd, &r, sizeof(r));
	close(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	return r;
}

static int try_in_child(int want_write)
{
	int fd;
	pid_t pid = child_lock(IPM_EDITOR, want_write, 0, &fd);

	return finish(pid, fd).rc;
}

/* Whether someone waits in the kernel for the lock file of m: /proc/locks
 * lists blocked waiters as "N: -> OFDLCK ...". */
static int has_waiter(ipm_map *m)
{
	struct stat st;
	char line[256], ino[64];
	FILE *fp;
	int found = 0;

	assert_int_equal(stat(ipm_map_lock_path(m), &st), 0);
	snprintf(ino, sizeof(ino), ":%lu ", (unsigned long)st.st_ino);
	fp = fopen("/proc/locks", "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		if (strstr(line, "->") && strstr(line, ino))
			found = 1;
	fclose(fp);
	return found;
}

/* Yields until a waiter shows up; fails after 5 s. */
static void wait_for_waiter(ipm_map *m)
{
	int64_t end = unit_now_ns() + 5000000000LL;

	while (!has_waiter(m)) {
		if (unit_now_ns() > end)
			fail_msg("no waiter appeared in /proc/locks");
		sched_yield();
	}
}

/* The seed's four cases, across processes. */
static void read_while_read_locked(void **state)
{
	struct fix *f = *state;

	assert_int_equal(ipm_lock_read(f->u.m, 0), 0);
	assert_int_equal(ipm_lock_held(f->u.m), 1);
	assert_int_equal(try_in_child(0), 0);
}

static void write_while_read_locked(void **state)
{
	struct fix *f = *state;
	char want[200];

	assert_int_equal(ipm_lock_read(f->u.m, 0), 0);
	assert_int_equal(try_in_child(1), -EAGAIN);
	/* The message, seen on a handle of this process. */
	{
		ipm_map *o = other(IPM_EDITOR);

		assert_int_equal(ipm_lock_write(o, 0), -EAGAIN);
		snprintf(want, sizeof(want), "cannot take the write lock on %s: held by another",
			 ipm_map_lock_path(o));
		assert_string_equal(ipm_map_errmsg(o), want);
		assert_int_equal(ipm_lock_held(o), 0);
		ipm_map_free(o);
	}
}

static void read_while_write_locked(void **state)
{
	struct fix *f = *state;

	assert_int_equal(ipm_lock_write(f->u.m, 0), 0);
	assert_int_equal(ipm_lock_held(f->u.m), 2);
	assert_int_equal(try_in_child(0), -EAGAIN);
}

static void write_while_write_locked(void **state)
{
	struct fix *f = *state;

	assert_int_equal(ipm_lock_write(f->u.m, 0), 0);
	assert_int_equal(try_in_child(1), -EAGAIN);
	assert_int_equal(ipm_unlock(f->u.m), 0);
	assert_int_equal(try_in_child(1), 0);
}

static void blocked_reader_wakes_fast(void **state)
{
	struct fix *f = *state;
	struct try_report r;
	int64_t t_release;
	pid_t pid;
	int fd;

	assert_int_equal(ipm_lock_write(f->u.m, -1), 0);
	pid = child_lock(IPM_READER, 0, -1, &fd);
	wait_for_waiter(f->u.m);
	t_release = unit_now_ns();
	assert_int_equal(ipm_unlock(f->u.m), 0);
	r = finish(pid, fd);
	assert_int_equal(r.rc, 0);
	assert_true(r.t_ret >= t_release);
	if (r.t_ret - t_release >= 100000000)
		fail_msg("woke %lld ns after the release", (long long)(r.t_ret - t_release));
}

static void timed_wait_times_out(void **state)
{
	struct fix *f = *state;
	struct try_report r;
	int64_t took;
	pid_t pid;
	int fd;

	if (unit_under_valgrind())
		skip();
	assert_int_equal(ipm_lock_read(f->u.m, 0), 0);
	pid = child_lock(IPM_EDITOR, 1, 50, &fd);
	r = finish(pid, fd);
	took = r.t_ret - r.t_in;
	assert_int_equal(r.rc, -ETIMEDOUT);
	if (took < 50000000 || took >= 2000000000)
		fail_msg("timed out after %lld ns", (long long)took);

	/* And in this process, with the message. */
	{
		ipm_map *o = other(IPM_EDITOR);
		char want[200];

		assert_int_equal(ipm_lock_write(o, 20), -ETIMEDOUT);
		snprintf(want, sizeof(want),
			 "cannot take the write lock on %s: timed out after 20 ms",
			 ipm_map_lock_path(o));
		assert_string_equal(ipm_map_errmsg(o), want);

		/* Short waits, many: a timer signal that comes before the
		 * wait begins must not leave it waiting forever. */
		for (int i = 0; i < 100; i++)
			assert_int_equal(ipm_lock_write(o, 1), -ETIMEDOUT);
		ipm_map_free(o);
	}
}

static void timed_wait_gets_it(void **state)
{
	struct fix *f = *state;
	struct try_report r;
	pid_t pid;
	int fd;

	assert_int_equal(ipm_lock_write(f->u.m, 0), 0);
	pid = child_lock(IPM_EDITOR, 1, 10000, &fd);
	wait_for_waiter(f->u.m);
	assert_int_equal(ipm_unlock(f->u.m), 0);
	r = finish(pid, fd);
	assert_int_equal(r.rc, 0);
	assert_true(r.t_ret - r.t_in < 5000000000LL);
}

static void killed_holder_frees_lock(void **state)
{
	struct fix *f = *state;
	int up[2], down[2], status;
	pid_t pid;
	char c;

	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipm_map *m = ipm_map_new(fx->u.s);

		close(up[0]);
		close(down[1]);
		if (!m || ipm_map_open(m, "Small", "", IPM_EDITOR, &fx->u.opts) < 0 ||
		    ipm_lock_write(m, -1) < 0)
			_exit(91);
		unit_put(up[1], "L", 1);
		/* Hold it until killed. */
		if (read(down[0], &c, 1) < 0)
			_exit(92);
		_exit(93);
	}
	close(up[1]);
	close(down[0]);
	unit_get(up[0], &c, 1);
	assert_int_equal(c, 'L');
	assert_int_equal(ipm_lock_read(f->u.m, 0), -EAGAIN);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_int_equal(ipm_lock_write(f->u.m, 0), 0);
	close(up[0]);
	close(down[1]);
}

struct thread_job {
	ipm_map *m;	/* the thread's own handle */
	int want_write; /* which lock */
	int timeout;	/* for it */
	int rc;		/* what it returned */
};

static void *thread_lock(void *arg)
{
	struct thread_job *j = arg;

	j->rc = j->want_write ? ipm_lock_write(j->m, j->timeout) : ipm_lock_read(j->m, j->timeout);
	return NULL;
}

static int in_thread(ipm_map *m, int want_write, int timeout)
{
	struct thread_job j = {m, want_write, timeout, 1};
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, thread_lock, &j), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	return j.rc;
}

static void threads_exclude_each_other(void **state)
{
	struct fix *f = *state;
	ipm_map *o = other(IPM_EDITOR);
	struct thread_job j = {o, 0, -1, 1};
	pthread_t t;

	assert_int_equal(ipm_lock_write(f->u.m, 0), 0);
	assert_int_equal(in_thread(o, 0, 0), -EAGAIN);
	assert_int_equal(in_thread(o, 1, 0), -EAGAIN);
	if (unit_under_valgrind()) {
		assert_int_equal(ipm_unlock(f->u.m), 0);
		assert_int_equal(in_thread(o, 0, 0), 0);
	} else {
		assert_int_equal(in_thread(o, 1, 30), -ETIMEDOUT);
		/* A blocked thread wakes when the other handle releases. */
		assert_int_equal(pthread_create(&t, NULL, thread_lock, &j), 0);
		wait_for_waiter(f->u.m);
		assert_int_equal(ipm_unlock(f->u.m), 0);
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_int_equal(j.rc, 0);
	}
	assert_int_equal(ipm_lock_held(o), 1);
	assert_int_equal(ipm_lock_read(f->u.m, 0), 0);
	assert_int_equal(ipm_lock_write(f->u.m, 0), -EAGAIN);
	ipm_map_free(o);
}

static void signal_interrupts_wait(void **state)
{
	struct fix *f = *state;
	ipm_map *o = other(IPM_EDITOR);
	struct thread_job j = {o, 1, -1, 1};
	struct thread_job jt = {o, 1, 60000, 1};
	pthread_t t;

	if (unit_under_valgrind()) {
		ipm_map_free(o);
		skip();
	}
	assert_int_equal(ipm_lock_read(f->u.m, 0), 0);
	assert_int_equal(pthread_create(&t, NULL, thread_lock, &j), 0);
	wait_for_waiter(f->u.m);
	assert_int_equal(pthread_kill(t, ipm_lock_signal()), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(j.rc, -EINTR);
	assert_int_equal(ipm_lock_held(o), 0);
	assert_contains(ipm_map_errmsg(o), ": interrupted");

	/* A timed wait too, long before its deadline. */
	assert_int_equal(pthread_create(&t, NULL, thread_lock, &jt), 0);
	wait_for_waiter(f->u.m);
	assert_int_equal(pthread_kill(t, ipm_lock_signal()), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(jt.rc, -EINTR);
	assert_int_equal(ipm_lock_signal(), SIGRTMIN + 3);
	ipm_map_free(o);
}

/*
 * ipm_lock_signal() sent at any moment of a waiting writer's wait ends it.
 * The writer waits in slices of a few ms (it renews its lease at each): a
 * signal that came between two slices, outside the kernel's wait, was lost,
 * and a wait without a deadline went on for ever (test_lock hung here under
 * load). 200 waits, each signalled at a random point of its first slices.
 */
static void signal_between_slices(void **state)
{
	struct fix *f = *state;
	ipm_map *o = other(IPM_EDITOR);
	struct thread_job j = {o, 1, -1, 1};
	int lost = 0;

	if (unit_under_valgrind()) {
		ipm_map_free(o);
		skip();
	}
	srand(42);
	assert_int_equal(ipm_lock_read(f->u.m, 0), 0);
	for (int i = 0; i < 200; i++) {
		struct timespec ts = {0, (rand() % 5000) * 1000L}, dl;
		pthread_t t;

		j.rc = 1;
		assert_int_equal(pthread_create(&t, NULL, thread_lock, &j), 0);
		wait_for_waiter(f->u.m);
		nanosleep(&ts, NULL);
		assert_int_equal(pthread_kill(t, ipm_lock_signal()), 0);
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 5;
		if (pthread_timedjoin_np(t, NULL, &dl) != 0) {
			lost++; /* let it in, then go on */
			assert_int_equal(ipm_unlock(f->u.m), 0);
			assert_int_equal(pthread_join(t, NULL), 0);
			assert_int_equal(ipm_unlock(o), 0);
			assert_int_equal(ipm_lock_read(f->u.m, 0), 0);
			continue;
		}
		assert_int_equal(j.rc, -EINTR);
	}
	assert_int_equal(ipm_unlock(f->u.m), 0);
	ipm_map_free(o);
	if (lost)
		fail_msg("%d of 200 signals did not end the wait", lost);
}

static void roles_and_conversions(void **state)
{
	struct fix *f = *state;
	ipm_map *r = other(IPM_READER), *o = other(IPM_EDITOR);
	ipm_map *closed = ipm_map_new(f->u.s);

	assert_int_equal(ipm_lock_write(r, 0), -EACCES);
	assert_string_equal(ipm_map_errmsg(r), "reader handle cannot take the write lock");
	assert_int_equal(ipm_lock_held(r), 0);
	assert_int_equal(ipm_lock_read(r, -1), 0);
	assert_int_equal(ipm_lock_read(r, 0), 0); /* already held */
	assert_int_equal(ipm_lock_held(r), 1);
	assert_int_equal(ipm_unlock(r), 0);
	assert_int_equal(ipm_unlock(r), 0); /* harmless */
	assert_int_equal(ipm_lock_held(r), 0);

	/* Read to write in place when alone; back again atomically. */
	assert_int_equal(ipm_lock_read(f->u.m, 0), 0);
	assert_int_equal(ipm_lock_write(f->u.m, 0), 0);
	assert_int_equal(ipm_lock_held(f->u.m), 2);
	assert_int_equal(ipm_lock_write(f->u.m, 0), 0);
	assert_int_equal(ipm_lock_read(o, 0), -EAGAIN);
	assert_int_equal(ipm_lock_read(f->u.m, 0), 0);
	assert_int_equal(ipm_lock_held(f->u.m), 1);
	assert_int_equal(ipm_lock_read(o, 0), 0);
	/* A failed try to upgrade keeps the read lock... */
	assert_int_equal(ipm_lock_write(f->u.m, 0), -EAGAIN);
	assert_int_equal(ipm_lock_held(f->u.m), 1);
	assert_int_equal(ipm_lock_write(o, 0), -EAGAIN);
	/* ...a waiting one drops it first, so two upgraders cannot deadlock. */
	if (unit_under_valgrind()) {
		assert_int_equal(ipm_unlock(f->u.m), 0);
	} else {
		assert_int_equal(ipm_lock_write(f->u.m, 10), -ETIMEDOUT);
		assert_int_equal(ipm_lock_held(f->u.m), 0);
	}
	assert_int_equal(ipm_lock_write(o, 0), 0);

	assert_int_equal(ipm_lock_read(closed, 0), -EBADF);
	assert_string_equal(ipm_map_errmsg(closed), "cannot lock: handle not open");
	assert_int_equal(ipm_lock_write(closed, -1), -EBADF);
	assert_int_equal(ipm_unlock(closed), 0);
	assert_int_equal(ipm_lock_held(closed), 0);
	assert_int_equal(ipm_lock_held(NULL), 0);
	ipm_map_free(closed);
	ipm_map_free(o);
	ipm_map_free(r);
}

/* Opening takes a good file at once even while someone writes, but checks a
 * bad one again after the writer (perhaps a manager repairing it) is done. */
static void open_and_writers(void **state)
{
	struct fix *f = *state;
	int16_t bad = 0x7777, good = IPM_HEADER_CODE;
	ipm_map *o = other(IPM_READER);
	char want[200];
	int rfd, wfd, p[2], status;
	pid_t pid;

	assert_int_equal(ipm_lock_write(f->u.m, 0), 0);
	ipm_map_close(o);
	assert_int_equal(ipm_map_open(o, "Small", "", IPM_EDITOR, &f->u.opts), 0);
	ipm_map_close(o);

	wfd = open(ipm_map_path(f->u.m), O_WRONLY);
	assert_true(wfd >= 0);
	assert_int_equal(pwrite(wfd, &bad, sizeof(bad), 0), sizeof(bad));
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipm_map *m = ipm_map_new(fx->u.s);
		int rc = ipm_map_open(m, "Small", "", IPM_READER, &fx->u.opts);

		ipm_map_free(m);
		unit_put(p[1], &rc, sizeof(rc));
		_exit(0);
	}
	close(p[1]);
	rfd = p[0];
	wait_for_waiter(f->u.m);
	assert_int_equal(pwrite(wfd, &good, sizeof(good), 0), sizeof(good));
	close(wfd);
	assert_int_equal(ipm_unlock(f->u.m), 0);
	{
		int rc;

		unit_get(rfd, &rc, sizeof(rc));
		assert_int_equal(rc, 0);
	}
	close(rfd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* Still bad after the wait: refused with the message. */
	wfd = open(ipm_map_path(f->u.m), O_WRONLY);
	assert_int_equal(pwrite(wfd, &bad, sizeof(bad), 0), sizeof(bad));
	close(wfd);
	snprintf(want, sizeof(want), "%s: header_code 0x7777, expected 0x1128", ipm_map_path(f->u.m));
	assert_int_equal(ipm_map_open(o, "Small", "", IPM_READER, &f->u.opts), -EINVAL);
	assert_string_equal(ipm_map_errmsg(o), want);
	ipm_map_free(o);
}

/* Python's fasteners, through a child python3 that obeys lines on stdin. */
static const char py_script[] = "import sys, fasteners\n"
				"rw = fasteners.InterProcessReaderWriterLock(sys.argv[1])\n"
				"for line in sys.stdin:\n"
				"    cmd = line.strip()\n"
				"    if cmd == 'tr': r = rw.acquire_read_lock(blocking=False)\n"
				"    elif cmd == 'tw': r = rw.acquire_write_lock(blocking=False)\n"
				"    elif cmd == 'ur': rw.release_read_lock(); r = True\n"
				"    elif cmd == 'uw': rw.release_write_lock(); r = True\n"
				"    print('1' if r else '0', flush=True)\n";

struct py {
	pid_t pid; /* python3 */
	int in;	   /* its stdin */
	FILE *out; /* its stdout */
};

static const char *python(void)
{
	const char *p = getenv("PYTHON");

	return p && *p ? p : "/usr/bin/python3";
}

static int py_start(struct py *py, const char *lock_path)
{
	int in[2], out[2];

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	py->pid = fork();
	assert_true(py->pid >= 0);
	if (py->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execl(python(), python(), "-c", py_script, lock_path, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	py->in = in[1];
	py->out = fdopen(out[0], "r");
	assert_non_null(py->out);
	return 0;
}

/* Sends a command, returns python's answer: 1 got it, 0 did not. */
static int py_do(struct py *py, const char *cmd)
{
	char line[16];

	assert_int_equal(write(py->in, cmd, strlen(cmd)), (ssize_t)strlen(cmd));
	assert_int_equal(write(py->in, "\n", 1), 1);
	if (!fgets(line, sizeof(line), py->out))
		fail_msg("python3 died on '%s'", cmd);
	return line[0] == '1';
}

static void py_stop(struct py *py)
{
	int status;

	close(py->in);
	fclose(py->out);
	assert_int_equal(waitpid(py->pid, &status, 0), py->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void python_fasteners_interop(void **state)
{
	struct fix *f = *state;
	char cmd[256];
	struct py py;

	snprintf(cmd, sizeof(cmd), "%s -c 'import fasteners' 2>/dev/null", python());
	if (access(python(), X_OK) != 0 || system(cmd) != 0)
		skip();
	py_start(&py, ipm_map_lock_path(f->u.m));

	/* C writes: Python can take neither lock. */
	assert_int_equal(ipm_lock_write(f->u.m, 0), 0);
	assert_int_equal(py_do(&py, "tr"), 0);
	assert_int_equal(py_do(&py, "tw"), 0);
	/* C reads: Python may read, not write. */
	assert_int_equal(ipm_lock_read(f->u.m, 0), 0);
	assert_int_equal(py_do(&py, "tw"), 0);
	assert_int_equal(py_do(&py, "tr"), 1);
	assert_int_equal(ipm_lock_write(f->u.m, 0), -EAGAIN);
	assert_int_equal(py_do(&py, "ur"), 1);
	assert_int_equal(ipm_unlock(f->u.m), 0);

	/* Python writes: C can take neither; then it can. */
	assert_int_equal(py_do(&py, "tw"), 1);
	assert_int_equal(ipm_lock_read(f->u.m, 0), -EAGAIN);
	assert_int_equal(ipm_lock_write(f->u.m, 0), -EAGAIN);
	assert_int_equal(py_do(&py, "uw"), 1);
	assert_int_equal(ipm_lock_read(f->u.m, 0), 0);
	assert_int_equal(ipm_unlock(f->u.m), 0);

	/* A C waiter is woken by Python's release, without polling. */
	assert_int_equal(py_do(&py, "tw"), 1);
	{
		struct try_report r;
		int64_t t_release;
		int fd;
		pid_t pid = child_lock(IPM_EDITOR, 1, -1, &fd);

		wait_for_waiter(f->u.m);
		t_release = unit_now_ns();
		assert_int_equal(py_do(&py, "uw"), 1);
		r = finish(pid, fd);
		assert_int_equal(r.rc, 0);
		assert_true(r.t_ret - t_release < 100000000);
	}
	py_stop(&py);
}

/* Not a check: prints what a lock + unlock pair costs here. */
static void cost_of_a_lock(void **state)
{
	struct fix *f = *state;
	const int n = unit_under_valgrind() ? 2000 : 200000;
	int64_t t0;
	int i;

	t0 = unit_now_ns();
	for (i = 0; i < n; i++) {
		assert_int_equal(ipm_lock_write(f->u.m, -1), 0);
		assert_int_equal(ipm_unlock(f->u.m), 0);
	}
	print_message("write lock + unlock: %lld ns\n", (long long)((unit_now_ns() - t0) / n));
	t0 = unit_now_ns();
	for (i = 0; i < n; i++) {
		assert_int_equal(ipm_lock_read(f->u.m, 0), 0);
		assert_int_equal(ipm_unlock(f->u.m), 0);
	}
	print_message("read lock + unlock: %lld ns\n", (long long)((unit_now_ns() - t0) / n));
	t0 = unit_now_ns();
	for (i = 0; i < n / 10; i++) {
		assert_int_equal(ipm_lock_write(f->u.m, 1000), 0);
		assert_int_equal(ipm_unlock(f->u.m), 0);
	}
	print_message("timed write lock + unlock: %lld ns\n",
		      (long long)((unit_now_ns() - t0) / (n / 10)));
}

/* What a failed read-to-write conversion leaves, as ipmmap.h says. */
static void failed_upgrade_state(void **state)
{
	struct fix *f = *state;
	ipm_map *b = other(IPM_READER);

	assert_int_equal(ipm_lock_read(f->u.m, 0), 0);
	assert_int_equal(ipm_lock_read(b, 0), 0);
	/* A try that fails keeps the read lock. */
	assert_int_equal(ipm_lock_write(f->u.m, 0), -EAGAIN);
	assert_int_equal(ipm_lock_held(f->u.m), 1);
	/* A wait that fails leaves no lock at all. */
	if (!unit_under_valgrind()) {
		assert_int_equal(ipm_lock_write(f->u.m, 50), -ETIMEDOUT);
		assert_int_equal(ipm_lock_held(f->u.m), 0);
		assert_contains(ipm_map_errmsg(f->u.m), "timed out after 50 ms");
		/* Really none: a writer gets in once b lets go. */
		assert_int_equal(ipm_unlock(b), 0);
		ipm_map_free(b);
		b = other(IPM_EDITOR);
		assert_int_equal(ipm_lock_write(b, 0), 0);
		assert_int_equal(ipm_unlock(b), 0);
	}
	/* Write to read converts without waiting and keeps a lock. */
	assert_int_equal(ipm_lock_write(f->u.m, 0), unit_under_valgrind() ? -EAGAIN : 0);
	if (!unit_under_valgrind()) {
		assert_int_equal(ipm_lock_read(f->u.m, 1000), 0);
		assert_int_equal(ipm_lock_held(f->u.m), 1);
	}
	assert_int_equal(ipm_unlock(f->u.m), 0);
	ipm_map_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(read_while_read_locked, setup, teardown),
	    cmocka_unit_test_setup_teardown(write_while_read_locked, setup, teardown),
	    cmocka_unit_test_setup_teardown(read_while_write_locked, setup, teardown),
	    cmocka_unit_test_setup_teardown(write_while_write_locked, setup, teardown),
	    cmocka_unit_test_setup_teardown(blocked_reader_wakes_fast, setup, teardown),
	    cmocka_unit_test_setup_teardown(timed_wait_times_out, setup, teardown),
	    cmocka_unit_test_setup_teardown(timed_wait_gets_it, setup, teardown),
	    cmocka_unit_test_setup_teardown(killed_holder_frees_lock, setup, teardown),
	    cmocka_unit_test_setup_teardown(threads_exclude_each_other, setup, teardown),
	    cmocka_unit_test_setup_teardown(signal_interrupts_wait, setup, teardown),
	    cmocka_unit_test_setup_teardown(signal_between_slices, setup, teardown),
	    cmocka_unit_test_setup_teardown(roles_and_conversions, setup, teardown),
	    cmocka_unit_test_setup_teardown(failed_upgrade_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(open_and_writers, setup, teardown),
	    cmocka_unit_test_setup_teardown(python_fasteners_interop, setup, teardown),
	    cmocka_unit_test_setup_teardown(cost_of_a_lock, setup, teardown),
	};

	/* A hung lock must fail the run, not hold it up forever. */
	alarm(120);
	return cmocka_run_group_tests_name("lock", tests, NULL, NULL);
}
