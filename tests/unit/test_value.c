/*
 * test_value.c - ipm_text_format() and ipm_text_parse(): every kind, good
 * and bad texts, exact messages, dst untouched on error, round trips, and
 * floating text compared with Python's repr().
 */
#include "unit.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const size_t scalar_size[] = {1, 2, 4, 8, 1, 2, 4, 8, 4, 8, 1};

static struct ipm_field field(enum ipm_kind k, size_t n)
{
	struct ipm_field f = {.size = k == IPM_STRING	     ? n
				      : k == IPM_WSTRING     ? 4 * n
				      : k == IPM_LONGDOUBLE ? sizeof(long double)
							     : scalar_size[k],
			      .kind = k};

	return f;
}

/* One text parsed into a field: on success, want is the value formatted
 * back; on failure, the exact message. */
struct pcase {
	enum ipm_kind kind;
	size_t n;         /* IPM_STRING, IPM_WSTRING: N of char[N], wchar[N] */
	const char *text;
	size_t len;       /* 0: strlen(text) */
	int rc;
	const char *want;
};

#define OK(k, t, w) {k, 0, t, 0, 0, w}
#define BAD(k, t, rc, w) {k, 0, t, 0, rc, w}
#define NOTA(k, t, name) {k, 0, t, 0, -EINVAL, "'" t "' is not " name}

