#!/bin/sh
# 03_values.sh - .values: a snapshot of every field as "path = value" lines,
# and updates applied all together or not at all.
. "$(dirname "$0")/lib.sh"

conf "$T/m.ini" "create = yes" "instance = DemoMmapStructure"
start "$T/mnt" -o config="$T/m.ini" || { nok "mount"; finish; }
D=$T/mnt/DemoMmapStructure
F=$MMAP/DemoMmapStructure_.mmap
bw() { timeout 10 bash -c "$1" sh "$2" 2>&1; }

v=$(t cat "$D/.values")
expect "one line per field" 55 "$(echo "$v" | wc -l)"
expect "in layout order, library paths" "header.header_code = 4392" "$(echo "$v" | head -1)"
contains "array elements as path[i].f" "multi_pts.multi_points[23].y = 0.0" "$v"
expect ".values size is its text's" "$(t cat "$D/.values" | wc -c)" "$(stat -c %s "$D/.values")"

check "three lines in one update" bw 'printf "data_int = 11\ndata_xy.x = 0.5\nmulti_pts.multi_points[3].y = 4.5\n" > "$1"' "$D/.values"
expect "... all applied" "11 0.5 4.5" "$(i32 "$F" 16) $(f64 "$F" 280) $(f64 "$F" 360)"
out=$(bw 'printf "data_int = 1\nb = zz\n" > "$1"' "$D/.values") && nok "unknown field refused" || ok "unknown field: non-zero exit"
contains "... Invalid argument" "Invalid argument" "$out"
expect "... nothing applied" 11 "$(i32 "$F" 16)"
refuse "bad value refused" bw 'printf "data_int = 2\ndata_xy.y = zz\n" > "$1"' "$D/.values"
expect "... nothing applied" "11 0.0" "$(i32 "$F" 16) $(f64 "$F" 288)"
refuse "out of range refused" bw 'printf "data_int = 3\nmulti_pts.multi_data_int = 99999999999\n" > "$1"' "$D/.values"
expect "... nothing applied" 11 "$(i32 "$F" 16)"
refuse "a structure is not a field" bw 'printf "data_xy = 1\n" > "$1"' "$D/.values"
refuse "no '='" bw 'printf "data_int 5\n" > "$1"' "$D/.values"
check "last line without newline, comments, blank lines" bw 'printf "; comment\n\n# another\n  data_int   =  12  \ndata_xy.y = 1.5" > "$1"' "$D/.values"
expect "... applied" "12 1.5" "$(i32 "$F" 16) $(f64 "$F" 288)"

t cat "$D/.values" | sed 's/^data_int = .*/data_int = 13/' >"$T/v"
check "edited snapshot written back with cp (header lines ignored)" t cp "$T/v" "$D/.values"
expect "... applied" "13 4392" "$(i32 "$F" 16) $(t cat "$D/header/header_code")"

check "a string with a newline through its field file" bw 'printf "a\\\\b\nc" > "$1"' "$D/data_string"
contains "... shown escaped in .values" 'data_string = a\\b\nc' "$(t cat "$D/.values")"
check "escaped string written through .values" bw 'printf "data_string = x\\\\ny z \n" > "$1"' "$D/.values"
expect "... unescaped in the field" "$(printf 'x\ny z ')" "$(t cat "$D/data_string")"
refuse "unknown escape refused" bw 'printf "data_string = a\\\\qb\n" > "$1"' "$D/.values"
long=$(printf '%0250d' 0 | tr 0 L)
check "a 250-byte string line" bw "printf 'data_string = $long\n' > \"\$1\"" "$D/.values"
expect "... stored" "$long" "$(str "$F" 20)"
refuse "header lines must still be valid" bw 'printf "header.header_code = zz\n" > "$1"' "$D/.values"
check "header lines are accepted and ignored" bw 'printf "header.header_code = 1\n" > "$1"' "$D/.values"
expect "... header_code unchanged" 4392 "$(t cat "$D/header/header_code")"

stop "$T/mnt"
expect "clean unmount" 0 $?
finish
