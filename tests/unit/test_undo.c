/*
 * test_undo.c - crash-atomic write sections: writers killed with SIGKILL
 * inside their section, and lock holders killed at any point.
 *
 * A child opens its own handle, writes half of a two-field update (x, then
 * y, which must always be equal), tells the parent through a pipe, and waits
 * to be killed. Processes meet through pipes, never through sleeps.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

/* x and the note in the first 64-byte line, y in the fifth: the undo
 * record saves lines, so a write of y that is not saved shows. */
static const char schema_text[] = "[Pair]\n"
				  "header = MmapStructureHeader\n"
				  "x = int64\n"
				  "note = char[16]\n"
				  "pad = char[216]\n"
				  "y = int64\n";

#define PAIR_SIZE 264 /* 16 + 8 + 16 + 216 + 8: the .mmap file, exactly */
#define X_OFF 16
#define Y_OFF 256

struct fix {
	struct unit_inst u;	   /* schema, directory, manager handle */
	struct ipm_field x, y;	   /* the two fields of the invariant */
	struct ipm_field note;	   /* a string */
};

static struct fix *fx;	    /* for children, which run outside cmocka */
static ipm_map *parents[2]; /* the test's other handles, which children free */

/* A child frees what it got from the parent, for leak checkers. */
static void child_drop_parents(void)
{
	ipm_map_free(parents[0]);
	ipm_map_free(parents[1]);
	ipm_map_free(fx->u.m);
	ipm_schema_free(fx->u.s);
	free(fx);
}

static int setup(void **state)
{
	struct fix *f;

	if (unit_inst_setup(state, sizeof(*f), schema_text, "Pair", "undo", 0) < 0)
		return -1;
	fx = f = *state;
	if (ipm_map_resolve(f->u.m, "x", &f->x) < 0 || ipm_map_resolve(f->u.m, "y", &f->y) < 0 ||
	    ipm_map_resolve(f->u.m, "note", &f->note) < 0)
		return -1;
	return 0;
}

#define teardown unit_inst_teardown

static ipm_map *open_as(enum ipm_role role)
{
	return unit_inst_handle(&fx->u, role, 0);
}

/* A complete update: x and y both v, and the note. */
static void write_pair(ipm_map *m, int64_t v)
{
	char note[16];

	snprintf(note, sizeof(note), "pair %lld", (long long)v);
	assert_int_equal(ipm_lock_write(m, -1), 0);
	assert_int_equal(ipm_set_i64(m, &fx->x, v), 0);
	assert_int_equal(ipm_set_i64(m, &fx->y, v), 0);
	assert_int_equal(ipm_set_str(m, &fx->note, note), 0);
	assert_int_equal(ipm_unlock(m), 0);
}

/* The pair as the handle reads it (under its lock, or one it takes). */
static void expect_pair(ipm_map *m, int64_t v)
{
	int64_t x, y;
	char note[16], want[16];

	snprintf(want, sizeof(want), "pair %lld", (long long)v);
	assert_int_equal(ipm_get_i64(m, &fx->x, &x), 0);
	assert_int_equal(ipm_get_i64(m, &fx->y, &y), 0);
	assert_int_equal(ipm_get_str(m, &fx->note, note, sizeof(note)), 0);
	assert_int_equal(x, v);
	assert_int_equal(y, v);
	assert_string_equal(note, want);
}

/* The pair as the .mmap file holds it, read with pread(). */
static void expect_file(int64_t v)
{
	int64_t x, y;
	char path[96];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/Pair_.mmap", fx->u.dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, PAIR_SIZE); /* nothing of ours in it */
	assert_int_equal(pread(fd, &x, 8, X_OFF), 8);
	assert_int_equal(pread(fd, &y, 8, Y_OFF), 8);
	close(fd);
	assert_int_equal(x, v);
	assert_int_equal(y, v);
}

