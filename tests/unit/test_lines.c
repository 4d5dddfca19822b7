/*
 * test_lines.c - the "path = value" line format (lines.c): the exact text,
 * escapes that keep a string on its line, subtrees, the longest text and
 * -ENOSPC at its edge; parsing with comments, CRLF, header lines ignored,
 * text in pieces, messages with name and line; applying all under one write
 * lock, and what it refuses.
 */
#include "unit.h"

#include <errno.h>

static const char schema_text[] = "[P]\nx = double\ny = int8\n"
				  "[S]\nheader = MmapStructureHeader\nn = int32\n"
				  "s = char[8]\np = P[2]\nb = bool\n";

/* The bytes of an S with n, s and p[1].x set. */
static void fill(const ipm_type *t, unsigned char *bytes, int32_t n, const char *s, double x)
{
	struct ipm_field f;

	memset(bytes, 0, ipm_type_size(t));
	assert_int_equal(ipm_type_resolve(t, "n", &f, NULL), 0);
	memcpy(bytes + f.offset, &n, sizeof(n));
	assert_int_equal(ipm_type_resolve(t, "s", &f, NULL), 0);
	memcpy(bytes + f.offset, s, strnlen(s, f.size));
	assert_int_equal(ipm_type_resolve(t, "p[1].x", &f, NULL), 0);
	memcpy(bytes + f.offset, &x, sizeof(x));
}

static void test_format(void **state)
{
	ipm_schema *sc = unit_schema(schema_text, "s.ini");
	const ipm_type *t = ipm_schema_find(sc, "S");
	unsigned char bytes[128];
	char buf[1024];
	ssize_t n;

	(void)state;
	assert_true(ipm_type_size(t) <= sizeof(bytes));
	fill(t, bytes, -7, "a\nb=\\\r", 2.5);
	n = ipm_values_format(t, NULL, bytes, buf, sizeof(buf));
	assert_string_equal(buf, "header.header_code = 0\n"
				 "header.time_stamp = 0.0\n"
				 "n = -7\n"
				 "s = a\\nb=\\\\\\r\n"
				 "p[0].x = 0.0\n"
				 "p[0].y = 0\n"
				 "p[1].x = 2.5\n"
				 "p[1].y = 0\n"
				 "b = 0\n");
	assert_int_equal(n, (ssize_t)strlen(buf));
	/* "" is the whole instance too; a full buffer is -ENOSPC, exactly. */
	assert_int_equal(ipm_values_format(t, "", bytes, buf, sizeof(buf)), n);
	assert_int_equal(ipm_values_format(t, NULL, bytes, buf, (size_t)n + 1), n);
	assert_int_equal(ipm_values_format(t, NULL, bytes, buf, (size_t)n), -ENOSPC);
	assert_int_equal(ipm_values_format(t, NULL, bytes, buf, 0), -ENOSPC);
	/* A subtree, a leaf, and the path as given. */
	assert_int_equal(ipm_values_format(t, "p[1]", bytes, buf, sizeof(buf)), 24);
	assert_string_equal(buf, "p[1].x = 2.5\np[1].y = 0\n");
	ipm_values_format(t, "p", bytes, buf, sizeof(buf));
	assert_string_equal(buf, "p[0].x = 0.0\np[0].y = 0\np[1].x = 2.5\np[1].y = 0\n");
	ipm_values_format(t, "n", bytes, buf, sizeof(buf));
	assert_string_equal(buf, "n = -7\n");
	assert_int_equal(ipm_values_format(t, "nosuch", bytes, buf, sizeof(buf)), -ENOENT);
	assert_int_equal(ipm_values_format(t, "p[2]", bytes, buf, sizeof(buf)), -ERANGE);
	assert_int_equal(ipm_values_textlen(t, "nosuch"), 0);
	ipm_schema_free(sc);
}

/* The longest values there are fit in ipm_values_textlen(), which is not
 * much more than they need. */
