/*
 * lockfile.c - the lock file: its one opener, its contents' layout
 * (ipmmap_i.h), the one mapping of its control page and undo record, its
 * allocation, and its repair after someone cut it short.
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
 * short, its pages past the cut fault: every access runs under the guard
 * (fault.c), and a handle that may write the file grows it back and stamps
 * it again (ipm_lockfile_repair()). A cut within a page raises no fault: the
 * bytes past it just read as zeros, which could pass for a record whose
 * saved bytes are zeros, or leave half a magic that turns the record off
 * for good. So the file ends in a sentinel byte past the regions
 * (IPM_LOCKFILE_SENTINEL at offset len), which any cut clears; the write
 * lock checks it before a section saves anything, and anyone checks it
 * before trusting a dead writer's record (ipm_lockfile_check()). A cut file
 * is grown back, a magic of ours that the cut went through is made whole,
 * and an open section whose saved bytes were cut is forgotten: its writer's
 * update, if it died, cannot be undone (nothing whole is left to undo it
 * with). Bytes that are not ours are left alone.
 *
 * Whose file it is. The undo record holds the structure's bytes, and
 * whoever may write it can make C writers restore them: a lock file that
 * someone else owns, or that gives a class of users more than the .mmap
 * gives them, would leak the data or let it be forged (fasteners makes it
 * 0644 when the umask is 022, beside a 0600 .mmap of ours). Such a record is
 * not used: the handle goes on without crash-atomic writes, and its message
 * says why, unless the handle may take the extra permissions away without
 * locking anyone out (make_trusted()).
 *
 * Opening it. As fasteners does ('a+'), the lock file is made when missing,
 * by ipm_map_open() and again by a handle whose lock file was removed under
 * it (follow.c): both go through ipm_lockfile_open(). A lock or data file
 * must be a regular file opened by its own name: in a shared directory a
 * symbolic link would make us lock, grow and write someone else's file, and
 * a FIFO would hang the first read. So every open of either passes
 * IPM_SAFE_OPEN and checks the type (ipm_check_regular(), here at the bottom
 * since the .mmap's opener in datafile.c uses it too).
 */
#include "ipmmap_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int ipm_open_failed(char *err, const char *what, const char *path)
{
	if (errno == ELOOP)
		return ipm_errf(err, -ELOOP, "%s%s: is a symbolic link", what, path);
	return ipm_errf(err, -errno, "cannot open %s%s: %s", what, path, strerror(errno));
}

