/*
 * undo_i.h - the undo record of crash-atomic write sections, private to
 * libipmmap: its layout in the lock file and the calls of undo.c. Included
 * by ipmmap_i.h, where struct ipm_map embeds a struct ipm_section.
 */
#ifndef IPMMAP_UNDO_I_H
#define IPMMAP_UNDO_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The undo record (undo.c): what the current write section saved of the
 * structure before changing it, and whether that section is still open. A
 * section that is open while nobody holds the write lock belonged to a
 * writer that died inside it.
 *
 * Its version is the last character of the magic, and an open section's
 * state is the version of the format it was saved in: 1, a whole copy in
 * data[] (libipmmap before range records); 2, a log in data[] of ranges of
 * IPM_UNDO_LINE-byte lines, each a struct ipm_undo_range and then the
 * lines' old bytes. Either library reads only what it knows and refuses the
 * rest (undo.c says how, and why neither misreads the other's record).
 */
#define IPM_UNDO_VERSION 2
#define IPM_UNDO_MAGIC "IPMUNDO2"    /* this version's */
#define IPM_UNDO_MAGIC_V1 "IPMUNDO1" /* version 1's: taken over at the first section */
#define IPM_UNDO_CLEAN 0   /* no write section open: the data is complete */
#define IPM_UNDO_OPEN_V1 1 /* a version 1 section is open: data[] is a whole copy */
#define IPM_UNDO_OPEN 2    /* a version 2 section is open: data[] is a log of ranges */
#define IPM_UNDO_LINE 64   /* what is saved at least: one cache line */
#define IPM_UNDO_RANGES 64 /* ranges a section keeps apart; past that it saves all */
#define IPM_UNDO_SLACK 4096 /* the record's header and range headers, past the size */

struct ipm_undo {
	uint64_t magic;            /* IPM_UNDO_MAGIC's bytes, or 0 before the first writer */
	uint32_t state;            /* IPM_UNDO_CLEAN, or which version's section is open */
	int32_t pid;               /* process whose section is (or was last) open */
	uint64_t size;             /* of the structure the section saved from */
	uint64_t count;            /* dead sections undone on this instance */
	double last_time;          /* UNIX time of the last undo; 0 if none */
	int32_t last_pid;          /* process that died inside that section */
	uint32_t check;            /* of magic, size, pid (undo.c); 0 before the first */
	uint64_t used;             /* version 2: bytes of data[] the open section's log fills */
	uint64_t file;             /* version 2: the .mmap file saved from (ipm_data_id()); 0: unknown */
	unsigned char data[];      /* the saved bytes */
};

/* One range of the log: lines [line, line + lines), then their old bytes
 * (lines * IPM_UNDO_LINE of room; the structure's last line may be short). */
struct ipm_undo_range {
	uint32_t line;             /* first line */
	uint32_t lines;            /* how many; grows while the range is the log's last */
};

/*
 * What the handle's open write section has saved (lock.c keeps it, undo.c
 * fills it): the ranges of lines, which never overlap, so that the log of
 * a section never holds more than the structure plus the range headers.
 */
struct ipm_section {
	bool raw;                  /* ipm_map_data() gave the address out: save all, always */
	bool all;                  /* this section saved every line: nothing more to save */
	uint32_t n;                /* ranges in first[] and end[] */
	uint32_t tail;             /* of them, the log's last one (may grow in place) */
	uint64_t tail_off;         /* its header's offset in the log */
	uint32_t first[IPM_UNDO_RANGES]; /* lines [first, end) of each range */
	uint32_t end[IPM_UNDO_RANGES];
};

/* ---- undo.c (run under the guard) ---- */

/* Which version's section a dead writer left open in u for size bytes (1,
 * 2), or 0 if none that this library can apply; _of(): 0 too for a section
 * that saved from another .mmap file than file (one renamed over it). */
int ipm_undo_dead(const struct ipm_undo *u, size_t size);
int ipm_undo_dead_of(const struct ipm_undo *u, size_t size, uint64_t file);

/* Puts a dead section's saved bytes over data (a copy of the structure, or
 * the structure itself); version is ipm_undo_dead()'s. */
void ipm_undo_apply(const struct ipm_undo *u, int version, void *data, size_t size);

/* The same for the n bytes at off of the structure only, which dst holds.
 * Never reads outside the record nor writes outside dst, even while the
 * record changes under it (a reader without a lock racing the next writer,
 * seqread.c, which then throws the result away). */
void ipm_undo_apply_span(const struct ipm_undo *u, int version, void *dst, size_t off, size_t n,
			 size_t size);

/* Restores a dead section of file into data and closes the record: 1 if it
 * did, 0 if there was nothing it could apply (then it is closed). */
int ipm_undo_restore(struct ipm_undo *u, void *data, size_t size, uint64_t file);

/* Restores a dead section first if there is one, then opens a section of
 * file with nothing saved yet (s forgets what it held): 1 if it restored. */
int ipm_undo_open(struct ipm_undo *u, void *data, size_t size, struct ipm_section *s,
		  uint64_t file);

/* Saves the lines of [off, off + len) of data that the open section has
 * not saved yet, or all of them once too many ranges are kept apart: 0, or
 * -ENOSPC if the log could not hold them (never: the record is sized so). */
int ipm_undo_save(struct ipm_undo *u, const void *data, size_t size, struct ipm_section *s,
		  size_t off, size_t len);

/* Saves every line not saved yet: the section needs nothing more. */
int ipm_undo_save_all(struct ipm_undo *u, const void *data, size_t size,
		      struct ipm_section *s);

/* Whether the record holds an open section of this library's version. */
static inline bool ipm_undo_is_open(const struct ipm_undo *u)
{
	return __atomic_load_n(&u->state, __ATOMIC_RELAXED) == IPM_UNDO_OPEN;
}

/* Closes the section; the data must be complete before (release order). */
void ipm_undo_close(struct ipm_undo *u);

#endif
