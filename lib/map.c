/*
 * map.c - instance files, roles, creation and checks, the mapping. See ipmmap.h.
 *
 * Who may see what, and when:
 * - A manager makes or rewrites the .mmap file only while it holds the write
 *   lock; editors and readers check a file that fails their checks again
 *   under the read lock (see open_existing()). So nobody takes a file that is
 *   half-initialised.
 * - A new file (or one of the wrong size) is written in full under a
 *   temporary name in the same directory and renamed over the old one: the
 *   old inode is never truncated, so a process that still has it mapped does
 *   not fault (SIGBUS); it simply keeps the old inode until it re-opens.
 * - A file of the right size is rewritten in place with pwrite(), never
 *   truncated, for the same reason.
 * - Files and directories that do not exist are made with the mode of the
 *   options, 0600 by default, set exactly (the umask does not take from
 *   it), directories with search added where the mode gives read. Python's
 *   open() and os.makedirs() leave it to the umask (0644 and 0755 with the
 *   usual 022); we differ on purpose, since shared state readable by every
 *   local user is a leak nobody asked for (issue 7), and say in ipmmap.h how
 *   to share with other users. Existing files and directories keep theirs.
 * - The handle holds no lock when ipm_map_open() returns.
 * - The lock file also holds the control block of change notification
 *   (notify.c) and the undo record (undo.c); every handle maps both, set up
 *   while the handle holds the lock when it can, though setting them up
 *   needs no lock. A manager undoes a dead writer's section as it opens.
 * - The handle keeps the .mmap file open, to say what happened to it when
 *   an access faults and to notice when it has been made anew (fault.c,
 *   datafile.c).
 */
#include "ipmmap_i.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The longest file name made from "Name_tag" is Python's as much as ours:
 * "Name_tag.lockfile" adds 10 bytes to the two parts. (The temporary file
 * ".Name_tag.xxxxxx" adds 9.) */
#define NAME_EXTRA 10

ipm_map *ipm_map_new(const ipm_schema *s)
{
	ipm_map *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->schema = s;
	m->lf.fd = -1;
	m->data_fd = -1;
	return m;
}

void ipm_map_free(ipm_map *m)
{
	if (!m)
		return;
	ipm_map_close(m);
	ipm_schema_free(m->own);
	free(m);
}

void ipm_map_close(ipm_map *m)
{
	int lock_fd;

	if (!m)
		return;
	ipm_lock_drop(m);
	lock_fd = m->lf.fd;
	ipm_lockfile_detach(&m->lf);
	if (m->mapped)
		munmap(m->mapped, ipm_data_maplen(m->size));
	m->data = NULL;
	m->mapped = NULL;
	m->canary = NULL;
	m->size = 0;
	if (m->data_fd >= 0)
		close(m->data_fd);
	m->data_fd = -1;
	if (lock_fd >= 0)
		close(lock_fd);
	free(m->path);
	free(m->lock_path);
	m->path = NULL;
	m->lock_path = NULL;
	m->type = NULL;
}

const char *ipm_map_errmsg(const ipm_map *m)
{
	return m ? m->err : "";
}

enum ipm_role ipm_map_role(const ipm_map *m)
{
	return m && m->type ? m->role : 0;
}

const ipm_type *ipm_map_type(const ipm_map *m)
{
	return m ? m->type : NULL;
}

const char *ipm_map_path(const ipm_map *m)
{
	return m ? m->path : NULL;
}

const char *ipm_map_lock_path(const ipm_map *m)
{
	return m ? m->lock_path : NULL;
}

void *ipm_map_data(ipm_map *m)
{
	if (!m)
		return NULL;
	if (m->data && m->role != IPM_READER)
		ipm_lock_raw(m); /* writes through it are not declared */
	return m->data;
}

const void *ipm_map_view(const ipm_map *m)
{
	return m ? m->data : NULL;
}

size_t ipm_map_size(const ipm_map *m)
{
	return m && m->mapped ? m->size : 0;
}

