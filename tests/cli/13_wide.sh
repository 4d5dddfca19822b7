#!/bin/sh
# 13_wide.sh - c_wchar, c_wchar * N and c_longdouble through the command-line
# tool, against Python ctypes on the same file: `ipmmap check` gives ctypes'
# sizes and offsets (plain, packed, in a union), values set with `ipmmap set`
# read back identically through ctypes' from_buffer_copy and the reverse, bad
# text is refused with the field's path and changes nothing, dump and
# `set STRUCT FILE` round-trip, and `ipmmap header` compiles and reads the
# file in C (uint32_t code units, long double).
. "$(pwd)/tests/cli/lib.sh"
run() { "$IPMMAP" -s w.ini "$@"; }

cat >w.ini <<'INI'
[Mix : Union]
ld = c_longdouble
w = c_wchar * 6
c = c_char

[Tight]
_pack_ = 2
a = c_int8
ld = c_longdouble
w = c_wchar * 3

[Wide]
header = MmapStructureHeader
c = c_wchar
name = c_wchar * 8
names = c_wchar * 4 * 2
ld = c_longdouble
lds = c_longdouble * 2
m = Mix
p = Tight
INI
cat >classes.py <<'PY'
import ctypes as c
class MmapStructureHeader(c.Structure):
    _fields_ = [("header_code", c.c_short), ("time_stamp", c.c_double)]
class Mix(c.Union):
    _fields_ = [("ld", c.c_longdouble), ("w", c.c_wchar * 6), ("c", c.c_char)]
class Tight(c.Structure):
    _pack_ = 2
    _fields_ = [("a", c.c_int8), ("ld", c.c_longdouble), ("w", c.c_wchar * 3)]
class Wide(c.Structure):
    _fields_ = [("header", MmapStructureHeader), ("c", c.c_wchar), ("name", c.c_wchar * 8),
                ("names", c.c_wchar * 4 * 2), ("ld", c.c_longdouble),
                ("lds", c.c_longdouble * 2), ("m", Mix), ("p", Tight)]
PY
if [ -x "$PYTHON" ]; then
	same_layout "check gives ctypes' sizes and offsets of c_wchar and c_longdouble" w.ini MmapStructureHeader Mix Tight Wide
	run create Wide >/dev/null || no "create"
	run set Wide c 'é' name 'h€llo😀' 'names[1]' abcd ld 0.1 'lds[1]' -2.5e-300 m.w 'ünï' \
		p.a 7 p.ld 1e300 p.w 'x\y' || no "set wide text and long doubles"
	is "ctypes reads what ipmmap set" "'é' 'h€llo😀' ['', 'abcd'] 0.1 -2.5e-300 'ünï' 7 1e+300 'x\\\\y'" \
		"$("$PYTHON" -c '
from classes import *
t = Wide.from_buffer_copy(open(".mmap/Wide_.mmap", "rb").read())
print(repr(t.c), repr(t.name), [n.value for n in t.names], t.ld, t.lds[1], repr(t.m.w), t.p.a, t.p.ld, repr(t.p.w))')"
	"$PYTHON" -c '
from classes import *
f = open(".mmap/Wide_.mmap", "r+b")
t = Wide.from_buffer_copy(f.read())
t.c = "\u03a9"; t.name = "Zoë 🎉"; t.names[0].value = "ab"; t.ld = 1 / 3; t.m.ld = -0.5; t.p.w = "a\nb"
f.seek(0); f.write(bytes(t))' || no "ctypes writes the file"
	is "ipmmap reads what ctypes wrote" "Ω|Zoë 🎉|ab|0.33333333333333331483|-0.5" \
		"$(run get Wide c name 'names[0]' ld m.ld | paste -sd'|')"
	is "a long double Python wrote reads as the double it was" "0.3333333333333333" \
		"$("$PYTHON" -c 'print(float("'"$(run get Wide ld)"'"))')"
else
	ok "SKIPPED: no python3 for the ctypes comparison"
	run create Wide >/dev/null || no "create"
fi
before=$(run dump Wide | grep -v time_stamp)
# every refusal below leaves the instance as it was
run set Wide name 123456789 2>err.txt && no "9 characters into c_wchar * 8 are refused"
is "too long names the field" "ipmmap: name: text of 9 characters too long for wchar[8]" "$(cat err.txt)"
run set Wide c xy 2>err.txt && no "two characters into c_wchar are refused"
is "c_wchar holds one character" "ipmmap: c: text of 2 characters too long for wchar[1]" "$(cat err.txt)"
run set Wide name "$(printf 'a\355\240\200')" 2>err.txt && no "a surrogate is refused"
is "a surrogate is not UTF-8" "ipmmap: name: text is not valid UTF-8 at offset 1" "$(cat err.txt)"
run set Wide 'names[0]' "$(printf '\377')" 2>err.txt && no "bad UTF-8 is refused"
run set Wide ld 1e5000 2>err.txt && no "1e5000 is refused"
is "past long double's range" "ipmmap: ld: value 1e5000 out of range for longdouble" "$(cat err.txt)"
run set Wide ld 1e-5000 2>err.txt && no "1e-5000 is refused"
is "refused text changed nothing" "$before" "$(run dump Wide | grep -v time_stamp)"
run set Wide ld nan 'lds[0]' -inf || no "nan and inf are long doubles"
is "nan and -inf" "nan|-inf" "$(run get Wide ld 'lds[0]' | paste -sd'|')"
run dump Wide >dump.txt
run set Wide name x c y
run set Wide dump.txt || no "set Wide dump.txt"
# a union's members too: a member that says what an earlier one wrote is skipped
is "dump, then set from it, round-trips" "$(grep -v time_stamp dump.txt)" \
	"$(run dump Wide | grep -v time_stamp)"
run header >w.h 2>err.txt || no "header: $(cat err.txt)"
cat >use.c <<'C'
#include "w.h"
#include <stdio.h>
int main(void)
{
	struct Wide w;
	FILE *f = fopen(".mmap/Wide_.mmap", "rb");

	if (!f || fread(&w, sizeof(w), 1, f) != 1)
		return 1;
	printf("%u %u %Lg %d\n", (unsigned)w.name[0], (unsigned)w.p.w[0], w.lds[1], w.p.a);
	return 0;
}
C
if cc -std=c11 -o use use.c 2>cc.txt; then ok "the header compiles with its static asserts"
else no "header does not compile: $(head -5 cc.txt)"; fi
is "C reads UTF-32 code units ('Z', 'a') and a long double" "90 97 -2.5e-300 7" "$(./use)"
grep -q 'long double ld;' w.h && ok "header says long double" || no "no 'long double ld;' in the header"
grep -q 'uint32_t name\[8\];' w.h && ok "header says uint32_t name[8]" || no "no 'uint32_t name[8];' in the header"
[ $fails -eq 0 ]
