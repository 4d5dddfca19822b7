/*
 * test_schema.c - schema files: good inputs (demo, inheritance, forward
 * references, ctypes spellings, text in memory, several files), and every
 * error case with its exact message and line, all or nothing.
 */
#include "unit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

static ipm_schema *demo(void)
{
	ipm_schema *s = ipm_schema_new();

	assert_non_null(s);
	if (ipm_schema_load_file(s, "conf/demo.ini"))
		fail_msg("%s", ipm_schema_errmsg(s));
	return s;
}

/* Loads text, failing the test with the message if it does not load. */
static void load_ok(ipm_schema *s, const char *text)
{
	if (ipm_schema_load_string(s, text, "test.ini"))
		fail_msg("%s", ipm_schema_errmsg(s));
}

/* Type name of field i of structure name. */
static const char *ftype(const ipm_schema *s, const char *name, size_t i)
{
	return ipm_type_name(ipm_type_field_type(ipm_schema_find(s, name), i));
}

static void test_new(void **state)
{
	ipm_schema *s = ipm_schema_new();
	const ipm_type *h;

	(void)state;
	assert_int_equal(ipm_schema_count(s), 1);
	h = ipm_schema_at(s, 0);
	assert_ptr_equal(h, ipm_schema_find(s, IPM_HEADER_STRUCT));
	assert_string_equal(ipm_type_name(h), "MmapStructureHeader");
	assert_int_equal(ipm_type_kind(h), IPM_STRUCT);
	assert_int_equal(ipm_type_size(h), 16);
	assert_int_equal(ipm_type_align(h), 8);
	assert_int_equal(ipm_type_nfields(h), 2);
	assert_string_equal(ipm_type_field_name(h, 0), "header_code");
	assert_int_equal(ipm_type_kind(ipm_type_field_type(h, 0)), IPM_INT16);
	assert_int_equal(ipm_type_field_offset(h, 0), 0);
	assert_string_equal(ipm_type_field_name(h, 1), "time_stamp");
	assert_int_equal(ipm_type_kind(ipm_type_field_type(h, 1)), IPM_DOUBLE);
	assert_int_equal(ipm_type_field_offset(h, 1), 8);
	assert_null(ipm_type_field_name(h, 2));
	assert_null(ipm_type_base(h));
	assert_string_equal(ipm_type_file(h), "<builtin>");
	assert_int_equal(ipm_type_line(h), 0);
	assert_false(ipm_type_mappable(h));
	assert_null(ipm_schema_at(s, 1));
	assert_null(ipm_schema_find(s, "Point2D"));
	assert_string_equal(ipm_schema_errmsg(s), "");
	ipm_schema_free(s);
	ipm_schema_free(NULL);
}

static void test_demo(void **state)
{
	ipm_schema *s = demo();
	const ipm_type *d = ipm_schema_find(s, "DemoMmapStructure");
	const size_t offsets[] = {0, 16, 20, 280, 296};
	const char *names[] = {"header", "data_int", "data_string", "data_xy", "multi_pts"};
	const ipm_type *str, *pts;
	size_t i;

	(void)state;
	assert_int_equal(ipm_schema_count(s), 4);
	assert_string_equal(ipm_type_name(ipm_schema_at(s, 1)), "Point2D");
	assert_string_equal(ipm_type_name(ipm_schema_at(s, 2)), "MultiPointsData");
	assert_ptr_equal(ipm_schema_at(s, 3), d);
	assert_int_equal(ipm_type_size(d), 688);
	assert_int_equal(ipm_type_nfields(d), 5);
	for (i = 0; i < 5; i++) {
		assert_string_equal(ipm_type_field_name(d, i), names[i]);
		assert_int_equal(ipm_type_field_offset(d, i), offsets[i]);
	}
	assert_ptr_equal(ipm_type_field_type(d, 0), ipm_schema_at(s, 0));
	str = ipm_type_field_type(d, 2);
	assert_int_equal(ipm_type_kind(str), IPM_STRING);
	assert_int_equal(ipm_type_count(str), 256);
	assert_int_equal(ipm_type_size(str), 256);
	assert_string_equal(ipm_type_name(str), "char[256]");
	pts = ipm_type_field_type(ipm_schema_find(s, "MultiPointsData"), 1);
	assert_int_equal(ipm_type_kind(pts), IPM_ARRAY);
	assert_int_equal(ipm_type_count(pts), 24);
	assert_ptr_equal(ipm_type_elem(pts), ipm_schema_find(s, "Point2D"));
	assert_int_equal(ipm_type_size(pts), 384);
	assert_true(ipm_type_mappable(d));
	assert_false(ipm_type_mappable(ipm_schema_find(s, "Point2D")));
	assert_false(ipm_type_mappable(str));
	assert_string_equal(ipm_type_file(d), "conf/demo.ini");
	assert_int_equal(ipm_type_line(d), 17);
	assert_int_equal(ipm_type_line(ipm_schema_find(s, "Point2D")), 9);
	assert_string_equal(ipm_type_file(str), "<builtin>");
	assert_int_equal(ipm_type_line(str), 0);
	assert_string_equal(ipm_schema_errmsg(s), "");
	ipm_schema_free(s);
}

