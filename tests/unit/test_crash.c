/*
 * test_crash.c - writers killed with SIGKILL at random points of their
 * write sections, in structures of 1 KiB to 16 MiB: the next reader and the
 * next writer see the exact last whole update, every byte of it.
 *
 * A child writes generation after generation, each one write section of a
 * few operations that follow from the generation's number alone (plan()):
 * cells one by one through ipm_set_bytes(), runs of neighbouring cells (the
 * undo log's last range grows), more cells than a section keeps apart (it
 * then saves all), a range through ipm_write_range() written in two halves,
 * cells through ipm_values_apply(), the note through ipm_write_text(); or,
 * one generation in six, ranges written through the raw address of a second
 * handle that declares nothing (ipm_map_data(): the whole copy). Each ends
 * with gen = g and time_stamp = g. The parent kills the child after a
 * random delay, so the kill lands between ranges, in a copy, in a
 * declaration, after the last range or between sections, then compares the
 * structure with its own model of generation gen (it replays the plans):
 * as a reader reads it (the saved state, when the child died in a section)
 * and after a writer's lock (restored in the file).
 *
 * make check runs 1 KiB, 64 KiB and 1 MiB for a few seconds; make soak sets
 * IPM_CRASH_LONG=1: hundreds of kills each, and 16 MiB too.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

#define GEN_OFF 16  /* uint64 gen */
#define STAMP_OFF 8 /* double header.time_stamp */
#define NOTE_OFF 24 /* char note[24] */
#define NOTE_LEN 24
#define CELLS_OFF 48 /* Cell cells[N], a Cell being 40 bytes: cells straddle lines */
#define CELL 40
#define MAXW 128 /* writes of one operation */
#define MAXOPS 6 /* operations of one generation */

enum kind { CELLS, RUN, SCATTER, RANGE, VALUES, TEXT, RAW };

struct op {
	enum kind kind;
	size_t n; /* writes */
	size_t off[MAXW], len[MAXW];
	uint64_t seed[MAXW]; /* of each write's bytes */
};

struct gen_plan {
	bool raw; /* through the raw address of the second handle */
	size_t nops;
	struct op ops[MAXOPS];
};

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15u;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

/* The bytes of a write: from its seed alone. */
static void pattern(unsigned char *p, size_t len, uint64_t seed)
{
	uint64_t x = mix(seed);

	for (size_t i = 0; i < len; i++) {
		if (i % 8 == 0)
			x = mix(x);
		p[i] = (unsigned char)(x >> (8 * (i % 8)));
	}
}

/* The note of generation g, zero filled as a string field is. */
static void note_of(uint64_t g, char note[NOTE_LEN])
{
	memset(note, 0, NOTE_LEN);
	snprintf(note, NOTE_LEN, "g%" PRIu64, g);
}

/* Generation g's section, for a structure of ncells cells. */
static void plan(uint64_t g, size_t ncells, struct gen_plan *p)
{
	uint64_t r = mix(g * 7919 + 17);
	size_t range_max = ncells * CELL < 256 * 1024 ? ncells * CELL : 256 * 1024;

	p->raw = r % 6 == 0;
	p->nops = 1 + (r >> 8) % MAXOPS;
	for (size_t i = 0; i < p->nops; i++) {
		struct op *o = &p->ops[i];
		uint64_t s = mix(r ^ (i * 0x51ed27u));
		size_t first, k;

		o->kind = p->raw ? RAW : (enum kind)(s % 6);
		o->n = 0;
		switch (o->kind) {
		case CELLS:
		case VALUES:
		case SCATTER:
			k = o->kind == SCATTER ? 80 : 1 + (s >> 8) % 4;
			for (size_t j = 0; j < k; j++) {
				s = mix(s);
				o->off[o->n] = CELLS_OFF + (s % ncells) * CELL;
				o->len[o->n++] = CELL;
			}
			break;
		case RUN:
			k = 1 + (s >> 8) % 100;
			first = (s >> 16) % ncells;
			for (size_t j = 0; j < k && first + j < ncells; j++) {
				o->off[o->n] = CELLS_OFF + (first + j) * CELL;
				o->len[o->n++] = CELL;
			}
			break;
		case RANGE:
		case RAW:
			k = o->kind == RAW ? 1 + (s >> 8) % 3 : 1;
			for (size_t j = 0; j < k; j++) {
				s = mix(s);
				o->len[o->n] = 1 + s % range_max;
				o->off[o->n] =
				    CELLS_OFF + (s >> 24) % (ncells * CELL - o->len[o->n] + 1);
				o->n++;
			}
			break;
		case TEXT:
			o->off[o->n] = NOTE_OFF;
			o->len[o->n++] = NOTE_LEN;
			break;
		}
		for (size_t j = 0; j < o->n; j++)
			o->seed[j] = mix(g ^ (i << 40) ^ ((uint64_t)j << 48));
	}
}

