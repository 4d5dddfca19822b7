/*
 * test_layout.c - the layout of schema structures equals what gcc gives the
 * same structures written in C (offsetof, sizeof, _Alignof), and what Python
 * ctypes gives them (tests/unit/ctypes_layout.py, when python3 is there).
 */
#include "unit.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PYTHON3 "/usr/bin/python3"

/* The schema under test: conf/demo.ini plus this. */
static const char layout_ini[] = "[Mixed]\n"
				 "a = int8\n"
				 "b = double\n"
				 "c = int16\n"
				 "\n"
				 "[Packed]\n"
				 "a = int8\n"
				 "b = int16\n"
				 "c = int8\n"
				 "d = int32\n"
				 "e = int8\n"
				 "f = uint64\n"
				 "g = uint8\n"
				 "\n"
				 "[Flags]\n"
				 "on = bool\n"
				 "many = c_bool * 3\n"
				 "level = float\n"
				 "tiny = uint16\n"
				 "\n"
				 "[Arrays]\n"
				 "h = MmapStructureHeader\n"
				 "grid = int32[4][3]\n"
				 "grid_ct = c_int * 3 * 4\n"
				 "tag = c_char\n"
				 "names = char[8][16]\n"
				 "names_ct = c_char * 16 * 8\n"
				 "pts = Point2D[2][3]\n"
				 "odd = char[3]\n"
				 "cube = uint16[2][3][5]\n"
				 "\n"
				 "[Base]\n"
				 "a = int64\n"
				 "b = int8\n"
				 "\n"
				 "[Derived : Base]\n"
				 "c = int8\n"
				 "d = int16\n"
				 "\n"
				 "[Deeper : Derived]\n"
				 "e = c_double\n"
				 "\n"
				 "[Holder]\n"
				 "x = int8\n"
				 "d = Derived[2]\n"
				 "y = int8\n"
				 "\n"
				 "[Pack1]\n"
				 "_pack_ = 1\n"
				 "a = int8\n"
				 "b = int64\n"
				 "c = int16\n"
				 "\n"
				 "[Pack2]\n"
				 "a = int8\n"
				 "_pack_ = 2\n"
				 "b = double\n"
				 "m = Mixed\n"
				 "c = int8\n"
				 "\n"
				 "[Pack4]\n"
				 "_pack_ = 4  ; as ctypes' _pack_\n"
				 "a = int16\n"
				 "b = uint64[2]\n"
				 "c = Pack1\n"
				 "\n"
				 "[HoldsPacked]\n"
				 "a = int8\n"
				 "p = Pack2\n"
				 "q = Pack1[3]\n"
				 "\n"
				 "[PackedBase : Pack2]\n"
				 "d = int8\n"
				 "e = int64\n"
				 "\n"
				 "[PacksOwn : Base]\n"
				 "_pack_ = 1\n"
				 "c = int8\n"
				 "d = int64\n"
				 "\n"
				 "[Platform]\n"
				 "n = c_size_t\n"
				 "m = c_ssize_t\n"
				 "t = c_time_t\n"
				 "l = c_long\n"
				 "u = c_ulong\n"
				 "\n"
				 "[U1 : Union]\n"
				 "i = int32\n"
				 "d = double\n"
				 "c = char[3]\n"
				 "\n"
				 "[UPacked : Union]\n"
				 "_pack_ = 2\n"
				 "a = int8\n"
				 "b = int64\n"
				 "c = char[11]\n"
				 "\n"
				 "[HoldsUnion]\n"
				 "a = int8\n"
				 "u = U1\n"
				 "p = UPacked[2]\n"
				 "m = Mixed\n"
				 "\n"
				 "[WideText]\n"
				 "h = MmapStructureHeader\n"
				 "c = c_wchar\n"
				 "name = c_wchar * 5\n"
				 "names = wchar[3][2]\n"
				 "ld = c_longdouble\n"
				 "pad = int8\n"
				 "lds = longdouble[2]\n"
				 "tail = c_char\n"
				 "\n"
				 "[WPacked]\n"
				 "_pack_ = 2\n"
				 "a = int8\n"
				 "ld = c_longdouble\n"
				 "w = c_wchar * 3\n"
				 "b = int8\n"
				 "\n"
				 "[WUnion : Union]\n"
				 "ld = longdouble\n"
				 "w = c_wchar * 7\n"
				 "c = c_char\n"
				 "\n"
				 "[HoldsWide]\n"
				 "a = int8\n"
				 "u = WUnion\n"
				 "p = WPacked[2]\n"
				 "w = WideText\n";

