/*
 * seqread.c - reads without a lock on a native instance: the optimistic copy
 * of a seqlock over the write sequence count of the control page, and what a
 * reader does when that count stays odd. See ipmmap.h ("Modes").
 *
 * A locked read costs two system calls (the OFD lock and unlock), 0.4 to
 * 2 us, for a load of a few nanoseconds. On an instance whose writers all
 * use this library (mode native, set by a manager), every write section
 * makes the count odd before its first store and even again after its last
 * one, while it holds the write lock (ctl.c, lock.c). A reader that holds
 * no lock then reads as the kernel's seqlock readers do:
 *
 *     s0 = count (acquire); odd: a writer is in its section
 *     copy the bytes into the caller's buffer
 *     fence (acquire); s1 = count
 *     s1 == s0: the copy is one whole update; else copy again
 *
 * and gives out only what a check passed, from its own buffer, never the
 * mapping. Everything else of a read stays as under the lock: the copy runs
 * under the SIGBUS guard and the size canary is checked after it (fault.c,
 * datafile.c), so a value from a cut file is not returned (but for the
 * instant truncate() zeroes the page: datafile.c); a file replaced
 * under the handle (a generation in the control page, or a look at the path
 * once a second, made without a lock) sends the read to the lock path, which
 * follows it (follow.c).
 *
 * Memory model. The copy races with the writer's stores by design, and C11
 * calls any race on a non-atomic object undefined. Boehm ("Can seqlocks get
 * along with programming language memory models?", MSPC 2012) gives the
 * correct C11 form: the reader loads the data with relaxed atomics between
 * an acquire load of the count and an acquire fence before the second
 * load; the writer stores the odd count, a release fence, the data, then
 * the even count with release (ctl.c does the writer's half). Then a copy
 * that saw any store of a section synchronizes with that section's release
 * fence, and the second load sees the count it made odd. The data side
 * cannot be C11-correct on the writer's part here whatever we do: writers
 * store with memcpy, through ipm_map_data() and ipm_write_range() addresses,
 * and the bytes are a C structure, not atomics. So the reader takes the
 * Linux kernel's form for a copy of several bytes, memcpy between the
 * acquire load and the acquire fence (smp_rmb()): the fences keep the
 * compiler and the CPU from moving the copy's loads out of the window, the
 * racy bytes land in a private buffer and are used only after the check,
 * never twice from the mapping, so no torn value can be acted upon. A
 * scalar of 1, 2, 4 or 8 aligned bytes (every scalar field: the layout is
 * native C) is read with a relaxed atomic load of its size, Boehm's form,
 * which is a plain load on every target; a copy of relaxed 8-byte atomics
 * for larger spans would forbid the vector moves of memcpy and cost twice
 * as much for the 688-byte structure. On x86 both fences are only compiler
 * barriers: the reader pays two loads of the count.
 *
 * An odd count. A writer's section lasts from tens of nanoseconds (a field)
 * to as long as its program holds the write lock. The reader looks again
 * for SPINS rounds (a few microseconds, longer than a section of this
 * library's calls), then asks the kernel whether anyone holds a write lock
 * (F_OFD_GETLK: one system call; the kernel drops the locks of a dead
 * process):
 * - someone does: a live writer in a long section. The read goes to the
 *   lock path, which sleeps in the kernel until the writer unlocks (and
 *   stands aside for writers' leases as every locked read does). No spin
 *   for ever.
 * - nobody does, and the count is still the same odd value: its writer
 *   died inside the section. The reader reads the last whole update at
 *   once: the file's bytes with the undo record's saved bytes put back over
 *   them (undo.c), and checks again that the count has not moved, since the
 *   next writer makes it move (+2) before it restores the record and opens
 *   its own. That writer restores the file; readers never write.
 * A record that cannot be applied (garbage, another layout, a cut lock file)
 * sends the read to the lock path, which says what it can. A count that
 * keeps moving (RETRIES copies spoilt by writers) does the same, so a
 * reader is never starved by a busy writer for longer than a lock wait.
 *
 * Writer priority needs nothing here: a reader that takes no lock never
 * keeps a writer out, and one sent to the lock path stands aside for a
 * waiting writer's lease as before (lock.c).
 */
#include "ipmmap_i.h"

#include <fcntl.h>
#include <setjmp.h>
#include <time.h>

#define SPINS 64       /* looks at an odd count before asking whether its writer lives */
#define RETRIES 32     /* copies that moving counts may spoil before the lock path */
#define FOLLOW_EVERY 4 /* reads per look at the clock (see follow_due()) */

