/*
 * inst.c - one mirrored instance: the publisher thread that sends every
 * local change once, and the applying of a remote state (see the versions
 * and the locking order at the top of bridge.h).
 *
 * The publisher is woken by ipm_map_wait(), never by polling: it copies the
 * structure under one read lock, publishes it if it differs from the last
 * state published or applied here, and waits again. Changes that come while
 * it publishes are coalesced into the next copy: the latest always wins.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge.h"
#include "ipmmap_bridge.h"

/* Longest wait of a publisher before it looks at the stop flag again, and
 * between two looks for an instance file that does not exist yet, in ms. A
 * stop normally interrupts the wait at once (ipm_lock_signal()); this bounds
 * the case where the signal comes just before the wait starts. */
#define BR_WAIT_MS 1000

/* See bridge.h. */
int64_t br_ts_ns(double ts)
{
	/* Cyclone reserves negative times (DDS_TIME_INVALID) and INT64_MAX
	 * (DDS_NEVER); a cleared header (0), NaN and negatives all map to 0. */
	if (!(ts > 0))
		return 0;
	if (ts >= 9.2e9)
		return (int64_t)9.2e18;
	return (int64_t)(ts * 1e9 + 0.5);
}

/* Cyclone's reader cache breaks a tie of source timestamps by memcmp() of
 * the two writer GUIDs as it holds them: four 32-bit words in host byte
 * order. dds_get_guid() gives network byte order; compare as the cache. */
static int origin_cmp(const uint8_t a[16], const uint8_t b[16])
{
	uint32_t wa[4], wb[4];

	for (int i = 0; i < 4; i++) {
		const uint8_t *p = a + 4 * i, *q = b + 4 * i;

		wa[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		wb[i] = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
	}
	return memcmp(wa, wb, sizeof(wa));
}

/* See bridge.h. */
int br_version_cmp(const struct br_version *a, const struct br_version *b)
{
	int c;

	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	c = origin_cmp(a->origin, b->origin);
	if (c)
		return c < 0 ? 1 : -1; /* the smaller GUID wins, as in the cache */
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return 0;
}

static double ts_of(const struct br_inst *in, const unsigned char *data)
{
	double ts;

	memcpy(&ts, data + in->ts_off, sizeof(ts));
	return ts;
}

/* See bridge.h. */
int br_inst_init(struct br_inst *in, struct bridge *br, const struct br_inst_conf *conf, char *err,
		 size_t errlen)
{
	struct ipm_field f;
	char why[IPM_ERRLEN];

	memset(in, 0, sizeof(*in));
	in->conf = conf;
	in->br = br;
	in->type = ipm_schema_find(br->schema, conf->name);
	if (!in->type || !ipm_type_mappable(in->type)) {
		snprintf(err, errlen, "%s:%d: %s '%s'", br->conf.path, conf->line,
			 in->type ? "structure does not start with MmapStructureHeader:"
				  : "no such structure in the schema:",
			 conf->name);
		return -EINVAL;
	}
	if (ipm_type_resolve(in->type, "header.time_stamp", &f, why) < 0) {
		snprintf(err, errlen, "%s:%d: %s", br->conf.path, conf->line, why);
		return -EINVAL;
	}
	in->ts_off = f.offset;
	in->size = ipm_type_size(in->type);
	in->fp = ipm_type_fingerprint(in->type);
	in->known = calloc(1, in->size);
	in->buf = calloc(1, in->size);
	in->cur = calloc(1, in->size);
	in->pubm = ipm_map_new(br->schema);
	in->apply = ipm_map_new(br->schema);
	if (!in->known || !in->buf || !in->cur || !in->pubm || !in->apply) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&in->mu, NULL);
	pthread_cond_init(&in->appeared, NULL);
	in->inited = 1;
	return 0;
}

static int stopping(const struct br_inst *in)
{
	return atomic_load(&in->br->stop);
}

/* Sleeps up to BR_WAIT_MS, or until the applier made the instance, or stop. */
static void pause_a_while(struct br_inst *in)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += BR_WAIT_MS / 1000;
	pthread_mutex_lock(&in->mu);
	if (!stopping(in))
		pthread_cond_timedwait(&in->appeared, &in->mu, &t);
	pthread_mutex_unlock(&in->mu);
}

static const struct ipm_open_opts *open_opts(const struct br_inst *in, struct ipm_open_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->mmap_dir = in->br->conf.mmap_dir;
	o->lock_dir = in->br->conf.lock_dir;
	return o;
}

