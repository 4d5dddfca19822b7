#!/bin/sh
# 07_make_demo.sh - what `make demo` runs (demo/run.sh) comes up, shows the
# demo editor's values through the mount, refuses bad text, and cleans up.
set -u
B=${B:-build}
t=$(mktemp -d)
mnt="$t/mnt"
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	grep -qs " $mnt " /proc/self/mountinfo && fusermount3 -u -z "$mnt"
	rm -rf "$t"
}
trap cleanup EXIT
fails=0
ok() { echo "ok - $1"; }
no() { echo "not ok - $1"; fails=$((fails + 1)); }

# In a directory of its own (a copy of conf/), so that its .mmap is its own.
top=$(pwd)
cp -r conf "$t/conf"
(cd "$t" && B="$top/$B" DEMO_MNT="$mnt" DEMO_SECONDS=30 exec sh "$top/demo/run.sh") >"$t/log" 2>&1 &
pid=$!
for _ in $(seq 200); do
	grep -q 'Ctrl-C here stops' "$t/log" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
d="$mnt/DemoMmapStructure"
if [ -f "$d/data_int" ]; then
	ok "the demo mounts the demo structure"
else
	no "demo did not mount: $(cat "$t/log")"
	exit 1
fi
# The editor rewrites the values about once a second: wait for a change.
first=$(cat "$d/data_string")
for _ in $(seq 60); do
	[ "$(cat "$d/data_string")" != "$first" ] && break
	sleep 0.1
done
[ "$(cat "$d/data_string")" != "$first" ] && ok "the demo editor's writes show through the mount" \
	|| no "data_string never changed"
# The editor prints a value just after writing it: give the line a moment.
v=$(cat "$d/data_string")
for _ in $(seq 20); do grep -qF "data_string=$v" "$t/log" && break; sleep 0.05; done
grep -qF "data_string=$v" "$t/log" && ok "the mount shows what the editor printed" \
	|| no "value $v not in the editor's output"
timeout 5 bash -c "echo abc > '$d/data_int'" 2>/dev/null && no "bad text accepted" || ok "bad text refused"
kill -INT "$pid"
wait "$pid"
pid=
grep -qs " $mnt " /proc/self/mountinfo && no "still mounted after Ctrl-C" || ok "Ctrl-C unmounts"
grep -q 'demo stopped' "$t/log" && ok "the demo stops cleanly" || no "no clean stop: $(tail -3 "$t/log")"
[ "$fails" -eq 0 ]
