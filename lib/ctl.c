/*
 * ctl.c - the control page of the lock file: the change counter, which is
 * also a futex word, the waiters' lease, the waiting writer's lease, the
 * write sequence count of lock-free readers and the instance's mode.
 * Callers run these under the guard (fault.c): the page may be cut away.
 * A futex call on a page that is gone fails with EFAULT instead of
 * faulting; sleeps then go on as plain sleeps.
 *
 * The wake syscall is skipped when nobody waits. A waiter does not keep a
 * count (a waiter killed between its increment and its decrement would leave
 * it wrong for ever) but a lease: before it sleeps it raises, with a
 * compare-and-swap, the CLOCK_MONOTONIC time until which it may sleep, and it
 * never sleeps longer than its slice. A writer wakes when the lease has not
 * run out. A dead waiter's lease runs out by itself; the worst it costs is a
 * wake syscall nobody needed.
 *
 * The waiter raises the lease, then the kernel compares the counter; the
 * writer adds to the counter, then reads the lease. Both are sequentially
 * consistent, so at least one sees the other: either the writer sees the
 * lease and wakes, or the kernel sees the new counter and does not sleep.
 */
#include "ipmmap_i.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
	/* Shared, not FUTEX_PRIVATE_FLAG: waiters are in other processes. */
	return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

void ipm_ctl_bump(struct ipm_lockfile *lf)
{
	struct ipm_ctl *c = lf->ctl;
	uint64_t lease;

	if (!c || !lf->rw)
		return;
	__atomic_add_fetch(&c->seq, 1, __ATOMIC_SEQ_CST);
	lease = __atomic_load_n(&c->lease, __ATOMIC_SEQ_CST);
	if (lease && (int64_t)lease > ipm_now_ns())
		futex(&c->seq, FUTEX_WAKE, INT_MAX, NULL);
}

uint32_t ipm_ctl_seq(const struct ipm_lockfile *lf)
{
	return lf->ctl ? __atomic_load_n(&lf->ctl->seq, __ATOMIC_ACQUIRE) : 0;
}

/*
 * The write sequence count, as the Linux kernel's write_seqcount_begin()
 * and _end(), in C11 terms (Boehm 2012, "Can seqlocks get along with
 * programming language memory models?", section 5): only the holder of the
 * write lock stores it, so a load and a store do, no read-modify-write. The
 * odd value is a relaxed store followed by a release fence, which orders it
 * before every store of the section (the fence orders prior stores before
 * later ones); the even value is a release store, after every store of the
 * section. On x86 both fences are only compiler barriers: the section pays
 * two plain stores.
 */
