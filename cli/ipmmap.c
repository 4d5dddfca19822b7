/*
 * ipmmap.c - the command-line tool, for machines without FUSE and for scripts.
 *
 *   $ ipmmap -s conf/demo.ini create DemoMmapStructure
 *   $ ipmmap -s conf/demo.ini set DemoMmapStructure data_int 42 data_xy.x 0.5
 *   $ ipmmap -s conf/demo.ini get DemoMmapStructure data_int
 *   42
 *   $ ipmmap -s conf/demo.ini dump DemoMmapStructure | head -3
 *   header.header_code = 4392
 *   header.time_stamp = 1795000000.123456
 *   data_int = 42
 *   $ ipmmap -s conf/demo.ini check
 *   $ ipmmap -s conf/demo.ini -n 1 watch DemoMmapStructure data_int data_xy
 *   data_int = 42
 *   data_xy.x = 0.5
 *   data_xy.y = 0
 *   data_int = 43                      (printed when someone writes 43)
 *
 * Every command that touches an instance takes one lock for all its work:
 * `set` with several pairs parses them all first and writes them under one
 * write lock, or writes none.
 */
#include "ipmmap.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: ipmmap [OPTIONS] COMMAND [ARGS]\n"
	"\n"
	"Commands:\n"
	"  create STRUCT            create the instance (manager); -f re-creates it\n"
	"  get STRUCT PATH...       print each field's value, one per line\n"
	"  set STRUCT PATH VALUE... write the pairs under one write lock, all or none\n"
	"  dump STRUCT              print 'path = value' for every field (one read lock)\n"
	"  clear STRUCT             zero the structure, keeping the header code\n"
	"  touch STRUCT             set the header timestamp to now\n"
	"  watch STRUCT PATH...     print 'path = value' for every field under the\n"
	"                           paths, then again for each one that changes,\n"
	"                           until SIGINT/SIGTERM or -n changes\n"
	"  header                   print a C header for every structure of the schema\n"
	"  check                    validate the schema and print every structure's layout\n"
	"\n"
	"Options:\n"
	"  -s, --schema FILE        schema file (repeatable; default $IPMMAP_SCHEMA)\n"
	"  -t, --tag TAG            instance tag (default: empty, file STRUCT_.mmap)\n"
	"  -m, --mmap-dir DIR       directory of .mmap files (default ./.mmap)\n"
	"  -l, --lock-dir DIR       directory of .lockfile files (default ./.fasteners)\n"
	"  -f, --force              create: re-create an existing file\n"
	"  -w, --timeout MS         wait at most MS ms for the lock (default: forever)\n"
	"  -n, --count N            watch: stop after N changes\n"
	"  -h, --help               show this help\n"
	"  -V, --version            show the version\n"
	"\n"
	"Exit status: 0 on success, 1 on failure, 2 on a usage error.\n";

struct cli {
	ipm_schema *schema;         /* loaded from every -s */
	struct ipm_open_opts opts;  /* directories and flags */
	const char *tag;            /* -t */
	int timeout_ms;             /* -w */
	long count;                 /* -n, 0: no limit */
};

static int fail(const char *what)
{
	fprintf(stderr, "ipmmap: %s\n", what);
	return 1;
}

static int open_instance(struct cli *c, ipm_map **out, const char *name, enum ipm_role role)
{
	ipm_map *m = ipm_map_new(c->schema);

	if (!m)
		return fail("out of memory");
	if (ipm_map_open(m, name, c->tag, role, &c->opts) < 0) {
		fail(ipm_map_errmsg(m));
		ipm_map_free(m);
		return 1;
	}
	*out = m;
	return 0;
}

static int lock(struct cli *c, ipm_map *m, int write)
{
	int rc = write ? ipm_lock_write(m, c->timeout_ms) : ipm_lock_read(m, c->timeout_ms);

	if (rc < 0)
		return fail(ipm_map_errmsg(m));
	return 0;
}

static int cmd_create(struct cli *c, int argc, char **argv)
{
	ipm_map *m;

	if (argc != 1)
		return 2;
	if (open_instance(c, &m, argv[0], IPM_MANAGER))
		return 1;
	printf("%s\n", ipm_map_path(m));
	ipm_map_free(m);
	return 0;
}

