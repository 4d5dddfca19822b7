/*
 * test_describe.c - stored definitions: the text of a structure
 * (describe.c), the file a manager stores beside the lock file and what
 * every role does with it (stored.c). Bad definitions come from fixtures,
 * one per error case (tests/unit/fixtures/def_*.schema).
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

static const char demo_text[] = UNIT_DEMO_TEXT;

/* The same size, another type for data_xy.x: only a field tells them apart. */
static const char other_text[] = "[Point2D]\n"
				 "x = float\n"
				 "x2 = float\n"
				 "y = double\n"
				 "\n"
				 "[MultiPointsData]\n"
				 "multi_data_int = int32\n"
				 "multi_points = Point2D[24]\n"
				 "\n"
				 "[DemoMmapStructure]\n"
				 "header = MmapStructureHeader\n"
				 "data_int = int32\n"
				 "data_string = char[256]\n"
				 "data_xy = Point2D\n"
				 "multi_pts = MultiPointsData\n";

#define DEMO "DemoMmapStructure"

struct fix {
	ipm_schema *s;		   /* the demo schema */
	char dir[64];		   /* this test's temporary directory */
	char lock_dir[96];	   /* <dir>/locks */
	char mmap_dir[96];	   /* <dir>/mmap */
	char spath[160];	   /* the demo instance's stored definition */
	struct ipm_open_opts opts; /* pointing at the two */
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->s = unit_schema(demo_text, "demo");
	if (!f->s || unit_mkdtemp(f->dir, sizeof(f->dir), "describe") < 0)
		return -1;
	snprintf(f->mmap_dir, sizeof(f->mmap_dir), "%s/mmap", f->dir);
	snprintf(f->lock_dir, sizeof(f->lock_dir), "%s/locks", f->dir);
	snprintf(f->spath, sizeof(f->spath), "%s/" DEMO "_.schema", f->lock_dir);
	f->opts.mmap_dir = f->mmap_dir;
	f->opts.lock_dir = f->lock_dir;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	unit_rm_tree(f->dir);
	ipm_schema_free(f->s);
	free(f);
	return 0;
}

/* The whole of a file, NUL-terminated, or NULL. */
static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(fp);
	if (len)
		*len = (size_t)n;
	return buf;
}