/* c_wchar is a UTF-32 code unit (ctypes' wchar_t on Linux), c_longdouble
 * C's long double. */
/* The same in C. A derived structure is its base as first member: that is
 * how ctypes lays out a subclass (own fields after the base's padding). */
struct MmapStructureHeader {
	int16_t header_code;
	double time_stamp;
};
struct Point2D {
	double x, y;
};
struct MultiPointsData {
	int32_t multi_data_int;
	struct Point2D multi_points[24];
};
struct DemoMmapStructure {
	struct MmapStructureHeader header;
	int32_t data_int;
	char data_string[256];
	struct Point2D data_xy;
	struct MultiPointsData multi_pts;
};
struct Mixed {
	int8_t a;
	double b;
	int16_t c;
};
struct Packed {
	int8_t a;
	int16_t b;
	int8_t c;
	int32_t d;
	int8_t e;
	uint64_t f;
	uint8_t g;
};
struct Flags {
	bool on;
	bool many[3];
	float level;
	uint16_t tiny;
};
struct Arrays {
	struct MmapStructureHeader h;
	int32_t grid[4][3];
	int32_t grid_ct[4][3];
	char tag[1];
	char names[8][16];
	char names_ct[8][16];
	struct Point2D pts[2][3];
	char odd[3];
	uint16_t cube[2][3][5];
};
struct Base {
	int64_t a;
	int8_t b;
};
struct Derived {
	struct Base base;
	int8_t c;
	int16_t d;
};
struct Deeper {
	struct Derived base;
	double e;
};
struct Holder {
	int8_t x;
	struct Derived d[2];
	int8_t y;
};

#pragma pack(push, 1)
struct Pack1 {
	int8_t a;
	int64_t b;
	int16_t c;
};
#pragma pack(pop)
#pragma pack(push, 2)
struct Pack2 {
	int8_t a;
	double b;
	struct Mixed m;
	int8_t c;
};
#pragma pack(pop)
#pragma pack(push, 4)
struct Pack4 {
	int16_t a;
	uint64_t b[2];
	struct Pack1 c;
};
#pragma pack(pop)
struct HoldsPacked {
	int8_t a;
	struct Pack2 p;
	struct Pack1 q[3];
};
struct Platform {
	size_t n;
	ssize_t m;
	time_t t;
	long l;
	unsigned long u;
};

union U1 {
	int32_t i;
	double d;
	char c[3];
};
#pragma pack(push, 2)
union UPacked {
	int8_t a;
	int64_t b;
	char c[11];
};
#pragma pack(pop)
struct HoldsUnion {
	int8_t a;
	union U1 u;
	union UPacked p[2];
	struct Mixed m;
};

struct WideText {
	struct MmapStructureHeader h;
	uint32_t c[1];
	uint32_t name[5];
	uint32_t names[3][2];
	long double ld;
	int8_t pad;
	long double lds[2];
	char tail[1];
};
#pragma pack(push, 2)
struct WPacked {
	int8_t a;
	long double ld;
	uint32_t w[3];
	int8_t b;
};
#pragma pack(pop)
union WUnion {
	long double ld;
	uint32_t w[7];
	char c[1];
};
struct HoldsWide {
	int8_t a;
	union WUnion u;
	struct WPacked p[2];
	struct WideText w;
};

struct expect {
	const char *name; /* field */
	size_t offset;	  /* offsetof */
	size_t size;	  /* sizeof */
	const char *type; /* canonical type name */
};

#define F(S, m, t)                                                                                 \
	{                                                                                          \
#m, offsetof(struct S, m), sizeof(((struct S *)0)->m), t                           \
	}
