#!/bin/sh
# 19_status_bounds.sh - .status answers in every case, never an error and
# never after a long wait: a listed instance whose .mmap was removed reads as
# "state = damaged (...)"; while another process holds the write lock for a
# long time, cat .status comes back within a bounded time saying
# "state = busy (...)", and says "ok" again once the lock is free.
. "$(dirname "$0")/lib.sh"

conf "$T/m.ini" "create = yes" "instance = DemoMmapStructure"
start "$T/mnt" -o config="$T/m.ini" || { nok "mount"; finish; }
D=$T/mnt/DemoMmapStructure
F=$MMAP/DemoMmapStructure_.mmap
L=$LOCKS/DemoMmapStructure_.lockfile
state() { t cat "$1/.status" | sed -n 's/^state = //p'; }

expect "a sound instance: ok" ok "$(state "$D")"

# Held for good: .status must not wait for it.
rm -f "$T/held"
mkfifo "$T/go"
"$PYTHON" "$HELPER" hold "$L" "$F" "$T/held" "$T/go" &
holder=$!
i=0
while [ ! -s "$T/held" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
start_s=$(date +%s)
s=$(timeout 20 cat "$D/.status")
rc=$?
took=$(($(date +%s) - start_s))
expect "cat .status under a write lock held for good: answers" 0 "$rc"
contains "... state = busy" "state = busy (" "$s"
[ "$took" -le 10 ] && ok "... within a bounded time (${took} s)" || nok "... took ${took} s"
contains "... stat of .status answers too" "$(echo "$s" | wc -c)" "$(timeout 20 stat -c %s "$D/.status")"
echo go >"$T/go"
wait $holder
expect "... the lock free again: ok" ok "$(state "$D")"

# The file removed under a listed instance.
mv "$F" "$T/saved"
s=$(t cat "$D/.status" 2>&1)
contains ".mmap removed: .status reads state = damaged" "state = damaged (" "$s"
contains "... naming the file" "$F" "$s"
mv "$T/saved" "$F"
i=0
while [ "$(state "$D")" != ok ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
expect "... back: ok" ok "$(state "$D")"

stop "$T/mnt"
expect "clean unmount" 0 $?
finish
