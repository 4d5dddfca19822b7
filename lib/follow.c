/*
 * follow.c - a .mmap file replaced under a handle: noticing it when a lock
 * is taken, and mapping the new file at the same address. See
 * IPM_FOLLOW_MS in ipmmap.h.
 *
 * A handle maps its file once. Whoever puts a new file in its place (a C
 * manager renaming a new file over a missing or wrong-sized one, `mv
 * new.mmap S_.mmap`, Python's manager after the file was removed) leaves
 * every handle on the old inode, which nobody else will ever write again.
 * Python's force=True re-creation does not: it truncates and rewrites the
 * same inode, which the handle sees as it is (the SIGBUS guard and the size
 * canary cover the moment it is short).
 *
 * Asking stat() of the path at every lock would see any replacement at once,
 * for a path walk per lock (about 1 us, more than the lock itself). Instead:
 * - Renames of this library are announced: a C manager renames a new file
 *   into place only under the write lock, and bumps the generation in the
 *   lock file's control page (struct ipm_ctl.gen) before it lets go. A
 *   handle compares it with the generation it mapped at every lock: one
 *   guarded load. Seen at the next lock, always.
 * - Anyone else's replacement is not announced. A handle looks at the path
 *   again (stat(), compared with the inode it maps) at its first lock
 *   IPM_FOLLOW_MS or more after its last look: a coarse clock read per
 *   lock (vDSO, no system call), a stat() per second at most. Seen within
 *   IPM_FOLLOW_MS, at the lock after that (the first lock of a handle always
 *   looks: it may have opened the file just before a rename). The handle
 *   that sees a new file first bumps the generation as a manager would, so
 *   that all others, in every process, map it at their next lock: two
 *   handles never serve two files for long.
 * - A read without a lock (seqread.c) whose look is due makes the same
 *   look without one (ipm_follow_free()), and goes to the lock only when
 *   there is a file to map.
 * - A waiter (ipm_map_wait()) has no lock and may run while another thread
 *   uses the handle: each time it wakes to look at time_stamp it also asks
 *   stat() (every IPM_WAIT_POLL_MS at most), and reports a replaced file as
 *   a change; the flag it leaves makes the next lock look at once.
 * The new file must pass the checks of an open (size, header_code); a file
 * that does not fails the lock with -EIO, naming it, until a good one is in
 * place.
 *
 * The lock file should never be replaced or removed while in use, but a
 * careless `rm -rf .fasteners/ *` does it: every process that opens the
 * instance afterwards locks a new file, the ones that had it open lock the
 * old one, and the two no longer exclude each other. So a handle that holds
 * no lock also looks at the lock file's path, at the same pace
 * (ipm_follow_lockfile(), before a lock is taken), and moves to the file the
 * path names, making it when it is gone (with the old one's mode and
 * group). Exclusion is whole again within IPM_FOLLOW_MS; what the old
 * file's control page and undo record held stays behind.
 *
 * It stands between the guarded accesses (fault.c) and the lock protocol
 * (lock.c), which calls ipm_follow() with the lock just taken.
 */
#include "ipmmap_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

/* CLOCK_MONOTONIC_COARSE in ns: a few ns through the vDSO, ticks of a few ms. */
static int64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int gen_get(ipm_map *m, void *ctx)
{
	*(uint32_t *)ctx = m->lf.ctl ? __atomic_load_n(&m->lf.ctl->gen, __ATOMIC_ACQUIRE) : 0;
	return 0;
}

static int gen_bump(ipm_map *m, void *ctx)
{
	uint32_t gen = 0;

	if (m->lf.ctl && m->lf.rw)
		gen = __atomic_add_fetch(&m->lf.ctl->gen, 1, __ATOMIC_SEQ_CST);
	else if (m->lf.ctl)
		gen = __atomic_load_n(&m->lf.ctl->gen, __ATOMIC_ACQUIRE);
	if (ctx)
		*(uint32_t *)ctx = gen;
	return 0;
}

/* Whether path names the file the handle maps (or no file at all). */
static bool same_file(const ipm_map *m)
{
	struct stat st;

	if (stat(m->path, &st) < 0)
		return true; /* removed: nothing to follow, the old file stays */
	return st.st_ino == __atomic_load_n(&m->ino, __ATOMIC_RELAXED) &&
	       st.st_dev == __atomic_load_n(&m->dev, __ATOMIC_RELAXED);
}

