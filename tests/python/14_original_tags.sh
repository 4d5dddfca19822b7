#!/bin/sh
# 14_original_tags.sh - tags, as Python IPMMAP itself names their files: a
# dotted tag is refused by C with the file Python really uses (asked of the
# package, not computed here), and every odd tag Python takes (empty,
# spaces, UTF-8, punctuation, the longest that fits) names the same files on
# both sides, values going both ways.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
. tests/python/binding.sh
need_python
have_original || finish

# pypath TAG: the .mmap and .lockfile names Python IPMMAP gives TAG
pypath() { echo path | pyo "$SESSION" -m "$M" -l "$L" -t "$1"; }
cmd() { "$IPMMAP" -s "$S" -m "$M" -l "$L" -t "$1" "${@:2}"; }

for tag in v1.2 v1.3 .x a.b.c v1. .; do
	{ read -r pym; read -r pyl; } < <(pypath "$tag")
	err=$(cmd "$tag" create DemoMmapStructure 2>&1)
	rc=$?
	is "tag '$tag' is refused" 1 "$rc"
	case $err in
	*"bad tag"*"$pym"*) ok "... naming the file Python uses for it, $pym" ;;
	*) no "... the message does not name $pym: $err" ;;
	esac
	[ "${pyl%.lockfile}.mmap" = "$pym" ] && ok "... (Python's lock file is cut the same way: $pyl)" \
		|| no "Python's lock file $pyl"
done
is "tag v1.2 names the file of tag v1 in Python" "DemoMmapStructure_v1.mmap" "$(pypath v1.2 | head -n 1)"
is "nothing was made by the refused tags" "" "$(ls "$M" 2>/dev/null)"

long=$(printf 'x%.0s' $(seq $((255 - 10 - 17))))
n=0
for tag in "" "a b" "é-ü_日本" "-x" "~" "#;=,+@!" "$long"; do
	n=$((n + 1))
	{ read -r pym; read -r pyl; } < <(pypath "$tag")
	start o "${PYO[@]}" "$SESSION" -m "$M" -l "$L" -t "$tag"
	send o create
	expect o "tag '${tag:0:20}': Python creates its instance" created
	is "... C names the same .mmap file" "$M/$pym" "$(cmd "$tag" create DemoMmapStructure)"
	[ -f "$L/$pyl" ] && ok "... and the same lock file" || no "no lock file $L/$pyl"
	send o "begin write"
	expect o "... Python's editor enters" "held write"
	send o "set data_int $n"
	expect o "... and writes" ok
	send o end
	expect o "... and leaves" released
	is "... C reads its value" "$n" "$(cmd "$tag" get DemoMmapStructure data_int)"
	cmd "$tag" set DemoMmapStructure data_int $((n + 100))
	send o "begin read"
	expect o "... Python's reader enters" "held read"
	send o "get data_int"
	expect o "... and reads C's value" $((n + 100))
	send o end
	expect o "... and leaves" released
	stop o || no "peer exit status"
done
is "one file per tag, no more" "$n" "$(ls "$M" | wc -l)"

# One byte longer: neither side can make its lock file.
cmd "x$long" create DemoMmapStructure >/dev/null 2>"$T/err"
is "a tag one byte too long is refused by C" "1|ipmmap: structure name and tag too long for a file name" \
	"$?|$(cat "$T/err")"
start o "${PYO[@]}" "$SESSION" -m "$M" -l "$L" -t "x$long"
send o create
expect o "Python makes the .mmap file (six bytes shorter than the lock file)" created
send o "begin write"
case $(answer o) in
"error OSError"*"File name too long"*) ok "... and by Python" ;;
*) no "Python took a tag one byte too long" ;;
esac
stop o
finish
