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
trap 'rm -rf "$t"' EXIT
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

[ "$fails" -eq 0 ]
