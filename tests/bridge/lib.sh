# lib.sh - sourced by the bridge scenarios tests/bridge/NN_*.sh (POSIX sh, run
# from the repository root by tests/run.sh with B set).
#
# Every scenario works under its own mktemp -d directory: each "host" is a
# folder with its own bridge.ini, mmap dir, lock dir and bridge process (its
# own DDS participant). Cyclone is configured through CYCLONEDDS_URI for
# loopback only: the `lo` interface, unicast discovery with the one peer
# 127.0.0.1, no multicast; so no packet leaves the machine. A random domain id
# and a discovery tag unique to the scenario keep concurrent runs (other
# checkouts, other users) from ever discovering each other. Waits are polling
# loops with wide deadlines (30 s); every bridge is stopped in the EXIT trap,
# also when a check fails. Prints "ok - what" / "not ok - what".

B=${B:-build}
ROOT=$(pwd)
BRIDGE=$ROOT/$B/ipmmap-bridge
CLI=$ROOT/$B/ipmmap
FS=$ROOT/$B/ipmmapfs
SCHEMA=$ROOT/conf/demo.ini
S=DemoMmapStructure
nfail=0
PIDS=""

ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; nfail=$((nfail + 1)); }

# expect WHAT EXPECTED ACTUAL
expect() {
	if [ "$2" = "$3" ]; then ok "$1"; else nok "$1: expected '$2', got '$3'"; fi
}

# contains WHAT NEEDLE HAYSTACK
contains() {
	case $3 in
	*"$2"*) ok "$1" ;;
	*) nok "$1: '$2' not in '$3'" ;;
	esac
}

finish() {
	[ "$nfail" -eq 0 ]
	exit $?
}

[ -x "$BRIDGE" ] || { echo "not ok - $BRIDGE not built"; exit 1; }

T=$(mktemp -d /tmp/ipmmap-bridge-test.XXXXXX)
DOMAIN=$(($(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 230 + 1))
DTAG=ipmmap-test-$(basename "$T")

# alive PID: running, not a zombie waiting to be reaped.
alive() { [ -d "/proc/$1" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; }

# reap PID: waits up to 10 s for it to end (then SIGKILL); its exit status.
reap() {
	i=0
	while alive "$1" && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	if alive "$1"; then
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		return 124
	fi
	wait "$1" 2>/dev/null
}

cleanup() {
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do reap "$p"; done
	if grep -q " $T/" /proc/self/mountinfo 2>/dev/null; then
		for m in "$T"/*/mnt; do
			grep -q " $m " /proc/self/mountinfo && { fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m"; }
		done
	fi
	# A sanitizer build (B=build-san): a report in a log fails the scenario.
	for l in "$T"/*/log; do
		[ -f "$l" ] || continue
		if grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$l"; then
			echo "not ok - sanitizer report in $l"
			nfail=$((nfail + 1))
		fi
	done
	if [ "$nfail" -ne 0 ]; then
		for l in "$T"/*/log; do [ -f "$l" ] && sed "s|^|# $l: |" "$l" | tail -40; done
	fi
	grep -q " $T/" /proc/self/mountinfo 2>/dev/null || rm -rf "$T"
}
trap 'cleanup; [ "$nfail" -eq 0 ] || exit 1' EXIT
trap 'exit 130' INT TERM HUP

# The Cyclone configuration every bridge of the scenario reads: the
# repository's bridge/loopback.xml (the README shows it) with the scenario's
# own discovery tag. With TRACE set, each process also writes its
# configuration and discovery to $T/dds-PID.log, to check which addresses
# it uses.
cyclone() {
	trace=
	if [ -n "${TRACE:-}" ]; then
		trace="<Tracing><Category>config,discovery</Category>"
		trace="$trace<OutputFile>$T/dds-\${CYCLONEDDS_PID}.log</OutputFile></Tracing>"
	fi
	sed -e "s|<Tag>[^<]*</Tag>|<Tag>$DTAG</Tag>|" -e "s|</Domain>|$trace</Domain>|" \
		"$ROOT/bridge/loopback.xml" >"$T/cyclone.xml"
	CYCLONEDDS_URI=file://$T/cyclone.xml
	export CYCLONEDDS_URI
}
cyclone

# host NAME [LINE...]: the folder $T/NAME with its bridge.ini over $SCHEMA
# (or $HSCHEMA) and the instance line(s) given (default: instance = $S).
host() {
	h=$1
	shift
	mkdir -p "$T/$h"
	{
		echo "[bridge]"
		echo "schema = ${HSCHEMA:-$SCHEMA}"
		echo "mmap_dir = mmap"
		echo "lock_dir = locks"
		echo "domain = $DOMAIN"
		if [ $# -eq 0 ]; then echo "instance = $S"; fi
		for l in "$@"; do echo "$l"; done
	} >"$T/$h/bridge.ini"
}

# pid NAME: the running bridge of host NAME.
pid() { cat "$T/$1/pid" 2>/dev/null; }

# status NAME KEY: a value of the bridge's status file ("" if none).
status() { sed -n "s/^$2 = //p" "$T/$1/locks/ipmmap-bridge.status" 2>/dev/null; }

# start NAME: starts host NAME's bridge and waits (30 s at most) until its
# status file says it runs. Log in $T/NAME/log.
start() {
	rm -f "$T/$1/locks/ipmmap-bridge.status"
	"$BRIDGE" "$T/$1/bridge.ini" >>"$T/$1/log" 2>&1 &
	echo $! >"$T/$1/pid"
	PIDS="$PIDS $!"
	until_ 30 running "$1"
}

# running NAME: the status file is that of the bridge started last, running.
running() { [ "$(status "$1" pid)" = "$(pid "$1")" ] && [ "$(status "$1" state)" = running ]; }

# stop NAME [SIGNAL]: sends SIGTERM (or SIGNAL) and reaps; its exit status.
stop() {
	p=$(pid "$1")
	kill "-${2:-TERM}" "$p" 2>/dev/null
	reap "$p"
}

# ipm NAME ARGS...: the command-line tool on host NAME's instances.
ipm() {
	h=$1
	shift
	timeout 20 "$CLI" -s "${HSCHEMA:-$SCHEMA}" -m "$T/$h/mmap" -l "$T/$h/locks" "$@"
}

# get NAME PATH: a field of $S on host NAME ("" if it cannot be read).
get() { ipm "$1" get "$S" "$2" 2>/dev/null; }

# until_ SECONDS COMMAND...: runs COMMAND every 0.05 s until it succeeds
# (status 0) or SECONDS have passed (status 1).
until_() {
	n=$(($1 * 20))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" 2>/dev/null && return 0
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}

# is NAME PATH VALUE: host NAME's field PATH reads VALUE.
is() { [ "$(get "$1" "$2")" = "$3" ]; }

# shows WHAT NAME PATH VALUE: ok if host NAME's field reaches VALUE within 30 s.
shows() {
	if until_ 30 is "$2" "$3" "$4"; then ok "$1"; else nok "$1: $2's $3 is '$(get "$2" "$3")', expected '$4'"; fi
}

# settled NAME...: the bridges' sent/applied/older counters stay the same
# for one second (nothing is bouncing between bridges); 30 s at most.
counts() { for h; do echo "$(status "$h" sent)/$(status "$h" applied)/$(status "$h" older)"; done; }
settled_once() {
	a=$(counts "$@")
	sleep 1
	[ "$a" = "$(counts "$@")" ]
}
settled() { until_ 30 settled_once "$@"; }
