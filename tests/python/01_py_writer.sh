#!/bin/sh
# 01_py_writer.sh - a Python writer (ctypes + fasteners, as IPMMAP) and C
# readers (the ipmmap tool and a program on the library) on one instance:
# same layout, same values at the same offsets, same header.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
need_python
need_holder

# ctypes and the INI schema lay the structure out alike, leaf by leaf
py layout >"$T/py.layout"
"$IPMMAP" -s "$S" check | awk '/^DemoMmapStructure:/ { on = 1; next } /^[^ ]/ { on = 0 }
	on && $1 ~ /^[0-9]+$/ { print $1, $2, $4 }' >"$T/c.layout"
if [ -s "$T/py.layout" ] && cmp -s "$T/py.layout" "$T/c.layout"; then
	ok "ctypes and conf/demo.ini agree on all $(wc -l <"$T/py.layout") leaf offsets and sizes"
else
	no "layouts differ: $(diff "$T/py.layout" "$T/c.layout" | head -3 | paste -sd' ')"
fi
is "sizeof 688 and top offsets" "688 header=0 data_int=16 data_string=20 data_xy=280 multi_pts=296" "$(py size)"

# Python as the manager makes the file, Python as an editor writes it
is "python manager creates the file" "$MMFILE" "$(py create)"
ts=$(py write data_int 1234567 data_string 'héllo, C' data_xy.x 0.1 data_xy.y -2.5e-300 \
	'multi_pts.multi_points[3].x' 3.25 'multi_pts.multi_points[3].y' -7.0 multi_pts.multi_data_int -42)
[ -n "$ts" ] && ok "python editor wrote and stamped the time ($ts)" || no "python write failed: $ts"

is "C reads python's values" "1234567|héllo, C|0.1|-2.5e-300|3.25|-7.0|-42" \
	"$(ipmmap get DemoMmapStructure data_int data_string data_xy.x data_xy.y \
		'multi_pts.multi_points[3].x' 'multi_pts.multi_points[3].y' multi_pts.multi_data_int | paste -sd'|')"
is "C reads python's header_code" 4392 "$(ipmmap get DemoMmapStructure header.header_code)"
is "C reads python's time_stamp, to the bit" "$ts" "$(ipmmap get DemoMmapStructure header.time_stamp)"

# the raw bytes, read by neither side's code
raw() { od -An -v -j "$1" -N "$2" -t "$3" "$MMFILE" | tr -d ' '; }
is "header_code bytes at 0" 1128 "$(raw 0 2 x2)"
is "data_int bytes at 16" 1234567 "$(raw 16 4 d4)"
is "data_string bytes at 20" "héllo, C" "$(dd if="$MMFILE" bs=1 skip=20 count=256 2>/dev/null | tr -d '\0')"
is "multi_data_int bytes at 296" -42 "$(raw 296 4 d4)"
is "multi_points[3].x bytes at 352" "$("$PYTHON" -c 'import struct; print(struct.pack("<d", 3.25).hex())')" \
	"$(raw 352 8 x1)"

dump=$(ipmmap dump DemoMmapStructure)
is "dump has python's header" "header.header_code = 4392|header.time_stamp = $ts" \
	"$(echo "$dump" | grep '^header\.' | paste -sd'|')"
is "dump has python's points" "multi_pts.multi_points[3].x = 3.25|multi_pts.multi_points[3].y = -7.0" \
	"$(echo "$dump" | grep -F 'multi_points[3]' | paste -sd'|')"

# a C program on the library, as a reader, while Python goes on writing
start c "$HOLDER" "$S" "$M" "$L" reader DemoMmapStructure
expect c "C reader opens python's file" "open"
ts2=$(py write data_int -5 data_string "second")
send c "get data_int"
expect c "C reader sees python's next write" "-5"
send c "get data_string"
expect c "C reader sees python's string" "second"
send c "get header.time_stamp"
expect c "C reader sees python's new time_stamp" "$ts2"
is "time_stamp moved forward" yes "$(awk -v a="$ts" -v b="$ts2" 'BEGIN { print (b >= a) ? "yes" : "no" }')"
stop c && ok "C reader exits cleanly" || no "C reader exit status"
finish
