/*
 * ipmmap.c - the command-line tool, for machines without FUSE and for
 * scripts: the command line (options before or after the command, as git
 * and systemctl take them), the schema commands (header, check), and the
 * dispatch to the commands of instance.c, watch.c and list.c.
 *
 *   $ ipmmap -s conf/demo.ini create DemoMmapStructure
 *   $ ipmmap -s conf/demo.ini set DemoMmapStructure data_int 42 data_xy.x 0.5
 *   $ ipmmap -s conf/demo.ini get DemoMmapStructure data_int
 *   42
 *   $ ipmmap -s conf/demo.ini dump DemoMmapStructure > saved
 *   $ ipmmap -s conf/demo.ini set DemoMmapStructure saved    (all of it, or nothing)
 *   $ ipmmap check conf/demo.ini
 *   $ ipmmap -s conf/demo.ini list
 *   $ ipmmap -s conf/demo.ini watch -n 1 DemoMmapStructure data_int data_xy
 *   data_int = 42
 *   data_xy.x = 0.5
 *   data_xy.y = 0.0
 *   data_int = 43                      (printed when someone writes 43)
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char usage[] =
	"usage: ipmmap [OPTIONS] COMMAND [OPTIONS] [ARGS]\n"
	"\n"
	"Commands:\n"
	"  create STRUCT            create the instance (manager); -f re-creates it;\n"
	"                           --native or --compat records its mode\n"
	"  get STRUCT PATH...       print each field's value, one per line\n"
	"  set STRUCT PATH VALUE... write the pairs under one write lock, all or none\n"
	"  set STRUCT FILE          write the 'path = value' lines of FILE (- for\n"
	"                           stdin; what dump prints), all or none\n"
	"  dump STRUCT              print 'path = value' for every field (one read lock)\n"
	"  clear STRUCT             zero the structure, keeping the header code\n"
	"  touch STRUCT             set the header timestamp to now\n"
	"  recover STRUCT           undo a dead C writer's half update now (editor)\n"
	"  watch STRUCT PATH...     print 'path = value' for every field under the\n"
	"                           paths, then again for each one that changes,\n"
	"                           until SIGINT/SIGTERM or -n changes\n"
	"  list                     list the instances of the mmap directory\n"
	"  header [SCHEMA...]       print a C header for every structure of the schema\n"
	"  check [SCHEMA...]        validate the schema and print every structure's layout\n"
	"\n"
	"Options (before or after the command; '--' ends them, so that a value may\n"
	"start with '-'; a negative number needs no '--'):\n"
	"  -s, --schema FILE        schema file (repeatable; default $IPMMAP_SCHEMA);\n"
	"                           without one, instances are read with the definition\n"
	"                           their manager stored beside the lock file\n"
	"  -t, --tag TAG            instance tag (default: empty, file STRUCT_.mmap)\n"
	"  -m, --mmap-dir DIR       directory of .mmap files (default ./.mmap)\n"
	"  -l, --lock-dir DIR       directory of .lockfile files (default ./.fasteners)\n"
	"  -f, --force              create: re-create an existing file\n"
	"      --native             create: every writer uses libipmmap, reads take\n"
	"                           no lock (no Python IPMMAP writer may run)\n"
	"      --compat             create: Python IPMMAP writers may run, reads lock\n"
	"                           (the default of a new instance)\n"
	"  -w, --timeout MS         wait at most MS ms for the lock (default: forever)\n"
	"  -n, --count N            watch: stop after N changes\n"
	"  -h, --help               show this help\n"
	"  -V, --version            show the version\n"
	"\n"
	"Exit status: 0 on success, 1 on failure, 2 on a usage error.\n";

static int fail(const char *what)
{
	return cli_fail(what);
}

/* C spelling of a scalar kind in a generated header. A c_wchar is one
 * UTF-32 code unit: uint32_t, what char32_t is on Linux (wchar_t is a
 * signed int there, the same bytes). */
static const char *c_scalar(enum ipm_kind k)
{
	static const char *const names[] = {
		[IPM_INT8] = "int8_t",    [IPM_INT16] = "int16_t",   [IPM_INT32] = "int32_t",
		[IPM_INT64] = "int64_t",  [IPM_UINT8] = "uint8_t",   [IPM_UINT16] = "uint16_t",
		[IPM_UINT32] = "uint32_t", [IPM_UINT64] = "uint64_t", [IPM_FLOAT] = "float",
		[IPM_DOUBLE] = "double",  [IPM_BOOL] = "_Bool",      [IPM_STRING] = "char",
		[IPM_WSTRING] = "uint32_t", [IPM_LONGDOUBLE] = "long double",
	};
	return (unsigned)k < sizeof(names) / sizeof(names[0]) && names[k] ? names[k] : "?";
}

