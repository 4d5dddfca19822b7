#!/bin/sh
# 26_native_reads.sh - the mount and the CLI read a native instance without
# a lock: while another process holds its write lock with no section open
# (fasteners' fcntl.lockf, as a Python peer takes it), a field, .values, a
# header file, stat of a field and a first poll() answer at once with the last whole values,
# and so do `ipmmap get` and `ipmmap dump`; the same reads of a compat
# instance still wait for the lock. poll() works as before. A C writer setting three fields together
# in a loop is never seen torn through .values, and is not starved by the
# readers; a writer SIGKILLed inside its section leaves the last whole
# update to every reader of the mount at once.
. "$(dirname "$0")/lib.sh"

san=
case $B in *san*) san="-fsanitize=address,undefined" ;; esac
cat >"$T/w.c" <<'C'
#include "ipmmap.h"
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
/* w SCHEMA MMAP LOCKS TAG churn STOP: data_int, data_xy.x and data_xy.y = i
 * under one write lock, i = 1, 2, ..., until the file STOP exists (30 s at
 * most); prints the count. w ... TAG half: data_xy.x = -1 under the write
 * lock, says "half" and waits to be killed with y not written. */
int main(int argc, char **argv)
{
	struct ipm_open_opts o = {.mmap_dir = argv[2], .lock_dir = argv[3]};
	ipm_schema *s = ipm_schema_new();
	struct ipm_field a, x, y;
	ipm_map *m;
	long i;

	if (argc < 6 || ipm_schema_load_file(s, argv[1]) < 0)
		return 2;
	m = ipm_map_new(s);
	if (ipm_map_open(m, "DemoMmapStructure", argv[4], IPM_EDITOR, &o) < 0 ||
	    ipm_map_resolve(m, "data_int", &a) < 0 || ipm_map_resolve(m, "data_xy.x", &x) < 0 ||
	    ipm_map_resolve(m, "data_xy.y", &y) < 0)
		goto fail;
	if (!strcmp(argv[5], "half")) {
		if (ipm_lock_write(m, -1) < 0 || ipm_set_f64(m, &x, -1) < 0)
			goto fail;
		printf("half\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	for (i = 1; i < 30000000 && (i % 64 || access(argv[6], F_OK) < 0); i++) {
		if (ipm_lock_write(m, -1) < 0 || ipm_set_i64(m, &a, i) < 0 ||
		    ipm_set_f64(m, &x, (double)i) < 0 || ipm_set_f64(m, &y, (double)i) < 0 ||
		    ipm_unlock(m) < 0)
			goto fail;
		if (i % 4096 == 0 && clock() > 30 * CLOCKS_PER_SEC)
			break;
	}
	printf("%ld\n", i);
	ipm_map_free(m);
	ipm_schema_free(s);
	return 0;
fail:
	fprintf(stderr, "w: %s\n", ipm_map_errmsg(m));
	return 1;
}
C
if ! cc -std=gnu11 -D_GNU_SOURCE -I"$ROOT/lib" -Wall -Wextra -Werror $san -o "$T/w" \
	"$T/w.c" "$ROOT/$B/libipmmap.a" $(pkg-config --libs inih) -lpthread 2>"$T/cc.log"; then
	nok "build w.c: $(cat "$T/cc.log")"
	finish
fi

ip() { t "$ROOT/$B/ipmmap" -s "$SCHEMA" -m "$MMAP" -l "$LOCKS" "$@"; }

# hold LOCKFILE: another process takes the write lock as fasteners does
# (fcntl.lockf: a POSIX lock over the whole file) and opens no section;
# held until release.
hold() {
	rm -f "$T/held" "$T/go"
	"$PYTHON" -c '
import fcntl, os, sys, time
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
end = time.monotonic() + 120
while not os.path.exists(sys.argv[3]) and time.monotonic() < end:
    time.sleep(0.02)
' "$1" "$T/held" "$T/go" &
	HOLDER=$!
	SERVERS="$SERVERS $HOLDER"
	i=0
	while [ ! -e "$T/held" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
	[ -e "$T/held" ]
}
release() {
	touch "$T/go"
	wait "$HOLDER"
}

ip create --native DemoMmapStructure -t n >/dev/null || nok "create --native"
ip create DemoMmapStructure -t c >/dev/null || nok "create (compat)"
ip set DemoMmapStructure -t n data_int 7 data_xy.x 1.5 data_xy.y 1.5 || nok "set n"
ip set DemoMmapStructure -t c data_int 8 || nok "set c"
conf "$T/m.ini" "instance = DemoMmapStructure:n" "instance = DemoMmapStructure:c"
start "$T/mnt" -o config="$T/m.ini" || { nok "mount"; finish; }
N=$T/mnt/DemoMmapStructure_n
C=$T/mnt/DemoMmapStructure_c
contains "the native instance says so" "mode = native" "$(t cat "$N/.status")"
contains "the compat one too" "mode = compat" "$(t cat "$C/.status")"
expect "both read before any lock is held" "7|8" "$(t cat "$N/data_int")|$(t cat "$C/data_int")"

# --- native: another process holds the write lock, no section open.
hold "$LOCKS/DemoMmapStructure_n.lockfile" || nok "the holder takes the lock"
# Past IPM_FOLLOW_MS, so that the mount's handles look at their file again
# (a look that must not need the lock).
sleep 1.5
v=$(timeout 10 cat "$N/data_int")
expect "native: a field reads at once under another's write lock" "0 7" "$? $v"
v=$(timeout 10 cat "$N/.values")
rc=$?
expect "native: .values reads at once" 0 "$rc"
contains "... with the last whole values" "data_int = 7
data_string = 
data_xy.x = 1.5
data_xy.y = 1.5" "$v"
v=$(timeout 10 cat "$N/header/header_code")
expect "native: a header file reads at once" "0 4392" "$? $v"
v=$(timeout 10 cat "$N/data_xy/y")
expect "native: a nested field reads at once" "0 1.5" "$? $v"
v=$(timeout 10 stat -c %s "$N/data_xy/x")
expect "native: stat of a field answers at once with the exact size" "0 4" "$? $v"
v=$(timeout 10 stat -c %s "$N/data_int")
expect "... of another field too" "0 2" "$? $v"
v=$(timeout 10 "$ROOT/$B/ipmmap" -s "$SCHEMA" -m "$MMAP" -l "$LOCKS" get DemoMmapStructure \
	-t n data_int data_xy.x)
expect "native: ipmmap get reads at once (a new handle's first read)" "0 7
1.5" "$? $v"
v=$(timeout 10 "$ROOT/$B/ipmmap" -s "$SCHEMA" -m "$MMAP" -l "$LOCKS" dump DemoMmapStructure -t n)
rc=$?
expect "native: ipmmap dump reads at once" 0 "$rc"
contains "... the last whole values" "data_int = 7" "$v"
timeout 5 "$ROOT/$B/ipmmap" -s "$SCHEMA" -m "$MMAP" -l "$LOCKS" watch DemoMmapStructure -t n \
	data_int >"$T/watch.out" 2>&1
expect "native: ipmmap watch prints at once (then waits)" "data_int = 7" "$(cat "$T/watch.out")"
v=$(timeout 10 "$PYTHON" -c '
import os, select, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.read(fd, 100)
p = select.poll()
p.register(fd, select.POLLPRI | select.POLLERR)
print(p.poll(0))
' "$N/data_xy/y")
expect "native: a first poll() answers at once (no change yet)" "0 []" "$? $v"
release
expect "a write after the holder let go" 9 "$(ip set DemoMmapStructure -t n data_int 9 &&
	t cat "$N/data_int")"

# poll() on a native instance's file: its reads take no lock, its
# notifications come as before.
mkfifo "$T/ready"
poller() {
	timeout 60 "$PYTHON" "$HELPER" poll "$1" "$2" "$T/ready" >"$T/p.out" 2>&1 &
	PP=$!
	t cat "$T/ready" >/dev/null
}
poller "$N/data_int" 20000
ip set DemoMmapStructure -t n data_int 11
wait $PP
contains "native: poll() wakes at a change, reads it, waits again" " 11 rearmed" "$(cat "$T/p.out")"
poller "$N/data_int" 1000
ip set DemoMmapStructure -t n data_xy.x 2.5
wait $PP
expect "... and not at another field's change" timeout "$(cat "$T/p.out")"
poller "$N/.values" 20000
ip set DemoMmapStructure -t n data_xy.x 1.5
wait $PP
contains "... .values wakes at any change" "changed" "$(cat "$T/p.out")"

# --- compat: the same reads still wait for the lock.
hold "$LOCKS/DemoMmapStructure_c.lockfile" || nok "the holder takes the compat lock"
timeout 1 cat "$C/data_int" >/dev/null 2>&1
expect "compat: a field read still waits for the write lock (1 s)" 124 $?
timeout 1 cat "$C/.values" >/dev/null 2>&1
expect "compat: .values too" 124 $?
timeout 1 "$ROOT/$B/ipmmap" -s "$SCHEMA" -m "$MMAP" -l "$LOCKS" get DemoMmapStructure -t c \
	data_int >/dev/null 2>&1
expect "compat: ipmmap get too" 124 $?
release
expect "compat: read once the holder let go" 8 "$(t cat "$C/data_int")"

# --- torn reads: a writer sets three fields together in a loop while
# .values is read without a lock; the writer is never starved.
rm -f "$T/stop"
"$T/w" "$SCHEMA" "$MMAP" "$LOCKS" n churn "$T/stop" >"$T/churn.out" 2>"$T/churn.log" &
CH=$!
SERVERS="$SERVERS $CH"
r=$(timeout 60 "$PYTHON" -c '
import sys, time
p, torn, seen, n = sys.argv[1], 0, set(), 0
end = time.monotonic() + 3
while n < 100000 and (time.monotonic() < end or n < 200):
    with open(p) as f:
        v = dict(l.split(" = ", 1) for l in f.read().splitlines() if " = " in l)
    a, x, y = int(v["data_int"]), float(v["data_xy.x"]), float(v["data_xy.y"])
    if not (a == x == y):
        torn += 1
    seen.add(a)
    n += 1
print(n, torn, len(seen))
' "$N/.values")
touch "$T/stop"
reap "$CH"
echo "# churn: $(cat "$T/churn.out") writes; reads torn distinct: $r"
set -- $r
[ "${1:-0}" -ge 200 ] && ok "reads of .values while a writer churns ($1)" || nok "reads: '$r'"
expect "... none torn" 0 "${2:-x}"
[ "${3:-0}" -gt 1 ] && ok "... the writer made progress under them ($3 states seen)" ||
	nok "the writer was starved: '$r'"
[ "$(cat "$T/churn.out")" -gt 1 ] 2>/dev/null && ok "the writer ran to its end" ||
	nok "the writer failed: $(cat "$T/churn.log")"

# --- a writer killed inside its section: the last whole update at once.
last=$(t cat "$N/data_xy/y")
mkfifo "$T/said"
"$T/w" "$SCHEMA" "$MMAP" "$LOCKS" n half >"$T/said" 2>"$T/half.log" &
HALF=$!
read -r said <"$T/said"
expect "the writer wrote half an update" half "$said"
kill -KILL "$HALF"
wait "$HALF" 2>/dev/null
v=$(timeout 10 cat "$N/data_xy/x")
expect "a field reads the last whole update at once" "0 $last" "$? $v"
v=$(timeout 10 cat "$N/.values")
contains ".values too" "data_xy.x = $last
data_xy.y = $last" "$v"
v=$(timeout 10 "$ROOT/$B/ipmmap" -s "$SCHEMA" -m "$MMAP" -l "$LOCKS" get DemoMmapStructure \
	-t n data_xy.x)
expect "ipmmap get too" "0 $last" "$? $v"
check "the next writer restores it" ip -w 10000 set DemoMmapStructure -t n data_int 3
expect "... and its x is whole in the file" "$last" "$(t cat "$N/data_xy/x")"
stop "$T/mnt" || nok "server exit status"
finish
