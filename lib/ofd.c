/*
 * ofd.c - the lock primitive: open-file-description locks on a whole file,
 * tried, waited for in the kernel, or waited for with a deadline. See
 * ipmmap.h for ipm_lock_signal(); the lock protocol built on it is lock.c.
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

static pthread_once_t handler_once = PTHREAD_ONCE_INIT;

int ipm_lock_signal(void)
{
	return SIGRTMIN + 3;
}

/* Set when ipm_lock_signal() reaches this thread from anyone but our own
 * timer (pthread_kill(), kill(), sigqueue()). A wait made of several kernel
 * waits (lock.c's writer, who renews its lease between slices) would lose a
 * signal that came between two of them: it looks here before each. */
static __thread volatile sig_atomic_t interrupted __attribute__((tls_model("initial-exec")));

/* Being there is its main job, so that the signal interrupts a wait. */
static void on_lock_signal(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_code != SI_TIMER)
		interrupted = 1;
}

bool ipm_lock_interrupted(bool clear)
{
	bool was = interrupted;

	if (clear)
		interrupted = 0;
	return was;
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
	sa.sa_sigaction = on_lock_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_SIGINFO;
	sigaction(sig, &sa, NULL);
}

/* Whether the timer's signal will interrupt F_OFD_SETLKW in this thread:
 * our handler is in place and the thread does not block the signal. */
static int timer_usable(void)
{
	struct sigaction cur;
	sigset_t mask;
	int sig = ipm_lock_signal();

	if (sigaction(sig, NULL, &cur) < 0 || !(cur.sa_flags & SA_SIGINFO) ||
	    cur.sa_sigaction != on_lock_signal)
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
