#!/bin/sh
# 11_bitfields.sh - bit fields ("x = c_uint32 : 3") through the command-line
# tool, checked through bytes: values `ipmmap set` writes read back through
# gcc's bit fields (the generated header) and ctypes' (from_buffer_copy), and
# the reverse; a value one bit too wide is refused and no neighbour moves.
. "$(pwd)/tests/cli/lib.sh"
run() { "$IPMMAP" -s bf.ini "$@"; }

# Top mixes what gcc packs differently from ctypes before Python 3.13 (a
# smaller unit after a larger, a plain field in a unit's spare bytes); Same
# keeps to what both place alike.
cat >bf.ini <<'INI'
[Top]
header = MmapStructureHeader
x = c_uint8 : 4
y = c_uint32 : 10
z = c_uint16 : 7
s = c_int32 : 5
w = c_uint64 : 40
q = c_uint8

[Same]
header = MmapStructureHeader
a = c_uint32 : 3
b = c_uint32 : 5
c = c_int32 : 20
d = c_uint32 : 8
k = c_uint32 : 24
p = c_int16
e = c_uint16 : 9
f = c_uint16 : 7
r = c_int16
g = c_int64 : 33
INI
paths="x y z s w q"
run header >bf.h 2>err.txt || no "header: $(cat err.txt)"
cat >gcc.c <<'C'
#include "bf.h"
#include <stdio.h>
#include <string.h>
/* gcc.c r FILE: print Top's fields; gcc.c w FILE: write known values */
int main(int argc, char **argv)
{
	struct Top v;
	FILE *f = fopen(argv[2], "r+b");

	if (argc != 3 || !f || fread(&v, sizeof(v), 1, f) != 1)
		return 1;
	if (argv[1][0] == 'r') {
		printf("%u %u %u %d %llu %u\n", v.x, v.y, v.z, v.s, (unsigned long long)v.w, v.q);
		return 0;
	}
	v.x = 9; v.y = 1000; v.z = 100; v.s = -16; v.w = 1099511627775ULL; v.q = 200;
	rewind(f);
	return fwrite(&v, sizeof(v), 1, f) != 1 || fclose(f);
}
C
cc -std=gnu11 -o gcc gcc.c 2>cc.txt && ok "the header of bit fields compiles with its static asserts" ||
	no "header does not compile: $(head -5 cc.txt)"
run create Top >/dev/null && run create Same >/dev/null || no "create"
run set Top x 15 y 1023 z 127 s -16 w 1099511627775 q 255 || no "set the largest values"
is "gcc reads what ipmmap set" "15 1023 127 -16 1099511627775 255" "$(./gcc r .mmap/Top_.mmap)"
run set Top x 5 y 0 z 1 s 15 w 0 q 7 || no "set small values"
is "... and again (no stale bits)" "5 0 1 15 0 7" "$(./gcc r .mmap/Top_.mmap)"
./gcc w .mmap/Top_.mmap || no "gcc writes the file"
is "ipmmap reads what gcc wrote" "9|1000|100|-16|1099511627775|200" "$(run get Top $paths | paste -sd'|')"
before=$(run get Top $paths | paste -sd'|')
run set Top x 16 2>err.txt && no "x = 16 (5 bits) accepted in 4 bits" ||
	is "a value one bit too wide is refused" "ipmmap: x: value 16 out of range for 4 bits (0..15)" "$(cat err.txt)"
run set Top s -17 2>/dev/null && no "s = -17 accepted in 5 signed bits" || ok "a signed value one bit too wide is refused"
is "... and no neighbour moved" "$before" "$(run get Top $paths | paste -sd'|')"
run set Top y 1 && is "writing one bit field moves no neighbour" "9|1|100|-16|1099511627775|200" \
	"$(run get Top $paths | paste -sd'|')"
run dump Top | grep -v header >dump.txt
is "dump lists every bit field" "x = 9|y = 1|z = 100|s = -16|w = 1099511627775|q = 200" "$(paste -sd'|' dump.txt)"
printf 'z = 3\ns = 2\n' | run set Top - || no "set from lines"
is "... lines write only their bits" "9|1|3|2|1099511627775|200" "$(run get Top $paths | paste -sd'|')"
if [ -x "$PYTHON" ]; then
	run set Same a 5 b 31 c -524288 d 255 k 16777215 p -2 e 511 f 100 g -4294967296 || no "set Same"
	is "ctypes reads what ipmmap set" "5 31 -524288 255 16777215 -2 511 100 -4294967296" "$("$PYTHON" -c '
import ctypes as c
class H(c.Structure):
    _fields_ = [("header_code", c.c_short), ("time_stamp", c.c_double)]
class Same(c.Structure):
    _fields_ = [("header", H), ("a", c.c_uint32, 3), ("b", c.c_uint32, 5), ("c", c.c_int32, 20),
                ("d", c.c_uint32, 8), ("k", c.c_uint32, 24), ("p", c.c_int16), ("e", c.c_uint16, 9),
                ("f", c.c_uint16, 7), ("r", c.c_int16),
                ("g", c.c_int64, 33)]
b = open(".mmap/Same_.mmap", "rb").read()
assert c.sizeof(Same) == len(b), (c.sizeof(Same), len(b))
v = Same.from_buffer_copy(b)
print(v.a, v.b, v.c, v.d, v.k, v.p, v.e, v.f, v.g)
v.a, v.c, v.f, v.g = 2, 77, 3, 4294967295
open(".mmap/Same_.mmap", "r+b").write(bytes(v))')"
	is "ipmmap reads what ctypes wrote" "2|31|77|255|16777215|-2|511|3|4294967295" \
		"$(run get Same a b c d k p e f g | paste -sd'|')"
else
	ok "SKIPPED: no python3 for the ctypes comparison"
fi
[ $fails -eq 0 ]
