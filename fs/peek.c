/*
 * peek.c - the text of a file of a native instance, read without a lock.
 *
 *   $ ipmmap create --native DemoMmapStructure
 *   $ python3 -c 'import fcntl, time; f = open(".fasteners/DemoMmapStructure_.lockfile",
 *         "r+"); fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(60)' &   # fasteners' lock
 *   $ cat /mnt/ipmmap/DemoMmapStructure/data_int                    # answers at once
 *
 * On a native instance every writer uses libipmmap and publishes a write
 * sequence count (ipmmap(3), MODES), so a read needs no lock: the node's
 * bytes are copied with ipm_map_peek(), which checks the count around the
 * copy and gives out only a whole update (a dead writer's section read
 * through its undo record), and the text is rendered from that copy, as
 * the CLI does. Where the library would have to take the lock (a compat
 * instance, a live writer in a long section, a file to map), ipm_map_peek()
 * says so instead of waiting, and the caller takes the lock its own way
 * (file.c, attr.c): tried once, and parked when busy, so that no session
 * thread ever waits. A failure of any kind goes the same way: the locked
 * path is the reference for errors, and says them as it always did.
 *
 * What the text was read from (struct fs_snapmeta) must be one state: its
 * change token, taken before the copy and again after it (and after a
 * polled file took the text as its reference, see poll.c, "No change is
 * missed"). Equal, no write section ended in between: the token is the
 * copy's, or older, which only makes a kept stat or a poller look again.
 * Moved, the copy is made again, a few times, then the lock decides. The
 * time stamp is a second copy from the header; a write that ends between
 * the two moves the token, except in the few instructions between a
 * writer's even count and its change count (lock.c, section_end()), where
 * the time may be the next update's: the token then moves at once, and the
 * watcher drops what was kept within FS_WATCH_ATTR_MS.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "fs.h"

#define PEEK_TRIES 4	/* copies spoilt by moving tokens before the lock decides */
#define PEEK_STACK 1024 /* node bytes copied on the stack up to this */

/* MmapStructureHeader { int16 header_code; double time_stamp; } (ipmmap.h):
 * every mappable structure starts with it, native C layout. */
struct peek_header {
	int16_t code;
	double stamp;
};

/* See fs.h. */
int fs_peek_render(struct fs_inst *in, const struct fs_node *n, char *buf, size_t cap, size_t *len,
		   struct fs_snapmeta *meta, struct fs_poll *p)
{
	unsigned char stack[PEEK_STACK], *bytes = stack;
	size_t size = n->field.size;
	uint64_t tok0 = 0, tok1 = 0;
	double ts = 0;
	unsigned gen;
	ipm_map *m;
	int rc, tries;

	if (n->kind == FS_STATUS || fs_map_get(in, &m, &gen) < 0)
		return FS_LOCKED;
	/* One guarded load: a compat instance pays this and no more. */
	if (ipm_map_native(m) != 1) {
		fs_map_put(in, m, gen);
		return FS_LOCKED;
	}
	if (size > sizeof(stack))
		bytes = malloc(size);
	for (tries = 0, rc = FS_LOCKED; bytes && tries < PEEK_TRIES; tries++) {
		if (ipm_map_changes(m, &tok0) < 0 ||
		    ipm_map_peek(m, n->field.offset, bytes, size) < 0 ||
		    ipm_map_peek(m, offsetof(struct peek_header, stamp), &ts, sizeof(ts)) < 0)
			break;
		rc = fs_node_text_at(in->tree, n, bytes, buf, cap);
		if (rc < 0) {
			rc = FS_LOCKED;
			break;
		}
		*len = (size_t)rc;
		if (p)
			fs_poll_rendered(in, p, buf, *len);
		rc = ipm_map_changes(m, &tok1) < 0 ? -1 : tok1 == tok0 ? 0 : FS_LOCKED;
		if (rc <= 0)
			break;
	}
	if (bytes != stack)
		free(bytes);
	fs_map_put(in, m, gen);
	if (rc != 0)
		return FS_LOCKED;
	meta->gen = gen;
	meta->at = fs_now();
	meta->ts = ts;
	meta->tok = tok0;
	atomic_store_explicit(&in->stamp, ts, memory_order_relaxed);
	return 0;
}

/* See fs.h. */
int fs_peek_copy(struct fs_inst *in, void *data, size_t size, uint64_t *tok)
{
	unsigned gen;
	ipm_map *m;
	int rc = FS_LOCKED;

	if (fs_map_get(in, &m, &gen) < 0)
		return FS_LOCKED;
	if (ipm_map_native(m) == 1 && ipm_map_changes(m, tok) == 0 &&
	    ipm_map_peek(m, 0, data, size) == 0)
		rc = 0;
	fs_map_put(in, m, gen);
	return rc;
}

/* See fs.h. */
int fs_peek_token(struct fs_inst *in, uint64_t *tok)
{
	unsigned gen;
	ipm_map *m;
	int rc;

	if (fs_map_get(in, &m, &gen) < 0)
		return FS_LOCKED;
	rc = ipm_map_changes(m, tok) == 0 ? 0 : FS_LOCKED;
	fs_map_put(in, m, gen);
	return rc;
}