int ipm_check_regular(char *err, int fd, const char *what, const char *path)
{
	struct stat st;
	int fl;

	if (fstat(fd, &st) < 0)
		return ipm_errf(err, -errno, "cannot stat %s%s: %s", what, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ipm_errf(err, -EINVAL, "%s%s: not a regular file", what, path);
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && (fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return 0;
}

int ipm_set_owner(char *err, int fd, const char *path, mode_t mode, gid_t gid)
{
	if ((fd >= 0 ? fchmod(fd, mode) : chmod(path, mode)) < 0)
		return ipm_errf(err, -errno, "cannot set the mode of %s: %s", path,
				strerror(errno));
	if (gid != (gid_t)-1 &&
	    (fd >= 0 ? fchown(fd, (uid_t)-1, gid) : chown(path, (uid_t)-1, gid)) < 0)
		return ipm_errf(err, -errno, "cannot give %s to group %u: %s", path, (unsigned)gid,
				strerror(errno));
	return 0;
}

/* Every role opens it for writing when it may, readers included, because
 * waiting for a change takes a lease in its control page; the data stays
 * read-only for a reader, who may lack write access to the directory or the
 * file. Only the one who makes it sets its mode: O_EXCL says who that is. */
/* The lock file must not be the .mmap under another name (a hard link):
 * its layout would be written into the structure. */
static int check_apart(int fd, const char *path, const char *data_path, char *err)
{
	struct stat l, d;

	if (fstat(fd, &l) < 0)
		return ipm_errf(err, -errno, "cannot stat lock file %s: %s", path, strerror(errno));
	if (stat(data_path, &d) < 0 || l.st_dev != d.st_dev || l.st_ino != d.st_ino)
		return 0;
	return ipm_errf(err, -EINVAL,
			"lock file %s is a hard link to %s: the lock file must be a file of its "
			"own (remove it; it is made again)",
			path, data_path);
}

int ipm_lockfile_open(const char *path, const char *data_path, mode_t mode, gid_t gid,
		      unsigned flags, char *err)
{
	char scratch[IPM_ERRLEN];
	int fd = -1, i, rc;

	for (i = 0; i < 3; i++) {
		fd = open(path, O_RDWR | IPM_SAFE_OPEN);
		if (fd >= 0 || errno != ENOENT)
			break;
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | IPM_SAFE_OPEN, mode);
		if (fd >= 0) {
			/* Lax: as good as it gets if these fail, still a lock file. */
			rc = ipm_set_owner(flags & IPM_LF_LAX ? scratch : err, fd, path, mode,
					   gid);
			if (rc < 0 && !(flags & IPM_LF_LAX)) {
				close(fd);
				return rc;
			}
			break;
		}
		if (errno != EEXIST)
			break;
	}
	if ((flags & IPM_LF_READER) && fd < 0 && (errno == EACCES || errno == EROFS))
		fd = open(path, O_RDONLY | IPM_SAFE_OPEN);
	if (fd < 0)
		return ipm_open_failed(err, "lock file ", path);
	rc = ipm_check_regular(err, fd, "lock file ", path);
	if (rc == 0)
		rc = check_apart(fd, path, data_path, err);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

static uint64_t magic_of(const char *s)
{
	uint64_t v;

	memcpy(&v, s, sizeof(v));
	return v;
}

/* Bytes of the file the handle uses: the control page, then the undo
 * record, room for every line of the structure once and every range header
 * a section may write (undo.c). Version 1 used IPM_CTL_SIZE + 64 + size;
 * nobody makes the file shorter, so both fit in the longer. */
static size_t lockfile_len(size_t data_size)
{
	return IPM_CTL_SIZE + IPM_UNDO_SLACK + data_size;
}

/* The whole [0, len) backed by disk blocks, the file at least len long,
 * never shorter than it was: 0 or a negative errno. Callers pass len + 1:
 * the sentinel's byte. */
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

static int restamp_run(void *arg);

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
	/* A version 1 record is used too: its dead section is undone, and the
	 * first write section takes it over (undo.c). */
	want = magic_of(IPM_UNDO_MAGIC);
	seen = stamp(&u->magic, want, lf->rw);
	if (seen == 0 || seen == want || seen == magic_of(IPM_UNDO_MAGIC_V1))
		lf->undo = u;
	else if (lf->ctl)
		ipm_errf(j->err, -EINVAL,
			 "lock file %s: undo record magic '%s', expected '%s': ignored", j->path,
			 magic_text(seen, got), IPM_UNDO_MAGIC);
	return 0;
}

/*
 * Whether the lock file lets no one read or write it who may not read or
 * write the .mmap: the same owner, and for its group (the same group) and
 * for others no permission the .mmap does not give them. Otherwise the
 * saved bytes would leak, or a record could be forged (see the top).
 */
static bool trusted(const struct stat *l, const struct stat *d)
{
	mode_t lm = l->st_mode & 0777, dm = d->st_mode & 0777;

	return l->st_uid == d->st_uid && !(lm & 070 & ~dm) && !(lm & 007 & ~dm) &&
	       (!(lm & 070) || l->st_gid == d->st_gid);
}

/*
 * Its owner (or root, when the two files have one owner) takes away what
 * the lock file gives to a class of users the .mmap gives nothing at all:
 * they cannot use the instance, so nobody is locked out. (A class that may
 * read the .mmap keeps its access: a Python reader opens the lock file
 * 'a+', which needs read and write.) A record kept while others could write
 * the file is not trusted afterwards: an open section is forgotten.
 */
static void make_trusted(struct ipm_lockfile *lf, struct stat *l, const struct stat *d)
{
	mode_t mode = l->st_mode & 0777, dm = d->st_mode & 0777;

	if (l->st_uid != d->st_uid || (geteuid() != 0 && geteuid() != l->st_uid))
		return;
	if (!(dm & 070) || l->st_gid != d->st_gid)
		mode &= ~(mode_t)070;
	if (!(dm & 007))
		mode &= ~(mode_t)007;
	if (mode == (l->st_mode & 0777) || fchmod(lf->fd, mode) < 0 || fstat(lf->fd, l) < 0 ||
	    !trusted(l, d))
		return;
	if (lf->undo && lf->rw)
		__atomic_store_n(&lf->undo->state, IPM_UNDO_CLEAN, __ATOMIC_RELEASE);
}

static int forget_run(void *arg)
{
	void **a = arg;

	make_trusted(a[0], a[1], a[2]);
	return 0;
}

/* The record is used only from a lock file that gives no more than the
 * .mmap (see the top of this file); the message says why when not. */
static void check_owner(struct ipm_lockfile *lf, int data_fd, const char *path, char *err)
{
	struct stat l, d;
	void *addr, *a[3] = {lf, &l, &d};
	int rc;

	if (!lf->undo || data_fd < 0 || fstat(lf->fd, &l) < 0 || fstat(data_fd, &d) < 0 ||
	    trusted(&l, &d))
		return;
	if (ipm_guard_run(forget_run, a, &rc, &addr) == 0 && trusted(&l, &d))
		return;
	lf->undo = NULL;
	ipm_errf(err, -EPERM,
		 "lock file %s gives more than its .mmap (owner %u, mode %04o, against owner "
		 "%u, mode %04o): its undo record is not used, crash-atomic writes are off",
		 path, (unsigned)l.st_uid, (unsigned)(l.st_mode & 07777), (unsigned)d.st_uid,
		 (unsigned)(d.st_mode & 07777));
}

int ipm_lockfile_attach(struct ipm_lockfile *lf, int fd, const char *path, size_t data_size,
			int data_fd, char *err)
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
	lf->cut_at = (off_t)lf->len + 1;
	if (fstat(fd, &st) < 0)
		return ipm_errf(err, -errno, "cannot stat %s: %s", path, strerror(errno));
	if (lf->rw) {
		/* Shorter than the regions but not new: it may have been cut. */
		if (st.st_size > 0 && (size_t)st.st_size < lf->len)
			lf->cut_at = st.st_size;
		rc = allocate(fd, lf->len + 1);
		if (rc < 0)
			return ipm_errf(err, rc, "cannot allocate lock file %s: %s", path,
					strerror(-rc));
		if (fstat(fd, &st) < 0)
			return ipm_errf(err, -errno, "cannot stat %s: %s", path, strerror(errno));
	}
	j.size = st.st_size;
	/* Past a short read-only file's end the pages fault: no region there
	 * is used (stamp_regions()), and none is touched unguarded. */
	base = mmap(NULL, lf->len + 1, lf->rw ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd,
		    0);
	if (base == MAP_FAILED)
		return ipm_errf(err, -errno, "cannot map lock file %s: %s", path, strerror(errno));
	lf->base = base;
	if (ipm_guard_run(restamp_run, lf, &rc, &addr) || ipm_guard_run(stamp_regions, &j, &rc, &addr)) {
		ipm_lockfile_detach(lf);
		lf->fd = fd;
		return ipm_lockfile_damaged(lf, path, err);
	}
	check_owner(lf, data_fd, path, err);
	return 0;
}

