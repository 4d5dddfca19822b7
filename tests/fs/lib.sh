# lib.sh - sourced by the mount scenarios tests/fs/NN_*.sh (POSIX sh, run from
# the repository root by tests/run.sh with B and PYTHON set).
#
# Every scenario works under its own mktemp -d directory, mounts with
# `ipmmapfs -f ... &`, waits (bounded) until the mount shows in
# /proc/self/mountinfo while the process is alive, wraps every client in
# timeout, and always unmounts and reaps its servers in an EXIT trap, also
# when a check fails. It prints "ok - what" / "not ok - what" per check and
# exits non-zero when one failed. Needs root and /dev/fuse; otherwise it
# prints one skipped ok line.

B=${B:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
ROOT=$(pwd)
FS=$ROOT/$B/ipmmapfs
HELPER=$ROOT/tests/fs/shm.py
FIX=$ROOT/tests/fs/fixtures
SCHEMA=$ROOT/conf/demo.ini
nfail=0
SERVERS=""
LINKS=""

ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; nfail=$((nfail + 1)); }

# check WHAT COMMAND...: ok if the command succeeds.
check() {
	what=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$what"; else nok "$what"; fi
}

# refuse WHAT COMMAND...: ok if the command fails.
refuse() {
	what=$1
	shift
	if "$@" >/dev/null 2>&1; then nok "$what (it succeeded)"; else ok "$what"; fi
}

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

skip_all() {
	echo "ok - SKIPPED: $*"
	exit 0
}

[ "$(id -u)" -eq 0 ] || skip_all "mount tests need root"
[ -c /dev/fuse ] || skip_all "no /dev/fuse"
command -v fusermount3 >/dev/null 2>&1 || skip_all "no fusermount3"
[ -x "$FS" ] || { echo "not ok - $FS not built"; exit 1; }

DEFSIG=
env --default-signal=INT true 2>/dev/null && DEFSIG="env --default-signal=INT"

T=$(mktemp -d /tmp/ipmmapfs-test.XXXXXX)
MMAP=$T/mmap
LOCKS=$T/locks
mkdir -p "$T/mnt" "$MMAP" "$LOCKS"

mounted() { grep -q " $1 " /proc/self/mountinfo; }

cleanup() {
	if [ "$nfail" -ne 0 ]; then
		for l in "$T"/*.log; do [ -f "$l" ] && sed "s|^|# $(basename "$l"): |" "$l"; done
	fi
	for m in "$T"/mnt*; do
		if mounted "$m"; then fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m"; fi
	done
	for p in $SERVERS; do kill "$p" 2>/dev/null; done
	for p in $SERVERS; do reap "$p" 2>/dev/null; done
	# A sanitizer build (B=build-san): a server that reported a leak, a bad
	# access or undefined behaviour fails the scenario. Servers end by
	# unmount or SIGTERM above, so LeakSanitizer runs at their exit.
	for l in "$T"/*.log; do
		[ -f "$l" ] || continue
		if grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$l"; then
			echo "not ok - sanitizer report in $(basename "$l")"
			sed "s|^|# $(basename "$l"): |" "$l" | head -60
			nfail=$((nfail + 1))
		fi
	done
	for l in $LINKS; do rm -f "$l"; done
	# at_exit's commands, last registered first (users, groups made).
	[ -n "$AT_EXIT" ] && eval "$AT_EXIT"
	# Never rm -rf a tree that still holds a live mount.
	if ! grep -q " $T/" /proc/self/mountinfo; then rm -rf "$T"; fi
}
AT_EXIT=
# at_exit COMMAND: run by the EXIT trap, also when a check failed.
at_exit() { AT_EXIT="$1; $AT_EXIT"; }
trap 'cleanup; [ "$nfail" -eq 0 ] || exit 1' EXIT
trap 'exit 130' INT TERM HUP

# conf FILE [LINE...]: a configuration over the demo schema and $T's dirs.
conf() {
	f=$1
	shift
	{
		echo "[ipmmapfs]"
		echo "schema = $SCHEMA"
		echo "mmap_dir = $MMAP"
		echo "lock_dir = $LOCKS"
		for l in "$@"; do echo "$l"; done
	} >"$f"
}

# start MOUNTPOINT ARGS...: runs ipmmapfs -f in the background (FSPID) and
# waits up to 30 s for the mount (a loaded machine). Log in MOUNTPOINT.log.
start() {
	mp=$1
	shift
	mkdir -p "$mp" 2>/dev/null
	# A background job of sh ignores SIGINT, and libfuse keeps an ignored
	# signal ignored: give the server the default back for the SIGINT test.
	$DEFSIG "$FS" -f "$@" "$mp" >"$mp.log" 2>&1 &
	FSPID=$!
	SERVERS="$SERVERS $FSPID"
	await "$mp"
}

# await MOUNTPOINT: waits up to 30 s for server FSPID (started by the caller,
# logging to MOUNTPOINT.log) to serve MOUNTPOINT; 1 if it died or never did.
await() {
	i=0
	while [ $i -lt 600 ]; do
		# A stale mount left by a killed server is in mountinfo too, and
		# stat may answer from cached attributes: statfs always asks.
		mounted "$1" && stat -f "$1" >/dev/null 2>&1 && return 0
		kill -0 "$FSPID" 2>/dev/null || break
		sleep 0.05
		i=$((i + 1))
	done
	echo "# mount of $1 failed:" && sed 's/^/# /' "$1.log"
	return 1
}

# alive PID: running, not a zombie waiting to be reaped.
alive() { [ -d "/proc/$1" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; }

# reap PID: its exit status; 124 if it does not end within 30 s (killed then).
reap() {
	i=0
	while alive "$1" && [ $i -lt 600 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	if alive "$1"; then
		kill -KILL "$1" 2>/dev/null
		wait "$1"
		return 124
	fi
	wait "$1" 2>/dev/null # not dash's "Killed" for a kill -9
}

# stop MOUNTPOINT: unmounts and reaps the server; returns its exit status.
stop() {
	fusermount3 -u "$1" 2>/dev/null
	reap "$FSPID"
}

# Bytes in the mmap file, read straight from it: i32 FILE OFFSET, f64 ..., str ...
i32() { od -An -t d4 -j "$2" -N 4 "$1" | tr -d ' '; }
f64() { "$PYTHON" "$HELPER" get "$1" d "$2"; }
str() { "$PYTHON" "$HELPER" get "$1" s "$2"; }

# t COMMAND...: a client, stopped if it hangs (30 s: a loaded machine).
t() { timeout 30 "$@"; }
