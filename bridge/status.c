/*
 * status.c - what the bridge tells: log lines on stderr, the counters, and
 * the status file, sysfs-like "key = value" lines rewritten whole (a
 * temporary file renamed over it, so a reader never sees half of one):
 *
 *   state = running
 *   pid = 4242
 *   host = rig-1
 *   origin = 0110d5a1c2a5e1f3a2b7c0de000001c3
 *   domain = 0
 *   peers = 1
 *   sent = 12
 *   applied = 7
 *   older = 0
 *   refused = 0
 *   ignored = 0
 *   last_error =
 *   last_error_time = 0
 *   instance = DemoMmapStructure both sent 12 applied 7 older 0 refused 0 ignored 0
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bridge.h"

/* A refusal already logged: later ones of the same kind are only counted. */
struct br_logged {
	uint8_t origin[16];	  /* the sender */
	const struct br_inst *in; /* the instance */
	char why[8];		  /* first letters of the reason */
};

/* Refusals logged at most, so that a storm of senders cannot grow memory. */
#define BR_LOGGED_MAX 256

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* See bridge.h. */
void br_log(const char *fmt, ...)
{
	char line[768];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "%s: ", BR_NAME);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	/* One fprintf per line: threads do not interleave inside it. */
	fprintf(stderr, "%s\n", line);
}

static void set_error(struct bridge *b, const char *msg)
{
	pthread_mutex_lock(&b->st.mu);
	snprintf(b->st.last_error, sizeof(b->st.last_error), "%s", msg);
	b->st.last_error_time = now();
	pthread_mutex_unlock(&b->st.mu);
	atomic_store(&b->st.dirty, 1);
}

/* See bridge.h. */
void br_error(struct bridge *b, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	br_log("%s", msg);
	set_error(b, msg);
}

/* See bridge.h. */
void br_origin_hex(const uint8_t origin[16], char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", origin[i]);
}

/* See bridge.h. */
void br_refuse(struct bridge *b, struct br_inst *in, const uint8_t origin[16], const char *host,
	       const char *why)
{
	struct br_status *st = &b->st;
	char hex[33], msg[512];
	int seen = 0;

	BR_COUNT(b, in, refused);
	pthread_mutex_lock(&st->mu);
	for (size_t i = 0; i < st->nlogged && !seen; i++)
		seen = st->logged[i].in == in && !memcmp(st->logged[i].origin, origin, 16) &&
		       !strncmp(st->logged[i].why, why, sizeof(st->logged[i].why) - 1);
	if (!seen && st->nlogged < BR_LOGGED_MAX) {
		struct br_logged *l = realloc(st->logged, (st->nlogged + 1) * sizeof(*l));

		if (l) {
			st->logged = l;
			memcpy(l[st->nlogged].origin, origin, 16);
			l[st->nlogged].in = in;
			snprintf(l[st->nlogged].why, sizeof(l->why), "%s", why);
			st->nlogged++;
		}
	}
	pthread_mutex_unlock(&st->mu);
	br_origin_hex(origin, hex);
	snprintf(msg, sizeof(msg), "refused %s%s%s from %s (origin %s): %s", in->conf->name,
		 *in->conf->tag ? ":" : "", in->conf->tag, host, hex, why);
	if (!seen)
		br_log("%s (logged once per sender and instance)", msg);
	set_error(b, msg);
}

/* See bridge.h. */
void br_count(struct bridge *b, struct br_inst *in, size_t field)
{
	atomic_fetch_add((atomic_ullong *)((char *)&b->n + field), 1);
	if (in)
		atomic_fetch_add((atomic_ullong *)((char *)&in->n + field), 1);
	atomic_store(&b->st.dirty, 1);
}

/* The five counters as "name<kv>value", separated by sep. */
static void put_counts(FILE *f, const struct br_counts *n, const char *kv, const char *sep)
{
	static const char *const names[] = {"sent", "applied", "older", "refused", "ignored"};
	const unsigned long long v[] = {atomic_load(&n->sent), atomic_load(&n->applied),
					atomic_load(&n->older), atomic_load(&n->refused),
					atomic_load(&n->ignored)};

	for (int i = 0; i < 5; i++)
		fprintf(f, "%s%s%s%llu", i ? sep : "", names[i], kv, v[i]);
}

/* See bridge.h. */
void br_status_write(struct bridge *b, int running)
{
	const char *path = b->conf.status;
	char *tmp = NULL, hex[33], err[512];
	double err_time;
	FILE *f;

	atomic_store(&b->st.dirty, 0);
	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return;
	f = fopen(tmp, "w");
	if (!f) {
		free(tmp);
		return;
	}
	pthread_mutex_lock(&b->st.mu);
	memcpy(err, b->st.last_error, sizeof(err));
	err_time = b->st.last_error_time;
	pthread_mutex_unlock(&b->st.mu);
	br_origin_hex(b->origin, hex);
	fprintf(f, "state = %s\npid = %ld\nhost = %s\norigin = %s\ndomain = %u\npeers = %u\n",
		running ? "running" : "stopped", (long)getpid(), b->host, hex, b->conf.domain,
		atomic_load(&b->st.peers));
	put_counts(f, &b->n, " = ", "\n");
	fprintf(f, "\nlast_error = %s\nlast_error_time = %.6f\n", err, err_time);
	for (size_t i = 0; i < b->ninsts; i++) {
		const struct br_inst *in = &b->insts[i];

		fprintf(f, "instance = %s%s%s %s ", in->conf->name, *in->conf->tag ? ":" : "",
			in->conf->tag, br_dir_name(in->conf->dir));
		put_counts(f, &in->n, " ", " ");
		fputc('\n', f);
	}
	if (fclose(f) == 0 && rename(tmp, path) == 0) {
		free(tmp);
		return;
	}
	unlink(tmp);
	free(tmp);
}