/* The model: generation g applied to the bytes at d. */
static void model_apply(unsigned char *d, uint64_t g, size_t ncells, struct gen_plan *p)
{
	double stamp = (double)g;

	plan(g, ncells, p);
	for (size_t i = 0; i < p->nops; i++) {
		const struct op *o = &p->ops[i];

		for (size_t j = 0; j < o->n; j++) {
			if (o->kind == TEXT)
				note_of(g, (char *)d + NOTE_OFF);
			else
				pattern(d + o->off[j], o->len[j], o->seed[j]);
		}
	}
	memcpy(d + GEN_OFF, &g, 8);
	memcpy(d + STAMP_OFF, &stamp, 8);
}

/* ---- The child: generation after generation, until killed ---- */

struct writer {
	ipm_map *m, *raw;	/* declaring handle; one that gave out its address */
	unsigned char *base;	/* the raw handle's address */
	struct ipm_field cell0; /* cells[0]: shifted for the others */
	struct ipm_field gen, stamp;
	unsigned char *scratch;	   /* ipm_values' bytes, and a write's */
	struct ipm_field vf[MAXW]; /* ipm_values' fields */
};

static struct ipm_field cell(const struct writer *w, size_t off)
{
	struct ipm_field f = w->cell0;

	f.offset = off;
	return f;
}

#define TRY(x)                                                                                     \
	do {                                                                                       \
		if ((x) < 0)                                                                       \
			_exit(93);                                                                 \
	} while (0)

static void child_op(struct writer *w, ipm_map *m, uint64_t g, const struct op *o)
{
	struct ipm_values v = {.bytes = w->scratch, .fields = w->vf, .cap = MAXW};
	char note[NOTE_LEN + 1];
	unsigned char *p;
	void *to;

	for (size_t j = 0; j < o->n; j++) {
		size_t off = o->off[j], len = o->len[j];
		struct ipm_field f = cell(w, off);

		switch (o->kind) {
		case CELLS:
		case RUN:
		case SCATTER:
			pattern(w->scratch, len, o->seed[j]);
			TRY(ipm_set_bytes(m, &f, w->scratch, len));
			break;
		case VALUES:
			pattern(w->scratch + off, len, o->seed[j]);
			w->vf[v.n++] = f;
			break;
		case RANGE: /* declared, then written in two halves */
			TRY(ipm_write_range(m, off, len, &to));
			p = to;
			pattern(w->scratch, len, o->seed[j]);
			memcpy(p, w->scratch, len / 2);
			memcpy(p + len / 2, w->scratch + len / 2, len - len / 2);
			break;
		case RAW: /* nothing declared */
			pattern(w->base + off, len, o->seed[j]);
			break;
		case TEXT:
			note_of(g, note);
			TRY(ipm_write_text(m, "note", note));
			break;
		}
	}
	if (o->kind == VALUES)
		TRY(ipm_values_apply(m, &v)); /* stamps time_stamp: set again below */
}

static void child_run(const struct unit_inst *u, size_t ncells, int up)
{
	struct writer w;
	struct gen_plan p;
	uint64_t g;

	w.m = unit_inst_handle(u, IPM_EDITOR, 1);
	w.raw = unit_inst_handle(u, IPM_EDITOR, 1);
	w.base = ipm_map_data(w.raw); /* before any lock: kept for good */
	w.scratch = calloc(1, ipm_map_size(w.m));
	if (!w.scratch || ipm_map_resolve(w.m, "cells[0]", &w.cell0) < 0 ||
	    ipm_map_resolve(w.m, "gen", &w.gen) < 0 ||
	    ipm_map_resolve(w.m, "header.time_stamp", &w.stamp) < 0)
		_exit(92);
	TRY(ipm_lock_read(w.m, -1));
	memcpy(&g, (const char *)ipm_map_view(w.m) + GEN_OFF, 8);
	TRY(ipm_unlock(w.m));
	unit_put(up, "R", 1);
	for (;;) {
		ipm_map *m;

		plan(++g, ncells, &p);
		m = p.raw ? w.raw : w.m;
		TRY(ipm_lock_write(m, -1));
		for (size_t i = 0; i < p.nops; i++)
			child_op(&w, m, g, &p.ops[i]);
		TRY(ipm_set_u64(m, &w.gen, g));
		TRY(ipm_set_f64(m, &w.stamp, (double)g));
		TRY(ipm_unlock(m));
	}
}

/* ---- The parent ---- */

struct tally {
	unsigned kills, in_section; /* kills; of them, inside a section */
	uint64_t gens;		    /* generations completed */
};

/* The instance as h reads it equals the model at its generation: the model
 * is brought there first (it never goes back). */
