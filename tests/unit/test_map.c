/*
 * test_map.c - instance files, roles, creation, checks and the mapping.
 * Every test works in its own temporary directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

static const char schema_text[] = UNIT_DEMO_TEXT;

#define DEMO "DemoMmapStructure"
#define DEMO_SIZE 688

struct fix {
	ipm_schema *s;		   /* the demo schema */
	char dir[64];		   /* this test's temporary directory */
	char mmap_dir[96];	   /* <dir>/mmap */
	char lock_dir[96];	   /* <dir>/locks */
	struct ipm_open_opts opts; /* pointing at the two */
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->s = unit_schema(schema_text, "demo");
	if (!f->s || unit_mkdtemp(f->dir, sizeof(f->dir), "map") < 0)
		return -1;
	snprintf(f->mmap_dir, sizeof(f->mmap_dir), "%s/mmap", f->dir);
	snprintf(f->lock_dir, sizeof(f->lock_dir), "%s/locks", f->dir);
	f->opts.mmap_dir = f->mmap_dir;
	f->opts.lock_dir = f->lock_dir;
	umask(022);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	unit_rm_tree(f->dir);
	ipm_schema_free(f->s);
	free(f);
	return 0;
}

static ipm_map *open_ok(struct fix *f, const char *name, const char *tag, enum ipm_role role,
			const struct ipm_open_opts *o)
{
	ipm_map *m = unit_open(f->s, name, tag, role, o);

	if (!m)
		fail_msg("cannot open %s", name);
	return m;
}

static void demo_path(struct fix *f, char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "%s/" DEMO "_%s.mmap", f->mmap_dir, tag);
}

static double realtime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int16_t header_code(const void *data)
{
	int16_t c;

	memcpy(&c, data, sizeof(c));
	return c;
}

static double time_stamp(const void *data)
{
	double t;

	memcpy(&t, (const char *)data + 8, sizeof(t));
	return t;
}

static int32_t data_int(const void *data)
{
	int32_t v;

	memcpy(&v, (const char *)data + 16, sizeof(v));
	return v;
}

static void set_data_int(void *data, int32_t v)
{
	memcpy((char *)data + 16, &v, sizeof(v));
}

/* Writes a file of size bytes, all zero except header_code = code. */
static void write_file(const char *path, size_t size, int16_t code)
{
	unsigned char *buf = calloc(1, size);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_non_null(buf);
	assert_true(fd >= 0);
	memcpy(buf, &code, sizeof(code));
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	close(fd);
	free(buf);
}

static ino_t inode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

