/*
 * undo.c - the undo record of crash-atomic write sections: save, find a dead
 * writer's section, restore, close. Plain memory operations on the record
 * and the data; the lock protocol (lock.c) decides when, under which lock,
 * and runs them under the guard.
 *
 * A writer killed inside its write section leaves the structure half
 * written, and the kernel hands its lock to the next process as if nothing
 * happened. So, as a database's rollback journal does, every write section
 * of this library opens the undo record in the lock file, and before it
 * first changes a range of bytes it appends that range's old bytes to the
 * record's log; it closes the record when the section ends, while it still
 * holds the write lock. An open record found by someone who holds the lock
 * means its writer died inside the section: the log, put back, gives the
 * structure as it was before the section, byte for byte.
 *
 * What is saved: whole lines of IPM_UNDO_LINE (64) bytes, the unit the
 * memory moves in anyway, so that neighbouring fields (a value and the
 * header's time_stamp) cost one range. A line is saved once per section:
 * the section keeps its ranges apart (struct ipm_section), a range that
 * follows the log's last one grows it in place, and a section that would
 * keep more than IPM_UNDO_RANGES apart saves every line it has not saved
 * yet, once, and is done. So the log never holds more than the structure
 * plus 2 * IPM_UNDO_RANGES + 1 range headers, and the record is sized for
 * that (lockfile.c): it never runs out of room, and no update goes unsaved.
 * A handle that gave out its raw address saves all lines at the start of
 * every section (lock.c): today's whole copy, in one range.
 *
 * Order is all that matters, not durability: this is shared memory, and a
 * process killed with SIGKILL still leaves every store it made before the
 * kill in the page cache. So the record is emptied before it is marked
 * open; a range's bytes are stored before its header, its header before the
 * log's length that counts it (and a range that grows: its bytes, then its
 * header's count, then the length), and all of that before the caller
 * changes the range; the section's data before the clean mark (compiler
 * barriers and release stores; no msync()). A kill at any instruction
 * leaves a log whose counted ranges hold old bytes only. A power loss is not
 * covered: the .mmap file itself is not written with any care for that.
 *
 * Versions. A version 1 library (a whole copy, state 1, magic "IPMUNDO1")
 * refuses this record by its magic, at attach and before every restore, so
 * it never reads a log as a copy. One that attached before this library
 * took the record over (ipm_undo_open() stamps the magic anew) still writes
 * its sections into it: its save first closes any open section (it cannot
 * read ours: a writer of ours that died is then not undone, a loss, not a
 * misread), then writes a whole copy, and marks state 1. This library never
 * reads a log unless state is 2, which only it writes, after the log's
 * header; and it undoes a version 1 section (state 1, version 1's check) as
 * version 1 did, whatever the magic says.
 *
 * The file. A section saves from one .mmap file, named in the record by
 * its device and inode (ipm_data_id()). A file renamed over the instance's
 * after its writer died (`mv new S_.mmap`) never had that section: its
 * bytes are not the saved ones' file, and the record is forgotten, not put
 * into it. A record without a name (0: a version 1 section, or one saved
 * before the name was kept) is applied as before.
 *
 * The record keeps the library's bookkeeping out of the .mmap file, which
 * stays exactly what Python IPMMAP expects. Python writers keep no record:
 * one that dies mid-update leaves it half written, and a Python write made
 * after a C writer died and before any C process locked the instance again
 * is overwritten by the undo.
 */
#include "ipmmap_i.h"

#include <errno.h>
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

static uint64_t magic_of(const char *s)
{
	uint64_t v;

	memcpy(&v, s, sizeof(v));
	return v;
}

/* A check over the fields that say what the record holds, so that bytes a
 * stranger wrote into the lock file with the right magic are not taken for a
 * section to restore (a guard against garbage, not against malice: see
 * ipmmap.h on who may write the lock file). Never 0, which a fresh record
 * holds. Version 1 computed it the same way. */
static uint32_t undo_check(const struct ipm_undo *u)
{
	uint64_t x = u->magic ^ (u->size * 0x9e3779b97f4a7c15u) ^
		     ((uint64_t)(uint32_t)u->pid * 0xc2b2ae3d27d4eb4fu);

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9u;
	x ^= x >> 32;
	return (uint32_t)x | 1;
}

static size_t lines_of(size_t size)
{
	return (size + IPM_UNDO_LINE - 1) / IPM_UNDO_LINE;
}

/* Room for the log: the record is IPM_UNDO_SLACK plus the size long. */
static size_t log_room(size_t size)
{
	return size + IPM_UNDO_SLACK - sizeof(struct ipm_undo);
}

_Static_assert(IPM_UNDO_LINE - 1 + (2 * IPM_UNDO_RANGES + 1) * sizeof(struct ipm_undo_range) <=
		   IPM_UNDO_SLACK - sizeof(struct ipm_undo),
	       "the record holds every line once and every range header");
