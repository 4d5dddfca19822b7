/*
 * test_access.c - typed, text and whole-structure access on a demo instance
 * in a temporary directory: conversions and range refusals, the locking
 * rule, reader handles, copy, clear, touch and timestamp.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

static const char kinds_ini[] = "[AllKinds]\n"
				"header = MmapStructureHeader\n"
				"i8 = int8\n"
				"u8 = uint8\n"
				"i16 = int16\n"
				"b = bool\n"
				"f = float\n"
				"u32 = uint32\n"
				"i64 = int64\n"
				"u64 = uint64\n"
				"s = char[4]\n"
				"grid = int32[2][3]\n"
				"w = c_wchar * 3\n"
				"c = c_wchar\n"
				"ld = c_longdouble\n";

#define DEMO_SIZE 688

struct fix {
	ipm_schema *s;             /* demo.ini plus AllKinds */
	char dir[64];              /* temporary directory of this test */
	struct ipm_open_opts opts; /* mmap and lock files both in dir */
	ipm_map *m;                /* manager of DemoMmapStructure_t */
	ipm_map *k;                /* manager of AllKinds_t */
};

static int setup(void **state)
{
	struct fix *x = calloc(1, sizeof(*x));

	if (!x)
		return -1;
	if (unit_mkdtemp(x->dir, sizeof(x->dir), "access") < 0)
		return -1;
	x->opts.mmap_dir = x->dir;
	x->opts.lock_dir = x->dir;
	x->s = unit_schema(kinds_ini, "kinds");
	if (!x->s || ipm_schema_load_file(x->s, "conf/demo.ini") < 0) {
		print_error("%s\n", x->s ? ipm_schema_errmsg(x->s) : "no schema");
		return -1;
	}
	x->m = unit_open(x->s, "DemoMmapStructure", "t", IPM_MANAGER, &x->opts);
	x->k = unit_open(x->s, "AllKinds", "t", IPM_MANAGER, &x->opts);
	if (!x->m || !x->k)
		return -1;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fix *x = *state;

	ipm_map_free(x->m);
	ipm_map_free(x->k);
	ipm_schema_free(x->s);
	unit_rm_tree(x->dir);
	free(x);
	return 0;
}

static struct ipm_field field(ipm_map *m, const char *path)
{
	struct ipm_field f;

	if (ipm_map_resolve(m, path, &f) < 0)
		fail_msg("%s: %s", path, ipm_map_errmsg(m));
	return f;
}

#define assert_err(m, call, code, msg)                                 \
	do {                                                           \
		assert_int_equal((call), (code));                      \
		assert_string_equal(ipm_map_errmsg(m), (msg));         \
	} while (0)

static void test_int32(void **state)
{
	struct fix *x = *state;
	ipm_map *m = x->m;
	struct ipm_field f = field(m, "data_int"), hc = field(m, "header.header_code");
	int64_t i = 0;
	uint64_t u = 0;
	double d = 0;

	assert_int_equal(ipm_get_i64(m, &hc, &i), 0);
	assert_int_equal(i, IPM_HEADER_CODE);

	assert_int_equal(ipm_set_i64(m, &f, 42), 0);
	assert_int_equal(ipm_get_i64(m, &f, &i), 0);
	assert_int_equal(i, 42);
	assert_int_equal(ipm_get_u64(m, &f, &u), 0);
	assert_int_equal(u, 42);
	assert_int_equal(ipm_get_f64(m, &f, &d), 0);
	assert_true(d == 42.0);
	/* the handle took and released the lock for each call */
	assert_int_equal(ipm_lock_held(m), 0);

	assert_int_equal(ipm_set_i64(m, &f, INT32_MAX), 0);
	assert_err(m, ipm_set_i64(m, &f, (int64_t)INT32_MAX + 1), -ERANGE,
		   "field at offset 16 (int32): value 2147483648 out of range for int32 "
		   "(-2147483648..2147483647)");
	assert_err(m, ipm_set_i64(m, &f, INT64_MIN), -ERANGE,
		   "field at offset 16 (int32): value -9223372036854775808 out of range for "
		   "int32 (-2147483648..2147483647)");
	assert_err(m, ipm_set_u64(m, &f, UINT64_MAX), -ERANGE,
		   "field at offset 16 (int32): value 18446744073709551615 out of range for "
		   "int32 (-2147483648..2147483647)");
	assert_int_equal(ipm_get_i64(m, &f, &i), 0);
	assert_int_equal(i, INT32_MAX);

	assert_int_equal(ipm_set_i64(m, &f, INT32_MIN), 0);
	u = 7;
	assert_err(m, ipm_get_u64(m, &f, &u), -ERANGE,
		   "field at offset 16 (int32): value -2147483648 does not fit in uint64");
	assert_int_equal(u, 7);
	assert_int_equal(ipm_get_f64(m, &f, &d), 0);
	assert_true(d == INT32_MIN);

	assert_int_equal(ipm_lock_held(m), 0);
}