static void manager_creates(void **state)
{
	struct fix *f = *state;
	double before = realtime(), after;
	char path[160], lock[160];
	const unsigned char *p;
	struct stat st;
	ipm_map *m;
	size_t i;
	DIR *d;
	struct dirent *e;
	int n = 0;

	m = open_ok(f, DEMO, "t", IPM_MANAGER, &f->opts);
	after = realtime();
	demo_path(f, path, sizeof(path), "t");
	snprintf(lock, sizeof(lock), "%s/" DEMO "_t.lockfile", f->lock_dir);
	assert_string_equal(ipm_map_path(m), path);
	assert_string_equal(ipm_map_lock_path(m), lock);
	assert_int_equal(ipm_map_role(m), IPM_MANAGER);
	assert_ptr_equal(ipm_map_type(m), ipm_schema_find(f->s, DEMO));
	assert_int_equal(ipm_map_size(m), DEMO_SIZE);
	assert_int_equal(ipm_lock_held(m), 0);

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, DEMO_SIZE);
	assert_int_equal(st.st_mode & 07777, 0600); /* IPM_DEFAULT_MODE, whatever the umask */
	assert_int_equal(stat(lock, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(f->mmap_dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	p = ipm_map_data(m);
	assert_int_equal(header_code(p), IPM_HEADER_CODE);
	assert_true(time_stamp(p) >= before - 0.001 && time_stamp(p) <= after + 0.001);
	for (i = 2; i < 8; i++)
		assert_int_equal(p[i], 0);
	for (i = 16; i < DEMO_SIZE; i++)
		assert_int_equal(p[i], 0);

	/* No temporary file left behind. */
	d = opendir(f->mmap_dir);
	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++, assert_string_equal(e->d_name, DEMO "_t.mmap");
	closedir(d);
	assert_int_equal(n, 1);
	ipm_map_free(m);
}

static void manager_keeps_existing(void **state)
{
	struct fix *f = *state;
	ipm_map *m1, *m2;
	double ts;

	m1 = open_ok(f, DEMO, "", IPM_MANAGER, &f->opts);
	set_data_int(ipm_map_data(m1), 42);
	ts = time_stamp(ipm_map_data(m1));
	m2 = open_ok(f, DEMO, NULL, IPM_MANAGER, &f->opts);
	assert_string_equal(ipm_map_path(m1), ipm_map_path(m2));
	assert_int_equal(data_int(ipm_map_data(m2)), 42);
	assert_true(time_stamp(ipm_map_data(m2)) == ts);
	ipm_map_free(m2);
	ipm_map_free(m1);
}

static void force_rewrites_in_place(void **state)
{
	struct fix *f = *state;
	struct ipm_open_opts o = f->opts;
	ipm_map *m1, *m2;
	char path[160];
	ino_t ino;
	double ts;

	m1 = open_ok(f, DEMO, "", IPM_MANAGER, &f->opts);
	demo_path(f, path, sizeof(path), "");
	ino = inode_of(path);
	set_data_int(ipm_map_data(m1), 42);
	ts = time_stamp(ipm_map_data(m1));
	o.flags = IPM_FORCE;
	m2 = open_ok(f, DEMO, "", IPM_MANAGER, &o);
	assert_int_equal(inode_of(path), ino);
	/* The older mapping sees the rewrite: same file, same pages. */
	assert_int_equal(data_int(ipm_map_data(m1)), 0);
	assert_int_equal(header_code(ipm_map_data(m1)), IPM_HEADER_CODE);
	assert_true(time_stamp(ipm_map_data(m1)) >= ts);
	ipm_map_free(m2);
	ipm_map_free(m1);
}

static void wrong_size_refused(void **state)
{
	struct fix *f = *state;
	ipm_map *m = ipm_map_new(f->s);
	char path[160], want[256];
	unsigned char *old;
	ino_t ino;
	int fd;

	assert_int_equal(mkdir(f->mmap_dir, 0755), 0);
	demo_path(f, path, sizeof(path), "");
	write_file(path, 600, IPM_HEADER_CODE);
	snprintf(want, sizeof(want), "cannot map %s: size 600, expected 688", path);
	assert_int_equal(ipm_map_open(m, DEMO, "", IPM_EDITOR, &f->opts), -EINVAL);
	assert_string_equal(ipm_map_errmsg(m), want);
	assert_null(ipm_map_data(m));
	assert_null(ipm_map_path(m));
	assert_int_equal(ipm_map_open(m, DEMO, "", IPM_READER, &f->opts), -EINVAL);
	assert_string_equal(ipm_map_errmsg(m), want);

	/* A manager does not destroy it unless forced: the old bytes may be
	 * all someone has (issue 11). */
	ino = inode_of(path);
	snprintf(want, sizeof(want),
		 "cannot map %s: size 600, expected 688 (force re-creates it, and its bytes are lost)",
		 path);
	assert_int_equal(ipm_map_open(m, DEMO, "", IPM_MANAGER, &f->opts), -EINVAL);
	assert_string_equal(ipm_map_errmsg(m), want);
	assert_true(inode_of(path) == ino);

	/* Forced, it replaces it with a new inode; a process that has the old
	 * one mapped keeps reading it without a fault. */
	f->opts.flags |= IPM_FORCE;
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	old = mmap(NULL, 600, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(old != MAP_FAILED);
	close(fd);
	assert_int_equal(ipm_map_open(m, DEMO, "", IPM_MANAGER, &f->opts), 0);
	assert_true(inode_of(path) != ino);
	f->opts.flags &= ~IPM_FORCE;
	assert_int_equal(header_code(old), IPM_HEADER_CODE);
	assert_int_equal(old[599], 0);
	munmap(old, 600);
	ipm_map_close(m);
	assert_int_equal(ipm_map_open(m, DEMO, "", IPM_READER, &f->opts), 0);
	assert_int_equal(header_code(ipm_map_data(m)), IPM_HEADER_CODE);
	ipm_map_free(m);
}

static void bad_magic_refused(void **state)
{
	struct fix *f = *state;
	ipm_map *m = ipm_map_new(f->s);
	char path[160], want[256];
	ino_t ino;

	assert_int_equal(mkdir(f->mmap_dir, 0755), 0);
	demo_path(f, path, sizeof(path), "");
	/* Zero is a cleared instance (cleared_instance_accepted); any other
	 * wrong code is refused. */
	write_file(path, DEMO_SIZE, (int16_t)0xbeef);
	snprintf(want, sizeof(want), "%s: header_code 0xbeef, expected 0x1128", path);
	assert_int_equal(ipm_map_open(m, DEMO, "", IPM_EDITOR, &f->opts), -EINVAL);
	assert_string_equal(ipm_map_errmsg(m), want);
	assert_int_equal(ipm_map_open(m, DEMO, "", IPM_READER, &f->opts), -EINVAL);
	assert_string_equal(ipm_map_errmsg(m), want);
	write_file(path, DEMO_SIZE, 1);
	snprintf(want, sizeof(want), "%s: header_code 0x0001, expected 0x1128", path);
	assert_int_equal(ipm_map_open(m, DEMO, "", IPM_READER, &f->opts), -EINVAL);
	assert_string_equal(ipm_map_errmsg(m), want);

	/* Without force, a manager repairs it in place. */
	ino = inode_of(path);
	assert_int_equal(ipm_map_open(m, DEMO, "", IPM_MANAGER, &f->opts), 0);
	assert_int_equal(inode_of(path), ino);
	assert_int_equal(header_code(ipm_map_data(m)), IPM_HEADER_CODE);
	ipm_map_free(m);
}

static void missing_file(void **state)
{
	struct fix *f = *state;
	ipm_map *m = ipm_map_new(f->s);
	char path[160], want[256];

	demo_path(f, path, sizeof(path), "x");
	snprintf(want, sizeof(want), "cannot open %s: No such file or directory", path);
	assert_int_equal(ipm_map_open(m, DEMO, "x", IPM_EDITOR, &f->opts), -ENOENT);
	assert_string_equal(ipm_map_errmsg(m), want);
	assert_int_equal(ipm_map_open(m, DEMO, "x", IPM_READER, &f->opts), -ENOENT);
	assert_string_equal(ipm_map_errmsg(m), want);
	ipm_map_free(m);
}

static void not_regular_refused(void **state)
{
	struct fix *f = *state;
	ipm_map *m = ipm_map_new(f->s);
	char path[160], want[256];

	assert_int_equal(mkdir(f->mmap_dir, 0755), 0);
	demo_path(f, path, sizeof(path), "");
	assert_int_equal(mkfifo(path, 0644), 0);
	snprintf(want, sizeof(want), "cannot map %s: not a regular file", path);
	/* Opening a FIFO must not wait for a writer. */
	assert_int_equal(ipm_map_open(m, DEMO, "", IPM_READER, &f->opts), -EINVAL);
	assert_string_equal(ipm_map_errmsg(m), want);
	assert_int_equal(ipm_map_open(m, DEMO, "", IPM_EDITOR, &f->opts), -EINVAL);
	assert_string_equal(ipm_map_errmsg(m), want);
	assert_int_equal(ipm_map_open(m, DEMO, "", IPM_MANAGER, &f->opts), -EINVAL);
	assert_string_equal(ipm_map_errmsg(m), want);
	ipm_map_free(m);
}

/* Reads a whole small file into buf (NUL-terminated): its length. */
static ssize_t slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, len - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return n;
}

static void symlink_lock_refused(void **state)
{
	static const enum ipm_role roles[] = {IPM_MANAGER, IPM_EDITOR, IPM_READER};
	struct fix *f = *state;
	ipm_map *m = ipm_map_new(f->s);
	char victim[160], lock[160], want[256], buf[64];
	struct stat st;

	snprintf(victim, sizeof(victim), "%s/victim", f->dir);
	snprintf(lock, sizeof(lock), "%s/" DEMO "_evil.lockfile", f->lock_dir);
	assert_int_equal(mkdir(f->lock_dir, 0755), 0);
	close(open(victim, O_WRONLY | O_CREAT, 0600));
	assert_int_equal(truncate(victim, 0), 0);
	assert_int_equal(symlink(victim, lock), 0);
	snprintf(want, sizeof(want), "lock file %s: is a symbolic link", lock);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(ipm_map_open(m, DEMO, "evil", roles[i], &f->opts), -ELOOP);
		assert_string_equal(ipm_map_errmsg(m), want);
	}
	/* Neither grown for a control block nor written. */
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(slurp(victim, buf, sizeof(buf)), 0);
	/* A dangling link is refused too, and not created through. */
	assert_int_equal(unlink(victim), 0);
	assert_int_equal(ipm_map_open(m, DEMO, "evil", IPM_MANAGER, &f->opts), -ELOOP);
	assert_string_equal(ipm_map_errmsg(m), want);
	assert_int_equal(lstat(victim, &st), -1);
	ipm_map_free(m);
}

static void symlink_mmap_refused(void **state)
{
	static const enum ipm_role roles[] = {IPM_MANAGER, IPM_EDITOR, IPM_READER};
	struct fix *f = *state;
	ipm_map *m = ipm_map_new(f->s);
	char victim[160], path[160], want[256], buf[DEMO_SIZE + 1], zero[DEMO_SIZE];
	int fd;

	snprintf(victim, sizeof(victim), "%s/victim2", f->dir);
	assert_int_equal(mkdir(f->mmap_dir, 0755), 0);
	/* The structure's size with a bad header: a manager would rewrite it. */
	memset(zero, 'v', sizeof(zero));
	fd = open(victim, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, zero, sizeof(zero)), DEMO_SIZE);
	close(fd);
	demo_path(f, path, sizeof(path), "evil2");
	assert_int_equal(symlink(victim, path), 0);
	snprintf(want, sizeof(want), "%s: is a symbolic link", path);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(ipm_map_open(m, DEMO, "evil2", roles[i], &f->opts), -ELOOP);
		assert_string_equal(ipm_map_errmsg(m), want);
	}
	assert_int_equal(slurp(victim, buf, sizeof(buf)), DEMO_SIZE);
	assert_memory_equal(buf, zero, DEMO_SIZE);
	ipm_map_free(m);
}

