/*
 * lock.c - the lock protocol: read, write and unlock on an instance, with
 * writer priority and crash-atomic write sections. See ipmmap.h.
 *
 * It stands on the lock file's layer and calls only down: the OFD primitive
 * (ofd.c), the control page (ctl.c), the undo record (undo.c), every touch
 * of a mapping through the guard (fault.c). The map layer (map.c,
 * access.c, notify.c) calls it.
 *
 *     held:  NONE --read--> READ --write (try in place)--> WRITE
 *              \                \--write (must wait): drops to NONE, waits
 *               \--write (waits, announcing itself)--------> WRITE
 *            WRITE --read--> READ (atomic, ends the section)
 *            any --unlock--> NONE (a WRITE ends its section first)
 *
 * A write section begins when the write lock is taken (the undo record is
 * opened) and ends while the lock is still held, before it goes down to
 * READ or NONE (the record is closed, the change counter bumped). In
 * between, every write of the library declares its range first
 * (ipm_lock_declare(): the range's old bytes go into the record), and a
 * handle whose raw address is out (ipm_map_data()) saves the whole structure
 * when the section begins, or at once if it is given out during one: the
 * library cannot know what is written through it, so correctness never
 * depends on the caller declaring. Whoever takes the lock and finds a
 * section open knows its writer died: a writer restores the saved bytes
 * before opening its own; a reader restores them when it may write and can
 * take the write lock in place at once, and otherwise reads the saved state
 * (the file with the saved bytes put back, in a private copy) until it
 * unlocks.
 *
 * Writer priority. The kernel grants a read lock whenever no write lock is
 * held, even while a writer waits, so a few busy readers can keep a writer
 * out for ever. A writer of this library that has to wait therefore
 * announces itself: it sets the control block's wlease to now + WLEASE_MS
 * and waits in slices of WSLICE_MS, renewing the lease at each, and clears
 * it (if still its own) once it has the lock or gives up. A reader that
 * sees a live lease steps aside, sleeping until the writer's unlock bumps
 * the change counter or the lease ends, but never longer than DEFER_MS per
 * call: a thread that holds a read lock on another handle the writer waits
 * for would otherwise wait on itself. Then it takes the lock as before. A
 * writer killed while waiting leaves a lease that ends by itself within
 * WLEASE_MS. Costs the uncontended reader one guarded atomic load.
 */
#include "ipmmap_i.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#define WLEASE_MS IPM_WLEASE_MS /* a waiting writer's lease, renewed every slice */
#define WSLICE_MS 2 /* a waiting writer's slice, shorter than its lease */
#define DEFER_MS 10 /* longest a reader steps aside for writers, per call */

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

/* ---- What runs under the guard (fault.c): memory only, no lock calls ---- */

static int wlease_get(ipm_map *m, void *ctx)
{
	*(int64_t *)ctx = ipm_ctl_wlease(&m->lf);
	return 0;
}

static int wlease_raise(ipm_map *m, void *ctx)
{
	ipm_ctl_wlease_raise(&m->lf, *(uint64_t *)ctx);
	return 0;
}

static int wlease_drop(ipm_map *m, void *ctx)
{
	ipm_ctl_wlease_drop(&m->lf, *(uint64_t *)ctx);
	return 0;
}

static int defer_sleep(ipm_map *m, void *ctx)
{
	return ipm_ctl_defer(&m->lf, *(int64_t *)ctx);
}

/*
 * The mode the handle knows, kept in step with the control page: a page
 * cut and grown back again reads 0 (compat, the safe side) until a handle
 * that saw the mode stamps it back, which it does here, at a lock.
 */
static void mode_keep(ipm_map *m)
{
	uint32_t mode = ipm_ctl_mode(&m->lf);

	if (mode)
		m->mode = mode;
	else
		ipm_ctl_mode_restamp(&m->lf, m->mode);
}

static int dead_get(ipm_map *m, void *ctx)
{
	mode_keep(m);
	*(int *)ctx = ipm_undo_dead_of(m->lf.undo, m->size, ipm_data_id(m));
	return 0;
}

/* The state before a dead writer's section, into the handle's own copy. */
static int saved_fill(ipm_map *m, void *ctx)
{
	int version = ipm_undo_dead_of(m->lf.undo, m->size, ipm_data_id(m));

	(void)ctx;
	memcpy(m->saved, m->mapped, m->size);
	if (version) /* 0: the lock file was cut meanwhile, the record is gone */
		ipm_undo_apply(m->lf.undo, version, m->saved, m->size);
	return 0;
}

