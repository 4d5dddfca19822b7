/*
 * bridge.h - declarations shared by the parts of ipmmap-bridge; private to
 * bridge/.
 *
 *   config.c  the INI configuration file -> struct br_config
 *   inst.c    one mirrored instance: its publisher thread, applying a sample
 *   dds.c     the DDS participant, topic, QoS, reader loop, peers
 *   status.c  the status file and the log lines
 *   main.c    command line, signals, set-up and tear-down
 *   ipmmap_bridge.idl  the topic, compiled by idlc into $(B)/bridge/gen/
 *
 * Versions. Every state of an instance has a version (ts, origin, seq): the
 * header time_stamp in integer nanoseconds (the DDS source timestamp of its
 * sample), the writer GUID of the bridge that first published it, and that
 * bridge's sequence number. A sample is applied only if its version is
 * greater than the local state's: greater ts, or equal ts and a SMALLER
 * origin (as Cyclone's reader cache breaks ties under BY_SOURCE_TIMESTAMP,
 * so that the cache and this code never disagree), or the same origin and a
 * greater seq. The local state's version is that of the last state the
 * bridge published or applied if the bytes are still those (inst->known),
 * else (its ts, this bridge, infinity): a local write not published yet.
 * A subscribe-only instance is a one-way mirror: its local version is that
 * of the last remote state applied, whatever was written here since, so the
 * next remote state always replaces local writes.
 *
 * Locking order: inst->mu, then the instance's ipmmap lock. The publisher
 * thread copies the structure and compares it with inst->known under both,
 * so it can never mistake an applied remote state for a local change (and
 * echo it back).
 *
 * bridge/ uses only the public lib/ipmmap.h.
 */
#ifndef IPMBR_BRIDGE_H
#define IPMBR_BRIDGE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ipmmap.h"

#define BR_NAME "ipmmap-bridge"

/* What crosses the network for an instance. */
enum br_dir {
	BR_BOTH,      /* publish local changes, apply remote ones */
	BR_PUBLISH,   /* publish only: remote samples are ignored */
	BR_SUBSCRIBE, /* apply only: local changes never leave this host */
};

/* ------------------------------------------------------------------------ */
/* Configuration (config.c)                                                  */
/* ------------------------------------------------------------------------ */

struct br_inst_conf {
	char *name;	 /* structure name */
	char *tag;	 /* tag, "" for none */
	enum br_dir dir; /* its own direction, or the global one */
	int own_dir;	 /* the line gave a direction */
	int line;	 /* its line in the configuration file */
};

struct br_config {
	char *path;		    /* the configuration file, absolute */
	char *dir;		    /* its directory: relative paths start here */
	char **schemas;		    /* schema files, absolute, in order */
	int *schema_lines;	    /* line of each schema = */
	size_t nschemas;	    /* entries in schemas */
	char *mmap_dir;		    /* absolute */
	char *lock_dir;		    /* absolute */
	char *status;		    /* status file, absolute */
	uint32_t domain;	    /* DDS domain id (default 0) */
	enum br_dir direction;	    /* default direction (default both) */
	struct br_inst_conf *insts; /* instance = lines, in order */
	size_t ninsts;		    /* entries in insts */
};

/* Loads the configuration at path. Returns 0, or -errno with the first
 * error in err ("file:line: what is wrong"). Free with br_config_free(). */
int br_config_load(struct br_config *c, const char *path, char *err, size_t errlen);

/* Frees what br_config_load() allocated; harmless twice. */
void br_config_free(struct br_config *c);

/* "both", "publish", "subscribe". */
const char *br_dir_name(enum br_dir d);

/* ------------------------------------------------------------------------ */
/* Counters and status (status.c)                                            */
/* ------------------------------------------------------------------------ */

/* Samples counted per instance and in total; any thread adds. */
struct br_counts {
	atomic_ullong sent;    /* published by this bridge */
	atomic_ullong applied; /* remote states written here */
	atomic_ullong older;   /* remote states not newer than ours: kept ours */
	atomic_ullong refused; /* wrong layout or size */
	atomic_ullong ignored; /* for a publish-only instance */
};

struct br_status {
	pthread_mutex_t mu;	  /* guards last_error and logged */
	char last_error[512];	  /* "" if none */
	double last_error_time;	  /* UNIX time of it */
	struct br_logged *logged; /* (origin, instance, why) already logged */
	size_t nlogged;
	atomic_uint peers; /* remote participants matched now */
	atomic_int dirty;  /* something changed since the last write */
};

/* ------------------------------------------------------------------------ */
/* Instances (inst.c)                                                        */
/* ------------------------------------------------------------------------ */

struct bridge;

/* A version (see the top of this file). */
struct br_version {
	int64_t ts;	    /* header time_stamp in ns, clamped to >= 0 */
	uint8_t origin[16]; /* publishing bridge's writer GUID */
	uint64_t seq;	    /* its sequence number; UINT64_MAX: local, unpublished */
};