static int cmd_get(struct cli *c, int argc, char **argv)
{
	struct ipm_field f;
	ipm_map *m;
	int rc = 0;

	if (argc < 2)
		return 2;
	if (open_instance(c, &m, argv[0], IPM_READER))
		return 1;
	if (lock(c, m, 0)) {
		ipm_map_free(m);
		return 1;
	}
	for (int i = 1; i < argc && !rc; i++) {
		size_t len;
		char *buf;

		if (ipm_map_resolve(m, argv[i], &f) < 0) {
			rc = fail(ipm_map_errmsg(m));
			break;
		}
		len = f.size + IPM_SCALAR_TEXTLEN;
		buf = malloc(len);
		if (!buf)
			rc = fail("out of memory");
		else if (ipm_get_text(m, &f, buf, len) < 0)
			rc = fail(ipm_map_errmsg(m));
		else
			printf("%s\n", buf);
		free(buf);
	}
	ipm_map_free(m);
	return rc;
}

static int cmd_set(struct cli *c, int argc, char **argv)
{
	int npairs = (argc - 1) / 2, rc = 1;
	struct ipm_field *f;
	unsigned char *scratch;
	size_t total = 0;
	ipm_map *m;
	char err[IPM_ERRLEN];

	if (argc < 3 || (argc - 1) % 2)
		return 2;
	if (open_instance(c, &m, argv[0], IPM_EDITOR))
		return 1;
	f = calloc(npairs, sizeof(*f));
	if (!f) {
		ipm_map_free(m);
		return fail("out of memory");
	}
	/* Resolve and parse every pair before taking the lock: all or none. */
	for (int i = 0; i < npairs; i++) {
		if (ipm_map_resolve(m, argv[1 + 2 * i], &f[i]) < 0) {
			fail(ipm_map_errmsg(m));
			goto out;
		}
		total += f[i].size;
	}
	scratch = malloc(total ? total : 1);
	if (!scratch) {
		fail("out of memory");
		goto out;
	}
	size_t at = 0;
	for (int i = 0; i < npairs; i++) {
		const char *text = argv[2 + 2 * i];

		if (ipm_text_parse(&f[i], text, strlen(text), scratch + at, err) < 0) {
			fprintf(stderr, "ipmmap: %s: %s\n", argv[1 + 2 * i], err);
			goto out_scratch;
		}
		at += f[i].size;
	}
	if (lock(c, m, 1))
		goto out_scratch;
	at = 0;
	rc = 0;
	for (int i = 0; i < npairs && !rc; i++) {
		if (ipm_set_bytes(m, &f[i], scratch + at, f[i].size) < 0)
			rc = fail(ipm_map_errmsg(m));
		at += f[i].size;
	}
	if (!rc && ipm_map_touch(m) < 0)
		rc = fail(ipm_map_errmsg(m));
	ipm_unlock(m);
out_scratch:
	free(scratch);
out:
	free(f);
	ipm_map_free(m);
	return rc;
}

struct dump_arg {
	unsigned char *bytes; /* the structure, copied under the read lock */
	char *buf;            /* text of one value */
	size_t len;           /* of buf */
};

static int dump_leaf(const struct ipm_walk *w, void *arg)
{
	struct dump_arg *d = arg;
	int n = ipm_text_format(&w->field, d->bytes + w->field.offset, d->buf, d->len);

	if (n < 0)
		return n;
	printf("%s = %s\n", w->path, d->buf);
	return 0;
}

static int cmd_dump(struct cli *c, int argc, char **argv)
{
	struct dump_arg d;
	ipm_map *m;
	int rc;

	if (argc != 1)
		return 2;
	if (open_instance(c, &m, argv[0], IPM_READER))
		return 1;
	d.len = ipm_map_size(m) + IPM_SCALAR_TEXTLEN;
	d.buf = malloc(d.len);
	d.bytes = malloc(ipm_map_size(m));
	if (!d.buf || !d.bytes || lock(c, m, 0)) {
		rc = d.buf && d.bytes ? 1 : fail("out of memory");
		free(d.buf);
		free(d.bytes);
		ipm_map_free(m);
		return rc;
	}
	/* One copy, through the library's SIGBUS guard: a file cut short
	 * under us is an error message, not a crash. */
	rc = ipm_map_copy(m, d.bytes, ipm_map_size(m));
	ipm_unlock(m);
	if (rc < 0) {
		rc = fail(ipm_map_errmsg(m));
		free(d.buf);
		free(d.bytes);
		ipm_map_free(m);
		return rc;
	}
	rc = ipm_type_walk(ipm_map_type(m), NULL, 0, 0, dump_leaf, &d);
	free(d.buf);
	free(d.bytes);
	ipm_map_free(m);
	if (rc < 0) {
		fprintf(stderr, "ipmmap: cannot dump %s: %s\n", argv[0], strerror(-rc));
		return 1;
	}
	return 0;
}