static void test_inheritance(void **state)
{
	ipm_schema *s = demo();
	const ipm_type *b, *d, *e, *x;

	(void)state;
	load_ok(s, "[Derived : Base]   ; base defined below\n"
		   "c = int8\n"
		   "d = int16\n"
		   "[Base]\n"
		   "a = int64\n"
		   "b = int8\n"
		   "[Same:Base]\n"
		   "[Ext : DemoMmapStructure]\n"
		   "extra = Point2D[4][2]\n");
	b = ipm_schema_find(s, "Base");
	d = ipm_schema_find(s, "Derived");
	assert_ptr_equal(ipm_type_base(d), b);
	assert_int_equal(ipm_type_nfields(d), 4);
	assert_string_equal(ipm_type_field_name(d, 0), "a");
	assert_string_equal(ipm_type_field_name(d, 1), "b");
	assert_int_equal(ipm_type_field_offset(d, 1), 8);
	/* ctypes: a subclass starts after its base's trailing padding */
	assert_string_equal(ipm_type_field_name(d, 2), "c");
	assert_int_equal(ipm_type_field_offset(d, 2), 16);
	assert_int_equal(ipm_type_field_offset(d, 3), 18);
	assert_int_equal(ipm_type_size(d), 24);

	/* [Name : Base] without fields of its own is a copy of the base */
	e = ipm_schema_find(s, "Same");
	assert_ptr_equal(ipm_type_base(e), b);
	assert_int_equal(ipm_type_nfields(e), 2);
	assert_int_equal(ipm_type_size(e), 16);

	x = ipm_schema_find(s, "Ext");
	assert_true(ipm_type_mappable(x));
	assert_int_equal(ipm_type_nfields(x), 6);
	assert_int_equal(ipm_type_field_offset(x, 4), 296);
	assert_string_equal(ipm_type_field_name(x, 5), "extra");
	assert_int_equal(ipm_type_field_offset(x, 5), 688);
	assert_string_equal(ftype(s, "Ext", 5), "Point2D[4][2]");
	assert_int_equal(ipm_type_size(x), 688 + 128);
	assert_false(ipm_type_mappable(b));
	assert_int_equal(ipm_schema_count(s), 8);
	ipm_schema_free(s);
}

static void test_forward(void **state)
{
	ipm_schema *s = ipm_schema_new();
	const ipm_type *outer;

	(void)state;
	load_ok(s, "[Outer]\n"
		   "h = MmapStructureHeader\n"
		   "mid = Middle[3]\n"
		   "[Middle]\n"
		   "in = Inner\n"
		   "n = uint8\n"
		   "[Inner]\n"
		   "v = double\n");
	outer = ipm_schema_find(s, "Outer");
	assert_int_equal(ipm_type_size(ipm_schema_find(s, "Inner")), 8);
	assert_int_equal(ipm_type_size(ipm_schema_find(s, "Middle")), 16);
	assert_int_equal(ipm_type_size(outer), 16 + 48);
	assert_true(ipm_type_mappable(outer));
	/* order of definition, not of layout */
	assert_ptr_equal(ipm_schema_at(s, 1), outer);
	assert_int_equal(ipm_type_line(ipm_schema_at(s, 3)), 7);
	ipm_schema_free(s);
}

/* ctypes' LittleEndianStructure and LittleEndianUnion are Structure and
 * Union on a little-endian host: the schema takes them so. "Structure"
 * itself, as written in Python, is a plain structure, and no one's name. */
static void test_host_endian(void **state)
{
	ipm_schema *s = demo();
	char err[IPM_ERRLEN];

	(void)state;
	load_ok(s, "[P : Structure]\na = int8\nb = int32\n");
	assert_int_equal(ipm_type_size(ipm_schema_find(s, "P")), 8);
	assert_null(ipm_type_base(ipm_schema_find(s, "P")));
	assert_false(ipm_type_is_union(ipm_schema_find(s, "P")));
	assert_true(ipm_schema_load_string(s, "[Structure]\na = int8\n", "x.ini") < 0);
	snprintf(err, sizeof(err), "%s", ipm_schema_errmsg(s));
	assert_string_equal(err, "x.ini:1: bad structure name 'Structure': a built-in type");
	if (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__) {
		ipm_schema_free(s);
		skip();
	}
	load_ok(s, "[L : LittleEndianStructure]\na = int8\nb = int32\n"
		   "[LU : LittleEndianUnion]\na = int8\nb = int32\n");
	assert_int_equal(ipm_type_size(ipm_schema_find(s, "L")), 8);
	assert_null(ipm_type_base(ipm_schema_find(s, "L")));
	assert_true(ipm_type_is_union(ipm_schema_find(s, "LU")));
	assert_int_equal(ipm_type_size(ipm_schema_find(s, "LU")), 4);
	ipm_schema_free(s);
}

