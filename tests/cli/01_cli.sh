#!/bin/sh
# 01_cli.sh - the ipmmap command-line tool: every command, its exit codes,
# all-or-nothing `set`, and a generated header that compiles and matches.
set -u
B=${B:-build}
top=$(pwd)
# Programs linked with a sanitized library need the sanitizers' runtime too.
san=
case $B in *san*) san="-fsanitize=address,undefined" ;; esac
IPMMAP="$top/$B/ipmmap"
S="$top/conf/demo.ini"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
cd "$t" || exit 1
fails=0
ok() { echo "ok - $1"; }
no() { echo "not ok - $1"; fails=$((fails + 1)); }
is() { # is DESCRIPTION EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then ok "$1"; else no "$1: expected '$2', got '$3'"; fi
}
run() { "$IPMMAP" -s "$S" "$@"; }

is "create prints the file" "./.mmap/DemoMmapStructure_.mmap" "$(run create DemoMmapStructure)"
is "file is 688 bytes" 688 "$(stat -c %s .mmap/DemoMmapStructure_.mmap)"
is "lock file made" yes "$([ -f .fasteners/DemoMmapStructure_.lockfile ] && echo yes)"
is "header code" 4392 "$(run get DemoMmapStructure header.header_code)"

run set DemoMmapStructure data_int -7 data_xy.x 0.1 'multi_pts.multi_points[23].y' -1e+300 data_string 'hi there'
is "set several pairs" "-7|0.1|-1e+300|hi there" \
	"$(run get DemoMmapStructure data_int data_xy.x 'multi_pts.multi_points[23].y' data_string | paste -sd'|')"

before=$(od -An -tx1 .mmap/DemoMmapStructure_.mmap | md5sum)
run set DemoMmapStructure data_int 5 data_xy.y abc 2>err.txt
is "bad pair fails with status 1" 1 $?
is "bad pair names the field" "ipmmap: data_xy.y: 'abc' is not a double" "$(cat err.txt)"
is "nothing written on failure" "$before" "$(od -An -tx1 .mmap/DemoMmapStructure_.mmap | md5sum)"
run set DemoMmapStructure data_int 2147483648 2>/dev/null
is "out of range refused" 1 $?
run set DemoMmapStructure 'multi_pts.multi_points[24].x' 1 2>err.txt
is "index out of range refused" 1 $?
grep -q 'out of range' err.txt && ok "index message says out of range" || no "index message: $(cat err.txt)"
is "value unchanged" -7 "$(run get DemoMmapStructure data_int)"

is "dump has every leaf" 55 "$(run dump DemoMmapStructure | wc -l)"
is "dump line format" "data_int = -7" "$(run dump DemoMmapStructure | grep '^data_int ')"

# The header is the library's: refused by set, as the mount refuses it.
run set DemoMmapStructure data_int 1
before=$(od -An -tx1 .mmap/DemoMmapStructure_.mmap | md5sum)
run set DemoMmapStructure header.header_code 1 2>err.txt
is "set header.header_code is refused" 1 $?
grep -q '^ipmmap: header.header_code: read-only' err.txt && ok "header_code message names the field" ||
	no "header_code message: $(cat err.txt)"
is "every later open still works" 1 "$(run get DemoMmapStructure data_int 2>&1)"
run set DemoMmapStructure data_int 2 header.time_stamp 5 2>err.txt
is "set header.time_stamp is refused, not overwritten" 1 $?
grep -q "^ipmmap: header.time_stamp: read-only.*ipmmap touch" err.txt && ok "time_stamp message points to touch" ||
	no "time_stamp message: $(cat err.txt)"
is "nothing written when a header field is given" "$before" "$(od -An -tx1 .mmap/DemoMmapStructure_.mmap | md5sum)"

run touch DemoMmapStructure
ts=$(run get DemoMmapStructure header.time_stamp)
now=$(date +%s)
is "touch sets the timestamp to now" yes "$(awk -v a="$ts" -v b="$now" 'BEGIN { d = a - b; if (d < 0) d = -d; print (d < 5) ? "yes" : "no" }')"
run clear DemoMmapStructure
is "clear zeroes fields" "0|" "$(run get DemoMmapStructure data_int data_string | paste -sd'|')"
is "clear keeps the header code" 4392 "$(run get DemoMmapStructure header.header_code)"

run get DemoMmapStructure nosuch 2>err.txt
is "unknown field fails" 1 $?
"$IPMMAP" -s "$S" get Nope x 2>/dev/null
is "unknown structure fails" 1 $?
"$IPMMAP" -s "$S" get DemoMmapStructure 2>/dev/null
is "usage error exits 2" 2 $?
"$IPMMAP" --help | grep -q '^usage: ipmmap' && ok "--help" || no "--help"
is "--version" "ipmmap 0.1.0" "$("$IPMMAP" --version)"
IPMMAP_SCHEMA="$S" "$IPMMAP" get DemoMmapStructure data_int >/dev/null && ok "IPMMAP_SCHEMA" || no "IPMMAP_SCHEMA"

printf '[A]\nx = int32\ny = u33\n' > bad.ini
"$IPMMAP" -s bad.ini check 2>err.txt
is "check refuses a bad schema" 1 $?
is "check names file and line" "ipmmap: bad.ini:3: unknown type 'u33'" "$(cat err.txt)"
run check | grep -q '^DemoMmapStructure: size 688, align 8, mappable' && ok "check prints the layout" || no "check layout"

run header > demo.h
cat > use.c <<'C'
#include "demo.h"
#include "ipmmap.h"
#include <stdio.h>
int main(void)
{
	ipm_schema *s = ipm_schema_new();
	ipm_map *m = ipm_map_new(s);
	struct ipm_open_opts o = {.fingerprint = DemoMmapStructure_FINGERPRINT};
	if (ipm_schema_load_file(s, SCHEMA) < 0 ||
	    ipm_map_open(m, "DemoMmapStructure", "", IPM_EDITOR, &o) < 0) {
		fprintf(stderr, "%s%s\n", ipm_schema_errmsg(s), ipm_map_errmsg(m));
		return 1;
	}
	struct DemoMmapStructure *d = ipm_map_data(m);
	ipm_lock_write(m, -1);
	d->multi_pts.multi_points[3].y = 2.5;
	ipm_unlock(m);
	ipm_map_free(m);
	ipm_schema_free(s);
	return 0;
}
C
if cc -std=gnu11 -Wall -Werror $san -I"$top/lib" -DSCHEMA="\"$S\"" use.c "$top/$B/libipmmap.a" \
	$(pkg-config --libs inih) -o use 2>cc.txt; then
	ok "generated header compiles with its static asserts"
	./use && is "struct access through the generated header" 2.5 \
		"$(run get DemoMmapStructure 'multi_pts.multi_points[3].y')" || no "use: $?"
else
	no "generated header: $(cat cc.txt)"
fi
# A program built against another layout is refused.
sed "s/DemoMmapStructure_FINGERPRINT UINT64_C(0x[0-9a-f]*)/DemoMmapStructure_FINGERPRINT UINT64_C(0x1)/" demo.h > old.h
sed 's/demo.h/old.h/' use.c > old.c
cc -std=gnu11 $san -I"$top/lib" -DSCHEMA="\"$S\"" old.c "$top/$B/libipmmap.a" $(pkg-config --libs inih) -o old
./old 2>err.txt
is "fingerprint mismatch refused" 1 $?
grep -q fingerprint err.txt && ok "message names the fingerprint" || no "fingerprint message: $(cat err.txt)"

[ "$fails" -eq 0 ]
