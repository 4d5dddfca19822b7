#!/bin/sh
# 08_lines.sh - the "path = value" line format through the tool: `dump`
# escapes strings as .values does (a string cannot forge a line), and what
# `dump` prints `set STRUCT FILE` takes back, all or nothing.
set -u
B=${B:-build}
top=$(pwd)
IPMMAP="$top/$B/ipmmap"
S="$top/conf/demo.ini"
t=$(mktemp -d)
w=
trap '[ -n "$w" ] && kill "$w" 2>/dev/null; rm -rf "$t"' EXIT
cd "$t" || exit 1
fails=0
ok() { printf 'ok - %s\n' "$1"; }
no() { printf 'not ok - %s\n' "$1"; fails=$((fails + 1)); }
is() { # is DESCRIPTION EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then ok "$1"; else no "$1: expected '$2', got '$3'"; fi
}
run() { "$IPMMAP" -s "$S" "$@"; }

run create DemoMmapStructure >/dev/null || { no "create"; exit 1; }
run set DemoMmapStructure data_int 5 data_string "$(printf 'a\ndata_int = 99')" ||
	no "set a string with a newline"
run dump DemoMmapStructure >dump.txt
is "a string cannot forge a line in dump" "data_int = 5" "$(grep '^data_int ' dump.txt)"
is "dump escapes the newline as .values does" 'data_string = a\ndata_int = 99' \
	"$(grep '^data_string ' dump.txt)"
is "dump has one line per leaf" 55 "$(wc -l <dump.txt)"
run set DemoMmapStructure data_string 'back\slash' && run dump DemoMmapStructure >dump.txt
is "dump escapes a backslash" 'data_string = back\\slash' "$(grep '^data_string ' dump.txt)"

# What dump prints, set STRUCT FILE takes back: strings with escapes too.
run set DemoMmapStructure data_int 11 data_string "$(printf 'two\nlines \\ and\r')" 'multi_pts.multi_points[3].y' -2.5
run dump DemoMmapStructure >saved.txt
run clear DemoMmapStructure
run set DemoMmapStructure saved.txt && ok "set FILE takes what dump printed" || no "set FILE: $?"
is "round trip through dump and set FILE" "$(cat saved.txt | grep -v '^header')" \
	"$(run dump DemoMmapStructure | grep -v '^header')"
run set DemoMmapStructure - <<'EOF2'
; a comment, a blank line, a header line (ignored), spaces around '='
# another comment

header.header_code = 1
  data_int=12
data_string = a\\b\nc
EOF2
is "set - reads stdin" "12|4392" "$(run get DemoMmapStructure data_int header.header_code | paste -sd'|')"
is "set - unescapes strings" "$(printf 'a\\b\nc')" "$(run get DemoMmapStructure data_string)"
before=$(md5sum <.mmap/DemoMmapStructure_.mmap)
printf 'data_int = 13\ndata_xy.x = abc\n' >bad.txt
run set DemoMmapStructure bad.txt 2>err.txt
is "a bad line fails with status 1" 1 $?
is "the message names file, line and field" "ipmmap: bad.txt:2: data_xy.x: 'abc' is not a double" \
	"$(cat err.txt)"
is "nothing written when one line is bad" "$before" "$(md5sum <.mmap/DemoMmapStructure_.mmap)"
printf 'data_string = a\\tb\n' | run set DemoMmapStructure - 2>err.txt
is "a bad escape is refused" "ipmmap: <stdin>:1: data_string: bad escape (only \\\\, \\n, \\r and \\xHH)" \
	"$(cat err.txt)"
run set DemoMmapStructure nosuch.txt 2>err.txt
is "a missing file fails" "ipmmap: cannot open nosuch.txt: No such file or directory" "$(cat err.txt)"

# A c_char array holds bytes (ctypes' c_char * N): what is not UTF-8, and
# control bytes, are written \xHH and read back as the same bytes, so the
# dump of a union whose double shares a char[8] goes back as it is.
cat >r.ini <<'INI'
[R : Union]
raw = c_char * 8
d = c_double
[X]
header = MmapStructureHeader
r = R
INI
"$IPMMAP" -s r.ini create X >/dev/null || no "create X"
"$IPMMAP" -s r.ini set X r.d 0.1 || no "set r.d"
"$IPMMAP" -s r.ini dump X >x.txt
is "bytes that are not text are escaped" 'r.raw = \x9a\x99\x99\x99\x99\x99\xb9?' \
	"$(grep '^r.raw ' x.txt)"
cp .mmap/X_.mmap before.bin
"$IPMMAP" -s r.ini set X x.txt 2>err.txt || no "set X x.txt: $(cat err.txt)"
is "the dump goes back byte for byte (after the header)" \
	"$(tail -c +17 before.bin | od -An -tx1)" "$(tail -c +17 .mmap/X_.mmap | od -An -tx1)"
printf 'r.raw = \\x1b[2J\\x07\n' | "$IPMMAP" -s r.ini set X - || no "set escaped control bytes"
is "control bytes stored, and escaped again" 'r.raw = \x1b[2J\x07' \
	"$("$IPMMAP" -s r.ini dump X | grep '^r.raw ')"

# watch prints the same escaped lines.
"$IPMMAP" -s "$S" -n 1 watch DemoMmapStructure data_string >w.out 2>&1 &
w=$!
for _ in $(seq 200); do [ -s w.out ] && break; sleep 0.05; done
run set DemoMmapStructure data_string "$(printf 'x\ndata_int = 99')"
for _ in $(seq 200); do kill -0 "$w" 2>/dev/null || break; sleep 0.05; done
wait "$w"
w=
is "watch escapes strings as dump does" 'data_string = x\ndata_int = 99' "$(tail -n 1 w.out)"

[ "$fails" -eq 0 ]
