#!/bin/sh
# 04_shared.sh - another process (Python, under the fasteners lock Python
# IPMMAP takes) writing the shared memory while the mount reads: values always
# current, .values a consistent snapshot, a held write lock makes readers and
# writers wait and then see the whole update, Ctrl-C interrupts a waiting cat,
# and a lock held on one instance does not stop another.
. "$(dirname "$0")/lib.sh"

conf "$T/m.ini" "create = yes" "instance = DemoMmapStructure" "instance = DemoMmapStructure:left"
start "$T/mnt" -o config="$T/m.ini" || { nok "mount"; finish; }
D=$T/mnt/DemoMmapStructure
F=$MMAP/DemoMmapStructure_.mmap
L=$LOCKS/DemoMmapStructure_.lockfile
py() { timeout 20 "$PYTHON" "$HELPER" "$@"; }

n=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	py set "$L" "$F" i 16 "$i"
	[ "$(t cat "$D/data_int")" = "$i" ] && n=$((n + 1))
done
expect "each value written in shared memory is read at once" 10 $n
py set "$L" "$F" s 20 "from python"
expect "a string written by Python" "from python" "$(t cat "$D/data_string")"

py set "$L" "$F" i 16 0
py churn "$L" "$F" "$T/stop" &
churn=$!
bad=0 reads=0
while [ $reads -lt 40 ]; do
	v=$(t cat "$D/.values") || bad=$((bad + 1))
	a=$(echo "$v" | sed -n 's/^data_int = //p')
	b=$(echo "$v" | sed -n 's/^data_xy.x = //p')
	[ "$a.0" = "$b" ] || { bad=$((bad + 1)); echo "# snapshot: data_int '$a', data_xy.x '$b'"; }
	t cat "$D/data_int" >/dev/null || bad=$((bad + 1))
	reads=$((reads + 1))
done
touch "$T/stop"
wait $churn
expect "40 .values snapshots during a writer's loop are consistent" 0 $bad
[ "$(i32 "$F" 16)" -gt 1 ] && ok "the writer was really running ($(i32 "$F" 16) updates)" || nok "writer did not run"

mkfifo "$T/held" "$T/go"
py set "$L" "$F" i 16 0
py hold "$L" "$F" "$T/held" "$T/go" &
holder=$!
t cat "$T/held" >/dev/null
t cat "$D/.values" >"$T/out" &
reader=$!
timeout 10 bash -c 'echo 5 > "$1"' sh "$D/multi_pts/multi_data_int" &
writer=$!
# Not served, it would wait until "go" below: 10 s tells the two apart.
expect "another instance is served while one is locked" 0 "$(timeout 10 cat "$T/mnt/DemoMmapStructure_left/data_int")"
t0=$(date +%s%N)
$DEFSIG timeout -s INT 1 cat "$D/data_int" >/dev/null 2>&1
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
expect "Ctrl-C interrupts a cat waiting for the lock" 124 $rc
# 1 s of timeout, then the interrupt within a slice (100 ms): 6 s is wide.
[ $ms -lt 6000 ] && ok "... promptly (${ms} ms)" || nok "... took ${ms} ms"
sleep 0.2
check "the reader waits while the writer holds the lock" kill -0 $reader
check "so does the writer" kill -0 $writer
timeout 10 sh -c 'echo go >"$1"' sh "$T/go"
wait $holder
wait $reader
expect "the reader then sees the whole update (1)" 1 "$(grep -c '^data_int = 201$' "$T/out")"
expect "the reader then sees the whole update (2)" 1 "$(grep -c '^data_xy.x = 201.0$' "$T/out")"
wait $writer
expect "the waiting write is stored after the lock is released" 5 "$(i32 "$F" 296)"

stop "$T/mnt"
expect "clean unmount" 0 $?
finish
