#!/bin/sh
# 18_ctypes.sh - ctypes layouts beyond plain structures on the mount: a
# union's members are each a file over the same bytes, and .values lists
# every member.
. "$(dirname "$0")/lib.sh"

SCHEMA=$T/u.ini
cat >"$SCHEMA" <<'INI'
[Num : Union]
i = c_int32
d = c_double
b = c_uint8 * 8

[Top]
header = MmapStructureHeader
a = c_int8
n = Num
INI
conf "$T/m.ini" "create = yes" "instance = Top"
start "$T/mnt" -o config="$T/m.ini" || { nok "mount"; finish; }
D=$T/mnt/Top
bw() { timeout 10 bash -c "$1" sh "$2" 2>&1; }

expect "a union is a directory of its members" "b d i" "$(ls "$D/n" | paste -sd' ')"
check "write a union member" bw 'echo 1.5 > "$1"' "$D/n/d"
expect "... its sibling shows the same bytes" "0 63" "$(t cat "$D/n/i") $(t cat "$D/n/b/7")"
v=$(t cat "$D/.values")
contains ".values lists every member (i)" "n.i = 0" "$v"
contains ".values lists every member (d)" "n.d = 1.5" "$v"
check "a member written through .values" bw 'printf "n.i = 7\n" > "$1"' "$D/.values"
expect "... overlaps the others" "7 7" "$(t cat "$D/n/i") $(t cat "$D/n/b/0")"
finish
