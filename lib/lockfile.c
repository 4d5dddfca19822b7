/*
 * lockfile.c - the lock file's contents: its layout (ipmmap_i.h), the one
 * mapping of its control page and undo record, its allocation, and its
 * repair after someone cut it short.
 *
 * The lock file is ours: Python's fasteners opens it 'a+' and only takes
 * fcntl.lockf() locks on it, which do not care what the file holds. So it
 * holds the control page (change counter, leases; ctl.c) and the undo record
 * (undo.c) of the instance, and the .mmap file stays exactly the structure.
 *
 * All zeros is a valid state for both (no change yet, no waiter, no
 * section), so whoever opens first allocates the file and stamps the two
 * magics with a compare-and-swap from zero; racing processes do the same
 * harmlessly, and nobody ever makes the file shorter.
 *
 * Allocated, not grown sparse: a hole in a shared mapping is filled when a
 * page is first touched, and on a full disk that touch is a SIGBUS in the
 * middle of a lock operation. fallocate() makes the space real at open, so
 * a full disk is an -ENOSPC there, naming the file. (A filesystem without
 * fallocate() gets the file grown by one byte at its end, as before.)
 *
 * Anyone who may lock the instance may also write or cut this file. Cut
 * short, its pages fault: every access runs under the guard (fault.c), and
 * a handle that may write the file grows it back and stamps it again
 * (ipm_lockfile_repair()); what the cut took was the change counter, the
 * leases and the undo record, all of which start again from zero.
 */
#include "ipmmap_i.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t magic_of(const char *s)
{
	uint64_t v;

	memcpy(&v, s, sizeof(v));
	return v;
}

/* Bytes of the file the handle uses: control page, record, saved copy. */
static size_t lockfile_len(size_t data_size)
{
	return IPM_CTL_SIZE + sizeof(struct ipm_undo) + data_size;
}

/* The whole [0, len) backed by disk blocks, the file at least len long,
 * never shorter than it was: 0 or a negative errno. */