static void spill(const char *path, const char *text, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* Creates the demo instance with schema s as manager: the stored file. */
static void create(struct fix *f, const ipm_schema *s)
{
	ipm_map *m = unit_open(s, DEMO, "", IPM_MANAGER, &f->opts);

	assert_non_null(m);
	ipm_map_free(m);
}

static void describe_demo(void **state)
{
	struct fix *f = *state;
	const ipm_type *t = ipm_schema_find(f->s, DEMO), *bt;
	char err[IPM_ERRLEN], *text, head[160];
	ipm_schema *back;
	int n;

	n = ipm_type_describe(t, &text, err);
	assert_true(n > 0);
	assert_int_equal(strlen(text), (size_t)n);
	snprintf(head, sizeof(head),
		 "; ipmmap definition 1\n; structure = " DEMO
		 "\n; size = 688\n; fingerprint = 0x%016" PRIx64 "\n",
		 ipm_type_fingerprint(t));
	assert_memory_equal(text, head, strlen(head));
	/* Used structures before their users, the header left to the loader. */
	assert_true(strstr(text, "[Point2D]") < strstr(text, "[MultiPointsData]"));
	assert_true(strstr(text, "[MultiPointsData]") < strstr(text, "[" DEMO "]"));
	assert_null(strstr(text, "[MmapStructureHeader]"));
	assert_non_null(strstr(text, "data_string = char[256]\n"));
	assert_non_null(strstr(text, "multi_points = Point2D[24]\n"));
	/* What ipm_schema_load_string() reads, laid out alike. */
	assert_int_equal(ipm_definition_parse(text, (size_t)n, "t", DEMO, 688, &back, &bt, err), 0);
	assert_int_equal(ipm_type_fingerprint(bt), ipm_type_fingerprint(t));
	assert_int_equal(ipm_type_size(bt), 688);
	ipm_schema_free(back);
	free(text);
}

static void describe_kinds(void **state)
{
	static const char text[] = "[Base]\n"
				   "header = MmapStructureHeader\n"
				   "a = uint8\n"
				   "[Inner]\n"
				   "_pack_ = 1\n"
				   "b = bool\n"
				   "c = c_char * 3\n"
				   "d = int32\n"
				   "[Derived : Base]\n"
				   "_pack_ = 2\n"
				   "grid = int16[3][2]\n"
				   "names = char[4][16]\n"
				   "inner = Inner * 2 * 5\n"
				   "f = float\n"
				   "u = uint64\n";
	ipm_schema *s = unit_schema(text, "kinds"), *back;
	const ipm_type *t, *bt;
	char err[IPM_ERRLEN], *out, *again;
	int n;

	(void)state;
	assert_non_null(s);
	t = ipm_schema_find(s, "Derived");
	n = ipm_type_describe(t, &out, err);
	assert_true(n > 0);
	assert_non_null(strstr(out, "[Derived : Base]\n_pack_ = 2\n"));
	assert_non_null(strstr(out, "[Inner]\n_pack_ = 1\n"));
	assert_true(strstr(out, "[Base]") < strstr(out, "[Derived : Base]"));
	/* Only Derived's own fields in its section. */
	assert_null(strstr(strstr(out, "[Derived : Base]"), "a = uint8"));
	assert_non_null(strstr(out, "names = char[4][16]\n"));
	assert_non_null(strstr(out, "inner = Inner[5][2]\n"));
	assert_int_equal(ipm_definition_parse(out, (size_t)n, "k", "Derived", 0, &back, &bt, err),
			 0);
	assert_int_equal(ipm_type_fingerprint(bt), ipm_type_fingerprint(t));
	/* The same text again from what was read: a fixed point. */
	assert_int_equal(ipm_type_describe(bt, &again, err), n);
	assert_string_equal(again, out);
	free(again);
	ipm_schema_free(back);
	free(out);
	/* Only what can be mapped is stored: a structure without the header
	 * is not, nor a scalar. */
	assert_int_equal(ipm_type_describe(ipm_schema_find(s, "Inner"), &out, err), -EINVAL);
	assert_null(out);
	assert_contains(err, "does not start with " IPM_HEADER_STRUCT);
	assert_int_equal(ipm_type_describe(ipm_type_field_type(t, 1), &out, err), -EINVAL);
	assert_contains(err, "not a structure");
	ipm_schema_free(s);
}

/* Unions and bit fields are said as the schema says them, and a bit field
 * of another width is the difference named. */
static void describe_unions_bits(void **state)
{
#define UB_TEXT(w)                                                                                 \
	"[V : Union]\ni = int32\nf = float\nb = uint8[8]\n"                                          \
	"[Flags]\na = c_uint32 : 3\nb = c_uint32 : 5\nc = uint8\n"                                  \
	"[S]\nheader = MmapStructureHeader\nv = V\nfl = Flags\nw = uint16 : " w "\n"
	struct fix *f = *state;
	ipm_schema *s = unit_schema(UB_TEXT("4"), "ub"), *o = unit_schema(UB_TEXT("5"), "ub5");
	char err[IPM_ERRLEN], *text;
	ipm_map *m;
	int n;

	assert_non_null(s);
	assert_non_null(o);
	n = ipm_type_describe(ipm_schema_find(s, "S"), &text, err);
	if (n < 0)
		fail_msg("%s", err);
	assert_non_null(strstr(text, "[V : Union]\ni = int32\n"));
	assert_non_null(strstr(text, "a = uint32 : 3\nb = uint32 : 5\n"));
	assert_non_null(strstr(text, "w = uint16 : 4\n"));
	free(text);
	ipm_map_free(unit_open(s, "S", "", IPM_MANAGER, &f->opts));
	m = ipm_map_new(o);
	assert_int_equal(ipm_map_open(m, "S", "", IPM_READER, &f->opts), -EINVAL);
	assert_contains(ipm_map_errmsg(m), "w is bits 0..4 here, 0..3 there");
	ipm_map_free(m);
	m = ipm_map_new(NULL);
	assert_int_equal(ipm_map_open_described(m, "S", "", IPM_READER, &f->opts), 0);
	assert_true(ipm_type_is_union(ipm_type_field_type(ipm_map_type(m), 1)));
	ipm_map_free(m);
	ipm_schema_free(o);
	ipm_schema_free(s);
#undef UB_TEXT
}

/* Wide text and long doubles are said in the schema's own words, and a
 * wchar[N] of another N is the difference named. */
static void describe_wide(void **state)
{
#define W_TEXT(n)                                                                                  \
	"[S]\nheader = MmapStructureHeader\nc = c_wchar\nw = c_wchar * " n "\n"                   \
	"ld = c_longdouble\nlds = longdouble[2]\nws = c_wchar * 2 * 3\n"
	struct fix *f = *state;
	ipm_schema *s = unit_schema(W_TEXT("8"), "w"), *o = unit_schema(W_TEXT("9"), "w9");
	char err[IPM_ERRLEN], buf[64], *text;
	ipm_map *m;
	int n;

	assert_non_null(s);
	assert_non_null(o);
	n = ipm_type_describe(ipm_schema_find(s, "S"), &text, err);
	if (n < 0)
		fail_msg("%s", err);
	assert_non_null(strstr(text, "c = wchar[1]\nw = wchar[8]\nld = longdouble\n"
				     "lds = longdouble[2]\nws = wchar[3][2]\n"));
	free(text);
	m = unit_open(s, "S", "", IPM_MANAGER, &f->opts);
	assert_int_equal(ipm_write_text(m, "w", "\xc3\xa9t\xc3\xa9"), 0);
	ipm_map_free(m);
	m = ipm_map_new(o);
	assert_int_equal(ipm_map_open(m, "S", "", IPM_READER, &f->opts), -EINVAL);
	assert_contains(ipm_map_errmsg(m), "w is wchar[9] here, wchar[8] there");
	ipm_map_free(m);
	m = ipm_map_new(NULL);
	assert_int_equal(ipm_map_open_described(m, "S", "", IPM_READER, &f->opts), 0);
	assert_int_equal(ipm_type_fingerprint(ipm_map_type(m)),
			 ipm_type_fingerprint(ipm_schema_find(s, "S")));
	assert_int_equal(ipm_read_text(m, "w", buf, sizeof(buf)), 5);
	assert_string_equal(buf, "\xc3\xa9t\xc3\xa9");
	ipm_map_free(m);
	ipm_schema_free(o);
	ipm_schema_free(s);
#undef W_TEXT
}

/* Each fixture is refused with the message given. */
static void parse_errors(void **state)
{
	static const struct {
		const char *file;
		const char *structure;
		size_t size;
		int rc;
		const char *msg;
	} cases[] = {
	    {"def_magic.schema", NULL, 0, -EINVAL, ":1: not a stored definition"},
	    {"def_no_structure.schema", NULL, 0, -EINVAL, ":2: expected '; structure = NAME'"},
	    {"def_bad_size.schema", NULL, 0, -EINVAL, ":3: bad size"},
	    {"def_bad_fingerprint.schema", NULL, 0, -EINVAL, ":4: bad fingerprint"},
	    {"def_fingerprint.schema", NULL, 0, -EINVAL, "its header says 0x"},
	    {"def_size.schema", NULL, 0, -EINVAL, "lays out to 688 bytes, its header says 600"},
	    {"def_missing.schema", NULL, 0, -EINVAL, "structure 'DemoMmapStructure' is not"},
	    {"def_unmappable.schema", NULL, 0, -EINVAL, "does not start with"},
	    {"def_bad_ini.schema", NULL, 0, -EINVAL, ":8: unknown type 'int33'"},
	    {"def_header_only.schema", NULL, 0, -EINVAL, "is not defined in it"},
	    {"def_good.schema", "Other", 0, -EINVAL, "describes structure 'DemoMmapStructure'"},
	    {"def_good.schema", NULL, 600, -EINVAL, "688 bytes, the file has 600"},
	    {"def_good.schema", DEMO, 688, 0, NULL},
	};
	char path[256], err[IPM_ERRLEN];
	const ipm_type *t;
	ipm_schema *s;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		char *text;
		int rc;

		snprintf(path, sizeof(path), "tests/unit/fixtures/%s", cases[i].file);
		text = slurp(path, &len);
		assert_non_null(text);
		rc = ipm_definition_parse(text, len, path, cases[i].structure, cases[i].size, &s,
					  &t, err);
		if (rc != cases[i].rc)
			fail_msg("%s: %d, expected %d (%s)", cases[i].file, rc, cases[i].rc, err);
		if (cases[i].msg) {
			assert_null(s);
			assert_contains(err, cases[i].msg);
			assert_contains(err, path);
		}
		ipm_schema_free(s);
		free(text);
	}
}