_Static_assert(sizeof(struct ipm_undo) == 64, "the record's header is version 1's");

/* The ranges of a version 2 log, each within the structure and the room:
 * anything else is garbage, and nothing of it is applied. */
static bool log_valid(const struct ipm_undo *u, size_t size)
{
	size_t lines = lines_of(size), room = log_room(size), off = 0;
	uint64_t used = u->used;

	if (used > room)
		return false;
	while (off < used) {
		const struct ipm_undo_range *r = (const void *)(u->data + off);

		if (off + sizeof(*r) > room || r->lines == 0 || r->line >= lines ||
		    r->lines > lines - r->line ||
		    (uint64_t)r->lines * IPM_UNDO_LINE > room - off - sizeof(*r))
			return false;
		/* The last range may reach past used: it grew and was killed
		 * before used followed, its bytes already in place. */
		off += sizeof(*r) + (size_t)r->lines * IPM_UNDO_LINE;
	}
	return true;
}

int ipm_undo_dead(const struct ipm_undo *u, size_t size)
{
	uint32_t state;

	if (!u)
		return 0;
	state = __atomic_load_n(&u->state, __ATOMIC_ACQUIRE);
	if (state == IPM_UNDO_CLEAN || u->size != size || u->check != undo_check(u))
		return 0;
	if (state == IPM_UNDO_OPEN_V1)
		return 1;
	if (state == IPM_UNDO_OPEN && u->magic == magic_of(IPM_UNDO_MAGIC) && log_valid(u, size))
		return 2;
	return 0;
}

int ipm_undo_dead_of(const struct ipm_undo *u, size_t size, uint64_t file)
{
	int version = ipm_undo_dead(u, size);
	uint64_t of;

	if (version != 2)
		return version;
	of = __atomic_load_n(&u->file, __ATOMIC_RELAXED);
	return !of || of == file ? version : 0;
}

void ipm_undo_apply(const struct ipm_undo *u, int version, void *data, size_t size)
{
	ipm_undo_apply_span(u, version, data, 0, size, size);
}

/*
 * Each range is read once and checked as log_valid() checks it before it
 * is used, and the log's length once: under a lock that changes nothing
 * (the record was found valid), without one (seqread.c) it keeps a record
 * rewritten meanwhile from sending a copy outside either buffer.
 */
void ipm_undo_apply_span(const struct ipm_undo *u, int version, void *dst, size_t off, size_t n,
			 size_t size)
{
	size_t lines = lines_of(size), room = log_room(size), at = 0, end = off + n;
	uint64_t used = __atomic_load_n(&u->used, __ATOMIC_ACQUIRE);
	unsigned char *d = dst;

	if (version == 1) {
		memcpy(d, u->data + off, n);
		return;
	}
	if (used > room)
		return;
	while (at < used && at + sizeof(struct ipm_undo_range) <= room) {
		const struct ipm_undo_range *r = (const void *)(u->data + at);
		uint32_t line = __atomic_load_n(&r->line, __ATOMIC_RELAXED);
		uint32_t cnt = __atomic_load_n(&r->lines, __ATOMIC_RELAXED);
		size_t from, to;

		if (cnt == 0 || line >= lines || cnt > lines - line ||
		    (uint64_t)cnt * IPM_UNDO_LINE > room - at - sizeof(*r))
			return;
		from = (size_t)line * IPM_UNDO_LINE;
		to = (size_t)(line + cnt) * IPM_UNDO_LINE;
		if (to > size)
			to = size;
		/* Ranges never overlap: any order gives the old bytes. */
		if (from < end && to > off) {
			size_t a = from > off ? from : off, b = to < end ? to : end;

			memcpy(d + (a - off), u->data + at + sizeof(*r) + (a - from), b - a);
		}
		at += sizeof(*r) + (size_t)cnt * IPM_UNDO_LINE;
	}
}

int ipm_undo_restore(struct ipm_undo *u, void *data, size_t size, uint64_t file)
{
	int version = ipm_undo_dead_of(u, size, file);

	if (!version) {
		/* A record of another layout or file (the file was made anew
		 * since) or garbage cannot be applied: forget it. */
		if (u->state != IPM_UNDO_CLEAN)
			__atomic_store_n(&u->state, IPM_UNDO_CLEAN, __ATOMIC_RELEASE);
		return 0;
	}
	ipm_undo_apply(u, version, data, size);
	u->count++;
	u->last_time = ipm_now_realtime();
	u->last_pid = u->pid;
	__atomic_store_n(&u->state, IPM_UNDO_CLEAN, __ATOMIC_RELEASE);
	return 1;
}

