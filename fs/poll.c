/*
 * poll.c - poll(), select() and epoll on the files of the mount, as on a
 * sysfs attribute.
 *
 * What a poller sees
 * ------------------
 * Open a field file (or .values, or .raw), read it, then poll it for
 * POLLPRI (select(): the "exceptional" set; epoll: EPOLLPRI). The file
 * always reports POLLIN|POLLRDNORM|POLLOUT|POLLWRNORM, as every regular
 * file does, so waiting for POLLIN (select()'s read set) returns at once;
 * it reports POLLPRI|POLLERR too as soon as the text the file reads as
 * differs from the text this open file last read. Then seek to 0 and read:
 * the read at offset 0 renders the value anew, and that text becomes the
 * reference, so the next poll waits again.
 * - A change is a difference of the text, compared byte for byte with what
 *   this open file last read: a field file wakes only when its own value
 *   changes (another field's write, or a write of the same value, does not
 *   wake it); .values wakes on a change of any field, the header's
 *   time_stamp included (so every write through this library, the mount,
 *   or a Python peer that stamps its update); .raw on a change of any byte.
 * - Before the first read of an open file, the reference is its value at
 *   its first poll. A changed file stays ready until it is read at offset 0
 *   (level-triggered, like sysfs); a value changed and changed back between
 *   two looks may not wake anyone.
 * - How soon: a write of a C program of this library (the ipmmap tool, the
 *   mount itself, any libipmmap writer) wakes the poller within
 *   microseconds of its unlock (futex in the lock file); a writer that does
 *   not know the futex (Python IPMMAP) is seen through the header's
 *   time_stamp within IPM_WAIT_POLL_MS (20 ms) plus scheduling delay, and
 *   not at all if it leaves time_stamp alone. A file replaced under a new
 *   inode is seen within about FS_CHECK_NS (1 s) plus FS_WATCH_SLICE_MS.
 * - A removed file (the instance is gone) wakes every poller of the
 *   instance within the same time, with POLLERR|POLLPRI, as sysfs does when
 *   a device goes away; the read that follows answers EIO (ENOENT in scan
 *   mode, where the instance leaves the mount).
 *
 * How
 * ---
 * The first poll of an instance that asks to be told (the kernel sends a
 * pollhandle) starts one watcher thread for the instance. One per instance,
 * not one for all: ipm_map_wait() sleeps on one instance's futex, and one
 * thread for many instances could only look at each in turn, i.e. poll. The
 * watcher holds its own map handle; while some poller of the instance waits
 * it sleeps in ipm_map_wait() holding no lock, then under one read lock
 * copies the structure and, under the watch mutex, renders the text of
 * every polled file of the instance and compares it with its reference;
 * those that differ are marked changed and their pollhandles notified
 * (fuse_lowlevel_notify_poll(), after both locks are dropped). While nobody
 * waits it sleeps on a condition variable: no wake-ups at all. It ends
 * with the mount: stop flag, then ipm_lock_signal() sent until it returns.
 *
 * The same thread also serves attr.c while the kernel keeps attributes of
 * the instance's files (FS_SNAP_NS after the last such reply): it then looks
 * at the change token every FS_WATCH_ATTR_MS (a sleep, not a futex wait,
 * when nobody polls: a futex waiter would make every write wake it) and has
 * the kernel drop the attributes of an older state (fs_attr_stale()). At
 * most FS_MAX_WATCHERS such threads run in a mount.
 *
 * No change is missed: a render of a polled file stores its reference
 * under the read lock it read with, and the watcher compares under a read
 * lock taken after it last saw the change token move, so any write is
 * either seen by the render or followed by a compare. A render of a native
 * instance takes no lock (peek.c): it reads the token before its copy and
 * again after storing the reference, and counts only when the two agree,
 * so a write that ended before the reference was stored moved the token
 * (the render is made again), and one that ends after it is followed by a
 * compare. A first poll of a native instance's file does the same with
 * the file's place in the list (poll_peeked()). A read when nobody polls
 * pays one pointer load (file.c, file_render()).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h"

#define FS_WATCH_SLICE_MS 1000 /* longest sleep before looking at the file */
#define FS_WATCH_LOCK_MS 100   /* longest lock wait before checking stop */
#define FS_WATCH_RETRY_MS 1000 /* after a failure (file gone, cut short) */
#define FS_WATCH_ATTR_MS 1     /* looks while the kernel keeps attributes */