static void test_textlen(void **state)
{
	ipm_schema *sc = unit_schema("[Q]\na = int64\nb = double\ns = char[5]\n"
				     "[R]\nq = Q[12]\nm = int8[3][11]\n", "r.ini");
	const ipm_type *t = ipm_schema_find(sc, "R");
	size_t len = ipm_values_textlen(t, NULL), sub = ipm_values_textlen(t, "q[10]");
	unsigned char *bytes = malloc(ipm_type_size(t));
	char *buf = malloc(len);
	struct ipm_field f;
	ssize_t n;

	(void)state;
	assert_non_null(bytes);
	assert_non_null(buf);
	for (size_t i = 0; i < 12; i++) {
		char p[32];
		int64_t a = INT64_MIN;
		double b = -2.2250738585072014e-308;

		snprintf(p, sizeof(p), "q[%zu].a", i);
		assert_int_equal(ipm_type_resolve(t, p, &f, NULL), 0);
		memcpy(bytes + f.offset, &a, sizeof(a));
		snprintf(p, sizeof(p), "q[%zu].b", i);
		assert_int_equal(ipm_type_resolve(t, p, &f, NULL), 0);
		memcpy(bytes + f.offset, &b, sizeof(b));
		snprintf(p, sizeof(p), "q[%zu].s", i);
		assert_int_equal(ipm_type_resolve(t, p, &f, NULL), 0);
		memcpy(bytes + f.offset, "\xff\x01\xfe\x7f\x80", 5); /* each \xHH */
	}
	assert_int_equal(ipm_type_resolve(t, "m", &f, NULL), 0);
	memset(bytes + f.offset, 0x80, f.size); /* -128 */
	n = ipm_values_format(t, NULL, bytes, buf, len);
	assert_true(n > 0);
	assert_true((size_t)n < len && len < (size_t)n * 2);
	n = ipm_values_format(t, "q[10]", bytes, buf, sub);
	assert_true(n > 0 && (size_t)n < sub);
	free(buf);
	free(bytes);
	ipm_schema_free(sc);
}

/* A wide string's line: UTF-8, escaped as a string's, read back; the
 * longest (every character a backslash or 4 bytes of UTF-8) fits the room
 * ipm_values_textlen() gives; a long double line too. */
static void test_wide(void **state)
{
	ipm_schema *sc = unit_schema("[W]\nw = c_wchar * 4\nld = c_longdouble\n", "w.ini");
	const ipm_type *t = ipm_schema_find(sc, "W");
	uint32_t in[4] = {'a', '\\', '\n', 0x1f600};
	long double ld = -0.1L;
	unsigned char bytes[32] = {0}, back[32];
	struct ipm_values v = {.bytes = back};
	char buf[256], err[IPM_ERRLEN];
	size_t len = ipm_values_textlen(t, NULL);
	ssize_t n;

	(void)state;
	memcpy(bytes, in, sizeof(in));
	memcpy(bytes + 16, &ld, 10);
	n = ipm_values_format(t, NULL, bytes, buf, sizeof(buf));
	assert_int_equal(n, (ssize_t)strlen(buf));
	assert_string_equal(buf, "w = a\\\\\\n\xf0\x9f\x98\x80\nld = -0.1\n");
	memset(back, 0xa5, sizeof(back));
	assert_int_equal(ipm_values_parse(t, buf, (size_t)n, &v, err), 0);
	assert_memory_equal(back, bytes, 16);
	assert_memory_equal(back + 16, bytes + 16, 10);
	for (int i = 0; i < 4; i++)
		in[i] = i % 2 ? '\\' : 0x10ffff;
	memcpy(bytes, in, sizeof(in));
	n = ipm_values_format(t, NULL, bytes, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n < len);
	memset(&v, 0, sizeof(v));
	v.bytes = back;
	assert_int_equal(ipm_values_parse(t, "w = abcde\n", 10, &v, err), -ERANGE);
	assert_string_equal(err, "line:1: w: text of 5 characters too long for wchar[4]");
	ipm_schema_free(sc);
}

/* C1 controls (U+0080..U+009F) drive a terminal as C0 ones do (U+009B is
 * CSI): written \xc2\xHH in a char[N] and a wchar[N] alike, read back as
 * they were; a wchar[N] all of them fits ipm_values_textlen(). */