static void fifo_lock_refused(void **state)
{
	static const enum ipm_role roles[] = {IPM_READER, IPM_EDITOR, IPM_MANAGER};
	struct fix *f = *state;
	ipm_map *m = ipm_map_new(f->s);
	char lock[160], want[256];

	snprintf(lock, sizeof(lock), "%s/" DEMO "_fifo.lockfile", f->lock_dir);
	assert_int_equal(mkdir(f->lock_dir, 0755), 0);
	assert_int_equal(mkfifo(lock, 0644), 0);
	snprintf(want, sizeof(want), "lock file %s: not a regular file", lock);
	/* A hang is a failure, not a stuck test run. */
	alarm(5);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(ipm_map_open(m, DEMO, "fifo", roles[i], &f->opts), -EINVAL);
		assert_string_equal(ipm_map_errmsg(m), want);
	}
	alarm(0);
	ipm_map_free(m);
}

struct pester {
	pthread_t target; /* the thread to interrupt */
	int done;	  /* set when it no longer waits */
};

/* Interrupts the target until it is done: a signal sent before its wait
 * begins is lost, so one is sent every few milliseconds. */
static void *pester_fn(void *arg)
{
	struct pester *p = arg;
	struct timespec ts = {0, 5000000};

	while (!__atomic_load_n(&p->done, __ATOMIC_ACQUIRE)) {
		pthread_kill(p->target, ipm_lock_signal());
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* A bad file behind a writer that never lets go: open gives up after 1 s
 * with the check's error, and ipm_lock_signal() ends the wait sooner. */
static void bad_file_wait_bounded(void **state)
{
	struct fix *f = *state;
	ipm_map *mgr = open_ok(f, DEMO, "w", IPM_MANAGER, &f->opts);
	ipm_map *m = ipm_map_new(f->s);
	char path[160], want[300];
	struct pester p = {0};
	pthread_t th;
	int64_t t0;

	if (unit_under_valgrind()) {
		ipm_map_free(m);
		ipm_map_free(mgr);
		skip();
	}
	demo_path(f, path, sizeof(path), "w");
	assert_int_equal(ipm_lock_write(mgr, 0), 0);
	memcpy(ipm_map_data(mgr), &(int16_t){0x7777}, 2); /* a foreign header_code */
	snprintf(want, sizeof(want), "%s: header_code 0x7777, expected 0x%04x", path,
		 IPM_HEADER_CODE);
	t0 = (unit_now_ns() / 1000000);
	assert_int_equal(ipm_map_open(m, DEMO, "w", IPM_READER, &f->opts), -EINVAL);
	assert_string_equal(ipm_map_errmsg(m), want);
	assert_in_range((unit_now_ns() / 1000000) - t0, 950, 3000);

	p.target = pthread_self();
	assert_int_equal(pthread_create(&th, NULL, pester_fn, &p), 0);
	t0 = (unit_now_ns() / 1000000);
	assert_int_equal(ipm_map_open(m, DEMO, "w", IPM_EDITOR, &f->opts), -EINTR);
	__atomic_store_n(&p.done, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	assert_in_range((unit_now_ns() / 1000000) - t0, 0, 900);
	snprintf(want, sizeof(want), "cannot lock %s/" DEMO "_w.lockfile: interrupted",
		 f->lock_dir);
	assert_string_equal(ipm_map_errmsg(m), want);
	ipm_map_free(m);
	ipm_map_free(mgr);
}

static void reader_is_read_only(void **state)
{
	struct fix *f = *state;
	ipm_map *w, *r;
	int p[2], status;
	pid_t pid;

	w = open_ok(f, DEMO, "", IPM_MANAGER, &f->opts);
	set_data_int(ipm_map_data(w), 7);
	r = open_ok(f, DEMO, "", IPM_READER, &f->opts);
	assert_int_equal(ipm_map_role(r), IPM_READER);
	assert_int_equal(data_int(ipm_map_data(r)), 7);

	/* The kernel refuses to write into the reader's mapping... */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(read(p[0], ipm_map_data(r), 1), -1);
	assert_int_equal(errno, EFAULT);
	close(p[0]);
	close(p[1]);

	/* ...and a store through it faults. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit no_core = {0, 0};
		struct sigaction sa;

		setrlimit(RLIMIT_CORE, &no_core);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGSEGV, &sa, NULL);
		set_data_int(ipm_map_data(r), 8);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
	assert_int_equal(data_int(ipm_map_data(w)), 7);
	ipm_map_free(r);
	ipm_map_free(w);
}

static void roles_share_the_bytes(void **state)
{
	struct fix *f = *state;
	ipm_map *mg, *ed, *rd;

	mg = open_ok(f, DEMO, "s", IPM_MANAGER, &f->opts);
	ed = open_ok(f, DEMO, "s", IPM_EDITOR, &f->opts);
	rd = open_ok(f, DEMO, "s", IPM_READER, &f->opts);
	assert_int_equal(ipm_map_role(ed), IPM_EDITOR);
	set_data_int(ipm_map_data(ed), -5);
	assert_int_equal(data_int(ipm_map_data(mg)), -5);
	assert_int_equal(data_int(ipm_map_data(rd)), -5);
	ipm_map_free(rd);
	ipm_map_free(ed);
	ipm_map_free(mg);
}

static void expect_bad(struct fix *f, const char *name, const char *tag, int code, const char *want)
{
	ipm_map *m = ipm_map_new(f->s);

	assert_int_equal(ipm_map_open(m, name, tag, IPM_MANAGER, &f->opts), code);
	assert_string_equal(ipm_map_errmsg(m), want);
	assert_null(ipm_map_data(m));
	ipm_map_free(m);
}

static void bad_names_refused(void **state)
{
	struct fix *f = *state;
	char tag[300];
	struct stat st;

	expect_bad(f, "a/b", "", -EINVAL, "bad structure name 'a/b': contains '/'");
	expect_bad(f, "/etc/passwd", "", -EINVAL,
		   "bad structure name '/etc/passwd': contains '/'");
	expect_bad(f, "..", "", -EINVAL, "bad structure name '..': contains '..'");
	expect_bad(f, DEMO, "/tmp/x", -EINVAL, "bad tag '/tmp/x': contains '/'");
	expect_bad(f, DEMO, "..", -EINVAL, "bad tag '..': contains '..'");
	expect_bad(f, DEMO, "x/../y", -EINVAL, "bad tag 'x/../y': contains '/'");
	expect_bad(f, DEMO, "a..b", -EINVAL, "bad tag 'a..b': contains '..'");
	expect_bad(f, DEMO, "\x01", -EINVAL, "bad tag '\\x01': contains a control character");
	expect_bad(f, DEMO, "a\tb\x7f", -EINVAL,
		   "bad tag 'a\\x09b\\x7f': contains a control character");
	expect_bad(f, "", "", -EINVAL, "no structure name");
	memset(tag, 'x', sizeof(tag) - 1);
	tag[sizeof(tag) - 1] = '\0';
	expect_bad(f, DEMO, tag, -EINVAL, "structure name and tag too long for a file name");
	/* Python's limit: "Name_tag.lockfile" fits NAME_MAX, so name and tag
	 * have NAME_MAX - 10 bytes; one more is refused. */
	tag[NAME_MAX - 9 - strlen(DEMO)] = '\0';
	expect_bad(f, DEMO, tag, -EINVAL, "structure name and tag too long for a file name");
	tag[NAME_MAX - 10 - strlen(DEMO)] = '\0';
	ipm_map_free(open_ok(f, DEMO, tag, IPM_MANAGER, &f->opts));
	/* The longest is re-created by rename too (its temporary name fits). */
	{
		char p[PATH_MAX];
		struct ipm_open_opts o = f->opts;

		snprintf(p, sizeof(p), "%s/" DEMO "_%s.mmap", f->mmap_dir, tag);
		assert_int_equal(truncate(p, 600), 0);
		o.flags = IPM_FORCE;
		ipm_map_free(open_ok(f, DEMO, tag, IPM_MANAGER, &o));
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_size, DEMO_SIZE);
	}
	/* Nothing made outside the directories. */
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_nlink, 4);
}

/*
 * Python IPMMAP names its files Path(f"{name}_{tag}").with_suffix(".mmap"),
 * which cuts the name at the tag's last dot: a dotted tag would name another
 * file on each side. Refused, saying which file Python uses.
 */
static void dotted_tags_refused(void **state)
{
	struct fix *f = *state;
	char path[160];
	DIR *d;

	expect_bad(f, DEMO, "v1.2", -EINVAL,
		   "bad tag 'v1.2': Python IPMMAP cuts the file name at its last dot and uses "
		   "DemoMmapStructure_v1.mmap, the file of tag 'v1'");
	expect_bad(f, DEMO, ".x", -EINVAL,
		   "bad tag '.x': Python IPMMAP cuts the file name at its last dot and uses "
		   "DemoMmapStructure_.mmap, the file of tag ''");
	expect_bad(f, DEMO, "a.b.c", -EINVAL,
		   "bad tag 'a.b.c': Python IPMMAP cuts the file name at its last dot and uses "
		   "DemoMmapStructure_a.b.mmap, which no tag reaches here");
	expect_bad(f, DEMO, "v1.", -EINVAL,
		   "bad tag 'v1.': Python IPMMAP uses DemoMmapStructure_v1..mmap for it before "
		   "Python 3.14, and DemoMmapStructure_v1.mmap from 3.14");
	/* Nothing was made for them. */
	d = opendir(f->mmap_dir);
	if (d) {
		struct dirent *e;

		while ((e = readdir(d)))
			assert_true(e->d_name[0] == '.');
		closedir(d);
	}
	/* Tags Python accepts as they are keep their name. */
	ipm_map_free(open_ok(f, DEMO, "a b-c~\xc3\xa9", IPM_MANAGER, &f->opts));
	demo_path(f, path, sizeof(path), "a b-c~\xc3\xa9");
	assert_int_equal(access(path, F_OK), 0);
}

/* Python's clearMappedBuffer() zeroes the whole structure, header_code
 * included: such a file is a cleared instance, read as zeros, and the next
 * write section (or a manager's open) gives it its header_code back. */
static void cleared_instance_accepted(void **state)
{
	struct fix *f = *state;
	ipm_map *mg = open_ok(f, DEMO, "", IPM_MANAGER, &f->opts), *ed, *rd;
	struct ipm_field fi;
	char path[160];
	int64_t v;
	int fd;

	demo_path(f, path, sizeof(path), "");
	set_data_int(ipm_map_data(mg), 5);
	ipm_map_free(mg);
	write_file(path, DEMO_SIZE, 0); /* what clearMappedBuffer() leaves */

	ed = open_ok(f, DEMO, "", IPM_EDITOR, &f->opts);
	rd = open_ok(f, DEMO, "", IPM_READER, &f->opts);
	assert_int_equal(ipm_map_resolve(rd, "data_int", &fi), 0);
	assert_int_equal(ipm_get_i64(rd, &fi, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(header_code(ipm_map_data(rd)), 0);
	assert_int_equal(ipm_map_cleared(rd), 1);

	/* The next write section restores the code, not the time stamp. */
	assert_int_equal(ipm_set_i64(ed, &fi, 7), 0);
	assert_int_equal(header_code(ipm_map_data(rd)), IPM_HEADER_CODE);
	assert_int_equal(ipm_map_cleared(rd), 0);
	assert_true(time_stamp(ipm_map_data(rd)) == 0.0);
	assert_int_equal(data_int(ipm_map_data(rd)), 7);
	ipm_map_free(ed);
	ipm_map_free(rd);

	/* Cleared, then written by Python (data_int, time_stamp): a manager
	 * keeps what is there and restores the code in place. */
	write_file(path, DEMO_SIZE, 0);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &(int32_t){9}, 4, 16), 4);
	assert_int_equal(pwrite(fd, &(double){1.5}, 8, 8), 8);
	close(fd);
	ed = open_ok(f, DEMO, "", IPM_EDITOR, &f->opts);
	assert_int_equal(data_int(ipm_map_data(ed)), 9);
	ipm_map_free(ed);
	mg = open_ok(f, DEMO, "", IPM_MANAGER, &f->opts);
	assert_int_equal(header_code(ipm_map_data(mg)), IPM_HEADER_CODE);
	assert_true(time_stamp(ipm_map_data(mg)) == 1.5);
	assert_int_equal(data_int(ipm_map_data(mg)), 9);
	ipm_map_free(mg);
}

static void structure_checks(void **state)
{
	struct fix *f = *state;
	const ipm_type *t = ipm_schema_find(f->s, DEMO);
	struct ipm_open_opts o = f->opts;
	uint64_t fp = ipm_type_fingerprint(t);
	char want[160];

	expect_bad(f, "Nope", "", -ENOENT, "no structure 'Nope' in the schema");
	expect_bad(f, "Point2D", "", -EINVAL,
		   "structure 'Point2D' cannot be mapped: its first field is not "
		   "MmapStructureHeader");
	expect_bad(f, "MultiPointsData", "", -EINVAL,
		   "structure 'MultiPointsData' cannot be mapped: its first field is not "
		   "MmapStructureHeader");

	o.fingerprint = fp ^ 1;
	snprintf(want, sizeof(want),
		 "structure '" DEMO "' has layout fingerprint 0x%016" PRIx64
		 ", expected 0x%016" PRIx64,
		 fp, fp ^ 1);
	{
		ipm_map *m = ipm_map_new(f->s);

		assert_int_equal(ipm_map_open(m, DEMO, "", IPM_MANAGER, &o), -EINVAL);
		assert_string_equal(ipm_map_errmsg(m), want);
		o.fingerprint = fp;
		assert_int_equal(ipm_map_open(m, DEMO, "", IPM_MANAGER, &o), 0);
		ipm_map_free(m);
	}
}

/* st_mode's permission bits and the group of path. */
static void expect_mode(const char *path, mode_t mode, gid_t gid)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	if ((st.st_mode & 07777) != mode || st.st_gid != gid)
		fail_msg("%s: mode %04o group %u, expected %04o group %u", path,
			 (unsigned)(st.st_mode & 07777), (unsigned)st.st_gid, (unsigned)mode,
			 (unsigned)gid);
}

