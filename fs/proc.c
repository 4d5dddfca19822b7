/*
 * proc.c - what /proc tells about the task that sends a request: its thread
 * group, whether it is dying of a signal, whether its files table still
 * holds a descriptor of one of our files. Used by file.c to find the
 * opener's last close (see file_close_kind()).
 *
 * Found on Linux 6.18 (tests/fs/13_one_commit.sh checks each):
 * - FLUSH and WRITE carry lock_owner, a hash of the sender's files table:
 *   a child's close has another one than its parent's, threads share one.
 * - A task that exits closes its files after it set PF_EXITING and its
 *   exit_code (the signal in the low 7 bits when killed, 0 or status << 8
 *   otherwise): both are in /proc/TID/stat while the FLUSH is answered.
 *   PF_SIGNALED alone is not enough: the other threads of a process that
 *   calls exit(0) get it too, with exit_code 0.
 * - exit_code is shown only to who may ptrace the task (root, or its
 *   owner): otherwise it reads 0, and a killed writer looks like one that
 *   exited.
 * - During a close, the descriptor closed is already out of the table, so
 *   /proc/TID/fdinfo lists only the others (pos, flags, mnt_id, ino).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"

#define PF_EXITING 0x00000004 /* include/linux/sched.h */

/* Reads path (relative to dirfd) into buf, NUL-terminated: its length, or
 * -1. One read: the files of /proc read here are short. */
static ssize_t proc_read(int dirfd, const char *path, char *buf, size_t cap)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* See fs.h. */
pid_t fs_proc_tgid(pid_t tid)
{
	char path[64], buf[1024], *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	if (tid <= 0 || proc_read(AT_FDCWD, path, buf, sizeof(buf)) < 0)
		return 0;
	p = strstr(buf, "\nTgid:");
	return p ? (pid_t)atoi(p + 6) : 0;
}

/* See fs.h. */
int fs_proc_killed(pid_t tid)
{
	char path[64], buf[2048], *p, *end;
	unsigned long flags = 0;
	long code = 0;
	int field = 3; /* the first after "pid (comm)" is field 3, state */

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
	if (tid <= 0 || proc_read(AT_FDCWD, path, buf, sizeof(buf)) < 0)
		return 0;
	p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
	if (!p)
		return 0;
	for (p += 2; *p && field <= 52; field++) {
		if (field == 9)
			flags = strtoul(p, &end, 10);
		else if (field == 52)
			code = strtol(p, &end, 10);
		p = strchr(p, ' ');
		if (!p)
			break;
		p++;
	}
	return (flags & PF_EXITING) && (code & 0x7f);
}

/* See fs.h. */
int fs_proc_holds(pid_t tid, uint64_t ino, int mnt_id)
{
	char path[64], buf[512], want[32];
	struct dirent *de;
	int found = 0, dfd;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)tid);
	d = tid > 0 ? opendir(path) : NULL;
	if (!d)
		return 0; /* gone, exiting (no files table), or not ours to see */
	dfd = dirfd(d);
	snprintf(want, sizeof(want), "\nino:\t%llu\n", (unsigned long long)ino);
	while (!found && (de = readdir(d))) {
		char *m;

		if (de->d_name[0] == '.' || proc_read(dfd, de->d_name, buf, sizeof(buf)) < 0)
			continue;
		if (!strstr(buf, want))
			continue;
		m = strstr(buf, "\nmnt_id:\t");
		found = !mnt_id || !m || atoi(m + 9) == mnt_id;
	}
	closedir(d);
	return found;
}
