/*
 * park.c - requests that find their instance's lock held.
 *
 * The session's threads never wait for a lock. A request that needs one
 * tries it once (fs_acquire(), one system call); when another process
 * holds it, the request is parked: its arguments are copied into a job on
 * the instance's queue and the thread goes back to the session at once.
 * Each instance with parked requests has one waiter thread (started at the
 * first park, gone again when its queue is empty) that takes the lock for
 * the oldest job, waiting in slices of FS_PARK_SLICE_MS, and runs the
 * operation again with that lock (fs_held), which replies; then the next.
 *
 * Why not let request threads wait, a few per instance: libfuse's loop has
 * max_threads (10) workers, and a worker that waits cannot read the next
 * request, INTERRUPTs included. Twelve cats waiting on one locked instance
 * would then stop every other instance and Ctrl-C. Parked, they cost a job
 * each and one thread per locked instance; the session always has all its
 * workers, also with -s (one worker), so max_threads keeps libfuse's
 * default.
 *
 * Interrupts: between slices the waiter answers EINTR to every job of its
 * queue whose request the kernel interrupted (fuse_req_interrupted(), set by
 * the INTERRUPT a session thread reads), so Ctrl-C on a waiting cat works
 * within a slice. A job belongs to one thread at a time: to the session
 * thread until fs_park() queued it, then to the waiter only, which alone
 * answers it, by running or cancelling it: exactly one reply per request.
 *
 * Lock order: handle mutex (file.c) -> park mutex; the waiter takes a
 * handle's mutex only with the shared lock held and no park mutex, and the
 * session's threads holding a handle's mutex never wait for the shared lock.
 */
#include <assert.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

#define FS_PARK_SLICE_MS 100 /* longest lock wait between interrupt checks */

__thread struct fs_held *fs_held;

/* See fs.h. */
void fs_park_init(struct fs_park *pk)
{
	memset(pk, 0, sizeof(*pk));
	pthread_mutex_init(&pk->mu, NULL);
	pthread_cond_init(&pk->cv, NULL);
}

/* See fs.h. */
void fs_park_destroy(struct fs_park *pk)
{
	pthread_mutex_destroy(&pk->mu);
	pthread_cond_destroy(&pk->cv);
}

/* Answers EINTR to the interrupted jobs, or to all when the mount ends. */
static void park_sweep(struct fs_inst *in, int all)
{
	struct fs_park *pk = &in->park;
	struct fs_job *gone = NULL, **pp, *j;

	pthread_mutex_lock(&pk->mu);
	for (pp = &pk->head; (j = *pp);) {
		if (all || fuse_req_interrupted(j->req)) {
			*pp = j->next;
			j->next = gone;
			gone = j;
		} else {
			pk->tail = j;
			pp = &j->next;
		}
	}
	if (!pk->head)
		pk->tail = NULL;
	pthread_mutex_unlock(&pk->mu);
	while ((j = gone)) {
		gone = j->next;
		fs_job_cancel(j, EINTR);
	}
}

static int park_ending(struct fs_inst *in)
{
	int stop;

	pthread_mutex_lock(&in->park.mu);
	stop = in->park.stop;
	pthread_mutex_unlock(&in->park.mu);
	return stop || fuse_session_exited(in->fs->se);
}

/* Takes the lock for the head job j: 0 with it held, 1 when j left the
 * queue meanwhile (interrupted), 2 when j's deadline passed (it runs
 * without the lock), or a negative errno. */
static int park_lock(struct fs_inst *in, ipm_map *m, struct fs_job *j)
{
	int rc, ms;

	for (;;) {
		ms = FS_PARK_SLICE_MS;
		if (j->deadline) {
			int64_t left = (j->deadline - fs_now()) / 1000000;

			if (left <= 0)
				return 2;
			if (left < ms)
				ms = (int)left;
		}
		rc = j->write ? ipm_lock_write(m, ms) : ipm_lock_read(m, ms);
		if (rc != -EAGAIN && rc != -ETIMEDOUT && rc != -EINTR)
			return rc;
		park_sweep(in, park_ending(in));
		pthread_mutex_lock(&in->park.mu);
		rc = in->park.head != j;
		pthread_mutex_unlock(&in->park.mu);
		if (rc)
			return 1;
	}
}

