/*
 * undo.c - the undo record of crash-atomic write sections: save, find a dead
 * writer's section, restore, close. Plain memory operations on the record
 * and the data; the lock protocol (lock.c) decides when, under which lock,
 * and runs them under the guard.
 *
 * A writer killed inside its write section leaves the structure half
 * written, and the kernel hands its lock to the next process as if nothing
 * happened. So, as a database's rollback journal does, every write section
 * of this library first saves the structure's bytes into the undo record in
 * the lock file and marks the record dirty; it marks it clean when the
 * section ends, while it still holds the write lock. A dirty record found by
 * someone who holds the lock means its writer died inside the section.
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

#include <pthread.h>
#include <string.h>
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

bool ipm_undo_dead(const struct ipm_undo *u, size_t size)
{
	return u && __atomic_load_n(&u->state, __ATOMIC_ACQUIRE) == IPM_UNDO_DIRTY &&
	       u->magic == undo_magic() && u->size == size && u->check == undo_check(u);
}

int ipm_undo_restore(struct ipm_undo *u, void *data, size_t size)
{
	if (!ipm_undo_dead(u, size)) {
		/* A record of another layout (the file was made anew since)
		 * cannot be applied: forget it. */
		if (u->state != IPM_UNDO_CLEAN)
			__atomic_store_n(&u->state, IPM_UNDO_CLEAN, __ATOMIC_RELEASE);
		return 0;
	}
	memcpy(data, u->data, size);
	u->count++;
	u->last_time = ipm_now_realtime();
	u->last_pid = u->pid;
	__atomic_store_n(&u->state, IPM_UNDO_CLEAN, __ATOMIC_RELEASE);
	return 1;
}

int ipm_undo_save(struct ipm_undo *u, const void *data, size_t size)
{
	int undone = 0;

	pthread_once(&pid_once, pid_init);
	if (u->state != IPM_UNDO_CLEAN)
		undone = ipm_undo_restore(u, (void *)data, size);
	memcpy(u->data, data, size);
	u->size = size;
	u->pid = (int32_t)my_pid;
	u->check = undo_check(u);
	/* The copy is complete before the mark, and the mark is made before
	 * the caller writes anything: a kill at any instruction leaves either
	 * a clean record and untouched data or a dirty one and a full copy. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&u->state, IPM_UNDO_DIRTY, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return undone;
}

void ipm_undo_close(struct ipm_undo *u)
{
	/* Release: whatever the section wrote is in place before the mark. */
	__atomic_store_n(&u->state, IPM_UNDO_CLEAN, __ATOMIC_RELEASE);
}
