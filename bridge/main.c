/*
 * main.c - ipmmap-bridge: mirrors instances to other hosts through Eclipse
 * Cyclone DDS, in the foreground until SIGINT or SIGTERM.
 *
 *   $ cat bridge.ini
 *   [bridge]
 *   schema   = /usr/local/share/ipmmap/demo.ini
 *   mmap_dir = /run/ipm/mmap
 *   lock_dir = /run/ipm/locks
 *   instance = DemoMmapStructure
 *   $ CYCLONEDDS_URI=file:///etc/ipmmap/cyclone.xml ipmmap-bridge bridge.ini
 *   ipmmap-bridge: domain 0, host rig-1, origin 0110..., 1 instance, status ...
 *   ipmmap-bridge: peers: 1
 *
 * Threads: this one runs the receiving loop (dds.c), one publisher per
 * instance that publishes (inst.c), and one that waits for SIGINT/SIGTERM
 * (blocked everywhere else, Cyclone's threads included) and wakes the
 * others. Set-up and tear-down are one ladder, in reverse order.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bridge.h"

static const char usage[] =
    "usage: ipmmap-bridge [-h] [-V] CONFIG\n"
    "\n"
    "Mirrors the instances named in CONFIG ([bridge] section: schema, mmap_dir,\n"
    "lock_dir, domain, direction, status, instance) to the other bridges of the\n"
    "DDS domain, until SIGINT or SIGTERM. Cyclone DDS reads its own settings\n"
    "(interfaces, peers, multicast) from CYCLONEDDS_URI. See ipmmap-bridge(8).\n"
    "\n"
    "  -h, --help      show this help\n"
    "  -V, --version   show the version\n"
    "\n"
    "Exit status: 0 after SIGINT/SIGTERM, 1 on a failure to start, 2 on a usage error.\n";

static void on_lock_signal(int sig)
{
	(void)sig; /* only interrupts a wait (see ipm_lock_signal()) */
}

struct sigwaiter {
	struct bridge *b; /* to stop */
	pthread_t main;	  /* the receiving thread */
	sigset_t set;	  /* SIGINT, SIGTERM */
};

static void *sig_main(void *arg)
{
	struct sigwaiter *w = arg;
	int sig;

	while (sigwait(&w->set, &sig) != 0)
		;
	if (!atomic_exchange(&w->b->stop, 1))
		br_log("%s: stopping", strsignal(sig));
	br_dds_wake(w->b);
	for (size_t i = 0; i < w->b->ninsts; i++)
		br_inst_wake(&w->b->insts[i]);
	/* The applier may wait for a local write lock. */
	pthread_kill(w->main, ipm_lock_signal());
	return NULL;
}

/* mkdir -p for the directory of the status file (0700, as the library). */
static void make_dirs(const char *file)
{
	char *p = strdup(file), *s;

	if (!p)
		return;
	for (s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0700);
		*s = '/';
	}
	free(p);
}

static int load(struct bridge *b, const char *path)
{
	char err[1024];

	if (br_config_load(&b->conf, path, err, sizeof(err)) < 0) {
		br_log("%s", err);
		return -1;
	}
	b->schema = ipm_schema_new();
	if (!b->schema) {
		br_log("out of memory");
		return -1;
	}
	for (size_t i = 0; i < b->conf.nschemas; i++) {
		if (ipm_schema_load_file(b->schema, b->conf.schemas[i]) < 0) {
			br_log("%s:%d: %s", b->conf.path, b->conf.schema_lines[i],
			       ipm_schema_errmsg(b->schema));
			return -1;
		}
	}
	b->insts = calloc(b->conf.ninsts, sizeof(*b->insts));
	if (!b->insts) {
		br_log("out of memory");
		return -1;
	}
	for (size_t i = 0; i < b->conf.ninsts; i++) {
		b->ninsts = i + 1; /* freed by the caller, even half made */
		if (br_inst_init(&b->insts[i], b, &b->conf.insts[i], err, sizeof(err)) < 0) {
			br_log("%s", err);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	static struct bridge b; /* zeroed; big */
	struct sigwaiter w = {.b = &b};
	struct sigaction sa;
	pthread_t sigthr;
	char hex[33];
	int c, rc = 1, started = 0, failed = 0;

	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			printf("%s %s\n", BR_NAME, IPM_VERSION);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(usage, stderr);
		return 2;
	}

	pthread_mutex_init(&b.st.mu, NULL);
	if (gethostname(b.host, sizeof(b.host) - 1) < 0)
		snprintf(b.host, sizeof(b.host), "unknown");

	/* Before any thread: every thread made from here on, Cyclone's too,
	 * inherits the mask, so only sig_main() sees SIGINT and SIGTERM. */
	sigemptyset(&w.set);
	sigaddset(&w.set, SIGINT);
	sigaddset(&w.set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &w.set, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_lock_signal; /* no SA_RESTART: waits end with EINTR */
	sigaction(ipm_lock_signal(), &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (load(&b, argv[optind]) < 0)
		goto out_load;
	make_dirs(b.conf.status);
	if (br_dds_open(&b) < 0)
		goto out_dds;
	br_origin_hex(b.origin, hex);
	br_log("domain %u, host %s, origin %s, %zu instance%s, status %s", b.conf.domain, b.host,
	       hex, b.ninsts, b.ninsts == 1 ? "" : "s", b.conf.status);

	w.main = pthread_self();
	if (pthread_create(&sigthr, NULL, sig_main, &w)) {
		br_log("cannot start a thread");
		goto out_dds;
	}
	for (size_t i = 0; i < b.ninsts; i++, started++) {
		if (br_inst_start(&b.insts[i]) < 0) {
			br_log("cannot start a thread");
			atomic_store(&b.stop, 1);
			failed = 1;
			break;
		}
	}
	br_dds_run(&b);
	rc = failed;
	for (int i = 0; i < started; i++)
		br_inst_stop(&b.insts[i]);
	/* Wake the signal thread if no signal came (a failed start). */
	pthread_kill(sigthr, SIGTERM);
	pthread_join(sigthr, NULL);
	br_status_write(&b, 0);
out_dds:
	br_dds_close(&b);
out_load:
	for (size_t i = 0; i < b.ninsts; i++)
		br_inst_free(&b.insts[i]);
	free(b.insts);
	free(b.st.logged);
	ipm_schema_free(b.schema);
	br_config_free(&b.conf);
	pthread_mutex_destroy(&b.st.mu);
	return rc;
}
