/*
 * dds.c - the bridge's side of Eclipse Cyclone DDS: one participant, the one
 * topic of ipmmap_bridge.idl, a writer and a reader on it, and the receiving
 * loop that hands every remote state to its instance.
 *
 * Cyclone's own settings (interfaces, peers, multicast, ports) come from
 * CYCLONEDDS_URI, as for every Cyclone program; only the domain id is ours.
 *
 * QoS of the topic, writer and reader alike:
 * - reliable, KEEP_LAST 1 per key: the newest state of each instance, and
 *   states the network cannot take as fast as they come are coalesced;
 * - TRANSIENT_LOCAL: a reader that matches later (a late joiner, a bridge
 *   restarted) gets each writer's latest state at once;
 * - destination order BY_SOURCE_TIMESTAMP, the source timestamp being the
 *   header time_stamp: a state from one bridge that arrives after a newer
 *   one from another never replaces it in the reader's cache before we take
 *   it (a late joiner may receive the states of all bridges at once);
 * - ignore local: this bridge's reader never gets its own writer's samples.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <dds/dds.h>

#include "bridge.h"
#include "ipmmap_bridge.h"

#define BR_TOPIC "ipmmap_Instance"

/* Samples taken per call. */
#define BR_TAKE 16

/* Remote endpoints looked at when counting peers. */
#define BR_MAX_MATCHED 64

/* Shortest time between two writes of the status file while samples flow. */
#define BR_STATUS_MS 100

static int dds_fail(const char *what, dds_return_t rc)
{
	br_log("cannot %s: %s", what, dds_strretcode(rc));
	return rc < 0 ? rc : -1;
}

/* See bridge.h. */
int br_dds_open(struct bridge *b)
{
	dds_qos_t *q = dds_create_qos();
	dds_guid_t g;
	dds_entity_t e;
	dds_return_t rc;

	dds_qset_reliability(q, DDS_RELIABILITY_RELIABLE, DDS_SECS(10));
	dds_qset_history(q, DDS_HISTORY_KEEP_LAST, 1);
	dds_qset_durability(q, DDS_DURABILITY_TRANSIENT_LOCAL);
	dds_qset_destination_order(q, DDS_DESTINATIONORDER_BY_SOURCE_TIMESTAMP);

	rc = b->participant = dds_create_participant(b->conf.domain, NULL, NULL);
	if (rc < 0) {
		b->participant = 0;
		rc = dds_fail("create the DDS participant (see CYCLONEDDS_URI)", rc);
		goto out;
	}
	rc = b->topic = dds_create_topic(b->participant, &ipmmap_Instance_desc, BR_TOPIC, q, NULL);
	if (rc < 0) {
		rc = dds_fail("create the topic " BR_TOPIC, rc);
		goto out;
	}
	dds_qset_ignorelocal(q, DDS_IGNORELOCAL_PARTICIPANT);
	rc = b->writer = dds_create_writer(b->participant, b->topic, q, NULL);
	if (rc < 0) {
		rc = dds_fail("create the writer", rc);
		goto out;
	}
	rc = b->reader = dds_create_reader(b->participant, b->topic, q, NULL);
	if (rc < 0) {
		rc = dds_fail("create the reader", rc);
		goto out;
	}
	rc = dds_get_guid(b->writer, &g);
	if (rc < 0) {
		rc = dds_fail("get the writer's GUID", rc);
		goto out;
	}
	memcpy(b->origin, g.v, sizeof(b->origin));

	/* One waitset: data, peers coming and going, and the stop guard. */
	rc = b->waitset = dds_create_waitset(b->participant);
	if (rc >= 0)
		rc = b->guard = dds_create_guardcondition(b->participant);
	if (rc >= 0)
		rc = e = dds_create_readcondition(b->reader, DDS_ANY_STATE);
	if (rc >= 0)
		rc = dds_waitset_attach(b->waitset, e, 0);
	if (rc >= 0)
		rc = dds_waitset_attach(b->waitset, b->guard, 0);
	if (rc >= 0)
		rc = dds_set_status_mask(b->reader, DDS_SUBSCRIPTION_MATCHED_STATUS);
	if (rc >= 0)
		rc = dds_waitset_attach(b->waitset, b->reader, 0);
	if (rc >= 0)
		rc = dds_set_status_mask(b->writer, DDS_PUBLICATION_MATCHED_STATUS);
	if (rc >= 0)
		rc = dds_waitset_attach(b->waitset, b->writer, 0);
	if (rc < 0)
		rc = dds_fail("set up the waitset", rc);
	else
		rc = 0;
out:
	dds_delete_qos(q);
	return rc;
}

