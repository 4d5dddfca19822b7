/*
 * undo.c - crash-atomic write sections. See ipmmap.h.
 *
 * A writer killed inside its write section leaves the structure half
 * written, and the kernel hands its lock to the next process as if nothing
 * happened. So, as a database's rollback journal does, every write section
 * of this library first saves the structure's bytes into an undo record in
 * the lock file and marks the record dirty; it marks it clean when the
 * section ends, while it still holds the write lock. A dirty record found by
 * someone who holds the lock means its writer died inside the section: the
 * writer that finds it copies the saved bytes back, and a reader either does
 * the same (when it may write and can turn its read lock into the write lock
 * at once) or reads the saved copy instead of the file until it unlocks.
 *
 * Order is all that matters, not durability: this is shared memory, and a
 * process killed with SIGKILL still leaves every store it made before the
 * kill in the page cache. So the saved bytes are stored before the dirty
 * mark, and the section's data before the clean mark (compiler barriers and
 * a release store; no msync()). A power loss is not covered: the .mmap file
 * itself is not written with any care for that either.
 *
 * The record keeps the library's bookkeeping out of the .mmap file, which
 * stays exactly what Python IPMMAP expects. Python writers keep no record:
 * one that dies mid-update leaves it half written, and a Python write made
 * after a C writer died and before any C process locked the instance again
 * is overwritten by the undo.
 */
#include "ipmmap_i.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_once_t pid_once = PTHREAD_ONCE_INIT;
static pid_t my_pid; /* getpid() is a system call; kept, and reset in a child */

static void pid_reset(void)
{
	my_pid = getpid();
}

static void pid_init(void)
{
	pid_reset();
	pthread_atfork(NULL, NULL, pid_reset);
}

static uint64_t undo_magic(void)
{
	uint64_t v;

	memcpy(&v, IPM_UNDO_MAGIC, sizeof(v));
	return v;
}

static size_t undo_len(const ipm_map *m)
{
	return sizeof(struct ipm_undo) + m->size;
}

