/*
 * holder.c - the C side of the Python interoperability tests: one handle on
 * the library, driven line by line from stdin so a test can hold a lock while
 * the Python peer tries its own, with answers on stdout (the same protocol as
 * peer.py's session command):
 *
 *   $ holder conf/demo.ini MMAPDIR LOCKDIR editor DemoMmapStructure [TAG]
 *   begin write        -> held write      (waits in the kernel)
 *   try read           -> held read | busy
 *   set data_int 77    -> ok              (under the held lock, or its own)
 *   get data_int       -> 77
 *   touch              -> ok
 *   poke               -> poked           (opens and closes the lock file)
 *   cleared            -> 0 | 1           (ipm_map_cleared())
 *   recovery           -> undone N count N pending N
 *   recover            -> 0 | 1           (ipm_map_recover(m, 0))
 *   die                -> (killed by SIGKILL where it stands)
 *   end                -> released
 *   quit
 *
 * Built by the tests into their temp dir; not part of the library.
 */
#include "ipmmap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void say(const char *s)
{
	printf("%s\n", s);
	fflush(stdout);
}

static void fail(const ipm_map *m, int rc)
{
	if (rc == -EAGAIN)
		say("busy");
	else
		printf("error: %s (%d)\n", ipm_map_errmsg(m), rc);
	fflush(stdout);
}

static int lock(ipm_map *m, const char *mode, int timeout_ms)
{
	if (!strcmp(mode, "write"))
		return ipm_lock_write(m, timeout_ms);
	return ipm_lock_read(m, timeout_ms);
}

/* One command line; returns 1 to stop. */
static int run(ipm_map *m, char *line)
{
	char *cmd = strtok(line, " \n");
	char *a = strtok(NULL, " \n");
	char *b = strtok(NULL, "\n");
	char buf[512];
	int rc;

	if (!cmd)
		return 0;
	if (!strcmp(cmd, "quit"))
		return 1;
	if ((!strcmp(cmd, "begin") || !strcmp(cmd, "try")) && a) {
		rc = lock(m, a, !strcmp(cmd, "begin") ? -1 : 0);
		if (rc < 0)
			fail(m, rc);
		else
			printf("held %s\n", a);
		fflush(stdout);
	} else if (!strcmp(cmd, "poke")) {
		/* would drop a POSIX record lock of this process; an OFD lock stays */
		rc = open(ipm_map_lock_path(m), O_RDONLY | O_CLOEXEC);
		if (rc >= 0)
			close(rc);
		say(rc >= 0 ? "poked" : "error: cannot open the lock file");
	} else if (!strcmp(cmd, "end")) {
		ipm_unlock(m);
		say("released");
	} else if (!strcmp(cmd, "get") && a) {
		rc = ipm_read_text(m, a, buf, sizeof(buf));
		if (rc < 0)
			fail(m, rc);
		else
			say(buf);
	} else if (!strcmp(cmd, "set") && a && b) {
		rc = ipm_write_text(m, a, b);
		if (rc < 0)
			fail(m, rc);
		else
			say("ok");
	} else if (!strcmp(cmd, "cleared")) {
		printf("%d\n", ipm_map_cleared(m));
		fflush(stdout);
	} else if (!strcmp(cmd, "recovery")) {
		struct ipm_recovery r;

		ipm_map_recovery(m, &r);
		printf("undone %llu count %llu pending %d\n", (unsigned long long)r.undone,
		       (unsigned long long)r.count, r.pending);
		fflush(stdout);
	} else if (!strcmp(cmd, "recover")) {
		printf("%d\n", ipm_map_recover(m, 0));
		fflush(stdout);
	} else if (!strcmp(cmd, "die")) {
		raise(SIGKILL);
	} else if (!strcmp(cmd, "touch")) {
		rc = ipm_map_touch(m);
		if (rc < 0)
			fail(m, rc);
		else
			say("ok");
	} else {
		say("error: bad command");
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ipm_open_opts o = {0};
	enum ipm_role role = IPM_EDITOR;
	ipm_schema *s = NULL;
	ipm_map *m = NULL;
	char line[1024];
	int rc = 1;

	if (argc != 6 && argc != 7) {
		fprintf(
		    stderr,
		    "usage: holder SCHEMA MMAPDIR LOCKDIR manager|editor|reader STRUCT [TAG]\n");
		return 2;
	}
	o.mmap_dir = argv[2];
	o.lock_dir = argv[3];
	if (!strcmp(argv[4], "manager"))
		role = IPM_MANAGER;
	else if (!strcmp(argv[4], "reader"))
		role = IPM_READER;
	s = ipm_schema_new();
	if (!s || ipm_schema_load_file(s, argv[1]) < 0) {
		fprintf(stderr, "holder: %s\n", s ? ipm_schema_errmsg(s) : "out of memory");
		goto out;
	}
	m = ipm_map_new(s);
	if (!m || ipm_map_open(m, argv[5], argc == 7 ? argv[6] : "", role, &o) < 0) {
		fprintf(stderr, "holder: %s\n", m ? ipm_map_errmsg(m) : "out of memory");
		goto out;
	}
	say("open");
	while (fgets(line, sizeof(line), stdin))
		if (run(m, line))
			break;
	rc = 0;
out:
	ipm_map_free(m);
	ipm_schema_free(s);
	return rc;
}
