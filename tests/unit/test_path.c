/*
 * test_path.c - ipm_type_resolve() and ipm_map_resolve() on the demo schema
 * and on a structure with two-dimensional arrays.
 */
#include "unit.h"

#include <errno.h>
#include <string.h>

static const char grid_ini[] = "[Grid]\n"
			       "header = MmapStructureHeader\n"
			       "cells = int32[4][3]\n"
			       "flag = bool\n"
			       "names = char[8][3]\n"
			       "pts = Point2D * 2 * 5\n";

static int setup(void **state)
{
	ipm_schema *s = ipm_schema_new();

	if (!s || ipm_schema_load_file(s, "conf/demo.ini") < 0 ||
	    ipm_schema_load_string(s, grid_ini, "grid") < 0) {
		print_error("cannot load the schemas: %s\n",
			    s ? ipm_schema_errmsg(s) : "no memory");
		ipm_schema_free(s);
		return -1;
	}
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	ipm_schema_free(*state);
	return 0;
}

static void expect(const ipm_type *t, const char *path, size_t offset, size_t size,
		   enum ipm_kind kind, const char *type_name)
{
	struct ipm_field f;
	char err[IPM_ERRLEN] = "";

	if (ipm_type_resolve(t, path, &f, err) < 0)
		fail_msg("'%s': %s", path, err);
	if (f.offset != offset || f.size != size || f.kind != kind)
		fail_msg("'%s': offset %zu size %zu kind %d, want %zu %zu %d", path, f.offset,
			 f.size, f.kind, offset, size, kind);
	assert_string_equal(ipm_type_name(f.type), type_name);
	assert_int_equal(ipm_type_size(f.type), size);
}

static void refuse(const ipm_type *t, const char *path, int rc, const char *msg)
{
	struct ipm_field f, before;
	char err[IPM_ERRLEN] = "";

	memset(&f, 0x5a, sizeof(f));
	before = f;
	if (ipm_type_resolve(t, path, &f, err) != rc)
		fail_msg("'%s': not %d (%s)", path, rc, err);
	assert_string_equal(err, msg);
	assert_memory_equal(&f, &before, sizeof(f));
	/* without a message buffer, the same code */
	assert_int_equal(ipm_type_resolve(t, path, &f, NULL), rc);
}

static void test_demo(void **state)
{
	const ipm_type *t = ipm_schema_find(*state, "DemoMmapStructure");

	assert_non_null(t);
	expect(t, "header", 0, 16, IPM_STRUCT, "MmapStructureHeader");
	expect(t, "header.header_code", 0, 2, IPM_INT16, "int16");
	expect(t, "header.time_stamp", 8, 8, IPM_DOUBLE, "double");
	expect(t, "data_int", 16, 4, IPM_INT32, "int32");
	expect(t, "data_string", 20, 256, IPM_STRING, "char[256]");
	expect(t, "data_xy", 280, 16, IPM_STRUCT, "Point2D");
	expect(t, "data_xy.x", 280, 8, IPM_DOUBLE, "double");
	expect(t, "data_xy.y", 288, 8, IPM_DOUBLE, "double");
	expect(t, "multi_pts", 296, 392, IPM_STRUCT, "MultiPointsData");
	expect(t, "multi_pts.multi_data_int", 296, 4, IPM_INT32, "int32");
	expect(t, "multi_pts.multi_points", 304, 384, IPM_ARRAY, "Point2D[24]");
	expect(t, "multi_pts.multi_points[0]", 304, 16, IPM_STRUCT, "Point2D");
	expect(t, "multi_pts.multi_points[3].y", 296 + 8 + 3 * 16 + 8, 8, IPM_DOUBLE, "double");
	expect(t, "multi_pts.multi_points[23].x", 296 + 8 + 23 * 16, 8, IPM_DOUBLE, "double");
}