/* The poll state of one open file, in its instance's list. */
struct fs_poll {
	struct fs_poll *next;	    /* list of the instance */
	struct fs_poll *prev;	    /* ... */
	const struct fs_node *node; /* its node */
	struct fuse_pollhandle *ph; /* armed: notify at the next change */
	char *seen;		    /* reference text: what the file last read */
	size_t len;		    /* bytes of text at seen */
	size_t cap;		    /* bytes at seen */
	int changed;		    /* the value differs from seen */
};

#define POLL_PEEK_TRIES 4 /* copies spoilt by moving tokens before p is marked changed */

/* What a regular file reports; sysfs adds POLLERR|POLLPRI on a change. */
#define FS_POLL_DEFAULT (POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM)

static size_t poll_cap(const struct fs_tree *t)
{
	size_t v = t->nodes[FS_NODE_VALUES].textmax, r = t->nodes[FS_NODE_RAW].textmax;

	return (v > r ? v : r) + 1;
}

static void poll_unlink(struct fs_watch *w, struct fs_poll *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		w->polls = p->next;
	if (p->next)
		p->next->prev = p->prev;
}

/* Sets the reference to text; w->mu held. */
static void poll_seen(struct fs_poll *p, const char *text, size_t len)
{
	if (len > p->cap)
		len = p->cap; /* cannot happen: cap is the node's longest text */
	memcpy(p->seen, text, len);
	p->len = len;
	p->changed = 0;
}

/* Puts p in the list with what the file reads as now (cur), compared with
 * the text it last read (text, or none yet: then cur is its reference). */
static void poll_insert(struct fs_watch *w, struct fs_poll *p, struct fs_poll **pp,
			const char *text, size_t len, const char *cur, size_t clen)
{
	pthread_mutex_lock(&w->mu);
	if (text) {
		poll_seen(p, text, len);
		p->changed = clen != len || memcmp(cur, text, len);
	} else {
		poll_seen(p, cur, clen);
	}
	p->next = w->polls;
	if (p->next)
		p->next->prev = p;
	w->polls = p;
	__atomic_store_n(pp, p, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&w->mu);
}

/*
 * The first poll of a native instance's file, without a lock (peek.c), so
 * that it never waits for another process's write lock: p goes into the
 * list with the compare of a copy, and that counts if the change token
 * read before the copy has not moved once p is in (see "No change is
 * missed"). Moved, a write ended that the watcher may have compared without
 * p: the compare is made again from a new copy, POLL_PEEK_TRIES times, then
 * p is marked changed (a poller woken for nothing reads the same text and
 * polls again). 0 with p in the list, or FS_LOCKED with p not in it.
 */
static int poll_peeked(struct fs_inst *in, const struct fs_node *n, struct fs_poll *p,
		       struct fs_poll **pp, const char *text, size_t len, void *data, char *cur)
{
	struct fs_watch *w = &in->watch;
	size_t size = ipm_type_size(in->tree->type);
	uint64_t tok, now;
	int tries, clen, listed = 0;

	for (tries = 0; tries < POLL_PEEK_TRIES; tries++) {
		if (fs_peek_copy(in, data, size, &tok) != 0)
			break;
		clen = fs_node_text(in->tree, n, data, cur, p->cap);
		if (clen < 0)
			break;
		if (!listed) {
			poll_insert(w, p, pp, text, len, cur, (size_t)clen);
			listed = 1;
		} else {
			pthread_mutex_lock(&w->mu);
			p->changed |= (size_t)clen != p->len || memcmp(cur, p->seen, p->len);
			pthread_mutex_unlock(&w->mu);
		}
		if (fs_peek_token(in, &now) == 0 && now == tok)
			return 0;
	}
	if (!listed)
		return FS_LOCKED;
	pthread_mutex_lock(&w->mu);
	p->changed = 1;
	pthread_mutex_unlock(&w->mu);
	return 0;
}

/*
 * The first poll of an open file: its state, compared under a read lock
 * with what the file reads as now, and put in the list under that lock
 * (see "No change is missed"); a native instance's without a lock.
 */
