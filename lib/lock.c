/*
 * lock.c - reader/writer locks on the instance's lock file. See ipmmap.h.
 *
 * Open-file-description locks (F_OFD_SETLK[W]) over the whole file: they
 * belong to the open file, not to the process, so two handles in one process
 * exclude each other and closing some other descriptor of the same file does
 * not silently drop them (the flaw of POSIX record locks that SQLite's
 * os_unix.c spends pages on). On Linux they conflict with the POSIX locks
 * Python's fasteners takes with fcntl.lockf() on the same file.
 *
 * Waiting happens in the kernel. A timed wait arms a POSIX timer that sends
 * ipm_lock_signal() to the waiting thread when the deadline passes; the
 * signal's handler does nothing, it only exists so that the signal interrupts
 * F_OFD_SETLKW with EINTR instead of killing the process. It is installed by
 * the first call that may wait (blocking or timed), so that pthread_kill()
 * can interrupt any wait. The kernel reports no deadlocks between OFD locks.
 *
 * Writer priority. The kernel grants a read lock whenever no write lock is
 * held, even while a writer waits, so a few busy readers can keep a writer
 * out for ever. A writer of this library that has to wait therefore
 * announces itself: it sets the control block's wlease to now + WLEASE_MS
 * and waits in slices of WSLICE_MS, renewing the lease at each, and clears
 * it (if still its own) once it has the lock or gives up. A reader that
 * sees a live lease steps aside, sleeping until the writer's unlock bumps
 * the change counter (notify.c) or the lease ends, but never longer than
 * DEFER_MS per call: a thread that holds a read lock on another handle the
 * writer waits for would otherwise wait on itself. Then it takes the lock as
 * before. A writer killed while waiting leaves a lease that ends by itself
 * within WLEASE_MS. Costs the uncontended reader one atomic load.
 */
#include "ipmmap_i.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* glibc 2.36 does not spell the member of SIGEV_THREAD_ID out. */
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define WLEASE_MS 5 /* a waiting writer's lease, renewed every slice */
#define WSLICE_MS 2 /* a waiting writer's slice, shorter than its lease */
#define DEFER_MS 10 /* longest a reader steps aside for writers, per call */

static pthread_once_t handler_once = PTHREAD_ONCE_INIT;

int ipm_lock_signal(void)
{
	return SIGRTMIN + 3;
}

/* Does nothing: being there is its job, so the signal interrupts a wait. */
static void on_lock_signal(int sig)
{
	(void)sig;
}

/*
 * Installed once, and only over the default disposition: a program that has
 * chosen something for this signal keeps it (timed waits then poll, see
 * wait_polling()). No SA_RESTART, or the kernel would resume the wait.
 */
static void install_handler(void)
{
	struct sigaction old, sa;
	int sig = ipm_lock_signal();

	if (sigaction(sig, NULL, &old) < 0 || old.sa_handler != SIG_DFL ||
	    (old.sa_flags & SA_SIGINFO))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_lock_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	sigaction(sig, &sa, NULL);
}

/* Whether the timer's signal will interrupt F_OFD_SETLKW in this thread:
 * our handler is in place and the thread does not block the signal. */
static int timer_usable(void)
{
	struct sigaction cur;
	sigset_t mask;
	int sig = ipm_lock_signal();

	if (sigaction(sig, NULL, &cur) < 0 || (cur.sa_flags & SA_SIGINFO) ||
	    cur.sa_handler != on_lock_signal)
		return 0;
	if (pthread_sigmask(SIG_BLOCK, NULL, &mask) != 0 || sigismember(&mask, sig))
		return 0;
	return 1;
}

static int set_lock(int fd, int type, int cmd)
{
	struct flock fl = {
	    .l_type = type,
	    .l_whence = SEEK_SET,
	    .l_start = 0,
	    .l_len = 0, /* the whole file, however long it grows */
	    .l_pid = 0, /* required by OFD locks */
	};

	if (fcntl(fd, cmd, &fl) == 0)
		return 0;
	/* POSIX allows either for "held by someone else". */
	if (errno == EACCES)
		return -EAGAIN;
	return -errno;
}

/*
 * Fallback for a thread that cannot be woken by the timer: the application
 * owns or blocks ipm_lock_signal(). Tries, then sleeps 1, 2, 4 .. 16 ms
 * between tries, never past the deadline.
 */
static int wait_polling(int fd, int type, int64_t deadline)
{
	long step = 1000000;

	for (;;) {
		int rc = set_lock(fd, type, F_OFD_SETLK);
		int64_t left;
		struct timespec ts;

		if (rc != -EAGAIN)
			return rc;
		left = deadline - ipm_now_ns();
		if (left <= 0)
			return -ETIMEDOUT;
		if (left > step)
			left = step;
		ts.tv_sec = left / 1000000000;
		ts.tv_nsec = left % 1000000000;
		if (nanosleep(&ts, NULL) < 0 && errno == EINTR)
			return -EINTR;
		if (step < 16000000)
			step *= 2;
	}
}