enum how {
	HALF_LIBRARY, /* x through ipm_set_i64(), then killed */
	HALF_RAW,     /* x through ipm_map_data(), then killed */
	HOLD_READ,    /* killed holding the read lock */
	HOLD_WRITE,   /* killed holding the write lock, nothing written */
	HALF_CACHED,  /* x through an address taken before the lock, then killed */
	HALF_MIXED,   /* x through ipm_set_i64(), then y through ipm_map_data() */
	HALF_RANGE,   /* x and the note through ipm_write_range(), then killed */
};

/* A child that does how (writing value v) and is killed; returns its pid. */
static pid_t killed_child(enum how how, int64_t v)
{
	int up[2], status;
	pid_t pid;
	char c;

	assert_int_equal(pipe(up), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipm_map *m = ipm_map_new(fx->u.s);
		int rc;

		char *p = NULL;
		void *q;

		close(up[0]);
		if (!m || ipm_map_open(m, "Pair", "", IPM_EDITOR, &fx->u.opts) < 0)
			_exit(91);
		if (how == HALF_CACHED)
			p = ipm_map_data(m); /* kept, as the demo editor keeps it */
		rc = how == HOLD_READ ? ipm_lock_read(m, -1) : ipm_lock_write(m, -1);
		if (rc < 0)
			_exit(92);
		if ((how == HALF_LIBRARY || how == HALF_MIXED) &&
		    (ipm_set_i64(m, &fx->x, v) < 0 || ipm_set_str(m, &fx->note, "half") < 0))
			_exit(93);
		if (how == HALF_RAW)
			memcpy((char *)ipm_map_data(m) + X_OFF, &v, 8);
		if (how == HALF_CACHED)
			memcpy(p + X_OFF, &v, 8);
		if (how == HALF_MIXED)
			memcpy((char *)ipm_map_data(m) + Y_OFF, &v, 8);
		if (how == HALF_RANGE) {
			if (ipm_write_range(m, X_OFF, 8, &q) < 0)
				_exit(93);
			memcpy(q, &v, 8);
			if (ipm_write_range(m, Y_OFF, 8, &q) < 0)
				_exit(93);
			memcpy(q, &v, 8);
		}
		unit_put(up[1], "L", 1);
		for (;;)
			pause();
	}
	close(up[1]);
	unit_get(up[0], &c, 1);
	assert_int_equal(c, 'L');
	close(up[0]);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	return pid;
}

/* The state a fresh process finds: it takes the write lock, reads the
 * pair and the report, and sends them up. */
struct fresh {
	int64_t x, y;	       /* the pair it read */
	struct ipm_recovery r; /* what its handle reports */
};

static struct fresh fresh_process(void)
{
	struct fresh out;
	int up[2];
	pid_t pid;
	int status;