static int poll_first(struct fs_inst *in, const struct fs_node *n, struct fs_poll **pp,
		      const char *text, size_t len)
{
	size_t size = ipm_type_size(in->tree->type);
	struct fs_poll *p = calloc(1, sizeof(*p));
	void *data = malloc(size);
	char *cur = NULL;
	struct fs_lk lk;
	int rc = -ENOMEM, clen;

	if (!p || !data)
		goto out;
	p->node = n;
	p->cap = n->textmax + 1 > len ? n->textmax + 1 : len;
	p->seen = malloc(p->cap);
	cur = malloc(p->cap);
	if (!p->seen || !cur)
		goto out;
	rc = poll_peeked(in, n, p, pp, text, len, data, cur);
	if (rc == 0) {
		p = NULL;
		goto out;
	}
	rc = fs_acquire(in, 0, &lk);
	if (rc < 0)
		goto out; /* FS_PARK too: run again by the waiter */
	rc = ipm_map_copy(lk.m, data, size);
	if (rc >= 0) {
		clen = fs_node_text(in->tree, n, data, cur, p->cap);
		rc = clen < 0 ? clen : 0;
	}
	if (rc >= 0) {
		poll_insert(&in->watch, p, pp, text, len, cur, (size_t)clen);
		p = NULL;
	}
	fs_release(in, &lk);
out:
	if (p)
		free(p->seen);
	free(p);
	free(cur);
	free(data);
	return rc;
}

/* Whether ipm_lock_signal() has a handler: only then may it be sent (its
 * default action ends the process). The library installs one at the first
 * timed wait, which every watcher makes before it can sleep for long. */
static int poll_sig_handled(void)
{
	struct sigaction sa;

	if (sigaction(ipm_lock_signal(), NULL, &sa) < 0)
		return 0;
	if (sa.sa_flags & SA_SIGINFO)
		return 1;
	return sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN;
}

static int poll_stopping(struct fs_watch *w)
{
	return __atomic_load_n(&w->stop, __ATOMIC_ACQUIRE);
}

/* Sleeps up to ms on the condition variable; w->mu held. */
static void watch_nap(struct fs_watch *w, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&w->cv, &w->mu, &ts);
}

/* Room for n handles to notify; w->mu held. 0, or -ENOMEM. */
static int watch_room(struct fs_watch *w, size_t n)
{
	void *f;

	if (n <= w->nfire)
		return 0;
	f = realloc(w->fire, n * sizeof(struct fuse_pollhandle *));
	if (!f)
		return -ENOMEM;
	w->fire = f;
	w->nfire = n;
	return 0;
}

/*
 * One look: under one read lock, the change token and a copy of the
 * structure; every polled file's text compared with its reference; the
 * changed ones notified once both locks are dropped.
 */
static int watch_pass(struct fs_inst *in, ipm_map *m, void *data, char *text, size_t cap,
		      uint64_t *tok, int once)
{
	struct fs_watch *w = &in->watch;
	size_t size = ipm_type_size(in->tree->type), nf = 0;
	struct fuse_pollhandle **fire;
	int rc;

	/* once (the shared watcher): a busy lock is tried again next round. */
	do {
		rc = ipm_lock_read(m, once ? 0 : FS_WATCH_LOCK_MS);
		if (poll_stopping(w))
			return -EINTR;
	} while (!once && (rc == -ETIMEDOUT || rc == -EINTR || rc == -EAGAIN));
	if (rc < 0)
		return rc;
	rc = ipm_map_changes(m, tok);
	if (rc >= 0)
		rc = ipm_map_copy(m, data, size);
	if (rc >= 0) {
		pthread_mutex_lock(&w->mu);
		rc = watch_room(w, w->narmed);
		fire = w->fire;
		for (struct fs_poll *p = w->polls; p; p = p->next) {
			int l = fs_node_text(in->tree, p->node, data, text, cap);

			if (l < 0 || ((size_t)l == p->len && !memcmp(text, p->seen, p->len)))
				continue;
			p->changed = 1;
			if (!p->ph)
				continue;
			if (rc < 0) {
				/* No room: notify here, under the mutex. */
				fuse_lowlevel_notify_poll(p->ph);
				fuse_pollhandle_destroy(p->ph);
			} else {
				fire[nf++] = p->ph;
			}
			p->ph = NULL;
			w->narmed--;
		}
		pthread_mutex_unlock(&w->mu);
		rc = 0;
	}
	ipm_unlock(m);
	/* fire is only reallocated by this thread: safe without the mutex. */
	for (size_t i = 0; i < nf; i++) {
		fuse_lowlevel_notify_poll(fire[i]);
		fuse_pollhandle_destroy(fire[i]);
	}
	return rc;
}