/* Opens the publisher's handle, waiting for a missing instance to be made
 * (by a local manager, or by our applier from a remote state). */
static int pub_open(struct br_inst *in)
{
	struct ipm_open_opts o;
	int said = 0, rc;

	while (!stopping(in)) {
		rc = ipm_map_open(in->pubm, in->conf->name, in->conf->tag, IPM_READER,
				  open_opts(in, &o));
		if (rc == 0)
			return 0;
		if (!said && rc == -ENOENT)
			br_log("%s: publishing once it exists", ipm_map_errmsg(in->pubm));
		else if (!said)
			br_error(in->br, "%s", ipm_map_errmsg(in->pubm));
		said = 1;
		pause_a_while(in);
	}
	return -EINTR;
}

/* One look: copies the state, publishes it if it is new; *seen is the token
 * of the state copied. Returns 0 or -errno. */
static int pub_once(struct br_inst *in, uint64_t *seen)
{
	struct bridge *b = in->br;
	struct br_version v;
	int rc, publish = 0;

	pthread_mutex_lock(&in->mu);
	rc = ipm_lock_read(in->pubm, -1);
	if (rc == 0) {
		rc = ipm_map_changes(in->pubm, seen);
		if (rc == 0)
			rc = ipm_map_copy(in->pubm, in->buf, in->size);
		ipm_unlock(in->pubm);
	}
	if (rc == 0 && (!in->have_known || memcmp(in->buf, in->known, in->size))) {
		v.ts = br_ts_ns(ts_of(in, in->buf));
		memcpy(v.origin, b->origin, sizeof(v.origin));
		v.seq = ++in->seq;
		memcpy(in->known, in->buf, in->size);
		in->known_v = v;
		in->have_known = 1;
		publish = 1;
	}
	pthread_mutex_unlock(&in->mu);
	if (rc < 0)
		return rc;
	/* Outside the mutex: the applier need not wait for the network. */
	if (publish && br_dds_publish(b, in, in->buf, &v) == 0)
		BR_COUNT(b, in, sent);
	return 0;
}

static void *pub_main(void *arg)
{
	struct br_inst *in = arg;
	uint64_t seen = 0;
	int rc;

	if (pub_open(in) < 0)
		return NULL;
	while (!stopping(in)) {
		rc = pub_once(in, &seen);
		if (rc == 0)
			rc = ipm_map_wait(in->pubm, seen, BR_WAIT_MS);
		if (rc == 0 || rc == -ETIMEDOUT || rc == -EINTR)
			continue;
		/* -EIO (file cut short) and the like: say so, look again later. */
		if (!stopping(in))
			br_error(in->br, "%s", ipm_map_errmsg(in->pubm));
		pause_a_while(in);
	}
	return NULL;
}

/* See bridge.h. */
int br_inst_start(struct br_inst *in)
{
	int rc;

	if (in->conf->dir == BR_SUBSCRIBE)
		return 0;
	rc = pthread_create(&in->pub, NULL, pub_main, in);
	if (rc)
		return -rc;
	in->pub_started = 1;
	return 0;
}

/* See bridge.h. */
void br_inst_wake(struct br_inst *in)
{
	pthread_mutex_lock(&in->mu);
	pthread_cond_broadcast(&in->appeared);
	pthread_mutex_unlock(&in->mu);
	if (in->pub_started)
		pthread_kill(in->pub, ipm_lock_signal());
}

/* See bridge.h. */
void br_inst_stop(struct br_inst *in)
{
	if (!in->pub_started)
		return;
	br_inst_wake(in);
	pthread_join(in->pub, NULL);
	in->pub_started = 0;
}

/* See bridge.h. */
void br_inst_free(struct br_inst *in)
{
	ipm_map_free(in->pubm);
	ipm_map_free(in->apply);
	free(in->known);
	free(in->buf);
	free(in->cur);
	if (in->inited) {
		pthread_mutex_destroy(&in->mu);
		pthread_cond_destroy(&in->appeared);
	}
	memset(in, 0, sizeof(*in));
}

/* The applier's handle: an editor, or a manager that makes the instance as
 * `ipmmap create` would if it does not exist here yet. Under in->mu.
 * Returns 1 if it made the instance, 0 if it exists, or -errno. */
