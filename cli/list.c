/*
 * list.c - `ipmmap list`: the instances of the mmap directory, one line
 * each, as `ls` would show them if it knew the schema.
 *
 *   $ ipmmap -s conf/demo.ini list
 *   STRUCTURE          TAG    SIZE  MODE  PEERS   STATE
 *   DemoMmapStructure  -       688  0600  compat  ok
 *   DemoMmapStructure  old     600  0600  native  size 600, expected 688
 *
 * Only looks: it takes no lock, maps nothing and makes no file or directory
 * (opening a handle would), so it is safe on a directory others use. The
 * state is what an open would find of the size and header code, without
 * taking a lock; PEERS is the instance's mode as its lock file records it
 * (native: every writer uses libipmmap and reads take no lock; compat:
 * Python IPMMAP writers may run; "-": no lock file yet). A file whose
 * structure is not in the schema is shown with the definition its manager
 * stored, if there is one (ipm_definition_read()).
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The mappable structure whose name is the longest "<Struct>_" prefix of
 * base, as the mount matches files: "A_B_c" is A_B with tag c when both A
 * and A_B exist. NULL if none. */
static const ipm_type *match(const ipm_schema *s, const char *base, size_t *len)
{
	const ipm_type *best = NULL;

	*len = 0;
	for (size_t i = 0; i < ipm_schema_count(s); i++) {
		const ipm_type *t = ipm_schema_at(s, i);
		const char *name = ipm_type_name(t);
		size_t l = strlen(name);

		if (l > *len && !strncmp(base, name, l) && base[l] == '_' && ipm_type_mappable(t)) {
			best = t;
			*len = l;
		}
	}
	return best;
}

/* What an open would say of the file at dirfd/name of type t, in why. */
static void state(int dirfd, const char *name, const ipm_type *t, const struct stat *st,
		  char *why, size_t len)
{
	struct ipm_field code;
	int16_t v;
	int fd;

	if (!t) {
		snprintf(why, len, "no structure of the schema");
		return;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(why, len, S_ISLNK(st->st_mode) ? "symbolic link (refused)"
							: "not a regular file (refused)");
		return;
	}
	if ((size_t)st->st_size != ipm_type_size(t)) {
		snprintf(why, len, "size %lld, expected %zu", (long long)st->st_size,
			 ipm_type_size(t));
		return;
	}
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || ipm_type_resolve(t, "header.header_code", &code, NULL) < 0 ||
	    pread(fd, &v, sizeof(v), (off_t)code.offset) != (ssize_t)sizeof(v))
		snprintf(why, len, "unreadable (%s)", strerror(errno));
	else if (v == 0)
		snprintf(why, len, "ok (cleared: header code 0)");
	else if (v != IPM_HEADER_CODE)
		snprintf(why, len, "header code %d, expected %d", v, IPM_HEADER_CODE);
	else
		snprintf(why, len, "ok");
	if (fd >= 0)
		close(fd);
}

/* The mode its lock file records for the instance of file base. */
static const char *peers(const struct cli *c, const char *base)
{
	const char *dir = c->opts.lock_dir ? c->opts.lock_dir : IPM_DEFAULT_LOCK_DIR;
	char path[PATH_MAX];
	int native;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s.lockfile", dir, base) >= sizeof(path))
		return "-";
	native = ipm_lockfile_native(path);
	return native < 0 ? "-" : native ? "native" : "compat";
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Files named *.mmap, not hidden: a manager's temporary file is
 * ".Name_tag.xxxxxx". */
static int is_mmap(const struct dirent *de)
{
	size_t l = strlen(de->d_name);

	return de->d_name[0] != '.' && l > 5 && !strcmp(de->d_name + l - 5, ".mmap");
}

/* See cli.h. */

/* A file name as a terminal may show it: control bytes (C0, DEL, and C1 in
 * UTF-8) become '?', as ls shows them; any local user may name a file in a
 * shared directory. */
static void shown(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			*p = '?', *++p = '?';
}
int cli_list(struct cli *c, int argc, char **argv)
{
	const char *dir = c->opts.mmap_dir ? c->opts.mmap_dir : IPM_DEFAULT_MMAP_DIR;
	struct dirent **ents;
	int n, dirfd;

	(void)argv;
	if (argc != 0)
		return 2;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	n = dirfd < 0 ? -1 : scandir(dir, &ents, is_mmap, by_name);
	if (n < 0) {
		fprintf(stderr, "ipmmap: cannot list %s: %s\n", dir, strerror(errno));
		if (dirfd >= 0)
			close(dirfd);
		return 1;
	}
	printf("%-24s %-12s %8s  %-5s %-7s %s\n", "STRUCTURE", "TAG", "SIZE", "MODE", "PEERS",
	       "STATE");
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		char base[NAME_MAX + 1], why[IPM_ERRLEN] = "";
		const char *pe;
		ipm_schema *own = NULL;
		const ipm_type *t;
		struct stat st;
		size_t l;

		snprintf(base, sizeof(base), "%.*s", (int)(strlen(name) - 5), name);
		t = match(c->schema, base, &l);
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			free(ents[i]);
			continue; /* gone since the directory was read */
		}
		/* Not in the schema: what its manager stored, if anything. */
		if (!t && S_ISREG(st.st_mode)) {
			int rc = ipm_definition_read(base, NULL, &c->opts, &own, &t, why);

			if (rc == -ENOENT)
				why[0] = '\0'; /* state() says: no structure of the schema */
			l = t ? strlen(ipm_type_name(t)) : 0;
		}
		if (t || !why[0])
			state(dirfd, name, t, &st, why, sizeof(why));
		ipm_schema_free(own);
		own = NULL;
		pe = peers(c, base);
		shown(base);
		/* An empty tag shows as "-", so that every line has its six
		 * columns for awk and cut. */
		printf("%-24.*s %-12s %8lld  %04o  %-7s %s\n", t ? (int)l : 1, t ? base : "?",
		       t ? (base[l + 1] ? base + l + 1 : "-") : base, (long long)st.st_size,
		       (unsigned)(st.st_mode & 07777), pe, why);
		free(ents[i]);
	}
	free(ents);
	close(dirfd);
	return 0;
}