static void *park_main(void *arg)
{
	struct fs_inst *in = arg;
	struct fs_park *pk = &in->park;
	struct fs_held held = {in, NULL, 0};
	struct fs_job *j;
	unsigned gen;
	ipm_map *m;
	int rc;

	for (;;) {
		pthread_mutex_lock(&pk->mu);
		j = pk->head;
		if (!j) {
			pk->running = 0;
			pthread_cond_broadcast(&pk->cv);
			pthread_mutex_unlock(&pk->mu);
			return NULL;
		}
		pthread_mutex_unlock(&pk->mu);
		if (park_ending(in)) {
			park_sweep(in, 1);
			continue;
		}
		fs_inst_check(in); /* a replaced file: wait on the new one */
		m = NULL;
		rc = fs_map_get(in, &m, &gen);
		if (rc == 0) {
			rc = park_lock(in, m, j);
			if (rc == 1) { /* j was answered: look at the head again */
				fs_map_put(in, m, gen);
				continue;
			}
		}
		/* Only this thread removes the head: j is still it. */
		pthread_mutex_lock(&pk->mu);
		pk->head = j->next;
		if (!pk->head)
			pk->tail = NULL;
		pthread_mutex_unlock(&pk->mu);
		if (rc == 2) { /* waited long enough: runs without the lock */
			fs_map_put(in, m, gen);
			j->expired = 1;
			rc = fs_job_run(j);
			assert(rc != FS_PARK);
			continue;
		}
		if (rc < 0) {
			if (m)
				fs_map_put(in, m, gen);
			fs_job_cancel(j, -rc);
			continue;
		}
		held.m = m;
		held.write = j->write;
		fs_held = &held;
		rc = fs_job_run(j);
		fs_held = NULL;
		ipm_unlock(m);
		fs_map_put(in, m, gen);
		if (rc == FS_PARK) { /* it needs the write lock: first again */
			j->write = 1;
			pthread_mutex_lock(&pk->mu);
			j->next = pk->head;
			pk->head = j;
			if (!pk->tail)
				pk->tail = j;
			pthread_mutex_unlock(&pk->mu);
		}
	}
}

/* See fs.h. */
int fs_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	sigdelset(&all, ipm_lock_signal());
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -rc;
}

/* Starts the waiter; pk->mu held. */
static int park_start(struct fs_inst *in)
{
	struct fs_park *pk = &in->park;
	int rc;

	if (pk->started) {
		/* The previous waiter set running to 0 and is returning. */
		pthread_join(pk->thread, NULL);
		pk->started = 0;
	}
	rc = fs_thread_start(&pk->thread, park_main, in);
	if (rc)
		return rc;
	pk->started = 1;
	pk->running = 1;
	return 0;
}

/* See fs.h. */
int fs_park(struct fs_inst *in, struct fs_job *j)
{
	struct fs_park *pk = &in->park;
	int rc = 0;

	j->next = NULL;
	pthread_mutex_lock(&pk->mu);
	if (pk->stop) {
		rc = -EINTR;
	} else if (!pk->running) {
		rc = park_start(in);
	}
	if (rc == 0) {
		if (pk->tail)
			pk->tail->next = j;
		else
			pk->head = j;
		pk->tail = j;
	}
	pthread_mutex_unlock(&pk->mu);
	return rc;
}

/* See fs.h. */
void fs_park_fini(struct fs *fs)
{
	size_t n = fs->insts ? fs_ninsts(fs) : 0;

	for (size_t i = 0; i < n; i++) {
		struct fs_park *pk = &fs->insts[i]->park;

		pthread_mutex_lock(&pk->mu);
		pk->stop = 1;
		while (pk->running)
			pthread_cond_wait(&pk->cv, &pk->mu);
		pthread_mutex_unlock(&pk->mu);
		if (pk->started)
			pthread_join(pk->thread, NULL);
		pk->started = 0;
	}
}