void ipm_lockfile_detach(struct ipm_lockfile *lf)
{
	if (lf->base)
		munmap(lf->base, lf->len + 1);
	lf->base = NULL;
	lf->ctl = NULL;
	lf->undo = NULL;
	lf->fd = -1;
}

int ipm_lockfile_damaged(const struct ipm_lockfile *lf, const char *path, char *err)
{
	struct stat st;

	if (fstat(lf->fd, &st) == 0 && (size_t)st.st_size <= lf->len)
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
	rc = allocate(lf->fd, lf->len + 1);
	if (rc < 0)
		return ipm_errf(err, -EIO, "lock file %s was truncated to %lld bytes: cannot grow it: %s",
				path, (long long)st.st_size, strerror(-rc));
	if ((size_t)st.st_size <= lf->len && st.st_size < lf->cut_at)
		lf->cut_at = st.st_size;
	return 0;
}

/* Whether a magic reads as ours cut short: our first bytes, then zeros. */
static bool cut_magic(uint64_t seen, const char *want)
{
	unsigned char a[8], b[8];
	int i = 0;

	memcpy(a, &seen, 8);
	memcpy(b, want, 8);
	while (i < 8 && a[i] == b[i])
		i++;
	if (i == 0 || i == 8)
		return false;
	while (i < 8 && a[i] == 0)
		i++;
	return i == 8;
}