	assert_int_equal(pipe(up), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipm_map *m = ipm_map_new(fx->u.s);

		memset(&out, 0, sizeof(out)); /* padding too: it goes down a pipe */
		if (!m || ipm_map_open(m, "Pair", "", IPM_EDITOR, &fx->u.opts) < 0 ||
		    ipm_lock_write(m, -1) < 0 || ipm_get_i64(m, &fx->x, &out.x) < 0 ||
		    ipm_get_i64(m, &fx->y, &out.y) < 0 || ipm_map_recovery(m, &out.r) < 0 ||
		    ipm_unlock(m) < 0)
			_exit(91);
		unit_put(up[1], &out, sizeof(out));
		ipm_map_free(m);
		child_drop_parents();
		_exit(0);
	}
	close(up[1]);
	unit_get(up[0], &out, sizeof(out));
	close(up[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return out;
}

/* The case: a writer killed between the two halves of an update.
 * A reader sees the last complete state at once; a fresh process's write
 * lock restores it in the file and says so. */
static void killed_writer_undone(void **state)
{
	struct fix *f = *state;
	struct ipm_recovery r;
	struct fresh fr;
	ipm_map *rd = parents[0] = open_as(IPM_READER);
	pid_t dead;
	int64_t raw;
	int fd;

	write_pair(f->u.m, 1);
	dead = killed_child(HALF_LIBRARY, 2);

	/* The file is half written, as the child left it. */
	fd = open(ipm_map_path(f->u.m), O_RDONLY);
	assert_int_equal(pread(fd, &raw, 8, X_OFF), 8);
	close(fd);
	assert_int_equal(raw, 2);

	/* A reader cannot write: it reads the saved copy, raw pointer too. */
	assert_int_equal(ipm_lock_read(rd, -1), 0);
	expect_pair(rd, 1);
	memcpy(&raw, (char *)ipm_map_data(rd) + X_OFF, 8);
	assert_int_equal(raw, 1);
	assert_int_equal(ipm_map_recovery(rd, &r), 0);
	assert_int_equal(r.pending, 1);
	assert_int_equal(r.reading_saved, 1);
	assert_int_equal(r.count, 0);
	assert_int_equal(ipm_unlock(rd), 0);
	assert_int_equal(ipm_map_recovery(rd, &r), 0);
	assert_int_equal(r.reading_saved, 0);

	/* A fresh process's write lock undoes it, and reports it. */
	fr = fresh_process();
	assert_int_equal(fr.x, 1);
	assert_int_equal(fr.y, 1);
	assert_int_equal(fr.r.count, 1);
	assert_int_equal(fr.r.undone, 1);
	assert_int_equal(fr.r.last_pid, dead);
	assert_true(fr.r.last_time > 1e9);
	assert_int_equal(fr.r.pending, 0);
	expect_file(1);

	/* Everyone sees the report; nothing is undone twice. */
	expect_pair(f->u.m, 1);
	assert_int_equal(ipm_map_recovery(f->u.m, &r), 0);
	assert_int_equal(r.count, 1);
	assert_int_equal(r.undone, 0);
	assert_int_equal(r.last_pid, dead);
	write_pair(f->u.m, 3);
	expect_pair(rd, 3);
	assert_int_equal(ipm_map_recovery(rd, &r), 0);
	assert_int_equal(r.count, 1);
	ipm_map_free(rd);
	parents[0] = NULL;
}

/* Writes through the raw pointer are undone the same way, by the next
 * writer in this process. */
static void killed_raw_writer_undone(void **state)
{
	struct fix *f = *state;
	struct ipm_recovery r;

	write_pair(f->u.m, 7);
	killed_child(HALF_RAW, 8);
	assert_int_equal(ipm_lock_write(f->u.m, 0), 0);
	expect_pair(f->u.m, 7);
	assert_int_equal(ipm_map_recovery(f->u.m, &r), 0);
	assert_int_equal(r.undone, 1);
	assert_int_equal(r.pending, 0);
	assert_int_equal(ipm_unlock(f->u.m), 0);
	expect_file(7);
}

/* An editor that takes the read lock alone restores the file itself. */
static void editor_reader_restores(void **state)
{
	struct fix *f = *state;
	struct ipm_recovery r;
	ipm_map *ed = open_as(IPM_EDITOR);
	uint64_t before, after;

	write_pair(f->u.m, 4);
	assert_int_equal(ipm_map_changes(f->u.m, &before), 0);
	killed_child(HALF_LIBRARY, 5);
	assert_int_equal(ipm_lock_read(ed, -1), 0);
	assert_int_equal(ipm_map_recovery(ed, &r), 0);
	assert_int_equal(r.undone, 1);
	assert_int_equal(r.pending, 0);
	assert_int_equal(r.reading_saved, 0);
	expect_pair(ed, 4);
	assert_int_equal(ipm_unlock(ed), 0);
	expect_file(4);
	/* Restoring is a change: waiters wake. */
	assert_int_equal(ipm_map_changes(f->u.m, &after), 0);
	assert_true(after != before);
	ipm_map_free(ed);
}

/* Two readers: neither can take the write lock in place, so both read the
 * saved copy; the next writer restores. */
static void readers_share_the_copy(void **state)
{
	struct fix *f = *state;
	struct ipm_recovery r;
	ipm_map *a = open_as(IPM_EDITOR), *b = open_as(IPM_READER);

	write_pair(f->u.m, 10);
	killed_child(HALF_LIBRARY, 11);
	assert_int_equal(ipm_lock_read(b, -1), 0); /* reader first: saved copy */
	assert_int_equal(ipm_lock_read(a, -1), 0); /* b reads too: cannot upgrade */
	expect_pair(a, 10);
	expect_pair(b, 10);
	assert_int_equal(ipm_map_recovery(a, &r), 0);
	assert_int_equal(r.pending, 1);
	assert_int_equal(r.reading_saved, 1);
	/* A failed try to write leaves the reader on the saved copy. */
	assert_int_equal(ipm_lock_write(a, 0), -EAGAIN);
	assert_int_equal(ipm_lock_held(a), 1);
	expect_pair(a, 10);
	assert_int_equal(ipm_unlock(b), 0);
	/* Read to write in place: the section begins by restoring. */
	assert_int_equal(ipm_lock_write(a, 0), 0);
	assert_int_equal(ipm_map_recovery(a, &r), 0);
	assert_int_equal(r.undone, 1);
	assert_int_equal(r.reading_saved, 0);
	expect_pair(a, 10);
	assert_int_equal(ipm_unlock(a), 0);
	expect_file(10);
	ipm_map_free(a);
	ipm_map_free(b);
}

/* A manager that opens a kept file undoes the section too. */
static void manager_open_restores(void **state)
{
	struct fix *f = *state;
	struct ipm_recovery r;
	ipm_map *m;

	write_pair(f->u.m, 20);
	ipm_map_close(f->u.m);
	killed_child(HALF_LIBRARY, 21);
	m = open_as(IPM_MANAGER);
	assert_int_equal(ipm_map_recovery(m, &r), 0);
	assert_int_equal(r.undone, 1);
	assert_int_equal(r.count, 1);
	expect_file(20);
	ipm_map_free(m);
	/* The fixture's handle, for teardown. */
	assert_int_equal(ipm_map_open(f->u.m, "Pair", "", IPM_MANAGER, &f->u.opts), 0);
	expect_pair(f->u.m, 20);
}

/* Sections that end normally, by unlock, by going down to the read lock,
 * or by close, leave nothing to undo. */
static void clean_sections(void **state)
{
	struct fix *f = *state;
	struct ipm_recovery r;
	ipm_map *b = open_as(IPM_EDITOR);

	write_pair(f->u.m, 30);
	assert_int_equal(ipm_lock_write(b, -1), 0);
	assert_int_equal(ipm_set_i64(b, &fx->x, 31), 0);
	assert_int_equal(ipm_set_i64(b, &fx->y, 31), 0);
	assert_int_equal(ipm_lock_read(b, -1), 0); /* write to read */
	assert_int_equal(ipm_unlock(b), 0);
	assert_int_equal(ipm_lock_write(b, -1), 0);
	assert_int_equal(ipm_set_i64(b, &fx->x, 32), 0);
	assert_int_equal(ipm_set_i64(b, &fx->y, 32), 0);
	ipm_map_close(b); /* closing under the write lock */
	assert_int_equal(ipm_lock_write(f->u.m, 0), 0);
	assert_int_equal(ipm_get_i64(f->u.m, &fx->x, &(int64_t){0}), 0);
	assert_int_equal(ipm_map_recovery(f->u.m, &r), 0);
	assert_int_equal(r.count, 0);
	assert_int_equal(r.undone, 0);
	assert_int_equal(ipm_unlock(f->u.m), 0);
	expect_file(32);
	/* The failed call of a section changes nothing either. */
	assert_int_equal(ipm_set_i64(f->u.m, &fx->x, 1LL << 40), 0);
	assert_int_equal(ipm_set_i64(f->u.m, &fx->y, 1LL << 40), 0);
	expect_file(1LL << 40);
	ipm_map_free(b);
}

/* The proof: 100 holders killed with SIGKILL, holding the read
 * lock, the write lock, or half an update, never block anyone, and no
 * half update survives them. */
static void killed_holders_never_block(void **state)
{
	struct fix *f = *state;
	int64_t v = 100;
	int i;

	write_pair(f->u.m, v);
	for (i = 0; i < 100; i++) {
		static const enum how hows[] = {HOLD_READ,   HOLD_WRITE, HALF_RAW,  HALF_LIBRARY,
						HALF_CACHED, HALF_MIXED, HALF_RANGE};
		enum how how = hows[i % (sizeof(hows) / sizeof(hows[0]))];

		killed_child(how, v + 1);
		/* Try once: the dead holder's lock must be gone already. */
		if (ipm_lock_write(f->u.m, 0) != 0)
			fail_msg("round %d: lock still held after its holder died: %s", i,
				 ipm_map_errmsg(f->u.m));
		expect_pair(f->u.m, v);
		assert_int_equal(ipm_unlock(f->u.m), 0);
		if (ipm_lock_read(f->u.m, 0) != 0)
			fail_msg("round %d: read lock refused", i);
		assert_int_equal(ipm_unlock(f->u.m), 0);
		v++;
		write_pair(f->u.m, v);
	}
	expect_file(v);
}

/* Raw writers that declare nothing are undone: an address kept from before
 * the lock, and one asked for in the middle of a section whose declared
 * writes did not cover the raw one; and so are declared ranges. */
static void raw_and_declared_writers_undone(void **state)
{
	static const enum how hows[] = {HALF_CACHED, HALF_MIXED, HALF_RANGE};
	struct fix *f = *state;
	ipm_map *rd = parents[0] = open_as(IPM_READER);
	int64_t v = 40;

	for (size_t i = 0; i < sizeof(hows) / sizeof(hows[0]); i++, v += 2) {
		write_pair(f->u.m, v);
		killed_child(hows[i], v + 1);
		assert_int_equal(ipm_lock_read(rd, -1), 0); /* the saved state */
		expect_pair(rd, v);
		assert_int_equal(ipm_unlock(rd), 0);
		expect_pair(f->u.m, v); /* restored by the write lock it takes */
		expect_file(v);
	}
	ipm_map_free(rd);
	parents[0] = NULL;
}

static void write_range_refusals(void **state)
{
	struct fix *f = *state;
	ipm_map *rd = open_as(IPM_READER);
	void *p = NULL;

	assert_int_equal(ipm_write_range(f->u.m, X_OFF, 8, &p), -EPERM);
	assert_contains(ipm_map_errmsg(f->u.m), "does not hold the write lock");
	assert_int_equal(ipm_lock_read(f->u.m, -1), 0);
	assert_int_equal(ipm_write_range(f->u.m, X_OFF, 8, &p), -EPERM);
	assert_int_equal(ipm_lock_write(f->u.m, -1), 0);
	assert_int_equal(ipm_write_range(f->u.m, PAIR_SIZE - 4, 8, &p), -EINVAL);
	assert_contains(ipm_map_errmsg(f->u.m), "not inside Pair (264 bytes)");
	assert_int_equal(ipm_write_range(f->u.m, SIZE_MAX, 2, &p), -EINVAL);
	assert_null(p);
	assert_int_equal(ipm_write_range(f->u.m, PAIR_SIZE, 0, NULL), 0);
	assert_int_equal(ipm_write_range(f->u.m, Y_OFF, 8, &p), 0);
	assert_ptr_equal(p, (const char *)ipm_map_view(f->u.m) + Y_OFF);
	assert_int_equal(ipm_unlock(f->u.m), 0);
	assert_int_equal(ipm_write_range(rd, X_OFF, 8, &p), -EACCES);
	assert_int_equal(ipm_write_range(NULL, 0, 0, NULL), -EBADF);
	ipm_map_free(rd);
}

/* ---- Records of another version ---- */

#define REC 4096 /* the undo record's offset in the lock file */

/* Version 1's check of a record, as it computed it. */
static uint32_t v1_check(uint64_t magic, uint64_t size, int32_t pid)
{
	uint64_t x = magic ^ (size * 0x9e3779b97f4a7c15u) ^
		     ((uint64_t)(uint32_t)pid * 0xc2b2ae3d27d4eb4fu);

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9u;
	x ^= x >> 32;
	return (uint32_t)x | 1;
}

static int lock_file(void)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "%s/Pair_.lockfile", fx->u.dir);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	return fd;
}

