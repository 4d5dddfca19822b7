#!/bin/sh
# 21_big.sh - the mount's memory does not grow with every element of a long
# array: an array of more than 1024 numbers (or strings) is one read-only
# file, one element per line (its elements are written through .values), so
# int8[2000000] costs a few nodes, not two million; shorter arrays stay
# directories. A structure that would still need more files than a mount
# shows is refused at start, naming it.
. "$(dirname "$0")/lib.sh"

SCHEMA=$FIX/big_schema.ini
conf "$T/m.ini" "create = yes" "instance = BigArr"
start "$T/mnt" -o config="$T/m.ini" || { nok "mount"; finish; }
D=$T/mnt/BigArr
rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$FSPID/status")
[ "$rss" -lt 65536 ] && ok "int8[2000000] mounted in $rss kB" || nok "int8[2000000]: the mount takes $rss kB"
check "x is one file" test -f "$D/x"
expect "... read-only" "-r--------" "$(stat -c %A "$D/x")"
expect "... one element per line" 2000000 "$(t cat "$D/x" | wc -l)"
check "... its elements are written through .values" t sh -c "printf 'x[5] = -7\nx[1999999] = 9\n' > '$D/.values'"
expect "... and read back in it" "-7" "$(t sed -n 6p "$D/x")"
expect "... the last line" 9 "$(t tail -n 1 "$D/x")"
expect "... its size is exact" "$(t cat "$D/x" | wc -c)" "$(stat -c %s "$D/x")"
refuse "... not written itself" t sh -c "echo 1 > '$D/x'"
check "double[3000] is one file" test -f "$D/y"
expect "... of 3000 lines" 3000 "$(t cat "$D/y" | wc -l)"
check "int16[1024] stays a directory" test -d "$D/w"
expect "... of 1024 files" 1024 "$(ls "$D/w" | wc -l)"
check "an array of structures stays a directory" test -f "$D/z/2/y"
stop "$T/mnt"
expect "clean unmount" 0 $?

conf "$T/p.ini" "create = yes" "instance = ManyPts"
out=$(timeout 60 "$FS" -f -o config="$T/p.ini" "$T/mnt" 2>&1)
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && ok "Pt[300000] (900,000 files): refused at start" ||
	nok "Pt[300000]: not refused (status $rc)"
contains "... naming the structure" "ManyPts" "$out"
contains "... and the limit" "262144" "$out"
mounted "$T/mnt" && fusermount3 -u -z "$T/mnt"
finish
