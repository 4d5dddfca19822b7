#!/bin/sh
# 18_binding_native.sh - the binding's native mode (binding_native.py): a
# manager's native= is what `ipmmap list` and C handles see; outside a block
# a native instance is read without a lock (a compat one refuses), never
# waiting for a lock of this process; and those reads never see a torn
# update of a C writer (native_writer.c) changing several fields together.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
. tests/python/binding.sh
need_binding
need_python
san=
case $B in *san*) san="-fsanitize=address,undefined" ;; esac
if ! cc -std=gnu11 -D_GNU_SOURCE -I"$top/lib" -Wall -Wextra -Werror $san -o "$T/native_writer" \
	"$top/tests/python/native_writer.c" "$top/$B/libipmmap.a" $(pkg-config --libs inih) \
	-lpthread 2>"$T/cc.err"; then
	no "build native_writer.c: $(cat "$T/cc.err")"
	finish
fi
mkdir -p "$T/work"
# 200000 updates: about a second here, more on a loaded machine; the reader
# reads until the writer is done (at most 120 s)
pyb "$top/tests/python/binding_native.py" "$T/work" "$IPMMAP" "$S" "$T/native_writer" "$PEER" \
	"${NATIVE_UPDATES:-200000}" 2>"$T/err"
rc=$?
[ -s "$T/err" ] && sed 's/^/# /' "$T/err" | head -20
[ $rc -le 1 ] || no "binding_native.py ended with status $rc"
finish
