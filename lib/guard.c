/*
 * guard.c - surviving a mapped file that is cut short. See ipmmap.h.
 *
 * Touching a page of a shared file mapping that lies past the file's end
 * raises SIGBUS, and by default that kills the process. Another process can
 * do that to us at any time (truncate the .mmap file, or a full disk under a
 * sparse file), so every access of the library to a mapping runs under a
 * guard: a SIGBUS handler, installed once and only over the default
 * disposition, jumps back to the guarded call when the thread that faults
 * has armed a jump target, and the call returns -EIO with a message.
 *
 * Checking the file's size with fstat() before each access would cost a
 * system call per access; the guard costs a sigsetjmp() without the signal
 * mask (no system call) and two thread-local stores, and nothing at all
 * when no file is damaged. The handler runs with SA_NODEFER, so jumping out
 * of it leaves SIGBUS unblocked and no mask needs restoring.
 *
 * A fault nobody armed for (the program's own access through
 * ipm_map_data(), or a real hardware error) gets the default action, as if
 * the handler were not there.
 */
#include "ipmmap_i.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

/* The jump target of the guarded call running in this thread, or NULL.
 * initial-exec: a plain load through the thread pointer, no call. */
static __thread sigjmp_buf *armed __attribute__((tls_model("initial-exec")));

static pthread_once_t guard_once = PTHREAD_ONCE_INIT;
static int guard_done; /* guard_once has run: skips its call on the hot path */
static int guard_on;   /* the handler is in place */

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	sigjmp_buf *env = armed;

	(void)uc;
	if (env) {
		armed = NULL;
		siglongjmp(*env, 1);
	}
	/* Not ours: what would have happened without us. A fault repeats when
	 * the handler returns; a sent signal has to be sent again. */
	signal(sig, SIG_DFL);
	if (si->si_code <= 0)
		raise(sig);
}

static void guard_install(void)
{
	struct sigaction old, sa;

	if (sigaction(SIGBUS, NULL, &old) < 0 || (old.sa_flags & SA_SIGINFO) ||
	    old.sa_handler != SIG_DFL)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	if (sigaction(SIGBUS, &sa, NULL) == 0)
		guard_on = 1;
}

static void guard_init(void)
{
	guard_install();
	__atomic_store_n(&guard_done, 1, __ATOMIC_RELEASE);
}

/* -EIO with a message saying which file is damaged and how. */
static int damaged(ipm_map *m)
{
	struct stat st;
	size_t need = IPM_CTL_SIZE + sizeof(struct ipm_undo) + m->size;

	if (m->data_fd >= 0 && fstat(m->data_fd, &st) == 0 && (uint64_t)st.st_size < m->size)
		return ipm_errf(m->err, -EIO, "%s: file was truncated to %lld bytes", m->path,
				(long long)st.st_size);
	if (m->lock_fd >= 0 && fstat(m->lock_fd, &st) == 0 && m->undo &&
	    (uint64_t)st.st_size < need)
		return ipm_errf(m->err, -EIO, "%s: lock file was truncated to %lld bytes",
				m->lock_path, (long long)st.st_size);
	return ipm_errf(m->err, -EIO, "%s: bus error while accessing the mapping", m->path);
}

/* Whether the file is whole again: grown back in place (the old mapping
 * works again), or replaced by a good one (mapped again at the same place). */
static int repaired(ipm_map *m)
{
	struct stat st;

	if (m->data_fd >= 0 && fstat(m->data_fd, &st) == 0 && (uint64_t)st.st_size >= m->size)
		return 1;
	return ipm_map_remap(m) == 0;
}

int ipm_map_guarded(ipm_map *m, int (*fn)(ipm_map *m, void *ctx), void *ctx)
{
	sigjmp_buf env;
	sigjmp_buf *volatile prev;
	volatile int tries = 0;
	int rc;

	if (!__atomic_load_n(&guard_done, __ATOMIC_ACQUIRE))
		pthread_once(&guard_once, guard_init);
	if (!m || !m->mapped)
		return m ? ipm_errf(m->err, -EBADF, "cannot access the map: not open") : -EBADF;
	if (!guard_on)
		return fn(m, ctx);
	prev = armed;
	for (;;) {
		if (sigsetjmp(env, 0) == 0) {
			armed = &env;
			rc = fn(m, ctx);
			armed = prev;
			return rc;
		}
		armed = prev;
		if (tries++ > 0 || !repaired(m))
			return damaged(m);
	}
}