/* Cut anywhere but its last newline, a definition is refused; too long or
 * holding a NUL, too. */
static void parse_truncated(void **state)
{
	struct fix *f = *state;
	char err[IPM_ERRLEN], *text, *big;
	const ipm_type *t;
	ipm_schema *s;
	int n;

	n = ipm_type_describe(ipm_schema_find(f->s, DEMO), &text, err);
	assert_true(n > 0);
	for (int cut = 0; cut < n - 1; cut++) {
		int rc = ipm_definition_parse(text, (size_t)cut, "cut", NULL, 0, &s, &t, err);

		if (rc != -EINVAL)
			fail_msg("cut at %d: %d", cut, rc);
		assert_null(s);
	}
	text[40] = '\0';
	assert_int_equal(ipm_definition_parse(text, (size_t)n, "nul", NULL, 0, &s, &t, err),
			 -EINVAL);
	assert_contains(err, "nul: NUL byte");
	free(text);
	big = malloc(IPM_DEFINITION_MAX + 1);
	assert_non_null(big);
	memset(big, ';', IPM_DEFINITION_MAX + 1);
	assert_int_equal(
	    ipm_definition_parse(big, IPM_DEFINITION_MAX + 1, "big", NULL, 0, &s, &t, err), -EFBIG);
	assert_contains(err, "big: too large");
	free(big);
}