static int lockfile_ok(ipm_map *m, void *ctx)
{
	(void)ctx;
	return ipm_lockfile_check(&m->lf, m->lock_path, m->err);
}

/* The saved bytes back into the file, counted and announced: 1 if it did.
 * Not into a damaged file: the record waits for it to be whole. A restore
 * changes the structure: it is a write section for lock-free readers, whose
 * copies of the dead section's state the count's move invalidates. */
static int restore(ipm_map *m, void *ctx)
{
	int undone, rc;

	(void)ctx;
	if (!m->lf.undo || !m->lf.rw)
		return 0;
	/* Only a whole record: a cut one is forgotten, not applied. */
	rc = ipm_lockfile_check(&m->lf, m->lock_path, m->err);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	rc = ipm_data_verify(m);
	if (rc < 0)
		return rc;
	/* One that cannot be applied (another file's) is forgotten, in a
	 * section all the same: its writer left the count odd, which would
	 * send every read without a lock to the lock until the next write. */
	ipm_ctl_wbegin(&m->lf);
	undone = ipm_undo_restore(m->lf.undo, m->mapped, m->size, ipm_data_id(m));
	ipm_ctl_wend(&m->lf);
	if (undone) {
		m->undone++;
		ipm_ctl_bump(&m->lf);
	}
	return undone;
}

/*
 * Saves everything not saved yet in the open section: only a whole file is
 * saved, and a section whose file was cut while it saved is closed again at
 * once: an open section over a cut file's zeros would be restored later as
 * if it were the last whole update.
 */
static int save_all(ipm_map *m, void *ctx)
{
	int rc;

	(void)ctx;
	if (!m->lf.undo || !m->lf.rw)
		return 0;
	rc = ipm_undo_save_all(m->lf.undo, m->mapped, m->size, &m->sec);
	if (rc == 0)
		rc = ipm_data_verify(m);
	if (rc < 0)
		ipm_undo_close(m->lf.undo);
	return rc;
}

/*
 * Undo a dead writer's section if needed, then open this one, into which
 * the section's writes save their ranges; a handle whose raw address is out
 * saves all of it now. Not over a damaged file: a restore would put bytes
 * into it, and the caller's lock fails.
 */
static int section_begin(ipm_map *m, void *ctx)
{
	int rc = ipm_data_verify(m);

	(void)ctx;
	/* A record in a cut lock file is mended before anything is saved in
	 * it or undone from it (lockfile.c). */
	if (rc == 0 && m->lf.undo && m->lf.rw)
		rc = ipm_lockfile_check(&m->lf, m->lock_path, m->err) < 0 ? -EIO : 0;
	if (rc < 0)
		return rc;
	/* Odd before the first store of the section, the restore included. */
	mode_keep(m);
	ipm_ctl_wbegin(&m->lf);
	ipm_data_uncleared(m);
	if (!m->lf.undo || !m->lf.rw)
		return 0;
	if (ipm_undo_open(m->lf.undo, m->mapped, m->size, &m->sec, ipm_data_id(m)))
		m->undone++;
	rc = m->sec.raw ? save_all(m, NULL) : 0;
	if (rc < 0)
		ipm_ctl_wend(&m->lf); /* no section, no store of the caller's */
	return rc;
}

int ipm_lock_declare(ipm_map *m, size_t off, size_t len)
{
	int rc;

	assert(m->held == IPM_HELD_WRITE && off <= m->size && len <= m->size - off);
	if (m->sec.all || !m->lf.undo || !m->lf.rw)
		return 0;
	rc = ipm_undo_save(m->lf.undo, m->mapped, m->size, &m->sec, off, len);
	if (rc == 0)
		rc = ipm_data_verify(m);
	if (rc == -ENOSPC)
		rc = ipm_errf(m->err, -EIO, "undo record of %s: no room for the range", m->path);
	if (rc < 0)
		ipm_undo_close(m->lf.undo); /* see save_all() */
	return rc;
}

void ipm_lock_raw(ipm_map *m)
{
	if (m->sec.raw)
		return;
	m->sec.raw = true;
	/* A failure closed the section: the file was cut, as the caller's
	 * next guarded access or unlock says. */
	if (m->held == IPM_HELD_WRITE)
		ipm_guarded(m, save_all, NULL, 0);
}

/* Close the section and announce it, while the write lock is still held:
 * under a read lock the change counter always matches the data. The count
 * goes even before the wake, so that a waiter woken reads without a lock. */
static int section_end(ipm_map *m, void *ctx)
{
	(void)ctx;
	if (m->lf.undo && m->lf.rw)
		ipm_undo_close(m->lf.undo);
	ipm_ctl_wend(&m->lf);
	ipm_ctl_bump(&m->lf);
	return 0;
}

