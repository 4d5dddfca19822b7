#!/bin/sh
# 10_ctypes.sh - ctypes layouts beyond plain structures (unions) through the
# command-line tool, against Python ctypes on the same file: `ipmmap check`
# gives ctypes' offsets, values set with `ipmmap set` read back identically
# through ctypes' from_buffer_copy, and bytes ctypes writes read back through
# `ipmmap get`; `ipmmap header` compiles with gcc and its static asserts.
. "$(pwd)/tests/cli/lib.sh"
run() { "$IPMMAP" -s u.ini "$@"; }

cat >u.ini <<'INI'
[Num : Union]
i = c_int32
d = c_double
b = c_uint8 * 8
s = c_char * 5

[Small : Union]
_pack_ = 1
a = c_int16
q = c_int64
c = c_char * 9

[Top]
header = MmapStructureHeader
a = c_int8
n = Num
m = Small * 2
z = c_uint16
INI
cat >classes.py <<'PY'
import ctypes as c
class MmapStructureHeader(c.Structure):
    _fields_ = [("header_code", c.c_short), ("time_stamp", c.c_double)]
class Num(c.Union):
    _fields_ = [("i", c.c_int32), ("d", c.c_double), ("b", c.c_uint8 * 8), ("s", c.c_char * 5)]
class Small(c.Union):
    _pack_ = 1
    _fields_ = [("a", c.c_int16), ("q", c.c_int64), ("c", c.c_char * 9)]
class Top(c.Structure):
    _fields_ = [("header", MmapStructureHeader), ("a", c.c_int8), ("n", Num),
                ("m", Small * 2), ("z", c.c_uint16)]
PY
if [ -x "$PYTHON" ]; then
	same_layout "check gives ctypes' sizes and offsets of unions" u.ini MmapStructureHeader Num Small Top
	run create Top >/dev/null || no "create"
	run set Top a -3 n.d 1.5 'm[0].q' 72623859790382856 'm[1].c' abcdefghi z 65535 ||
		no "set union members"
	is "a union member reads what its sibling wrote (ipmmap)" "0|248|63|1800" \
		"$(run get Top n.i 'n.b[6]' 'n.b[7]' 'm[0].a' | paste -sd'|')"
	is "ctypes reads what ipmmap set" "-3 1.5 0 248 1800 72623859790382856 b'abcdefghi' 65535" \
		"$("$PYTHON" -c '
from classes import *
t = Top.from_buffer_copy(open(".mmap/Top_.mmap", "rb").read())
print(t.a, t.n.d, t.n.i, t.n.b[6], t.m[0].a, t.m[0].q, t.m[1].c, t.z)')"
	"$PYTHON" -c '
import ctypes
from classes import *
f = open(".mmap/Top_.mmap", "r+b")
t = Top.from_buffer_copy(f.read())
t.n.i = -7; t.m[1].a = 0x4142; t.z = 7
f.seek(0); f.write(bytes(t))' || no "ctypes writes the file"
	is "ipmmap reads what ctypes wrote" "-7|249|BAcdefghi|7" \
		"$(run get Top n.i 'n.b[0]' 'm[1].c' z | paste -sd'|')"
else
	ok "SKIPPED: no python3 for the ctypes comparison"
fi
run header >u.h 2>err.txt || no "header: $(cat err.txt)"
printf '#include "u.h"\nint main(void) { return 0; }\n' >use.c
if cc -std=c11 -c use.c -o use.o 2>cc.txt; then ok "the header of unions compiles with its static asserts"
else no "header does not compile: $(head -5 cc.txt)"; fi
grep -q '^union Num {' u.h && ok "header declares a C union" || no "no 'union Num' in the header"
[ $fails -eq 0 ]