/*
 * What a version 1 writer leaves when it dies: a whole copy of the file in
 * the record (magic: what it finds there, or magic if not NULL), state 1,
 * its check, and x half written in the file. Returns the saved bytes.
 */
static void v1_writer_died(const char *magic, int32_t pid, int64_t half,
			   unsigned char saved[PAIR_SIZE])
{
	int fd = lock_file(), dfd = open(ipm_map_path(fx->u.m), O_RDWR);
	uint64_t mg, size = PAIR_SIZE, zero = 0;
	uint32_t state = 1, check;

	assert_true(dfd >= 0);
	if (magic)
		assert_int_equal(pwrite(fd, magic, 8, REC), 8);
	assert_int_equal(pread(fd, &mg, 8, REC), 8);
	/* Its save: close what is open (it cannot read it), then the copy. */
	assert_int_equal(pwrite(fd, &zero, 4, REC + 8), 4);
	assert_int_equal(pread(dfd, saved, PAIR_SIZE, 0), PAIR_SIZE);
	assert_int_equal(pwrite(fd, saved, PAIR_SIZE, REC + 64), PAIR_SIZE);
	assert_int_equal(pwrite(fd, &size, 8, REC + 16), 8);
	assert_int_equal(pwrite(fd, &pid, 4, REC + 12), 4);
	check = v1_check(mg, size, pid);
	assert_int_equal(pwrite(fd, &check, 4, REC + 44), 4);
	assert_int_equal(pwrite(fd, &state, 4, REC + 8), 4);
	assert_int_equal(pwrite(dfd, &half, 8, X_OFF), 8);
	close(dfd);
	close(fd);
}

