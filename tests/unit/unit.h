/*
 * unit.h - what every cmocka unit test includes. Tests run from the top of
 * the repository, so fixtures are at FIXTURE("name.ini").
 */
#ifndef UNIT_H
#define UNIT_H

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "ipmmap.h"

/* The demo schema (conf/demo.ini) as text, for tests that load it from a
 * string. */
#define UNIT_DEMO_TEXT                                                                             \
	"[Point2D]\nx = double\ny = double\n\n"                                                 \
	"[MultiPointsData]\nmulti_data_int = int32\nmulti_points = Point2D[24]\n\n"             \
	"[DemoMmapStructure]\nheader = MmapStructureHeader\ndata_int = int32\n"                  \
	"data_string = char[256]\ndata_xy = Point2D\nmulti_pts = MultiPointsData\n"

#define FIXTURE(name) ("tests/unit/fixtures/" name)

/* Asserts that haystack contains needle, printing both when it does not. */
#define assert_contains(haystack, needle)                                                  \
	do {                                                                               \
		const char *h_ = (haystack), *n_ = (needle);                               \
		if (!h_ || !strstr(h_, n_))                                                \
			fail_msg("\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)", n_); \
	} while (0)

static inline int unit_rm_one(const char *path, const struct stat *st, int flag,
			      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes dir and everything under it (links themselves, not their targets). */
static inline void unit_rm_tree(const char *dir)
{
	nftw(dir, unit_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Makes a fresh directory /tmp/ipm_<what>_XXXXXX into dir: 0 or -1. */
static inline int unit_mkdtemp(char *dir, size_t len, const char *what)
{
	if ((size_t)snprintf(dir, len, "/tmp/ipm_%s_XXXXXX", what) >= len)
		return -1;
	return mkdtemp(dir) ? 0 : -1;
}

/* A new schema loaded from text (named name in messages), or NULL after
 * printing why. */
static inline ipm_schema *unit_schema(const char *text, const char *name)
{
	ipm_schema *s = ipm_schema_new();

	if (s && ipm_schema_load_string(s, text, name) == 0)
		return s;
	print_error("%s\n", s ? ipm_schema_errmsg(s) : "out of memory");
	ipm_schema_free(s);
	return NULL;
}

/* A new handle opened on name_tag, or NULL after printing why. */
static inline ipm_map *unit_open(const ipm_schema *s, const char *name, const char *tag,
				 enum ipm_role role, const struct ipm_open_opts *o)
{
	ipm_map *m = ipm_map_new(s);

	if (m && ipm_map_open(m, name, tag, role, o) == 0)
		return m;
	print_error("cannot open %s_%s: %s\n", name, tag ? tag : "",
		    m ? ipm_map_errmsg(m) : "out of memory");
	ipm_map_free(m);
	return NULL;
}

/* CLOCK_MONOTONIC in nanoseconds. */
static inline int64_t unit_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Valgrind 3.19 does not know that fcntl(F_OFD_SETLKW) may block: it runs it
 * holding its one big lock with signals blocked, so in a program under
 * valgrind no other thread runs while one waits and no signal ends the wait.
 * Tests leave out the checks that need either there.
 */
static inline int unit_under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "vgpreload");
}

/* Pipes between a test and its children: whole messages or nothing. A child
 * that cannot write exits 90; a parent that reads short fails the test. */
static inline void unit_put(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		_exit(90);
}

static inline void unit_get(int fd, void *buf, size_t len)
{
	if (read(fd, buf, len) != (ssize_t)len)
		fail_msg("short read from a pipe");
}

/* One instance of a schema's structure in a temporary directory of its own,
 * opened as manager: the fixture of the tests that fork, lock and wait.
 * A test's own fixture struct starts with one (see unit_inst_setup()). */
struct unit_inst {
	ipm_schema *s;		   /* the schema */
	char dir[64];		   /* the test's temporary directory */
	struct ipm_open_opts opts; /* both directories in dir */
	ipm_map *m;		   /* the parent's manager handle */
	const char *strct;	   /* the structure's name */
};

/* Loads text, makes the directory (named after what) and opens structure
 * strct there with mode (0: the library's default). 0, or -1. */
static inline int unit_inst_open(struct unit_inst *u, const char *text, const char *strct,
				 const char *what, mode_t mode)
{
	u->s = unit_schema(text, what);
	if (!u->s || unit_mkdtemp(u->dir, sizeof(u->dir), what) < 0)
		return -1;
	u->opts.mmap_dir = u->dir;
	u->opts.lock_dir = u->dir;
	u->opts.mode = mode;
	u->strct = strct;
	u->m = unit_open(u->s, strct, "", IPM_MANAGER, &u->opts);
	return u->m ? 0 : -1;
}

static inline void unit_inst_close(struct unit_inst *u)
{
	ipm_map_free(u->m);
	unit_rm_tree(u->dir);
	ipm_schema_free(u->s);
}

/* A cmocka setup's part: *state becomes a zeroed fixture of size bytes whose
 * first member is a struct unit_inst, opened as unit_inst_open() does. */
static inline int unit_inst_setup(void **state, size_t size, const char *text,
				  const char *strct, const char *what, mode_t mode)
{
	struct unit_inst *u = calloc(1, size);

	*state = u;
	return u ? unit_inst_open(u, text, strct, what, mode) : -1;
}

/* The matching teardown. */
static inline int unit_inst_teardown(void **state)
{
	struct unit_inst *u = *state;

	if (u)
		unit_inst_close(u);
	free(u);
	return 0;
}

/* Another handle on the fixture's instance (of tag), as role. In a test a
 * failure fails it; in a child (child != 0) the child exits 91. */
static inline ipm_map *unit_inst_handle_tag(const struct unit_inst *u, enum ipm_role role,
					    const char *tag, int child)
{
	ipm_map *m = ipm_map_new(u->s);

	if (m && ipm_map_open(m, u->strct, tag, role, &u->opts) == 0)
		return m;
	if (child)
		_exit(91);
	fail_msg("cannot open a handle: %s", m ? ipm_map_errmsg(m) : "no memory");
	return NULL;
}

static inline ipm_map *unit_inst_handle(const struct unit_inst *u, enum ipm_role role,
					int child)
{
	return unit_inst_handle_tag(u, role, "", child);
}

#endif