/* a field a derived structure inherits: its offset inside the base member */
#define FB(S, path, m, t)                                                                          \
	{                                                                                          \
#m, offsetof(struct S, path.m), sizeof(((struct S *)0)->path.m), t                 \
	}

#define FU(S, m, t)                                                                                \
	{                                                                                          \
#m, offsetof(union S, m), sizeof(((union S *)0)->m), t                             \
	}

static ipm_schema *load(void)
{
	ipm_schema *s = ipm_schema_new();

	assert_non_null(s);
	assert_int_equal(ipm_schema_load_file(s, "conf/demo.ini"), 0);
	if (ipm_schema_load_string(s, layout_ini, "layout.ini"))
		fail_msg("%s", ipm_schema_errmsg(s));
	return s;
}

static void check(const ipm_schema *s, const char *name, size_t size, size_t align,
		  const struct expect *e, size_t n)
{
	const ipm_type *t = ipm_schema_find(s, name);
	size_t i;

	assert_non_null(t);
	assert_int_equal(ipm_type_kind(t), IPM_STRUCT);
	assert_int_equal(ipm_type_size(t), size);
	assert_int_equal(ipm_type_align(t), align);
	assert_int_equal(ipm_type_nfields(t), n);
	for (i = 0; i < n; i++) {
		const ipm_type *ft = ipm_type_field_type(t, i);

		assert_string_equal(ipm_type_field_name(t, i), e[i].name);
		assert_string_equal(ipm_type_name(ft), e[i].type);
		if (ipm_type_field_offset(t, i) != e[i].offset || ipm_type_size(ft) != e[i].size)
			fail_msg("%s.%s: offset %zu size %zu, gcc says %zu %zu", name, e[i].name,
				 ipm_type_field_offset(t, i), ipm_type_size(ft), e[i].offset,
				 e[i].size);
	}
}

#define CHECK(s, S, ...)                                                                           \
	do {                                                                                       \
		const struct expect e_[] = {__VA_ARGS__};                                          \
		check(s, #S, sizeof(struct S), _Alignof(struct S), e_,                             \
		      sizeof(e_) / sizeof(e_[0]));                                                 \
	} while (0)

static void test_demo(void **state)
{
	ipm_schema *s = load();

	(void)state;
	CHECK(s, MmapStructureHeader, F(MmapStructureHeader, header_code, "int16"),
	      F(MmapStructureHeader, time_stamp, "double"));
	CHECK(s, Point2D, F(Point2D, x, "double"), F(Point2D, y, "double"));
	CHECK(s, MultiPointsData, F(MultiPointsData, multi_data_int, "int32"),
	      F(MultiPointsData, multi_points, "Point2D[24]"));
	CHECK(s, DemoMmapStructure, F(DemoMmapStructure, header, "MmapStructureHeader"),
	      F(DemoMmapStructure, data_int, "int32"),
	      F(DemoMmapStructure, data_string, "char[256]"),
	      F(DemoMmapStructure, data_xy, "Point2D"),
	      F(DemoMmapStructure, multi_pts, "MultiPointsData"));
	/* the numbers Python IPMMAP users know */
	assert_int_equal(sizeof(struct DemoMmapStructure), 688);
	assert_int_equal(offsetof(struct DemoMmapStructure, multi_pts), 296);
	ipm_schema_free(s);
}

static void test_padding(void **state)
{
	ipm_schema *s = load();

	(void)state;
	CHECK(s, Mixed, F(Mixed, a, "int8"), F(Mixed, b, "double"), F(Mixed, c, "int16"));
	CHECK(s, Packed, F(Packed, a, "int8"), F(Packed, b, "int16"), F(Packed, c, "int8"),
	      F(Packed, d, "int32"), F(Packed, e, "int8"), F(Packed, f, "uint64"),
	      F(Packed, g, "uint8"));
	CHECK(s, Flags, F(Flags, on, "bool"), F(Flags, many, "bool[3]"), F(Flags, level, "float"),
	      F(Flags, tiny, "uint16"));
	ipm_schema_free(s);
}