int ipm_undo_map(ipm_map *m, int fd, const char *lock_path)
{
	int rw = (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR;
	uint64_t want = undo_magic(), seen = 0;
	off_t end = (off_t)(IPM_CTL_SIZE + undo_len(m));
	struct ipm_undo *u;
	struct stat st;

	pthread_once(&pid_once, pid_init);
	m->undo = NULL;
	m->undo_rw = false;
	if (fstat(fd, &st) < 0)
		return ipm_errf(m->err, -errno, "cannot stat %s: %s", lock_path, strerror(errno));
	if (st.st_size < end) {
		static const unsigned char zero;
		ssize_t n;

		/* Without the record a reader has nothing to undo from. */
		if (!rw)
			return 0;
		/* One zero at the end: grows, never cuts a longer file. */
		do
			n = pwrite(fd, &zero, 1, end - 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			return ipm_errf(m->err, n < 0 ? -errno : -EIO,
					"cannot grow lock file %s: %s", lock_path,
					n < 0 ? strerror(errno) : "short write");
	}
	u = mmap(NULL, undo_len(m), rw ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd,
		 IPM_CTL_SIZE);
	if (u == MAP_FAILED)
		return ipm_errf(m->err, -errno, "cannot map lock file %s: %s", lock_path,
				strerror(errno));
	if (rw)
		__atomic_compare_exchange_n(&u->magic, &seen, want, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST);
	else
		seen = __atomic_load_n(&u->magic, __ATOMIC_ACQUIRE);
	/* Someone else's bytes: go on without crash-atomic writes rather than
	 * refuse the instance (see ipm_ctl_map()); the message says why, unless
	 * it already says so of the control block. */
	if (seen != 0 && seen != want) {
		munmap(u, undo_len(m));
		if (!m->err[0])
			ipm_errf(m->err, -EINVAL,
				 "lock file %s: undo record magic is not '%s': ignored", lock_path,
				 IPM_UNDO_MAGIC);
		return 0;
	}
	m->undo = u;
	m->undo_rw = rw;
	return 0;
}

void ipm_undo_unmap(ipm_map *m)
{
	if (m->undo)
		munmap(m->undo, undo_len(m));
	m->undo = NULL;
	m->undo_rw = false;
}

/* A check over the fields that say what the record holds, so that bytes a
 * stranger wrote into the lock file with the right magic are not taken for a
 * section to restore (a guard against garbage, not against malice: see
 * ipmmap.h on who may write the lock file). Never 0, which a fresh record
 * holds. */
static uint32_t undo_check(const struct ipm_undo *u)
{
	uint64_t x = u->magic ^ (u->size * 0x9e3779b97f4a7c15u) ^
		     ((uint64_t)(uint32_t)u->pid * 0xc2b2ae3d27d4eb4fu);

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9u;
	x ^= x >> 32;
	return (uint32_t)x | 1;
}

/* Whether a dead writer's section is open, with bytes this handle can use. */
static bool dead_section(const ipm_map *m)
{
	const struct ipm_undo *u = m->undo;

	return u && __atomic_load_n(&u->state, __ATOMIC_ACQUIRE) == IPM_UNDO_DIRTY &&
	       u->magic == undo_magic() && u->size == m->size && u->check == undo_check(u);
}

/* Under the write lock: the saved bytes back into the file, then clean. A
 * restore cut short by a fault is simply done again by the next one. */
static int restore(ipm_map *m, void *ctx)
{
	struct ipm_undo *u = m->undo;

	(void)ctx;
	if (!dead_section(m)) {
		/* A record of another layout (the file was made anew since)
		 * cannot be applied: forget it. */
		if (u && u->state != IPM_UNDO_CLEAN)
			__atomic_store_n(&u->state, IPM_UNDO_CLEAN, __ATOMIC_RELEASE);
		return 0;
	}
	memcpy(m->mapped, u->data, m->size);
	u->count++;
	u->last_time = ipm_now_realtime();
	u->last_pid = u->pid;
	m->undone++;
	__atomic_store_n(&u->state, IPM_UNDO_CLEAN, __ATOMIC_RELEASE);
	return 1;
}

/* Undo if needed, then save and open this section. */
static int begin(ipm_map *m, void *ctx)
{
	struct ipm_undo *u = m->undo;

	(void)ctx;
	if (u->state != IPM_UNDO_CLEAN)
		restore(m, NULL);
	memcpy(u->data, m->mapped, m->size);
	u->size = m->size;
	u->pid = (int32_t)my_pid;
	u->check = undo_check(u);
	/* The copy is complete before the mark, and the mark is made before
	 * the caller writes anything: a kill at any instruction leaves either
	 * a clean record and untouched data or a dirty one and a full copy. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&u->state, IPM_UNDO_DIRTY, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return 0;
}

int ipm_undo_begin(ipm_map *m)
{
	if (!m->undo || !m->undo_rw)
		return 0;
	return ipm_map_guarded(m, begin, NULL);
}

void ipm_undo_end(ipm_map *m)
{
	/* Release: whatever the section wrote is in place before the mark. */
	if (m->undo && m->undo_rw)
		__atomic_store_n(&m->undo->state, IPM_UNDO_CLEAN, __ATOMIC_RELEASE);
}

void ipm_undo_check_read(ipm_map *m)
{
	if (!dead_section(m))
		return;
	/*
	 * Taking the write lock in place succeeds at once only if nobody else
	 * reads; waiting for it while holding the read lock could deadlock
	 * with another upgrader. Going back down to the read lock is atomic.
	 */
	if (m->role != IPM_READER && m->undo_rw && m->data == m->mapped &&
	    ipm_lock_fd(m->lock_fd, F_WRLCK, 0) == 0) {
		int rc = ipm_map_guarded(m, restore, NULL);

		if (rc > 0)
			ipm_ctl_bump(m);
		ipm_lock_fd(m->lock_fd, F_RDLCK, 0);
		if (rc >= 0)
			return;
	}
	/* Nobody can change the saved copy while we hold the read lock. */
	m->data = m->undo->data;
}

int ipm_undo_recover(ipm_map *m)
{
	if (!m->undo || !m->undo_rw)
		return 0;
	return ipm_map_guarded(m, restore, NULL);
}

void ipm_undo_discard(ipm_map *m)
{
	if (m->undo && m->undo_rw)
		__atomic_store_n(&m->undo->state, IPM_UNDO_CLEAN, __ATOMIC_RELEASE);
}

int ipm_map_recovery(ipm_map *m, struct ipm_recovery *out)
{
	const struct ipm_undo *u;

	if (!m || !m->mapped)
		return m ? ipm_errf(m->err, -EBADF, "cannot report recovery: map is not open")
			 : -EBADF;
	memset(out, 0, sizeof(*out));
	out->undone = m->undone;
	out->reading_saved = m->data != m->mapped;
	u = m->undo;
	if (!u)
		return 0;
	out->count = __atomic_load_n(&u->count, __ATOMIC_RELAXED);
	out->last_time = u->last_time;
	out->last_pid = u->last_pid;
	/* Under the read lock a dirty record can only be a dead writer's; with
	 * no lock it may be a live writer's section in progress. */
	out->pending = m->held == 1 && dead_section(m);
	return 0;
}
