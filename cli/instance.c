/*
 * instance.c - the commands that read and write one instance: create, get,
 * set (pairs, or lines from a file), dump, clear, touch, recover.
 *
 * Every command takes one lock for all its work: `set` parses everything
 * first and writes it under one write lock, or writes nothing. `dump` and
 * `set FILE` speak the library's line format (ipm_values_*), the text of
 * the mount's .values file.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* See cli.h. */
int cli_fail(const char *what)
{
	fprintf(stderr, "ipmmap: %s\n", what);
	return 1;
}

/* See cli.h. */
int cli_open(struct cli *c, ipm_map **out, const char *name, enum ipm_role role)
{
	ipm_map *m = ipm_map_new(c->schema);

	if (!m)
		return cli_fail("out of memory");
	/* Without the structure in -s, the instance's stored definition. */
	if (ipm_map_open_described(m, name, c->tag, role, &c->opts) < 0) {
		cli_fail(ipm_map_errmsg(m));
		ipm_map_free(m);
		return 1;
	}
	*out = m;
	return 0;
}

/* See cli.h. */
int cli_lock(struct cli *c, ipm_map *m, int write)
{
	int rc = write ? ipm_lock_write(m, c->timeout_ms) : ipm_lock_read(m, c->timeout_ms);

	if (rc < 0)
		return cli_fail(ipm_map_errmsg(m));
	return 0;
}

/* See cli.h. */
int cli_create(struct cli *c, int argc, char **argv)
{
	ipm_map *m;

	if (argc != 1)
		return 2;
	/* Making a file takes a schema: a stored definition describes a file
	 * that is there already. */
	if (!ipm_schema_find(c->schema, argv[0])) {
		fprintf(stderr,
			"ipmmap: no structure '%s' in the schema: give -s FILE or set "
			"IPMMAP_SCHEMA\n",
			argv[0]);
		return 1;
	}
	if (cli_open(c, &m, argv[0], IPM_MANAGER))
		return 1;
	/* Made, but with a note: the definition could not be stored, or the
	 * lock file holds bytes not ours. */
	if (*ipm_map_errmsg(m))
		fprintf(stderr, "ipmmap: note: %s\n", ipm_map_errmsg(m));
	printf("%s\n", ipm_map_path(m));
	ipm_map_free(m);
	return 0;
}

/* See cli.h. */
int cli_get(struct cli *c, int argc, char **argv)
{
	unsigned char *snap = NULL;
	struct ipm_field f;
	ipm_map *m;
	int rc = 0;

	if (argc < 2)
		return 2;
	if (cli_open(c, &m, argv[0], IPM_READER))
		return 1;
	/* Every field from one state: under one read lock, or on a native
	 * instance from one copy made without a lock. */
	if (ipm_map_native(m) == 1) {
		snap = malloc(ipm_map_size(m));
		if (!snap || ipm_map_copy(m, snap, ipm_map_size(m)) < 0) {
			rc = cli_fail(snap ? ipm_map_errmsg(m) : "out of memory");
			free(snap);
			ipm_map_free(m);
			return rc;
		}
	} else if (cli_lock(c, m, 0)) {
		ipm_map_free(m);
		return 1;
	}
	for (int i = 1; i < argc && !rc; i++) {
		size_t len;
		char *buf;

		if (ipm_map_resolve(m, argv[i], &f) < 0) {
			rc = cli_fail(ipm_map_errmsg(m));
			break;
		}
		len = f.size + IPM_SCALAR_TEXTLEN;
		buf = malloc(len);
		if (!buf)
			rc = cli_fail("out of memory");
		else if (snap && f.kind != IPM_ARRAY && f.kind != IPM_STRUCT) {
			if (ipm_text_format(&f, snap + f.offset, buf, len) < 0)
				rc = cli_fail("cannot format the value");
			else
				printf("%s\n", buf);
		} else if (ipm_get_text(m, &f, buf, len) < 0)
			rc = cli_fail(ipm_map_errmsg(m));
		else
			printf("%s\n", buf);
		free(buf);
	}
	free(snap);
	ipm_map_free(m);
	return rc;
}