static int cmd_whole(struct cli *c, int argc, char **argv, int (*op)(ipm_map *))
{
	ipm_map *m;
	int rc = 0;

	if (argc != 1)
		return 2;
	if (open_instance(c, &m, argv[0], IPM_EDITOR))
		return 1;
	if (lock(c, m, 1) || op(m) < 0)
		rc = fail(ipm_map_errmsg(m));
	ipm_unlock(m);
	ipm_map_free(m);
	return rc;
}

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

struct leaf {
	char *path;            /* dotted path */
	struct ipm_field f;    /* where it is */
	char *last;            /* text last printed, NULL before the first */
};

struct leaves {
	struct leaf *v;        /* every watched leaf */
	size_t n, cap;         /* used and allocated */
};

static int collect_leaf(const struct ipm_walk *w, void *arg)
{
	struct leaves *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct leaf *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].path = strdup(w->path);
	if (!l->v[l->n].path)
		return -ENOMEM;
	l->v[l->n].f = w->field;
	l->v[l->n].last = NULL;
	l->n++;
	return 0;
}

/* Prints the leaves whose text differs from what was printed last (all of
 * them the first time); returns how many it printed, or -ENOMEM. */
static int print_changed(struct leaves *l, const unsigned char *data, char *buf, size_t len)
{
	int printed = 0;

	for (size_t i = 0; i < l->n; i++) {
		struct leaf *x = &l->v[i];

		if (ipm_text_format(&x->f, data + x->f.offset, buf, len) < 0)
			continue; /* cannot happen: buf holds any leaf */
		if (x->last && !strcmp(x->last, buf))
			continue;
		free(x->last);
		x->last = strdup(buf);
		if (!x->last)
			return -ENOMEM;
		printf("%s = %s\n", x->path, buf);
		printed++;
	}
	fflush(stdout);
	return printed;
}

/*
 * Waits in the library (ipm_map_wait()), not by polling. The token is taken
 * under the same read lock as the copy, so no change slips between them.
 * Waits are cut into 250 ms so that a signal that lands just before one
 * starts still stops us soon.
 */
static int cmd_watch(struct cli *c, int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_stop}; /* no SA_RESTART: ends waits */
	struct leaves l = {NULL, 0, 0};
	unsigned char *data = NULL;
	char *buf = NULL;
	long changes = 0;
	ipm_map *m;
	int rc = 1;

	if (argc < 2)
		return 2;
	if (open_instance(c, &m, argv[0], IPM_READER))
		return 1;
	for (int i = 1; i < argc; i++) {
		struct ipm_field f;

		if (ipm_map_resolve(m, argv[i], &f) < 0) {
			fail(ipm_map_errmsg(m));
			goto out;
		}
		if (ipm_type_walk(f.type, argv[i], f.offset, 0, collect_leaf, &l) < 0) {
			fail("out of memory");
			goto out;
		}
	}
	data = malloc(ipm_map_size(m));
	buf = malloc(ipm_map_size(m) + IPM_SCALAR_TEXTLEN);
	if (!data || !buf) {
		fail("out of memory");
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (int first = 1; !stop; first = 0) {
		uint64_t seen;
		int n, w;

		w = ipm_lock_read(m, c->timeout_ms);
		if (w < 0 && stop) /* the signal ended the lock wait */
			break;
		if (w < 0) {
			fail(ipm_map_errmsg(m));
			goto out;
		}
		ipm_map_changes(m, &seen);
		w = ipm_map_copy(m, data, ipm_map_size(m));
		ipm_unlock(m);
		if (w < 0) {
			fail(ipm_map_errmsg(m));
			goto out;
		}
		n = print_changed(&l, data, buf, ipm_map_size(m) + IPM_SCALAR_TEXTLEN);
		if (n < 0) {
			fail("out of memory");
			goto out;
		}
		if (!first && n > 0 && c->count > 0 && ++changes >= c->count)
			break;
		do
			w = ipm_map_wait(m, seen, 250);
		while ((w == -ETIMEDOUT || w == -EINTR) && !stop);
		if (w < 0 && !stop) {
			fail(ipm_map_errmsg(m));
			goto out;
		}
	}
	rc = 0;
out:
	for (size_t i = 0; i < l.n; i++) {
		free(l.v[i].path);
		free(l.v[i].last);
	}
	free(l.v);
	free(data);
	free(buf);
	ipm_map_free(m);
	return rc;
}

