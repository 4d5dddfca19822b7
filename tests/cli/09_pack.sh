#!/bin/sh
# 09_pack.sh - "_pack_ = N" and the platform-sized ctypes spellings through
# the command-line tool: `ipmmap check` gives the sizes and offsets Python
# ctypes gives, and `ipmmap header` a C header whose static asserts hold.
. "$(pwd)/tests/cli/lib.sh"

cat >p.ini <<'INI'
[P1]
_pack_ = 1
a = c_int8
b = c_int64
c = c_short

[P2]
_pack_ = 2
a = c_char
b = c_double
p = P1 * 2
n = c_size_t

[Top]
header = MmapStructureHeader
p = P2
m = c_ssize_t
t = c_time_t
INI
cat >classes.py <<'PY'
import ctypes as c
class MmapStructureHeader(c.Structure):
    _fields_ = [("header_code", c.c_short), ("time_stamp", c.c_double)]
class P1(c.Structure):
    _pack_ = 1
    _fields_ = [("a", c.c_int8), ("b", c.c_int64), ("c", c.c_short)]
class P2(c.Structure):
    _pack_ = 2
    _fields_ = [("a", c.c_char), ("b", c.c_double), ("p", P1 * 2), ("n", c.c_size_t)]
class Top(c.Structure):
    _fields_ = [("header", MmapStructureHeader), ("p", P2), ("m", c.c_ssize_t),
                ("t", getattr(c, "c_time_t", c.c_int64))]
PY
if [ -x "$PYTHON" ]; then
	same_layout "check gives ctypes' sizes and offsets" p.ini MmapStructureHeader P1 P2 Top
else
	ok "SKIPPED: no python3 for the ctypes comparison"
fi
"$IPMMAP" -s p.ini header >p.h 2>err.txt || no "header: $(cat err.txt)"
printf '#include "p.h"\nint main(void) { return 0; }\n' >use.c
if cc -std=c11 -c use.c -o use.o 2>cc.txt; then ok "the header of packed structures compiles with its static asserts"
else no "header does not compile: $(head -5 cc.txt)"; fi
[ $fails -eq 0 ]
