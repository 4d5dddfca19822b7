#!/bin/sh
# 25_wide.sh - c_wchar * N and c_longdouble on the mount: each is a file of
# UTF-8 text or a number; bad text (too long, a surrogate, not UTF-8, past
# the range) is refused with an error and changes nothing; .values shows
# and takes them; a wide string's text may hold a newline, as a string's.
. "$(dirname "$0")/lib.sh"

SCHEMA=$T/w.ini
cat >"$SCHEMA" <<'INI'
[Wide]
header = MmapStructureHeader
c = c_wchar
name = c_wchar * 4
ld = c_longdouble
lds = c_longdouble * 2
INI
conf "$T/m.ini" "create = yes" "instance = Wide"
start "$T/mnt" -o config="$T/m.ini" || { nok "mount"; finish; }
D=$T/mnt/Wide
bw() { timeout 10 bash -c "$1" sh "$2" 2>&1; }

expect "each is a file" "c ld lds name" "$(ls "$D" | grep -v '^header$' | paste -sd' ')"
check "write a wide string" bw 'printf "h€😀" > "$1"' "$D/name"
expect "... reads back as UTF-8" "h€😀" "$(t cat "$D/name")"
check "write one c_wchar" bw 'echo é > "$1"' "$D/c"
expect "... reads back" "é" "$(t cat "$D/c")"
refuse "five characters into c_wchar * 4" bw 'printf abcde > "$1"' "$D/name"
refuse "a surrogate" bw 'printf "\355\240\200" > "$1"' "$D/name"
refuse "bytes that are not UTF-8" bw 'printf "a\377" > "$1"' "$D/name"
refuse "two characters into c_wchar" bw 'printf xy > "$1"' "$D/c"
expect "... none of them changed it" "h€😀|é" "$(t cat "$D/name")|$(t cat "$D/c")"
check "a wide string holds a newline" bw 'printf "a\nb" > "$1"' "$D/name"
expect "... shown escaped in .values" "name = a\\nb" "$(t grep '^name' "$D/.values")"
check "write a long double" bw 'echo 0.1 > "$1"' "$D/ld"
expect "... reads back" "0.1" "$(t cat "$D/ld")"
check "one past double's range" bw 'echo -1e4000 > "$1"' "$D/lds/1"
expect "... reads back" "-1e+4000" "$(t cat "$D/lds/1")"
refuse "past long double's range" bw 'echo 1e5000 > "$1"' "$D/ld"
refuse "a value that rounds to zero" bw 'echo 1e-5000 > "$1"' "$D/ld"
refuse "not a number" bw 'echo x > "$1"' "$D/ld"
expect "... none of them changed it" "0.1" "$(t cat "$D/ld")"
check "both through .values" bw 'printf "name = Zoë\nld = 2.5\n" > "$1"' "$D/.values"
expect "... read back" "Zoë 2.5" "$(t cat "$D/name") $(t cat "$D/ld")"
refuse ".values refuses a name too long" bw 'printf "name = abcde\nld = 3\n" > "$1"' "$D/.values"
expect "... and applies none of its lines" "Zoë 2.5" "$(t cat "$D/name") $(t cat "$D/ld")"
finish