static const struct pcase cases[] = {
	/* edges of every integer kind, and one past them */
	OK(IPM_INT8, "127", "127"),
	OK(IPM_INT8, "-128", "-128"),
	BAD(IPM_INT8, "128", -ERANGE, "value 128 out of range for int8 (-128..127)"),
	BAD(IPM_INT8, "-129", -ERANGE, "value -129 out of range for int8 (-128..127)"),
	OK(IPM_INT16, "32767", "32767"),
	OK(IPM_INT16, "-32768", "-32768"),
	BAD(IPM_INT16, "32768", -ERANGE, "value 32768 out of range for int16 (-32768..32767)"),
	BAD(IPM_INT16, "-32769", -ERANGE, "value -32769 out of range for int16 (-32768..32767)"),
	OK(IPM_INT32, "2147483647", "2147483647"),
	OK(IPM_INT32, "-2147483648", "-2147483648"),
	BAD(IPM_INT32, "2147483648", -ERANGE,
	    "value 2147483648 out of range for int32 (-2147483648..2147483647)"),
	BAD(IPM_INT32, "-2147483649", -ERANGE,
	    "value -2147483649 out of range for int32 (-2147483648..2147483647)"),
	OK(IPM_INT64, "9223372036854775807", "9223372036854775807"),
	OK(IPM_INT64, "-9223372036854775808", "-9223372036854775808"),
	BAD(IPM_INT64, "9223372036854775808", -ERANGE,
	    "value 9223372036854775808 out of range for int64 "
	    "(-9223372036854775808..9223372036854775807)"),
	BAD(IPM_INT64, "-9223372036854775809", -ERANGE,
	    "value -9223372036854775809 out of range for int64 "
	    "(-9223372036854775808..9223372036854775807)"),
	BAD(IPM_INT64, "99999999999999999999999", -ERANGE,
	    "value 99999999999999999999999 out of range for int64 "
	    "(-9223372036854775808..9223372036854775807)"),
	OK(IPM_UINT8, "255", "255"),
	OK(IPM_UINT8, "0", "0"),
	BAD(IPM_UINT8, "256", -ERANGE, "value 256 out of range for uint8 (0..255)"),
	BAD(IPM_UINT8, "300", -ERANGE, "value 300 out of range for uint8 (0..255)"),
	BAD(IPM_UINT8, "-1", -ERANGE, "value -1 out of range for uint8 (0..255)"),
	NOTA(IPM_UINT8, "-0", "a uint8 (sign)"),
	OK(IPM_UINT8, "+0", "0"),
	OK(IPM_UINT16, "65535", "65535"),
	BAD(IPM_UINT16, "65536", -ERANGE, "value 65536 out of range for uint16 (0..65535)"),
	OK(IPM_UINT32, "4294967295", "4294967295"),
	BAD(IPM_UINT32, "4294967296", -ERANGE,
	    "value 4294967296 out of range for uint32 (0..4294967295)"),
	BAD(IPM_UINT32, "-1", -ERANGE, "value -1 out of range for uint32 (0..4294967295)"),
	OK(IPM_UINT64, "18446744073709551615", "18446744073709551615"),
	BAD(IPM_UINT64, "18446744073709551616", -ERANGE,
	    "value 18446744073709551616 out of range for uint64 (0..18446744073709551615)"),
	BAD(IPM_UINT64, "-18446744073709551615", -ERANGE,
	    "value -18446744073709551615 out of range for uint64 (0..18446744073709551615)"),

	/* integer syntax */
	OK(IPM_INT32, "+5", "5"),
	OK(IPM_INT32, "-0", "0"),
	OK(IPM_INT32, "0", "0"),
	OK(IPM_INT32, "5\n", "5"),
	BAD(IPM_INT32, "5\n\n", -EINVAL, "'5\\n' is not an int32"),
	BAD(IPM_INT32, "", -EINVAL, "empty value"),
	BAD(IPM_INT32, "\n", -EINVAL, "empty value"),
	NOTA(IPM_INT32, " 5", "an int32"),
	NOTA(IPM_INT32, "5 ", "an int32"),
	BAD(IPM_INT32, "5\r\n", -EINVAL, "'5\\x0d' is not an int32"),
	NOTA(IPM_INT32, "abc", "an int32"),
	NOTA(IPM_INT32, "1.5", "an int32"),
	NOTA(IPM_INT32, "1e3", "an int32"),
	NOTA(IPM_INT32, "007", "an int32 (leading zero)"),
	NOTA(IPM_INT32, "-01", "an int32 (leading zero)"),
	NOTA(IPM_INT32, "0x10", "an int32"),
	NOTA(IPM_INT32, "+", "an int32"),
	NOTA(IPM_INT32, "-", "an int32"),
	NOTA(IPM_INT32, "--1", "an int32"),
	NOTA(IPM_INT32, "+-1", "an int32"),
	NOTA(IPM_INT32, "1_000", "an int32"),
	NOTA(IPM_INT32, "nan", "an int32"),
	NOTA(IPM_INT32, "inf", "an int32"),
	NOTA(IPM_UINT64, "12abc", "a uint64"),
	{IPM_INT32, 0, "5\0", 2, -EINVAL, "'5\\x00' is not an int32"},
	BAD(IPM_INT32, "1234567890123456789012345678901234567890123456789", -ERANGE,
	    "value 1234567890123456789012345678901234567890... out of range for int32 "
	    "(-2147483648..2147483647)"),
	BAD(IPM_INT16, "it's", -EINVAL, "'it\\x27s' is not an int16"),

	/* bool */
	OK(IPM_BOOL, "0", "0"),
	OK(IPM_BOOL, "1", "1"),
	OK(IPM_BOOL, "true", "1"),
	OK(IPM_BOOL, "True", "1"),
	OK(IPM_BOOL, "FALSE", "0"),
	OK(IPM_BOOL, "1\n", "1"),
	NOTA(IPM_BOOL, "2", "a bool (0, 1, true or false)"),
	NOTA(IPM_BOOL, "yes", "a bool (0, 1, true or false)"),
	NOTA(IPM_BOOL, " 1", "a bool (0, 1, true or false)"),
	NOTA(IPM_BOOL, "-1", "a bool (0, 1, true or false)"),
	BAD(IPM_BOOL, "", -EINVAL, "empty value"),

	/* double */
	OK(IPM_DOUBLE, "0.1", "0.1"),
	OK(IPM_DOUBLE, "1", "1.0"),
	OK(IPM_DOUBLE, "-0", "-0.0"),
	OK(IPM_DOUBLE, "1e16", "1e+16"),
	OK(IPM_DOUBLE, "1E16", "1e+16"),
	OK(IPM_DOUBLE, ".5", "0.5"),
	OK(IPM_DOUBLE, "5.", "5.0"),
	OK(IPM_DOUBLE, "+1.5e-3", "0.0015"),
	OK(IPM_DOUBLE, "00012.50", "12.5"),
	OK(IPM_DOUBLE, "1e-5", "1e-05"),
	OK(IPM_DOUBLE, "123456789012345678", "1.2345678901234568e+17"),
	OK(IPM_DOUBLE, "inf", "inf"),
	OK(IPM_DOUBLE, "+inf", "inf"),
	OK(IPM_DOUBLE, "-inf", "-inf"),
	OK(IPM_DOUBLE, "Infinity", "inf"),
	OK(IPM_DOUBLE, "-INF", "-inf"),
	OK(IPM_DOUBLE, "nan", "nan"),
	OK(IPM_DOUBLE, "NaN", "nan"),
	OK(IPM_DOUBLE, "-nan", "nan"),
	OK(IPM_DOUBLE, "1.5\n", "1.5"),
	OK(IPM_DOUBLE, "1.7976931348623157e308", "1.7976931348623157e+308"),
	OK(IPM_DOUBLE, "4.9e-324", "5e-324"),
	/* a non-zero value that would read back as zero is refused */
	BAD(IPM_DOUBLE, "1e-400", -ERANGE, "value 1e-400 out of range for double (rounds to 0)"),
	BAD(IPM_DOUBLE, "-1e-400", -ERANGE, "value -1e-400 out of range for double (rounds to 0)"),
	BAD(IPM_DOUBLE, "2.4e-324", -ERANGE, "value 2.4e-324 out of range for double (rounds to 0)"),
	OK(IPM_DOUBLE, "2.5e-324", "5e-324"),
	OK(IPM_DOUBLE, "0e-400", "0.0"),
	OK(IPM_DOUBLE, "-0.000e999", "-0.0"),
	OK(IPM_DOUBLE, "00.0", "0.0"),
	BAD(IPM_DOUBLE, "1e999", -ERANGE, "value 1e999 out of range for double"),
	BAD(IPM_DOUBLE, "-1.8e308", -ERANGE, "value -1.8e308 out of range for double"),
	BAD(IPM_DOUBLE, "", -EINVAL, "empty value"),
	BAD(IPM_DOUBLE, "1.5\n\n", -EINVAL, "'1.5\\n' is not a double"),
	NOTA(IPM_DOUBLE, "0x1p3", "a double"),
	NOTA(IPM_DOUBLE, " 1.0", "a double"),
	NOTA(IPM_DOUBLE, "1.0 ", "a double"),
	NOTA(IPM_DOUBLE, "1.0x", "a double"),
	NOTA(IPM_DOUBLE, "1e", "a double"),
	NOTA(IPM_DOUBLE, "1e+", "a double"),
	NOTA(IPM_DOUBLE, ".", "a double"),
	NOTA(IPM_DOUBLE, "e5", "a double"),
	NOTA(IPM_DOUBLE, "-", "a double"),
	NOTA(IPM_DOUBLE, "1..5", "a double"),
	NOTA(IPM_DOUBLE, "1.5.", "a double"),
	NOTA(IPM_DOUBLE, "1_000.0", "a double"),
	NOTA(IPM_DOUBLE, "nan(1)", "a double"),
	NOTA(IPM_DOUBLE, "infinit", "a double"),
	NOTA(IPM_DOUBLE, "+-1", "a double"),

	/* float */
	OK(IPM_FLOAT, "0.1", "0.1"),
	OK(IPM_FLOAT, "3.4028235e38", "3.4028235e+38"),
	OK(IPM_FLOAT, "3.40282356e38", "3.4028235e+38"), /* below the halfway point */
	OK(IPM_FLOAT, "16777217", "16777216.0"),
	OK(IPM_FLOAT, "1.4e-45", "1e-45"),
	BAD(IPM_FLOAT, "1e-46", -ERANGE, "value 1e-46 out of range for float (rounds to 0)"),
	BAD(IPM_FLOAT, "-7e-46", -ERANGE, "value -7e-46 out of range for float (rounds to 0)"),
	OK(IPM_FLOAT, "8e-46", "1e-45"),
	OK(IPM_FLOAT, "0.0e-50", "0.0"),
	OK(IPM_FLOAT, "-inf", "-inf"),
	OK(IPM_FLOAT, "nan", "nan"),
	BAD(IPM_FLOAT, "3.5e38", -ERANGE, "value 3.5e38 out of range for float"),
	BAD(IPM_FLOAT, "-1e39", -ERANGE, "value -1e39 out of range for float"),
	NOTA(IPM_FLOAT, "1,5", "a float"),

	/* strings, char[4] */
	{IPM_STRING, 4, "abc", 0, 0, "abc"},
	{IPM_STRING, 4, "abcd", 0, 0, "abcd"},
	{IPM_STRING, 4, "abcd\n", 0, 0, "abcd"},
	{IPM_STRING, 4, "ab\n\n", 0, 0, "ab\n"},
	{IPM_STRING, 4, "", 0, 0, ""},
	{IPM_STRING, 4, "\n", 0, 0, ""},
	{IPM_STRING, 4, " a ", 0, 0, " a "},
	{IPM_STRING, 4, "\xc3\xa9", 0, 0, "\xc3\xa9"},
	{IPM_STRING, 4, "\xe2\x82\xac", 0, 0, "\xe2\x82\xac"},
	{IPM_STRING, 4, "\xf0\x9f\x98\x80", 0, 0, "\xf0\x9f\x98\x80"},
	{IPM_STRING, 4, "\xf4\x8f\xbf\xbf", 0, 0, "\xf4\x8f\xbf\xbf"},
	{IPM_STRING, 4, "abcde", 0, -ERANGE, "text of 5 bytes too long for char[4]"},
	{IPM_STRING, 4, "a\0b", 3, -EINVAL, "text has a NUL byte at offset 1"},
	{IPM_STRING, 4, "\xff", 0, -EINVAL, "text is not valid UTF-8 at offset 0"},
	{IPM_STRING, 4, "a\x80", 0, -EINVAL, "text is not valid UTF-8 at offset 1"},
	{IPM_STRING, 4, "a\xc0\x80", 0, -EINVAL, "text is not valid UTF-8 at offset 1"},
	{IPM_STRING, 4, "\xe0\x80\xaf", 0, -EINVAL, "text is not valid UTF-8 at offset 0"},
	{IPM_STRING, 4, "\xed\xa0\x80", 0, -EINVAL, "text is not valid UTF-8 at offset 0"},
	{IPM_STRING, 4, "\xf4\x90\x80\x80", 0, -EINVAL, "text is not valid UTF-8 at offset 0"},
	{IPM_STRING, 4, "\xf5\x80\x80\x80", 0, -EINVAL, "text is not valid UTF-8 at offset 0"},
	{IPM_STRING, 4, "ab\xe2\x82", 0, -EINVAL, "text is not valid UTF-8 at offset 2"},
	{IPM_STRING, 4, "\xe2\x28\xa1", 0, -EINVAL, "text is not valid UTF-8 at offset 0"},

	/* wide strings, wchar[4] (c_wchar * 4): N characters, not bytes */
	{IPM_WSTRING, 4, "abc", 0, 0, "abc"},
	{IPM_WSTRING, 4, "abcd", 0, 0, "abcd"},
	{IPM_WSTRING, 4, "abcd\n", 0, 0, "abcd"},
	{IPM_WSTRING, 4, "a\n\n", 0, 0, "a\n"},
	{IPM_WSTRING, 4, "", 0, 0, ""},
	{IPM_WSTRING, 4, "\xf0\x9f\x98\x80\xc3\xa9\xe2\x82\xacx", 0, 0,
	 "\xf0\x9f\x98\x80\xc3\xa9\xe2\x82\xacx"},
	{IPM_WSTRING, 4, "\xf4\x8f\xbf\xbf", 0, 0, "\xf4\x8f\xbf\xbf"},
	{IPM_WSTRING, 4, "abcde", 0, -ERANGE, "text of 5 characters too long for wchar[4]"},
	{IPM_WSTRING, 4, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 0, -ERANGE,
	 "text of 5 characters too long for wchar[4]"},
	{IPM_WSTRING, 4, "a\0b", 3, -EINVAL, "text has a NUL byte at offset 1"},
	{IPM_WSTRING, 4, "\xff", 0, -EINVAL, "text is not valid UTF-8 at offset 0"},
	{IPM_WSTRING, 4, "ab\xed\xa0\x80", 0, -EINVAL, "text is not valid UTF-8 at offset 2"},
	{IPM_WSTRING, 4, "\xf4\x90\x80\x80", 0, -EINVAL, "text is not valid UTF-8 at offset 0"},
	{IPM_WSTRING, 4, "a\xc0\x80", 0, -EINVAL, "text is not valid UTF-8 at offset 1"},
	/* c_wchar: one character, or none */
	{IPM_WSTRING, 1, "x", 0, 0, "x"},
	{IPM_WSTRING, 1, "\xe2\x82\xac", 0, 0, "\xe2\x82\xac"},
	{IPM_WSTRING, 1, "", 0, 0, ""},
	{IPM_WSTRING, 1, "xy", 0, -ERANGE, "text of 2 characters too long for wchar[1]"},

	/* long double: x86-64's 80-bit extended, shortest text that reads back */
	OK(IPM_LONGDOUBLE, "0.1", "0.1"),
	OK(IPM_LONGDOUBLE, "1.5", "1.5"),
	OK(IPM_LONGDOUBLE, "-0.0", "-0.0"),
	OK(IPM_LONGDOUBLE, "1e4000", "1e+4000"),
	OK(IPM_LONGDOUBLE, "1.18973149535723176502e+4932", "1.189731495357231765e+4932"),
	OK(IPM_LONGDOUBLE, "3.3621031431120935063e-4932", "3.3621031431120935063e-4932"),
	OK(IPM_LONGDOUBLE, "3.6e-4951", "4e-4951"),
	OK(IPM_LONGDOUBLE, "0.1000000000000000000001", "0.1"),
	OK(IPM_LONGDOUBLE, "12345678901234567890", "1.234567890123456789e+19"),
	OK(IPM_LONGDOUBLE, "1234567890123456.5", "1234567890123456.5"),
	OK(IPM_LONGDOUBLE, "0.00001", "1e-05"),
	OK(IPM_LONGDOUBLE, "nan", "nan"),
	OK(IPM_LONGDOUBLE, "-inf", "-inf"),
	BAD(IPM_LONGDOUBLE, "1.2e4932", -ERANGE, "value 1.2e4932 out of range for longdouble"),
	BAD(IPM_LONGDOUBLE, "1.8e-4951", -ERANGE,
	    "value 1.8e-4951 out of range for longdouble (rounds to 0)"),
	BAD(IPM_LONGDOUBLE, "", -EINVAL, "empty value"),
	NOTA(IPM_LONGDOUBLE, "0x1p3", "a longdouble"),
	NOTA(IPM_LONGDOUBLE, "1.0 ", "a longdouble"),
};

