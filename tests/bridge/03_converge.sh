#!/bin/sh
# 03_converge.sh - last writer wins, by time_stamp: crossing writes on both
# sides converge to the newer one; writes made while a bridge is down
# converge once it is back, whichever side wrote last; a bridge killed with
# SIGKILL and restarted catches up; a late joiner gets the current state.
. tests/bridge/lib.sh

host A
host B
ipm A create "$S" >/dev/null
start A || nok "bridge A starts"
start B || nok "bridge B starts"
shows "B gets A's instance" B data_int 0

# same NAME NAME: both hosts hold the same data_int and time_stamp.
same() {
	expect "$3: same time_stamp on $1 and $2" "$(get "$1" header.time_stamp)" "$(get "$2" header.time_stamp)"
}

ipm A set "$S" data_int 10 >/dev/null
ipm B set "$S" data_int 20 >/dev/null
shows "crossing writes: A converges to B's newer 20" A data_int 20
shows "... and B keeps it" B data_int 20
same A B "crossing writes"

# B down: an older write on B, a newer one on A; B comes back.
stop B
ipm B set "$S" data_int 30 >/dev/null
ipm A set "$S" data_int 31 >/dev/null
start B || nok "bridge B restarts"
shows "B was down, A wrote last: B converges to A's 31" B data_int 31
settled B
expect "... and A kept it (B's older 30 not applied)" 31 "$(get A data_int)"
same A B "after B's restart"

# A down: an older write on A, a newer one on B; A comes back.
stop A
ipm A set "$S" data_int 40 >/dev/null
ipm B set "$S" data_int 41 >/dev/null
start A || nok "bridge A restarts"
shows "A was down, B wrote last: A converges to B's 41" A data_int 41
settled A
expect "... and B kept it" 41 "$(get B data_int)"
same A B "after A's restart"

# SIGKILL: B dies without a word; A writes; B restarts and catches up.
stop B KILL
ipm A set "$S" data_int 50 data_string "written while B was dead" >/dev/null
start B || nok "bridge B restarts after SIGKILL"
shows "a bridge killed with SIGKILL and restarted catches up" B data_int 50
expect "... the whole structure" "written while B was dead" "$(get B data_string)"

# A late joiner with nothing gets the current state at once.
host C
start C || nok "bridge C starts late"
shows "a late joiner gets the current state" C data_int 50
expect "... the whole structure" "written while B was dead" "$(get C data_string)"
same A C "late joiner"
finish