static void test_spellings(void **state)
{
	static const struct {
		const char *type; /* as written */
		const char *name; /* canonical */
		enum ipm_kind kind;
		size_t size;
	} cases[] = {
	    {"int8", "int8", IPM_INT8, 1},
	    {"int16", "int16", IPM_INT16, 2},
	    {"int32", "int32", IPM_INT32, 4},
	    {"int64", "int64", IPM_INT64, 8},
	    {"uint8", "uint8", IPM_UINT8, 1},
	    {"uint16", "uint16", IPM_UINT16, 2},
	    {"uint32", "uint32", IPM_UINT32, 4},
	    {"uint64", "uint64", IPM_UINT64, 8},
	    {"float", "float", IPM_FLOAT, 4},
	    {"double", "double", IPM_DOUBLE, 8},
	    {"bool", "bool", IPM_BOOL, 1},
	    {"c_int8", "int8", IPM_INT8, 1},
	    {"c_int16", "int16", IPM_INT16, 2},
	    {"c_int32", "int32", IPM_INT32, 4},
	    {"c_int64", "int64", IPM_INT64, 8},
	    {"c_uint8", "uint8", IPM_UINT8, 1},
	    {"c_uint16", "uint16", IPM_UINT16, 2},
	    {"c_uint32", "uint32", IPM_UINT32, 4},
	    {"c_uint64", "uint64", IPM_UINT64, 8},
	    {"c_byte", "int8", IPM_INT8, 1},
	    {"c_ubyte", "uint8", IPM_UINT8, 1},
	    {"c_short", "int16", IPM_INT16, 2},
	    {"c_ushort", "uint16", IPM_UINT16, 2},
	    {"c_int", "int32", IPM_INT32, 4},
	    {"c_uint", "uint32", IPM_UINT32, 4},
	    {"c_long", "int64", IPM_INT64, 8}, /* LP64 */
	    {"c_ulong", "uint64", IPM_UINT64, 8},
	    {"c_longlong", "int64", IPM_INT64, 8},
	    {"c_ulonglong", "uint64", IPM_UINT64, 8},
	    {"c_float", "float", IPM_FLOAT, 4},
	    {"c_double", "double", IPM_DOUBLE, 8},
	    {"c_bool", "bool", IPM_BOOL, 1},
	    {"c_char", "char[1]", IPM_STRING, 1},
	    {"char", "char[1]", IPM_STRING, 1},
	    {"char[256]", "char[256]", IPM_STRING, 256},
	    {"c_char * 256", "char[256]", IPM_STRING, 256},
	    {"c_char*256", "char[256]", IPM_STRING, 256},
	    {"c_char[16]", "char[16]", IPM_STRING, 16},
	    {"char[8][16]", "char[8][16]", IPM_ARRAY, 128},
	    {"c_char * 16 * 8", "char[8][16]", IPM_ARRAY, 128},
	    {"char [ 8 ] [16]", "char[8][16]", IPM_ARRAY, 128},
	    {"Point2D", "Point2D", IPM_STRUCT, 16},
	    {"Point2D * 24", "Point2D[24]", IPM_ARRAY, 384},
	    {"Point2D[24]", "Point2D[24]", IPM_ARRAY, 384},
	    {"int32[4][3]", "int32[4][3]", IPM_ARRAY, 48},
	    {"c_int * 3 * 4", "int32[4][3]", IPM_ARRAY, 48},
	    {"c_int*3*4", "int32[4][3]", IPM_ARRAY, 48},
	    {"int32 [4]\t[ 3 ]", "int32[4][3]", IPM_ARRAY, 48},
	    {"int32[3] * 4", "int32[4][3]", IPM_ARRAY, 48},
	    {"uint16[2][3][5]", "uint16[2][3][5]", IPM_ARRAY, 60},
	    {"c_ushort * 5 * 3 * 2", "uint16[2][3][5]", IPM_ARRAY, 60},
	    {"bool[010]", "bool[10]", IPM_ARRAY, 10},
	    {"c_wchar", "wchar[1]", IPM_WSTRING, 4},
	    {"wchar", "wchar[1]", IPM_WSTRING, 4},
	    {"c_wchar * 8", "wchar[8]", IPM_WSTRING, 32},
	    {"wchar[8]", "wchar[8]", IPM_WSTRING, 32},
	    {"c_wchar * 8 * 2", "wchar[2][8]", IPM_ARRAY, 64},
	    {"c_longdouble", "longdouble", IPM_LONGDOUBLE, 16},
	    {"longdouble[3]", "longdouble[3]", IPM_ARRAY, 48},
	    {"c_longdouble * 3", "longdouble[3]", IPM_ARRAY, 48},
	};
	ipm_schema *s = demo();
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);
	const ipm_type *t;

	(void)state;
	assert_non_null(f);
	fprintf(f, "[All]\n");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		fprintf(f, "f%zu = %s\n", i, cases[i].type);
	fclose(f);
	load_ok(s, text);
	free(text);
	t = ipm_schema_find(s, "All");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const ipm_type *ft = ipm_type_field_type(t, i);

		assert_string_equal(ipm_type_name(ft), cases[i].name);
		assert_int_equal(ipm_type_kind(ft), cases[i].kind);
		assert_int_equal(ipm_type_size(ft), cases[i].size);
	}
	/* one type per spelling, shared by the fields that use it */
	assert_ptr_equal(ipm_type_field_type(t, 35), ipm_type_field_type(t, 34));
	assert_ptr_equal(ipm_type_field_type(t, 45), ipm_type_field_type(t, 44));
	assert_ptr_equal(ipm_type_field_type(t, 0), ipm_type_field_type(t, 11));
	ipm_schema_free(s);
}