static void manager_stores(void **state)
{
	struct fix *f = *state;
	char *text, *want, err[IPM_ERRLEN];
	struct stat st;
	DIR *d;
	struct dirent *e;
	int n = 0;

	f->opts.mode = 0640;
	create(f, f->s);
	text = slurp(f->spath, NULL);
	assert_non_null(text);
	assert_true(ipm_type_describe(ipm_schema_find(f->s, DEMO), &want, err) > 0);
	assert_string_equal(text, want);
	assert_int_equal(stat(f->spath, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	/* No temporary file left behind. */
	d = opendir(f->lock_dir);
	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	assert_int_equal(n, 2); /* the lock file and the definition */
	free(text);
	free(want);
}

static void open_described(void **state)
{
	struct fix *f = *state;
	ipm_map *m, *w;
	struct ipm_field fld;
	int64_t v;

	create(f, f->s);
	w = unit_open(f->s, DEMO, "", IPM_EDITOR, &f->opts);
	assert_non_null(w);
	assert_int_equal(ipm_write_text(w, "multi_pts.multi_points[3].y", "2.5"), 0);
	assert_int_equal(ipm_write_text(w, "data_int", "-7"), 0);
	/* No schema at all. */
	m = ipm_map_new(NULL);
	assert_non_null(m);
	assert_int_equal(ipm_map_open_described(m, DEMO, "", IPM_READER, &f->opts), 0);
	assert_string_equal(ipm_map_errmsg(m), "");
	assert_int_equal(ipm_type_size(ipm_map_type(m)), 688);
	assert_int_equal(ipm_map_resolve(m, "data_int", &fld), 0);
	assert_int_equal(ipm_get_i64(m, &fld, &v), 0);
	assert_int_equal(v, -7);
	/* Opened again: the old definition goes, the new one serves. */
	ipm_map_close(m);
	assert_int_equal(ipm_map_open_described(m, DEMO, NULL, IPM_EDITOR, &f->opts), 0);
	assert_int_equal(ipm_map_resolve(m, "multi_pts.multi_points[3].y", &fld), 0);
	assert_int_equal(ipm_map_open_described(m, DEMO, NULL, IPM_EDITOR, &f->opts), -EBUSY);
	ipm_map_free(m);
	ipm_map_free(w);
	/* A schema without the structure: the stored one. */
	ipm_schema *empty = unit_schema("[Unrelated]\na = int8\n", "empty");

	m = ipm_map_new(empty);
	assert_int_equal(ipm_map_open_described(m, DEMO, "", IPM_READER, &f->opts), 0);
	assert_ptr_not_equal(ipm_schema_find(empty, DEMO), ipm_map_type(m));
	ipm_map_free(m);
	ipm_schema_free(empty);
	/* With it: exactly ipm_map_open(). */
	m = ipm_map_new(f->s);
	assert_int_equal(ipm_map_open_described(m, DEMO, "", IPM_READER, &f->opts), 0);
	assert_ptr_equal(ipm_map_type(m), ipm_schema_find(f->s, DEMO));
	ipm_map_free(m);
}

static void described_missing(void **state)
{
	struct fix *f = *state;
	ipm_map *m = ipm_map_new(NULL);

	assert_int_equal(ipm_map_open_described(m, DEMO, "", IPM_READER, &f->opts), -ENOENT);
	assert_contains(ipm_map_errmsg(m), "cannot open");
	assert_contains(ipm_map_errmsg(m), DEMO "_.mmap");
	create(f, f->s);
	/* As Python IPMMAP or an older libipmmap leave it. */
	assert_int_equal(unlink(f->spath), 0);
	assert_int_equal(ipm_map_open_described(m, DEMO, "", IPM_READER, &f->opts), -ENOENT);
	assert_contains(ipm_map_errmsg(m), "no stored definition");
	assert_contains(ipm_map_errmsg(m), f->spath);
	/* ... and with a schema it works as before. */
	ipm_map_free(m);
	m = unit_open(f->s, DEMO, "", IPM_READER, &f->opts);
	assert_non_null(m);
	assert_string_equal(ipm_map_errmsg(m), "");
	ipm_map_free(m);
	/* A manager that keeps the file stores what was missing. */
	create(f, f->s);
	assert_int_equal(access(f->spath, F_OK), 0);
}

static void mismatch_refused(void **state)
{
	struct fix *f = *state;
	ipm_schema *o = unit_schema(other_text, "other");
	struct ipm_open_opts force = f->opts;
	ipm_map *m;

	assert_non_null(o);
	assert_int_equal(ipm_type_size(ipm_schema_find(o, DEMO)), 688);
	create(f, f->s);
	for (int role = IPM_MANAGER; role <= IPM_READER; role++) {
		m = ipm_map_new(o);
		assert_int_equal(ipm_map_open(m, DEMO, "", (enum ipm_role)role, &f->opts), -EINVAL);
		assert_contains(ipm_map_errmsg(m), "structure '" DEMO "' differs from its stored "
						   "definition");
		assert_contains(ipm_map_errmsg(m), "data_xy.x is float here, double there");
		if (role == IPM_MANAGER)
			assert_contains(ipm_map_errmsg(m), "force re-creates");
		ipm_map_free(m);
	}
	/* Forced, the manager makes the file anew, and its definition. */
	force.flags = IPM_FORCE;
	m = unit_open(o, DEMO, "", IPM_MANAGER, &force);
	assert_non_null(m);
	ipm_map_free(m);
	m = ipm_map_new(f->s);
	assert_int_equal(ipm_map_open(m, DEMO, "", IPM_READER, &f->opts), -EINVAL);
	assert_contains(ipm_map_errmsg(m), "data_xy.x is double here, float there");
	ipm_map_free(m);
	ipm_schema_free(o);
}

/* Stored S and each structure of the same size opened over it: the
 * message names where they part. */
static void mismatch_messages(void **state)
{
#define S_HEAD "[S]\nheader = MmapStructureHeader\na = int32\n"
	static const struct {
		const char *mine;
		const char *msg;
	} cases[] = {
	    {S_HEAD "b = uint32\np = int8[4]\nd = int8\n", "b is uint32 here, int32 there"},
	    {S_HEAD "c = int32\np = int8[4]\nd = int8\n",
	     "field 3 of the structure is 'c' here, 'b' there"},
	    {S_HEAD "b = int32\np = int8[4]\n", "d is there only"},
	    {S_HEAD "b = int32\np = int8[4]\nd = int8\ne = int8\n", "e is here only"},
	    {"[P]\nx = int16\n" S_HEAD "b = int32\np = P[2]\nd = int8\n",
	     "p is P[2] here, int8[4] there"},
	    {S_HEAD "b = int32\np = char[4]\nd = int8\n", "p is char[4] here, int8[4] there"},
	};
	struct fix *f = *state;
	ipm_schema *stored = unit_schema(S_HEAD "b = int32\np = int8[4]\nd = int8\n", "stored");
	struct ipm_open_opts o = f->opts;

	assert_non_null(stored);
	o.flags = IPM_FORCE;
	ipm_map_free(unit_open(stored, "S", "", IPM_MANAGER, &o));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ipm_schema *s = unit_schema(cases[i].mine, "mine");
		ipm_map *m = ipm_map_new(s);

		assert_non_null(s);
		assert_int_equal(ipm_type_size(ipm_schema_find(s, "S")), 32);
		assert_int_equal(ipm_map_open(m, "S", "", IPM_READER, &f->opts), -EINVAL);
		assert_contains(ipm_map_errmsg(m), cases[i].msg);
		ipm_map_free(m);
		ipm_schema_free(s);
	}
	ipm_schema_free(stored);
#undef S_HEAD
}

static void damaged_definition(void **state)
{
	struct fix *f = *state;
	static const char *const bad[] = {
	    "garbage\n",
	    "; ipmmap definition 1\n; structure = DemoMmapStructure\n",
	    "",
	};
	char *good;
	size_t len;
	ipm_map *m;

	create(f, f->s);
	good = slurp(f->spath, &len);
	assert_non_null(good);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]) + 1; i++) {
		if (i < sizeof(bad) / sizeof(bad[0]))
			spill(f->spath, bad[i], strlen(bad[i]));
		else
			spill(f->spath, good, len / 2); /* truncated */
		/* Without a schema: refused, with the reason. */
		m = ipm_map_new(NULL);
		assert_int_equal(ipm_map_open_described(m, DEMO, "", IPM_READER, &f->opts), -EIO);
		assert_contains(ipm_map_errmsg(m), f->spath);
		ipm_map_free(m);
		/* With one: it opens, and says why the definition is not used
		 * (a cut one whose header has the same layout compares equal:
		 * the handle's own schema is what it reads by). */
		m = unit_open(f->s, DEMO, "", IPM_READER, &f->opts);
		assert_non_null(m);
		if (i < sizeof(bad) / sizeof(bad[0]))
			assert_contains(ipm_map_errmsg(m), "stored definition not used");
		ipm_map_free(m);
	}
	/* A manager keeping the file puts its own back. */
	create(f, f->s);
	m = ipm_map_new(NULL);
	assert_int_equal(ipm_map_open_described(m, DEMO, "", IPM_READER, &f->opts), 0);
	ipm_map_free(m);
	free(good);
}