/* See bridge.h. */
int br_dds_publish(struct bridge *b, struct br_inst *in, const unsigned char *data,
		   const struct br_version *v)
{
	ipmmap_Instance s;
	dds_return_t rc;

	memset(&s, 0, sizeof(s));
	snprintf(s.name, sizeof(s.name), "%s", in->conf->name);
	snprintf(s.tag, sizeof(s.tag), "%s", in->conf->tag);
	snprintf(s.host, sizeof(s.host), "%s", b->host);
	s.fingerprint = in->fp;
	memcpy(&s.time_stamp, data + in->ts_off, sizeof(double));
	memcpy(s.origin, v->origin, sizeof(s.origin));
	s.seq = v->seq;
	s.data._length = s.data._maximum = (uint32_t)in->size;
	s.data._buffer = (uint8_t *)data;
	s.data._release = false;
	rc = dds_write_ts(b->writer, &s, v->ts);
	if (rc < 0) {
		br_error(b, "cannot publish %s%s%s: %s", in->conf->name, *in->conf->tag ? ":" : "",
			 in->conf->tag, dds_strretcode(rc));
		return -EIO;
	}
	return 0;
}

static void add_peer(dds_guid_t *seen, unsigned *n, const dds_builtintopic_endpoint_t *e)
{
	for (unsigned i = 0; i < *n; i++)
		if (!memcmp(&seen[i], &e->participant_key, sizeof(seen[i])))
			return;
	seen[(*n)++] = e->participant_key;
}

/* Remote participants matched now, through our reader or our writer. */
static void count_peers(struct bridge *b)
{
	dds_instance_handle_t h[BR_MAX_MATCHED];
	dds_guid_t seen[2 * BR_MAX_MATCHED];
	dds_builtintopic_endpoint_t *e;
	unsigned n = 0;
	int k;

	k = dds_get_matched_publications(b->reader, h, BR_MAX_MATCHED);
	for (int i = 0; i < k && i < BR_MAX_MATCHED; i++) {
		e = dds_get_matched_publication_data(b->reader, h[i]);
		if (e) {
			add_peer(seen, &n, e);
			dds_builtintopic_free_endpoint(e);
		}
	}
	k = dds_get_matched_subscriptions(b->writer, h, BR_MAX_MATCHED);
	for (int i = 0; i < k && i < BR_MAX_MATCHED; i++) {
		e = dds_get_matched_subscription_data(b->writer, h[i]);
		if (e) {
			add_peer(seen, &n, e);
			dds_builtintopic_free_endpoint(e);
		}
	}
	if (atomic_exchange(&b->st.peers, n) != n) {
		br_log("peers: %u", n);
		atomic_store(&b->st.dirty, 1);
	}
}

static void dispatch(struct bridge *b, const ipmmap_Instance *s)
{
	if (!memcmp(s->origin, b->origin, sizeof(b->origin)))
		return; /* our own, should ignore-local ever let one through */
	for (size_t i = 0; i < b->ninsts; i++) {
		struct br_inst *in = &b->insts[i];

		if (!strcmp(in->conf->name, s->name) && !strcmp(in->conf->tag, s->tag)) {
			br_inst_apply(in, s);
			return;
		}
	}
	/* An instance we do not mirror: other bridges may mirror more. */
}

static int64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* See bridge.h. */
void br_dds_run(struct bridge *b)
{
	void *samples[BR_TAKE];
	dds_sample_info_t infos[BR_TAKE];
	int64_t last_write = mono_ms();
	uint32_t st_r, st_w;
	int n;

	count_peers(b);
	br_status_write(b, 1);
	while (!atomic_load(&b->stop)) {
		int dirty = atomic_load(&b->st.dirty);

		dds_waitset_wait(b->waitset, NULL, 0,
				 dirty ? DDS_MSECS(BR_STATUS_MS) : DDS_SECS(1));
		st_r = st_w = 0;
		dds_take_status(b->reader, &st_r, DDS_SUBSCRIPTION_MATCHED_STATUS);
		dds_take_status(b->writer, &st_w, DDS_PUBLICATION_MATCHED_STATUS);
		if (st_r || st_w)
			count_peers(b);
		do {
			memset(samples, 0, sizeof(samples));
			n = dds_take(b->reader, samples, infos, BR_TAKE, BR_TAKE);
			for (int i = 0; i < n && !atomic_load(&b->stop); i++)
				if (infos[i].valid_data)
					dispatch(b, samples[i]);
			if (n > 0)
				dds_return_loan(b->reader, samples, n);
		} while (n == BR_TAKE && !atomic_load(&b->stop));
		if (atomic_load(&b->st.dirty) && mono_ms() - last_write >= BR_STATUS_MS) {
			br_status_write(b, 1);
			last_write = mono_ms();
		}
	}
}

/* See bridge.h. */
void br_dds_wake(struct bridge *b)
{
	if (b->guard > 0)
		dds_set_guardcondition(b->guard, true);
}

/* See bridge.h. */
void br_dds_close(struct bridge *b)
{
	/* Deleting the participant deletes everything made in it. */
	if (b->participant > 0)
		dds_delete(b->participant);
	b->participant = b->topic = b->writer = b->reader = b->waitset = b->guard = 0;
}
