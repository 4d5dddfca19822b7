/*
 * fault.c - every access to an instance's two mappings, guarded: a bus
 * error is repaired when it can be and reported when not. See
 * ipm_map_guarded() in ipmmap.h.
 *
 * The guard (guard.c) says where a fault hit, and that says which file is
 * damaged:
 * - the lock file (control page, undo record): a handle that may write it
 *   grows it back and stamps it again (lockfile.c), and the access runs once
 *   more; otherwise -EIO, "lock file ... was truncated to N bytes";
 * - the .mmap file: if it is whole again (grown back in place, or made anew
 *   and mapped again at the same address; datafile.c), the access runs once
 *   more; otherwise -EIO, "...: file was truncated to N bytes".
 * An access that ends well is then checked against a size change the
 * kernel does not fault on (IPM_VERIFY, datafile.c's canary), so that no
 * value or success from a damaged file is reported.
 */
#include "ipmmap_i.h"

#include <errno.h>
#include <setjmp.h>

static bool in_lockfile(const ipm_map *m, const void *addr)
{
	const unsigned char *a = addr;

	return m->lf.base && a >= m->lf.base && a <= m->lf.base + m->lf.len; /* + the sentinel */
}

/* fn, then the size check: what the caller gets if nothing faults. */
static inline int run(ipm_map *m, int (*fn)(ipm_map *m, void *ctx), void *ctx, int flags)
{
	int rc;

	if (flags & IPM_RESTAMP)
		ipm_lockfile_restamp(&m->lf);
	rc = fn(m, ctx);
	if (rc >= 0 && (flags & IPM_VERIFY)) {
		int v = ipm_data_verify(m);

		if (v < 0)
			return v;
	}
	return rc;
}

/*
 * The guard armed inline (guard.c's ipm_guard_run() costs a call and a
 * thunk more, on every access). What changes between sigsetjmp() and a
 * jump back is volatile, as C requires.
 */
int ipm_guarded(ipm_map *m, int (*fn)(ipm_map *m, void *ctx), void *ctx, int flags)
{
	volatile bool lock_again = false, data_again = false; /* repaired once at most */
	volatile int fl = flags & ~IPM_RESTAMP;
	sigjmp_buf env, *prev;
	int rc;

	ipm_guard_init();
	if (!ipm_guard_on)
		return run(m, fn, ctx, fl);
	for (;;) {
		prev = ipm_guard_armed;
		if (sigsetjmp(env, 0) == 0) {
			ipm_guard_armed = &env;
			rc = run(m, fn, ctx, fl);
			ipm_guard_armed = prev;
			return rc;
		}
		ipm_guard_armed = prev;
		if (in_lockfile(m, ipm_guard_addr)) {
			if (lock_again)
				return ipm_lockfile_damaged(&m->lf, m->lock_path, m->err);
			rc = ipm_lockfile_repair(&m->lf, m->lock_path, m->err);
			if (rc < 0)
				return rc;
			/* The cut took the undo record: a dead writer's saved
			 * copy is gone, the file is all there is. */
			m->data = m->mapped;
			fl |= IPM_RESTAMP;
			lock_again = true;
		} else {
			if (data_again || !ipm_data_repaired(m))
				return ipm_data_damaged(m);
			data_again = true;
		}
	}
}

int ipm_map_guarded(ipm_map *m, int (*fn)(ipm_map *m, void *ctx), void *ctx)
{
	ipm_guard_init();
	if (!m || !m->mapped)
		return m ? ipm_errf(m->err, -EBADF, "cannot access the map: not open") : -EBADF;
	return ipm_guarded(m, fn, ctx, IPM_VERIFY);
}