static void test_arrays(void **state)
{
	ipm_schema *s = load();
	const ipm_type *t, *grid, *names;

	(void)state;
	CHECK(s, Arrays, F(Arrays, h, "MmapStructureHeader"), F(Arrays, grid, "int32[4][3]"),
	      F(Arrays, grid_ct, "int32[4][3]"), F(Arrays, tag, "char[1]"),
	      F(Arrays, names, "char[8][16]"), F(Arrays, names_ct, "char[8][16]"),
	      F(Arrays, pts, "Point2D[2][3]"), F(Arrays, odd, "char[3]"),
	      F(Arrays, cube, "uint16[2][3][5]"));

	/* C order: int32[4][3] is 4 arrays of 3, whichever way it was written */
	t = ipm_schema_find(s, "Arrays");
	grid = ipm_type_field_type(t, 1);
	assert_ptr_equal(grid, ipm_type_field_type(t, 2));
	assert_int_equal(ipm_type_kind(grid), IPM_ARRAY);
	assert_int_equal(ipm_type_count(grid), 4);
	assert_string_equal(ipm_type_name(ipm_type_elem(grid)), "int32[3]");
	assert_int_equal(ipm_type_count(ipm_type_elem(grid)), 3);
	assert_int_equal(ipm_type_kind(ipm_type_elem(ipm_type_elem(grid))), IPM_INT32);
	names = ipm_type_field_type(t, 4);
	assert_int_equal(ipm_type_count(names), 8);
	assert_int_equal(ipm_type_kind(ipm_type_elem(names)), IPM_STRING);
	assert_int_equal(ipm_type_count(ipm_type_elem(names)), 16);
	assert_null(ipm_type_elem(ipm_type_elem(names)));
	assert_int_equal(ipm_type_align(ipm_type_field_type(t, 6)), _Alignof(double));
	ipm_schema_free(s);
}

/* _pack_ as gcc's #pragma pack; derived packed structures, which C cannot
 * state, are checked against ctypes in test_ctypes(). */
static void test_pack(void **state)
{
	ipm_schema *s = load();
	const char *i64 = sizeof(long) == 8 ? "int64" : "int32";

	(void)state;
	CHECK(s, Pack1, F(Pack1, a, "int8"), F(Pack1, b, "int64"), F(Pack1, c, "int16"));
	CHECK(s, Pack2, F(Pack2, a, "int8"), F(Pack2, b, "double"), F(Pack2, m, "Mixed"),
	      F(Pack2, c, "int8"));
	CHECK(s, Pack4, F(Pack4, a, "int16"), F(Pack4, b, "uint64[2]"), F(Pack4, c, "Pack1"));
	CHECK(s, HoldsPacked, F(HoldsPacked, a, "int8"), F(HoldsPacked, p, "Pack2"),
	      F(HoldsPacked, q, "Pack1[3]"));
	assert_int_equal(ipm_type_pack(ipm_schema_find(s, "Pack1")), 1);
	assert_int_equal(ipm_type_pack(ipm_schema_find(s, "Pack4")), 4);
	assert_int_equal(ipm_type_pack(ipm_schema_find(s, "HoldsPacked")), 0);
	/* inherited, as a Python class attribute is; or a derived one's own */
	assert_int_equal(ipm_type_pack(ipm_schema_find(s, "PackedBase")), 2);
	assert_int_equal(ipm_type_pack(ipm_schema_find(s, "PacksOwn")), 1);
	assert_int_equal(ipm_type_field_offset(ipm_schema_find(s, "PacksOwn"), 3), 17);
	assert_int_equal(ipm_type_size(ipm_schema_find(s, "PacksOwn")), 32);
	/* the platform's sizes, under their canonical names */
	CHECK(s, Platform, F(Platform, n, sizeof(size_t) == 8 ? "uint64" : "uint32"),
	      F(Platform, m, sizeof(ssize_t) == 8 ? "int64" : "int32"),
	      F(Platform, t, sizeof(time_t) == 8 ? "int64" : "int32"), F(Platform, l, i64),
	      F(Platform, u, sizeof(long) == 8 ? "uint64" : "uint32"));
	/* packing changes the layout, so the fingerprint */
	assert_int_not_equal(ipm_type_fingerprint(ipm_schema_find(s, "Pack1")),
			     ipm_type_fingerprint(ipm_schema_find(s, "Mixed")));
	ipm_schema_free(s);
}