int ipm_undo_open(struct ipm_undo *u, void *data, size_t size, struct ipm_section *s, uint64_t file)
{
	uint64_t v1 = magic_of(IPM_UNDO_MAGIC_V1);
	int undone = 0;

	pthread_once(&pid_once, pid_init);
	if (u->state != IPM_UNDO_CLEAN)
		undone = ipm_undo_restore(u, data, size, file);
	/* A version 1 record is ours from now on: version 1 libraries that
	 * attach later refuse it. */
	if (u->magic == v1)
		__atomic_compare_exchange_n(&u->magic, &v1, magic_of(IPM_UNDO_MAGIC), false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	s->all = false;
	s->n = 0;
	s->tail = UINT32_MAX;
	u->used = 0;
	u->size = size;
	u->pid = (int32_t)my_pid;
	u->file = file;
	u->check = undo_check(u);
	/* The empty log is in place before the mark, and the mark before the
	 * caller saves or writes anything. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&u->state, IPM_UNDO_OPEN, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return undone;
}

/* Appends lines [a, b) of data to the log: onto the log's last range when
 * they follow it, else as a new range (kept in s when track). */
static int append(struct ipm_undo *u, const unsigned char *data, size_t size, struct ipm_section *s,
		  uint32_t a, uint32_t b, bool track)
{
	size_t from = (size_t)a * IPM_UNDO_LINE, to = (size_t)b * IPM_UNDO_LINE;
	size_t n = (to < size ? to : size) - from, used = u->used;
	size_t grow = (size_t)(b - a) * IPM_UNDO_LINE;

	if (s->tail != UINT32_MAX && s->end[s->tail] == a) {
		struct ipm_undo_range *r = (void *)(u->data + s->tail_off);

		if (used + grow > log_room(size))
			return -ENOSPC;
		memcpy(u->data + used, data + from, n);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		__atomic_store_n(&r->lines, r->lines + (b - a), __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		__atomic_store_n(&u->used, used + grow, __ATOMIC_RELEASE);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		s->end[s->tail] = b;
		return 0;
	}
	if (used + sizeof(struct ipm_undo_range) + grow > log_room(size))
		return -ENOSPC;
	struct ipm_undo_range *r = (void *)(u->data + used);

	memcpy(u->data + used + sizeof(*r), data + from, n);
	r->line = a;
	r->lines = b - a;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&u->used, used + sizeof(*r) + grow, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (track) {
		s->first[s->n] = a;
		s->end[s->n] = b;
		s->tail = s->n++;
		s->tail_off = used;
	} else {
		s->tail = UINT32_MAX;
	}
	return 0;
}

/*
 * Saves the lines of [a, b) that no range of s holds: the gaps between
 * them, each appended. A gap that would be a range more than s can keep
 * apart makes it save all the gaps of the structure instead, untracked, and
 * the section is done saving (s->all).
 */
static int save_lines(struct ipm_undo *u, const unsigned char *data, size_t size,
		      struct ipm_section *s, uint32_t a, uint32_t b, bool track)
{
	uint32_t cur = a;
	int rc;

	while (cur < b) {
		uint32_t next = b, i;

		for (i = 0; i < s->n; i++) {
			if (s->first[i] <= cur && cur < s->end[i])
				break;
			if (s->first[i] > cur && s->first[i] < next)
				next = s->first[i];
		}
		if (i < s->n) { /* saved already: skip that range */
			cur = s->end[i];
			continue;
		}
		if (track && s->n == IPM_UNDO_RANGES &&
		    !(s->tail != UINT32_MAX && s->end[s->tail] == cur))
			return ipm_undo_save_all(u, data, size, s);
		rc = append(u, data, size, s, cur, next, track);
		if (rc < 0)
			return rc;
		cur = next;
	}
	return 0;
}

int ipm_undo_save(struct ipm_undo *u, const void *data, size_t size, struct ipm_section *s,
		  size_t off, size_t len)
{
	if (s->all || len == 0 || !ipm_undo_is_open(u))
		return 0; /* nothing more to save, or nothing to save into */
	return save_lines(u, data, size, s, (uint32_t)(off / IPM_UNDO_LINE),
			  (uint32_t)((off + len + IPM_UNDO_LINE - 1) / IPM_UNDO_LINE), true);
}

int ipm_undo_save_all(struct ipm_undo *u, const void *data, size_t size, struct ipm_section *s)
{
	int rc;

	if (s->all || !ipm_undo_is_open(u))
		return 0;
	rc = save_lines(u, data, size, s, 0, (uint32_t)lines_of(size), false);
	if (rc == 0)
		s->all = true;
	return rc;
}

void ipm_undo_close(struct ipm_undo *u)
{
	/* Release: whatever the section wrote is in place before the mark. */
	__atomic_store_n(&u->state, IPM_UNDO_CLEAN, __ATOMIC_RELEASE);
}
