/*
 * test_walk.c - ipm_type_walk(): leaves and their paths, entering and
 * leaving structures and arrays, skipping, stopping, starting at a field,
 * and nesting as deep as a schema allows.
 */
#include "unit.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

static const char grid_ini[] = "[Grid]\n"
			       "header = MmapStructureHeader\n"
			       "cells = int32[2][3]\n"
			       "names = char[2][8]\n"
			       "pts = Point2D * 2\n";

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

/* Every visit as one line "E|L|V depth name path offset", appended. */
struct record {
	const ipm_type *top; /* resolves the leaves' paths */
	char text[8192];     /* the lines */
	size_t len;	     /* used */
	size_t leaves;	     /* leaves seen */
	size_t last_end;     /* end of the last leaf: leaves come in layout order */
};

static int record(const struct ipm_walk *w, void *ctx)
{
	struct record *r = ctx;
	static const char ev[] = {
	    [IPM_WALK_LEAF] = 'V', [IPM_WALK_ENTER] = 'E', [IPM_WALK_LEAVE] = 'L'};

	r->len += (size_t)snprintf(r->text + r->len, sizeof(r->text) - r->len, "%c %zu %s %s %zu\n",
				   ev[w->event], w->depth, w->name, w->path, w->field.offset);
	assert_true(r->len < sizeof(r->text));
	if (w->event == IPM_WALK_LEAF) {
		struct ipm_field f;
		char err[IPM_ERRLEN];

		/* the path reads back to the same field */
		if (r->top) {
			assert_int_equal(ipm_type_resolve(r->top, w->path, &f, err), 0);
			assert_int_equal(f.offset, w->field.offset);
			assert_ptr_equal(f.type, w->field.type);
		}
		assert_true(w->field.offset >= r->last_end);
		assert_true(w->field.kind < IPM_ARRAY);
		r->last_end = w->field.offset + w->field.size;
		r->leaves++;
	}
	return 0;
}

static void test_leaves(void **state)
{
	const ipm_type *t = ipm_schema_find(*state, "DemoMmapStructure");
	struct record r = {.top = t};

	assert_int_equal(ipm_type_walk(t, NULL, 0, 0, record, &r), 0);
	/* header 2, data_int, data_string, data_xy 2, multi_data_int, 24 points 2 */
	assert_int_equal(r.leaves, 2 + 1 + 1 + 2 + 1 + 48);
	assert_contains(r.text, "V 1 data_string data_string 20\n");
	assert_contains(r.text, "V 4 y multi_pts.multi_points[3].y 360\n");
	assert_null(strstr(r.text, "E "));
}

static void test_dirs(void **state)
{
	const ipm_type *t = ipm_schema_find(*state, "Grid");
	struct record r = {.top = t};

	assert_int_equal(ipm_type_walk(t, NULL, 0, IPM_WALK_DIRS, record, &r), 0);
	assert_string_equal(r.text, "E 0   0\n"
				    "E 1 header header 0\n"
				    "V 2 header_code header.header_code 0\n"
				    "V 2 time_stamp header.time_stamp 8\n"
				    "L 1 header header 0\n"
				    "E 1 cells cells 16\n"
				    "E 2 0 cells[0] 16\n"
				    "V 3 0 cells[0][0] 16\n"
				    "V 3 1 cells[0][1] 20\n"
				    "V 3 2 cells[0][2] 24\n"
				    "L 2 0 cells[0] 16\n"
				    "E 2 1 cells[1] 28\n"
				    "V 3 0 cells[1][0] 28\n"
				    "V 3 1 cells[1][1] 32\n"
				    "V 3 2 cells[1][2] 36\n"
				    "L 2 1 cells[1] 28\n"
				    "L 1 cells cells 16\n"
				    "E 1 names names 40\n"
				    "V 2 0 names[0] 40\n"
				    "V 2 1 names[1] 48\n"
				    "L 1 names names 40\n"
				    "E 1 pts pts 56\n"
				    "E 2 0 pts[0] 56\n"
				    "V 3 x pts[0].x 56\n"
				    "V 3 y pts[0].y 64\n"
				    "L 2 0 pts[0] 56\n"
				    "E 2 1 pts[1] 72\n"
				    "V 3 x pts[1].x 72\n"
				    "V 3 y pts[1].y 80\n"
				    "L 2 1 pts[1] 72\n"
				    "L 1 pts pts 56\n"
				    "L 0   0\n");
}

/* Skips every array. */
static int skip_arrays(const struct ipm_walk *w, void *ctx)
{
	if (w->event == IPM_WALK_ENTER && w->field.kind == IPM_ARRAY)
		return IPM_WALK_SKIP;
	return record(w, ctx);
}

