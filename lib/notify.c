/*
 * notify.c - waiting for a change instead of polling. See ipmmap.h.
 *
 * Writers that use this library bump a 32-bit counter in the control block
 * of the lock file (ipmmap_i.h) at the end of every write section, while they
 * still hold the write lock, so that under a read lock the counter always
 * matches the data. Waiters sleep on that counter as a shared futex.
 *
 * The wake syscall is skipped when nobody waits. A waiter does not keep a
 * count (a waiter killed between its increment and its decrement would leave
 * it wrong for ever) but a lease: before it sleeps it raises, with a
 * compare-and-swap, the CLOCK_MONOTONIC time until which it may sleep, and it
 * never sleeps longer than IPM_WAIT_POLL_MS at a time. A writer wakes when
 * the lease has not run out. A dead waiter's lease runs out by itself within
 * IPM_WAIT_POLL_MS; the worst it costs is a wake syscall nobody needed.
 *
 * The waiter raises the lease, then the kernel compares the counter; the
 * writer adds to the counter, then reads the lease. Both are sequentially
 * consistent, so at least one sees the other: either the writer sees the
 * lease and wakes, or the kernel sees the new counter and does not sleep.
 *
 * Writers that do not know the counter (Python IPMMAP) are caught through
 * the header's time_stamp, which every waiter reads each time its slice of
 * IPM_WAIT_POLL_MS ends. The token of ipm_map_changes() carries both: the
 * counter in its high half, a hash of the time_stamp's bits in its low half.
 */
#include "ipmmap_i.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t ctl_magic(void)
{
	uint64_t v;

	memcpy(&v, IPM_CTL_MAGIC, sizeof(v));
	return v;
}

/* Grows the lock file to hold the control block without ever shrinking it:
 * the last byte of the block is reserved and zero, so writing a zero there
 * changes nothing for anyone already using a longer file. */
static int ctl_grow(int fd)
{
	static const unsigned char zero;
	ssize_t n;

	do
		n = pwrite(fd, &zero, 1, IPM_CTL_SIZE - 1);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : n < 0 ? -errno : -EIO;
}