/* Waits in the kernel, woken by a timer aimed at this thread. */
static int wait_timed(int fd, int type, int timeout_ms)
{
	int64_t deadline = ipm_now_ns() + (int64_t)timeout_ms * 1000000;
	struct sigevent sev;
	struct itimerspec its;
	timer_t timer;
	int rc;

	if (!timer_usable())
		return wait_polling(fd, type, deadline);

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = ipm_lock_signal();
	sev.sigev_notify_thread_id = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer) < 0)
		return -errno;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = deadline / 1000000000;
	its.it_value.tv_nsec = deadline % 1000000000;
	/*
	 * Not one shot: if this thread is preempted between arming the timer
	 * and entering the wait, the first signal finds no wait to interrupt
	 * and is gone. Firing again every 2 ms after the deadline ends the
	 * wait anyway.
	 */
	its.it_interval.tv_nsec = 2000000;
	if (timer_settime(timer, TIMER_ABSTIME, &its, NULL) < 0) {
		rc = -errno;
		timer_delete(timer);
		return rc;
	}
	rc = set_lock(fd, type, F_OFD_SETLKW);
	/* A signal that fired after the lock was granted meets the handler
	 * that does nothing: harmless. */
	timer_delete(timer);
	if (rc == -EINTR && ipm_now_ns() >= deadline)
		return -ETIMEDOUT;
	return rc;
}

void ipm_lock_handler_install(void)
{
	pthread_once(&handler_once, install_handler);
}

int ipm_lock_fd(int fd, int type, int timeout_ms)
{
	if (type == F_UNLCK || timeout_ms == 0)
		return set_lock(fd, type, F_OFD_SETLK);
	/* Any wait installs the handler, so pthread_kill() can interrupt it. */
	ipm_lock_handler_install();
	if (timeout_ms < 0)
		return set_lock(fd, type, F_OFD_SETLKW);
	return wait_timed(fd, type, timeout_ms);
}

static int lock_failed(ipm_map *m, int rc, const char *what, int timeout_ms)
{
	if (rc == -ETIMEDOUT)
		return ipm_errf(m->err, rc, "cannot take the %s lock on %s: timed out after %d ms",
				what, m->lock_path, timeout_ms);
	if (rc == -EAGAIN)
		return ipm_errf(m->err, rc, "cannot take the %s lock on %s: held by another", what,
				m->lock_path);
	if (rc == -EINTR)
		return ipm_errf(m->err, rc, "cannot take the %s lock on %s: interrupted", what,
				m->lock_path);
	return ipm_errf(m->err, rc, "cannot take the %s lock on %s: %s", what, m->lock_path,
			strerror(-rc));
}

/*
 * A writer's lease was seen: a try fails, a wait first steps aside (see the
 * top of this file) and *wait_ms becomes what is left of the timeout, 0 if
 * nothing (then the caller tries once). 0, or a negative errno with the
 * message set.
 */
static int defer_to_writer(ipm_map *m, int *wait_ms)
{
	int64_t start = ipm_now_ns(), until, spent;
	int timeout_ms = *wait_ms, rc;

	if ((int64_t)__atomic_load_n(&m->ctl->wlease, __ATOMIC_RELAXED) <= start)
		return 0; /* a dead writer's lease, or the one just cleared */
	if (timeout_ms == 0)
		return ipm_errf(m->err, -EAGAIN, "cannot take the read lock on %s: a writer waits",
				m->lock_path);
	until = start + (int64_t)DEFER_MS * 1000000;
	if (timeout_ms > 0 && timeout_ms < DEFER_MS)
		until = start + (int64_t)timeout_ms * 1000000;
	rc = ipm_ctl_defer(m, until);
	if (rc < 0)
		return lock_failed(m, rc, "read", timeout_ms);
	if (timeout_ms > 0) {
		spent = (ipm_now_ns() - start + 999999) / 1000000;
		*wait_ms = spent < timeout_ms ? timeout_ms - (int)spent : 0;
	}
	return 0;
}

int ipm_lock_read(ipm_map *m, int timeout_ms)
{
	int wait_ms = timeout_ms, rc;

	if (!m || m->lock_fd < 0)
		return m ? ipm_errf(m->err, -EBADF, "cannot lock: handle not open") : -EBADF;
	if (m->held == 1)
		return 0;
	/* Leaving the write lock ends a write section: close it and announce
	 * it while still holding it. Write to read is atomic in the kernel: the
	 * lock is replaced, and nobody can find our section open. */
	if (m->held == 2) {
		ipm_undo_end(m);
		ipm_ctl_bump(m);
		wait_ms = 0;
	} else if (m->ctl && __atomic_load_n(&m->ctl->wlease, __ATOMIC_RELAXED)) {
		rc = defer_to_writer(m, &wait_ms);
		if (rc < 0)
			return rc;
	}
	/* Our own write lock conflicts with nobody: converting never waits,
	 * so no timer for it. */
	rc = ipm_lock_fd(m->lock_fd, F_RDLCK, wait_ms);
	if (rc == -EAGAIN && wait_ms == 0 && timeout_ms != 0 && m->held != 2)
		rc = -ETIMEDOUT; /* the deferral spent the whole timeout */
	if (rc < 0)
		return lock_failed(m, rc, "read", timeout_ms);
	m->held = 1;
	ipm_undo_check_read(m);
	return 0;
}