void ipm_lockfile_restamp(struct ipm_lockfile *lf)
{
	struct ipm_ctl *c = (struct ipm_ctl *)lf->base;
	struct ipm_undo *u = (struct ipm_undo *)(lf->base + IPM_CTL_SIZE);
	off_t cut = lf->cut_at, end;
	uint64_t um;

	if (!lf->rw || !lf->base)
		return;
	/* Only what is ours is mended: someone else's bytes stay as they are
	 * (and stay ignored, see stamp_regions()). A magic cut short is made
	 * whole again. */
	if (cut_magic(c->magic, IPM_CTL_MAGIC))
		__atomic_store_n(&c->magic, magic_of(IPM_CTL_MAGIC), __ATOMIC_SEQ_CST);
	if (cut_magic(u->magic, IPM_UNDO_MAGIC) || cut_magic(u->magic, IPM_UNDO_MAGIC_V1)) {
		__atomic_store_n(&u->state, IPM_UNDO_CLEAN, __ATOMIC_RELEASE);
		__atomic_store_n(&u->magic, magic_of(IPM_UNDO_MAGIC), __ATOMIC_SEQ_CST);
	}
	/* An open section whose saved bytes the cut went through cannot be
	 * undone with them: forgotten. (A version 1 record ends earlier.) */
	um = u->magic;
	end = (off_t)(um == magic_of(IPM_UNDO_MAGIC_V1) ? IPM_CTL_SIZE + 64 + u->size : lf->len);
	if ((um == magic_of(IPM_UNDO_MAGIC) || um == magic_of(IPM_UNDO_MAGIC_V1)) && cut < end &&
	    u->state != IPM_UNDO_CLEAN)
		__atomic_store_n(&u->state, IPM_UNDO_CLEAN, __ATOMIC_RELEASE);
	if (lf->ctl || cut < (off_t)sizeof(*c))
		stamp(&c->magic, magic_of(IPM_CTL_MAGIC), true);
	if (lf->undo || cut <= IPM_CTL_SIZE)
		stamp(&u->magic, magic_of(IPM_UNDO_MAGIC), true);
	lf->cut_at = (off_t)lf->len + 1;
	lf->base[lf->len] = IPM_LOCKFILE_SENTINEL;
}

static int restamp_run(void *arg)
{
	struct ipm_lockfile *lf = arg;

	if (lf->rw && lf->cut_at <= (off_t)lf->len)
		ipm_lockfile_restamp(lf);
	else if (lf->rw)
		lf->base[lf->len] = IPM_LOCKFILE_SENTINEL;
	return 0;
}

int ipm_lockfile_check(struct ipm_lockfile *lf, const char *path, char *err)
{
	struct stat st;
	int rc;

	if (lf->base[lf->len] == IPM_LOCKFILE_SENTINEL)
		return 0;
	if (fstat(lf->fd, &st) < 0)
		return ipm_errf(err, -EIO, "cannot stat %s: %s", path, strerror(errno));
	if ((size_t)st.st_size > lf->len) {
		/* Whole, the sentinel merely unset (an older library's file). */
		if (lf->rw)
			lf->base[lf->len] = IPM_LOCKFILE_SENTINEL;
		return 0;
	}
	rc = ipm_lockfile_repair(lf, path, err);
	if (rc < 0)
		return rc;
	ipm_lockfile_restamp(lf);
	return 1;
}