static void print_decl(const ipm_type *t, const char *name, unsigned width)
{
	char dims[256] = "";
	size_t used = 0;

	if (width) { /* a C bit field: gcc lays it out as the library does */
		printf("\t%s %s : %u;\n", c_scalar(ipm_type_kind(t)), name, width);
		return;
	}
	while (ipm_type_kind(t) == IPM_ARRAY) {
		used += snprintf(dims + used, sizeof(dims) - used, "[%zu]", ipm_type_count(t));
		t = ipm_type_elem(t);
	}
	if (ipm_type_kind(t) == IPM_STRING || ipm_type_kind(t) == IPM_WSTRING)
		snprintf(dims + used, sizeof(dims) - used, "[%zu]", ipm_type_count(t));
	if (ipm_type_kind(t) == IPM_STRUCT)
		printf("\t%s %s %s%s;\n", ipm_type_is_union(t) ? "union" : "struct",
		       ipm_type_name(t), name, dims);
	else
		printf("\t%s %s%s;\n", c_scalar(ipm_type_kind(t)), name, dims);
}

/* Prints a structure's (or union's) C declaration, its fingerprint and
 * layout checks. */
static void print_struct(const ipm_type *t)
{
	const char *name = ipm_type_name(t);
	const char *tag = ipm_type_is_union(t) ? "union" : "struct";

	if (ipm_type_pack(t))
		printf("#pragma pack(push, %zu)\n", ipm_type_pack(t));
	printf("%s %s {\n", tag, name);
	for (size_t j = 0; j < ipm_type_nfields(t); j++)
		print_decl(ipm_type_field_type(t, j), ipm_type_field_name(t, j),
			   ipm_type_field_bits(t, j, NULL));
	printf("};\n");
	if (ipm_type_pack(t))
		printf("#pragma pack(pop)\n");
	printf("#define %s_FINGERPRINT UINT64_C(0x%016" PRIx64 ")\n", name,
	       ipm_type_fingerprint(t));
	printf("_Static_assert(sizeof(%s %s) == %zu, \"size of %s\");\n", tag, name,
	       ipm_type_size(t), name);
	for (size_t j = 0; j < ipm_type_nfields(t); j++)
		if (!ipm_type_field_bits(t, j, NULL)) /* C has no offsetof for a bit field */
			printf("_Static_assert(offsetof(%s %s, %s) == %zu, "
		       "\"offset of %s.%s\");\n",
		       tag, name, ipm_type_field_name(t, j), ipm_type_field_offset(t, j), name,
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
	char bits[96];

	if (w->field.width) /* type:width@lowest bit of the unit at offset */
		snprintf(bits, sizeof(bits), "%s:%u@%u", ipm_type_name(w->field.type),
			 w->field.width, w->field.bit);
	printf("  %6zu %6zu  %-12s %s\n", w->field.offset, w->field.size,
	       w->field.width ? bits : ipm_type_name(w->field.type), w->path);
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

/* ------------------------------------------------------------------------ */
/* The command line                                                          */
/* ------------------------------------------------------------------------ */

static const char shortopts[] = "s:t:m:l:fw:n:hV";
static const struct option longopts[] = {
	{"schema", required_argument, NULL, 's'},  {"tag", required_argument, NULL, 't'},
	{"mmap-dir", required_argument, NULL, 'm'}, {"lock-dir", required_argument, NULL, 'l'},
	{"force", no_argument, NULL, 'f'},          {"timeout", required_argument, NULL, 'w'},
	{"help", no_argument, NULL, 'h'},           {"version", no_argument, NULL, 'V'},
	{"count", required_argument, NULL, 'n'},    {"native", no_argument, NULL, 'N'},
	{"compat", no_argument, NULL, 'C'},         {NULL, 0, NULL, 0},
};

/* Whether the option word w takes the next word as its argument. */
static int takes_next(const char *w)
{
	if (w[1] == '-') { /* --name, --name=value, or an abbreviation */
		size_t l = strlen(w + 2);

		if (strchr(w + 2, '='))
			return 0;
		for (const struct option *o = longopts; o->name; o++)
			if (!strncmp(o->name, w + 2, l) && o->has_arg == required_argument)
				return 1;
		return 0;
	}
	for (const char *p = w + 1; *p; p++) {
		const char *o = strchr(shortopts, *p);

		if (o && o[1] == ':')
			return p[1] == '\0'; /* otherwise the rest of w is its argument */
	}
	return 0;
}

/*
 * argv with the options moved before the other words, then "--", then the
 * other words, each group in its order: options may follow the command, as
 * git and systemctl take them. A "--" ends the options. The VALUE words of
 * `set STRUCT PATH VALUE...` are never options, so that `set S data_int -7`
 * and `set S data_string -x` mean what they say. NULL if out of memory.
 */
static char **reorder(int argc, char **argv, int *nargc)
{
	char **v = malloc(((size_t)argc + 2) * sizeof(*v)), **rest = malloc((size_t)argc * sizeof(*v));
	int n = 1, nrest = 0, ends = 0;

	if (!v || !rest) {
		free(v);
		free(rest);
		return NULL;
	}
	v[0] = argv[0];
	for (int i = 1; i < argc; i++) {
		const char *w = argv[i];
		int value = nrest >= 3 && nrest % 2 == 1 && !strcmp(rest[0], "set");

		if (!ends && !value && !strcmp(w, "--")) {
			ends = 1;
		} else if (!ends && !value && w[0] == '-' && w[1]) {
			v[n++] = argv[i];
			if (takes_next(w) && i + 1 < argc)
				v[n++] = argv[++i];
		} else {
			rest[nrest++] = argv[i];
		}
	}
	v[n++] = "--";
	memcpy(v + n, rest, (size_t)nrest * sizeof(*v));
	free(rest);
	n += nrest;
	v[n] = NULL;
	*nargc = n;
	return v;
}

/* One option: 0, or the exit status to end with. */
static int option(struct cli *c, int opt, int *nschema)
{
	char *end;
	long v;

	switch (opt) {
	case 's':
		if (ipm_schema_load_file(c->schema, optarg) < 0)
			return fail(ipm_schema_errmsg(c->schema));
		++*nschema;
		return 0;
	case 't': c->tag = optarg; return 0;
	case 'm': c->opts.mmap_dir = optarg; return 0;
	case 'l': c->opts.lock_dir = optarg; return 0;
	case 'f': c->opts.flags |= IPM_FORCE; return 0;
	/* Long only: the mode is chosen once, at creation, and spelt out. */
	case 'N': c->opts.flags = (c->opts.flags & ~IPM_COMPAT) | IPM_NATIVE; return 0;
	case 'C': c->opts.flags = (c->opts.flags & ~IPM_NATIVE) | IPM_COMPAT; return 0;
	case 'w':
		v = strtol(optarg, &end, 10);
		if (*optarg == '\0' || *end || v < -1 || v > 86400000)
			return fail("--timeout takes milliseconds (0 tries once, -1 waits forever)");
		c->timeout_ms = (int)v;
		return 0;
	case 'n':
		v = strtol(optarg, &end, 10);
		if (*optarg == '\0' || *end || v < 1)
			return fail("--count takes a number of changes, at least 1");
		c->count = v;
		return 0;
	case 'h':
		fputs(usage, stdout);
		return -1;
	case 'V':
		printf("ipmmap %s\n", IPM_VERSION);
		return -1;
	default:
		fputs(usage, stderr);
		return 2;
	}
}

static const struct command {
	const char *name;                             /* as typed */
	int (*run)(struct cli *c, int argc, char **argv);
	int schema_args;                              /* 1: the arguments are schema files */
} commands[] = {
	{"create", cli_create, 0},   {"get", cli_get, 0},     {"set", cli_set, 0},
	{"dump", cli_dump, 0},       {"clear", cli_clear, 0}, {"touch", cli_touch, 0},
	{"recover", cli_recover, 0}, {"watch", cli_watch, 0}, {"list", cli_list, 0},
	{"header", cmd_header, 1},   {"check", cmd_check, 1}, {NULL, NULL, 0},
};

/* Runs the command of args[0]: its exit status. */
static int dispatch(struct cli *c, int nschema, int n, char **args)
{
	const struct command *cmd = commands;

	while (cmd->name && strcmp(cmd->name, args[0]))
		cmd++;
	if (!cmd->name) {
		fprintf(stderr, "ipmmap: unknown command '%s'\n", args[0]);
		return 2;
	}
	if (cmd->schema_args) { /* `ipmmap check FILE`: the schema is the argument */
		for (int i = 1; i < n; i++) {
			if (ipm_schema_load_file(c->schema, args[i]) < 0)
				return fail(ipm_schema_errmsg(c->schema));
			nschema++;
		}
		n = 1;
	}
	if (!nschema && getenv("IPMMAP_SCHEMA")) {
		if (ipm_schema_load_file(c->schema, getenv("IPMMAP_SCHEMA")) < 0)
			return fail(ipm_schema_errmsg(c->schema));
		nschema++;
	}
	/* The other commands read an instance's stored definition when they
	 * have no schema of their own for it. */
	if (!nschema && cmd->schema_args)
		return fail("no schema: give FILE, -s FILE or set IPMMAP_SCHEMA");
	return cmd->run(c, n - 1, args + 1);
}

int main(int argc, char **argv)
{
	struct cli c = {.tag = "", .timeout_ms = -1};
	int nschema = 0, opt, rc = 0, nargc;
	char **v = reorder(argc, argv, &nargc);

	c.schema = ipm_schema_new();
	if (!c.schema || !v) {
		rc = fail("out of memory");
		goto out;
	}
	while (!rc && (opt = getopt_long(nargc, v, "+s:t:m:l:fw:n:hV", longopts, NULL)) != -1)
		rc = option(&c, opt, &nschema);
	if (rc) {
		rc = rc < 0 ? 0 : rc;
		goto out;
	}
	if (optind >= nargc) {
		fputs(usage, stderr);
		rc = 2;
		goto out;
	}
	rc = dispatch(&c, nschema, nargc - optind, v + optind);
	if (rc == 2)
		fprintf(stderr, "ipmmap: usage error; see 'ipmmap --help'\n");
out:
	free(v);
	ipm_schema_free(c.schema);
	return rc;
}