static int allocate(int fd, size_t len)
{
	static const unsigned char zero;
	struct stat st;
	ssize_t n;

	if (fallocate(fd, 0, 0, (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		return -errno;
	/* No fallocate() here: at least no shorter than needed, one zero at
	 * the end (the last byte of the saved copy, rewritten before use). */
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((size_t)st.st_size >= len)
		return 0;
	do
		n = pwrite(fd, &zero, 1, (off_t)len - 1);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : n < 0 ? -errno : -EIO;
}

/* The magic of a region, stamped from zero when the handle may write it:
 * what it holds afterwards. */
static uint64_t stamp(uint64_t *p, uint64_t want, bool rw)
{
	uint64_t seen = 0;

	if (rw)
		__atomic_compare_exchange_n(p, &seen, want, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST);
	else
		seen = __atomic_load_n(p, __ATOMIC_ACQUIRE);
	return seen == 0 && rw ? want : seen;
}

/* Printable form of 8 magic bytes for a message. */
static const char *magic_text(uint64_t v, char out[9])
{
	memcpy(out, &v, 8);
	for (int i = 0; i < 8; i++)
		if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e)
			out[i] = '?';
	out[8] = '\0';
	return out;
}

struct stamp_job {
	struct ipm_lockfile *lf; /* the lock file */
	off_t size;		 /* its size at attach time */
	const char *path;	 /* for messages */
	char *err;		 /* where a message goes */
};

/*
 * Sets lf->ctl and lf->undo to the regions it can use. Someone else's bytes
 * where a magic belongs: the lock file is auxiliary and anyone who may lock
 * may write it, so that must not make the instance unusable. The handle goes
 * on without that region (waits by time_stamp only, or no crash-atomic
 * writes) and the message says why.
 */
static int stamp_regions(void *arg)
{
	struct stamp_job *j = arg;
	struct ipm_lockfile *lf = j->lf;
	struct ipm_ctl *c = (struct ipm_ctl *)lf->base;
	struct ipm_undo *u = (struct ipm_undo *)(lf->base + IPM_CTL_SIZE);
	uint64_t want, seen;
	char got[9];

	lf->ctl = NULL;
	lf->undo = NULL;
	/* A reader that may not write a short file waits by time_stamp. */
	if (!lf->rw && j->size < IPM_CTL_SIZE)
		return 0;
	want = magic_of(IPM_CTL_MAGIC);
	seen = stamp(&c->magic, want, lf->rw);
	if (seen == 0 || seen == want)
		lf->ctl = c;
	else
		ipm_errf(j->err, -EINVAL,
			 "lock file %s: control block magic '%s', expected '%s': ignored", j->path,
			 magic_text(seen, got), IPM_CTL_MAGIC);
	/* Without the record a reader has nothing to undo from. */
	if (!lf->rw && (size_t)j->size < lf->len)
		return 0;
	want = magic_of(IPM_UNDO_MAGIC);
	seen = stamp(&u->magic, want, lf->rw);
	if (seen == 0 || seen == want)
		lf->undo = u;
	else if (lf->ctl)
		ipm_errf(j->err, -EINVAL, "lock file %s: undo record magic is not '%s': ignored",
			 j->path, IPM_UNDO_MAGIC);
	return 0;
}

int ipm_lockfile_attach(struct ipm_lockfile *lf, int fd, const char *path, size_t data_size,
			char *err)
{
	struct stamp_job j = {lf, 0, path, err};
	struct stat st;
	void *base, *addr;
	int rc;

	lf->fd = fd;
	lf->rw = (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR;
	lf->len = lockfile_len(data_size);
	lf->base = NULL;
	lf->ctl = NULL;
	lf->undo = NULL;
	if (lf->rw) {
		rc = allocate(fd, lf->len);
		if (rc < 0)
			return ipm_errf(err, rc, "cannot allocate lock file %s: %s", path,
					strerror(-rc));
	}
	if (fstat(fd, &st) < 0)
		return ipm_errf(err, -errno, "cannot stat %s: %s", path, strerror(errno));
	j.size = st.st_size;
	/* Past a short read-only file's end the pages fault: no region there
	 * is used (stamp_regions()), and none is touched unguarded. */
	base = mmap(NULL, lf->len, lf->rw ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return ipm_errf(err, -errno, "cannot map lock file %s: %s", path, strerror(errno));
	lf->base = base;
	if (ipm_guard_run(stamp_regions, &j, &rc, &addr)) {
		ipm_lockfile_detach(lf);
		lf->fd = fd;
		return ipm_lockfile_damaged(lf, path, err);
	}
	return 0;
}

void ipm_lockfile_detach(struct ipm_lockfile *lf)
{
	if (lf->base)
		munmap(lf->base, lf->len);
	lf->base = NULL;
	lf->ctl = NULL;
	lf->undo = NULL;
	lf->fd = -1;
}

int ipm_lockfile_damaged(const struct ipm_lockfile *lf, const char *path, char *err)
{
	struct stat st;

	if (fstat(lf->fd, &st) == 0 && (size_t)st.st_size < lf->len)
		return ipm_errf(err, -EIO, "lock file %s was truncated to %lld bytes", path,
				(long long)st.st_size);
	return ipm_errf(err, -EIO, "lock file %s: bus error while accessing it", path);
}

int ipm_lockfile_repair(struct ipm_lockfile *lf, const char *path, char *err)
{
	struct stat st;
	int rc;

	if (!lf->rw)
		return ipm_lockfile_damaged(lf, path, err);
	if (fstat(lf->fd, &st) < 0)
		st.st_size = 0;
	rc = allocate(lf->fd, lf->len);
	if (rc < 0)
		return ipm_errf(err, -EIO, "lock file %s was truncated to %lld bytes: cannot grow it: %s",
				path, (long long)st.st_size, strerror(-rc));
	return 0;
}

void ipm_lockfile_restamp(struct ipm_lockfile *lf)
{
	if (!lf->rw)
		return;
	if (lf->ctl)
		stamp(&lf->ctl->magic, magic_of(IPM_CTL_MAGIC), true);
	if (lf->undo)
		stamp(&lf->undo->magic, magic_of(IPM_UNDO_MAGIC), true);
}
