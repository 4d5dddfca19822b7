#!/bin/sh
# 08_schema_bounds.sh - a schema is read with bounds: /dev/zero (no end, no
# newline), an endless stream of short lines, and a file over 1 MiB are each
# refused at once with "file:line: what", exit status 1. A reader without
# bounds would grow without end, so each run is under timeout and, unless
# the tool is built with AddressSanitizer (whose shadow memory needs a large
# address space), under a 1 GB address-space limit.
set -u
B=${B:-build}
top=$(pwd)
IPMMAP="$top/$B/ipmmap"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
cd "$t" || exit 1
fails=0
ok() { printf 'ok - %s\n' "$1"; }
no() { printf 'not ok - %s\n' "$1"; fails=$((fails + 1)); }

limit=
ldd "$IPMMAP" 2>/dev/null | grep -q libasan || limit="ulimit -v 1048576;"

# bounded WHAT STATUS MESSAGE SHELL-COMMAND: the command (run with the
# limits) exits with STATUS and prints MESSAGE on stderr.
bounded() {
	out=$(sh -c "$limit exec timeout 20 $4" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne "$2" ]; then
		no "$1: status $rc, expected $2 ($out)"
	elif [ "$out" != "$3" ]; then
		no "$1: said '$out', expected '$3'"
	else
		ok "$1"
	fi
}

bounded "-s /dev/zero check refused at its first line" 1 \
	"ipmmap: /dev/zero:1: line too long (more than 199 characters)" \
	"'$IPMMAP' -s /dev/zero check"

# Short lines without end: `yes` never stops; the size cap does.
bounded "an endless stream of comment lines stops at 1 MiB" 1 \
	"ipmmap: /dev/stdin:524289: file too large (more than 1048576 bytes)" \
	"yes ';' | '$IPMMAP' -s /dev/stdin check"

{
	printf '[A]\nheader = MmapStructureHeader\n'
	i=0
	while [ $i -lt 20000 ]; do
		printf '; %061d\n' $i
		i=$((i + 1))
	done
} >big.ini
bounded "a schema over 1 MiB is refused with its line" 1 \
	"ipmmap: big.ini:16386: file too large (more than 1048576 bytes)" \
	"'$IPMMAP' -s big.ini check"
head -c 1000000 big.ini >ok.ini
bounded "one under 1 MiB is read" 0 "" "'$IPMMAP' -s ok.ini check"
[ $fails -eq 0 ]
