#!/bin/sh
# 09_conventions.sh - the command line as git and systemctl users expect it:
# options after the command, the schema as check's and header's argument,
# `list` of the mmap directory, and bash completion.
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
ipm() { "$IPMMAP" "$@"; }

# Options after the command, and after its arguments.
ipm create -s "$S" DemoMmapStructure >/dev/null 2>err.txt
is "create -s S STRUCT" 0 "$?"
ipm create -f DemoMmapStructure -s "$S" >/dev/null 2>err.txt
is "create -f STRUCT -s S" "0|" "$?|$(cat err.txt)"
ipm -s "$S" set DemoMmapStructure data_int -7 data_string -x -w 1000 2>err.txt
is "a VALUE of set is never an option" "0|-7|-x" \
	"$?|$(ipm -s "$S" get DemoMmapStructure data_int data_string | paste -sd'|')"
ipm -s "$S" set -- DemoMmapStructure data_int -8 && ok "'--' ends the options" || no "--"
ipm get DemoMmapStructure data_int --schema="$S" -t "" >out.txt 2>&1
is "long options after the arguments" "-8" "$(cat out.txt)"
ipm get -h | grep -q '^usage: ipmmap' && ok "-h after the command" || no "-h after the command"
ipm -s "$S" get DemoMmapStructure data_int -q 2>/dev/null
is "an unknown option after the command is a usage error" 2 "$?"

# The schema as the argument of check and header.
ipm header "$S" >a.h 2>err.txt
is "header FILE" "0|" "$?|$(cat err.txt)"
ipm -s "$S" header >b.h
cmp -s a.h b.h && ok "header FILE prints what -s FILE header prints" || no "header FILE differs"
ipm check "$S" | grep -q '^DemoMmapStructure: size 688' && ok "check FILE" || no "check FILE"
printf '[A]\nx = int32\ny = u33\n' >bad.ini
ipm check bad.ini 2>err.txt
is "check FILE refuses a bad schema" "1|ipmmap: bad.ini:3: unknown type 'u33'" "$?|$(cat err.txt)"
ipm check 2>err.txt
is "check without any schema" "1|ipmmap: no schema: give FILE, -s FILE or set IPMMAP_SCHEMA" \
	"$?|$(cat err.txt)"

# list: every .mmap of the directory, with what an open would find.
ipm -s "$S" create -t run2 DemoMmapStructure >/dev/null
ipm -s "$S" create -t nat --native DemoMmapStructure >/dev/null
head -c 600 /dev/zero >.mmap/DemoMmapStructure_short.mmap
printf 'x' >.mmap/Unknown_a.mmap
chmod 640 .mmap/DemoMmapStructure_run2.mmap
ipm -s "$S" list >list.txt 2>err.txt
is "list exits 0" "0|" "$?|$(cat err.txt)"
is "list: a header line, then one line per file" 6 "$(wc -l <list.txt)"
is "list: header" "STRUCTURE TAG SIZE MODE PEERS STATE" "$(head -n 1 list.txt | tr -s ' ')"
is "list: the empty tag" "DemoMmapStructure - 688 0600 compat ok" \
	"$(grep 'DemoMmapStructure  *- ' list.txt | tr -s ' ')"
is "list: a tag and a mode" "DemoMmapStructure run2 688 0640 compat ok" \
	"$(grep ' run2 ' list.txt | tr -s ' ')"
esc=$(printf 'x\033]0;pwned\007y')
: >".mmap/DemoMmapStructure_$esc.mmap"
ipm -s "$S" list >esc.txt 2>&1
if grep -q "$(printf '\033')" esc.txt || grep -q "$(printf '\007')" esc.txt; then
	no "list prints a file name's control bytes raw"
else
	ok "list shows a file name's control bytes as '?', as ls does"
fi
rm -f ".mmap/DemoMmapStructure_$esc.mmap"
is "list: an instance created --native" "DemoMmapStructure nat 688 0600 native ok" \
	"$(grep ' nat ' list.txt | tr -s ' ')"
is "list: a file of the wrong size, no lock file" \
	"DemoMmapStructure short 600 0600 - size 600, expected 688" \
	"$(grep ' short ' list.txt | sed 's/ \{2,\}/ /g' | sed 's/0[0-7]\{3\} - size/0600 - size/')"
grep -q '^? .*Unknown_a .*no structure of the schema$' list.txt && ok "list: an unknown structure" ||
	no "list: unknown structure: $(cat list.txt)"
ipm -s "$S" list -m nosuch 2>err.txt
is "list of a missing directory fails" "1|ipmmap: cannot list nosuch: No such file or directory" \
	"$?|$(cat err.txt)"
[ ! -e nosuch ] && [ ! -e .fasteners/DemoMmapStructure_short.lockfile ] &&
	ok "list makes no directory and no lock file" || no "list made files"

# Bash completion, when bash is there (it is on Debian: essential).
if command -v bash >/dev/null; then
	comp() { # the words of a command line (the last one being completed)
		IPMMAP_BIN="$IPMMAP" bash -c '. "$1"/cli/ipmmap.bash; shift
			COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ipmmap
			printf "%s\n" "${COMPREPLY[@]}" | sort | paste -sd" "' sh "$top" "$@"
	}
	is "completes commands" "check clear create" "$(comp ipmmap c)"
	is "completes options" "--schema" "$(comp ipmmap get --sch)"
	is "completes structures from the schema" "DemoMmapStructure" \
		"$(comp ipmmap -s "$S" get Demo)"
	is "completes field paths" "data_xy.x data_xy.y" \
		"$(comp ipmmap -s "$S" get DemoMmapStructure data_xy)"
	is "completes structures from IPMMAP_SCHEMA" "DemoMmapStructure" \
		"$(IPMMAP_SCHEMA="$S" comp ipmmap dump De)"
	# Without a schema: the instances' stored definitions (ipmmap list, dump).
	is "completes structures of the instances without -s" "DemoMmapStructure" \
		"$(comp ipmmap get Demo)"
	is "completes field paths of a stored definition" "data_xy.x data_xy.y" \
		"$(comp ipmmap get DemoMmapStructure data_xy)"
	is "completes them under a tag" "multi_pts.multi_points[23].x multi_pts.multi_points[23].y" \
		"$(comp ipmmap -t run2 set DemoMmapStructure 'multi_pts.multi_points[23].')"
	is "completes tags" "run2" "$(comp ipmmap get -t ru)"
	# A tag is any file name a local user gives in a shared directory:
	# offered as it is, never expanded, globbed or run by the shell.
	ipm -s "$S" -t '`touch${IFS}PWNED`' create DemoMmapStructure >/dev/null
	ipm -s "$S" -t '$(touch${IFS}PWNED2)' create DemoMmapStructure >/dev/null
	ipm -s "$S" -t 'a b*' create DemoMmapStructure >/dev/null
	: >ab.txt
	is "a tag is offered quoted, never run" '\`touch\$\{IFS\}PWNED\`' "$(comp ipmmap get -t '`')"
	is "a tag with a space and a glob character" 'a\ b\*' "$(comp ipmmap get -t a)"
	comp ipmmap get -t '' >/dev/null
	comp ipmmap -t '$(touch${IFS}PWNED2)' get DemoMmapStructure d >/dev/null
	[ ! -e PWNED ] && [ ! -e PWNED2 ] && ok "completion runs no tag" || no "completion ran a tag"
	mkdir -p elsewhere
	is "completes from -m and -l" "" \
		"$(comp ipmmap -m elsewhere -l elsewhere get Demo)"
else
	ok "# SKIP bash not found"
fi

[ "$fails" -eq 0 ]
