/*
 * guard.c - the SIGBUS guard: run a function, survive a bus error in it.
 * The bottom of the lock path; it knows nothing of maps or files (fault.c
 * decides what a fault means).
 *
 * Touching a page of a shared file mapping that lies past the file's end
 * raises SIGBUS, and by default that kills the process. Another process can
 * do that to us at any time (truncate the .mmap or the lock file, or a full
 * disk under a sparse file), so every access of the library to a mapping
 * runs under a guard: a SIGBUS handler, installed once and only over the
 * default disposition, jumps back to the guarded call when the thread that
 * faults has armed a jump target, and the call learns where it faulted.
 *
 * Checking the files' sizes with fstat() before each access would cost a
 * system call per access; the guard costs a sigsetjmp() without the signal
 * mask (no system call) and two thread-local stores, and nothing at all
 * when no file is damaged. The handler runs with SA_NODEFER, so jumping out
 * of it leaves SIGBUS unblocked and no mask needs restoring.
 *
 * A fault nobody armed for (the program's own access through
 * ipm_map_data(), or a real hardware error) gets what it would have got
 * without the guard: the handler the program had before (Python's
 * faulthandler, a sanitizer's), called as the kernel would have called it,
 * or else the default action. A program that sets its own handler after
 * the guard is in place replaces the guard: its choice.
 */
#include "ipmmap_i.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

/* The jump target of the guarded call running in this thread, or NULL, and
 * where its fault hit. initial-exec: a plain load through the thread
 * pointer, no call. */
__thread sigjmp_buf *ipm_guard_armed __attribute__((tls_model("initial-exec")));
__thread void *ipm_guard_addr __attribute__((tls_model("initial-exec")));
int ipm_guard_on; /* the handler is in place */

static pthread_once_t guard_once = PTHREAD_ONCE_INIT;
static int guard_done;          /* guard_once has run: skips its call on the hot path */
static struct sigaction before; /* what SIGBUS did before the guard */

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	sigjmp_buf *env = ipm_guard_armed;

	(void)uc;
	if (env) {
		ipm_guard_armed = NULL;
		ipm_guard_addr = si->si_addr;
		siglongjmp(*env, 1);
	}
	/* Not ours: what would have happened without us. */
	if (before.sa_flags & SA_SIGINFO) {
		before.sa_sigaction(sig, si, uc);
		return;
	}
	if (before.sa_handler != SIG_DFL && before.sa_handler != SIG_IGN) {
		before.sa_handler(sig);
		return;
	}
	/* Default (an ignored SIGBUS from a fault is not ignored either): a
	 * fault repeats when the handler returns; a sent signal has to be sent
	 * again, and an ignored one is dropped. */
	if (before.sa_handler == SIG_IGN && si->si_code <= 0)
		return;
	signal(sig, SIG_DFL);
	if (si->si_code <= 0)
		raise(sig);
}

static void guard_install(void)
{
	struct sigaction old, sa;

	if (sigaction(SIGBUS, NULL, &old) < 0)
		return;
	before = old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sigemptyset(&sa.sa_mask);
	/* SA_ONSTACK kept: a handler that wants the alternate stack (Python's
	 * faulthandler) still gets it when it is called from ours. */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER | (old.sa_flags & SA_ONSTACK);
	if (sigaction(SIGBUS, &sa, NULL) == 0)
		ipm_guard_on = 1;
}

static void guard_init(void)
{
	guard_install();
	__atomic_store_n(&guard_done, 1, __ATOMIC_RELEASE);
}

void ipm_guard_init(void)
{
	if (!__atomic_load_n(&guard_done, __ATOMIC_ACQUIRE))
		pthread_once(&guard_once, guard_init);
}

int ipm_guard_run(int (*fn)(void *arg), void *arg, int *rc, void **addr)
{
	sigjmp_buf env;
	sigjmp_buf *prev;

	ipm_guard_init();
	if (!ipm_guard_on) {
		*rc = fn(arg);
		return 0;
	}
	prev = ipm_guard_armed;
	if (sigsetjmp(env, 0) == 0) {
		ipm_guard_armed = &env;
		*rc = fn(arg);
		ipm_guard_armed = prev;
		return 0;
	}
	ipm_guard_armed = prev;
	*addr = ipm_guard_addr;
	return 1;
}
