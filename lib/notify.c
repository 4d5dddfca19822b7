/*
 * notify.c - waiting for a change instead of polling. See ipmmap.h.
 *
 * Writers that use this library bump a 32-bit counter in the control block
 * of the lock file (ipmmap_i.h) at the end of every write section, while they
 * still hold the write lock, so that under a read lock the counter always
 * matches the data. Waiters sleep on that counter as a shared futex.
 *
 * How the counter, the waiters' lease and the futex work together is in
 * ctl.c; this file is the map-level API on top of them.
 *
 * Writers that do not know the counter (Python IPMMAP) are caught through
 * the header's time_stamp, which every waiter reads each time its slice of
 * IPM_WAIT_POLL_MS ends. The token of ipm_map_changes() carries both: the
 * counter in its high half, a hash of the time_stamp's bits in its low half.
 */
#include "ipmmap_i.h"

#include <errno.h>

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
	return (uint64_t)ipm_ctl_seq(&m->lf) << 32 | stamp_hash(m);
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
	return ipm_guarded(m, token_fn, seq, 0);
}

struct nap {
	uint32_t seq; /* the counter as last seen */
	int64_t end;  /* CLOCK_MONOTONIC ns to sleep until at most */
	int64_t now;  /* when the nap begins */
};

/* Takes the waiter lease, then sleeps on the counter while it is seq (or
 * plainly, without a control block): 0, or -EINTR. */
static int nap(ipm_map *m, void *ctx)
{
	struct nap *n = ctx;

	ipm_ctl_lease(&m->lf, (uint64_t)n->end);
	return ipm_ctl_sleep(&m->lf, n->seq, n->end - n->now);
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

		rc = ipm_guarded(m, token_fn, &now_token, 0);
		if (rc < 0)
			return rc;
		/* A file replaced under the handle is a change (follow.c). */
		if (now_token != seen || ipm_follow_peek(m))
			return 0;
		if (timeout_ms == 0 || now >= deadline)
			return -ETIMEDOUT;
		end = now + (int64_t)IPM_WAIT_POLL_MS * 1000000;
		if (end > deadline)
			end = deadline;
		rc = ipm_guarded(m, nap, &(struct nap){(uint32_t)(seen >> 32), end, now}, 0);
		if (rc < 0)
			return rc;
		now = ipm_now_ns();
	}
}
