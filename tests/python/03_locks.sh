#!/bin/sh
# 03_locks.sh - the fasteners lock of a Python peer and the library's OFD
# locks exclude each other in both directions and share read locks. Order is
# checked through the peers' answers and /proc/locks, never by sleeping.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
need_python
need_holder
py create >/dev/null
ipmmap set DemoMmapStructure data_int 1 data_string old

# --- (a) Python holds the write lock: C waits, then sees the whole update
start py "$PYTHON" "$PEER" -m "$M" -l "$L" session
send py "begin write"
expect py "python takes the write lock" "held write"
send py "set data_int 101"
expect py "python writes the first half" "ok"

ipmmap -w 0 get DemoMmapStructure data_int >/dev/null 2>"$T/err"
is "ipmmap -w 0 get fails while python writes" 1 $?
grep -q "held by another" "$T/err" && ok "it says the lock is held" || no "message: $(cat "$T/err")"
ipmmap -w 0 set DemoMmapStructure data_int 7 2>/dev/null
is "ipmmap -w 0 set fails while python writes" 1 $?
ipmmap -w 30 get DemoMmapStructure data_int 2>"$T/err" >/dev/null
is "ipmmap -w 30 times out" "1|yes" "$?|$(grep -q 'timed out' "$T/err" && echo yes)"

background get "$IPMMAP" -s "$S" -m "$M" -l "$L" get DemoMmapStructure data_int data_string \
	header.time_stamp
wait_waiters "$LOCKFILE" 1 && ok "blocking ipmmap get waits in the kernel" \
	|| no "blocking ipmmap get never waited on the lock"
alive "${PID[get]}" && [ ! -s "$T/get.out" ] && ok "and has printed nothing yet" \
	|| no "ipmmap get did not wait: $(cat "$T/get.out")"
send py "set data_string new"
expect py "python writes the second half" "ok"
send py "touch"
ts=$(answer py)
send py "end"
expect py "python releases" "released"
wait "${PID[get]}"
is "ipmmap get returns after the release" 0 $?
unset "PID[get]"
is "C saw python's whole update, never half" "101|new|$ts" "$(paste -sd'|' "$T/get.out")"

# a C program's own read try fails too, the same way
send py "begin write"
expect py "python takes the write lock again" "held write"
start c "$HOLDER" "$S" "$M" "$L" reader DemoMmapStructure
expect c "C reader opens while python writes" "open"
send c "try read"
expect c "C read try fails under python's write lock" "busy"
send py "end"
expect py "python releases again" "released"
send c "try read"
expect c "C read try succeeds after the release" "held read"
send c "end"
expect c "C reader releases" "released"
stop c

# --- (b) C holds the write lock: fasteners' try fails, its blocking acquire waits
start c "$HOLDER" "$S" "$M" "$L" editor DemoMmapStructure
expect c "C editor opens" "open"
send c "begin write"
expect c "C takes the write lock" "held write"
send c "set data_int 202"
expect c "C writes the first half" "ok"
send py "try write"
expect py "fasteners write try fails under C's write lock" "busy"
send py "try read"
expect py "fasteners read try fails under C's write lock" "busy"
send py "poke"
expect py "python opens and closes the lock file meanwhile" "poked"
send c "poke"
expect c "C opens and closes the lock file meanwhile" "poked"
send py "try write"
expect py "C's OFD lock survives both" "busy"
send py "begin write"
expect py "fasteners' blocking acquire polls" "waiting"
send c "set data_string from C"
expect c "C writes the second half" "ok"
send c "end"
expect c "C releases" "released"
expect py "fasteners gets the lock after C's release" "held write"
send py "get data_int"
expect py "python sees C's first half" "202"
send py "get data_string"
expect py "python sees C's second half" "from C"

# POSIX record locks are per process: a close of any fd drops python's lock
send c "try read"
expect c "C read try fails under python's write lock" "busy"
send py "poke"
expect py "python closes another fd of the lock file" "poked"
send c "try read"
expect c "python's lock is gone after that close (fasteners' weak spot)" "held read"
send c "end"
expect c "C releases the read lock" "released"
send py "end"
expect py "python ends its block" "released"

# --- (c) read locks are shared between C and Python
send py "begin read"
expect py "python takes a read lock" "held read"
is "ipmmap -w 0 get reads beside python's reader" "202" "$(ipmmap -w 0 get DemoMmapStructure data_int)"
send c "try read"
expect c "C holds a read lock beside python's" "held read"
start py2 "$PYTHON" "$PEER" -m "$M" -l "$L" session
send py2 "try read"
expect py2 "a second python reads beside both" "held read"
send py2 "end"
expect py2 "second python releases" "released"
send py2 "try write"
expect py2 "python write try fails under the read locks" "busy"
ipmmap -w 0 set DemoMmapStructure data_int 9 2>/dev/null
is "ipmmap -w 0 set fails under the read locks" 1 $?
send c "end"
expect c "C releases its read lock" "released"
send py "end"
expect py "python releases its read lock" "released"
send py2 "try write"
expect py2 "python write try succeeds once all readers left" "held write"
send py2 "end"
expect py2 "python writer releases" "released"
stop py2
stop py && ok "python peer exits cleanly" || no "python peer exit status"

# --- a Python writer that dies mid-update: the kernel frees the lock, and
# C sees the half-written update (what IPMMAP does not protect against)
DOOMED=1 start py "$PYTHON" "$PEER" -m "$M" -l "$L" session
send py "begin write"
expect py "python takes the write lock" "held write"
send py "pid"
pypid=$(answer py)
send py "set data_int 303"
expect py "python writes the first half and dies" "ok"
background get "$IPMMAP" -s "$S" -m "$M" -l "$L" get DemoMmapStructure data_int data_string
wait_waiters "$LOCKFILE" 1 && ok "C waits for the doomed writer" || no "C did not wait"
kill -9 "$pypid"
reap py
wait "${PID[get]}"
is "C gets the lock when python dies" 0 $?
unset "PID[get]"
is "and sees the half-written update" "303|from C" "$(paste -sd'|' "$T/get.out")"
send c "try write"
expect c "the lock is free again" "held write"
send c "end"
expect c "C releases" "released"
stop c && ok "C editor exits cleanly" || no "C editor exit status"
finish
