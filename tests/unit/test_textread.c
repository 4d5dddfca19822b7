/*
 * test_textread.c - the bounded line reader (textread.c): ends of line, the byte order mark,
 * the exact bounds, NUL bytes, errors that stay, files that cannot be read.
 */
#include "unit.h"

#include <errno.h>
#include <string.h>

/* Writes text (n bytes) to a new file in dir; returns its path. */
static const char *put(const char *dir, const char *text, size_t n)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/t.ini", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	return path;
}

static int setup(void **state)
{
	static char dir[64];

	if (unit_mkdtemp(dir, sizeof(dir), "lines"))
		return -1;
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	unit_rm_tree(*state);
	return 0;
}

static void test_ends(void **state)
{
	static const char text[] = "\xEF\xBB\xBF"
				   "a\r\nb\n\n\xEF\xBB\xBF"
				   "c\rd\r";
	ipm_lines *r = ipm_lines_open(put(*state, text, sizeof(text) - 1), NULL);
	char b[8];

	assert_non_null(r);
	assert_int_equal(ipm_lines_number(r), 0);
	assert_int_equal(ipm_lines_next(r, b, sizeof(b)), 1);
	assert_string_equal(b, "a"); /* the mark is dropped on line 1 only */
	assert_int_equal(ipm_lines_next(r, b, sizeof(b)), 1);
	assert_string_equal(b, "b");
	assert_int_equal(ipm_lines_next(r, b, sizeof(b)), 1);
	assert_string_equal(b, "");
	assert_int_equal(ipm_lines_next(r, b, sizeof(b)), 1);
	assert_string_equal(b, "\xEF\xBB\xBF"
			       "c\rd");
	assert_int_equal(ipm_lines_number(r), 4);
	assert_int_equal(ipm_lines_next(r, b, sizeof(b)), 0);
	assert_int_equal(ipm_lines_next(r, b, sizeof(b)), 0);
	assert_string_equal(ipm_lines_errmsg(r), "");
	ipm_lines_close(r);

	/* a start that only looks like a mark is text */
	r = ipm_lines_open(put(*state, "\xEF\xBBx\n", 4), NULL);
	assert_int_equal(ipm_lines_next(r, b, sizeof(b)), 1);
	assert_string_equal(b, "\xEF\xBBx");
	ipm_lines_close(r);
	r = ipm_lines_open(put(*state, "", 0), NULL);
	assert_int_equal(ipm_lines_next(r, b, sizeof(b)), 0);
	assert_int_equal(ipm_lines_number(r), 0);
	ipm_lines_close(r);
}

/* size - 1 characters fit, with or without "\r\n"; one more does not. */
static void test_line_bound(void **state)
{
	ipm_lines *r = ipm_lines_open(put(*state, "1234567\r\n1234567\n12345678\n", 26), NULL);
	char b[8], want[IPM_ERRLEN];

	assert_int_equal(ipm_lines_next(r, b, sizeof(b)), 1);
	assert_string_equal(b, "1234567");
	assert_int_equal(ipm_lines_next(r, b, sizeof(b)), 1);
	assert_string_equal(b, "1234567");
	assert_int_equal(ipm_lines_next(r, b, sizeof(b)), -EINVAL);
	snprintf(want, sizeof(want), "%s/t.ini:3: line too long (more than 7 characters)",
		 (char *)*state);
	assert_string_equal(ipm_lines_errmsg(r), want);
	assert_int_equal(ipm_lines_number(r), 3);
	/* the error stays */
	assert_int_equal(ipm_lines_next(r, b, sizeof(b)), -EINVAL);
	ipm_lines_close(r);
}

static void test_nul(void **state)
{
	ipm_lines *r = ipm_lines_open(put(*state, "ok\na\0b\n", 7), NULL);
	char b[8], want[IPM_ERRLEN];

	assert_int_equal(ipm_lines_next(r, b, sizeof(b)), 1);
	assert_int_equal(ipm_lines_next(r, b, sizeof(b)), -EINVAL);
	snprintf(want, sizeof(want), "%s/t.ini:2: NUL byte in line", (char *)*state);
	assert_string_equal(ipm_lines_errmsg(r), want);
	ipm_lines_close(r);
}

static void test_cannot(void **state)
{
	char err[IPM_ERRLEN], b[8];
	ipm_lines *r;

	(void)state;
	assert_null(ipm_lines_open("/nonexistent/x.ini", err));
	assert_int_equal(errno, ENOENT);
	assert_string_equal(err, "cannot open /nonexistent/x.ini: No such file or directory");
	r = ipm_lines_open("/", err);
	assert_non_null(r);
	assert_int_equal(ipm_lines_next(r, b, sizeof(b)), -EISDIR);
	assert_string_equal(ipm_lines_errmsg(r), "cannot read /: Is a directory");
	ipm_lines_close(r);
	ipm_lines_close(NULL);
	assert_int_equal(ipm_lines_number(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ends),
	    cmocka_unit_test(test_line_bound),
	    cmocka_unit_test(test_nul),
	    cmocka_unit_test(test_cannot),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