static void test_parse_table(void **state)
{
	unsigned char dst[16], pristine[16];
	char err[IPM_ERRLEN], out[64];
	size_t i;

	(void)state;
	memset(pristine, 0xa5, sizeof(pristine));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pcase *c = &cases[i];
		struct ipm_field f = field(c->kind, c->n);
		size_t len = c->len ? c->len : strlen(c->text);
		int rc;

		memcpy(dst, pristine, sizeof(dst));
		strcpy(err, "untouched");
		rc = ipm_text_parse(&f, c->text, len, dst, err);
		if (rc != c->rc)
			fail_msg("case %zu '%s': rc %d, want %d (%s)", i, c->text, rc, c->rc, err);
		if (rc < 0) {
			if (strcmp(err, c->want))
				fail_msg("case %zu: message\n  \"%s\"\nwant\n  \"%s\"", i, err,
					 c->want);
			assert_memory_equal(dst, pristine, sizeof(dst));
			continue;
		}
		assert_string_equal(err, "untouched");
		/* nothing past the field is touched */
		assert_memory_equal(dst + f.size, pristine, sizeof(dst) - f.size);
		rc = ipm_text_format(&f, dst, out, sizeof(out));
		if (rc != (int)strlen(c->want) || strcmp(out, c->want))
			fail_msg("case %zu '%s': formats as '%s' (%d), want '%s'", i, c->text, out,
				 rc, c->want);
	}
}

