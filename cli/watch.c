/*
 * watch.c - `ipmmap watch STRUCT PATH...`: the lines of every leaf under the
 * paths, in the library's line format, then again each line that changes.
 *
 * Waits in the library (ipm_map_wait()), not by polling. The token is taken
 * under the same read lock as the copy, so no change slips between them.
 * Waits are cut into 250 ms so that a signal that lands just before one
 * starts still stops us soon.
 */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

/* The text of one watched path: the lines now and as last printed. */
struct watched {
	const char *path; /* as given */
	size_t len;       /* room in cur and last */
	char *cur, *last; /* ipm_values_format() texts; last "" before the first */
};

/* Prints the lines of cur that differ from those of last (all of them the
 * first time; a path's leaves are fixed, so line k is always one leaf),
 * then keeps cur as last. Returns how many it printed. */
static int print_changed(struct watched *w)
{
	const char *c = w->cur, *l = w->last;
	char *tmp;
	int printed = 0;

	while (*c) {
		const char *ce = strchr(c, '\n'), *le = *l ? strchr(l, '\n') : NULL;
		size_t cn = (size_t)(ce - c) + 1;

		if (!le || (size_t)(le - l) + 1 != cn || memcmp(c, l, cn)) {
			fwrite(c, 1, cn, stdout);
			printed++;
		}
		c += cn;
		l = le ? le + 1 : l;
	}
	tmp = w->last;
	w->last = w->cur;
	w->cur = tmp;
	return printed;
}

/* Renders every watched path from data and prints what changed: how many
 * lines, or -1 after saying why. */
static int render(const ipm_type *t, struct watched *w, int nw, const unsigned char *data)
{
	int printed = 0;

	for (int i = 0; i < nw; i++) {
		ssize_t n = ipm_values_format(t, w[i].path, data, w[i].cur, w[i].len);

		if (n < 0) {
			fprintf(stderr, "ipmmap: cannot watch %s: %s\n", w[i].path, strerror((int)-n));
			return -1;
		}
		printed += print_changed(&w[i]);
	}
	fflush(stdout);
	return printed;
}

/* Copies the instance and takes its change token under one read lock:
 * 0, 1 after saying why, or 2 when a signal ended the lock wait. A native
 * instance needs no lock: the token first, then one copy at least as new,
 * so that no change is missed (one may be printed twice). */
static int snapshot(struct cli *c, ipm_map *m, unsigned char *data, uint64_t *seen)
{
	int rc;

	if (ipm_map_native(m) == 1) {
		rc = ipm_map_changes(m, seen);
		if (rc == 0)
			rc = ipm_map_copy(m, data, ipm_map_size(m));
		return rc < 0 ? cli_fail(ipm_map_errmsg(m)) : 0;
	}
	rc = ipm_lock_read(m, c->timeout_ms);

	if (rc < 0 && stop)
		return 2;
	if (rc < 0)
		return cli_fail(ipm_map_errmsg(m));
	ipm_map_changes(m, seen);
	rc = ipm_map_copy(m, data, ipm_map_size(m));
	ipm_unlock(m);
	return rc < 0 ? cli_fail(ipm_map_errmsg(m)) : 0;
}

static int watch_loop(struct cli *c, ipm_map *m, struct watched *w, int nw, unsigned char *data)
{
	struct sigaction sa = {.sa_handler = on_stop}; /* no SA_RESTART: ends waits */
	long changes = 0;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (int first = 1; !stop; first = 0) {
		uint64_t seen;
		int n, rc = snapshot(c, m, data, &seen);

		if (rc)
			return rc == 2 ? 0 : 1;
		n = render(ipm_map_type(m), w, nw, data);
		if (n < 0)
			return 1;
		if (!first && n > 0 && c->count > 0 && ++changes >= c->count)
			break;
		do
			rc = ipm_map_wait(m, seen, 250);
		while ((rc == -ETIMEDOUT || rc == -EINTR) && !stop);
		if (rc < 0 && !stop)
			return cli_fail(ipm_map_errmsg(m));
	}
	return 0;
}

/* See cli.h. */
int cli_watch(struct cli *c, int argc, char **argv)
{
	struct watched *w;
	unsigned char *data = NULL;
	ipm_map *m;
	int nw = argc - 1, rc = 1;

	if (argc < 2)
		return 2;
	if (cli_open(c, &m, argv[0], IPM_READER))
		return 1;
	w = calloc((size_t)nw, sizeof(*w));
	if (!w) {
		ipm_map_free(m);
		return cli_fail("out of memory");
	}
	for (int i = 0; i < nw; i++) {
		struct ipm_field f;

		w[i].path = argv[i + 1];
		if (ipm_map_resolve(m, w[i].path, &f) < 0) {
			cli_fail(ipm_map_errmsg(m));
			goto out;
		}
		w[i].len = ipm_values_textlen(ipm_map_type(m), w[i].path);
		w[i].cur = w[i].len < SIZE_MAX ? malloc(w[i].len) : NULL;
		w[i].last = w[i].len < SIZE_MAX ? calloc(1, w[i].len) : NULL;
		if (!w[i].cur || !w[i].last) {
			cli_fail("out of memory");
			goto out;
		}
	}
	data = malloc(ipm_map_size(m));
	if (!data)
		cli_fail("out of memory");
	else
		rc = watch_loop(c, m, w, nw, data);
out:
	for (int i = 0; i < nw; i++) {
		free(w[i].cur);
		free(w[i].last);
	}
	free(w);
	free(data);
	ipm_map_free(m);
	return rc;
}
