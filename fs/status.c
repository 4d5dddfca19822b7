/*
 * status.c - .status: how an instance is, found out when it is read by
 * trying what a client does (see fs_inst_status() in fs.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"

/*
 * Whether the instance serves, found by trying what a client does: a new
 * handle opened on its files (the .mmap's size and header, the lock file
 * made, allocated and sound), then the lock taken and every byte read
 * through a handle of the pool, which a file changed in place under it
 * fails. 0, FS_PARK (the lock is busy) or a negative errno with why; the
 * recoveries in *r, and in *cleared whether Python cleared the header.
 */
static int inst_probe(struct fs_inst *in, struct ipm_recovery *r, int *cleared, int *native,
		      char *why, size_t whylen)
{
	size_t size = ipm_type_size(in->tree->type);
	ipm_map *m = ipm_map_new(in->schema ? in->schema : in->fs->schema);
	void *data = malloc(size);
	struct fs_lk lk;
	int rc = -ENOMEM;

	if (in->def == FS_DEF_BAD) {
		snprintf(why, whylen, "%s", in->defmsg);
		rc = -EIO;
		goto out;
	}
	if (!m || !data) {
		snprintf(why, whylen, "%s", strerror(ENOMEM));
		goto out;
	}
	rc = ipm_map_open(m, in->sname, in->tag, in->role, &in->fs->oopts);
	if (rc < 0) {
		snprintf(why, whylen, "%s", ipm_map_errmsg(m));
		goto out;
	}
	*native = ipm_map_native(m) == 1; /* needs no lock: said even when busy */
	rc = fs_acquire_why(in, 0, &lk, why, whylen);
	if (rc < 0)
		goto out;
	rc = ipm_map_copy(lk.m, data, size);
	if (rc < 0)
		snprintf(why, whylen, "%s", ipm_map_errmsg(lk.m));
	else
		ipm_map_recovery(lk.m, r);
	*cleared = rc == 0 && ipm_map_cleared(lk.m) == 1;
	fs_release(in, &lk);
out:
	ipm_map_free(m);
	free(data);
	return rc < 0 ? rc : 0;
}

/*
 * .status: sysfs-like "key = value" lines about the instance, from a real
 * attempt made now (inst_probe()), never from what an earlier request
 * found. A file that cannot be served reads as state = damaged (why), not
 * as EIO: .status is where one looks for the reason. While another process
 * holds the write lock, the read waits (parked) at most FS_STATUS_WAIT_MS;
 * then (busy_ok) it shows "state = busy (...)": the files opened and
 * checked fine, the data could not be read, and the recoveries are not
 * known (0).
 */
int fs_inst_status(struct fs_inst *in, char *buf, size_t cap, int busy_ok)
{
	struct ipm_recovery r;
	char why[IPM_ERRLEN], msg[IPM_ERRLEN + 16];
	struct stat st;
	int rc, n, cleared = 0, native = 0;

	memset(&r, 0, sizeof(r));
	rc = inst_probe(in, &r, &cleared, &native, why, sizeof(why));
	if (rc == FS_PARK && !busy_ok)
		return rc;
	if (rc == FS_PARK)
		snprintf(msg, sizeof(msg),
			 "busy (another process holds the write lock; data not read)");
	else if (rc == 0)
		snprintf(msg, sizeof(msg), "ok");
	else
		snprintf(msg, sizeof(msg), "damaged (%s)", why[0] ? why : strerror(-rc));
	if (stat(in->path, &st) < 0)
		st.st_size = -1;
	n = snprintf(buf, cap,
		     "file = %s\nsize = %lld\nstate = %s\nrecoveries = %llu\n"
		     "last_recovery_pid = %d\nlast_recovery_time = %.6f\npending = %d\n"
		     "cleared = %d\nmode = %s\n",
		     in->path, (long long)st.st_size, msg, (unsigned long long)r.count,
		     (int)r.last_pid, r.last_time, r.pending, cleared,
		     native ? "native" : "compat");
	/* Where the layout comes from, when it is not the configuration. */
	if (n >= 0 && (size_t)n < cap && in->def != FS_DEF_SCHEMA)
		n += snprintf(buf + n, cap - (size_t)n, "definition = %s (%s)\n",
			      in->def == FS_DEF_STORED ? "stored"
			      : in->def == FS_DEF_RAW  ? "none: .raw and .status only"
						       : "damaged",
			      in->defmsg);
	if (n < 0)
		return -EIO;
	return (size_t)n < cap ? n : (int)cap - 1;
}
