/*
 * datafile.c - the .mmap file: its checks, its mapping and mapping again,
 * and noticing that it no longer has its size.
 *
 * A file cut short faults in the pages it lost (fault.c turns that into
 * -EIO), but not in the page its new end falls in: the kernel keeps that
 * page and reads zeros past the end, and writes there are lost. For a
 * structure smaller than a page that is every byte. Asking fstat() before
 * every access would cost a system call (about 0.2 us, half a lock). So the
 * handle keeps a canary instead: one byte just past the structure's end, in
 * the tail of its last page, which belongs to no file and which the kernel
 * zeroes whenever the file is cut (and, on most filesystems, when it grows
 * or when the page is written back). A canary in place means the size has
 * not changed since it was set; a missing one sends the handle to fstat(),
 * which decides, and a writable handle that finds the size right sets the
 * canary again and looks once more (ipm_data_verify_slow()). Every
 * IPM_SIZE_RECHECK checks fstat() runs anyway, for filesystems (tmpfs) that
 * keep the tail when a file grows. A structure whose size is a
 * whole number of pages has no tail: its handles ask fstat() each time.
 *
 * The canary is checked after an access, before its result is given out:
 * a cut that comes between is reported, not served. One instant escapes
 * it: truncate() sets the new size, then zeroes the page from the cut
 * upwards, reaching the canary last; a load in between reads zeros with
 * the canary standing. Only the size tells, and an lseek() after every
 * access (about 0.1 us, a third of a lock) is more than that instant is
 * worth: the next access reports the cut (README, "Damaged files").
 */
#include "ipmmap_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t page_size(void)
{
	static size_t ps;

	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

int ipm_data_check(char *err, int fd, const char *path, size_t size)
{
	struct stat st;
	int16_t code;

	if (fstat(fd, &st) < 0)
		return ipm_errf(err, -errno, "cannot stat %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ipm_errf(err, -EINVAL, "cannot map %s: not a regular file", path);
	if ((uint64_t)st.st_size != size)
		return ipm_errf(err, -EINVAL, "cannot map %s: size %lld, expected %zu", path,
				(long long)st.st_size, size);
	if (pread(fd, &code, sizeof(code), IPM_HDR_CODE_OFF) != (ssize_t)sizeof(code))
		return ipm_errf(err, -EIO, "cannot read %s", path);
	/* 0: a cleared instance (see ipm_data_uncleared()). */
	if (code != IPM_HEADER_CODE && code != 0)
		return ipm_errf(err, -EINVAL, "%s: header_code 0x%04x, expected 0x%04x", path,
				(unsigned)(uint16_t)code, IPM_HEADER_CODE);
	return 0;
}

int ipm_data_open(char *err, const char *path, size_t size, enum ipm_role role)
{
	int fd, rc;

	fd = open(path, (role == IPM_READER ? O_RDONLY : O_RDWR) | IPM_SAFE_OPEN);
	if (fd < 0)
		return ipm_open_failed(err, "", path);
	rc = ipm_data_check(err, fd, path, size);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

size_t ipm_data_maplen(size_t size)
{
	return (size + page_size() - 1) / page_size() * page_size();
}

volatile unsigned char *ipm_data_canary(const ipm_map *m)
{
	return m->size % page_size() ? (volatile unsigned char *)m->mapped + m->size : NULL;
}

/* Whether the file on fd has size bytes now. */
static bool size_is(const ipm_map *m, int *err)
{
	struct stat st;

	if (fstat(m->data_fd, &st) < 0) {
		*err = errno;
		return false;
	}
	return (uint64_t)st.st_size == m->size;
}

int ipm_data_verify_slow(ipm_map *m)
{
	volatile unsigned char *c = m->canary;
	int err = 0;

	if (!size_is(m, &err))
		return err ? ipm_errf(m->err, -EIO, "cannot stat %s: %s", m->path, strerror(err))
			   : ipm_data_damaged(m);
	if (!c || m->role == IPM_READER)
		return 0;
	/*
	 * Right size: set the canary, then ask again. Never set it on a file
	 * known to be cut, or readers would trust it meanwhile. A cut after the
	 * second look clears it; one between the two looks is caught by the
	 * second, and only readers in those few hundred nanoseconds may have
	 * trusted the canary.
	 */
	*c = IPM_CANARY;
	if (size_is(m, &err))
		return 0;
	*c = 0;
	return ipm_data_damaged(m);
}

int ipm_data_damaged(ipm_map *m)
{
	struct stat st;

	if (m->data_fd < 0 || fstat(m->data_fd, &st) < 0)
		return ipm_errf(m->err, -EIO, "%s: bus error while accessing the mapping", m->path);
	if ((uint64_t)st.st_size < m->size)
		return ipm_errf(m->err, -EIO, "%s: file was truncated to %lld bytes", m->path,
				(long long)st.st_size);
	if (st.st_nlink == 0)
		return ipm_errf(m->err, -EIO, "%s: file was removed", m->path);
	if ((uint64_t)st.st_size > m->size)
		return ipm_errf(m->err, -EIO, "%s: size %lld, expected %zu: file has grown",
				m->path, (long long)st.st_size, m->size);
	return ipm_errf(m->err, -EIO, "%s: bus error while accessing the mapping", m->path);
}

int ipm_data_remap(ipm_map *m)
{
	struct stat a, b;
	void *p;
	int fd = ipm_data_open(m->err, m->path, m->size, m->role), rc;

	if (fd < 0)
		return fd;
	/* The same file, whole again: the mapping we have works again. */
	if (m->data_fd >= 0 && fstat(fd, &a) == 0 && fstat(m->data_fd, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		close(fd);
		return 0;
	}
	/* At the same address, so pointers from ipm_map_data() stay good. */
	p = mmap(m->mapped, ipm_data_maplen(m->size),
		 m->role == IPM_READER ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 fd, 0);
	if (p == MAP_FAILED) {
		rc = ipm_errf(m->err, -errno, "cannot map %s again: %s", m->path, strerror(errno));
		close(fd);
		return rc;
	}
	if (m->data_fd >= 0)
		close(m->data_fd);
	m->data_fd = fd;
	ipm_data_ident(m);
	return 0;
}

void ipm_data_ident(ipm_map *m)
{
	struct stat st;

	if (m->data_fd < 0 || fstat(m->data_fd, &st) < 0)
		return;
	__atomic_store_n(&m->dev, st.st_dev, __ATOMIC_RELAXED);
	__atomic_store_n(&m->ino, st.st_ino, __ATOMIC_RELAXED);
}

uint64_t ipm_data_id(const ipm_map *m)
{
	uint64_t id = (uint64_t)__atomic_load_n(&m->ino, __ATOMIC_RELAXED) * 0x9e3779b97f4a7c15u ^
		      (uint64_t)__atomic_load_n(&m->dev, __ATOMIC_RELAXED);

	return id ? id : 1;
}

int ipm_data_repaired(ipm_map *m)
{
	struct stat st;

	if (m->data_fd >= 0 && fstat(m->data_fd, &st) == 0 && st.st_nlink > 0 &&
	    (uint64_t)st.st_size == m->size)
		return 1;
	return ipm_data_remap(m) == 0;
}