static void missized_definition(void **state)
{
	struct fix *f = *state;
	ipm_schema *small = unit_schema("[DemoMmapStructure]\nheader = MmapStructureHeader\n"
					"a = int32\n",
					"small");
	char *text, err[IPM_ERRLEN], link[200];
	ipm_map *m;
	int n;

	create(f, f->s);
	/* A whole, good definition of another size than the file. */
	n = ipm_type_describe(ipm_schema_find(small, DEMO), &text, err);
	assert_true(n > 0);
	spill(f->spath, text, (size_t)n);
	m = ipm_map_new(NULL);
	assert_int_equal(ipm_map_open_described(m, DEMO, "", IPM_READER, &f->opts), -EIO);
	assert_contains(ipm_map_errmsg(m), "lays out to 24 bytes, the file has 688");
	ipm_map_free(m);
	/* Too large. */
	char *big = calloc(1, IPM_DEFINITION_MAX + 10);

	memset(big, '\n', IPM_DEFINITION_MAX + 9);
	spill(f->spath, big, IPM_DEFINITION_MAX + 9);
	free(big);
	m = ipm_map_new(NULL);
	assert_int_equal(ipm_map_open_described(m, DEMO, "", IPM_READER, &f->opts), -EIO);
	assert_contains(ipm_map_errmsg(m), "too large");
	ipm_map_free(m);
	/* A symbolic link is not followed. */
	snprintf(link, sizeof(link), "%s/elsewhere", f->dir);
	spill(link, text, (size_t)n);
	assert_int_equal(unlink(f->spath), 0);
	assert_int_equal(symlink(link, f->spath), 0);
	m = ipm_map_new(NULL);
	assert_int_equal(ipm_map_open_described(m, DEMO, "", IPM_READER, &f->opts), -EIO);
	assert_contains(ipm_map_errmsg(m), "symbolic link");
	ipm_map_free(m);
	free(text);
	ipm_schema_free(small);
}

