/*
 * cli.h - what the files of the ipmmap tool share: the parsed command line
 * and the commands (ipmmap.c parses and dispatches, instance.c reads and
 * writes instances, watch.c watches them, list.c lists the mmap directory).
 */
#ifndef CLI_H
#define CLI_H

#include "ipmmap.h"

/* The command line, once parsed. */
struct cli {
	ipm_schema *schema;         /* loaded from every -s (and check/header's FILEs) */
	struct ipm_open_opts opts;  /* directories and flags */
	const char *tag;            /* -t */
	int timeout_ms;             /* -w */
	long count;                 /* -n, 0: no limit */
};

/* Prints "ipmmap: what" on stderr; returns 1, the failure exit status. */
int cli_fail(const char *what);

/* Opens instance name of c with role into *out: 0, or 1 after saying why. */
int cli_open(struct cli *c, ipm_map **out, const char *name, enum ipm_role role);

/* Takes the read (write 0) or write lock within -w: 0, or 1 after saying why. */
int cli_lock(struct cli *c, ipm_map *m, int write);

/* The commands: argc/argv are the words after the command's name. Each
 * returns the exit status: 0, 1 (failed, said why) or 2 (usage error). */
int cli_create(struct cli *c, int argc, char **argv);
int cli_get(struct cli *c, int argc, char **argv);
int cli_set(struct cli *c, int argc, char **argv);
int cli_dump(struct cli *c, int argc, char **argv);
int cli_clear(struct cli *c, int argc, char **argv);
int cli_touch(struct cli *c, int argc, char **argv);
int cli_recover(struct cli *c, int argc, char **argv);
int cli_watch(struct cli *c, int argc, char **argv);
int cli_list(struct cli *c, int argc, char **argv);

#endif
