#!/bin/sh
# 02_readme.sh - every ```c example of README.md is compiled and run, and its
# output compared with the plain ``` block that follows it, so the README
# cannot drift from the API. The examples run in a temporary directory with a
# copy of conf/.
set -u
B=${B:-build}
top=$(pwd)
# Programs linked with a sanitized library need the sanitizers' runtime too.
san=
case $B in *san*) san="-fsanitize=address,undefined" ;; esac
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fails=0 n=0

# Split README.md into ex1.c, ex1.out, ex2.c, ... (an example's output is the
# next fenced block when it is a plain ``` one).
awk -v dir="$t" '
	/^```c$/ { n++; file = dir "/ex" n ".c"; inblk = 1; want = 0; next }
	/^```$/ && !inblk && want { file = dir "/ex" n ".out"; inblk = 1; want = 0; next }
	/^```/ && inblk { inblk = 0; if (file ~ /\.c$/) want = 1; file = ""; next }
	/^```/ { want = 0; next }
	inblk { print > file; next }
	NF { want = 0 }
' README.md

cp -r conf "$t/conf"
for c in "$t"/ex*.c; do
	[ -f "$c" ] || continue
	n=$((n + 1))
	ex=${c%.c}
	name="README example $(basename "$ex")"
	if ! cc -std=gnu11 -Wall -Wextra -Werror $san -I"$top/lib" -o "$ex" "$c" "$top/$B/libipmmap.a" \
		$(pkg-config --libs inih) 2>"$ex.cc"; then
		echo "not ok - $name compiles: $(cat "$ex.cc")"
		fails=$((fails + 1))
		continue
	fi
	echo "ok - $name compiles"
	if ! (cd "$t" && "$ex" >"$ex.got" 2>&1); then
		echo "not ok - $name runs: $(cat "$ex.got")"
		fails=$((fails + 1))
	elif [ -f "$ex.out" ] && ! cmp -s "$ex.out" "$ex.got"; then
		echo "not ok - $name prints what the README shows:"
		diff "$ex.out" "$ex.got"
		fails=$((fails + 1))
	else
		echo "ok - $name runs and prints what the README shows"
	fi
done
[ "$n" -gt 0 ] || { echo "not ok - README has no C example"; exit 1; }

# The command-line session of the README: each "$ build/ipmmap ..." line is
# run in a fresh directory, and the lines after it (up to the next "$", with
# "  # remarks" cut) must be what it prints; a command shown without output
# must succeed.
awk '/^```/ { inblk = !inblk; show = 0; next } inblk && /^\$ build\/ipmmap / { print; show = 1; next }
	inblk && show && /^\$ / { show = 0 } inblk && show { print }' README.md >"$t/session"
mkdir "$t/cli" && cp -r conf "$t/cli/conf"
[ -s "$t/session" ] || { echo "not ok - README has no ipmmap session"; fails=$((fails + 1)); }
check_cmd() { # $1 = command line, expected output in $t/want
	[ -n "$1" ] || return 0
	(cd "$t/cli" && sh -c "$(echo "$1" | sed "s|build/ipmmap|$top/$B/ipmmap|")") >"$t/got" 2>&1
	rc=$?
	if [ -s "$t/want" ] && ! cmp -s "$t/want" "$t/got"; then
		printf 'not ok - README: %s:\n' "$1"
		diff "$t/want" "$t/got"
		fails=$((fails + 1))
	elif [ ! -s "$t/want" ] && [ $rc -ne 0 ]; then
		printf 'not ok - README: %s: status %s: %s\n' "$1" "$rc" "$(cat "$t/got")"
		fails=$((fails + 1))
	else
		printf 'ok - README: %s\n' "$1"
	fi
}
cmd=
: >"$t/want"
while IFS= read -r line; do
	case $line in
	'$ '*)
		check_cmd "$cmd"
		cmd=${line#\$ }
		: >"$t/want"
		;;
	*) printf '%s\n' "$line" | sed 's/  *# .*$//' >>"$t/want" ;;
	esac
done <"$t/session"
check_cmd "$cmd"
[ "$fails" -eq 0 ]