/* C spelling of a scalar kind in a generated header. */
static const char *c_scalar(enum ipm_kind k)
{
	static const char *const names[] = {
		[IPM_INT8] = "int8_t",    [IPM_INT16] = "int16_t",   [IPM_INT32] = "int32_t",
		[IPM_INT64] = "int64_t",  [IPM_UINT8] = "uint8_t",   [IPM_UINT16] = "uint16_t",
		[IPM_UINT32] = "uint32_t", [IPM_UINT64] = "uint64_t", [IPM_FLOAT] = "float",
		[IPM_DOUBLE] = "double",  [IPM_BOOL] = "_Bool",      [IPM_STRING] = "char",
	};
	return names[k];
}

static void print_decl(const ipm_type *t, const char *name)
{
	char dims[256] = "";
	size_t used = 0;

	while (ipm_type_kind(t) == IPM_ARRAY) {
		used += snprintf(dims + used, sizeof(dims) - used, "[%zu]", ipm_type_count(t));
		t = ipm_type_elem(t);
	}
	if (ipm_type_kind(t) == IPM_STRING)
		snprintf(dims + used, sizeof(dims) - used, "[%zu]", ipm_type_size(t));
	if (ipm_type_kind(t) == IPM_STRUCT)
		printf("\tstruct %s %s%s;\n", ipm_type_name(t), name, dims);
	else
		printf("\t%s %s%s;\n", c_scalar(ipm_type_kind(t)), name, dims);
}

/* Prints a structure's C declaration, its fingerprint and layout checks. */
static void print_struct(const ipm_type *t)
{
	const char *name = ipm_type_name(t);

	if (ipm_type_pack(t))
		printf("#pragma pack(push, %zu)\n", ipm_type_pack(t));
	printf("struct %s {\n", name);
	for (size_t j = 0; j < ipm_type_nfields(t); j++)
		print_decl(ipm_type_field_type(t, j), ipm_type_field_name(t, j));
	printf("};\n");
	if (ipm_type_pack(t))
		printf("#pragma pack(pop)\n");
	printf("#define %s_FINGERPRINT UINT64_C(0x%016" PRIx64 ")\n", name,
	       ipm_type_fingerprint(t));
	printf("_Static_assert(sizeof(struct %s) == %zu, \"size of %s\");\n", name,
	       ipm_type_size(t), name);
	for (size_t j = 0; j < ipm_type_nfields(t); j++)
		printf("_Static_assert(offsetof(struct %s, %s) == %zu, "
		       "\"offset of %s.%s\");\n",
		       name, ipm_type_field_name(t, j), ipm_type_field_offset(t, j), name,
		       ipm_type_field_name(t, j));
	printf("\n");
}

/* The structures printed so far. */
struct printed {
	const ipm_type **v; /* in order */
	size_t n;           /* in use; allocated: as many as the schema has */
};

static int printed_has(const struct printed *p, const ipm_type *t)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i] == t)
			return 1;
	return 0;
}

/*
 * Prints each structure when the walk leaves it, so that it comes after
 * those it contains. A structure printed already is skipped, and so is an
 * array of anything else than structures not printed yet.
 */
static int header_visit(const struct ipm_walk *w, void *arg)
{
	struct printed *p = arg;
	const ipm_type *t = w->field.type;

	while (ipm_type_kind(t) == IPM_ARRAY)
		t = ipm_type_elem(t);
	if (ipm_type_kind(t) != IPM_STRUCT)
		return w->field.kind == IPM_ARRAY ? IPM_WALK_SKIP : 0;
	if (printed_has(p, t))
		return IPM_WALK_SKIP;
	if (w->event == IPM_WALK_LEAVE && w->field.kind == IPM_STRUCT) {
		print_struct(t);
		p->v[p->n++] = t;
	}
	return 0;
}

static int cmd_header(struct cli *c, int argc, char **argv)
{
	size_t n = ipm_schema_count(c->schema);
	struct printed p = {calloc(n ? n : 1, sizeof(*p.v)), 0};

	(void)argv;
	if (argc != 0) {
		free(p.v);
		return 2;
	}
	if (!p.v)
		return fail("out of memory");
	printf("/* Generated by `ipmmap header` from the schema: do not edit. */\n"
	       "#ifndef IPMMAP_SCHEMA_H\n#define IPMMAP_SCHEMA_H\n\n"
	       "#include <stddef.h>\n#include <stdint.h>\n\n");
	for (size_t i = 0; i < n; i++)
		if (ipm_type_walk(ipm_schema_at(c->schema, i), NULL, 0, IPM_WALK_DIRS,
				  header_visit, &p) < 0) {
			free(p.v);
			return fail("out of memory");
		}
	free(p.v);
	printf("#endif\n");
	return 0;
}