static int announce(ipm_map *m, void *ctx)
{
	(void)ctx;
	ipm_ctl_bump(&m->lf);
	return 0;
}

/* ---- Read ---- */

/*
 * A writer's lease was seen: a try fails, a wait first steps aside (see the
 * top of this file) and *wait_ms becomes what is left of the timeout, 0 if
 * nothing (then the caller tries once). 0, or a negative errno with the
 * message set.
 */
static int defer_to_writer(ipm_map *m, int64_t wlease, int *wait_ms)
{
	int64_t start = ipm_now_ns(), until, spent;
	int timeout_ms = *wait_ms, rc;

	if (wlease <= start)
		return 0; /* a dead writer's lease, or the one just cleared */
	if (wlease > start + (int64_t)WLEASE_MS * 1000000 + IPM_WLEASE_SLACK_NS) {
		/* No live writer's: forged, or from before a reboot. Cleared,
		 * so that writers can announce themselves again. */
		if (m->lf.rw)
			ipm_guarded(m, wlease_drop, &(uint64_t){(uint64_t)wlease}, 0);
		return 0;
	}
	if (timeout_ms == 0)
		return ipm_errf(m->err, -EAGAIN, "cannot take the read lock on %s: a writer waits",
				m->lock_path);
	until = start + (int64_t)DEFER_MS * 1000000;
	if (timeout_ms > 0 && timeout_ms < DEFER_MS)
		until = start + (int64_t)timeout_ms * 1000000;
	rc = ipm_guarded(m, defer_sleep, &until, 0);
	if (rc == -EINTR)
		return lock_failed(m, rc, "read", timeout_ms);
	if (rc < 0)
		return rc;
	if (timeout_ms > 0) {
		spent = (ipm_now_ns() - start + 999999) / 1000000;
		*wait_ms = spent < timeout_ms ? timeout_ms - (int)spent : 0;
	}
	return 0;
}

/*
 * With the read lock just taken: the data file must have its size, and a
 * dead writer's section is undone when the handle can (it may write and is
 * the only reader: the write lock in place succeeds at once; waiting for it
 * while holding the read lock could deadlock with another upgrader), or else
 * the handle reads the saved copy, which nobody can change while we hold
 * the read lock. 0, or -EIO (the lock is still held). verify: IPM_VERIFY,
 * or 0 when the caller's access checks the size right after (see
 * ipm_lock_read_access()).
 */
static int read_taken(ipm_map *m, int verify)
{
	int dead = 0, rc;

	assert(m->held == IPM_HELD_READ && m->data == m->mapped);
	rc = ipm_follow(m);
	if (rc == 0)
		rc = ipm_guarded(m, dead_get, &dead, verify);
	if (rc < 0 || !dead)
		return rc;
	/* A dead writer's record is trusted only if the lock file is whole;
	 * mended, it was forgotten; a reader that may not mend it cannot
	 * tell what it may read. */
	rc = ipm_guarded(m, lockfile_ok, NULL, 0);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	if (m->role != IPM_READER && m->lf.rw && ipm_lock_fd(m->lf.fd, F_WRLCK, 0) == 0) {
		rc = ipm_guarded(m, restore, NULL, 0);
		ipm_lock_fd(m->lf.fd, F_RDLCK, 0); /* down again: atomic, never waits */
		if (rc >= 0)
			return 0;
	}
	if (dead == 1) { /* a version 1 section: the record holds a whole copy */
		m->data = m->lf.undo->data;
		return 0;
	}
	/* The file with the saved ranges put back, in a copy of the handle's
	 * own, made once, kept until close. */
	if (!m->saved)
		m->saved = malloc(m->size);
	if (!m->saved)
		return ipm_errf(m->err, -ENOMEM, "cannot read the saved state of %s: %s", m->path,
				strerror(ENOMEM));
	rc = ipm_guarded(m, saved_fill, NULL, IPM_VERIFY);
	if (rc == 0)
		m->data = m->saved;
	return rc;
}

/* Drops whatever the handle holds without ending a section: NONE. */
static void release(ipm_map *m)
{
	ipm_lock_fd(m->lf.fd, F_UNLCK, 0);
	m->held = IPM_HELD_NONE;
	m->data = m->mapped;
}