static void check_bytes(ipm_map *h, unsigned char *model, uint64_t *model_gen, size_t ncells,
			unsigned char *buf, const char *who, struct gen_plan *p)
{
	size_t size = ipm_map_size(h);
	uint64_t g;

	assert_int_equal(ipm_map_copy(h, buf, size), 0);
	memcpy(&g, buf + GEN_OFF, 8);
	if (g < *model_gen)
		fail_msg("%s: generation %" PRIu64 " after %" PRIu64 ": an update was lost", who, g,
			 *model_gen);
	while (*model_gen < g)
		model_apply(model, ++*model_gen, ncells, p);
	for (size_t i = 0; i < size; i++)
		if (buf[i] != model[i])
			fail_msg("%s: generation %" PRIu64 " of %zu bytes: byte %zu is 0x%02x, "
				 "expected 0x%02x",
				 who, g, size, i, buf[i], model[i]);
}

static void crash_size(size_t ncells, unsigned kills, int delay_us)
{
	char text[200];
	struct unit_inst u = {0};
	struct tally t = {0};
	struct gen_plan *p = malloc(sizeof(*p));
	unsigned char *model, *buf;
	uint64_t model_gen = 0;
	unsigned seed = (unsigned)getpid() ^ (unsigned)ncells;
	ipm_map *rd;
	size_t size;

	snprintf(text, sizeof(text),
		 "[Cell]\nv = uint8[%d]\n\n[Crash]\nheader = MmapStructureHeader\n"
		 "gen = uint64\nnote = char[%d]\ncells = Cell[%zu]\n",
		 CELL, NOTE_LEN, ncells);
	assert_int_equal(unit_inst_open(&u, text, "Crash", "crash", 0), 0);
	size = ipm_map_size(u.m);
	assert_int_equal(size, CELLS_OFF + ncells * CELL);
	rd = unit_inst_handle(&u, IPM_READER, 0);
	model = malloc(size);
	buf = malloc(size);
	assert_non_null(p);
	assert_non_null(model);
	assert_non_null(buf);
	assert_int_equal(ipm_map_copy(u.m, model, size), 0); /* generation 0 */
	for (unsigned k = 0; k < kills; k++) {
		struct ipm_recovery r;
		int up[2], status;
		char c;
		pid_t pid;

		assert_int_equal(pipe(up), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(up[0]);
			child_run(&u, ncells, up[1]);
		}
		close(up[1]);
		unit_get(up[0], &c, 1);
		close(up[0]);
		usleep(100 + (unsigned)rand_r(&seed) % (unsigned)delay_us);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status))
			fail_msg("writer exited with status %d", WEXITSTATUS(status));
		t.kills++;
		/* A reader cannot restore: it reads the saved state. */
		assert_int_equal(ipm_lock_read(rd, -1), 0);
		assert_int_equal(ipm_map_recovery(rd, &r), 0);
		t.in_section += r.pending;
		check_bytes(rd, model, &model_gen, ncells, buf, "reader", p);
		assert_int_equal(ipm_unlock(rd), 0);
		/* A writer restores the file. */
		assert_int_equal(ipm_lock_write(u.m, -1), 0);
		check_bytes(u.m, model, &model_gen, ncells, buf, "writer", p);
		assert_int_equal(ipm_unlock(u.m), 0);
	}
	t.gens = model_gen;
	print_message("%zu bytes: %u kills, %u inside a section, %" PRIu64 " generations\n", size,
		      t.kills, t.in_section, t.gens);
	assert_true(t.gens > 0);
	ipm_map_free(rd);
	unit_inst_close(&u);
	free(model);
	free(buf);
	free(p);
}

static bool long_run(void)
{
	const char *e = getenv("IPM_CRASH_LONG");

	return e && *e && strcmp(e, "0");
}

static void crash_1k(void **state)
{
	(void)state;
	crash_size(24, long_run() ? 400 : 60, 3000); /* 1008 bytes */
}

static void crash_64k(void **state)
{
	(void)state;
	crash_size(1637, long_run() ? 300 : 40, 5000); /* 65528 bytes */
}

static void crash_1m(void **state)
{
	(void)state;
	crash_size(26213, long_run() ? 200 : 20, 20000); /* 1048568 bytes */
}

static void crash_16m(void **state)
{
	(void)state;
	if (!long_run())
		skip();
	crash_size(419429, 100, 100000); /* 16777208 bytes */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(crash_1k),
	    cmocka_unit_test(crash_64k),
	    cmocka_unit_test(crash_1m),
	    cmocka_unit_test(crash_16m),
	};

	/* A hung lock must fail the run, not hold it up forever. */
	alarm(long_run() ? 1800 : 120);
	return cmocka_run_group_tests_name("crash", tests, NULL, NULL);
}
