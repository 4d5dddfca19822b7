#!/bin/sh
# 16_poll_gone.sh - a poll(POLLPRI) on a file of an instance whose .mmap is
# removed wakes with POLLERR|POLLPRI, as sysfs does when a device goes away,
# and the read that follows answers EIO (a listed instance) or ENOENT (scan
# mode, where the removed instance leaves the mount).
. "$(dirname "$0")/lib.sh"

mkfifo "$T/ready"
# pollgone FILE: a poller in the background (PP), its output in $T/p.out;
# returns once it has read FILE and is about to wait (20 s at most).
pollgone() {
	timeout 60 "$PYTHON" "$HELPER" pollgone "$1" 20000 "$T/ready" >"$T/p.out" 2>&1 &
	PP=$!
	t cat "$T/ready" >/dev/null
}
result() {
	wait $PP
	R=$(cat "$T/p.out" | tr '\n' ',' | sed 's/,$//')
}

conf "$T/m.ini" "create = yes" "instance = DemoMmapStructure"
start "$T/mnt" -o config="$T/m.ini" || { nok "mount"; finish; }
pollgone "$T/mnt/DemoMmapStructure/data_int"
rm -f "$MMAP/DemoMmapStructure_.mmap"
result
expect "a listed instance's .mmap removed: poll wakes with POLLERR|POLLPRI, then EIO" \
	"ERR PRI,read EIO" "$R"
out=$(t cat "$T/mnt/DemoMmapStructure/.values" 2>&1)
contains "... a new open answers EIO" "Input/output error" "$out"
stop "$T/mnt"

conf "$T/scan.ini"
start "$T/mnt" -o config="$T/scan.ini" || { nok "scan mount"; finish; }
t "$ROOT/$B/ipmmap" -s "$SCHEMA" -m "$MMAP" -l "$LOCKS" -t gone create DemoMmapStructure >/dev/null
pollgone "$T/mnt/DemoMmapStructure_gone/data_int"
rm -f "$MMAP/DemoMmapStructure_gone.mmap"
result
expect "scan mode: poll wakes with POLLERR|POLLPRI, then ENOENT" "ERR PRI,read ENOENT" "$R"
stop "$T/mnt"
expect "clean unmount" 0 $?
finish
