#!/bin/sh
# 06_poll.sh - poll(), select() and epoll on field files and .values, as on
# sysfs: a change of the field (made by the library in another process, by
# a write through the mount, by a Python fasteners writer that stamps its
# update) wakes the poller, a change of another field or a write of the same
# value does not; the poller reads the new value and waits again. A file
# replaced under a new inode is served and seen by pollers; a removed one
# leaves a scan-mode mount. SIGTERM with pollers waiting ends cleanly.
. "$(dirname "$0")/lib.sh"

conf "$T/m.ini" "create = yes" "instance = DemoMmapStructure"
start "$T/mnt" -o config="$T/m.ini" || { nok "mount"; finish; }
D=$T/mnt/DemoMmapStructure
F=$MMAP/DemoMmapStructure_.mmap
L=$LOCKS/DemoMmapStructure_.lockfile
mkfifo "$T/ready"
cli() { t "$ROOT/$B/ipmmap" -s "$SCHEMA" -m "$MMAP" -l "$LOCKS" "$@" >/dev/null; }
set_() { cli set DemoMmapStructure "$@"; }

# poller FILE MS [poll|select|epoll]: a Python waiter in the background (PP),
# output in $T/p.out; returns once it has read FILE and is about to wait.
poller() {
	timeout 60 "$PYTHON" "$HELPER" poll "$1" "$2" "$T/ready" "${3:-poll}" >"$T/p.out" 2>&1 &
	PP=$!
	t cat "$T/ready" >/dev/null
}
# result: waits for the poller (not in a subshell: it is this shell's child).
result() {
	wait $PP
	R=$(cat "$T/p.out")
}
ms_since() { echo $((($(sed -n 's/^changed \([0-9]*\) .*/\1/p' "$T/p.out") - $1) / 1000000)); }

set_ data_int 1
poller "$D/data_int" 20000
set_ data_int 7
result
contains "poll() on a field wakes when another process sets it (library)" "changed" "$R"
contains "... reads the new value after seek 0, and waits again" " 7 rearmed" "$(cat "$T/p.out")"

poller "$D/data_int" 1000
set_ data_xy.x 1.5
result
expect "... a change of another field does not wake it" timeout "$R"
poller "$D/data_int" 1000
set_ data_int 7
result
expect "... nor a write of the same value" timeout "$R"

poller "$D/data_int" 20000
timeout 10 sh -c 'echo 8 >"$1"' sh "$D/data_int"
result
contains "a write through the mount wakes it" " 8 rearmed" "$R"

poller "$D/.values" 20000
set_ data_xy.y 2.5
result
contains ".values wakes on a change of any field" "data_xy.y = 2.5" "$R"

poller "$D/data_xy/x" 20000 select
set_ data_xy.x 3.5
result
contains "select() on the exceptional set wakes" " 3.5 rearmed" "$R"
poller "$D/data_xy/x" 1000 select
set_ data_xy.y 4.5
result
expect "... and only for its field" timeout "$R"

# A Python IPMMAP writer does not know the futex: seen through time_stamp,
# documented within IPM_WAIT_POLL_MS (20 ms) plus scheduling delay.
worst=0
for i in 1 2 3; do
	poller "$D/data_string" 20000 epoll
	t0=$(timeout 20 "$PYTHON" "$HELPER" stamp "$L" "$F" s 20 "py$i")
	result
	case $R in *" py$i rearmed"*) ms=$(ms_since "$t0") ;; *) ms=9999 ;; esac
	[ "$ms" -gt "$worst" ] && worst=$ms
done
# Documented: 20 ms plus scheduling; a loaded 2-core machine adds seconds.
[ "$worst" -lt 5000 ] && ok "epoll sees a Python fasteners writer's stamped change (worst ${worst} ms of 3)" ||
	nok "Python writer's change seen after ${worst} ms (documented: 20 ms + scheduling)"

