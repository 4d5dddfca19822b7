#!/bin/sh
# 04_mount.sh - the mount (ipmmapfs) next to a Python peer (ctypes +
# fasteners, as IPMMAP): echo on the mount is read by Python, Python's writes
# are read by cat, and Python's write lock makes cat and echo wait for its
# whole update. Order comes from the peer's answers and /proc/locks.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
	echo "ok - skipped: the mount needs root, /dev/fuse and fusermount3"
	exit 0
fi
need_python
[ -x "$top/$B/ipmmapfs" ] || { no "$B/ipmmapfs not built"; finish; }
mount_fs && ok "ipmmapfs mounts over the python peer's directories" ||
	{ no "mount: $(cat "$T/fs.log")"; finish; }
D="$MNT/DemoMmapStructure"
cat_() { timeout $WAIT cat "$1"; }

is "python reads the header the mount's manager wrote" 4392 "$(py header | sed -n 1p)"

ts0=$(py read header.time_stamp)
echo 42 >"$D/data_int"
is "echo 42 on the mount, python reads 42" 42 "$(py read data_int)"
is "the mount's write moves python's getLastUpdate on" yes \
	"$(awk -v a="$ts0" -v b="$(py read header.time_stamp)" 'BEGIN { print (b > a) ? "yes" : "no" }')"
echo "from the mount" >"$D/data_string"
is "echo a string on the mount, python reads it" "from the mount" "$(py read data_string)"
echo 0.25 >"$D/multi_pts/multi_points/3/x"
is "echo into an array element, python reads it" 0.25 "$(py read 'multi_pts.multi_points[3].x')"

ts=$(py write data_int 7 data_string "from python")
is "cat reads python's int" 7 "$(cat_ "$D/data_int")"
is "cat reads python's string" "from python" "$(cat_ "$D/data_string")"
is "cat reads python's time_stamp" "$ts" "$(cat_ "$D/header/time_stamp")"

# Python holds the write lock: cat waits, then shows the whole update
start py "$PYTHON" "$PEER" -m "$M" -l "$L" session
send py "begin write"
expect py "python takes the write lock" "held write"
send py "set data_int 500"
expect py "python writes the first half" "ok"
background values cat "$D/.values"
wait_waiters "$LOCKFILE" 1 && ok "cat on the mount waits for python's lock in the kernel" ||
	no "cat did not wait on the lock"
alive "${PID[values]}" && [ ! -s "$T/values.out" ] && ok "and has shown nothing yet" ||
	no "cat did not wait: $(cat "$T/values.out")"
send py "set data_string whole"
expect py "python writes the second half" "ok"
send py "end"
expect py "python releases" "released"
wait "${PID[values]}"
is "cat returns after the release" 0 $?
unset "PID[values]"
is "cat shows python's whole update" "data_int = 500|data_string = whole" \
	"$(grep -E '^data_(int|string) = ' "$T/values.out" | paste -sd'|')"

# ... and echo waits too, and lands after python's block
send py "begin write"
expect py "python takes the write lock again" "held write"
background echo sh -c "echo 9 >'$D/data_int'"
wait_waiters "$LOCKFILE" 1 && ok "echo on the mount waits for python's lock" ||
	no "echo did not wait on the lock"
send py "get data_int"
expect py "python's block still sees its own value" 500
send py "end"
expect py "python releases again" "released"
wait "${PID[echo]}"
is "echo returns after the release" 0 $?
unset "PID[echo]"
is "python reads the echo made after its block" 9 "$(py read data_int)"

# a Python reader shares its read lock with cat
send py "begin read"
expect py "python takes a read lock" "held read"
is "cat reads beside python's reader" 9 "$(cat_ "$D/data_int")"
send py "end"
expect py "python releases its read lock" "released"
stop py && ok "python peer exits cleanly" || no "python peer exit status"
finish