int ipm_ctl_map(ipm_map *m, int fd, const char *lock_path)
{
	int rw = (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR;
	uint64_t want = ctl_magic(), seen = 0;
	struct ipm_ctl *c;
	struct stat st;
	int rc;

	m->ctl = NULL;
	m->ctl_rw = false;
	if (fstat(fd, &st) < 0)
		return ipm_errf(m->err, -errno, "cannot stat %s: %s", lock_path, strerror(errno));
	if (st.st_size < IPM_CTL_SIZE) {
		/* A reader without write access waits by the time_stamp only. */
		if (!rw)
			return 0;
		rc = ctl_grow(fd);
		if (rc < 0)
			return ipm_errf(m->err, rc, "cannot grow lock file %s: %s", lock_path,
					strerror(-rc));
	}
	c = mmap(NULL, IPM_CTL_SIZE, rw ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
	if (c == MAP_FAILED)
		return ipm_errf(m->err, -errno, "cannot map lock file %s: %s", lock_path,
				strerror(errno));
	if (rw)
		__atomic_compare_exchange_n(&c->magic, &seen, want, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST);
	else
		seen = __atomic_load_n(&c->magic, __ATOMIC_ACQUIRE);
	/*
	 * Zero with a read-only block: nobody has written it yet, still valid.
	 * Anything else is someone else's bytes: the lock file is auxiliary and
	 * anyone who may lock may write it, so that must not make the instance
	 * unusable. The handle goes on without the block, waiting by the
	 * time_stamp only, and says why in its message.
	 */
	if (seen != 0 && seen != want) {
		char got[9];

		memcpy(got, &seen, 8);
		for (int i = 0; i < 8; i++)
			if ((unsigned char)got[i] < 0x20 || (unsigned char)got[i] > 0x7e)
				got[i] = '?';
		got[8] = '\0';
		munmap(c, IPM_CTL_SIZE);
		ipm_errf(m->err, -EINVAL,
			 "lock file %s: control block magic '%s', expected '%s': ignored",
			 lock_path, got, IPM_CTL_MAGIC);
		return 0;
	}
	m->ctl = c;
	m->ctl_rw = rw;
	return 0;
}

void ipm_ctl_unmap(ipm_map *m)
{
	if (m->ctl)
		munmap(m->ctl, IPM_CTL_SIZE);
	m->ctl = NULL;
	m->ctl_rw = false;
}

static long futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
	/* Shared, not FUTEX_PRIVATE_FLAG: waiters are in other processes. */
	return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

void ipm_ctl_bump(ipm_map *m)
{
	struct ipm_ctl *c = m->ctl;
	uint64_t lease;

	if (!c || !m->ctl_rw)
		return;
	__atomic_add_fetch(&c->seq, 1, __ATOMIC_SEQ_CST);
	lease = __atomic_load_n(&c->lease, __ATOMIC_SEQ_CST);
	if (lease && (int64_t)lease > ipm_now_ns())
		futex(&c->seq, FUTEX_WAKE, INT_MAX, NULL);
}

/* The time_stamp's 64 bits hashed to 32 (Fibonacci hashing: the high half of
 * the product depends on every bit). A torn read, possible only while a
 * writer is mid-write, merely reports a change a little early. */
static uint32_t stamp_hash(const ipm_map *m)
{
	uint64_t x =
	    __atomic_load_n((const uint64_t *)(m->data + IPM_HDR_STAMP_OFF), __ATOMIC_RELAXED);

	return (uint32_t)((x * 0x9e3779b97f4a7c15u) >> 32);
}

static uint64_t token(const ipm_map *m)
{
	uint32_t seq = m->ctl ? __atomic_load_n(&m->ctl->seq, __ATOMIC_ACQUIRE) : 0;

	return (uint64_t)seq << 32 | stamp_hash(m);
}

/* The token, read under the SIGBUS guard: time_stamp is in the .mmap file. */
static int token_fn(ipm_map *m, void *ctx)
{
	*(uint64_t *)ctx = token(m);
	return 0;
}

int ipm_map_changes(ipm_map *m, uint64_t *seq)
{
	if (!m || !m->data)
		return m ? ipm_errf(m->err, -EBADF, "cannot watch: map is not open") : -EBADF;
	return ipm_map_guarded(m, token_fn, seq);
}

/* Raises the lease to until, unless a longer one runs already. */
static void lease_take(struct ipm_ctl *c, uint64_t until)
{
	uint64_t cur = __atomic_load_n(&c->lease, __ATOMIC_RELAXED);

	while (cur < until && !__atomic_compare_exchange_n(&c->lease, &cur, until, true,
							   __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		;
	/* Even with nothing to raise, order the lease before the kernel's
	 * read of the counter, as the writer orders its add before its read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Sleeps up to ns on the counter while it is seq: 0 (woken, changed, or the
 * slice ended), or -EINTR. */
static int sleep_slice(ipm_map *m, uint32_t seq, int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};

	if (m->ctl) {
		if (futex(&m->ctl->seq, FUTEX_WAIT, seq, &ts) < 0 && errno == EINTR)
			return -EINTR;
		return 0;
	}
	if (nanosleep(&ts, NULL) < 0 && errno == EINTR)
		return -EINTR;
	return 0;
}

int ipm_map_wait(ipm_map *m, uint64_t seen, int timeout_ms)
{
	int64_t deadline = INT64_MAX, now;

	/* Only -EBADF touches m->err, so another thread may wait on an open
	 * handle while this one uses it (see ipmmap.h). */
	if (!m || !m->data)
		return m ? ipm_errf(m->err, -EBADF, "cannot wait: map is not open") : -EBADF;
	if (timeout_ms != 0)
		ipm_lock_handler_install();
	now = ipm_now_ns();
	if (timeout_ms > 0)
		deadline = now + (int64_t)timeout_ms * 1000000;
	for (;;) {
		uint64_t now_token;
		int64_t end;
		int rc;

		rc = ipm_map_guarded(m, token_fn, &now_token);
		if (rc < 0)
			return rc;
		if (now_token != seen)
			return 0;
		if (timeout_ms == 0 || now >= deadline)
			return -ETIMEDOUT;
		end = now + (int64_t)IPM_WAIT_POLL_MS * 1000000;
		if (end > deadline)
			end = deadline;
		if (m->ctl && m->ctl_rw)
			lease_take(m->ctl, (uint64_t)end);
		rc = sleep_slice(m, (uint32_t)(seen >> 32), end - now);
		if (rc < 0)
			return rc;
		now = ipm_now_ns();
	}
}

/*
 * A reader that finds a writer waiting sleeps on the change counter, which
 * the writer bumps as it unlocks; the waiter lease makes it issue the wake.
 * A handle that cannot raise the lease (read-only lock file) is never woken
 * and looks again every millisecond instead.
 */
int ipm_ctl_defer(ipm_map *m, int64_t until)
{
	struct ipm_ctl *c = m->ctl;

	for (;;) {
		uint32_t seq = __atomic_load_n(&c->seq, __ATOMIC_SEQ_CST);
		int64_t w = (int64_t)__atomic_load_n(&c->wlease, __ATOMIC_SEQ_CST);
		int64_t now = ipm_now_ns(), end;
		int rc;

		if (w <= now || now >= until)
			return 0;
		end = w < until ? w : until;
		if (m->ctl_rw)
			lease_take(c, (uint64_t)end);
		else if (end - now > 1000000)
			end = now + 1000000;
		rc = sleep_slice(m, seq, end - now);
		if (rc < 0)
			return rc;
	}
}