static void test_demo_errors(void **state)
{
	const ipm_type *t = ipm_schema_find(*state, "DemoMmapStructure");

	refuse(t, "", -EINVAL, "empty path");
	refuse(t, NULL, -EINVAL, "empty path");
	refuse(t, "nope", -ENOENT, "no field 'nope' in 'DemoMmapStructure' (at 'nope')");
	refuse(t, "data_xy.z", -ENOENT, "no field 'z' in 'Point2D' (at 'data_xy.z')");
	refuse(t, "multi_pts.multi_points[2].xx", -ENOENT,
	       "no field 'xx' in 'Point2D' (at 'multi_pts.multi_points[2].xx')");
	refuse(t, "data_x", -ENOENT, "no field 'data_x' in 'DemoMmapStructure' (at 'data_x')");
	refuse(t, "multi_pts.multi_points[24]", -ERANGE,
	       "index 24 out of range for 'multi_pts.multi_points' (0..23)");
	refuse(t, "multi_pts.multi_points[99999999999999999999999].x", -ERANGE,
	       "index 99999999999999999999999 out of range for 'multi_pts.multi_points' (0..23)");
	refuse(t, "data_xy.", -EINVAL, "trailing '.' in 'data_xy.'");
	refuse(t, "data_xy.x[0]", -EINVAL, "'data_xy.x' is not an array");
	refuse(t, "data_xy[0]", -EINVAL, "'data_xy' is not an array");
	refuse(t, "data_string[0]", -EINVAL, "'data_string' is not an array");
	refuse(t, "data_int.x", -EINVAL, "'data_int' is not a structure");
	refuse(t, "multi_pts.multi_points.x", -EINVAL,
	       "'multi_pts.multi_points' is not a structure");
	refuse(t, "multi_pts.multi_points[3", -EINVAL,
	       "missing ']' in 'multi_pts.multi_points[3'");
	refuse(t, "multi_pts.multi_points[]", -EINVAL,
	       "empty index at offset 23 in 'multi_pts.multi_points[]'");
	refuse(t, "multi_pts.multi_points[03]", -EINVAL,
	       "index with leading zero at offset 23 in 'multi_pts.multi_points[03]'");
	refuse(t, "multi_pts.multi_points[-1]", -EINVAL,
	       "bad index at offset 23 in 'multi_pts.multi_points[-1]'");
	refuse(t, "multi_pts.multi_points[+1]", -EINVAL,
	       "bad index at offset 23 in 'multi_pts.multi_points[+1]'");
	refuse(t, "multi_pts.multi_points[ 1]", -EINVAL,
	       "bad index at offset 23 in 'multi_pts.multi_points[ 1]'");
	refuse(t, "multi_pts.multi_points[0x1]", -EINVAL,
	       "bad index at offset 24 in 'multi_pts.multi_points[0x1]'");
	refuse(t, "multi_pts.multi_points[3]x", -EINVAL,
	       "unexpected 'x' at offset 25 in 'multi_pts.multi_points[3]x'");
	refuse(t, ".data_int", -EINVAL, "bad field name at offset 0 in '.data_int'");
	refuse(t, "data_xy..x", -EINVAL, "bad field name at offset 8 in 'data_xy..x'");
	refuse(t, "1abc", -EINVAL, "bad field name at offset 0 in '1abc'");
	refuse(t, "[0]", -EINVAL, "bad field name at offset 0 in '[0]'");
	refuse(t, "data_int ", -EINVAL, "unexpected ' ' at offset 8 in 'data_int '");
	refuse(t, "data-int", -EINVAL, "unexpected '-' at offset 4 in 'data-int'");
	refuse(t, ".", -EINVAL, "bad field name at offset 0 in '.'");
}

static void test_two_dimensions(void **state)
{
	const ipm_type *t = ipm_schema_find(*state, "Grid");

	assert_non_null(t);
	expect(t, "cells", 16, 48, IPM_ARRAY, "int32[4][3]");
	expect(t, "cells[1]", 16 + 12, 12, IPM_ARRAY, "int32[3]");
	expect(t, "cells[1][2]", 16 + 12 + 8, 4, IPM_INT32, "int32");
	expect(t, "cells[3][2]", 16 + 44, 4, IPM_INT32, "int32");
	expect(t, "flag", 64, 1, IPM_BOOL, "bool");
	expect(t, "names", 65, 24, IPM_ARRAY, "char[8][3]");
	/* as in C, char names[8][3] is eight strings of three bytes */
	expect(t, "names[2]", 65 + 6, 3, IPM_STRING, "char[3]");
	expect(t, "names[7]", 65 + 21, 3, IPM_STRING, "char[3]");
	/* Point2D * 2 * 5 is ctypes order: five pairs, Point2D[5][2] */
	expect(t, "pts", 96, 160, IPM_ARRAY, "Point2D[5][2]");
	expect(t, "pts[4][1].y", 96 + 4 * 32 + 16 + 8, 8, IPM_DOUBLE, "double");
	refuse(t, "cells[4][0]", -ERANGE, "index 4 out of range for 'cells' (0..3)");
	refuse(t, "cells[0][3]", -ERANGE, "index 3 out of range for 'cells[0]' (0..2)");
	refuse(t, "cells[0][1][0]", -EINVAL, "'cells[0][1]' is not an array");
	refuse(t, "names[2][0]", -EINVAL, "'names[2]' is not an array");
	refuse(t, "names[8]", -ERANGE, "index 8 out of range for 'names' (0..7)");
	refuse(t, "pts[1].x", -EINVAL, "'pts[1]' is not a structure");
	refuse(t, "pts[1][0].z", -ENOENT, "no field 'z' in 'Point2D' (at 'pts[1][0].z')");
}

static void test_not_a_structure(void **state)
{
	const ipm_type *t = ipm_schema_find(*state, "DemoMmapStructure");
	const ipm_type *i32 = ipm_type_field_type(t, 1);
	struct ipm_field f;
	char err[IPM_ERRLEN];

	assert_int_equal(ipm_type_kind(i32), IPM_INT32);
	assert_int_equal(ipm_type_resolve(i32, "x", &f, err), -EINVAL);
	assert_string_equal(err, "cannot resolve 'x': not in a structure");
	assert_int_equal(ipm_type_resolve(NULL, "x", &f, err), -EINVAL);
}

static void test_map_closed(void **state)
{
	ipm_map *m = ipm_map_new(*state);
	struct ipm_field f;

	assert_non_null(m);
	assert_int_equal(ipm_map_resolve(m, "data_int", &f), -EBADF);
	assert_string_equal(ipm_map_errmsg(m), "cannot resolve 'data_int': map is not open");
	ipm_map_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demo),
		cmocka_unit_test(test_demo_errors),
		cmocka_unit_test(test_two_dimensions),
		cmocka_unit_test(test_not_a_structure),
		cmocka_unit_test(test_map_closed),
	};

	return cmocka_run_group_tests_name("path", tests, setup, teardown);
}