#define CHECKU(s, S, ...)                                                                          \
	do {                                                                                       \
		const struct expect e_[] = {__VA_ARGS__};                                          \
		check(s, #S, sizeof(union S), _Alignof(union S), e_, sizeof(e_) / sizeof(e_[0]));  \
	} while (0)

/* "[U : Union]" as gcc's unions, packed or not, nested in a structure. */
static void test_union(void **state)
{
	ipm_schema *s = load();
	const ipm_type *u = ipm_schema_find(s, "U1");

	(void)state;
	CHECKU(s, U1, FU(U1, i, "int32"), FU(U1, d, "double"), FU(U1, c, "char[3]"));
	CHECKU(s, UPacked, FU(UPacked, a, "int8"), FU(UPacked, b, "int64"),
	       FU(UPacked, c, "char[11]"));
	CHECK(s, HoldsUnion, F(HoldsUnion, a, "int8"), F(HoldsUnion, u, "U1"),
	      F(HoldsUnion, p, "UPacked[2]"), F(HoldsUnion, m, "Mixed"));
	assert_true(ipm_type_is_union(u));
	assert_false(ipm_type_is_union(ipm_schema_find(s, "HoldsUnion")));
	assert_false(ipm_type_is_union(ipm_type_field_type(u, 0)));
	assert_int_equal(ipm_type_size(ipm_schema_find(s, "UPacked")), 12);
	ipm_schema_free(s);
}

/* c_wchar * N and c_longdouble, plain, packed, in a union and nested, as
 * gcc lays out uint32_t[N] and long double. */
static void test_wide(void **state)
{
	ipm_schema *s = load();
	const ipm_type *w = ipm_schema_find(s, "WideText");

	(void)state;
	CHECK(s, WideText, F(WideText, h, "MmapStructureHeader"), F(WideText, c, "wchar[1]"),
	      F(WideText, name, "wchar[5]"), F(WideText, names, "wchar[3][2]"),
	      F(WideText, ld, "longdouble"), F(WideText, pad, "int8"),
	      F(WideText, lds, "longdouble[2]"), F(WideText, tail, "char[1]"));
	CHECK(s, WPacked, F(WPacked, a, "int8"), F(WPacked, ld, "longdouble"),
	      F(WPacked, w, "wchar[3]"), F(WPacked, b, "int8"));
	CHECKU(s, WUnion, FU(WUnion, ld, "longdouble"), FU(WUnion, w, "wchar[7]"),
	       FU(WUnion, c, "char[1]"));
	CHECK(s, HoldsWide, F(HoldsWide, a, "int8"), F(HoldsWide, u, "WUnion"),
	      F(HoldsWide, p, "WPacked[2]"), F(HoldsWide, w, "WideText"));
	/* x86-64: 16 bytes aligned to 16, as ctypes.sizeof(c_longdouble) */
	assert_int_equal(ipm_type_align(w), _Alignof(long double));
	assert_int_equal(ipm_type_kind(ipm_type_field_type(w, 2)), IPM_WSTRING);
	assert_int_equal(ipm_type_count(ipm_type_field_type(w, 2)), 5);
	assert_int_equal(ipm_type_kind(ipm_type_field_type(w, 4)), IPM_LONGDOUBLE);
	assert_int_equal(ipm_type_kind(ipm_type_elem(ipm_type_field_type(w, 3))), IPM_WSTRING);
	ipm_schema_free(s);
}

static void test_inheritance(void **state)
{
	ipm_schema *s = load();

	(void)state;
	CHECK(s, Base, F(Base, a, "int64"), F(Base, b, "int8"));
	CHECK(s, Derived, FB(Derived, base, a, "int64"), FB(Derived, base, b, "int8"),
	      F(Derived, c, "int8"), F(Derived, d, "int16"));
	CHECK(s, Deeper, FB(Deeper, base.base, a, "int64"), FB(Deeper, base.base, b, "int8"),
	      FB(Deeper, base, c, "int8"), FB(Deeper, base, d, "int16"), F(Deeper, e, "double"));
	CHECK(s, Holder, F(Holder, x, "int8"), F(Holder, d, "Derived[2]"), F(Holder, y, "int8"));
	/* not 9: ctypes puts a subclass's fields after the base's padding */
	assert_int_equal(offsetof(struct Derived, c), 16);
	ipm_schema_free(s);
}

/* Writes every structure of s (but the built-in one) for ctypes_layout.py. */
static void describe(const ipm_schema *s, FILE *f)
{
	size_t i, j;

	for (i = 1; i < ipm_schema_count(s); i++) {
		const ipm_type *t = ipm_schema_at(s, i), *b = ipm_type_base(t);

		fprintf(f, "struct %s %s\n", ipm_type_name(t),
			ipm_type_is_union(t) ? "Union" : b ? ipm_type_name(b) : "-");
		if (ipm_type_pack(t) && (!b || ipm_type_pack(t) != ipm_type_pack(b)))
			fprintf(f, "pack %zu\n", ipm_type_pack(t));
		for (j = b ? ipm_type_nfields(b) : 0; j < ipm_type_nfields(t); j++)
			fprintf(f, "field %s %s\n", ipm_type_field_name(t, j),
				ipm_type_name(ipm_type_field_type(t, j)));
		fprintf(f, "end\n");
	}
}

static void test_ctypes(void **state)
{
	char in[] = "/tmp/ipm_layout_XXXXXX", cmd[256], line[256], name[128];
	ipm_schema *s;
	size_t i, j, a, b, lines = 0, want = 0;
	FILE *f, *p;
	int fd;

	(void)state;
	if (access(PYTHON3, X_OK)) {
		skip();
		return;
	}
	s = load();
	fd = mkstemp(in);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	describe(s, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), PYTHON3 " tests/unit/ctypes_layout.py < %s", in);
	p = popen(cmd, "r");
	assert_non_null(p);
	for (i = 1; i < ipm_schema_count(s); i++) {
		const ipm_type *t = ipm_schema_at(s, i), *bt = ipm_type_base(t);

		want++;
		for (j = bt ? ipm_type_nfields(bt) : 0; j < ipm_type_nfields(t); j++)
			want++;
	}
	while (fgets(line, sizeof(line), p)) {
		const ipm_type *t;
		char *dot;

		lines++;
		if (sscanf(line, "%127s size %zu align %zu", name, &a, &b) == 3) {
			t = ipm_schema_find(s, name);
			assert_non_null(t);
			if (ipm_type_size(t) != a || ipm_type_align(t) != b)
				fail_msg("%s: size %zu align %zu, ctypes says %zu %zu", name,
					 ipm_type_size(t), ipm_type_align(t), a, b);
			continue;
		}
		if (sscanf(line, "%127s %zu %zu", name, &a, &b) != 3 || !strchr(name, '.'))
			fail_msg("unexpected line from ctypes_layout.py: %s", line);
		dot = strchr(name, '.');
		*dot = '\0';
		t = ipm_schema_find(s, name);
		assert_non_null(t);
		for (j = 0; j < ipm_type_nfields(t); j++)
			if (!strcmp(ipm_type_field_name(t, j), dot + 1))
				break;
		assert_true(j < ipm_type_nfields(t));
		if (ipm_type_field_offset(t, j) != a ||
		    ipm_type_size(ipm_type_field_type(t, j)) != b)
			fail_msg("%s.%s: offset %zu size %zu, ctypes says %zu %zu", name, dot + 1,
				 ipm_type_field_offset(t, j),
				 ipm_type_size(ipm_type_field_type(t, j)), a, b);
	}
	assert_int_equal(pclose(p), 0);
	unlink(in);
	assert_int_equal(lines, want);
	ipm_schema_free(s);
}