/* New files get the mode asked for, exactly, and the group; directories
 * search where files read; existing files keep theirs. */
static void modes_and_group(void **state)
{
	struct fix *f = *state;
	struct ipm_open_opts o = f->opts;
	char path[160], lock[160];
	ipm_map *m;

	umask(077); /* the mode is set exactly, whatever the umask */
	o.mode = 0640;
	o.flags = IPM_GROUP;
	o.gid = 4242; /* root may give files to any group */
	ipm_map_free(open_ok(f, DEMO, "g", IPM_MANAGER, &o));
	demo_path(f, path, sizeof(path), "g");
	snprintf(lock, sizeof(lock), "%s/" DEMO "_g.lockfile", f->lock_dir);
	expect_mode(path, 0640, 4242);
	expect_mode(lock, 0640, 4242);
	expect_mode(f->mmap_dir, 0750, 4242);
	expect_mode(f->lock_dir, 0750, 4242);

	/* Kept as they are when they exist, even with another mode asked. */
	assert_int_equal(chmod(path, 0604), 0);
	o.mode = 0666;
	o.flags = 0;
	m = open_ok(f, DEMO, "g", IPM_MANAGER, &o);
	expect_mode(path, 0604, 4242);
	ipm_map_free(m);
	/* Made anew (wrong size, forced): the new file gets the mode now asked. */
	assert_int_equal(truncate(path, 10), 0);
	o.flags = IPM_FORCE;
	ipm_map_free(open_ok(f, DEMO, "g", IPM_MANAGER, &o));
	expect_mode(path, 0666, 0);

	/* The default, 0600, for files another user's process cannot open. */
	o.mode = 0;
	ipm_map_free(open_ok(f, DEMO, "d", IPM_MANAGER, &o));
	demo_path(f, path, sizeof(path), "d");
	expect_mode(path, 0600, 0);
	umask(022);
}