/* The look: maps what path names now if it is another file. */
static int look(ipm_map *m)
{
	char why[IPM_ERRLEN];
	uint32_t gen = 0;
	int rc;

	__atomic_store_n(&m->replaced, 0, __ATOMIC_RELAXED);
	m->look_at = coarse_ns() + (int64_t)IPM_FOLLOW_MS * 1000000;
	/* The generation before the stat: a rename after it bumps it again. */
	if (m->lf.ctl)
		ipm_guarded(m, gen_get, &gen, 0);
	if (same_file(m)) {
		m->gen = gen;
		return 0;
	}
	rc = ipm_data_remap(m);
	if (rc < 0) {
		m->look_at = 0; /* again at the next lock */
		snprintf(why, sizeof(why), "%s", m->err);
		return ipm_errf(m->err, -EIO, "%s was replaced by a file that cannot be mapped: %s",
				m->path, why);
	}
	/* Whoever sees a new file first tells every other handle. */
	ipm_guarded(m, gen_bump, &m->gen, 0);
	return 0;
}

/*
 * The same look for a read that takes no lock (seqread.c), so that a handle
 * whose look is due (its first read, then once every IPM_FOLLOW_MS) does
 * not wait for the lock only to find its file unchanged: the lock file is
 * followed as before a lock (ipm_follow_lockfile(), made for a handle that
 * holds none), then the path is asked. Nothing to map: the generation seen
 * before the stat is the handle's, as in look(), and the read goes on
 * without a lock. Another file to map: 1, the lock must look.
 */
int ipm_follow_free(ipm_map *m)
{
	uint32_t gen = 0;

	ipm_follow_lockfile(m);
	if (__atomic_load_n(&m->replaced, __ATOMIC_RELAXED))
		return 1;
	if (m->lf.ctl)
		ipm_guarded(m, gen_get, &gen, 0);
	if (!same_file(m))
		return 1;
	m->gen = gen;
	m->look_at = coarse_ns() + (int64_t)IPM_FOLLOW_MS * 1000000;
	return 0;
}

int ipm_follow(ipm_map *m)
{
	uint32_t gen;
	int rc;

	if (coarse_ns() >= m->look_at || __atomic_load_n(&m->replaced, __ATOMIC_RELAXED))
		return look(m);
	if (!m->lf.ctl)
		return 0;
	rc = ipm_guarded(m, gen_get, &gen, 0);
	if (rc < 0)
		return rc;
	return gen == m->gen ? 0 : look(m);
}

void ipm_follow_lockfile(ipm_map *m)
{
	struct ipm_lockfile nlf;
	struct stat a, b;
	char err[IPM_ERRLEN];
	int fd;

	if (coarse_ns() < m->lock_look_at)
		return;
	m->lock_look_at = coarse_ns() + (int64_t)IPM_FOLLOW_MS * 1000000;
	if (fstat(m->lf.fd, &b) < 0)
		return;
	if (stat(m->lock_path, &a) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
		return;
	/* Removed, or replaced: join whoever opens the instance now. */
	/* Opened as the handle's was, made with its mode and group if gone. */
	fd = ipm_lockfile_open(m->lock_path, m->path, b.st_mode & 07777, b.st_gid,
			       (m->lf.rw ? 0 : IPM_LF_READER) | IPM_LF_LAX, err);
	if (fd < 0)
		return; /* the directory went too: nothing better to lock */
	err[0] = '\0';
	if (ipm_lockfile_attach(&nlf, fd, m->lock_path, m->size, m->data_fd, err) < 0) {
		close(fd);
		return;
	}
	fd = m->lf.fd;
	ipm_lockfile_detach(&m->lf);
	close(fd);
	m->lf = nlf;
}

void ipm_follow_init(ipm_map *m)
{
	ipm_data_ident(m);
	m->gen = 0;
	m->look_at = 0;							  /* the first lock looks */
	m->lock_look_at = coarse_ns() + (int64_t)IPM_FOLLOW_MS * 1000000; /* just opened */
	m->replaced = 0;
}

void ipm_follow_renamed(ipm_map *m)
{
	ipm_guarded(m, gen_bump, NULL, 0);
}

int ipm_follow_peek(ipm_map *m)
{
	if (same_file(m))
		return 0;
	__atomic_store_n(&m->replaced, 1, __ATOMIC_RELAXED);
	ipm_guarded(m, gen_bump, NULL, 0);
	return 1;
}