static void test_c1(void **state)
{
	ipm_schema *sc = unit_schema("[C]\ns = char[4]\nw = c_wchar * 3\n", "c.ini");
	const ipm_type *t = ipm_schema_find(sc, "C");
	uint32_t in[3] = {0x9b, 0x85, 0xa0};
	unsigned char bytes[16] = {0xc2, 0x9b, 'x'}, back[16];
	struct ipm_values v = {.bytes = back};
	size_t len = ipm_values_textlen(t, NULL);
	char buf[256], err[IPM_ERRLEN];
	ssize_t n;

	(void)state;
	assert_int_equal(ipm_type_size(t), 16);
	memcpy(bytes + 4, in, sizeof(in));
	n = ipm_values_format(t, NULL, bytes, buf, sizeof(buf));
	assert_string_equal(buf, "s = \\xc2\\x9bx\nw = \\xc2\\x9b\\xc2\\x85\xc2\xa0\n");
	memset(back, 0xa5, sizeof(back));
	assert_int_equal(ipm_values_parse(t, buf, (size_t)n, &v, err), 0);
	assert_memory_equal(back, bytes, sizeof(bytes));
	for (int i = 0; i < 3; i++)
		in[i] = 0x80 + (uint32_t)i;
	memcpy(bytes + 4, in, sizeof(in));
	memset(bytes, 0x80, 4);
	n = ipm_values_format(t, NULL, bytes, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n < len);
	ipm_schema_free(sc);
}

/* What ipm_values_format() wrote, applied to the instance it came from,
 * changes nothing, a union's too: its members are lines over the same bytes,
 * and a later member that says what the earlier ones already wrote must not
 * rewrite them (a string member would cut what follows its NUL). A member
 * line that does say something new wins, as the last line always has. */