static void default_dirs_made(void **state)
{
	struct fix *f = *state;
	struct ipm_open_opts o = {0};
	char nested[160];
	struct stat st;
	ipm_map *m;
	int cwd = open(".", O_RDONLY | O_DIRECTORY);

	assert_true(cwd >= 0);
	assert_int_equal(chdir(f->dir), 0);
	m = open_ok(f, DEMO, NULL, IPM_MANAGER, NULL);
	assert_string_equal(ipm_map_path(m), "./.mmap/" DEMO "_.mmap");
	assert_string_equal(ipm_map_lock_path(m), "./.fasteners/" DEMO "_.lockfile");
	assert_int_equal(stat(".mmap/" DEMO "_.mmap", &st), 0);
	assert_int_equal(st.st_size, DEMO_SIZE);
	assert_int_equal(stat(".fasteners/" DEMO "_.lockfile", &st), 0);
	ipm_map_free(m);

	/* mkdir -p, and a trailing slash is not doubled. */
	snprintf(nested, sizeof(nested), "%s/a/b/c/", f->dir);
	o.mmap_dir = nested;
	o.lock_dir = "d/e";
	m = open_ok(f, DEMO, "n", IPM_MANAGER, &o);
	assert_int_equal(fchdir(cwd), 0);
	close(cwd);
	snprintf(nested, sizeof(nested), "%s/a/b/c/" DEMO "_n.mmap", f->dir);
	assert_string_equal(ipm_map_path(m), nested);
	assert_string_equal(ipm_map_lock_path(m), "d/e/" DEMO "_n.lockfile");
	assert_int_equal(stat(nested, &st), 0);
	ipm_map_free(m);
}