static int cleared_fn(ipm_map *m, void *ctx)
{
	int16_t code;

	memcpy(&code, m->data + IPM_HDR_CODE_OFF, sizeof(code));
	*(int *)ctx = code == 0;
	return 0;
}

int ipm_map_cleared(ipm_map *m)
{
	int cleared = 0, rc;

	if (!m || !m->mapped)
		return m ? ipm_errf(m->err, -EBADF, "cannot look at the header: map is not open")
			 : -EBADF;
	rc = ipm_guarded(m, cleared_fn, &cleared, IPM_VERIFY);
	return rc < 0 ? rc : cleared;
}

/* A name or tag becomes part of a file name: keep it inside the directory. */
static int check_part(ipm_map *m, const char *what, const char *s)
{
	char q[IPM_QUOTE_LEN];
	const char *p;

	if (strchr(s, '/'))
		return ipm_errf(m->err, -EINVAL, "bad %s '%s': contains '/'", what,
				ipm_quote(s, strlen(s), q));
	if (strstr(s, ".."))
		return ipm_errf(m->err, -EINVAL, "bad %s '%s': contains '..'", what,
				ipm_quote(s, strlen(s), q));
	for (p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return ipm_errf(m->err, -EINVAL,
					"bad %s '%s': contains a control character", what,
					ipm_quote(s, strlen(s), q));
	return 0;
}

/*
 * Python IPMMAP names its files Path(f"{name}_{tag}").with_suffix(".mmap"),
 * and with_suffix() replaces whatever follows the last dot of the name: tag
 * "v1.2" gives Name_v1.mmap, the file of tag "v1", and "v1.2" and "v1.3"
 * share it. A trailing dot is kept before Python 3.14 and cut from 3.14 on.
 * So a tag with a dot names another file on each side, and is refused with
 * the file Python uses for it. Every other tag (spaces, UTF-8, '-', '~', the
 * empty tag) gives the same names on both sides; '/', ".." and control
 * characters are refused before this (check_part()).
 */
static int check_tag_dot(ipm_map *m, const char *name, const char *tag)
{
	const char *dot = strrchr(tag, '.');
	int cut = dot ? (int)(dot - tag) : 0;
	char q[IPM_QUOTE_LEN];

	if (!dot)
		return 0;
	ipm_quote(tag, strlen(tag), q);
	if (!dot[1])
		return ipm_errf(m->err, -EINVAL,
				"bad tag '%s': Python IPMMAP uses %s_%s.mmap for it before Python "
				"3.14, and %s_%.*s.mmap from 3.14",
				q, name, tag, name, cut, tag);
	if (memchr(tag, '.', (size_t)cut))
		return ipm_errf(m->err, -EINVAL,
				"bad tag '%s': Python IPMMAP cuts the file name at its last dot "
				"and uses %s_%.*s.mmap, which no tag reaches here",
				q, name, cut, tag);
	return ipm_errf(m->err, -EINVAL,
			"bad tag '%s': Python IPMMAP cuts the file name at its last dot and "
			"uses %s_%.*s.mmap, the file of tag '%.*s'",
			q, name, cut, tag, cut, tag);
}

/* "<dir>/<pre><name>_<tag><ext>", without doubling the directory's slash. */
static char *make_path(const char *dir, const char *pre, const char *name, const char *tag,
		       const char *ext)
{
	size_t dl = strlen(dir);
	char *p;

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	if (asprintf(&p, "%.*s%s%s%s_%s%s", (int)dl, dir, dir[dl - 1] == '/' ? "" : "/", pre, name,
		     tag, ext) < 0)
		return NULL;
	return p;
}

/* Mode of new files, and of new directories: search where it gives read. */
static mode_t file_mode(const struct ipm_open_opts *o)
{
	return o->mode ? o->mode & 07777 : IPM_DEFAULT_MODE;
}

static mode_t dir_mode(const struct ipm_open_opts *o)
{
	mode_t f = file_mode(o);

	return f | (f & 0444) >> 2;
}

/* The group asked for, or (gid_t)-1 for the default. */
static gid_t group_of(const struct ipm_open_opts *o)
{
	return (o->flags & IPM_GROUP) ? o->gid : (gid_t)-1;
}

/* A file or directory we just made gets exactly its mode, and the group
 * asked for (fd < 0: by path). */
static int set_owner(ipm_map *m, int fd, const char *path, mode_t mode,
		     const struct ipm_open_opts *o)
{
	return ipm_set_owner(m->err, fd, path, mode, group_of(o));
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* mkdir -p: every missing component, with dir_mode(). */
static int make_dirs(ipm_map *m, const char *dir, const struct ipm_open_opts *o)
{
	char *copy, *p;
	int rc = 0;

	if (is_dir(dir))
		return 0;
	copy = strdup(dir);
	if (!copy)
		return ipm_errf(m->err, -ENOMEM, "out of memory");
	for (p = copy + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(copy, dir_mode(o)) == 0) {
			rc = set_owner(m, -1, copy, dir_mode(o), o);
			if (rc < 0)
				break;
		} else if (errno != EEXIST && !is_dir(copy)) {
			rc = ipm_errf(m->err, -errno, "cannot create directory %s: %s", copy,
				      strerror(errno));
			break;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	free(copy);
	return rc;
}

/* The whole initial contents: zeros, header_code, time_stamp = now. Written
 * rather than left as a hole, so a full disk shows here and not as SIGBUS. */
static int write_initial(ipm_map *m, int fd, const char *path, size_t size)
{
	unsigned char *buf = calloc(1, size);
	int16_t code = IPM_HEADER_CODE;
	double now = ipm_now_realtime();
	size_t done = 0;
	int rc = 0;

	if (!buf)
		return ipm_errf(m->err, -ENOMEM, "out of memory");
	memcpy(buf + IPM_HDR_CODE_OFF, &code, sizeof(code));
	memcpy(buf + IPM_HDR_STAMP_OFF, &now, sizeof(now));
	while (done < size) {
		ssize_t n = pwrite(fd, buf + done, size - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = ipm_errf(m->err, n < 0 ? -errno : -EIO, "cannot write %s: %s", path,
				      n < 0 ? strerror(errno) : "short write");
			break;
		}
		done += (size_t)n;
	}
	free(buf);
	return rc;
}

/* A new file under a temporary name, written in full, renamed over path,
 * with its mode and group set before anyone can open it by that name. */
static int create_file(ipm_map *m, const char *dir, const char *name, const char *tag,
		       const char *path, size_t size, const struct ipm_open_opts *o)
{
	static unsigned counter;
	struct timespec ts;
	char *tmp = NULL;
	int fd = -1, rc, i;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (i = 0; i < 100 && fd < 0; i++) {
		unsigned x = ((unsigned)getpid() * 2654435761u) ^ (unsigned)ts.tv_nsec ^
			     (__atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED) * 40503u);
		char suffix[16];

		free(tmp);
		snprintf(suffix, sizeof(suffix), ".%06x", x & 0xffffff);
		/* Hidden, so nobody listing *.mmap takes it for an instance. */
		tmp = make_path(dir, ".", name, tag, suffix);
		if (!tmp)
			return ipm_errf(m->err, -ENOMEM, "out of memory");
		fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, file_mode(o));
		if (fd < 0 && errno != EEXIST) {
			rc = ipm_errf(m->err, -errno, "cannot create %s: %s", tmp, strerror(errno));
			free(tmp);
			return rc;
		}
	}
	if (fd < 0) {
		rc = ipm_errf(m->err, -EEXIST, "cannot create a temporary file for %s", path);
		free(tmp);
		return rc;
	}
	rc = set_owner(m, fd, tmp, file_mode(o), o);
	if (rc == 0)
		rc = write_initial(m, fd, tmp, size);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = ipm_errf(m->err, -errno, "cannot rename %s to %s: %s", tmp, path,
			      strerror(errno));
	if (rc < 0) {
		unlink(tmp);
		close(fd);
		fd = rc;
	}
	free(tmp);
	return fd;
}

static int wbegin_fn(void *arg)
{
	ipm_ctl_wbegin(arg);
	return 0;
}

static int wend_fn(void *arg)
{
	ipm_ctl_wend(arg);
	return 0;
}

/* What a manager did to the file (manager_prepare()). */
enum made { KEPT, REWRITTEN, RENAMED };

/* The manager's part, under the write lock: an fd on a good file; *made
 * says whether it wrote the contents, in place or as a new file. */
static int manager_prepare(ipm_map *m, const char *dir, const char *name, const char *tag,
			   const char *path, size_t size, const struct ipm_open_opts *o,
			   enum made *made, int lock_fd, const char *lock_path)
{
	void *addr;
	struct stat st;
	int16_t code;
	int fd, rc;

	fd = open(path, O_RDWR | IPM_SAFE_OPEN);
	if (fd < 0 && errno != ENOENT)
		return ipm_open_failed(m->err, "", path);
	*made = RENAMED;
	if (fd < 0)
		return create_file(m, dir, name, tag, path, size, o);
	if (fstat(fd, &st) < 0) {
		rc = ipm_errf(m->err, -errno, "cannot stat %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = ipm_errf(m->err, -EINVAL, "cannot map %s: not a regular file", path);
		goto fail;
	}
	/* The old bytes may be all someone has: replaced only when forced. */
	if ((uint64_t)st.st_size != size && !(o->flags & IPM_FORCE)) {
		rc = ipm_errf(m->err, -EINVAL,
			      "cannot map %s: size %lld, expected %zu (force re-creates it, and "
			      "its bytes are lost)",
			      path, (long long)st.st_size, size);
		goto fail;
	}
	if ((uint64_t)st.st_size != size) {
		close(fd);
		return create_file(m, dir, name, tag, path, size, o);
	}
	if (pread(fd, &code, sizeof(code), IPM_HDR_CODE_OFF) != (ssize_t)sizeof(code)) {
		rc = ipm_errf(m->err, -EIO, "cannot read %s", path);
		goto fail;
	}
	if (code == IPM_HEADER_CODE && !(o->flags & IPM_FORCE)) {
		*made = KEPT;
		return fd;
	}
	/* Cleared by Python (header_code 0, see datafile.c): what was written
	 * since is kept, and the code comes back. */
	if (code == 0 && !(o->flags & IPM_FORCE)) {
		code = IPM_HEADER_CODE;
		*made = KEPT;
		if (pwrite(fd, &code, sizeof(code), IPM_HDR_CODE_OFF) == (ssize_t)sizeof(code))
			return fd;
		rc = ipm_errf(m->err, -errno, "cannot write %s: %s", path, strerror(errno));
		goto fail;
	}
	/* Rewritten in place, where lock-free readers may be copying: the
	 * write sequence count of the lock file (attached now for it) is odd
	 * while it is written. A cut page has no count to tell. */
	*made = REWRITTEN;
	rc = ipm_lockfile_attach(&m->lf, lock_fd, lock_path, size, fd, m->err);
	if (rc < 0)
		goto fail;
	ipm_guard_run(wbegin_fn, &m->lf, &rc, &addr);
	rc = write_initial(m, fd, path, size);
	ipm_guard_run(wend_fn, &m->lf, &(int){0}, &addr);
	if (rc == 0)
		return fd;
fail:
	close(fd);
	return rc;
}

static int open_section_fn(ipm_map *m, void *ctx)
{
	*(bool *)ctx = m->lf.undo && ipm_undo_dead(m->lf.undo, m->size);
	return 0;
}

/* Whether the undo record holds an open section: a dead writer's, or under
 * no lock perhaps a live one's. One guarded load. */
static bool section_open(ipm_map *m)
{
	bool open = false;

	return ipm_guarded(m, open_section_fn, &open, 0) == 0 && open;
}

/*
 * A manager (under the write lock) or an editor opening: a dead writer's
 * section is undone now rather than at the next lock, since Python readers
 * read the file and not the saved copy. An editor tries the write lock once
 * (in place of the read lock open_existing() may hold) and leaves the
 * section to later if anyone else holds a lock. 0, or -EIO.
 */
static int undo_at_open(ipm_map *m)
{
	if (!section_open(m))
		return 0;
	if (m->role != IPM_MANAGER && ipm_lock_fd(m->lf.fd, F_WRLCK, 0) < 0)
		return 0;
	return ipm_lock_recover(m) < 0 ? -EIO : 0;
}

int ipm_map_recover(ipm_map *m, int timeout_ms)
{
	uint64_t before;
	int rc;

	if (!m || !m->type)
		return m ? ipm_errf(m->err, -EBADF, "cannot recover: map is not open") : -EBADF;
	if (m->role == IPM_READER)
		return ipm_errf(m->err, -EACCES,
				"a reader handle cannot undo a dead writer's update");
	if (m->held != IPM_HELD_NONE)
		return ipm_errf(m->err, -EBUSY, "cannot recover: the handle holds a lock");
	if (!section_open(m))
		return 0;
	/* Taking the write lock undoes a dead section (lock.c); the section
	 * it opens is closed again at once. */
	before = m->undone;
	rc = ipm_lock_write(m, timeout_ms);
	if (rc < 0)
		return rc;
	rc = ipm_unlock(m);
	if (rc < 0)
		return rc;
	return m->undone > before;
}

/*
 * The mode (see ipmmap.h, "Modes"): a manager given IPM_NATIVE or
 * IPM_COMPAT writes it into the control page while it still holds the write
 * lock, with the file whole; every handle then learns what the page says.
 * Without a flag the page keeps what it holds (0 for a new lock file: compat).
 */
static int mode_fn(ipm_map *m, void *ctx)
{
	uint32_t *mode = ctx;

	if (*mode)
		ipm_ctl_mode_set(&m->lf, *mode);
	*mode = ipm_ctl_mode(&m->lf);
	if (*mode)
		m->mode = *mode; /* kept for a page cut later (lock.c) */
	return 0;
}

static int nothing_fn(ipm_map *m, void *ctx)
{
	(void)m;
	(void)ctx;
	return 0;
}

static void mode_at_open(ipm_map *m, enum ipm_role role, unsigned flags)
{
	uint32_t want = 0;

	if (role == IPM_MANAGER && (flags & IPM_NATIVE))
		want = IPM_MODE_NATIVE;
	else if (role == IPM_MANAGER && (flags & IPM_COMPAT))
		want = IPM_MODE_COMPAT;
	m->mode = 0;
	ipm_guarded(m, mode_fn, &want, 0); /* a cut lock file: compat, said later */
}

int ipm_map_native(ipm_map *m)
{
	uint32_t want = 0;
	int rc;

	if (!m || !m->type)
		return m ? ipm_errf(m->err, -EBADF, "cannot read the mode: map is not open")
			 : -EBADF;
	rc = ipm_guarded(m, mode_fn, &want, 0);
	if (rc < 0)
		return rc;
	return want == IPM_MODE_NATIVE;
}

static int wait_failed(ipm_map *m, int rc, const char *lock_path)
{
	return ipm_errf(m->err, rc, "cannot lock %s: %s", lock_path,
			rc == -EINTR ? "interrupted" : strerror(-rc));
}

/*
 * Editors and readers check the file under the read lock when they can get it
 * at once. When a writer holds the lock, a file that passes the checks is
 * taken as it is: a manager only ever rewrites a file of the right size in
 * place with the right header_code, and the bytes past the header are read
 * under locks later. Only a file that fails them is checked again after
 * waiting, since a manager may be creating or repairing it right now. So
 * opening does not wait behind an editor that holds the write lock for long.
 * Nor for ever behind one that never lets go: after OPEN_WAIT_MS the check's
 * own failure stands (a manager takes far less to make a file), and
 * ipm_lock_signal() ends the wait at once with -EINTR.
 */
#define OPEN_WAIT_MS 1000

static int open_existing(ipm_map *m, int lock_fd, const char *lock_path, const char *path,
			 size_t size, enum ipm_role role, int *fdp)
{
	int rc = ipm_lock_fd(lock_fd, F_RDLCK, 0), bad;

	if (rc < 0 && rc != -EAGAIN)
		return wait_failed(m, rc, lock_path);
	*fdp = ipm_data_open(m->err, path, size, role);
	if (*fdp >= 0 || rc == 0)
		return *fdp < 0 ? *fdp : 0;
	bad = *fdp;
	rc = ipm_lock_fd(lock_fd, F_RDLCK, OPEN_WAIT_MS);
	if (rc == -ETIMEDOUT)
		return bad; /* m->err still says why the file failed */
	if (rc < 0)
		return wait_failed(m, rc, lock_path);
	*fdp = ipm_data_open(m->err, path, size, role);
	return *fdp < 0 ? *fdp : 0;
}

int ipm_map_open(ipm_map *m, const char *name, const char *tag, enum ipm_role role,
		 const struct ipm_open_opts *opts)
{
	static const struct ipm_open_opts defaults;
	const char *mmap_dir, *lock_dir;
	const struct ipm_type *t;
	char *path = NULL, *lock_path = NULL;
	void *data = MAP_FAILED;
	int lock_fd = -1, fd = -1, rc;
	enum made made = KEPT;
	size_t size;

	if (!m)
		return -EINVAL;
	if (m->type)
		return ipm_errf(m->err, -EBUSY, "handle already open on %s", m->path);
	m->err[0] = '\0';
	if (!opts)
		opts = &defaults;
	if (!tag)
		tag = "";
	if (!name || !*name)
		return ipm_errf(m->err, -EINVAL, "no structure name");
	if (role != IPM_MANAGER && role != IPM_EDITOR && role != IPM_READER)
		return ipm_errf(m->err, -EINVAL, "unknown role %d", (int)role);
	rc = check_part(m, "structure name", name);
	if (rc == 0)
		rc = check_part(m, "tag", tag);
	if (rc == 0)
		rc = check_tag_dot(m, name, tag);
	if (rc < 0)
		return rc;
	if (strlen(name) + strlen(tag) + NAME_EXTRA > NAME_MAX)
		return ipm_errf(m->err, -EINVAL, "structure name and tag too long for a file name");
	if (!m->schema)
		return ipm_errf(m->err, -EINVAL, "handle has no schema");
	t = ipm_schema_find(m->schema, name);
	if (!t)
		return ipm_errf(m->err, -ENOENT, "no structure '%s' in the schema", name);
	if (!ipm_type_mappable(t))
		return ipm_errf(m->err, -EINVAL,
				"structure '%s' cannot be mapped: its first field is not %s", name,
				IPM_HEADER_STRUCT);
	if (opts->fingerprint && opts->fingerprint != ipm_type_fingerprint(t))
		return ipm_errf(m->err, -EINVAL,
				"structure '%s' has layout fingerprint 0x%016" PRIx64
				", expected 0x%016" PRIx64,
				name, ipm_type_fingerprint(t), opts->fingerprint);
	size = ipm_type_size(t);
	mmap_dir = opts->mmap_dir && *opts->mmap_dir ? opts->mmap_dir : IPM_DEFAULT_MMAP_DIR;
	lock_dir = opts->lock_dir && *opts->lock_dir ? opts->lock_dir : IPM_DEFAULT_LOCK_DIR;

	path = make_path(mmap_dir, "", name, tag, ".mmap");
	lock_path = make_path(lock_dir, "", name, tag, ".lockfile");
	if (!path || !lock_path) {
		rc = ipm_errf(m->err, -ENOMEM, "out of memory");
		goto fail;
	}
	rc = make_dirs(m, lock_dir, opts);
	if (rc == 0 && role == IPM_MANAGER)
		rc = make_dirs(m, mmap_dir, opts);
	if (rc < 0)
		goto fail;
	lock_fd = ipm_lockfile_open(lock_path, path, file_mode(opts), group_of(opts),
				    role == IPM_READER ? IPM_LF_READER : 0, m->err);
	if (lock_fd < 0) {
		rc = lock_fd;
		goto fail;
	}

	if (role == IPM_MANAGER) {
		/* Waits: creating needs everyone else out. */
		rc = ipm_lock_fd(lock_fd, F_WRLCK, -1);
		if (rc < 0) {
			rc = wait_failed(m, rc, lock_path);
			goto fail;
		}
		/* Before the file appears: see stored.c. */
		rc = ipm_stored_put(m, t, name, tag, path, lock_dir, opts);
		fd = rc < 0 ? rc : manager_prepare(m, mmap_dir, name, tag, path, size, opts, &made,
						   lock_fd, lock_path);
		rc = fd < 0 ? fd : ipm_data_check(m->err, fd, path, size);
	} else {
		rc = open_existing(m, lock_fd, lock_path, path, size, role, &fd);
		if (rc == 0)
			rc = ipm_stored_check(m, t, name, tag, lock_dir);
	}
	if (rc < 0)
		goto fail;
	/* Whole pages: the tail of the last one holds the size canary. */
	data = mmap(NULL, ipm_data_maplen(size),
		    role == IPM_READER ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (data == MAP_FAILED) {
		rc = ipm_errf(m->err, -errno, "cannot map %s: %s", path, strerror(errno));
		goto fail;
	}
	/* From here the handle owns it all, so that guarded accesses can name
	 * the files, and ipm_map_close() undoes it on failure. */
	m->role = role;
	m->path = path;
	m->lock_path = lock_path;
	m->data_fd = fd;
	m->held = IPM_HELD_NONE;
	m->mapped = m->data = data;
	m->size = size;
	m->size_checks = 0;
	m->canary = ipm_data_canary(m);
	ipm_follow_init(m);
	/* (A manager that rewrote the file in place attached it already.) */
	rc = m->lf.base ? 0 : ipm_lockfile_attach(&m->lf, lock_fd, lock_path, size, fd, m->err);
	if (rc < 0)
		m->lf.fd = lock_fd; /* for ipm_map_close() to close */
	/* Still under the write lock: a file made anew has no open section
	 * (closing it announces the new file to waiters; a renamed one tells
	 * every handle to map it, follow.c); a kept one may be a dead writer's
	 * half-written update (undoing it announces it). */
	if (rc == 0 && made == RENAMED)
		ipm_follow_renamed(m);
	if (rc == 0 && role == IPM_MANAGER && made != KEPT)
		ipm_lock_discard(m);
	else if (rc == 0 && role != IPM_READER)
		rc = undo_at_open(m);
	if (rc == 0)
		mode_at_open(m, role, opts->flags);
	/* A writer's first size check sets the canary, which readers (whose
	 * own check costs an fstat() while it is missing) then trust. */
	if (rc == 0 && role != IPM_READER)
		ipm_guarded(m, nothing_fn, NULL, IPM_VERIFY);
	if (rc == 0) {
		rc = ipm_lock_fd(lock_fd, F_UNLCK, 0);
		if (rc < 0)
			rc = ipm_errf(m->err, rc, "cannot unlock %s: %s", lock_path, strerror(-rc));
	}
	if (rc < 0) {
		/* Closing the only descriptor of the lock file drops its lock. */
		ipm_map_close(m);
		return rc;
	}
	m->type = t;
	return 0;

fail:
	ipm_lockfile_detach(&m->lf); /* a manager's, attached to rewrite in place */
	if (data != MAP_FAILED)
		munmap(data, ipm_data_maplen(size));
	if (fd >= 0)
		close(fd);
	/* Closing the only descriptor of the open file drops its lock too. */
	if (lock_fd >= 0)
		close(lock_fd);
	free(path);
	free(lock_path);
	return rc;
}
