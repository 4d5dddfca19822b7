#!/bin/sh
# 05_three.sh - three bridges: every write reaches the two others once, no
# state is ever echoed or passed on again (no loops), and three writes made
# at once on the three hosts end as the same state everywhere.
. tests/bridge/lib.sh

host A
host B
host C
ipm A create "$S" >/dev/null
start A || nok "bridge A starts"
start B || nok "bridge B starts"
start C || nok "bridge C starts"
shows "B gets A's instance" B data_int 0
shows "C gets A's instance" C data_int 0

ipm A set "$S" data_int 1 >/dev/null
shows "A's write reaches B" B data_int 1
shows "A's write reaches C" C data_int 1
ipm B set "$S" data_int 2 >/dev/null
shows "B's write reaches A" A data_int 2
shows "B's write reaches C" C data_int 2
ipm C set "$S" data_int 3 >/dev/null
shows "C's write reaches A" A data_int 3
shows "C's write reaches B" B data_int 3

settled A B C
expect "A sent its start state and its write, nothing else" 2 "$(status A sent)"
expect "B sent its write only" 1 "$(status B sent)"
expect "C sent its write only" 1 "$(status C sent)"
expect "A applied B's and C's writes" 2 "$(status A applied)"
expect "B applied A's two states and C's write" 3 "$(status B applied)"
expect "C applied A's two states and B's write" 3 "$(status C applied)"
expect "every bridge sees two peers" "2 2 2" "$(status A peers) $(status B peers) $(status C peers)"

# Three writes at once: whichever is newest wins everywhere.
ipm A set "$S" data_int 11 >/dev/null &
w1=$!
ipm B set "$S" data_int 12 >/dev/null &
w2=$!
ipm C set "$S" data_int 13 >/dev/null &
wait $! $w1 $w2
state() { echo "$(get "$1" data_int) $(get "$1" header.time_stamp)"; }
agree() { [ "$(state A)" = "$(state B)" ] && [ "$(state B)" = "$(state C)" ]; }
settled A B C
if until_ 30 agree; then ok "three writes at once: one state everywhere ($(state A))"; else
	nok "three writes at once: A '$(state A)' B '$(state B)' C '$(state C)'"; fi
case $(get A data_int) in
11 | 12 | 13) ok "... one of the three writes" ;;
*) nok "... one of the three writes: $(get A data_int)" ;;
esac
finish