/* What a round under the guard says, besides 0 (a good copy), a negative
 * errno and IPM_SEQ_LOCK. */
#define MOVED 2	 /* the count moved during the copy: copy again */
#define ODD 3	 /* a section is open (count in s0) */
#define FOLLOW 4 /* another generation than the handle's: look at the path */

struct seqjob {
	size_t off;  /* in the structure */
	void *buf;   /* the caller's */
	size_t n;    /* bytes */
	uint32_t s0; /* the count the copy began at */
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* n bytes racing with writers into dst (see the top of this file). */
static inline void racy_copy(void *dst, const unsigned char *src, size_t n)
{
	uintptr_t a = (uintptr_t)src;

	if (n == 4 && !(a & 3)) {
		uint32_t v = __atomic_load_n((const uint32_t *)src, __ATOMIC_RELAXED);

		memcpy(dst, &v, 4);
	} else if (n == 8 && !(a & 7)) {
		uint64_t v = __atomic_load_n((const uint64_t *)src, __ATOMIC_RELAXED);

		memcpy(dst, &v, 8);
	} else if (n == 2 && !(a & 1)) {
		uint16_t v = __atomic_load_n((const uint16_t *)src, __ATOMIC_RELAXED);

		memcpy(dst, &v, 2);
	} else if (n == 1) {
		*(unsigned char *)dst = __atomic_load_n(src, __ATOMIC_RELAXED);
	} else {
		memcpy(dst, src, n);
	}
}

/* One optimistic copy, under the guard: inline in guarded_copy(), and
 * out of line for ipm_guarded() (seq_copy()). */
static inline __attribute__((always_inline)) int seq_copy_body(ipm_map *m, struct seqjob *j)
{
	struct ipm_ctl *c = m->lf.ctl;
	uint32_t s0, s1;

	if (__atomic_load_n(&c->mode, __ATOMIC_RELAXED) != IPM_MODE_NATIVE)
		return IPM_SEQ_LOCK; /* compat now */
	if (__atomic_load_n(&c->gen, __ATOMIC_RELAXED) != m->gen)
		return FOLLOW; /* maybe a file to follow */
	s0 = __atomic_load_n(&c->wseq, __ATOMIC_ACQUIRE);
	if (s0 & 1) {
		j->s0 = s0;
		return ODD;
	}
	racy_copy(j->buf, m->mapped + j->off, j->n);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	s1 = __atomic_load_n(&c->wseq, __ATOMIC_RELAXED);
	if (s1 != s0)
		return MOVED;
	/* The canary after the copy: a cut before it is seen (datafile.c). */
	return ipm_data_verify(m);
}

static int seq_copy(ipm_map *m, void *ctx)
{
	return seq_copy_body(m, ctx);
}

/*
 * Whether the lock file is whole: its sentinel, which any cut clears
 * (lockfile.c). Looked at before the record is trusted and again after it
 * was applied, as the canary is after a copy. A cut one is mended only
 * under a lock: the read goes there (ipm_lockfile_check() in lock.c).
 */
static bool lockfile_whole(const ipm_map *m)
{
	return __atomic_load_n(&m->lf.base[m->lf.len], __ATOMIC_RELAXED) == IPM_LOCKFILE_SENTINEL;
}

/*
 * A dead writer's section (count j->s0, odd, and no write lock held): the
 * bytes as they were before it, the saved ones put back over a copy of the
 * file's, as long as the count has not moved by the end.
 */
static int seq_dead(ipm_map *m, void *ctx)
{
	struct seqjob *j = ctx;
	struct ipm_ctl *c = m->lf.ctl;
	int version;

	if (__atomic_load_n(&c->wseq, __ATOMIC_ACQUIRE) != j->s0)
		return MOVED;
	version = m->lf.undo && lockfile_whole(m)
		      ? ipm_undo_dead_of(m->lf.undo, m->size, ipm_data_id(m))
		      : 0;
	if (!version)
		return IPM_SEQ_LOCK;
	racy_copy(j->buf, m->mapped + j->off, j->n);
	ipm_undo_apply_span(m->lf.undo, version, j->buf, j->off, j->n, m->size);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&c->wseq, __ATOMIC_RELAXED) != j->s0 || !lockfile_whole(m))
		return MOVED;
	return ipm_data_verify(m);
}