/* Equal layouts, equal fingerprints; any change, another one. */
static void test_fingerprint(void **state)
{
	ipm_schema *s = load(), *s2 = ipm_schema_new(), *s3 = ipm_schema_new();
	const ipm_type *demo = ipm_schema_find(s, "DemoMmapStructure");

	(void)state;
	assert_int_equal(ipm_schema_load_file(s2, "conf/demo.ini"), 0);
	assert_int_equal(ipm_type_fingerprint(demo),
			 ipm_type_fingerprint(ipm_schema_find(s2, "DemoMmapStructure")));
	assert_int_not_equal(ipm_type_fingerprint(demo), 0);
	/* pinned: files stored with it must keep opening (kinds added later
	 * must not move it; the fingerprint hashes type names, not kinds) */
	assert_int_equal(ipm_type_fingerprint(demo), UINT64_C(0x27e68f77d67e6795));
	assert_int_equal(ipm_type_fingerprint(ipm_schema_find(s, "Point2D")),
			 UINT64_C(0x9e17e234261f379a));
	/* the same structures written with ctypes spellings */
	assert_int_equal(ipm_schema_load_string(s3,
						"[DemoMmapStructure]\n"
						"header = MmapStructureHeader\n"
						"data_int = c_int\n"
						"data_string = c_char * 256\n"
						"data_xy = Point2D\n"
						"multi_pts = MultiPointsData\n"
						"[MultiPointsData]\n"
						"multi_data_int = c_int32\n"
						"multi_points = Point2D * 24\n"
						"[Point2D]\n"
						"x = c_double\n"
						"y = c_double\n",
						NULL),
			 0);
	assert_int_equal(ipm_type_fingerprint(demo),
			 ipm_type_fingerprint(ipm_schema_find(s3, "DemoMmapStructure")));
	ipm_schema_free(s3);

	/* one nested field changes type: the outer fingerprint changes */
	s3 = ipm_schema_new();
	assert_int_equal(
	    ipm_schema_load_string(s3,
				   "[Point2D]\nx = double\ny = int64\n"
				   "[MultiPointsData]\n"
				   "multi_data_int = int32\nmulti_points = Point2D[24]\n"
				   "[DemoMmapStructure]\n"
				   "header = MmapStructureHeader\ndata_int = int32\n"
				   "data_string = char[256]\ndata_xy = Point2D\n"
				   "multi_pts = MultiPointsData\n",
				   NULL),
	    0);
	assert_int_equal(ipm_type_size(ipm_schema_find(s3, "DemoMmapStructure")), 688);
	assert_int_not_equal(ipm_type_fingerprint(demo),
			     ipm_type_fingerprint(ipm_schema_find(s3, "DemoMmapStructure")));
	assert_int_not_equal(ipm_type_fingerprint(ipm_schema_find(s, "Base")),
			     ipm_type_fingerprint(ipm_schema_find(s, "Derived")));
	ipm_schema_free(s3);
	ipm_schema_free(s2);
	ipm_schema_free(s);
}