static int check_leaf(const struct ipm_walk *w, void *arg)
{
	(void)arg;
	printf("  %6zu %6zu  %-12s %s\n", w->field.offset, w->field.size,
	       ipm_type_name(w->field.type), w->path);
	return 0;
}

static int cmd_check(struct cli *c, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return 2;
	for (size_t i = 0; i < ipm_schema_count(c->schema); i++) {
		const ipm_type *t = ipm_schema_at(c->schema, i);

		printf("%s: size %zu, align %zu%s, %s:%d\n", ipm_type_name(t), ipm_type_size(t),
		       ipm_type_align(t), ipm_type_mappable(t) ? ", mappable" : "",
		       ipm_type_file(t), ipm_type_line(t));
		printf("  offset   size  type         path\n");
		if (ipm_type_walk(t, NULL, 0, 0, check_leaf, NULL) < 0)
			return fail("out of memory");
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"schema", required_argument, NULL, 's'},  {"tag", required_argument, NULL, 't'},
		{"mmap-dir", required_argument, NULL, 'm'}, {"lock-dir", required_argument, NULL, 'l'},
		{"force", no_argument, NULL, 'f'},          {"timeout", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},           {"version", no_argument, NULL, 'V'},
		{"count", required_argument, NULL, 'n'},    {NULL, 0, NULL, 0},
	};
	struct cli c = {.tag = "", .timeout_ms = -1};
	int nschema = 0, opt, rc;

	c.schema = ipm_schema_new();
	if (!c.schema)
		return fail("out of memory");
	while ((opt = getopt_long(argc, argv, "+s:t:m:l:fw:n:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (ipm_schema_load_file(c.schema, optarg) < 0) {
				rc = fail(ipm_schema_errmsg(c.schema));
				goto out;
			}
			nschema++;
			break;
		case 't': c.tag = optarg; break;
		case 'm': c.opts.mmap_dir = optarg; break;
		case 'l': c.opts.lock_dir = optarg; break;
		case 'f': c.opts.flags |= IPM_FORCE; break;
		case 'w': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || v < -1 || v > 86400000) {
				rc = fail("--timeout takes milliseconds (0 tries once, -1 waits forever)");
				goto out;
			}
			c.timeout_ms = (int)v;
			break;
		}
		case 'n': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || v < 1) {
				rc = fail("--count takes a number of changes, at least 1");
				goto out;
			}
			c.count = v;
			break;
		}
		case 'h':
			fputs(usage, stdout);
			rc = 0;
			goto out;
		case 'V':
			printf("ipmmap %s\n", IPM_VERSION);
			rc = 0;
			goto out;
		default:
			fputs(usage, stderr);
			rc = 2;
			goto out;
		}
	}
	if (!nschema && getenv("IPMMAP_SCHEMA")) {
		if (ipm_schema_load_file(c.schema, getenv("IPMMAP_SCHEMA")) < 0) {
			rc = fail(ipm_schema_errmsg(c.schema));
			goto out;
		}
		nschema++;
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		rc = 2;
		goto out;
	}
	if (!nschema) {
		rc = fail("no schema: give -s FILE or set IPMMAP_SCHEMA");
		goto out;
	}

	const char *cmd = argv[optind];
	int n = argc - optind - 1;
	char **args = argv + optind + 1;
	if (!strcmp(cmd, "create"))
		rc = cmd_create(&c, n, args);
	else if (!strcmp(cmd, "get"))
		rc = cmd_get(&c, n, args);
	else if (!strcmp(cmd, "set"))
		rc = cmd_set(&c, n, args);
	else if (!strcmp(cmd, "dump"))
		rc = cmd_dump(&c, n, args);
	else if (!strcmp(cmd, "clear"))
		rc = cmd_whole(&c, n, args, ipm_map_clear);
	else if (!strcmp(cmd, "touch"))
		rc = cmd_whole(&c, n, args, ipm_map_touch);
	else if (!strcmp(cmd, "header"))
		rc = cmd_header(&c, n, args);
	else if (!strcmp(cmd, "check"))
		rc = cmd_check(&c, n, args);
	else if (!strcmp(cmd, "watch"))
		rc = cmd_watch(&c, n, args);
	else {
		fprintf(stderr, "ipmmap: unknown command '%s'\n", cmd);
		rc = 2;
	}
	if (rc == 2)
		fprintf(stderr, "ipmmap: usage error; see 'ipmmap --help'\n");
out:
	ipm_schema_free(c.schema);
	return rc;
}