/* The instance's file is gone: every armed poller is told at once (POLLERR
 * and POLLPRI at its next poll, see fs_poll()), as sysfs tells the pollers
 * of a device that went away. */
static void watch_gone(struct fs_inst *in)
{
	struct fs_watch *w = &in->watch;
	struct fuse_pollhandle **fire;
	size_t nf = 0;

	pthread_mutex_lock(&w->mu);
	if (watch_room(w, w->narmed) < 0) {
		pthread_mutex_unlock(&w->mu);
		return; /* told at the next look */
	}
	fire = w->fire;
	for (struct fs_poll *p = w->polls; p; p = p->next) {
		p->changed = 1;
		if (p->ph) {
			fire[nf++] = p->ph;
			p->ph = NULL;
			w->narmed--;
		}
	}
	pthread_mutex_unlock(&w->mu);
	for (size_t i = 0; i < nf; i++) {
		fuse_lowlevel_notify_poll(fire[i]);
		fuse_pollhandle_destroy(fire[i]);
	}
}

static void *watch_main(void *arg)
{
	struct fs_inst *in = arg;
	struct fs_watch *w = &in->watch;
	size_t cap = poll_cap(in->tree);
	void *data = malloc(ipm_type_size(in->tree->type));
	char *text = malloc(cap);
	ipm_map *m = NULL;
	unsigned gen = 0, narmed;
	int64_t until, now;
	uint64_t tok;
	int rc, ms;

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		/* Pollers wait, or the kernel keeps attributes (attr.c). */
		until = atomic_load(&w->attr_until);
		now = fs_now();
		if (!w->narmed && until <= now) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		narmed = w->narmed;
		pthread_mutex_unlock(&w->mu);
		/* A file replaced or removed: look with a new handle. */
		if (fs_inst_check(in))
			watch_gone(in);
		if (m && gen != fs_inst_gen(in)) {
			fs_map_put(in, m, gen);
			m = NULL;
		}
		rc = !data || !text ? -ENOMEM : 0;
		if (!rc && !m)
			rc = fs_map_get(in, &m, &gen);
		if (!rc && narmed)
			rc = watch_pass(in, m, data, text, cap, &tok, 0);
		else if (!rc)
			rc = ipm_map_changes(m, &tok);
		if (!rc && until > now)
			fs_attr_stale(in->fs, in->idx, tok, gen);
		if (!rc) {
			ms = FS_WATCH_SLICE_MS;
			if (!narmed && (until - now) / 1000000 + 1 < ms)
				ms = (int)((until - now) / 1000000) + 1;
			if (narmed) {
				rc = ipm_map_wait(m, tok, ms);
			} else {
				/* Attributes only: a look every FS_WATCH_ATTR_MS,
				 * not a futex wait, which would make every write
				 * through the mount wake this thread. */
				struct timespec ts = {0, FS_WATCH_ATTR_MS * 1000000L};

				nanosleep(&ts, NULL);
				rc = 0;
			}
			if (rc == -ETIMEDOUT || rc == -EINTR)
				rc = 0;
		}
		pthread_mutex_lock(&w->mu);
		if (rc < 0 && !w->stop)
			watch_nap(w, FS_WATCH_RETRY_MS); /* no busy loop on a bad file */
	}
	w->exited = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (m)
		fs_map_put(in, m, gen);
	free(data);
	free(text);
	return NULL;
}