static void test_parse_err_null(void **state)
{
	struct ipm_field f = field(IPM_INT32, 0);
	int32_t v = 7;

	(void)state;
	assert_int_equal(ipm_text_parse(&f, "x", 1, &v, NULL), -EINVAL);
	assert_int_equal(ipm_text_parse(&f, "-12", 3, &v, NULL), 0);
	assert_int_equal(v, -12);
	/* text need not be terminated: only len bytes count */
	assert_int_equal(ipm_text_parse(&f, "4567", 2, &v, NULL), 0);
	assert_int_equal(v, 45);
}

static void test_string_fill(void **state)
{
	struct ipm_field f = field(IPM_STRING, 8);
	char dst[9], big[300], err[IPM_ERRLEN];

	(void)state;
	memset(dst, 'x', sizeof(dst));
	assert_int_equal(ipm_text_parse(&f, "ab\n", 3, dst, err), 0);
	assert_memory_equal(dst, "ab\0\0\0\0\0\0x", 9);

	f = field(IPM_STRING, 256);
	memset(big, 'a', sizeof(big));
	assert_int_equal(ipm_text_parse(&f, big, 257, big, err), -ERANGE);
	assert_string_equal(err, "text of 257 bytes too long for char[256]");
	assert_int_equal(ipm_text_parse(&f, big, 256, big, err), 0);
	big[256] = '\n';
	assert_int_equal(ipm_text_parse(&f, big, 257, big, err), 0);
}