void ipm_ctl_wbegin(struct ipm_lockfile *lf)
{
	struct ipm_ctl *c = lf->ctl;
	uint32_t w;

	if (!c || !lf->rw)
		return;
	w = __atomic_load_n(&c->wseq, __ATOMIC_RELAXED);
	__atomic_store_n(&c->wseq, w + ((w & 1) ? 2 : 1), __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

void ipm_ctl_wend(struct ipm_lockfile *lf)
{
	struct ipm_ctl *c = lf->ctl;
	uint32_t w;

	if (!c || !lf->rw)
		return;
	w = __atomic_load_n(&c->wseq, __ATOMIC_RELAXED);
	__atomic_store_n(&c->wseq, w + ((w & 1) ? 1 : 2), __ATOMIC_RELEASE);
}

uint32_t ipm_ctl_mode(const struct ipm_lockfile *lf)
{
	return lf->ctl ? __atomic_load_n(&lf->ctl->mode, __ATOMIC_RELAXED) : 0;
}

void ipm_ctl_mode_set(struct ipm_lockfile *lf, uint32_t mode)
{
	if (lf->ctl && lf->rw)
		__atomic_store_n(&lf->ctl->mode, mode, __ATOMIC_RELEASE);
}

void ipm_ctl_mode_restamp(struct ipm_lockfile *lf, uint32_t mode)
{
	uint32_t zero = 0;

	if (lf->ctl && lf->rw && mode)
		__atomic_compare_exchange_n(&lf->ctl->mode, &zero, mode, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_RELAXED);
}

int ipm_lockfile_native(const char *lock_path)
{
	uint64_t magic;
	struct ipm_ctl c;
	ssize_t n;
	int fd = open(lock_path, O_RDONLY | IPM_SAFE_OPEN), err;

	if (fd < 0)
		return -errno;
	do
		n = pread(fd, &c, offsetof(struct ipm_ctl, reserved), 0);
	while (n < 0 && errno == EINTR);
	err = errno;
	close(fd);
	if (n < 0)
		return -err;
	memcpy(&magic, IPM_CTL_MAGIC, sizeof(magic));
	/* Too short, or not stamped yet: no mode said, compat. */
	if ((size_t)n < offsetof(struct ipm_ctl, reserved) || c.magic != magic)
		return 0;
	return c.mode == IPM_MODE_NATIVE;
}

/* Raises *word to until, unless a longer one runs already. */
static void raise_to(uint64_t *word, uint64_t until)
{
	uint64_t cur = __atomic_load_n(word, __ATOMIC_RELAXED);

	while (cur < until &&
	       !__atomic_compare_exchange_n(word, &cur, until, true, __ATOMIC_SEQ_CST,
					    __ATOMIC_RELAXED))
		;
}

void ipm_ctl_lease(struct ipm_lockfile *lf, uint64_t until)
{
	if (!lf->ctl || !lf->rw)
		return;
	raise_to(&lf->ctl->lease, until);
	/* Even with nothing to raise, order the lease before the kernel's
	 * read of the counter, as the writer orders its add before its read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void ipm_ctl_wlease_raise(struct ipm_lockfile *lf, uint64_t until)
{
	raise_to(&lf->ctl->wlease, until);
}

void ipm_ctl_wlease_drop(struct ipm_lockfile *lf, uint64_t mine)
{
	/* Only our own: another writer that renewed it still waits. */
	__atomic_compare_exchange_n(&lf->ctl->wlease, &mine, 0, false, __ATOMIC_SEQ_CST,
				    __ATOMIC_RELAXED);
}

int64_t ipm_ctl_wlease(const struct ipm_lockfile *lf)
{
	return lf->ctl ? (int64_t)__atomic_load_n(&lf->ctl->wlease, __ATOMIC_RELAXED) : 0;
}

int ipm_ctl_sleep(struct ipm_lockfile *lf, uint32_t seq, int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};

	if (lf->ctl) {
		if (futex(&lf->ctl->seq, FUTEX_WAIT, seq, &ts) == 0)
			return 0; /* woken */
		if (errno == EINTR)
			return -EINTR;
		if (errno != EFAULT)
			return 0; /* changed already, or the slice ended */
		/* The page is gone: sleep plainly, the caller looks again. */
	}
	if (nanosleep(&ts, NULL) < 0 && errno == EINTR)
		return -EINTR;
	return 0;
}

/*
 * A reader that finds a writer waiting sleeps on the change counter, which
 * the writer bumps as it unlocks; the waiter lease makes it issue the wake.
 * A handle that cannot raise the lease (read-only lock file) is never woken
 * and looks again every millisecond instead.
 */
int ipm_ctl_defer(struct ipm_lockfile *lf, int64_t until)
{
	struct ipm_ctl *c = lf->ctl;

	for (;;) {
		uint32_t seq = __atomic_load_n(&c->seq, __ATOMIC_SEQ_CST);
		int64_t w = (int64_t)__atomic_load_n(&c->wlease, __ATOMIC_SEQ_CST);
		int64_t now = ipm_now_ns(), end;
		int rc;

		if (w <= now || now >= until ||
		    w > now + (int64_t)IPM_WLEASE_MS * 1000000 + IPM_WLEASE_SLACK_NS)
			return 0; /* ended, or no live writer's (see lock.c) */
		end = w < until ? w : until;
		if (lf->rw)
			ipm_ctl_lease(lf, (uint64_t)end);
		else if (end - now > 1000000)
			end = now + 1000000;
		rc = ipm_ctl_sleep(lf, seq, end - now);
		if (rc < 0)
			return rc;
	}
}