/*
 * The header is the library's, as in the mount (where its files are
 * read-only) and in .values (where its lines are ignored): every open
 * checks header_code, so writing it breaks every later open; every write
 * sets time_stamp to now, so a value written there would be overwritten at
 * once. Refused, not honoured: `ipmmap touch` is the way to set the clock,
 * and a clock set by hand to the past would tell Python peers, which take
 * time_stamp as the time of the last update, something false.
 */
static int in_header(ipm_map *m, const struct ipm_field *f)
{
	const ipm_type *t = ipm_map_type(m);
	size_t hoff = ipm_type_field_offset(t, 0);

	return f->offset >= hoff && f->offset < hoff + ipm_type_size(ipm_type_field_type(t, 0));
}

/* Writes what v holds under one write lock (within -w): 0 or 1. */
static int set_apply(struct cli *c, ipm_map *m, struct ipm_values *v)
{
	int rc = 0;

	if (cli_lock(c, m, 1))
		return 1;
	if (ipm_values_apply(m, v) < 0)
		rc = cli_fail(ipm_map_errmsg(m));
	ipm_unlock(m);
	return rc;
}

/* set STRUCT PATH VALUE...: every pair parsed before the lock is taken. */
static int set_pairs(struct cli *c, ipm_map *m, int npairs, char **pairs, struct ipm_values *v)
{
	char err[IPM_ERRLEN];

	v->fields = calloc((size_t)npairs, sizeof(*v->fields));
	if (!v->fields)
		return cli_fail("out of memory");
	v->cap = (size_t)npairs;
	for (int i = 0; i < npairs; i++) {
		const char *path = pairs[2 * i], *text = pairs[2 * i + 1];
		struct ipm_field *f = &v->fields[v->n];

		if (ipm_map_resolve(m, path, f) < 0)
			return cli_fail(ipm_map_errmsg(m));
		if (in_header(m, f)) {
			fprintf(stderr, "ipmmap: %s: read-only: %s\n", path,
				f->kind == IPM_INT16 ? "the library's magic number, checked by every open"
				: f->kind == IPM_DOUBLE ? "every write sets it to now ('ipmmap touch' "
							  "does only that)"
							: "the header is the library's");
			return 1;
		}
		if (ipm_text_parse(f, text, strlen(text), (char *)v->bytes + f->offset, err) < 0) {
			fprintf(stderr, "ipmmap: %s: %s\n", path, err);
			return 1;
		}
		v->n++;
	}
	return set_apply(c, m, v);
}

/* The whole of file (stdin for "-") into *out, NUL-terminated, at most max
 * bytes: 0 or 1. */
