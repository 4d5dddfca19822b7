#!/bin/sh
# 18_ctypes.sh - ctypes layouts beyond plain structures on the mount: a
# union's members are each a file over the same bytes, and .values lists
# every member; a bit field's file refuses a value wider than its bits.
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
lo = c_uint8 : 3
hi = c_uint8 : 5
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
check "a bit field's file takes a value of its bits" bw 'echo 31 > "$1"' "$D/hi"
refuse "... and refuses one bit too wide" bw 'echo 32 > "$1"' "$D/hi"
check "its neighbour's file" bw 'echo 5 > "$1"' "$D/lo"
expect "... neither moved the other" "5 31" "$(t cat "$D/lo") $(t cat "$D/hi")"
contains ".values lists bit fields" "hi = 31" "$(t cat "$D/.values")"
finish
