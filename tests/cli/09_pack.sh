#!/bin/sh
# 09_pack.sh - "_pack_ = N" and the platform-sized ctypes spellings through
# the command-line tool: `ipmmap check` gives the sizes and offsets Python
# ctypes gives, and `ipmmap header` a C header whose static asserts hold.
set -u
B=${B:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
top=$(pwd)
IPMMAP="$top/$B/ipmmap"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
cd "$t" || exit 1
fails=0
ok() { printf 'ok - %s\n' "$1"; }
no() { printf 'not ok - %s\n' "$1"; fails=$((fails + 1)); }

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
"$IPMMAP" -s p.ini check >check.txt 2>&1 || no "check: $(cat check.txt)"
got=$(awk '/^[A-Za-z]/ { s = $1; sub(":", "", s); print s, $3 } /^ +[0-9]/ { print s "." $4, $1 }' check.txt | sed 's/,$//')
if [ -x "$PYTHON" ]; then
	want=$("$PYTHON" - <<'PY'
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
def leaves(cls, prefix, base):
    for name, typ in cls._fields_:
        yield from walk(typ, prefix + name, base + getattr(cls, name).offset)
def walk(typ, path, off):
    if issubclass(typ, c.Structure):
        yield from leaves(typ, path + ".", off)
    elif issubclass(typ, c.Array) and typ._type_ is not c.c_char:
        for i in range(typ._length_):
            yield from walk(typ._type_, f"{path}[{i}]", off + i * c.sizeof(typ._type_))
    else:
        yield path, off
for cls in (MmapStructureHeader, P1, P2, Top):
    print(cls.__name__, c.sizeof(cls))
    for path, off in leaves(cls, "", 0):
        print(f"{cls.__name__}.{path}", off)
PY
)
	if [ "$got" = "$want" ]; then ok "check gives ctypes' sizes and offsets"; else
		no "check differs from ctypes:"; printf '%s\n' "$got" >got.txt; printf '%s\n' "$want" >want.txt
		diff want.txt got.txt | sed 's/^/# /'
	fi
else
	ok "SKIPPED: no python3 for the ctypes comparison"
fi
"$IPMMAP" -s p.ini header >p.h 2>err.txt || no "header: $(cat err.txt)"
printf '#include "p.h"\nint main(void) { return 0; }\n' >use.c
if cc -std=c11 -c use.c -o use.o 2>cc.txt; then ok "the header of packed structures compiles with its static asserts"
else no "header does not compile: $(head -5 cc.txt)"; fi
[ $fails -eq 0 ]
