#!/bin/sh
# bridge.sh - the ipmmap-bridge rows of `make bench`, called by bench/run.sh:
#   sh bench/bridge.sh TMPDIR
# prints rows of the markdown table. Two bridges A and B run on loopback
# only (CYCLONEDDS_URI: bridge/loopback.xml, the lo interface, unicast
# discovery with the one peer 127.0.0.1, no multicast; with a random domain
# and a discovery tag of this run, so nothing leaves the machine and
# concurrent runs never meet). In the same run, ddsperf's ping/pong round trip on the
# same configuration gives the floor: what Cyclone alone costs. Every process
# started here is stopped in the EXIT trap. A measurement: never fails.

B=${B:-build}
ROOT=$(pwd)
BRIDGE=$ROOT/$B/ipmmap-bridge
CLI=$ROOT/$B/ipmmap
BB=$ROOT/$B/bench/bridgebench
SCHEMA=$ROOT/conf/demo.ini
S=DemoMmapStructure
N=${BRIDGE_BENCH_N:-1000}
SECS=${BRIDGE_BENCH_SECS:-3}
W=$1/bridge
PIDS=""

skip() {
	echo "| bridge figures | skipped: $* | | | |"
	exit 0
}
[ -n "$1" ] || skip "no directory given"
[ -x "$BRIDGE" ] && [ -x "$BB" ] || skip "$BRIDGE or $BB not built"
command -v ddsperf >/dev/null 2>&1 || skip "no ddsperf (cyclonedds-tools)"

stop_all() {
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PIDS=""
}
trap stop_all EXIT
trap 'exit 130' INT TERM HUP

mkdir -p "$W/A" "$W/B"
DOMAIN=$(($(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 230 + 1))
sed "s|<Tag>[^<]*</Tag>|<Tag>ipmmap-bench-$(basename "$1")</Tag>|" "$ROOT/bridge/loopback.xml" \
	>"$W/cyclone.xml"
CYCLONEDDS_URI=file://$W/cyclone.xml
export CYCLONEDDS_URI

# 1. The floor: ddsperf's own round trip (ping -> pong -> ping) with a
# payload of the demo structure's size, 5 s; the median over the per-second
# reports after the first.
ddsperf -i "$DOMAIN" pong >"$W/pong.log" 2>&1 &
PIDS="$PIDS $!"
timeout 30 ddsperf -i "$DOMAIN" -D 6 -Qminmatch:1 -Qinitwait:15 ping size 688 >"$W/ping.log" 2>&1
stop_all
fl() { # column after $1 ("50%", "99%") in the per-second lines, median, µs
	grep ' 50% ' "$W/ping.log" | sed 1d | sed -n "s/.* $1 \([0-9.]*\)us.*/\1/p" | sort -n |
		awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]; else print 0}'
}
rtt50=$(fl '50%')
rtt99=$(fl '99%')

# 2. Two bridges, A with the instance, B making it from A's state.
for h in A B; do
	printf '[bridge]\nschema = %s\nmmap_dir = mmap\nlock_dir = locks\ndomain = %s\ninstance = %s\n' \
		"$SCHEMA" "$DOMAIN" "$S" >"$W/$h/bridge.ini"
done
"$CLI" -s "$SCHEMA" -m "$W/A/mmap" -l "$W/A/locks" create "$S" >/dev/null
"$BRIDGE" "$W/A/bridge.ini" >"$W/A/log" 2>&1 &
PIDS="$PIDS $!"
"$BRIDGE" "$W/B/bridge.ini" >"$W/B/log" 2>&1 &
PIDS="$PIDS $!"
i=0
until "$CLI" -s "$SCHEMA" -m "$W/B/mmap" -l "$W/B/locks" get "$S" data_int >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 300 ] || { stop_all; skip "B never got A's instance (see $W/B/log)"; }
	sleep 0.1
done
st() { sed -n "s/^$2 = //p" "$W/$1/locks/ipmmap-bridge.status"; }

set -- $("$BB" prop "$SCHEMA" "$W/A" "$W/B" "$N")
p50=${1:-0} p99=${2:-0} lost=${5:-?}
sent0=$(st A sent) applied0=$(st B applied)
set -- $("$BB" rate "$SCHEMA" "$W/A" "$W/B" "$SECS")
writes=${1:-0} secs=${2:-1} catchup=${3:-0}
sleep 0.5 # the status files are rewritten at most every 100 ms
sent=$(($(st A sent) - sent0))
applied=$(($(st B applied) - applied0))
refused=$(st B refused)
stop_all

awk -v p50="$p50" -v p99="$p99" -v r50="$rtt50" -v r99="$rtt99" -v n="$N" -v lost="$lost" \
	-v w="$writes" -v s="$secs" -v sent="$sent" -v ap="$applied" -v cu="$catchup" -v rf="$refused" '
function ratio(a, b) { return b > 0 ? sprintf("%.1f", a / b) : "n/a" }
BEGIN {
	printf "| propagation: a write on A until B'"'"'s memory holds it, p50 (%d updates one at a time; %s lost) | %.0f µs | ddsperf round trip p50: %.0f µs | %s | — |\n", n, lost, p50, r50, ratio(p50, r50)
	printf "| ... p99 | %.0f µs | ddsperf round trip p99: %.0f µs | %s | — |\n", p99, r99, ratio(p99, r99)
	printf "| the bridge'"'"'s own part of p50: propagation less one ddsperf round trip | %.0f µs | — | — | — |\n", p50 - r50
	printf "| one writer on A nonstop for %.0f s: writes made on A per second | %.0f /s | — | — | — |\n", s, w / s
	printf "| ... states A'"'"'s bridge published per second (the rest coalesced) | %.0f /s | — | — | — |\n", sent / s
	printf "| ... states B'"'"'s bridge applied per second (%s refused) | %.0f /s | — | — | — |\n", rf, ap / s
	printf "| ... after the writer stopped, B held its last write within | %.1f ms | — | — | — |\n", cu
}'
