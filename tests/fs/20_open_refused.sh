#!/bin/sh
# 20_open_refused.sh - an instance known to be unusable refuses write opens
# of the files whose text is stored at close (.values, strings), so that a
# shell sees the error: bash loses the error of a builtin's final close, and
# `echo 'data_int = 7' > .values` would exit 0 having stored nothing. The
# case: no map handle of the instance can be opened (its lock file cannot be
# made: a full lock directory, or here a directory in its place) and the
# mount holds none (its .mmap was replaced by a copy, a new inode).
. "$(dirname "$0")/lib.sh"

conf "$T/m.ini" "create = yes" "instance = DemoMmapStructure"
start "$T/mnt" -o config="$T/m.ini" || { nok "mount"; finish; }
D=$T/mnt/DemoMmapStructure
F=$MMAP/DemoMmapStructure_.mmap
L=$LOCKS/DemoMmapStructure_.lockfile

check "a sound instance: .values written" t bash -c "echo 'data_int = 5' > '$D/.values'"
expect "... stored" 5 "$(t cat "$D/data_int")"

rm -f "$L" && mkdir "$L"
cp "$F" "$T/new" && mv "$T/new" "$F"
i=0
while t cat "$D/data_int" >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
refuse "lock file cannot be made, .mmap replaced: a read fails" t cat "$D/data_int"
out=$(t bash -c "echo 'data_int = 7' > '$D/.values'" 2>&1)
rc=$?
[ $rc -ne 0 ] && ok "... echo > .values fails in bash (status $rc)" ||
	nok "... echo > .values exited 0"
contains "... with the error" "$D/.values" "$out"
out=$(t bash -c "echo abc > '$D/data_string'" 2>&1)
rc=$?
[ $rc -ne 0 ] && ok "... echo > a string field fails too (status $rc)" ||
	nok "... echo > a string field exited 0"
refuse "... a number field fails at write" t bash -c "echo 8 > '$D/data_int'"
contains "... .status says why" "state = damaged (" "$(t cat "$D/.status")"

rmdir "$L"
check "lock file made again: echo > .values works" t bash -c "echo 'data_int = 9' > '$D/.values'"
expect "... stored" 9 "$(t cat "$D/data_int")"

stop "$T/mnt"
expect "clean unmount" 0 $?
finish