static int lock_read(ipm_map *m, int timeout_ms, int verify)
{
	int wait_ms = timeout_ms, rc;
	int64_t wlease = 0;

	if (!m || m->lf.fd < 0)
		return m ? ipm_errf(m->err, -EBADF, "cannot lock: handle not open") : -EBADF;
	if (m->held == IPM_HELD_READ)
		return 0;
	if (m->held == IPM_HELD_NONE)
		ipm_follow_lockfile(m);
	/* Leaving the write lock ends a write section, while still holding it.
	 * Write to read is atomic in the kernel: the lock is replaced, and
	 * nobody can find our section open. */
	if (m->held == IPM_HELD_WRITE) {
		rc = ipm_guarded(m, section_end, NULL, 0);
		if (rc < 0) {
			release(m);
			return rc;
		}
		wait_ms = 0;
	} else if (m->lf.ctl) {
		rc = ipm_guarded(m, wlease_get, &wlease, 0);
		if (rc == 0 && wlease)
			rc = defer_to_writer(m, wlease, &wait_ms);
		if (rc < 0)
			return rc;
	}
	/* Our own write lock conflicts with nobody: converting never waits,
	 * so no timer for it. */
	rc = ipm_lock_fd(m->lf.fd, F_RDLCK, wait_ms);
	if (rc == -EAGAIN && wait_ms == 0 && timeout_ms != 0 && m->held != IPM_HELD_WRITE)
		rc = -ETIMEDOUT; /* the deferral spent the whole timeout */
	if (rc < 0)
		return lock_failed(m, rc, "read", timeout_ms);
	m->held = IPM_HELD_READ;
	m->data = m->mapped;
	rc = read_taken(m, verify);
	if (rc < 0)
		release(m);
	return rc;
}

int ipm_lock_read(ipm_map *m, int timeout_ms)
{
	return lock_read(m, timeout_ms, IPM_VERIFY);
}

/* The size check at the lock would only repeat the access's own, a few
 * nanoseconds later: a file cut in between is reported by the access. */
int ipm_lock_read_access(ipm_map *m)
{
	return lock_read(m, -1, 0);
}

/* ---- Write ---- */

/* With the write lock just taken: the section begins, or the lock goes back
 * to what the handle held before (was: NONE or READ) and the call fails. */
static int write_begin(ipm_map *m, enum ipm_held was)
{
	int rc;

	assert(was != IPM_HELD_WRITE);
	/* A reader of a dead writer's saved copy goes back to the file, which
	 * the section restores first. */
	m->data = m->mapped;
	rc = ipm_follow(m);
	if (rc == 0)
		rc = ipm_guarded(m, section_begin, NULL, 0);
	if (rc == 0) {
		m->held = IPM_HELD_WRITE;
		return 0;
	}
	if (was == IPM_HELD_NONE) {
		release(m);
		return rc;
	}
	ipm_lock_fd(m->lf.fd, F_RDLCK, 0);
	m->held = IPM_HELD_READ;
	if (read_taken(m, IPM_VERIFY) < 0)
		release(m);
	return rc;
}

/*
 * Takes the write lock, announcing the wait to readers when it has to wait
 * (see the top of this file). Without a writable control block, as before:
 * in the kernel's order.
 */