static void expect_magic(const char *want)
{
	int fd = lock_file();
	char got[9] = "";

	assert_int_equal(pread(fd, got, 8, REC), 8);
	close(fd);
	assert_string_equal(got, want);
}

/* An instance last written by a version 1 library whose writer died: its
 * section is undone as version 1 did (a reader reads the copy, a writer
 * restores it), and the record becomes a version 2 record. */
static void version1_record_undone(void **state)
{
	struct fix *f = *state;
	unsigned char saved[PAIR_SIZE], now[PAIR_SIZE];
	ipm_map *rd = open_as(IPM_READER);
	struct ipm_recovery r;

	write_pair(f->u.m, 50);
	expect_magic("IPMUNDO2");
	v1_writer_died("IPMUNDO1", 4242, 51, saved);
	assert_int_equal(ipm_lock_read(rd, -1), 0);
	expect_pair(rd, 50);
	assert_int_equal(ipm_map_recovery(rd, &r), 0);
	assert_int_equal(r.pending, 1);
	assert_int_equal(ipm_unlock(rd), 0);
	assert_int_equal(ipm_lock_write(f->u.m, -1), 0);
	assert_int_equal(ipm_map_recovery(f->u.m, &r), 0);
	assert_int_equal(r.undone, 1);
	assert_int_equal(r.last_pid, 4242);
	assert_int_equal(ipm_map_copy(f->u.m, now, sizeof(now)), 0);
	assert_memory_equal(now, saved, PAIR_SIZE);
	assert_int_equal(ipm_unlock(f->u.m), 0);
	expect_file(50);
	expect_magic("IPMUNDO2");
	ipm_map_free(rd);
}