static int apply_open(struct br_inst *in)
{
	struct ipm_open_opts o;
	int rc, made = 0;

	if (in->apply_open)
		return 0;
	open_opts(in, &o);
	rc = ipm_map_open(in->apply, in->conf->name, in->conf->tag, IPM_EDITOR, &o);
	if (rc == -ENOENT) {
		rc = ipm_map_open(in->apply, in->conf->name, in->conf->tag, IPM_MANAGER, &o);
		made = 1;
	}
	if (rc < 0) {
		/* Said once until it works: samples may come by thousands. */
		if (!in->apply_failed)
			br_error(in->br, "%s", ipm_map_errmsg(in->apply));
		in->apply_failed = 1;
		return rc;
	}
	in->apply_open = 1;
	in->apply_failed = 0;
	/* The publisher may open it now, but copies only once we release mu:
	 * it never sees (nor publishes) the zeros the manager wrote. */
	pthread_cond_broadcast(&in->appeared);
	return made;
}

struct put_ctx {
	const struct br_inst *in;	 /* the instance */
	const struct ipmmap_Instance *s; /* the sample */
};

/* Runs under ipm_map_guarded(): only memory accesses. */
static int put_state(ipm_map *m, void *arg)
{
	const struct put_ctx *c = arg;
	unsigned char *d = ipm_map_data(m);

	memcpy(d, c->s->data._buffer, c->in->size);
	memcpy(d + c->in->ts_off, &c->s->time_stamp, sizeof(double));
	return 0;
}

/* See bridge.h. */
void br_inst_apply(struct br_inst *in, const struct ipmmap_Instance *s)
{
	struct bridge *b = in->br;
	struct br_version local, remote;
	struct put_ctx c = {in, s};
	char why[160];
	int rc, made;

	if (in->conf->dir == BR_PUBLISH) {
		BR_COUNT(b, in, ignored);
		return;
	}
	if (s->fingerprint != in->fp) {
		snprintf(why, sizeof(why),
			 "layout fingerprint %016llx, ours %016llx (the schemas lay the structure "
			 "out differently)",
			 (unsigned long long)s->fingerprint, (unsigned long long)in->fp);
		br_refuse(b, in, s->origin, s->host, why);
		return;
	}
	if (s->data._length != in->size) {
		snprintf(why, sizeof(why), "size %u bytes, ours %zu", s->data._length, in->size);
		br_refuse(b, in, s->origin, s->host, why);
		return;
	}
	remote.ts = br_ts_ns(s->time_stamp);
	memcpy(remote.origin, s->origin, sizeof(remote.origin));
	remote.seq = s->seq;

	pthread_mutex_lock(&in->mu);
	made = apply_open(in);
	if (made < 0)
		goto out;
	rc = ipm_lock_write(in->apply, -1);
	if (rc < 0) {
		if (!atomic_load(&b->stop))
			br_error(b, "%s", ipm_map_errmsg(in->apply));
		goto out;
	}
	rc = ipm_map_copy(in->apply, in->cur, in->size);
	if (rc == 0) {
		if (made || (in->conf->dir == BR_SUBSCRIBE && !in->have_known)) {
			/* Zeros stamped "now" by the manager, or a one-way
			 * mirror's state before the first remote one: none. */
			memset(&local, 0, sizeof(local));
			local.ts = -1;
		} else if (in->conf->dir == BR_SUBSCRIBE ||
			   (in->have_known && !memcmp(in->cur, in->known, in->size))) {
			/* A one-way mirror follows the remote states: local
			 * writes never leave this host, so they do not count. */
			local = in->known_v;
		} else {
			local.ts = br_ts_ns(ts_of(in, in->cur));
			memcpy(local.origin, b->origin, sizeof(local.origin));
			local.seq = UINT64_MAX;
		}
		if (br_version_cmp(&remote, &local) > 0) {
			rc = ipm_map_guarded(in->apply, put_state, &c);
			if (rc == 0) {
				memcpy(in->known, s->data._buffer, in->size);
				memcpy(in->known + in->ts_off, &s->time_stamp, sizeof(double));
				in->known_v = remote;
				in->have_known = 1;
				BR_COUNT(b, in, applied);
			}
		} else {
			BR_COUNT(b, in, older);
		}
	}
	if (rc < 0)
		br_error(b, "%s", ipm_map_errmsg(in->apply));
	ipm_unlock(in->apply);
out:
	pthread_mutex_unlock(&in->mu);
}
