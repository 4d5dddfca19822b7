#!/bin/sh
# 17_binding_bits.sh - bit fields through the binding (binding_bits.py): the
# placement of every bit field checked against ctypes through the bytes of
# the file, both ways, neighbours that never move, too-wide values refused
# (a ctypes view keeps truncating), the ipmmap tool on the same bits, and
# the layouts refused. Then Python IPMMAP itself beside the binding: its
# editor truncates a too-wide value as ctypes does, the binding's refuses it,
# and each side reads what the other wrote.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
. tests/python/binding.sh
need_binding
BITS="$top/tests/python/binding_bits.py"
mkdir -p "$T/work"
(cd "$T/work" && pyb "$BITS" checks "$T/work" "$top/$B/ipmmap") 2>"$T/err"
rc=$?
[ -s "$T/err" ] && sed 's/^/# /' "$T/err" | head -20
[ $rc -le 1 ] || no "binding_bits.py checks ended with status $rc"
have_original || finish

# the same instance (Flags_, made by the checks), the original's editor
# and reader beside the binding's
pyb "$BITS" write "$T/work" >"$T/bw.out" 2>&1
is "the binding's editor refuses 9 into the 3-bit mode, stores level, count, refuses 16 into nib" \
	"mode refused|level stored|count stored|nib refused" \
	"$(sed 's/:.*//' "$T/bw.out" | paste -sd'|')"
pyo "$BITS" write "$T/work" >"$T/ow.out" 2>&1
is "Python IPMMAP's editor stores them all (ctypes keeps the low bits)" \
	"mode stored|level stored|count stored|nib stored" "$(paste -sd'|' "$T/ow.out")"
read -r mode level count _ _ _ _ nib _ <<<"$(pyb "$BITS" read "$T/work" 2>&1)"
is "the binding reads what it wrote: mode 9 -> 1, level -3, count 70000, nib 31 -> 15" \
	"1 -3 70000 15" "$mode $level $count $nib"
is "Python IPMMAP reads the same" "$(pyb "$BITS" read "$T/work" 2>&1)" \
	"$(pyo "$BITS" read "$T/work" 2>&1)"
finish