static void test_skip(void **state)
{
	const ipm_type *t = ipm_schema_find(*state, "Grid");
	struct record r = {.top = t};

	assert_int_equal(ipm_type_walk(t, NULL, 0, IPM_WALK_DIRS, skip_arrays, &r), 0);
	assert_string_equal(r.text, "E 0   0\n"
				    "E 1 header header 0\n"
				    "V 2 header_code header.header_code 0\n"
				    "V 2 time_stamp header.time_stamp 8\n"
				    "L 1 header header 0\n"
				    "L 0   0\n");
}

static int stop_at_third(const struct ipm_walk *w, void *ctx)
{
	int *n = ctx;

	(void)w;
	return ++*n == 3 ? -EINTR : 0;
}

static void test_stop(void **state)
{
	const ipm_type *t = ipm_schema_find(*state, "DemoMmapStructure");
	int n = 0;

	assert_int_equal(ipm_type_walk(t, NULL, 0, 0, stop_at_third, &n), -EINTR);
	assert_int_equal(n, 3);
	n = 0;
	assert_int_equal(ipm_type_walk(t, NULL, 0, IPM_WALK_DIRS, stop_at_third, &n), -EINTR);
	assert_int_equal(n, 3);
	assert_int_equal(ipm_type_walk(NULL, NULL, 0, 0, stop_at_third, &n), -EINVAL);
	assert_int_equal(ipm_type_walk(t, NULL, 0, 0, NULL, NULL), -EINVAL);
}

/* A walk from a resolved field carries its path and offset. */
static void test_from_field(void **state)
{
	const ipm_type *t = ipm_schema_find(*state, "DemoMmapStructure");
	struct record r = {.top = t};
	struct ipm_field f;

	assert_int_equal(ipm_type_resolve(t, "multi_pts.multi_points[2]", &f, NULL), 0);
	assert_int_equal(
	    ipm_type_walk(f.type, "multi_pts.multi_points[2]", f.offset, 0, record, &r), 0);
	assert_string_equal(r.text, "V 1 x multi_pts.multi_points[2].x 336\n"
				    "V 1 y multi_pts.multi_points[2].y 344\n");
	/* a leaf alone is visited once, at depth 0 */
	memset(&r, 0, sizeof(r));
	r.top = t;
	assert_int_equal(ipm_type_resolve(t, "data_int", &f, NULL), 0);
	assert_int_equal(ipm_type_walk(f.type, "data_int", f.offset, IPM_WALK_DIRS, record, &r), 0);
	assert_string_equal(r.text, "V 0  data_int 16\n");
}

static int count_leaves(const struct ipm_walk *w, void *ctx)
{
	size_t *n = ctx;

	if (w->event == IPM_WALK_LEAF)
		(*n)++;
	return 0;
}

/* The deepest nesting a schema accepts, with arrays at every level, walks
 * on a thread stack of 64 kB. */
struct deep {
	const ipm_type *t; /* the outermost structure */
	size_t leaves;	   /* what the walk found */
	int rc;		   /* what it returned */
};

static void *walk_deep(void *arg)
{
	struct deep *d = arg;

	d->rc = ipm_type_walk(d->t, NULL, 0, IPM_WALK_DIRS, count_leaves, &d->leaves);
	return NULL;
}

static void test_deep(void **state)
{
	size_t cap = 1 << 16, len = 0;
	char *text = malloc(cap);
	ipm_schema *s = ipm_schema_new();
	struct deep d = {0};
	pthread_attr_t attr;
	pthread_t th;
	int i;

	(void)state;
	assert_non_null(text);
	/* S0 holds an int; S(i) holds S(i-1)[1][1]; 999 levels in all */
	len += (size_t)snprintf(text + len, cap - len, "[S0]\nv = int32\n");
	for (i = 1; i < 999; i++)
		len += (size_t)snprintf(text + len, cap - len, "[S%d]\nin = S%d[1][1]\n", i, i - 1);
	assert_true(len < cap);
	if (ipm_schema_load_string(s, text, "deep") < 0)
		fail_msg("%s", ipm_schema_errmsg(s));
	d.t = ipm_schema_find(s, "S998");
	assert_non_null(d.t);
	assert_int_equal(pthread_attr_init(&attr), 0);
	assert_int_equal(pthread_attr_setstacksize(&attr, 64 * 1024), 0);
	assert_int_equal(pthread_create(&th, &attr, walk_deep, &d), 0);
	pthread_join(th, NULL);
	pthread_attr_destroy(&attr);
	assert_int_equal(d.rc, 0);
	assert_int_equal(d.leaves, 1);
	ipm_schema_free(s);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_leaves),     cmocka_unit_test(test_dirs),
	    cmocka_unit_test(test_skip),       cmocka_unit_test(test_stop),
	    cmocka_unit_test(test_from_field), cmocka_unit_test(test_deep),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
