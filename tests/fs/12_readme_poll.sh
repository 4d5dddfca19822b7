#!/bin/sh
# 12_readme_poll.sh - the README's Python poll() example, run as it stands
# against a mount at ./mnt: it prints the value, sleeps in poll(), and wakes
# for each new value written through the mount (and not for another field).
. "$(dirname "$0")/lib.sh"

awk '/^```python$/ { on = 1; next } /^```$/ { on = 0 } on' "$ROOT/README.md" >"$T/example.py"
grep -q 'select.POLLPRI' "$T/example.py" || { nok "README has no Python poll example"; finish; }
conf "$T/fs.ini" "create = yes" "instance = DemoMmapStructure"
start "$T/mnt" -o config="$T/fs.ini" || { nok "mount"; finish; }
D=$T/mnt/DemoMmapStructure

: >"$T/out"
(cd "$T" && exec timeout 120 "$PYTHON" example.py) >>"$T/out" 2>&1 &
py=$!
# wait_lines N: until the example has printed N lines (bounded).
wait_lines() {
	i=0
	while [ "$(wc -l <"$T/out")" -lt "$1" ] && [ $i -lt 600 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ "$(wc -l <"$T/out")" -ge "$1" ]
}
wait_lines 1 && ok "the example prints the value" || nok "no first line: $(cat "$T/out")"
t sh -c "echo 7 > '$D/data_xy/x'"  # another field: must not wake it
t sh -c "echo 11 > '$D/data_int'"
wait_lines 2 && ok "it wakes for a new value" || nok "no second line: $(cat "$T/out")"
t sh -c "echo 12 > '$D/data_int'"
wait_lines 3 && ok "... and again" || nok "no third line: $(cat "$T/out")"
t sh -c "echo 13 > '$D/data_int'"
wait "$py"
expect "it exits after three changes" 0 $?
expect "it printed each value in turn, and nothing for the other field" "0 11 12" "$(tr '\n' ' ' <"$T/out" | sed 's/ $//')"
stop "$T/mnt" || nok "server exit status 0"
finish