struct br_inst {
	const struct br_inst_conf *conf; /* name, tag, direction */
	struct bridge *br;		 /* the bridge it belongs to */
	const ipm_type *type;		 /* its structure */
	size_t size;			 /* bytes of the structure */
	uint64_t fp;			 /* layout fingerprint */
	size_t ts_off;			 /* offset of header.time_stamp */

	int inited;		   /* mu and appeared exist */
	pthread_mutex_t mu;	   /* guards everything below */
	pthread_cond_t appeared;   /* the applier created the instance */
	ipm_map *apply;		   /* the applier's handle (receiving thread) */
	int apply_open;		   /* apply is open */
	int apply_failed;	   /* opening it failed, and was said */
	unsigned char *cur;	   /* the applier's copy of the local state */
	unsigned char *known;	   /* last state published or applied here */
	int have_known;		   /* known holds a state */
	struct br_version known_v; /* its version */
	uint64_t seq;		   /* last sequence number published */

	pthread_t pub;	    /* publisher thread (both, publish) */
	int pub_started;    /* pub runs */
	ipm_map *pubm;	    /* its handle; only that thread uses it */
	unsigned char *buf; /* its copy of the structure */
	struct br_counts n; /* this instance's counters */
};

/* Sets up inst for conf[i] (type, sizes); no thread, no file. Returns 0 or
 * -errno with a message in err. */
int br_inst_init(struct br_inst *in, struct bridge *br, const struct br_inst_conf *conf, char *err,
		 size_t errlen);

/* Starts the publisher thread if the direction publishes. */
int br_inst_start(struct br_inst *in);

/* Wakes the publisher from its waits (after the stop flag is set). */
void br_inst_wake(struct br_inst *in);

/* Stops (the bridge's stop flag must be set) and joins the publisher. */
void br_inst_stop(struct br_inst *in);

/* Closes and frees what init and the threads made. */
void br_inst_free(struct br_inst *in);

/* A remote sample for this instance: checks, compares, applies. Called by
 * the receiving thread only. */
struct ipmmap_Instance;
void br_inst_apply(struct br_inst *in, const struct ipmmap_Instance *s);

/* Version order: <0, 0, >0. */
int br_version_cmp(const struct br_version *a, const struct br_version *b);

/* The header time_stamp as the DDS source timestamp: ns, >= 0, NaN -> 0. */
int64_t br_ts_ns(double ts);

/* ------------------------------------------------------------------------ */
/* The bridge (main.c, dds.c)                                                */
/* ------------------------------------------------------------------------ */

struct bridge {
	struct br_config conf; /* loaded configuration */
	ipm_schema *schema;    /* every schema file, in order */
	struct br_inst *insts; /* one per instance line */
	size_t ninsts;	       /* entries in insts */
	char host[64];	       /* this host's name */
	uint8_t origin[16];    /* this bridge's writer GUID */
	atomic_int stop;       /* SIGINT/SIGTERM seen */
	struct br_counts n;    /* totals */
	struct br_status st;   /* status file and log */

	int32_t participant; /* dds_entity_t's, 0 if none */
	int32_t topic;
	int32_t writer;
	int32_t reader;
	int32_t waitset;
	int32_t guard; /* triggered to end the receiving loop */
};

/* Creates participant, topic, writer, reader; learns b->origin. Returns 0
 * or a negative DDS return code with a message on stderr. */
int br_dds_open(struct bridge *b);

/* Publishes one state of in (called by its publisher thread). */
int br_dds_publish(struct bridge *b, struct br_inst *in, const unsigned char *data,
		   const struct br_version *v);

/* The receiving loop: waits for samples and matches, applies, writes the
 * status file; returns once b->stop is set and the guard triggered. */
void br_dds_run(struct bridge *b);

/* Wakes br_dds_run() (from the signal thread). */
void br_dds_wake(struct bridge *b);

/* Deletes every DDS entity. */
void br_dds_close(struct bridge *b);

/* status.c: a line "ipmmap-bridge: ..." on stderr. */
__attribute__((format(printf, 1, 2))) void br_log(const char *fmt, ...);

/* Records the last error (and logs it). */
__attribute__((format(printf, 2, 3))) void br_error(struct bridge *b, const char *fmt, ...);

/* Records and logs a refusal once per (origin, instance, why); later ones
 * are only counted. */
void br_refuse(struct bridge *b, struct br_inst *in, const uint8_t origin[16], const char *host,
	       const char *why);

/* Writes the status file (a temporary file renamed over it). */
void br_status_write(struct bridge *b, int running);

/* Adds one to a counter of in and to the total. */
void br_count(struct bridge *b, struct br_inst *in, size_t field);
#define BR_COUNT(b, in, f) br_count((b), (in), offsetof(struct br_counts, f))

/* origin as 32 hex digits (33 bytes with the NUL). */
void br_origin_hex(const uint8_t origin[16], char out[33]);

#endif /* IPMBR_BRIDGE_H */