/* Comments, blank lines, CRLF, a BOM, and lines up to inih's limit. */
static void test_text(void **state)
{
	ipm_schema *s = ipm_schema_new();
	char line[256];
	const ipm_type *t;

	(void)state;
	load_ok(s, "\xEF\xBB\xBF; a comment\r\n"
		   "# another one\n"
		   "\n"
		   "[A]   ; the structure\r\n"
		   "   \t\n"
		   "  ; an indented comment is still a comment\n"
		   "x = int32  ; the field\n"
		   "y: int8\n"
		   "z=double");
	t = ipm_schema_find(s, "A");
	assert_int_equal(ipm_type_nfields(t), 3);
	assert_string_equal(ipm_type_field_name(t, 1), "y");
	assert_int_equal(ipm_type_size(t), 16);
	assert_int_equal(ipm_type_line(t), 4);
	assert_string_equal(ipm_type_file(t), "test.ini");

	/* 199 characters are fine, 200 are too many */
	memset(line, 'c', sizeof(line));
	memcpy(line, "[B]\nx = int32 ;", 15);
	line[4 + 199] = '\0';
	load_ok(s, line);
	memcpy(line, "[C]", 3);
	line[4 + 199] = 'c';
	line[4 + 200] = '\0';
	assert_int_equal(ipm_schema_load_string(s, line, NULL), -EINVAL);
	assert_string_equal(ipm_schema_errmsg(s),
			    "<string>:2: line too long (more than 199 characters)");
	assert_null(ipm_schema_find(s, "C"));

	/* a name longer than inih's 50-byte section buffer is fine */
	load_ok(s, "[A_structure_name_of_sixty_three_characters_is_still_good_123456 :  A]\n"
		   "w = int8\n");
	t = ipm_schema_find(s, "A_structure_name_of_sixty_three_characters_is_still_good_123456");
	assert_non_null(t);
	assert_ptr_equal(ipm_type_base(t), ipm_schema_find(s, "A"));

	/* an empty text defines nothing */
	load_ok(s, "");
	load_ok(s, "; only a comment\n");
	assert_int_equal(ipm_schema_count(s), 4);
	ipm_schema_free(s);
}

static void test_string_errors(void **state)
{
	ipm_schema *s = ipm_schema_new();

	(void)state;
	assert_int_equal(ipm_schema_load_string(s, "[A]\nx = u33\n", NULL), -EINVAL);
	assert_string_equal(ipm_schema_errmsg(s), "<string>:2: unknown type 'u33'");
	assert_int_equal(ipm_schema_load_string(s, "[A]\nx = int32\n\0[B]\n", "mem"), 0);
	assert_string_equal(ipm_schema_errmsg(s), "");
	assert_int_equal(ipm_schema_load_string(s, "[B]\nx = int32\ny = in\xff\n", "mem"), -EINVAL);
	assert_string_equal(ipm_schema_errmsg(s), "mem:3: bad type 'in\\xff'");
	assert_int_equal(ipm_schema_count(s), 2);
	assert_int_equal(ipm_schema_load_string(NULL, "", NULL), -EINVAL);
	assert_int_equal(ipm_schema_load_string(s, NULL, NULL), -EINVAL);
	ipm_schema_free(s);
}