# The writer loads libipmmap.so into Python: a sanitized one cannot be.
LIBSO=$ROOT/$B/libipmmap.so
nm -D "$LIBSO" 2>/dev/null | grep -q __asan_init && LIBSO=$ROOT/build/libipmmap.so
if [ -f "$LIBSO" ] && ! nm -D "$LIBSO" 2>/dev/null | grep -q __asan_init; then
	out=$(timeout 60 "$PYTHON" "$HELPER" latency "$D/data_int" "$LIBSO" "$SCHEMA" "$MMAP" "$LOCKS" 50 2>&1)
	med=$(echo "$out" | sed -n 's/.*median_us \([0-9]*\).*/\1/p')
	# A figure for the log; the bound only catches a wake-up that never came.
	[ -n "$med" ] && [ "$med" -lt 1000000 ] && ok "wake-up after a library writer's write: $out" || nok "wake-up latency: $out"
else
	ok "SKIPPED wake-up latency: no unsanitized libipmmap.so to load into Python"
fi

# A manager re-creating a wrong-size file renames a new one into place: the
# mount serves the new file within about a second, and pollers see it.
set_ data_int 5
poller "$D/data_int" 20000
cp "$F" "$T/new.mmap"
"$PYTHON" "$HELPER" put "$T/new.mmap" i 16 4242
mv "$T/new.mmap" "$F"
result
contains "a poller sees a file replaced under a new inode" " 4242 rearmed" "$R"
i=0
while [ "$(t cat "$D/data_int")" != 4242 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
expect "... and cat reads the new file" 4242 "$(t cat "$D/data_int")"
check "... writes reach it" timeout 10 sh -c 'echo 4343 >"$1"' sh "$D/data_int"
expect "... in the new file" 4343 "$(i32 "$F" 16)"

# Pollers waiting while the server stops: no hang, exit 0, pollers released.
timeout 60 "$PYTHON" "$HELPER" poll "$D/data_int" 30000 "$T/ready" >"$T/p1.out" 2>&1 &
p1=$!
t cat "$T/ready" >/dev/null
timeout 60 "$PYTHON" "$HELPER" poll "$D/.values" 30000 "$T/ready" epoll >"$T/p2.out" 2>&1 &
p2=$!
t cat "$T/ready" >/dev/null
t0=$(date +%s%N)
kill -TERM "$FSPID"
reap "$FSPID"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
expect "SIGTERM with pollers waiting: exit status 0" 0 $rc
[ $ms -lt 10000 ] && ok "... promptly (${ms} ms)" || nok "... took ${ms} ms"
wait $p1
r1=$?
wait $p2
r2=$?
[ $r1 -ne 124 ] && [ $r2 -ne 124 ] && ok "... the pollers are released" || nok "pollers still waiting ($r1 $r2)"
mounted "$T/mnt" && nok "... still mounted" || ok "... unmounted"

# Scan mode: a removed file leaves the listing and its files; back, it is
# shown again.
conf "$T/scan.ini"
start "$T/mnt" -o config="$T/scan.ini" || { nok "scan mount"; finish; }
cli -t gone create DemoMmapStructure
contains "scan mode shows a new file" "DemoMmapStructure_gone" "$(t ls "$T/mnt")"
cli -t gone set DemoMmapStructure data_int 12
expect "... and reads it" 12 "$(t cat "$T/mnt/DemoMmapStructure_gone/data_int")"
rm -f "$MMAP/DemoMmapStructure_gone.mmap"
case $(t ls "$T/mnt") in *_gone*) nok "a removed file leaves the listing" ;; *) ok "a removed file leaves the listing" ;; esac
i=0
while t cat "$T/mnt/DemoMmapStructure_gone/data_int" >/dev/null 2>&1 && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
out=$(t cat "$T/mnt/DemoMmapStructure_gone/data_int" 2>&1) && nok "... and its files: $out" ||
	contains "... and its files answer ENOENT" "No such file" "$out"
cli -t gone create DemoMmapStructure
cli -t gone set DemoMmapStructure data_int 13
contains "... made again, it is shown again" "DemoMmapStructure_gone" "$(t ls "$T/mnt")"
i=0
while [ "$(t cat "$T/mnt/DemoMmapStructure_gone/data_int" 2>/dev/null)" != 13 ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
expect "... and reads the new file" 13 "$(t cat "$T/mnt/DemoMmapStructure_gone/data_int")"
stop "$T/mnt"
expect "clean unmount" 0 $?
finish
