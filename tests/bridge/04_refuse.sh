#!/bin/sh
# 04_refuse.sh - what a bridge refuses: a schema that lays the structure out
# differently (refused, counted, said once per sender and instance), a
# subscribe-only host cannot change the publisher (and its own writes give
# way to the publisher's state), and a publish-only host ignores remote
# states.
. tests/bridge/lib.sh

host A
host B "instance = $S subscribe"
ipm A create "$S" >/dev/null
ipm A set "$S" data_int 7 >/dev/null
start A || nok "bridge A starts"
start B || nok "bridge B (subscribe) starts"
shows "a subscribe-only host gets the publisher's state" B data_int 7

ipm B set "$S" data_int 666 >/dev/null
ipm A set "$S" data_string "later on A" >/dev/null
shows "... and the publisher's later writes" B data_string "later on A"
settled B
expect "... its own write never reached the publisher" 7 "$(get A data_int)"
expect "... it published nothing" 0 "$(status B sent)"
expect "... the publisher applied nothing" 0 "$(status A applied)"
# A one-way mirror follows the publisher: a local write, even a newer one
# made while its bridge was down, gives way to the publisher's state.
stop B
ipm B set "$S" data_int 555 >/dev/null
start B || nok "bridge B (subscribe) restarts"
shows "a subscribe-only host's own newer write gives way to the publisher's state" B data_int 7

# A host whose schema lays DemoMmapStructure out differently (data_int is an
# int64 there): its samples are refused by A and B, and it refuses theirs.
sed 's/^data_int    = int32/data_int    = int64/' "$SCHEMA" >"$T/other.ini"
HSCHEMA=$T/other.ini host C
HSCHEMA=$T/other.ini ipm C create "$S" >/dev/null
HSCHEMA=$T/other.ini ipm C set "$S" data_int 99 >/dev/null
start C || nok "bridge C (other layout) starts"
refused_ge() { [ "$(status "$1" refused)" -ge "$2" ] 2>/dev/null; }
if until_ 30 refused_ge C 1; then ok "a different layout: C refuses A's samples"; else
	nok "a different layout: C refuses A's samples (refused=$(status C refused))"; fi
contains "... and says why in its status" "layout fingerprint" "$(status C last_error)"
contains "... and in its log" "refused $S from" "$(cat "$T/C/log")"
if until_ 30 refused_ge A 1; then ok "... A refuses C's samples"; else nok "... A refuses C's samples"; fi
contains "... and says so" "the schemas lay the structure out differently" "$(grep refused "$T/A/log")"
expect "... C's memory is unchanged" 99 "$(HSCHEMA=$T/other.ini get C data_int)"
expect "... A's memory is unchanged" 7 "$(get A data_int)"
ipm A set "$S" data_int 8 >/dev/null
if until_ 30 refused_ge C 2; then ok "... refused again"; else nok "... refused again"; fi
expect "... but said once per sender and instance" 1 "$(grep -c "refused $S" "$T/C/log")"

# A publish-only host ignores what others write.
host D "instance = $S publish"
ipm D create "$S" >/dev/null
start D || nok "bridge D (publish) starts"
ignored_ge() { [ "$(status "$1" ignored)" -ge "$2" ] 2>/dev/null; }
if until_ 30 ignored_ge D 1; then ok "a publish-only host ignores remote states"; else
	nok "a publish-only host ignores remote states (ignored=$(status D ignored))"; fi
expect "... its memory is its own" 0 "$(get D data_int)"
expect "... it applied nothing" 0 "$(status D applied)"
finish