/* A version 1 writer that attached before this library took the record over
 * writes its sections into it. Ours, killed, is then lost to it (it closes
 * what it cannot read: a loss, never a misread), and its own dead section
 * is undone to exactly what it saved. */
static void version1_writer_in_version2_record(void **state)
{
	struct fix *f = *state;
	unsigned char saved[PAIR_SIZE], now[PAIR_SIZE];
	struct ipm_recovery r;
	int64_t x, y;

	write_pair(f->u.m, 60);
	killed_child(HALF_RANGE, 61); /* our section open: x, y = 61 */
	v1_writer_died(NULL, 4343, 62, saved);
	memcpy(&x, saved + X_OFF, 8);
	memcpy(&y, saved + Y_OFF, 8);
	assert_int_equal(x, 61);
	assert_int_equal(y, 61);
	assert_int_equal(ipm_lock_write(f->u.m, -1), 0);
	assert_int_equal(ipm_map_recovery(f->u.m, &r), 0);
	assert_int_equal(r.last_pid, 4343);
	assert_int_equal(ipm_map_copy(f->u.m, now, sizeof(now)), 0);
	assert_memory_equal(now, saved, PAIR_SIZE);
	assert_int_equal(ipm_unlock(f->u.m), 0);
}

/* A later version's record (another magic) is refused: left untouched, and
 * the handle goes on without crash recovery, saying why. */