static int read_all(const char *file, size_t max, char **out, size_t *len)
{
	FILE *fp = strcmp(file, "-") ? fopen(file, "r") : stdin;
	size_t cap = 4096, n = 0;
	char *buf = NULL, *tmp;

	if (!fp) {
		fprintf(stderr, "ipmmap: cannot open %s: %s\n", file, strerror(errno));
		return 1;
	}
	for (;;) {
		if (!buf || n + 1 == cap) {
			cap = buf ? cap * 2 : cap;
			tmp = realloc(buf, cap);
			if (!tmp)
				break;
			buf = tmp;
		}
		n += fread(buf + n, 1, cap - 1 - n, fp);
		if (n > max || feof(fp) || ferror(fp))
			break;
	}
	if (!buf || n > max || ferror(fp)) {
		fprintf(stderr, "ipmmap: cannot read %s: %s\n", file,
			!buf ? "out of memory" : n > max ? "longer than the longest text of the structure"
							 : strerror(errno));
		free(buf);
		buf = NULL;
	}
	if (fp != stdin)
		fclose(fp);
	if (!buf)
		return 1;
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* set STRUCT FILE: the lines of FILE ("-": stdin), all or nothing. */
static int set_file(struct cli *c, ipm_map *m, const char *file, struct ipm_values *v)
{
	const ipm_type *t = ipm_map_type(m);
	size_t len, lines = 1, max = ipm_values_textlen(t, NULL);
	char err[IPM_ERRLEN], *text;
	int rc = 1;

	/* Comments and blank lines may come between the lines: room for a
	 * few times the longest text, and never less than a megabyte. */
	max = max < (1u << 18) ? 1u << 20 : max > SIZE_MAX / 4 ? SIZE_MAX : 4 * max;
	if (read_all(file, max, &text, &len))
		return 1;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	v->fields = calloc(lines, sizeof(*v->fields));
	v->cap = lines;
	v->name = strcmp(file, "-") ? file : "<stdin>";
	if (!v->fields)
		cli_fail("out of memory");
	else if (ipm_values_parse(t, text, len, v, err) < 0)
		cli_fail(err);
	else
		rc = set_apply(c, m, v);
	free(text);
	return rc;
}

/* See cli.h. */
int cli_set(struct cli *c, int argc, char **argv)
{
	struct ipm_values v = {NULL};
	ipm_map *m;
	int rc;

	if (argc < 2 || (argc > 2 && (argc - 1) % 2))
		return 2;
	if (cli_open(c, &m, argv[0], IPM_EDITOR))
		return 1;
	v.bytes = calloc(1, ipm_map_size(m));
	if (!v.bytes)
		rc = cli_fail("out of memory");
	else if (argc == 2)
		rc = set_file(c, m, argv[1], &v);
	else
		rc = set_pairs(c, m, (argc - 1) / 2, argv + 1, &v);
	free(v.fields);
	free(v.bytes);
	ipm_map_free(m);
	return rc;
}

/* See cli.h. */
int cli_dump(struct cli *c, int argc, char **argv)
{
	unsigned char *bytes = NULL;
	char *buf = NULL;
	size_t len;
	ssize_t n;
	ipm_map *m;
	int rc = 1;

	if (argc != 1)
		return 2;
	if (cli_open(c, &m, argv[0], IPM_READER))
		return 1;
	len = ipm_values_textlen(ipm_map_type(m), NULL);
	bytes = malloc(ipm_map_size(m));
	buf = len < SIZE_MAX ? malloc(len) : NULL;
	if (!bytes || !buf) {
		cli_fail("out of memory");
		goto out;
	}
	/* A native instance is copied whole without a lock. */
	if (ipm_map_native(m) != 1 && cli_lock(c, m, 0))
		goto out;
	/* One copy, through the library's SIGBUS guard: a file cut short
	 * under us is an error message, not a crash. */
	n = ipm_map_copy(m, bytes, ipm_map_size(m));
	ipm_unlock(m);
	if (n < 0) {
		cli_fail(ipm_map_errmsg(m));
		goto out;
	}
	n = ipm_values_format(ipm_map_type(m), NULL, bytes, buf, len);
	if (n < 0)
		fprintf(stderr, "ipmmap: cannot dump %s: %s\n", argv[0], strerror((int)-n));
	else if (fwrite(buf, 1, (size_t)n, stdout) == (size_t)n)
		rc = 0;
out:
	free(buf);
	free(bytes);
	ipm_map_free(m);
	return rc;
}

/* clear and touch: one call on the whole structure under the write lock. */
static int whole(struct cli *c, int argc, char **argv, int (*op)(ipm_map *))
{
	ipm_map *m;
	int rc = 0;

	if (argc != 1)
		return 2;
	if (cli_open(c, &m, argv[0], IPM_EDITOR))
		return 1;
	if (cli_lock(c, m, 1))
		rc = 1;
	else if (op(m) < 0)
		rc = cli_fail(ipm_map_errmsg(m));
	ipm_unlock(m);
	ipm_map_free(m);
	return rc;
}

/* See cli.h. */
int cli_clear(struct cli *c, int argc, char **argv)
{
	return whole(c, argc, argv, ipm_map_clear);
}

/* See cli.h. */
int cli_touch(struct cli *c, int argc, char **argv)
{
	return whole(c, argc, argv, ipm_map_touch);
}

/* See cli.h. Opening as an editor already undoes a dead writer's section
 * when nobody holds a lock; ipm_map_recover() then waits for the lock (-w)
 * if someone did. */
int cli_recover(struct cli *c, int argc, char **argv)
{
	struct ipm_recovery r;
	ipm_map *m;

	if (argc != 1)
		return 2;
	if (cli_open(c, &m, argv[0], IPM_EDITOR))
		return 1;
	if (ipm_map_recover(m, c->timeout_ms) < 0 || ipm_map_recovery(m, &r) < 0) {
		cli_fail(ipm_map_errmsg(m));
		ipm_map_free(m);
		return 1;
	}
	if (r.undone)
		printf("undone: the update of process %d, killed inside it\n", (int)r.last_pid);
	else
		printf("nothing to undo\n");
	ipm_map_free(m);
	return 0;
}
