#!/bin/sh
# 02_mirror.sh - two bridges on loopback: `ipmmap set` on A shows on B (in B's
# memory and through a mount on B), a write on B shows on A, nothing is echoed
# back, SIGTERM ends a bridge with status 0; and Cyclone used the loopback
# interface and 127.0.0.1 only.
TRACE=1
. tests/bridge/lib.sh

host A
host B
ipm A create "$S" >/dev/null
ipm A set "$S" data_int 42 data_string "hello from A" >/dev/null
start A || nok "bridge A starts"
start B || nok "bridge B starts"

shows "ipmmap set on A shows on B (instance made on B)" B data_int 42
expect "... the whole structure" "hello from A" "$(get B data_string)"
expect "... with A's time_stamp" "$(get A header.time_stamp)" "$(get B header.time_stamp)"
peers_is() { [ "$(status "$1" peers)" = "$2" ]; }
until_ 30 peers_is B 1
expect "B's status: one peer" 1 "$(status B peers)"

ipm B set "$S" data_xy.x 2.5 >/dev/null
shows "a write on B shows on A" A data_xy.x 2.5
expect "... and keeps A's earlier fields" 42 "$(get A data_int)"

# A mount on B shows what A writes.
if [ "$(id -u)" -eq 0 ] && [ -c /dev/fuse ] && command -v fusermount3 >/dev/null 2>&1; then
	mkdir -p "$T/B/mnt"
	printf '[ipmmapfs]\nschema = %s\nmmap_dir = %s\nlock_dir = %s\n' "$SCHEMA" \
		"$T/B/mmap" "$T/B/locks" >"$T/B/fs.ini"
	"$FS" -f -o config="$T/B/fs.ini" "$T/B/mnt" >"$T/B/fs.log" 2>&1 &
	PIDS="$PIDS $!"
	until_ 30 grep -q " $T/B/mnt " /proc/self/mountinfo
	ipm A set "$S" data_int 43 >/dev/null
	mnt_is() { [ "$(timeout 10 cat "$T/B/mnt/$S/data_int")" = "$1" ]; }
	if until_ 30 mnt_is 43; then ok "a mount on B shows A's write"; else
		nok "a mount on B shows A's write: $(timeout 10 cat "$T/B/mnt/$S/data_int" 2>&1)"; fi
	fusermount3 -u "$T/B/mnt"
	a_sent=2
else
	ok "SKIPPED: mount on B (needs root, /dev/fuse, fusermount3)"
	a_sent=1
fi

# Nothing bounces: A published its start state and its own writes, B only
# its own; each applied the other's.
settled A B
expect "A sent its own states only" "$a_sent" "$(status A sent)"
expect "B sent its own write only" 1 "$(status B sent)"
expect "A applied B's write" 1 "$(status A applied)"
expect "B applied A's states" "$a_sent" "$(status B applied)"

# Loopback only: what each Cyclone reports it selected and talks to.
for h in A B; do
	log=$T/dds-$(pid $h).log
	contains "$h: Cyclone selected the loopback interface only" "selected interfaces: lo (" \
		"$(grep 'selected interfaces:' "$log" 2>/dev/null)"
	expect "$h: no interface other than lo selected" 1 "$(grep 'selected interfaces:' "$log" | grep -o '([^)]*)' | wc -l)"
	# Not the list of every interface, nor the multicast defaults that
	# AllowMulticast = false leaves unused.
	addrs=$(grep -v -e ' interfaces: ' -e ' MC: ' "$log" 2>/dev/null | grep -o 'udp/[0-9.]*' | sort -u | tr '\n' ' ')
	other=$(echo "$addrs" | tr ' ' '\n' | grep -v '^udp/127\.' | grep . | tr '\n' ' ')
	expect "$h: every address Cyclone used is 127.0.0.1 ($addrs)" "" "$other"
	if command -v ss >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
		# Cyclone binds its receiving sockets to any address (0.0.0.0)
		# and its sending one to the selected interface's (127.0.0.1).
		socks=$(ss -uanp 2>/dev/null | grep "pid=$(pid $h),")
		contains "$h: ss shows its sending socket on 127.0.0.1" "127.0.0.1:" "$socks"
		far=$(echo "$socks" | awk '{print $4, $5}' | grep -v -E '^(0\.0\.0\.0|127\.[0-9.]+|\*):[0-9]+ (0\.0\.0\.0|\*):\*$' | grep .)
		expect "$h: UDP sockets bound to loopback or any, never connected elsewhere" "" "$far"
	fi
done
grep -q 'AllowMulticast/#text: false' "$T/dds-$(pid A).log" && ok "multicast off" || nok "multicast off"

stop A
expect "SIGTERM: exit status 0" 0 $?
expect "... status file says stopped" stopped "$(status A state)"
finish