/*
 * seq_copy() under the guard, armed here inline as fault.c arms it (the
 * call, the thunk and the guard's set-up cost as much as the read itself).
 * A fault, or a guard not set up yet, goes through ipm_guarded(), which
 * repairs or reports and runs the copy again.
 */
static int guarded_copy(ipm_map *m, struct seqjob *j)
{
	sigjmp_buf env, *prev;
	int rc;

	if (!ipm_guard_on)
		return ipm_guarded(m, seq_copy, j, 0);
	prev = ipm_guard_armed;
	if (sigsetjmp(env, 0)) {
		ipm_guard_armed = prev;
		return ipm_guarded(m, seq_copy, j, 0);
	}
	ipm_guard_armed = &env;
	rc = seq_copy_body(m, j);
	ipm_guard_armed = prev;
	return rc;
}

/* Whether anyone holds a write lock on the lock file: a live writer, since
 * the kernel drops a dead process's locks. In doubt, yes. */
static bool writer_lives(int fd)
{
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};

	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return true;
	return fl.l_type != F_UNLCK;
}

/*
 * Whether the handle must look at the path (follow.c's ipm_follow() tests
 * the same): the read then looks without a lock (ipm_follow_free(), a
 * stat()), and only a file to map sends it to the lock, which maps it.
 * The clock is read at one read in FOLLOW_EVERY (it costs as much as the
 * rest of the read's checks together), so a file replaced by anyone but a
 * C manager (whose generation is looked at every time) is followed within
 * IPM_FOLLOW_MS and at most FOLLOW_EVERY - 1 reads more. A handle's first
 * read looks too; it never waits for a lock to do so, since a lock held by
 * another process (fasteners' peer, a C writer between sections) must not
 * stop a read that needs none.
 */
static bool follow_due(const ipm_map *m)
{
	struct timespec ts;

	if (m->size_checks % FOLLOW_EVERY && !__atomic_load_n(&m->replaced, __ATOMIC_RELAXED))
		return false;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec >= m->look_at ||
	       __atomic_load_n(&m->replaced, __ATOMIC_RELAXED);
}

/* The rounds after a first copy that did not give a good one (rc). A
 * generation the handle has not seen (a handle's own first look, a C
 * manager's rename) is looked at once without a lock: only a file to map
 * goes to the lock. */
static int seq_again(ipm_map *m, struct seqjob *j, int rc)
{
	unsigned spins = 0, spoilt = 0;
	bool looked = false;

	for (;;) {
		if (rc != MOVED && rc != ODD && rc != FOLLOW)
			return rc;
		if (rc == FOLLOW) {
			if (looked || ipm_follow_free(m) || !m->lf.ctl)
				return IPM_SEQ_LOCK;
			looked = true;
		} else if (rc == MOVED) {
			if (++spoilt > RETRIES)
				return IPM_SEQ_LOCK;
		} else if (++spins < SPINS) {
			cpu_relax();
		} else {
			spins = 0;
			if (writer_lives(m->lf.fd))
				return IPM_SEQ_LOCK;
			rc = ipm_guarded(m, seq_dead, j, 0);
			if (rc != MOVED)
				return rc;
			if (++spoilt > RETRIES)
				return IPM_SEQ_LOCK;
		}
		rc = guarded_copy(m, j);
	}
}

/* The first round armed here, not in guarded_copy(): one call less on the
 * path every read takes. */
int ipm_seq_read(ipm_map *m, size_t off, void *buf, size_t n)
{
	struct seqjob j = {off, buf, n, 0};
	sigjmp_buf env, *prev;
	int rc;

	/* The handle's last look at the mode: a compat instance pays nothing. */
	if (m->held != IPM_HELD_NONE || m->mode != IPM_MODE_NATIVE || !m->lf.ctl || !m->mapped)
		return IPM_SEQ_LOCK;
	if (follow_due(m) && (ipm_follow_free(m) || !m->lf.ctl))
		return IPM_SEQ_LOCK;
	if (!ipm_guard_on)
		return seq_again(m, &j, ipm_guarded(m, seq_copy, &j, 0));
	prev = ipm_guard_armed;
	if (sigsetjmp(env, 0)) {
		ipm_guard_armed = prev;
		return seq_again(m, &j, ipm_guarded(m, seq_copy, &j, 0));
	}
	ipm_guard_armed = &env;
	rc = seq_copy_body(m, &j);
	ipm_guard_armed = prev;
	if (__builtin_expect(rc == 0, 1))
		return 0;
	return seq_again(m, &j, rc);
}