static void no_fd_leak(void **state)
{
	struct fix *f = *state;
	ipm_map *m = ipm_map_new(f->s);
	char path[160];
	int before = count_fds();
	int i;

	for (i = 0; i < 3; i++) {
		assert_int_equal(ipm_map_open(m, DEMO, "", IPM_EDITOR, &f->opts), -ENOENT);
		assert_int_equal(ipm_map_open(m, DEMO, "", IPM_READER, &f->opts), -ENOENT);
		assert_int_equal(count_fds(), before);
	}
	assert_int_equal(mkdir(f->mmap_dir, 0755), 0);
	demo_path(f, path, sizeof(path), "");
	write_file(path, 100, IPM_HEADER_CODE);
	assert_int_equal(ipm_map_open(m, DEMO, "", IPM_EDITOR, &f->opts), -EINVAL);
	assert_int_equal(count_fds(), before);
	write_file(path, DEMO_SIZE, 3);
	assert_int_equal(ipm_map_open(m, DEMO, "", IPM_READER, &f->opts), -EINVAL);
	assert_int_equal(count_fds(), before);

	/* An open handle keeps just its lock file and its .mmap file open. */
	assert_int_equal(ipm_map_open(m, DEMO, "", IPM_MANAGER, &f->opts), 0);
	assert_int_equal(count_fds(), before + 2);
	ipm_map_close(m);
	assert_int_equal(count_fds(), before);
	ipm_map_free(m);
}