/* A listing's "<Struct>_<tag>": the structure comes from the definition. */
static void read_by_file_name(void **state)
{
	struct fix *f = *state;
	ipm_schema *s = unit_schema("[A_B]\nheader = MmapStructureHeader\nv = int8\n", "ab");
	const ipm_type *t;
	ipm_schema *got;
	char err[IPM_ERRLEN];

	ipm_map_free(unit_open(s, "A_B", "c_d", IPM_MANAGER, &f->opts));
	assert_int_equal(ipm_definition_read("A_B_c_d", NULL, &f->opts, &got, &t, err), 0);
	assert_string_equal(ipm_type_name(t), "A_B");
	ipm_schema_free(got);
	assert_int_equal(ipm_definition_read("A_B", "c_d", &f->opts, &got, &t, err), 0);
	ipm_schema_free(got);
	/* The same files read as structure A: not what they describe. */
	assert_int_equal(ipm_definition_read("A", "B_c_d", &f->opts, &got, &t, err), -EIO);
	assert_contains(err, "describes structure 'A_B', expected 'A'");
	assert_null(got);
	assert_int_equal(ipm_definition_read("../x", NULL, &f->opts, &got, &t, err), -EINVAL);
	ipm_schema_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(describe_demo, setup, teardown),
	    cmocka_unit_test(describe_kinds),
	    cmocka_unit_test_setup_teardown(describe_unions_bits, setup, teardown),
	    cmocka_unit_test_setup_teardown(describe_wide, setup, teardown),
	    cmocka_unit_test(parse_errors),
	    cmocka_unit_test_setup_teardown(parse_truncated, setup, teardown),
	    cmocka_unit_test_setup_teardown(manager_stores, setup, teardown),
	    cmocka_unit_test_setup_teardown(open_described, setup, teardown),
	    cmocka_unit_test_setup_teardown(described_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(mismatch_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(mismatch_messages, setup, teardown),
	    cmocka_unit_test_setup_teardown(damaged_definition, setup, teardown),
	    cmocka_unit_test_setup_teardown(missized_definition, setup, teardown),
	    cmocka_unit_test_setup_teardown(read_by_file_name, setup, teardown),
	};

	return cmocka_run_group_tests_name("describe", tests, NULL, NULL);
}