static int write_wait(ipm_map *m, int timeout_ms)
{
	int64_t deadline = INT64_MAX;
	uint64_t mine = 0;
	int rc;

	if (!m->lf.ctl || !m->lf.rw || timeout_ms == 0)
		return ipm_lock_fd(m->lf.fd, F_WRLCK, timeout_ms);
	/* A signal before the call does not count; one between two slices,
	 * outside the kernel's wait, would be lost but for this flag. */
	ipm_lock_handler_install();
	ipm_lock_interrupted(true);
	rc = ipm_lock_fd(m->lf.fd, F_WRLCK, 0);
	if (rc != -EAGAIN)
		return rc;
	if (timeout_ms > 0)
		deadline = ipm_now_ns() + (int64_t)timeout_ms * 1000000;
	for (;;) {
		int64_t now = ipm_now_ns(), left = deadline - now;
		int slice = WSLICE_MS;

		if (ipm_lock_interrupted(false)) {
			rc = -EINTR;
			break;
		}
		if (left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		if (left < (int64_t)WSLICE_MS * 1000000)
			slice = (int)((left + 999999) / 1000000);
		mine = (uint64_t)(now + (int64_t)WLEASE_MS * 1000000);
		/* A lock file that cannot be repaired: wait unannounced. */
		ipm_guarded(m, wlease_raise, &mine, 0);
		rc = ipm_lock_fd(m->lf.fd, F_WRLCK, slice);
		if (rc != -ETIMEDOUT)
			break;
	}
	ipm_guarded(m, wlease_drop, &mine, 0);
	return rc;
}

int ipm_lock_write(ipm_map *m, int timeout_ms)
{
	int rc;

	if (!m || m->lf.fd < 0)
		return m ? ipm_errf(m->err, -EBADF, "cannot lock: handle not open") : -EBADF;
	if (m->role == IPM_READER)
		return ipm_errf(m->err, -EACCES, "reader handle cannot take the write lock");
	if (m->held == IPM_HELD_WRITE)
		return 0;
	if (m->held == IPM_HELD_NONE)
		ipm_follow_lockfile(m);
	if (m->held == IPM_HELD_READ) {
		/*
		 * Read to write: try in place first, which succeeds atomically
		 * when no one else reads. Waiting while holding the read lock
		 * would deadlock two upgraders (the kernel does not detect
		 * deadlocks between OFD locks), so a wait drops it first and
		 * others may get in between.
		 */
		rc = ipm_lock_fd(m->lf.fd, F_WRLCK, 0);
		if (rc == 0)
			return write_begin(m, IPM_HELD_READ);
		if (rc != -EAGAIN || timeout_ms == 0)
			return lock_failed(m, rc, "write", timeout_ms);
		rc = ipm_lock_fd(m->lf.fd, F_UNLCK, 0);
		if (rc < 0)
			return lock_failed(m, rc, "write", timeout_ms);
		m->held = IPM_HELD_NONE;
		m->data = m->mapped;
	}
	assert(m->held == IPM_HELD_NONE);
	rc = write_wait(m, timeout_ms);
	if (rc < 0)
		return lock_failed(m, rc, "write", timeout_ms);
	return write_begin(m, IPM_HELD_NONE);
}

/* ---- Unlock ---- */

int ipm_unlock(ipm_map *m)
{
	int rc = 0, end = 0;

	/* A closed handle holds nothing either: harmless, as ipmmap.h says. */
	if (!m || m->held == IPM_HELD_NONE || m->lf.fd < 0)
		return 0;
	/* Announced before the lock goes; a file damaged during the section
	 * is reported here, after the lock is gone. */
	if (m->held == IPM_HELD_WRITE)
		end = ipm_guarded(m, section_end, NULL, IPM_VERIFY);
	m->data = m->mapped;
	rc = ipm_lock_fd(m->lf.fd, F_UNLCK, 0);
	if (rc < 0)
		return ipm_errf(m->err, rc, "cannot unlock %s: %s", m->lock_path, strerror(-rc));
	m->held = IPM_HELD_NONE;
	return end;
}

int ipm_lock_held(const ipm_map *m)
{
	return m ? (int)m->held : 0;
}

/* ---- For the map layer ---- */

void ipm_lock_drop(ipm_map *m)
{
	if (m->held == IPM_HELD_WRITE)
		ipm_guarded(m, section_end, NULL, 0);
	if (m->held != IPM_HELD_NONE && m->lf.fd >= 0)
		release(m);
	m->held = IPM_HELD_NONE;
	/* The mapping goes, and the addresses given out with it. */
	m->sec.raw = false;
	free(m->saved);
	m->saved = NULL;
}

int ipm_lock_recover(ipm_map *m)
{
	return ipm_guarded(m, restore, NULL, 0);
}

void ipm_lock_discard(ipm_map *m)
{
	ipm_guarded(m, section_end, NULL, 0);
}

void ipm_lock_announce(ipm_map *m)
{
	ipm_guarded(m, announce, NULL, 0);
}

/* ---- Recovery report ---- */

struct report {
	struct ipm_recovery *out; /* filled */
};

static int report_fill(ipm_map *m, void *ctx)
{
	struct ipm_recovery *out = ((struct report *)ctx)->out;
	const struct ipm_undo *u = m->lf.undo;

	if (!u)
		return 0;
	out->count = __atomic_load_n(&u->count, __ATOMIC_RELAXED);
	out->last_time = u->last_time;
	out->last_pid = u->last_pid;
	/* Under the read lock a dirty record can only be a dead writer's; with
	 * no lock it may be a live writer's section in progress. */
	out->pending = m->held == IPM_HELD_READ && ipm_undo_dead_of(u, m->size, ipm_data_id(m));
	return 0;
}

int ipm_map_recovery(ipm_map *m, struct ipm_recovery *out)
{
	struct report r = {out};

	if (!m || !m->mapped)
		return m ? ipm_errf(m->err, -EBADF, "cannot report recovery: map is not open")
			 : -EBADF;
	memset(out, 0, sizeof(*out));
	out->undone = m->undone;
	out->reading_saved = m->data != m->mapped;
	return ipm_guarded(m, report_fill, &r, 0);
}
