#!/bin/sh
# 02_c_writer.sh - C writers (the ipmmap tool and a program on the library)
# and a Python reader (ctypes + fasteners, as IPMMAP) on one instance; a file
# made by the C manager is good for Python and one made by Python is good for
# the C editor and reader.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
need_python
need_holder

# the C manager makes the file; Python takes it as it is
is "C manager creates the file" "$MMFILE" "$(ipmmap create DemoMmapStructure)"
cts=$(ipmmap get DemoMmapStructure header.time_stamp)
is "python reads the C manager's header" "4392|$cts" "$(py header | paste -sd'|')"
is "python reads a fresh file as zeros" "0||0.0" "$(py read data_int data_string 'multi_pts.multi_points[23].y' | paste -sd'|')"

# the ipmmap tool writes
ipmmap set DemoMmapStructure data_int -77 data_string 'from C, ünïcode' data_xy.y 1e+300 \
	'multi_pts.multi_points[23].y' 0.5 multi_pts.multi_data_int 2147483647
is "python reads ipmmap set" "-77|from C, ünïcode|1e+300|0.5|2147483647" \
	"$(py read data_int data_string data_xy.y 'multi_pts.multi_points[23].y' multi_pts.multi_data_int | paste -sd'|')"
ipmmap touch DemoMmapStructure
is "python reads ipmmap touch's time_stamp" "$(ipmmap get DemoMmapStructure header.time_stamp)" \
	"$(py read header.time_stamp)"

# a C program on the library writes under its write lock
start c "$HOLDER" "$S" "$M" "$L" editor DemoMmapStructure
expect c "C editor opens" "open"
send c "begin write"
expect c "C editor takes the write lock" "held write"
for cmd in "set data_int 31337" "set multi_pts.multi_points[0].x -0.125" "set data_xy.x 0.1" "touch"; do
	send c "$cmd"
	expect c "C editor: $cmd" "ok"
done
send c "end"
expect c "C editor releases" "released"
is "python reads the library's writes" "31337|-0.125|0.1" \
	"$(py read data_int 'multi_pts.multi_points[0].x' data_xy.x | paste -sd'|')"
send c "get header.time_stamp"
is "python reads the library's time_stamp" "$(answer c)" "$(py read header.time_stamp)"
stop c && ok "C editor exits cleanly" || no "C editor exit status"

ipmmap clear DemoMmapStructure
is "python reads ipmmap clear: zeros, header_code kept" "4392|0.0|0|" \
	"$(py read header.header_code header.time_stamp data_int data_string | paste -sd'|')"

# a file whose header a Python process zeroed (a clear of the whole buffer):
# a cleared instance for C, read as zeros; the next C write restores the code
"$PYTHON" -c 'import sys; f = open(sys.argv[1], "r+b"); f.write(bytes(688)); f.close()' "$MMFILE"
is "C reads a zeroed header as a cleared instance" "0|0|0.0" \
	"$(ipmmap get DemoMmapStructure header.header_code data_int header.time_stamp | paste -sd'|')"
ipmmap set DemoMmapStructure data_int 3
is "the next C write restores the code for both" "4392|4392|3" \
	"$(ipmmap get DemoMmapStructure header.header_code)|$(py header | sed -n 1p)|$(py read data_int)"
# a header_code that is neither 0 nor 0x1128 is still someone else's file
"$PYTHON" -c 'import sys; f = open(sys.argv[1], "r+b"); f.write(b"\x01\x00"); f.close()' "$MMFILE"
ipmmap get DemoMmapStructure data_int 2>"$T/err" >/dev/null
is "C refuses a foreign header_code" 1 $?
is "and says why" "ipmmap: $MMFILE: header_code 0x0001, expected 0x1128" "$(cat "$T/err")"
ipmmap create DemoMmapStructure >/dev/null
is "the C manager restores it for both" "4392|4392" \
	"$(ipmmap get DemoMmapStructure header.header_code)|$(py header | sed -n 1p)"

# tags name the same files on both sides
"$IPMMAP" -s "$S" -m "$M" -l "$L" -t left create DemoMmapStructure >/dev/null
"$IPMMAP" -s "$S" -m "$M" -l "$L" -t left set DemoMmapStructure data_int 8
is "python finds a tagged instance" 8 "$(py -t left read data_int)"
is "tagged lock file named as fasteners names it" yes \
	"$([ -f "$L/DemoMmapStructure_left.lockfile" ] && echo yes)"

# Python as the manager makes the file; C takes it
M2="$T/py-mmap" L2="$T/py-locks"
is "python manager creates in fresh dirs" "$M2/DemoMmapStructure_.mmap" \
	"$(timeout $WAIT "$PYTHON" "$PEER" -m "$M2" -l "$L2" create)"
is "python's file is exactly sizeof" 688 "$(stat -c %s "$M2/DemoMmapStructure_.mmap")"
is "python's lock file is where C looks" yes "$([ -f "$L2/DemoMmapStructure_.lockfile" ] && echo yes)"
c2() { timeout $WAIT "$IPMMAP" -s "$S" -m "$M2" -l "$L2" "$@"; }
is "C reads python's header_code" 4392 "$(c2 get DemoMmapStructure header.header_code)"
now=$(date +%s.%N)
is "python stamped the creation time" yes \
	"$(awk -v a="$(c2 get DemoMmapStructure header.time_stamp)" -v b="$now" \
		'BEGIN { d = b - a; print (d >= 0 && d < 10) ? "yes" : "no (" d ")" }')"
start e "$HOLDER" "$S" "$M2" "$L2" editor DemoMmapStructure
expect e "C editor opens python's file" "open"
send e "set data_string written by C"
expect e "C editor writes python's file" "ok"
stop e
start r "$HOLDER" "$S" "$M2" "$L2" reader DemoMmapStructure
expect r "C reader opens python's file" "open"
send r "get data_string"
expect r "C reader reads it back" "written by C"
stop r
is "python reads C's write to its file" "written by C" \
	"$(timeout $WAIT "$PYTHON" "$PEER" -m "$M2" -l "$L2" read data_string)"
start m "$HOLDER" "$S" "$M2" "$L2" manager DemoMmapStructure
expect m "C manager keeps python's good file" "open"
stop m
is "C manager did not re-create it" "written by C" "$(c2 get DemoMmapStructure data_string)"
finish