static void later_version_refused(void **state)
{
	struct fix *f = *state;
	unsigned char before[8192], after[8192];
	char path[96], want[300];
	ipm_map *m;
	int fd;

	ipm_map_close(f->u.m);
	fd = lock_file();
	assert_int_equal(pwrite(fd, "IPMUNDO3", 8, REC), 8);
	memset(before, 0x5a, sizeof(before) - REC);
	assert_int_equal(pwrite(fd, before, 4096 - 8, REC + 8), 4096 - 8);
	assert_int_equal(pread(fd, before, sizeof(before), 0), sizeof(before));
	m = open_as(IPM_EDITOR);
	snprintf(path, sizeof(path), "%s/Pair_.lockfile", f->u.dir);
	snprintf(want, sizeof(want),
		 "lock file %s: undo record magic 'IPMUNDO3', expected 'IPMUNDO2': ignored", path);
	assert_string_equal(ipm_map_errmsg(m), want);
	write_pair(m, 70);
	expect_pair(m, 70);
	ipm_map_free(m);
	assert_int_equal(pread(fd, after, sizeof(after), 0), sizeof(after));
	close(fd);
	/* The control page moved (its change counter); the record did not. */
	assert_memory_equal(after + REC, before + REC, sizeof(before) - REC);
	assert_int_equal(ipm_map_open(f->u.m, "Pair", "", IPM_MANAGER, &f->u.opts), 0);
}

/* What a section costs on top of a bare write lock and unlock. */
static void cost_of_a_section(void **state)
{
	struct fix *f = *state;
	struct timespec t0, t1;
	int i, n = 200000;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		ipm_lock_write(f->u.m, 0);
		ipm_unlock(f->u.m);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("write lock + unlock with undo record (%d bytes): %.0f ns\n", PAIR_SIZE,
		      ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
			  n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(killed_writer_undone, setup, teardown),
	    cmocka_unit_test_setup_teardown(killed_raw_writer_undone, setup, teardown),
	    cmocka_unit_test_setup_teardown(editor_reader_restores, setup, teardown),
	    cmocka_unit_test_setup_teardown(readers_share_the_copy, setup, teardown),
	    cmocka_unit_test_setup_teardown(manager_open_restores, setup, teardown),
	    cmocka_unit_test_setup_teardown(clean_sections, setup, teardown),
	    cmocka_unit_test_setup_teardown(killed_holders_never_block, setup, teardown),
	    cmocka_unit_test_setup_teardown(raw_and_declared_writers_undone, setup, teardown),
	    cmocka_unit_test_setup_teardown(write_range_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(version1_record_undone, setup, teardown),
	    cmocka_unit_test_setup_teardown(version1_writer_in_version2_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(later_version_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(cost_of_a_section, setup, teardown),
	};

	/* A hung lock must fail the run, not hold it up forever. */
	alarm(60);
	return cmocka_run_group_tests_name("undo", tests, NULL, NULL);
}
