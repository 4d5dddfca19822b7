#!/bin/sh
# 05_watch.sh - `ipmmap watch`: the current values first, then a line for
# each watched field that changes (a change of another field prints
# nothing), -n stops after N changes, SIGTERM ends it with status 0, and a
# Python writer's change (bytes and time_stamp only) is printed too.
set -u
B=${B:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
top=$(pwd)
t=$(mktemp -d)
w=
trap '[ -n "$w" ] && kill "$w" 2>/dev/null; rm -rf "$t"' EXIT
cd "$t" || exit 1
fails=0
ipmmap="$top/$B/ipmmap"
schema="$top/conf/demo.ini"
ipm() { "$ipmmap" -s "$schema" "$@"; }
ok() { echo "ok - $1"; }
nok() { echo "not ok - $1"; fails=$((fails + 1)); }

# Yields until file $1 has $2 lines (10 s at most).
lines() {
	for _ in $(seq 200); do
		[ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

ipm create DemoMmapStructure > /dev/null || { nok "create"; exit 1; }

# Started without the shell function, so that $! is ipmmap itself.
"$ipmmap" -s "$schema" -n 2 watch DemoMmapStructure data_int data_xy > w.out 2> w.err &
w=$!
lines w.out 3 && ok "watch prints the current values" || nok "no initial values: $(cat w.out w.err)"
ipm set DemoMmapStructure data_string unwatched
ipm set DemoMmapStructure data_int 5
lines w.out 4 && ok "watch prints a change" || nok "change not printed: $(cat w.out w.err)"
ipm set DemoMmapStructure data_xy.x 1.5
for _ in $(seq 200); do kill -0 "$w" 2>/dev/null || break; sleep 0.05; done
wait "$w"
rc=$?
w=
[ $rc -eq 0 ] && ok "watch -n 2 ends after two changes" || nok "watch status $rc: $(cat w.err)"
printf 'data_int = 0\ndata_xy.x = 0.0\ndata_xy.y = 0.0\ndata_int = 5\ndata_xy.x = 1.5\n' > want
cmp -s want w.out && ok "watch prints only the watched fields that changed" \
	|| { nok "watch output:"; diff want w.out; }

# Without -n it runs until SIGTERM, and exits 0.
"$ipmmap" -s "$schema" watch DemoMmapStructure data_int > w2.out 2>&1 &
w=$!
lines w2.out 1
kill -TERM "$w"
wait "$w"
rc=$?
w=
[ $rc -eq 0 ] && ok "watch exits 0 on SIGTERM" || nok "SIGTERM status $rc"

# A Python IPMMAP-style writer: fasteners write lock, bytes, time_stamp.
if [ -x "$PYTHON" ] && "$PYTHON" -c 'import fasteners' 2>/dev/null; then
	"$ipmmap" -s "$schema" -n 1 watch DemoMmapStructure data_int > w3.out 2>&1 &
	w=$!
	lines w3.out 1
	"$PYTHON" - <<'PY'
import mmap, struct, time, fasteners
rw = fasteners.InterProcessReaderWriterLock('.fasteners/DemoMmapStructure_.lockfile')
with rw.write_lock():
    with open('.mmap/DemoMmapStructure_.mmap', 'r+b') as fp:
        mm = mmap.mmap(fp.fileno(), 0)
        struct.pack_into('i', mm, 16, 77)
        struct.pack_into('d', mm, 8, time.time())
        mm.close()
PY
	for _ in $(seq 200); do kill -0 "$w" 2>/dev/null || break; sleep 0.05; done
	wait "$w"
	rc=$?
	w=
	[ $rc -eq 0 ] && [ "$(tail -n 1 w3.out)" = "data_int = 77" ] \
		&& ok "watch sees a Python writer's change" || nok "python change: status $rc, $(cat w3.out)"
else
	ok "# SKIP python3 with fasteners not found"
fi

# Usage and errors.
ipm watch DemoMmapStructure > /dev/null 2>&1
[ $? -eq 2 ] && ok "watch without a path is a usage error" || nok "watch without a path"
out=$(ipm watch DemoMmapStructure nosuch 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q "nosuch" && ok "watch names a bad path" || nok "bad path: $out"
out=$(ipm -n 0 watch DemoMmapStructure data_int 2>&1)
[ $? -eq 1 ] && ok "watch refuses -n 0" || nok "-n 0: $out"
[ "$fails" -eq 0 ]