/* Starts the watcher; w->mu held. */
static int watch_start(struct fs_inst *in)
{
	struct fs_watch *w = &in->watch;
	int rc;

	if (atomic_fetch_add(&in->fs->nwatchers, 1) >= FS_MAX_WATCHERS) {
		atomic_fetch_sub(&in->fs->nwatchers, 1);
		return -EAGAIN;
	}
	rc = fs_thread_start(&w->thread, watch_main, in);
	if (rc) {
		atomic_fetch_sub(&in->fs->nwatchers, 1);
		return rc;
	}
	w->started = 1;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The shared watcher                                                        */
/* ------------------------------------------------------------------------ */

/*
 * Past FS_MAX_WATCHERS, a polled instance gets no thread of its own: one
 * thread of the mount looks at all such instances every IPM_WAIT_POLL_MS
 * (the change token: two loads each; a pass under a read lock tried once
 * when it moved). Their pollers then wake within that period instead of
 * microseconds, and their attributes are not kept (attr.c).
 */
static void shared_look(struct fs_inst *in, void **data, size_t *dcap, char **text, size_t *tcap)
{
	struct fs_watch *w = &in->watch;
	size_t size = ipm_type_size(in->tree->type), cap = poll_cap(in->tree);
	unsigned narmed, gen;
	uint64_t tok;
	ipm_map *m;
	void *p;
	int rc;

	pthread_mutex_lock(&w->mu);
	narmed = w->narmed;
	pthread_mutex_unlock(&w->mu);
	if (!narmed)
		return;
	if (fs_inst_check(in)) {
		watch_gone(in);
		return;
	}
	if (size > *dcap && (p = realloc(*data, size))) {
		*data = p;
		*dcap = size;
	}
	if (cap > *tcap && (p = realloc(*text, cap))) {
		*text = p;
		*tcap = cap;
	}
	if (size > *dcap || cap > *tcap || fs_map_get(in, &m, &gen) < 0)
		return;
	rc = ipm_map_changes(m, &tok);
	if (rc < 0 || !w->stok_ok || tok != w->stok || gen != w->sgen) {
		rc = watch_pass(in, m, *data, *text, cap, &tok, 1);
		w->stok_ok = rc == 0;
		w->stok = tok;
		w->sgen = gen;
	}
	fs_map_put(in, m, gen);
}

static void *shared_main(void *arg)
{
	struct fs *fs = arg;
	struct timespec ts = {0, IPM_WAIT_POLL_MS * 1000000L};
	void *data = NULL;
	char *text = NULL;
	size_t dcap = 0, tcap = 0;
	struct fs_inst *in;
	int stop;

	for (;;) {
		pthread_mutex_lock(&fs->shared_mu);
		stop = fs->shared_stop;
		in = fs->shared; /* only ever pushed in front: walked unlocked */
		pthread_mutex_unlock(&fs->shared_mu);
		if (stop)
			break;
		for (; in; in = in->watch.snext)
			shared_look(in, &data, &dcap, &text, &tcap);
		nanosleep(&ts, NULL);
	}
	free(data);
	free(text);
	return NULL;
}

/* Puts in on the shared watcher's list; in->watch.mu held. */
static int poll_share(struct fs_inst *in)
{
	struct fs *fs = in->fs;
	int rc = 0;

	pthread_mutex_lock(&fs->shared_mu);
	if (!fs->shared_started) {
		rc = fs_thread_start(&fs->shared_thread, shared_main, fs);
		fs->shared_started = rc == 0;
	}
	if (rc == 0) {
		in->watch.snext = fs->shared;
		fs->shared = in;
		in->watch.shared = 1;
	}
	pthread_mutex_unlock(&fs->shared_mu);
	return rc;
}

/* See fs.h. */
void fs_poll_init(struct fs *fs)
{
	pthread_mutex_init(&fs->shared_mu, NULL);
}

/* See fs.h. */
int fs_watch_attrs(struct fs_inst *in)
{
	struct fs_watch *w = &in->watch;
	int64_t now = fs_now();
	int64_t old = atomic_exchange(&w->attr_until, now + FS_SNAP_NS);
	int rc = 0;

	/* Armed already: the watcher runs and looks until the new end. */
	if (old > now)
		return 0;
	pthread_mutex_lock(&w->mu);
	if (w->stop)
		rc = -1;
	else if (!w->started)
		rc = watch_start(in);
	else
		pthread_cond_broadcast(&w->cv);
	if (rc < 0)
		atomic_store(&w->attr_until, 0);
	pthread_mutex_unlock(&w->mu);
	return rc < 0 ? -1 : 0;
}

/* See fs.h. */
int fs_poll(struct fs_inst *in, const struct fs_node *n, struct fs_poll **pp, const char *text,
	    size_t len, struct fuse_pollhandle *ph, unsigned *revents)
{
	struct fs_watch *w = &in->watch;
	struct fuse_pollhandle *old = NULL;
	struct fs_poll *p = *pp;
	int rc = 0;

	if (fs_inst_check(in)) { /* its file was removed: nothing to wait for */
		if (ph)
			fuse_pollhandle_destroy(ph);
		*revents = FS_POLL_DEFAULT | POLLERR | POLLPRI;
		return 0;
	}
	if (!p) {
		rc = poll_first(in, n, pp, text, len);
		if (rc == FS_PARK)
			return rc; /* ph goes with the parked request */
		if (rc < 0) {
			if (ph)
				fuse_pollhandle_destroy(ph);
			return rc;
		}
		p = *pp;
	}
	*revents = FS_POLL_DEFAULT;
	pthread_mutex_lock(&w->mu);
	if (p->changed) {
		*revents |= POLLPRI | POLLERR;
		old = ph; /* ready now: nothing to tell later */
	} else if (ph && !w->stop) {
		if (!w->started && !w->shared)
			rc = watch_start(in);
		if (rc == -EAGAIN) /* FS_MAX_WATCHERS run: the shared one */
			rc = poll_share(in);
		if (rc < 0) {
			old = ph;
		} else {
			old = p->ph; /* the kernel's latest handle replaces it */
			if (!old && !w->narmed++)
				pthread_cond_broadcast(&w->cv);
			p->ph = ph;
		}
	} else {
		old = ph;
	}
	pthread_mutex_unlock(&w->mu);
	if (old)
		fuse_pollhandle_destroy(old);
	return rc;
}

/* See fs.h. */
void fs_poll_rendered(struct fs_inst *in, struct fs_poll *p, const char *text, size_t len)
{
	pthread_mutex_lock(&in->watch.mu);
	poll_seen(p, text, len);
	pthread_mutex_unlock(&in->watch.mu);
}

static void poll_free(struct fs_watch *w, struct fs_poll *p)
{
	poll_unlink(w, p);
	if (p->ph) {
		fuse_pollhandle_destroy(p->ph);
		w->narmed--;
	}
	free(p->seen);
	free(p);
}

/* See fs.h. */
void fs_poll_drop(struct fs_inst *in, struct fs_poll *p)
{
	pthread_mutex_lock(&in->watch.mu);
	poll_free(&in->watch, p);
	pthread_mutex_unlock(&in->watch.mu);
}

/* See fs.h. */
void fs_poll_fini(struct fs *fs)
{
	size_t n = fs->insts ? fs_ninsts(fs) : 0;

	pthread_mutex_lock(&fs->shared_mu);
	fs->shared_stop = 1;
	pthread_mutex_unlock(&fs->shared_mu);
	if (fs->shared_started)
		pthread_join(fs->shared_thread, NULL);
	fs->shared_started = 0;

	for (size_t i = 0; i < n; i++) {
		struct fs_watch *w = &fs->insts[i]->watch;

		pthread_mutex_lock(&w->mu);
		__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&w->cv);
		/* The signal ends a wait in ipm_map_wait() or a lock wait; sent
		 * again until the thread is out, as one that comes just before
		 * the wait starts does not end it. */
		while (w->started && !w->exited) {
			pthread_mutex_unlock(&w->mu);
			if (poll_sig_handled())
				pthread_kill(w->thread, ipm_lock_signal());
			pthread_mutex_lock(&w->mu);
			if (!w->exited)
				watch_nap(w, 10);
		}
		pthread_mutex_unlock(&w->mu);
		if (w->started)
			pthread_join(w->thread, NULL);
		w->started = 0;
		/* Files still open (a lazy unmount, a signal): nobody will
		 * release them now; fs_files_free() frees them after. */
		while (w->polls)
			poll_free(w, w->polls);
		free(w->fire);
		w->fire = NULL;
		w->nfire = 0;
	}
}