static void handle_life(void **state)
{
	struct fix *f = *state;
	ipm_map *m = ipm_map_new(f->s);
	char want[200];

	ipm_map_free(NULL);
	ipm_map_close(NULL);
	assert_string_equal(ipm_map_errmsg(m), "");
	assert_null(ipm_map_data(m));
	assert_int_equal(ipm_map_size(m), 0);
	assert_null(ipm_map_path(m));
	assert_null(ipm_map_lock_path(m));
	assert_null(ipm_map_type(m));
	ipm_map_close(m);

	assert_int_equal(ipm_map_open(m, DEMO, "", IPM_MANAGER, &f->opts), 0);
	snprintf(want, sizeof(want), "handle already open on %s", ipm_map_path(m));
	assert_int_equal(ipm_map_open(m, DEMO, "", IPM_EDITOR, &f->opts), -EBUSY);
	assert_string_equal(ipm_map_errmsg(m), want);
	assert_non_null(ipm_map_data(m)); /* still open */
	assert_int_equal(ipm_lock_write(m, 0), 0);
	ipm_map_close(m); /* unlocks */
	ipm_map_close(m);
	assert_null(ipm_map_data(m));
	assert_int_equal(ipm_lock_held(m), 0);
	assert_int_equal(ipm_map_open(m, DEMO, "", IPM_EDITOR, &f->opts), 0);
	assert_int_equal(ipm_lock_write(m, 0), 0); /* the close did unlock */
	assert_int_equal(ipm_map_open(m, DEMO, "", 7, &f->opts), -EBUSY);
	ipm_map_close(m);
	assert_int_equal(ipm_map_open(m, DEMO, "", 7, &f->opts), -EINVAL);
	assert_string_equal(ipm_map_errmsg(m), "unknown role 7");
	ipm_map_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(manager_creates, setup, teardown),
	    cmocka_unit_test_setup_teardown(manager_keeps_existing, setup, teardown),
	    cmocka_unit_test_setup_teardown(force_rewrites_in_place, setup, teardown),
	    cmocka_unit_test_setup_teardown(wrong_size_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_magic_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(missing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(not_regular_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(symlink_lock_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(symlink_mmap_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(fifo_lock_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_file_wait_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(reader_is_read_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(roles_share_the_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_names_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(dotted_tags_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(cleared_instance_accepted, setup, teardown),
	    cmocka_unit_test_setup_teardown(structure_checks, setup, teardown),
	    cmocka_unit_test_setup_teardown(default_dirs_made, setup, teardown),
	    cmocka_unit_test_setup_teardown(modes_and_group, setup, teardown),
	    cmocka_unit_test_setup_teardown(no_fd_leak, setup, teardown),
	    cmocka_unit_test_setup_teardown(handle_life, setup, teardown),
	};

	/* A hung lock must fail the run, not hold it up forever. */
	alarm(120);
	return cmocka_run_group_tests_name("map", tests, NULL, NULL);
}