/* With the write lock just taken: the section begins, or the lock goes back
 * to what the handle held before (was: 0 or 1) and the call fails. */
static int write_begin(ipm_map *m, int was)
{
	int rc;

	/* A reader of a dead writer's saved copy goes back to the file, which
	 * the section restores first. */
	m->data = m->mapped;
	rc = ipm_undo_begin(m);
	if (rc == 0) {
		m->held = 2;
		return 0;
	}
	ipm_lock_fd(m->lock_fd, was ? F_RDLCK : F_UNLCK, 0);
	m->held = was;
	if (was)
		ipm_undo_check_read(m);
	return rc;
}

/* Raises the writer lease to until, unless a longer one runs already. */
static void wlease_raise(struct ipm_ctl *c, uint64_t until)
{
	uint64_t cur = __atomic_load_n(&c->wlease, __ATOMIC_RELAXED);

	while (cur < until && !__atomic_compare_exchange_n(&c->wlease, &cur, until, true,
							   __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		;
}

/*
 * Takes the write lock, announcing the wait to readers when it has to wait
 * (see the top of this file). Without a writable control block, as before:
 * in the kernel's order.
 */
static int write_wait(ipm_map *m, int timeout_ms)
{
	struct ipm_ctl *c = m->ctl;
	int64_t deadline = INT64_MAX;
	uint64_t mine = 0;
	int rc;

	if (!c || !m->ctl_rw || timeout_ms == 0)
		return ipm_lock_fd(m->lock_fd, F_WRLCK, timeout_ms);
	rc = ipm_lock_fd(m->lock_fd, F_WRLCK, 0);
	if (rc != -EAGAIN)
		return rc;
	if (timeout_ms > 0)
		deadline = ipm_now_ns() + (int64_t)timeout_ms * 1000000;
	for (;;) {
		int64_t now = ipm_now_ns(), left = deadline - now;
		int slice = WSLICE_MS;

		if (left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		if (left < (int64_t)WSLICE_MS * 1000000)
			slice = (int)((left + 999999) / 1000000);
		mine = (uint64_t)(now + (int64_t)WLEASE_MS * 1000000);
		wlease_raise(c, mine);
		rc = ipm_lock_fd(m->lock_fd, F_WRLCK, slice);
		if (rc != -ETIMEDOUT)
			break;
	}
	/* Only our own: another writer that renewed it still waits. */
	__atomic_compare_exchange_n(&c->wlease, &mine, 0, false, __ATOMIC_SEQ_CST,
				    __ATOMIC_RELAXED);
	return rc;
}

int ipm_lock_write(ipm_map *m, int timeout_ms)
{
	int rc;

	if (!m || m->lock_fd < 0)
		return m ? ipm_errf(m->err, -EBADF, "cannot lock: handle not open") : -EBADF;
	if (m->role == IPM_READER)
		return ipm_errf(m->err, -EACCES, "reader handle cannot take the write lock");
	if (m->held == 2)
		return 0;
	if (m->held == 1) {
		/*
		 * Read to write: try in place first, which succeeds atomically
		 * when no one else reads. Waiting while holding the read lock
		 * would deadlock two upgraders (the kernel does not detect
		 * deadlocks between OFD locks), so a wait drops it first and
		 * others may get in between.
		 */
		rc = ipm_lock_fd(m->lock_fd, F_WRLCK, 0);
		if (rc == 0)
			return write_begin(m, 1);
		if (rc != -EAGAIN || timeout_ms == 0)
			return lock_failed(m, rc, "write", timeout_ms);
		rc = ipm_lock_fd(m->lock_fd, F_UNLCK, 0);
		if (rc < 0)
			return lock_failed(m, rc, "write", timeout_ms);
		m->held = 0;
		m->data = m->mapped;
	}
	rc = write_wait(m, timeout_ms);
	if (rc < 0)
		return lock_failed(m, rc, "write", timeout_ms);
	return write_begin(m, 0);
}

int ipm_unlock(ipm_map *m)
{
	int rc;

	/* A closed handle holds nothing either: harmless, as ipmmap.h says. */
	if (!m || m->held == 0 || m->lock_fd < 0)
		return 0;
	/* Announced before the lock goes, so that under a read lock the change
	 * counter always matches the data (see ipm_map_changes()). */
	if (m->held == 2) {
		ipm_undo_end(m);
		ipm_ctl_bump(m);
	}
	m->data = m->mapped;
	rc = ipm_lock_fd(m->lock_fd, F_UNLCK, 0);
	if (rc < 0)
		return ipm_errf(m->err, rc, "cannot unlock %s: %s", m->lock_path, strerror(-rc));
	m->held = 0;
	return 0;
}

int ipm_lock_held(const ipm_map *m)
{
	return m ? m->held : 0;
}
