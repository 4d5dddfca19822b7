#!/bin/sh
# 09_binding_readme.sh - the ```py examples of the README's "From Python"
# section run on the binding, in a scratch directory, and print what their
# "# ..." comments on print() lines say (up to a "(...)"). (```py, not
# ```python: tests/fs/12_readme_poll.sh runs the ```python blocks at a mount.)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
. tests/python/binding.sh
need_binding
awk -v dir="$T" '/^## / { on = ($0 ~ /^## From Python/) } on && /^```py$/ { n++; f = dir "/ex" n ".py"; inb = 1; next }
	inb && /^```/ { inb = 0; next } inb { print > f }' README.md
n=0
for ex in "$T"/ex*.py; do
	[ -f "$ex" ] || continue
	n=$((n + 1))
	mkdir -p "$T/run$n"
	if (cd "$T/run$n" && pyb "$ex") >"$ex.out" 2>&1; then
		ok "README Python example $n runs on the binding"
	else
		no "README Python example $n: $(tail -3 "$ex.out" | paste -sd' ')"
		continue
	fi
	sed -n 's/.*print(.*# \(.*\)$/\1/p' "$ex" | sed 's/ *(\.\.\.)$//' >"$ex.want"
	i=0
	while IFS= read -r want; do
		i=$((i + 1))
		got=$(sed -n "${i}p" "$ex.out")
		case $got in
		"$want"*) ok "example $n prints '$want'" ;;
		*) no "example $n line $i: expected '$want', got '$got'" ;;
		esac
	done <"$ex.want"
done
[ "$n" -gt 0 ] || no "the README's From Python section has no python example"
finish