static void test_two_files(void **state)
{
	ipm_schema *s = demo();
	const ipm_type *t, *sample;

	(void)state;
	assert_int_equal(ipm_schema_load_file(s, FIXTURE("good_extra.ini")), 0);
	assert_int_equal(ipm_schema_count(s), 6);
	t = ipm_schema_find(s, "Track");
	sample = ipm_schema_find(s, "Sample");
	assert_ptr_equal(ipm_schema_at(s, 4), t);
	assert_ptr_equal(ipm_type_base(t), ipm_schema_find(s, "DemoMmapStructure"));
	assert_string_equal(ipm_type_file(t), FIXTURE("good_extra.ini"));
	assert_int_equal(ipm_type_line(t), 2);
	assert_string_equal(ipm_type_file(ipm_schema_find(s, "Point2D")), "conf/demo.ini");
	assert_int_equal(ipm_type_size(sample), 24);
	assert_int_equal(ipm_type_field_offset(sample, 1), 16);
	assert_string_equal(ftype(s, "Track", 5), "Sample[4]");
	assert_int_equal(ipm_type_field_offset(t, 5), 688);
	assert_string_equal(ftype(s, "Track", 6), "char[2][16]");
	assert_int_equal(ipm_type_field_offset(t, 6), 688 + 96);
	assert_int_equal(ipm_type_size(t), 688 + 96 + 32);
	assert_true(ipm_type_mappable(t));
	/* the array type of the first file is reused, not made again */
	load_ok(s, "[More]\npts = Point2D[24]\n");
	assert_ptr_equal(ipm_type_field_type(ipm_schema_find(s, "More"), 0),
			 ipm_type_field_type(ipm_schema_find(s, "MultiPointsData"), 1));
	/* the same file twice: every structure is a duplicate */
	assert_int_equal(ipm_schema_load_file(s, "conf/demo.ini"), -EINVAL);
	assert_string_equal(ipm_schema_errmsg(s), "conf/demo.ini:9: duplicate structure 'Point2D' "
						  "(first at conf/demo.ini:9)");
	assert_int_equal(ipm_schema_count(s), 7);
	ipm_schema_free(s);
}

static void test_cannot_open(void **state)
{
	ipm_schema *s = ipm_schema_new();

	(void)state;
	assert_int_equal(ipm_schema_load_file(s, FIXTURE("nope.ini")), -ENOENT);
	assert_string_equal(ipm_schema_errmsg(s),
			    "cannot open tests/unit/fixtures/nope.ini: No such file or directory");
	assert_int_equal(ipm_schema_load_file(s, "tests/unit/fixtures"), -EISDIR);
	assert_string_equal(ipm_schema_errmsg(s),
			    "cannot read tests/unit/fixtures: Is a directory");
	assert_int_equal(ipm_schema_count(s), 1);
	assert_int_equal(ipm_schema_load_file(NULL, "conf/demo.ini"), -EINVAL);
	assert_int_equal(ipm_schema_load_file(s, NULL), -EINVAL);
	ipm_schema_free(s);
}

/*
 * Loads path in a child with its memory and time bounded, so that a reader
 * without bounds fails the test instead of the machine: the child reports
 * the return code and message through a pipe. Under AddressSanitizer, whose
 * shadow memory a limit on the address space would break, only the time is
 * bounded.
 */
