#!/bin/sh
# 15_native_modes.sh - the two modes against real Python IPMMAP peers
# (fasteners): on a compat instance (the default) a C read that holds no lock
# still waits for a Python writer and sees its whole update; on a native one
# it takes no lock at all, which is why native is a promise that no Python
# writer runs; Python readers of a native instance still exclude C writers.
# Order comes from the peers' answers and /proc/locks, never from sleeping.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
need_python
need_holder

# --- compat (the default): a C read without a lock waits for fasteners
is "a new instance is compat" "compat" \
	"$(ipmmap create DemoMmapStructure >/dev/null && ipmmap list | awk '$1 == "DemoMmapStructure" { print $5 }')"
ipmmap set DemoMmapStructure data_int 1 data_string old
start c "$HOLDER" "$S" "$M" "$L" reader DemoMmapStructure
expect c "C reader opens" "open"
send c "get data_int"
expect c "C reads (its first read)" "1"
start py "$PYTHON" "$PEER" -m "$M" -l "$L" session
send py "begin write"
expect py "python takes the write lock" "held write"
send py "set data_int 101"
expect py "python writes the first half" "ok"
send c "get data_int"
wait_waiters "$LOCKFILE" 1 && ok "a C read holding no lock waits in the kernel" \
	|| no "the C read did not wait for python's write lock"
send py "set data_string new"
expect py "python writes the second half" "ok"
send py "end"
expect py "python releases" "released"
expect c "the C read returns python's whole update" "101"
send c "get data_string"
expect c "... second half included" "new"
stop c
stop py && ok "python peer exits cleanly" || no "python peer exit status"

# --- native: C reads take no lock, so a Python writer is not waited for
ipmmap create --native DemoMmapStructure >/dev/null
is "create --native records the mode" "native" \
	"$(ipmmap list | awk '$1 == "DemoMmapStructure" { print $5 }')"
start c "$HOLDER" "$S" "$M" "$L" reader DemoMmapStructure
expect c "C reader opens the native instance" "open"
send c "get data_int"
expect c "C reads" "101"
start py "$PYTHON" "$PEER" -m "$M" -l "$L" session
send py "begin write"
expect py "python takes the write lock (breaking the promise)" "held write"
send c "get data_int"
expect c "a native C read does not wait for it: no lock taken" "101"
send py "end"
expect py "python releases" "released"

# Python readers still exclude C writers: C writers lock as always.
send py "begin read"
expect py "python takes a read lock" "held read"
start w "$HOLDER" "$S" "$M" "$L" editor DemoMmapStructure
expect w "C editor opens" "open"
send w "try write"
expect w "a C writer cannot write under python's read lock" "busy"
send py "end"
expect py "python releases its read lock" "released"
send w "begin write"
expect w "the C writer gets in" "held write"
send w "set data_int 202"
expect w "and writes" "ok"
send w "end"
expect w "and releases" "released"
send c "get data_int"
expect c "the native C reader sees it" "202"
is "python sees it" "202" "$(py read data_int)"
stop w
stop c
stop py && ok "python peer exits cleanly" || no "python peer exit status"
finish