static void test_kinds(void **state)
{
	struct fix *x = *state;
	ipm_map *k = x->k;
	struct ipm_field i8 = field(k, "i8"), u8 = field(k, "u8"), b = field(k, "b");
	struct ipm_field fl = field(k, "f"), u64 = field(k, "u64"), i64 = field(k, "i64");
	struct ipm_field s = field(k, "s"), g = field(k, "grid[1][2]"), i16 = field(k, "i16");
	int64_t i = 0;
	uint64_t u = 0;
	double d = 0;

	assert_err(k, ipm_set_i64(k, &u8, 300), -ERANGE,
		   "field at offset 17 (uint8): value 300 out of range for uint8 (0..255)");
	assert_err(k, ipm_set_i64(k, &u8, -1), -ERANGE,
		   "field at offset 17 (uint8): value -1 out of range for uint8 (0..255)");
	assert_int_equal(ipm_set_u64(k, &u8, 255), 0);
	assert_err(k, ipm_set_u64(k, &i8, 128), -ERANGE,
		   "field at offset 16 (int8): value 128 out of range for int8 (-128..127)");
	assert_int_equal(ipm_set_i64(k, &i8, -128), 0);
	assert_int_equal(ipm_get_i64(k, &i8, &i), 0);
	assert_int_equal(i, -128);
	assert_int_equal(ipm_set_i64(k, &i16, -32768), 0);
	assert_int_equal(ipm_get_i64(k, &i16, &i), 0);
	assert_int_equal(i, -32768);

	/* bool takes 0 and 1 only, reads any non-zero byte as 1 */
	assert_err(k, ipm_set_i64(k, &b, 2), -ERANGE,
		   "field at offset 20 (bool): value 2 out of range for bool (0..1)");
	assert_int_equal(ipm_set_i64(k, &b, 1), 0);
	assert_int_equal(ipm_get_f64(k, &b, &d), 0);
	assert_true(d == 1.0);
	assert_int_equal(ipm_set_bytes(k, &b, "\x07", 1), 0);
	assert_int_equal(ipm_get_u64(k, &b, &u), 0);
	assert_int_equal(u, 1);

	/* uint64 above INT64_MAX does not fit an int64 */
	assert_int_equal(ipm_set_u64(k, &u64, UINT64_MAX), 0);
	i = 5;
	assert_err(k, ipm_get_i64(k, &u64, &i), -ERANGE,
		   "field at offset 40 (uint64): value 18446744073709551615 does not fit in int64");
	assert_int_equal(i, 5);
	assert_int_equal(ipm_get_u64(k, &u64, &u), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(ipm_set_i64(k, &i64, INT64_MIN), 0);
	assert_int_equal(ipm_get_i64(k, &i64, &i), 0);
	assert_true(i == INT64_MIN);

	/* float */
	assert_int_equal(ipm_set_f64(k, &fl, 0.1), 0);
	assert_int_equal(ipm_get_f64(k, &fl, &d), 0);
	assert_true(d == (double)0.1f);
	assert_err(k, ipm_set_f64(k, &fl, 1e39), -ERANGE,
		   "field at offset 24 (float): value 1e+39 out of range for float");
	assert_err(k, ipm_set_f64(k, &fl, -0x1.ffffffp127), -ERANGE,
		   "field at offset 24 (float): value -3.40282e+38 out of range for float");
	assert_int_equal(ipm_get_f64(k, &fl, &d), 0);
	assert_true(d == (double)0.1f);
	assert_int_equal(ipm_set_f64(k, &fl, 0x1.fffffefffffffp127), 0); /* rounds to FLT_MAX */
	assert_int_equal(ipm_set_f64(k, &fl, -INFINITY), 0);
	assert_int_equal(ipm_get_f64(k, &fl, &d), 0);
	assert_true(isinf(d) && d < 0);
	assert_int_equal(ipm_set_f64(k, &fl, NAN), 0);

	/* kind mismatches */
	assert_err(k, ipm_set_i64(k, &fl, 1), -EINVAL,
		   "field at offset 24 (float): not an integer or bool field");
	assert_err(k, ipm_get_i64(k, &fl, &i), -EINVAL,
		   "field at offset 24 (float): not an integer or bool field");
	assert_err(k, ipm_set_f64(k, &i8, 1), -EINVAL,
		   "field at offset 16 (int8): not a float, double or longdouble field");
	assert_err(k, ipm_get_f64(k, &s, &d), -EINVAL,
		   "field at offset 48 (char[4]): not a number field");
	assert_err(k, ipm_set_str(k, &i8, "1"), -EINVAL,
		   "field at offset 16 (int8): not a string field");

	/* an element of a two-dimensional array */
	assert_int_equal(ipm_set_i64(k, &g, -9), 0);
	assert_int_equal(ipm_read_text(k, "grid[1][2]", (char[8]){0}, 8), 2);
}

static void test_strings_and_bytes(void **state)
{
	struct fix *x = *state;
	ipm_map *m = x->m;
	struct ipm_field s = field(m, "data_string"), xy = field(m, "data_xy");
	struct ipm_field px = field(m, "data_xy.x"), py = field(m, "data_xy.y");
	char buf[300], big[258];
	double two[2];

	assert_int_equal(ipm_set_str(m, &s, "hello"), 0);
	assert_int_equal(ipm_get_str(m, &s, buf, 6), 0);
	assert_string_equal(buf, "hello");
	assert_err(m, ipm_get_str(m, &s, buf, 5), -ENOSPC,
		   "field at offset 20 (char[256]): 5 bytes of text do not fit in 5");

	memset(big, 'a', 257);
	big[257] = '\0';
	assert_err(m, ipm_set_str(m, &s, big), -ERANGE,
		   "field at offset 20 (char[256]): text of 257 bytes too long for char[256]");
	assert_int_equal(ipm_get_str(m, &s, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "hello");
	big[256] = '\0';
	assert_int_equal(ipm_set_str(m, &s, big), 0);
	assert_int_equal(ipm_get_str(m, &s, buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), 256);
	/* a shorter string zero fills the rest */
	assert_int_equal(ipm_set_str(m, &s, "ab"), 0);
	assert_int_equal(ipm_get_bytes(m, &s, buf, 256), 0);
	assert_memory_equal(buf, "ab\0\0\0\0", 6);
	assert_true(buf[255] == 0);

	assert_int_equal(ipm_set_f64(m, &px, 1.5), 0);
	assert_int_equal(ipm_set_f64(m, &py, -2.25), 0);
	assert_int_equal(ipm_get_bytes(m, &xy, two, sizeof(two)), 0);
	assert_true(two[0] == 1.5 && two[1] == -2.25);
	assert_err(m, ipm_get_bytes(m, &xy, two, 8), -EINVAL,
		   "field at offset 280 (Point2D): buffer of 8 bytes for 16");
	assert_err(m, ipm_set_bytes(m, &xy, two, 24), -EINVAL,
		   "field at offset 280 (Point2D): 24 bytes for a field of 16");
	two[0] = 3;
	assert_int_equal(ipm_set_bytes(m, &xy, two, 16), 0);
	assert_int_equal(ipm_read_text(m, "data_xy.x", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "3.0");
}

static void test_text(void **state)
{
	struct fix *x = *state;
	ipm_map *m = x->m;
	struct ipm_field f = field(m, "data_int");
	char buf[300], big[300];

	assert_int_equal(ipm_write_text(m, "data_int", "300\n"), 0);
	assert_int_equal(ipm_read_text(m, "data_int", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "300");
	assert_err(m, ipm_write_text(m, "data_int", "abc"), -EINVAL,
		   "data_int: 'abc' is not an int32");
	assert_err(m, ipm_write_text(m, "data_int", "1.5"), -EINVAL,
		   "data_int: '1.5' is not an int32");
	assert_err(m, ipm_write_text(m, "data_int", ""), -EINVAL, "data_int: empty value");
	assert_err(m, ipm_set_text(m, &f, "99999999999", 11), -ERANGE,
		   "field at offset 16 (int32): value 99999999999 out of range for int32 "
		   "(-2147483648..2147483647)");
	assert_int_equal(ipm_get_text(m, &f, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "300");
	/* only len bytes of the text count */
	assert_int_equal(ipm_set_text(m, &f, "-4567", 3), 0);
	assert_int_equal(ipm_get_text(m, &f, buf, 4), 3);
	assert_string_equal(buf, "-45");
	assert_err(m, ipm_get_text(m, &f, buf, 3), -ENOSPC,
		   "field at offset 16 (int32): text does not fit in 3 bytes");
	assert_err(m, ipm_read_text(m, "data_int", buf, 2), -ENOSPC,
		   "data_int: text does not fit in 2 bytes");

	assert_int_equal(ipm_write_text(m, "multi_pts.multi_points[3].y", "0.1"), 0);
	assert_int_equal(ipm_read_text(m, "multi_pts.multi_points[3].y", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "0.1");
	assert_int_equal(ipm_write_text(m, "multi_pts.multi_points[3].y", "-1e300"), 0);
	assert_int_equal(ipm_read_text(m, "multi_pts.multi_points[3].y", buf, sizeof(buf)), 7);
	assert_string_equal(buf, "-1e+300");
	assert_err(m, ipm_write_text(m, "multi_pts.multi_points[24].y", "1"), -ERANGE,
		   "index 24 out of range for 'multi_pts.multi_points' (0..23)");
	assert_err(m, ipm_write_text(m, "data_xy", "1"), -EINVAL,
		   "data_xy: a structure has no text value");
	assert_err(m, ipm_read_text(m, "multi_pts.multi_points", buf, sizeof(buf)), -EINVAL,
		   "multi_pts.multi_points: an array has no text value");

	assert_int_equal(ipm_write_text(m, "data_string", "h\xc3\xa9llo\n"), 0);
	assert_int_equal(ipm_read_text(m, "data_string", buf, sizeof(buf)), 6);
	assert_string_equal(buf, "h\xc3\xa9llo");
	memset(big, 'z', 257);
	big[257] = '\0';
	assert_err(m, ipm_write_text(m, "data_string", big), -ERANGE,
		   "data_string: text of 257 bytes too long for char[256]");
	assert_err(m, ipm_write_text(m, "data_string", "\xc0\xaf"), -EINVAL,
		   "data_string: text is not valid UTF-8 at offset 0");
	assert_int_equal(ipm_read_text(m, "data_string", buf, sizeof(buf)), 6);
	assert_string_equal(buf, "h\xc3\xa9llo");
	assert_int_equal(ipm_lock_held(m), 0);
}

/* c_wchar * N: UTF-8 in and out through the string and text calls, UTF-32
 * in the file; c_longdouble through the double calls and text. */
static void test_wide_and_ldouble(void **state)
{
	struct fix *x = *state;
	ipm_map *k = x->k;
	struct ipm_field w = field(k, "w"), c = field(k, "c"), ld = field(k, "ld");
	uint32_t units[3];
	long double lv;
	char buf[64];
	double d;
	int64_t i;

	assert_int_equal(ipm_set_str(k, &w, "h\xc3\xa9\n"), 0); /* set_str keeps the newline */
	assert_int_equal(ipm_get_bytes(k, &w, units, sizeof(units)), 0);
	assert_true(units[0] == 'h' && units[1] == 0xe9 && units[2] == '\n');
	assert_int_equal(ipm_get_str(k, &w, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "h\xc3\xa9\n");
	assert_err(k, ipm_get_str(k, &w, buf, 4), -ENOSPC,
		   "field at offset 76 (wchar[3]): 4 bytes of text do not fit in 4");
	assert_err(k, ipm_set_str(k, &w, "abcd"), -ERANGE,
		   "field at offset 76 (wchar[3]): text of 4 characters too long for wchar[3]");
	assert_err(k, ipm_set_str(k, &w, "\xed\xa0\x80"), -EINVAL,
		   "field at offset 76 (wchar[3]): text is not valid UTF-8 at offset 0");
	assert_err(k, ipm_write_text(k, "w", "\xf4\x90\x80\x80"), -EINVAL,
		   "w: text is not valid UTF-8 at offset 0");
	assert_err(k, ipm_write_text(k, "c", "ab"), -ERANGE,
		   "c: text of 2 characters too long for wchar[1]");
	assert_int_equal(ipm_read_text(k, "w", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "h\xc3\xa9\n"); /* nothing changed */
	assert_int_equal(ipm_write_text(k, "w", "\xf0\x9f\x98\x80"), 0);
	assert_int_equal(ipm_read_text(k, "w", buf, sizeof(buf)), 4);
	assert_int_equal(ipm_write_text(k, "c", "\xe2\x82\xac"), 0);
	assert_int_equal(ipm_read_text(k, "c", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "\xe2\x82\xac");
	assert_err(k, ipm_get_i64(k, &c, &i), -EINVAL,
		   "field at offset 88 (wchar[1]): not an integer or bool field");

	/* a double goes in exactly, comes out rounded to the nearest double */
	assert_int_equal(ipm_set_f64(k, &ld, 0.1), 0);
	assert_int_equal(ipm_get_bytes(k, &ld, &lv, sizeof(lv)), 0);
	assert_true(lv == (long double)0.1);
	assert_int_equal(ipm_write_text(k, "ld", "0.1"), 0);
	assert_int_equal(ipm_read_text(k, "ld", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "0.1");
	assert_int_equal(ipm_get_f64(k, &ld, &d), 0);
	assert_true(d == 0.1);
	assert_int_equal(ipm_write_text(k, "ld", "1e4000"), 0);
	assert_err(k, ipm_get_f64(k, &ld, &d), -ERANGE,
		   "field at offset 96 (longdouble): value 1e+4000 does not fit in double");
	assert_int_equal(ipm_write_text(k, "ld", "-inf"), 0);
	assert_int_equal(ipm_get_f64(k, &ld, &d), 0);
	assert_true(isinf(d) && d < 0);
	assert_err(k, ipm_write_text(k, "ld", "1e-5000"), -ERANGE,
		   "ld: value 1e-5000 out of range for longdouble (rounds to 0)");
	assert_err(k, ipm_set_i64(k, &ld, 1), -EINVAL,
		   "field at offset 96 (longdouble): not an integer or bool field");
}

/* A non-zero double that a float would hold as zero is refused, as its
 * text is. */
static void test_float_underflow(void **state)
{
	struct fix *x = *state;
	struct ipm_field f = field(x->k, "f");
	double d;

	assert_err(x->k, ipm_set_f64(x->k, &f, 1e-46), -ERANGE,
		   "field at offset 24 (float): value 1e-46 out of range for float (rounds to 0)");
	assert_int_equal(ipm_set_f64(x->k, &f, 1e-45), 0);
	assert_int_equal(ipm_get_f64(x->k, &f, &d), 0);
	assert_true(d > 0);
	assert_int_equal(ipm_set_f64(x->k, &f, -0.0), 0);
}

static void test_lock_rule(void **state)
{
	struct fix *x = *state;
	ipm_map *m = x->m;
	struct ipm_field f = field(m, "data_int");
	int64_t i = 0;

	assert_int_equal(ipm_set_i64(m, &f, 1), 0);
	assert_int_equal(ipm_lock_read(m, -1), 0);
	assert_err(m, ipm_set_i64(m, &f, 2), -EPERM,
		   "cannot write field at offset 16 (int32): handle holds only the read lock");
	assert_err(m, ipm_write_text(m, "data_int", "2"), -EPERM,
		   "cannot write data_int: handle holds only the read lock");
	assert_int_equal(ipm_map_clear(m), -EPERM);
	assert_int_equal(ipm_map_touch(m), -EPERM);
	assert_int_equal(ipm_get_i64(m, &f, &i), 0);
	assert_int_equal(i, 1);
	/* calls use the held lock and leave it held */
	assert_int_equal(ipm_lock_held(m), 1);
	assert_int_equal(ipm_lock_write(m, -1), 0);
	assert_int_equal(ipm_set_i64(m, &f, 2), 0);
	assert_int_equal(ipm_get_i64(m, &f, &i), 0);
	assert_int_equal(i, 2);
	assert_int_equal(ipm_lock_held(m), 2);
	assert_int_equal(ipm_unlock(m), 0);
}

static void test_reader(void **state)
{
	struct fix *x = *state;
	ipm_map *r = ipm_map_new(x->s);
	struct ipm_field f;
	char buf[64];
	int64_t i = 0;

	assert_int_equal(ipm_write_text(x->m, "data_int", "77"), 0);
	assert_int_equal(ipm_map_open(r, "DemoMmapStructure", "t", IPM_READER, &x->opts), 0);
	f = field(r, "data_int");
	assert_int_equal(ipm_get_i64(r, &f, &i), 0);
	assert_int_equal(i, 77);
	assert_int_equal(ipm_read_text(r, "data_int", buf, sizeof(buf)), 2);
	assert_err(r, ipm_set_i64(r, &f, 1), -EACCES,
		   "cannot write field at offset 16 (int32): handle is a reader");
	assert_err(r, ipm_write_text(r, "data_int", "1"), -EACCES,
		   "cannot write data_int: handle is a reader");
	/* refused before the text is even looked at */
	assert_err(r, ipm_write_text(r, "data_int", "junk"), -EACCES,
		   "cannot write data_int: handle is a reader");
	assert_int_equal(ipm_set_bytes(r, &f, "abcd", 4), -EACCES);
	assert_int_equal(ipm_map_clear(r), -EACCES);
	assert_int_equal(ipm_map_touch(r), -EACCES);
	assert_int_equal(ipm_get_i64(r, &f, &i), 0);
	assert_int_equal(i, 77);
	ipm_map_free(r);
}

static void test_descriptors(void **state)
{
	struct fix *x = *state;
	ipm_map *m = x->m;
	struct ipm_field far = field(x->k, "i8"), bad;
	int64_t i = 0;

	/* a descriptor of another structure that reaches past this one */
	far.offset = DEMO_SIZE;
	assert_err(m, ipm_get_i64(m, &far, &i), -EINVAL,
		   "field at offset 688 (int8): not inside DemoMmapStructure (688 bytes)");
	far.offset = SIZE_MAX;
	assert_int_equal(ipm_set_i64(m, &far, 1), -EINVAL);
	bad = field(m, "data_int");
	bad.size = 8;
	assert_err(m, ipm_get_i64(m, &bad, &i), -EINVAL,
		   "field at offset 16 (int32): bad field descriptor");
}

static void test_whole(void **state)
{
	struct fix *x = *state;
	ipm_map *m = x->m;
	struct ipm_field f = field(m, "data_int");
	static unsigned char copy[DEMO_SIZE + 1], zero[DEMO_SIZE];
	struct timespec a, b;
	double t = -1;
	int16_t code;

	assert_int_equal(ipm_write_text(m, "data_int", "5"), 0);
	assert_int_equal(ipm_map_size(m), DEMO_SIZE);
	assert_int_equal(ipm_map_copy(m, copy, sizeof(copy)), 0);
	assert_memory_equal(copy, ipm_map_data(m), DEMO_SIZE);
	assert_err(m, ipm_map_copy(m, copy, DEMO_SIZE - 1), -ENOSPC,
		   "cannot copy 688 bytes into a buffer of 687");

	clock_gettime(CLOCK_REALTIME, &a);
	assert_int_equal(ipm_map_touch(m), 0);
	clock_gettime(CLOCK_REALTIME, &b);
	assert_int_equal(ipm_map_timestamp(m, &t), 0);
	assert_true(t >= a.tv_sec + a.tv_nsec / 1e9 - 1e-6);
	assert_true(t <= b.tv_sec + b.tv_nsec / 1e9 + 1e-6);

	assert_int_equal(ipm_map_clear(m), 0);
	assert_int_equal(ipm_map_copy(m, copy, DEMO_SIZE), 0);
	memcpy(&code, copy, 2);
	assert_int_equal(code, IPM_HEADER_CODE);
	assert_memory_equal(copy + 2, zero, DEMO_SIZE - 2);
	assert_int_equal(ipm_map_timestamp(m, &t), 0);
	assert_true(t == 0);
	assert_int_equal(ipm_read_text(m, "header.header_code", (char[8]){0}, 8), 4);
	assert_int_equal(ipm_lock_held(m), 0);
	(void)f;
}

static void test_closed(void **state)
{
	struct fix *x = *state;
	ipm_map *c = ipm_map_new(x->s);
	struct ipm_field f = field(x->m, "data_int");
	int64_t i;
	double t;

	assert_err(c, ipm_get_i64(c, &f, &i), -EBADF, "cannot access a field: map is not open");
	assert_err(c, ipm_read_text(c, "data_int", (char[8]){0}, 8), -EBADF,
		   "cannot resolve 'data_int': map is not open");
	assert_err(c, ipm_map_timestamp(c, &t), -EBADF,
		   "cannot read the time stamp: map is not open");
	assert_int_equal(ipm_map_clear(c), -EBADF);
	ipm_map_free(c);
}

/* Not pass/fail (sanitizers slow it down): what the hot path costs. */
static void test_hot_path_speed(void **state)
{
	struct fix *x = *state;
	ipm_map *m = x->m;
	struct ipm_field f = field(m, "data_int");
	struct timespec a, b;
	enum { N = 1000000 };
	int64_t v, sum = 0;
	int i;

	assert_int_equal(ipm_lock_write(m, -1), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < N; i++) {
		ipm_set_i64(m, &f, i);
		ipm_get_i64(m, &f, &v);
		sum += v;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_int_equal(ipm_unlock(m), 0);
	assert_true(sum == (int64_t)N * (N - 1) / 2);
	print_message("set_i64 + get_i64 on an int32 under a held lock: %.1f ns\n",
		      ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / N);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < 10000; i++)
		ipm_get_i64(m, &f, &v);
	clock_gettime(CLOCK_MONOTONIC, &b);
	print_message("get_i64 taking its own read lock: %.0f ns\n",
		      ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_int32, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strings_and_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wide_and_ldouble, setup, teardown),
		cmocka_unit_test_setup_teardown(test_float_underflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_descriptors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hot_path_speed, setup, teardown),
	};

	return cmocka_run_group_tests_name("access", tests, NULL, NULL);
}
