#!/bin/sh
# 03_demo.sh - the seed's demos in C: the editor writes a few cycles, the
# reader (started once the file exists) prints what the editor wrote.
set -u
B=${B:-build}
top=$(pwd)
t=$(mktemp -d)
editor=
trap '[ -n "$editor" ] && kill "$editor" 2>/dev/null; rm -rf "$t"' EXIT
cd "$t" || exit 1
fails=0

# The editor writes 4 cycles about a second apart; the reader stops after
# seeing 2 changes. We wait for its first line before starting the reader.
( "$top/$B/demo_editor" "$top/conf/demo.ini" "" 4 > editor.out 2>&1 ) &
editor=$!
for _ in $(seq 200); do grep -q '^[0-9]' editor.out 2>/dev/null && break; sleep 0.05; done
timeout 20 "$top/$B/demo_reader" "$top/conf/demo.ini" "" 2 > reader.out 2>&1
rc=$?
wait "$editor"
erc=$?
editor=
[ $rc -eq 0 ] && echo "ok - demo_reader ends after two changes" || { echo "not ok - demo_reader status $rc: $(cat reader.out)"; fails=1; }
[ $erc -eq 0 ] && echo "ok - demo_editor ends after its cycles" || { echo "not ok - demo_editor status $erc: $(cat editor.out)"; fails=1; }
[ "$(grep -c 'locked .* us$' editor.out)" -eq 4 ] && echo "ok - demo_editor prints each write with its locked time" \
	|| { echo "not ok - editor output: $(cat editor.out)"; fails=1; }
# Every line the reader printed carries values the editor wrote.
n=0
while read -r _ rest; do
	v=$(echo "$rest" | sed 's/  *$//')
	if grep -qF "$v" editor.out; then n=$((n + 1)); fi
done < reader.out
[ "$n" -eq 2 ] && echo "ok - demo_reader prints what demo_editor wrote" \
	|| { echo "not ok - reader lines not from the editor:"; cat reader.out editor.out; fails=1; }

# SIGTERM ends the editor cleanly with status 0.
( "$top/$B/demo_editor" "$top/conf/demo.ini" "" > e2.out 2>&1 ) &
editor=$!
for _ in $(seq 200); do grep -q '^[0-9]' e2.out 2>/dev/null && break; sleep 0.05; done
kill -TERM "$editor"
wait "$editor"
rc=$?
editor=
[ $rc -eq 0 ] && echo "ok - demo_editor exits 0 on SIGTERM" || { echo "not ok - SIGTERM status $rc"; fails=1; }
[ "$fails" -eq 0 ]