static int load_bounded(const char *path, char *msg, size_t len)
{
	int fd[2], status, rc = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ipm_schema *s = ipm_schema_new();
#if !defined(__SANITIZE_ADDRESS__)
		struct rlimit as = {512u << 20, 512u << 20};

		setrlimit(RLIMIT_AS, &as);
#endif
		alarm(20);
		rc = ipm_schema_load_file(s, path);
		if (write(fd[1], &rc, sizeof(rc)) < 0 ||
		    write(fd[1], ipm_schema_errmsg(s), strlen(ipm_schema_errmsg(s)) + 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	n = read(fd[0], &rc, sizeof(rc));
	if (n != sizeof(rc))
		rc = 1;
	n = read(fd[0], msg, len - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(fd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status))
		fail_msg("loading %s: killed by signal %d", path, WTERMSIG(status));
	return rc;
}

/* A file without end (/dev/zero) stops at its first line's bound. */
static void test_endless_file(void **state)
{
	char msg[IPM_ERRLEN];

	(void)state;
	assert_int_equal(load_bounded("/dev/zero", msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "/dev/zero:1: line too long (more than 199 characters)");
}

/* Writes a schema of exactly size bytes: a structure, then comment lines of
 * 64 bytes (the last one shorter). */
static void write_sized(const char *path, size_t size)
{
	static const char head[] = "[Big]\nx = int32\n";
	FILE *f = fopen(path, "w");
	size_t left = size - strlen(head);

	assert_non_null(f);
	fputs(head, f);
	while (left) {
		size_t n = left < 64 ? left : 64;

		fprintf(f, ";%.*s\n", (int)n - 2,
			"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		left -= n;
	}
	assert_int_equal(fclose(f), 0);
}

/* A schema may be 1 MiB, not a byte more, from a file or from memory. */
static void test_size_cap(void **state)
{
	char dir[64], path[96], msg[IPM_ERRLEN], want[2 * IPM_ERRLEN];
	ipm_schema *s = ipm_schema_new();
	char *text;
	FILE *f;

	(void)state;
	assert_int_equal(unit_mkdtemp(dir, sizeof(dir), "schema"), 0);
	snprintf(path, sizeof(path), "%s/big.ini", dir);
	write_sized(path, 1 << 20);
	assert_int_equal(load_bounded(path, msg, sizeof(msg)), 0);
	write_sized(path, (1 << 20) + 1);
	assert_int_equal(load_bounded(path, msg, sizeof(msg)), -EFBIG);
	/* 16 bytes of head on 2 lines, 16383 comment lines of 64 bytes, and the
	 * last line (49 bytes) crosses the cap */
	snprintf(want, sizeof(want), "%s:16386: file too large (more than 1048576 bytes)", path);
	assert_string_equal(msg, want);

	text = malloc((1 << 20) + 2);
	assert_non_null(text);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fread(text, 1, (1 << 20) + 2, f), (1 << 20) + 1);
	fclose(f);
	text[(1 << 20) + 1] = '\0';
	assert_int_equal(ipm_schema_load_string(s, text, "big"), -EFBIG);
	assert_string_equal(ipm_schema_errmsg(s),
			    "big:16386: file too large (more than 1048576 bytes)");
	text[1 << 20] = '\0';
	assert_int_equal(ipm_schema_load_string(s, text, "big"), 0);
	free(text);
	ipm_schema_free(s);
	unit_rm_tree(dir);
}

/* A long line is refused at its bound, however long it is. */
static void test_line_cap(void **state)
{
	size_t n = 10 << 20;
	char *text = malloc(n + 1);
	ipm_schema *s = ipm_schema_new();

	(void)state;
	assert_non_null(text);
	memcpy(text, "[A]\nx = ", 8);
	memset(text + 8, 'a', n - 8);
	text[n] = '\0';
	assert_int_equal(ipm_schema_load_string(s, text, "long"), -EINVAL);
	assert_string_equal(ipm_schema_errmsg(s),
			    "long:2: line too long (more than 199 characters)");
	free(text);
	ipm_schema_free(s);
}

/* Good structures before the error do not stay; the schema is as it was. */
static void test_nothing_half_loaded(void **state)
{
	ipm_schema *s = demo();
	const ipm_type *d = ipm_schema_find(s, "DemoMmapStructure");
	uint64_t fp = ipm_type_fingerprint(d);

	(void)state;
	assert_int_equal(ipm_schema_load_file(s, FIXTURE("err_half.ini")), -EINVAL);
	assert_string_equal(ipm_schema_errmsg(s), "tests/unit/fixtures/err_half.ini:11: 'Broken' "
						  "contains itself (Broken -> Broken)");
	assert_int_equal(ipm_schema_count(s), 4);
	assert_null(ipm_schema_find(s, "Fine"));
	assert_null(ipm_schema_find(s, "AlsoFine"));
	assert_null(ipm_schema_find(s, "Broken"));
	assert_ptr_equal(ipm_schema_find(s, "DemoMmapStructure"), d);
	assert_int_equal(ipm_type_fingerprint(d), fp);
	assert_int_equal(ipm_type_size(d), 688);

	/* the names it tried are free again */
	load_ok(s, "[Fine]\nx = int32[7]\ny = Fine2\n[Fine2]\nz = char[99]\n");
	assert_int_equal(ipm_schema_count(s), 6);
	assert_ptr_equal(ipm_schema_at(s, 4), ipm_schema_find(s, "Fine"));
	assert_string_equal(ipm_schema_errmsg(s), "");
	ipm_schema_free(s);
}

/* n + 1 structures, each holding (or derived from) the next; in file order
 * outermost first, or innermost first. */
static char *chain(size_t n, bool derive, bool outer_first)
{
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	for (i = 0; i <= n; i++) {
		size_t k = outer_first ? i : n - i;

		if (k == n)
			fprintf(f, "[S%zu]\nx = int8\n", k);
		else if (derive)
			fprintf(f, "[S%zu : S%zu]\ny%zu = int8\n", k, k + 1, k);
		else
			fprintf(f, "[S%zu]\ns = S%zu\n", k, k + 1);
	}
	fclose(f);
	return text;
}

/* 1000 levels of structures or bases are fine, 1001 are refused, in
 * whichever order they are written (so no input can exhaust the stack). */
static void test_deep(void **state)
{
	static const char msg[] = "'S0' is nested or derived too deeply (more than 1000 levels)";
	char want[128], *text;
	int derive, outer;

	(void)state;
	for (derive = 0; derive < 2; derive++) {
		for (outer = 0; outer < 2; outer++) {
			ipm_schema *s = ipm_schema_new();

			text = chain(999, derive, outer);
			load_ok(s, text);
			free(text);
			assert_int_equal(ipm_schema_count(s), 1001);
			assert_int_equal(ipm_type_nfields(ipm_schema_find(s, "S0")),
					 derive ? 1000 : 1);
			/* one more level on top of a loaded schema */
			assert_int_equal(
			    ipm_schema_load_string(
				s, derive ? "[T : S0]\nt = int8\n" : "[T]\nt = S0\n", NULL),
			    -EINVAL);
			assert_string_equal(ipm_schema_errmsg(s),
					    "<string>:1: 'T' is nested or derived too deeply "
					    "(more than 1000 levels)");
			ipm_schema_free(s);

			s = ipm_schema_new();
			text = chain(1000, derive, outer);
			assert_int_equal(ipm_schema_load_string(s, text, "deep.ini"), -EINVAL);
			free(text);
			snprintf(want, sizeof(want), "deep.ini:%d: %s", outer ? 1 : 2001, msg);
			assert_string_equal(ipm_schema_errmsg(s), want);
			assert_int_equal(ipm_schema_count(s), 1);
			ipm_schema_free(s);
		}
	}
}

struct err_case {
	const char *file;    /* fixture */
	const char *message; /* after "path:" */
};

/* Each fixture, loaded after conf/demo.ini: exact message, nothing kept. */
static void test_error(void **state)
{
	const struct err_case *c = *state;
	ipm_schema *s = demo();
	char path[128], want[2 * IPM_ERRLEN];

	snprintf(path, sizeof(path), FIXTURE("%s"), c->file);
	snprintf(want, sizeof(want), "%s:%s", path, c->message);
	assert_int_equal(ipm_schema_load_file(s, path), -EINVAL);
	assert_string_equal(ipm_schema_errmsg(s), want);
	assert_int_equal(ipm_schema_count(s), 4);
	assert_null(ipm_schema_at(s, 4));
	assert_int_equal(ipm_type_size(ipm_schema_find(s, "DemoMmapStructure")), 688);
	/* and the schema still takes good input */
	load_ok(s, "[After]\nx = Point2D\n");
	assert_int_equal(ipm_schema_count(s), 5);
	ipm_schema_free(s);
}

#define ERR(f, msg)                                                                                \
	{                                                                                          \
		"error " f, test_error, NULL, NULL, &(struct err_case)                             \
		{                                                                                  \
			f, msg                                                                     \
		}                                                                                  \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new),
	    cmocka_unit_test(test_demo),
	    cmocka_unit_test(test_inheritance),
	    cmocka_unit_test(test_forward),
	    cmocka_unit_test(test_spellings),
	    cmocka_unit_test(test_host_endian),
	    cmocka_unit_test(test_text),
	    cmocka_unit_test(test_string_errors),
	    cmocka_unit_test(test_two_files),
	    cmocka_unit_test(test_cannot_open),
	    cmocka_unit_test(test_endless_file),
	    cmocka_unit_test(test_size_cap),
	    cmocka_unit_test(test_line_cap),
	    cmocka_unit_test(test_nothing_half_loaded),
	    cmocka_unit_test(test_deep),
	    ERR("err_unknown_type.ini", "7: unknown type 'u33'"),
	    ERR("err_unknown_type_array.ini", "4: unknown type 'Point3D'"),
	    ERR("err_dup_field.ini", "4: duplicate field 'y' in 'Vec2' (first at line 3)"),
	    ERR("err_dup_inherited.ini",
		"4: duplicate field 'x' in 'Derived' (inherited from 'Base')"),
	    ERR("err_dup_struct.ini", "7: duplicate structure 'A' (first at line 1)"),
	    ERR("err_dup_across.ini",
		"7: duplicate structure 'Point2D' (first at conf/demo.ini:9)"),
	    ERR("err_dup_builtin.ini", "2: duplicate structure 'MmapStructureHeader' (built in)"),
	    ERR("err_self.ini", "3: 'Node' contains itself (Node -> Node)"),
	    ERR("err_cycle.ini", "8: 'A' contains itself (A -> B -> A)"),
	    ERR("err_inherit_cycle.ini", "4: 'A' inherits from itself (A -> B -> A)"),
	    ERR("err_bad_struct_name.ini", "5: bad structure name '3D-Point'"),
	    ERR("err_builtin_name.ini", "1: bad structure name 'int32': a built-in type"),
	    ERR("err_bad_field_name.ini", "3: bad field name 'not-ok'"),
	    ERR("err_keyword_field.ini", "3: bad field name 'int': a C keyword"),
	    ERR("err_long_name.ini",
		"3: field name "
		"'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is too long "
		"(more than 63 characters)"),
	    ERR("err_size_zero.ini", "3: array size 0 in 'int32[0]' must be at least 1"),
	    ERR("err_size_negative.ini", "3: array size -2 in 'c_int * -2' must be at least 1"),
	    ERR("err_size_nan.ini", "3: array size 'x' in 'int32[x]' is not a number"),
	    ERR("err_size_overflow.ini", "3: array size 99999999999999999999999 in "
					 "'int32[99999999999999999999999]' is too large"),
	    ERR("err_array_too_big.ini",
		"4: 'double[1000][1000][1000]' is too large (more than 1073741824 bytes)"),
	    ERR("err_struct_too_big.ini",
		"2: structure 'Big' is too large (more than 1073741824 bytes)"),
	    ERR("err_no_base.ini", "4: unknown base structure 'Nope'"),
	    ERR("err_no_section.ini", "2: field 'x' outside any structure"),
	    ERR("err_missing_type.ini", "3: missing type for field 'y'"),
	    ERR("err_missing_name.ini", "3: missing field name"),
	    ERR("err_long_line.ini", "3: line too long (more than 199 characters)"),
	    ERR("err_indented.ini",
		"3: indented line continues 'x'; schema lines must not be indented"),
	    ERR("err_indented_first.ini", "2: indented line; schema lines must not be indented"),
	    ERR("err_syntax.ini", "3: expected 'name = type' or '[Structure]'"),
	    ERR("err_empty_struct.ini", "1: structure 'Empty' has no fields"),
	    ERR("err_union_name.ini", "1: bad structure name 'Union': a built-in type"),
	    ERR("err_union_empty.ini", "4: union 'U' has no fields"),
	    ERR("err_missing_bracket.ini", "1: missing ']' in section header"),
	    ERR("err_bad_type.ini", "3: bad type 'int32 extra'"),
	    ERR("err_type_bracket.ini", "3: missing ']' in type 'int32[3'"),
	    ERR("err_pack_bad.ini", "3: bad _pack_ '3': expected 1, 2, 4, 8 or 16"),
	    ERR("err_pack_dup.ini", "4: duplicate _pack_ in 'P' (first at line 2)"),
	    /* bit fields: every wrong width, every wrong type */
	    ERR("err_bits_zero.ini", "3: bit field width 0 in 'c_uint32 : 0' must be at least 1"),
	    ERR("err_bits_negative.ini",
		"2: bit field width -1 in 'c_int : -1' must be at least 1"),
	    ERR("err_bits_nan.ini", "2: bit field width 'x' in 'c_int : x' is not a number"),
	    ERR("err_bits_missing.ini", "2: missing bit field width in 'c_int :'"),
	    ERR("err_bits_over64.ini", "2: bit field width 65 in 'c_int : 65' is more than 64"),
	    ERR("err_bits_wide.ini", "2: bit field 'flags' has 9 bits, more than its type's 8"),
	    ERR("err_bits_bool.ini", "2: bit field 'ready' of bool is not supported: ctypes stores it as a whole byte, over its neighbours"),
	    ERR("err_bits_double.ini", "3: bit field 'd' must be an integer type, not 'double'"),
	    ERR("err_bits_chars.ini", "2: bit field 's' must be an integer type, not 'char[4]'"),
	    ERR("err_bits_struct.ini", "2: bit field 'p' must be an integer type, not 'Point2D'"),
	    ERR("err_bits_array.ini", "2: bit field 'n' must be an integer type, not 'int32[2]'"),
	    ERR("err_wchar_name.ini", "1: bad structure name 'wchar': a built-in type"),
	    ERR("err_wchar_bits.ini", "2: bit field 'w' must be an integer type, not 'wchar[1]'"),
	    ERR("err_ldouble_bits.ini",
		"2: bit field 'l' must be an integer type, not 'longdouble'"),
	    ERR("err_big_endian.ini", "1: 'BigEndianStructure' is not supported: fields are in "
				      "the host's byte order (little endian)"),
	    /* pointers, by every spelling, named as such */
	    ERR("err_ptr_void.ini", "3: bad type 'c_void_p': a pointer means nothing in another process"),
	    ERR("err_ptr_char.ini", "2: bad type 'c_char_p': a pointer means nothing in another process"),
	    ERR("err_ptr_wchar.ini",
		"2: bad type 'c_wchar_p': a pointer means nothing in another process"),
	    ERR("err_ptr_pointer.ini",
		"2: bad type 'POINTER(Point2D)': a pointer means nothing in another process"),
	    ERR("err_ptr_star.ini", "2: bad type 'c_long *': a pointer means nothing in another process"),
	    ERR("err_ptr_star2.ini",
		"2: bad type 'int32 * * 3': a pointer means nothing in another process"),
	    ERR("err_ptr_pyobject.ini",
		"2: bad type 'py_object': a pointer means nothing in another process"),
	    ERR("err_ptr_cfunc.ini",
		"2: bad type 'CFUNCTYPE(c_int, c_int)': a pointer means nothing in another process"),
	    ERR("err_ptr_array.ini",
		"2: bad type 'c_void_p * 4': a pointer means nothing in another process"),
	    /* what a schema echoes is escaped: a binary file cannot drive the terminal */
	    ERR("err_escape_type.ini", "2: bad type 'int32\\x1b[2J'"),
	    ERR("err_escape_struct.ini", "1: bad structure name 'B\\x1b[31mX'"),
	    ERR("err_escape_field.ini", "2: bad field name 'x\\x07'"),
	    ERR("err_escape_pack.ini", "2: bad _pack_ '3\\x1b]0;t\\x07': expected 1, 2, 4, 8 or 16"),
	    ERR("err_escape_size.ini", "2: array size '\\x1b' in 'int32[\\x1b]' is not a number"),
	};

	return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