/* A wide string's code units that are no character (written by C, or a
 * lone surrogate from Python) read as U+FFFD; the text must fit. */
static void test_wide_format(void **state)
{
	struct ipm_field f = field(IPM_WSTRING, 4);
	uint32_t w[4] = {0x41, 0xd800, 0x110000, 0x1f600};
	char buf[32];

	(void)state;
	assert_int_equal(ipm_text_format(&f, w, buf, sizeof(buf)), 1 + 3 + 3 + 4);
	assert_string_equal(buf, "A\xef\xbf\xbd\xef\xbf\xbd\xf0\x9f\x98\x80");
	assert_int_equal(ipm_text_format(&f, w, buf, 11), -ENOSPC);
	assert_string_equal(buf, "");
	w[1] = 0; /* the text ends at the first NUL, as ctypes' .value */
	assert_int_equal(ipm_text_format(&f, w, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "A");
	/* the bytes ctypes stores: UTF-32, host order, NUL padded */
	memset(w, 0xa5, sizeof(w));
	assert_int_equal(ipm_text_parse(&f, "\xc3\xa9z", 3, w, NULL), 0);
	assert_int_equal(w[0], 0xe9);
	assert_int_equal(w[1], 'z');
	assert_int_equal(w[2], 0);
	assert_int_equal(w[3], 0);
}

/* Any finite long double reads back to its bits through its text, and its
 * padding bytes are written zero. */
static void test_ldouble_round_trip(void **state)
{
	struct ipm_field f = field(IPM_LONGDOUBLE, 0);
	unsigned char a[sizeof(long double)], b[sizeof(long double)];
	char buf[IPM_SCALAR_TEXTLEN];
	unsigned seed = 12345;

	(void)state;
	for (int i = 0; i < 5000; i++) {
		long double x;
		uint64_t mant = 0;
		uint16_t se;
		int n;

		for (int k = 0; k < 4; k++)
			mant = mant << 16 | (rand_r(&seed) & 0xffff);
		se = (uint16_t)(rand_r(&seed) & 0xffff);
		if (i % 4 == 0)
			se = (uint16_t)((se & 0x8000) | (0x3fff + (rand_r(&seed) % 80) - 40));
		if ((se & 0x7fff) == 0x7fff)
			se ^= 1; /* no inf or nan */
		if (se & 0x7fff)
			mant |= UINT64_C(1) << 63; /* a normal number */
		else
			mant &= ~(UINT64_C(1) << 63); /* a subnormal */
		memset(a, 0, sizeof(a));
		memcpy(a, &mant, 8);
		memcpy(a + 8, &se, 2);
		memcpy(&x, a, sizeof(x));
		if (x == 0)
			continue;
		n = ipm_text_format(&f, a, buf, sizeof(buf));
		assert_true(n > 0 && n < (int)sizeof(buf));
		memset(b, 0xa5, sizeof(b));
		if (ipm_text_parse(&f, buf, (size_t)n, b, NULL) || memcmp(a, b, sizeof(a)))
			fail_msg("%s does not read back (case %d)", buf, i);
	}
}

static void test_format(void **state)
{
	struct ipm_field f = field(IPM_INT32, 0);
	int32_t v = 123;
	int64_t i64 = INT64_MIN;
	uint64_t u64 = UINT64_MAX;
	uint8_t b = 2;
	int8_t i8 = -128;
	char buf[64];

	(void)state;
	assert_int_equal(ipm_text_format(&f, &v, buf, 3), -ENOSPC);
	assert_string_equal(buf, "");
	assert_int_equal(ipm_text_format(&f, &v, buf, 4), 3);
	assert_string_equal(buf, "123");
	f = field(IPM_INT64, 0);
	assert_int_equal(ipm_text_format(&f, &i64, buf, sizeof(buf)), 20);
	assert_string_equal(buf, "-9223372036854775808");
	f = field(IPM_UINT64, 0);
	assert_int_equal(ipm_text_format(&f, &u64, buf, sizeof(buf)), 20);
	assert_string_equal(buf, "18446744073709551615");
	f = field(IPM_INT8, 0);
	assert_int_equal(ipm_text_format(&f, &i8, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "-128");
	f = field(IPM_BOOL, 0);
	assert_int_equal(ipm_text_format(&f, &b, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "1");

	/* a string fills its field: no NUL, all N bytes */
	f = field(IPM_STRING, 4);
	assert_int_equal(ipm_text_format(&f, "abcdef", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "abcd");
	assert_int_equal(ipm_text_format(&f, "ab\0d", buf, sizeof(buf)), 2);
	assert_string_equal(buf, "ab");
	assert_int_equal(ipm_text_format(&f, "abcd", buf, 4), -ENOSPC);
	assert_int_equal(ipm_text_format(&f, "abcd", buf, 5), 4);

	f.kind = IPM_STRUCT;
	assert_int_equal(ipm_text_format(&f, "abcd", buf, sizeof(buf)), -EINVAL);
	f.kind = IPM_ARRAY;
	assert_int_equal(ipm_text_parse(&f, "1", 1, buf, NULL), -EINVAL);
}

static void test_format_doubles(void **state)
{
	static const struct {
		double v;
		const char *text;
	} t[] = {
		{0.1, "0.1"},
		{1.0, "1.0"},
		{100.0, "100.0"},
		{1e16, "1e+16"},
		{1e15, "1000000000000000.0"},
		{123456789012345678.0, "1.2345678901234568e+17"},
		{1e-5, "1e-05"},
		{1e-4, "0.0001"},
		{0.00012345, "0.00012345"},
		{-0.0, "-0.0"},
		{INFINITY, "inf"},
		{-INFINITY, "-inf"},
		{-1e300, "-1e+300"},
		{1e100, "1e+100"},
		{DBL_MAX, "1.7976931348623157e+308"},
		{DBL_MIN, "2.2250738585072014e-308"},
		{5e-324, "5e-324"},
		{2.0 / 3, "0.6666666666666666"},
		{9007199254740993.0, "9007199254740992.0"},
		{1e23, "1e+23"},
	};
	struct ipm_field f = field(IPM_DOUBLE, 0);
	char buf[IPM_SCALAR_TEXTLEN];
	double nan_v = NAN;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(ipm_text_format(&f, &t[i].v, buf, sizeof(buf)), strlen(t[i].text));
		assert_string_equal(buf, t[i].text);
	}
	assert_int_equal(ipm_text_format(&f, &nan_v, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "nan");
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	/* xorshift64: reproducible, no global libc state touched */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The n-th of the doubles the comparisons use: random bits, powers of two
 * (where the round-trip interval is lopsided) and their neighbours,
 * subnormals, and short decimals. */
static double sample_double(unsigned i)
{
	uint64_t bits = rnd();
	double d;

	switch (i % 6) {
	case 0:
	case 1:
		break;
	case 2: /* 2^k and one ulp around it */
		bits = ((uint64_t)(bits % 2046 + 1) << 52) + (bits >> 62) - 1;
		break;
	case 3: /* subnormals */
		bits &= (1ull << 52) - 1;
		bits >>= rnd() % 52;
		break;
	case 4: { /* short decimals */
		int e = (int)(rnd() % 40) - 20;

		d = (double)(bits % 100000);
		for (; e > 0; e--)
			d *= 10;
		for (; e < 0; e++)
			d /= 10;
		return i & 8 ? -d : d;
	}
	default: /* near 1: fixed notation */
		bits = (bits & ((1ull << 52) - 1)) | ((uint64_t)(1023 - 20 + rnd() % 60) << 52);
		break;
	}
	memcpy(&d, &bits, 8);
	return d;
}

static void test_round_trip(void **state)
{
	struct ipm_field fd = field(IPM_DOUBLE, 0), ff = field(IPM_FLOAT, 0);
	char buf[IPM_SCALAR_TEXTLEN], err[IPM_ERRLEN];
	unsigned i;
	int n;

	(void)state;
	for (i = 0; i < 20000; i++) {
		double d = sample_double(i), back;
		float fl = (float)(i % 7 ? d : 0), fback;
		uint32_t fbits = (uint32_t)rnd();

		if (i % 3 == 0)
			memcpy(&fl, &fbits, 4);
		n = ipm_text_format(&fd, &d, buf, sizeof(buf));
		assert_true(n > 0 && n < (int)sizeof(buf));
		if (ipm_text_parse(&fd, buf, n, &back, err) < 0)
			fail_msg("'%s' does not parse: %s", buf, err);
		if (!isnan(d) && memcmp(&d, &back, 8))
			fail_msg("%a -> '%s' -> %a", d, buf, back);

		n = ipm_text_format(&ff, &fl, buf, sizeof(buf));
		assert_true(n > 0 && n < (int)sizeof(buf));
		if (ipm_text_parse(&ff, buf, n, &fback, err) < 0)
			fail_msg("'%s' does not parse: %s", buf, err);
		if (!isnan(fl) && memcmp(&fl, &fback, 4))
			fail_msg("%a -> '%s' -> %a", fl, buf, fback);
	}
	for (i = 0; i < 2000; i++) {
		struct ipm_field fi = field((enum ipm_kind)(i % 8), 0);
		uint64_t v = rnd(), w = 0;

		n = ipm_text_format(&fi, &v, buf, sizeof(buf));
		assert_int_equal(ipm_text_parse(&fi, buf, n, &w, err), 0);
		assert_memory_equal(&v, &w, fi.size);
	}
}

/* Expectations computed by Python: repr() for doubles; for floats, the
 * shortest correctly rounded digits found with exact fractions (Python has
 * no float32 repr), printed with repr(). */
static const char py_script[] =
	"import sys, struct\n"
	"from fractions import Fraction as F\n"
	"from decimal import Decimal as D, getcontext\n"
	"getcontext().prec = 60\n"
	"def f32(b): return struct.unpack('<f', struct.pack('<I', b))[0]\n"
	"def rounds_to(s, b):\n"
	"    v = F(f32(b)); q = F(s)\n"
	"    lo = (v + F(f32(b - 1))) / 2 if b > 0 else F(0)\n"
	"    hi = (v + F(f32(b + 1))) / 2 if b < 0x7f7fffff else v + F(2) ** 103\n"
	"    if lo < q < hi: return True\n"
	"    return (q == lo or q == hi) and b % 2 == 0\n"
	"def shortest32(b):\n"
	"    v = f32(b)\n"
	"    for p in range(1, 10):\n"
	"        c = D('%.*e' % (p - 1, v))\n"
	"        ulp = D(1).scaleb(c.adjusted() - p + 1)\n"
	"        down = c - (ulp / 10 if c == D(1).scaleb(c.adjusted()) else ulp)\n"
	"        for s in (c, c + ulp, down):\n"
	"            if rounds_to(s, b): return repr(float(s))\n"
	"for line in sys.stdin:\n"
	"    k, h = line.split()\n"
	"    if k == 'd':\n"
	"        print(repr(struct.unpack('<d', bytes.fromhex(h))[0]))\n"
	"    else:\n"
	"        b = int(h, 16); neg = b >> 31; b &= 0x7fffffff\n"
	"        if b >= 0x7f800000 or b == 0: print(repr(f32(b | neg << 31)))\n"
	"        else: print(('-' if neg else '') + shortest32(b))\n";

static void test_python_repr(void **state)
{
	const char *py = getenv("PYTHON") ? getenv("PYTHON") : "python3";
	char dir[] = "/tmp/ipmvalueXXXXXX", in[64], script[64], cmd[256], line[64];
	char buf[IPM_SCALAR_TEXTLEN];
	struct ipm_field fd = field(IPM_DOUBLE, 0), ff = field(IPM_FLOAT, 0);
	enum { ND = 3000, NF = 1500 };
	static double ds[ND];
	static uint32_t fs[NF];
	unsigned i, bad = 0;
	FILE *fp;

	(void)state;
	snprintf(cmd, sizeof(cmd), "%s -c '' 2>/dev/null", py);
	if (system(cmd) != 0) {
		print_message("%s not found: skipping the comparison with Python\n", py);
		skip();
	}
	assert_non_null(mkdtemp(dir));
	snprintf(in, sizeof(in), "%s/in", dir);
	snprintf(script, sizeof(script), "%s/repr.py", dir);
	fp = fopen(script, "w");
	assert_non_null(fp);
	fputs(py_script, fp);
	fclose(fp);
	fp = fopen(in, "w");
	assert_non_null(fp);
	for (i = 0; i < ND; i++) {
		uint64_t bits;

		ds[i] = sample_double(i);
		memcpy(&bits, &ds[i], 8);
		/* little-endian hex for bytes.fromhex */
		fprintf(fp, "d ");
		for (int k = 0; k < 8; k++)
			fprintf(fp, "%02x", (unsigned)(bits >> (8 * k)) & 0xff);
		fprintf(fp, "\n");
	}
	for (i = 0; i < NF; i++) {
		float f = (float)sample_double(i);

		memcpy(&fs[i], &f, 4);
		if (i % 4 == 0)
			fs[i] = (uint32_t)rnd();
		if (i % 4 == 1) /* normal, any exponent */
			fs[i] = (fs[i] & 0x807fffff) | ((uint32_t)(rnd() % 254 + 1) << 23);
		if (i % 8 == 2) /* subnormal */
			fs[i] = (uint32_t)rnd() & 0x807fffff;
		if (i % 8 == 6) /* a power of two, or one ulp below it */
			fs[i] = ((uint32_t)(rnd() % 253 + 1) << 23) - (i & 16 ? 1 : 0);
		fprintf(fp, "f %08x\n", fs[i]);
	}
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "%s %s < %s", py, script, in);
	fp = popen(cmd, "r");
	assert_non_null(fp);
	for (i = 0; i < ND + NF && fgets(line, sizeof(line), fp); i++) {
		line[strcspn(line, "\n")] = '\0';
		if (i < ND)
			ipm_text_format(&fd, &ds[i], buf, sizeof(buf));
		else
			ipm_text_format(&ff, &fs[i - ND], buf, sizeof(buf));
		if (strcmp(buf, line) && bad++ < 10)
			print_message("%s %u: ours '%s', python '%s'\n",
				      i < ND ? "double" : "float", i, buf, line);
	}
	assert_int_equal(pclose(fp), 0);
	unlink(in);
	unlink(script);
	rmdir(dir);
	assert_int_equal(i, ND + NF);
	assert_int_equal(bad, 0);
}

/* Not a pass/fail test (sanitizers and valgrind slow it down): prints what
 * formatting a double costs, for the README's claim. */
static void test_format_speed(void **state)
{
	struct ipm_field f = field(IPM_DOUBLE, 0);
	char buf[IPM_SCALAR_TEXTLEN];
	struct timespec a, b;
	enum { N = 100000 };
	unsigned i;
	long sum = 0;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < N; i++) {
		uint64_t bits = (rnd() & 0x3fffffffffffffffu) | 0x3000000000000000u;
		double d;

		memcpy(&d, &bits, 8);
		sum += ipm_text_format(&f, &d, buf, sizeof(buf));
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(sum > 0);
	print_message("formatting a random double: %.0f ns\n",
		      ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / N);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),    cmocka_unit_test(test_parse_err_null),
		cmocka_unit_test(test_string_fill),    cmocka_unit_test(test_format),
		cmocka_unit_test(test_wide_format),    cmocka_unit_test(test_ldouble_round_trip),
		cmocka_unit_test(test_format_doubles), cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_python_repr),    cmocka_unit_test(test_format_speed),
	};

	return cmocka_run_group_tests_name("value", tests, NULL, NULL);
}
