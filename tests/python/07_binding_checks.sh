#!/bin/sh
# 07_binding_checks.sh - the binding's own checks (binding_checks.py), each
# group in a process and a working directory of its own: bad input and a
# fuzz of random calls, the per-process cache / locks / threads / fork /
# crash recovery, and what is new (wait_change, fingerprints, INI schemas).
# A crash (a signal, or a sanitizer report under SANITIZE=1) fails the group.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
. tests/python/binding.sh
need_binding
orig=
have_original && orig=$ORIG
for g in bad behaviour new; do
	mkdir -p "$T/$g"
	pyb "$CHECKS" "$g" "$T/$g" "$IPMMAP" "$S" $orig 2>"$T/$g.err"
	rc=$?
	if [ $rc -gt 1 ]; then
		no "group $g ended with status $rc: $(tail -5 "$T/$g.err" | paste -sd' ')"
	elif [ -s "$T/$g.err" ]; then
		sed 's/^/# /' "$T/$g.err" | head -20
	fi
done
finish