static void test_union_round_trip(void **state)
{
	static const char text[] = "[Q]\na = int32\nb = int32\n"
				   "[U : Union]\ni = int64\nq = Q\ns = char[8]\n"
				   "[T]\nheader = MmapStructureHeader\nu = U\nz = int8\nv = U[2]\n";
	struct unit_inst u = {0};
	unsigned char bytes[128], back[128], after[128];
	struct ipm_field fields[64];
	struct ipm_values v = {.bytes = back, .fields = fields, .cap = 64};
	char buf[4096], err[IPM_ERRLEN];
	ssize_t n;

	(void)state;
	assert_int_equal(unit_inst_open(&u, text, "T", "union", 0), 0);
	const ipm_type *t = ipm_map_type(u.m);
	size_t size = ipm_type_size(t);

	assert_true(size <= sizeof(bytes));
	memset(bytes, 0, sizeof(bytes));
	for (size_t i = 16; i < size; i++)
		bytes[i] = (unsigned char)('A' + i * 7 % 26); /* strings must be text */
	bytes[16 + 2] = 0; /* u.s ends early: what follows its NUL is i's */
	bytes[32 + 1] = 0; /* v[0].s too */
	assert_int_equal(ipm_lock_write(u.m, -1), 0);
	memcpy((unsigned char *)ipm_map_data(u.m) + 16, bytes + 16, size - 16);
	ipm_unlock(u.m);
	n = ipm_values_format(t, NULL, bytes, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(ipm_values_parse(t, buf, (size_t)n, &v, err), 0);
	assert_int_equal(ipm_values_apply(u.m, &v), 0);
	assert_int_equal(ipm_map_copy(u.m, after, size), 0);
	assert_memory_equal(after + 16, bytes + 16, size - 16);

	/* In pieces, v built again for each as the mount does (reach not kept). */
	const char *cut = strstr(buf, "u.s = ");
	size_t first = (size_t)(cut - buf), nset, lines;

	memset(&v, 0, sizeof(v));
	v.bytes = back;
	v.fields = fields;
	v.cap = 64;
	assert_int_equal(ipm_values_parse(t, buf, first, &v, err), 0);
	nset = v.n;
	lines = v.lines;
	memset(&v, 0, sizeof(v));
	v = (struct ipm_values){.bytes = back, .fields = fields, .cap = 64, .n = nset,
				.lines = (unsigned)lines};
	assert_int_equal(ipm_values_parse(t, cut, (size_t)n - first, &v, err), 0);
	assert_int_equal(ipm_values_apply(u.m, &v), 0);
	assert_int_equal(ipm_map_copy(u.m, after, size), 0);
	assert_memory_equal(after + 16, bytes + 16, size - 16);

	memset(&v, 0, sizeof(v));
	v.bytes = back;
	v.fields = fields;
	v.cap = 64;
	assert_int_equal(ipm_values_parse(t, "u.i = 7\nu.s = ab\n", 17, &v, err), 0);
	assert_int_equal(v.n, 2);
	assert_int_equal(ipm_values_apply(u.m, &v), 0);
	assert_int_equal(ipm_read_text(u.m, "u.s", buf, sizeof(buf)), 2);
	assert_int_equal(ipm_read_text(u.m, "u.i", buf, sizeof(buf)), 5);
	assert_string_equal(buf, "25185"); /* "ab" and six NULs */
	unit_inst_close(&u);
}

/* A text in any order parses in time linear in its lines when they lie in
 * no union (one is beside them): only a union's members are lines over the
 * same bytes (a reversed text of 200000 elements took 16 s, each line
 * looked through all the lines before it). */
static void test_reversed_order_linear(void **state)
{
	enum { N = 200000 };
	ipm_schema *sc = unit_schema("[Q : Union]\na = int8\nb = int8\n"
				     "[B]\nq = Q\nx = int32[200000]\n", "big.ini");
	const ipm_type *t = ipm_schema_find(sc, "B");
	struct ipm_values v = {0};
	char *text = malloc((size_t)N * 24), err[IPM_ERRLEN];
	size_t n = 0;
	int64_t t0;

	(void)state;
	assert_non_null(text);
	for (long i = N - 1; i >= 0; i--)
		n += (size_t)sprintf(text + n, "x[%ld] = %ld\n", i, i);
	v.bytes = calloc(1, ipm_type_size(t));
	v.fields = calloc(N, sizeof(*v.fields));
	v.cap = N;
	t0 = unit_now_ns();
	assert_int_equal(ipm_values_parse(t, text, n, &v, err), 0);
	assert_true(unit_now_ns() - t0 < 5000000000LL); /* linear: tens of ms */
	assert_int_equal(v.n, N);
	free(v.fields);
	free(v.bytes);
	free(text);
	ipm_schema_free(sc);
}

/* Parses text into a fresh v over bytes: the result, err in msg. */
static int parse(const ipm_type *t, const char *text, unsigned char *bytes,
		 struct ipm_field *fields, struct ipm_values *v, char *msg)
{
	memset(v, 0, sizeof(*v));
	v->bytes = bytes;
	v->fields = fields;
	v->cap = 8;
	v->name = "in.txt";
	memset(bytes, 0, 128);
	msg[0] = '\0';
	return ipm_values_parse(t, text, strlen(text), v, msg);
}

/* A char[N] holds bytes, as ctypes' c_char * N: what is not UTF-8 and what
 * would drive a terminal is written \xHH, and read back as the same bytes,
 * so a dump of what a Python peer stored goes back as it is. Literal text
 * must still be UTF-8; an escape may not make a NUL. */
static void test_binary_strings(void **state)
{
	ipm_schema *sc = unit_schema(schema_text, "s.ini");
	const ipm_type *t = ipm_schema_find(sc, "S");
	unsigned char bytes[128], back[128];
	struct ipm_field fields[8], f;
	struct ipm_values v;
	char buf[1024], msg[IPM_ERRLEN];
	ssize_t n;

	(void)state;
	fill(t, bytes, 1, "\xff\x1b[2J\xc3\xa9\x7f", 0);
	assert_int_equal(ipm_type_resolve(t, "s", &f, NULL), 0);
	n = ipm_values_format(t, "s", bytes, buf, sizeof(buf));
	assert_string_equal(buf, "s = \\xff\\x1b[2J\xc3\xa9\\x7f\n");
	assert_int_equal(parse(t, buf, back, fields, &v, msg), 0);
	assert_int_equal(v.n, 1);
	assert_memory_equal(back + f.offset, bytes + f.offset, f.size);
	assert_int_equal(parse(t, "s = \\x41\\x62\n", back, fields, &v, msg), 0);
	assert_memory_equal(back + f.offset, "Ab\0\0\0\0\0\0", 8);
	assert_int_equal(parse(t, "s = \xff\n", back, fields, &v, msg), -EINVAL);
	assert_string_equal(msg, "in.txt:1: s: text is not valid UTF-8 at offset 0");
	assert_int_equal(parse(t, "s = a\\x00\n", back, fields, &v, msg), -EINVAL);
	assert_string_equal(msg, "in.txt:1: s: text has a NUL byte at offset 1");
	assert_int_equal(parse(t, "s = \\xZZ\n", back, fields, &v, msg), -EINVAL);
	assert_string_equal(msg, "in.txt:1: s: bad escape (only \\\\, \\n, \\r and \\xHH)");
	assert_int_equal(parse(t, "s = \\x4\n", back, fields, &v, msg), -EINVAL);
	assert_int_equal(parse(t, "s = \\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\n", back, fields,
			       &v, msg), -ERANGE);
	assert_string_equal(msg, "in.txt:1: s: text of 9 bytes too long for char[8]");
	(void)n;
	ipm_schema_free(sc);
}

static void test_parse(void **state)
{
	ipm_schema *sc = unit_schema(schema_text, "s.ini");
	const ipm_type *t = ipm_schema_find(sc, "S");
	unsigned char bytes[128], want[128];
	struct ipm_field fields[8];
	char msg[IPM_ERRLEN], buf[1024];
	struct ipm_values v;

	(void)state;
	/* What format writes reads back; header lines are checked, not taken. */
	fill(t, want, -7, "a\nb=\\\r", 2.5);
	ipm_values_format(t, NULL, want, buf, sizeof(buf));
	assert_int_equal(parse(t, buf, bytes, fields, &v, msg), 0);
	assert_int_equal(v.lines, 9);
	assert_int_equal(v.n, 7);
	assert_int_equal(fields[0].offset, 16); /* n, after the header */
	assert_memory_equal(bytes + 16, want + 16, ipm_type_size(t) - 16);

	/* inih's conventions: comments, blanks, spaces, CRLF; a string keeps
	 * what follows "= ". */
	assert_int_equal(parse(t, "; c\n# c\n\n  n\t=  5 \r\ns =  two \r\n", bytes, fields, &v, msg),
			 0);
	assert_int_equal(v.lines, 5);
	assert_int_equal(v.n, 2);
	assert_int_equal(*(int32_t *)(bytes + 16), 5);
	assert_string_equal((char *)bytes + fields[1].offset, " two ");

	/* Bad lines: the message names the text, the line and the path. */
	assert_int_equal(parse(t, "n = 1\nn = x\n", bytes, fields, &v, msg), -EINVAL);
	assert_string_equal(msg, "in.txt:2: n: 'x' is not an int32");
	assert_int_equal(v.lines, 1);
	assert_int_equal(parse(t, "n 1\n", bytes, fields, &v, msg), -EINVAL);
	assert_string_equal(msg, "in.txt:1: 'n 1': no '=' in line");
	assert_int_equal(parse(t, "p = 1\n", bytes, fields, &v, msg), -EINVAL);
	assert_string_equal(msg, "in.txt:1: p: not a field but a array");
	assert_int_equal(parse(t, "q = 1\n", bytes, fields, &v, msg), -EINVAL);
	assert_contains(msg, "in.txt:1: ");
	assert_contains(msg, "q");
	assert_int_equal(parse(t, "s = a\\tb\n", bytes, fields, &v, msg), -EINVAL);
	assert_string_equal(msg, "in.txt:1: s: bad escape (only \\\\, \\n, \\r and \\xHH)");
	assert_int_equal(parse(t, "s = a\\\n", bytes, fields, &v, msg), -EINVAL);
	assert_int_equal(parse(t, "b = 1\nn = 300000000000\n", bytes, fields, &v, msg), -ERANGE);
	assert_contains(msg, "in.txt:2: n: ");
	assert_int_equal(parse(t, "header.header_code = x\n", bytes, fields, &v, msg), -EINVAL);
	assert_int_equal(ipm_values_parse(t, "n = 5\0x\n", 8, &v, msg), -EINVAL);
	assert_string_equal(msg, "in.txt:1: NUL byte in line");

	/* More fields than room. */
	parse(t, "", bytes, fields, &v, msg);
	v.cap = 1;
	assert_int_equal(ipm_values_parse(t, "n = 1\nb = 1\n", 12, &v, msg), -ENOSPC);
	assert_string_equal(msg, "in.txt:2: more fields than room for them (1)");

	/* In pieces, as write() brings them: the line count carries on. */
	parse(t, "n = 1\n", bytes, NULL, &v, msg);
	assert_int_equal(v.n, 0); /* no fields: only checked */
	assert_int_equal(ipm_values_parse(t, "b = 1\nb = 2\n", 12, &v, msg), -EINVAL);
	assert_contains(msg, "in.txt:3: b: ");
	v.name = NULL;
	assert_int_equal(ipm_values_parse(t, "b = 2\n", 6, &v, msg), -EINVAL);
	assert_contains(msg, "line:3: b: ");
	assert_int_equal(ipm_values_parse(t, "b = 1", 5, &v, NULL), 0);
	ipm_schema_free(sc);
}

static void test_apply(void **state)
{
	struct unit_inst u = {0};
	struct ipm_field fields[8], f;
	unsigned char bytes[128];
	char msg[IPM_ERRLEN], text[64];
	struct ipm_values v;
	ipm_map *r;
	double ts;

	(void)state;
	assert_int_equal(unit_inst_open(&u, schema_text, "S", "lines", 0), 0);
	const ipm_type *t = ipm_map_type(u.m);

	/* Nothing to write: not even the time stamp changes. */
	ipm_lock_write(u.m, -1);
	ipm_map_clear(u.m);
	ipm_unlock(u.m);
	assert_int_equal(parse(t, "# nothing\n", bytes, fields, &v, msg), 0);
	assert_int_equal(ipm_values_apply(u.m, &v), 0);
	ipm_map_timestamp(u.m, &ts);
	assert_true(ts == 0);

	assert_int_equal(parse(t, "n = 42\ns = hi\\n\nn = 43\n", bytes, fields, &v, msg), 0);
	assert_int_equal(ipm_values_apply(u.m, &v), 0); /* takes the lock itself */
	assert_int_equal(ipm_lock_held(u.m), 0);
	assert_int_equal(ipm_read_text(u.m, "n", text, sizeof(text)), 2);
	assert_string_equal(text, "43");
	ipm_read_text(u.m, "s", text, sizeof(text));
	assert_string_equal(text, "hi\n");
	ipm_map_timestamp(u.m, &ts);
	assert_true(ts > 0);

	/* Under the write lock it holds: the lock stays. */
	assert_int_equal(parse(t, "b = 1\n", bytes, fields, &v, msg), 0);
	ipm_lock_write(u.m, -1);
	assert_int_equal(ipm_values_apply(u.m, &v), 0);
	assert_int_equal(ipm_lock_held(u.m), 2);
	ipm_unlock(u.m);

	/* Refused: under the read lock, through a reader. */
	ipm_lock_read(u.m, -1);
	assert_int_equal(ipm_values_apply(u.m, &v), -EPERM);
	assert_contains(ipm_map_errmsg(u.m), "handle holds only the read lock");
	ipm_unlock(u.m);
	r = unit_open(u.s, "S", "", IPM_READER, &u.opts);
	assert_non_null(r);
	assert_int_equal(ipm_values_apply(r, &v), -EACCES);
	assert_contains(ipm_map_errmsg(r), "handle is a reader");
	ipm_map_free(r);
	assert_int_equal(ipm_map_resolve(u.m, "b", &f), 0);
	unit_inst_close(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_textlen),
		cmocka_unit_test(test_wide),
		cmocka_unit_test(test_c1),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_union_round_trip),
		cmocka_unit_test(test_binary_strings),
		cmocka_unit_test(test_reversed_order_linear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