/* A 1000-field structure loads fast and lays out in order. */
static void test_many_fields(void **state)
{
	size_t n = 1000, i, len = 0, cap = 32 * n;
	char *text = malloc(cap);
	ipm_schema *s = ipm_schema_new();
	const ipm_type *t;

	(void)state;
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "[Wide]\n");
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "f%zu = %s\n", i,
					i % 2 ? "int32" : "int8");
	assert_int_equal(ipm_schema_load_string(s, text, "wide.ini"), 0);
	t = ipm_schema_find(s, "Wide");
	assert_int_equal(ipm_type_nfields(t), n);
	assert_int_equal(ipm_type_size(t), 8 * n / 2);
	assert_int_equal(ipm_type_field_offset(t, 999), 8 * 499 + 4);
	free(text);
	ipm_schema_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_demo),	cmocka_unit_test(test_padding),
	    cmocka_unit_test(test_arrays),	cmocka_unit_test(test_inheritance),
	    cmocka_unit_test(test_ctypes),	cmocka_unit_test(test_fingerprint),
	    cmocka_unit_test(test_many_fields), cmocka_unit_test(test_pack),
	    cmocka_unit_test(test_union),	cmocka_unit_test(test_wide),
	};

	return cmocka_run_group_tests_name("layout", tests, NULL, NULL);
}
