# lib.sh - sourced (by bash) by the tests/python/NN_*.sh scenarios: a temp
# dir, ok/not ok lines, and peers driven line by line through FIFOs.
#
#   start py "$PYTHON" "$PEER" -m "$M" -l "$L" session
#   send py "begin write";  expect py "python holds the lock" "held write"
#
# Every peer runs under timeout(1), every read of its answers waits at most
# $WAIT seconds, and the EXIT trap kills what is left (by pid) and removes
# the temp dir. Nothing here sleeps to order processes: order comes from the
# answers on the pipes and from lock states in /proc/locks.
set -u
B=${B:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
top=$(pwd)
IPMMAP="$top/$B/ipmmap"
S="$top/conf/demo.ini"
PEER="$top/tests/python/peer.py"
WAIT=5
T=$(mktemp -d)
M="$T/mmap"
L="$T/locks"
LOCKFILE="$L/DemoMmapStructure_.lockfile"
MMFILE="$M/DemoMmapStructure_.mmap"
fails=0
declare -A IN OUT PID

cleanup() {
	local n
	# clients first, the mount (if any) after them, so it is not busy
	for n in "${!PID[@]}"; do
		[ "$n" = fs ] || kill "${PID[$n]}" 2>/dev/null
	done
	for n in "${!PID[@]}"; do
		[ "$n" = fs ] || wait "${PID[$n]}" 2>/dev/null
	done
	[ -n "${on_exit:-}" ] && eval "$on_exit"
	# never remove a tree that still holds a live mount
	grep -q " $T/" /proc/self/mountinfo || rm -rf "$T"
}
trap cleanup EXIT

ok() { echo "ok - $1"; }
no() {
	echo "not ok - $1"
	fails=$((fails + 1))
}
is() { # is DESCRIPTION EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then ok "$1"; else no "$1: expected '$2', got '$3'"; fi
}
finish() {
	exit $((fails > 0))
}

ipmmap() { timeout $WAIT "$IPMMAP" -s "$S" -m "$M" -l "$L" "$@"; }
py() { timeout $WAIT "$PYTHON" "$PEER" -m "$M" -l "$L" "$@"; }

# The README's test command installs python3-fasteners; missing is a failure.
need_python() {
	if ! [ -x "$PYTHON" ]; then
		no "python: $PYTHON not found (make check installs python3)"
		finish
	fi
	if ! "$PYTHON" -c 'import fasteners' 2>/dev/null; then
		no "python: $PYTHON cannot import fasteners (make check installs python3-fasteners)"
		finish
	fi
}

# The C peer (holder.c) built against the library into the temp dir.
HOLDER="$T/holder"
need_holder() {
	local san=
	case $B in *san*) san="-fsanitize=address,undefined" ;; esac
	if ! cc -std=gnu11 -D_GNU_SOURCE -I"$top/lib" -Wall -Wextra -Werror $san -o "$HOLDER" \
		"$top/tests/python/holder.c" "$top/$B/libipmmap.a" $(pkg-config --libs inih) \
		-lpthread 2>"$T/cc.err"; then
		no "build holder.c: $(cat "$T/cc.err")"
		finish
	fi
}

# closefds: in a child, closes the FIFO ends of the other peers, or they
# would never see end of file on their stdin.
closefds() {
	local n fd
	for n in "${!IN[@]}"; do
		fd=${IN[$n]}
		exec {fd}>&-
	done
	for n in "${!OUT[@]}"; do
		fd=${OUT[$n]}
		exec {fd}<&-
	done
	return 0
}

# background NAME COMMAND...: COMMAND in the background, output in $T/NAME.out.
background() {
	local n=$1
	shift
	(closefds && exec timeout $WAIT "$@") >"$T/$n.out" 2>&1 &
	PID[$n]=$!
}

# start NAME COMMAND...: runs COMMAND with stdin and stdout on two FIFOs
# (DOOMED=1 start ...: for a peer the test kills by its own pid).
start() {
	local n=$1 fd
	shift
	rm -f "$T/$n.in" "$T/$n.out"
	mkfifo "$T/$n.in" "$T/$n.out"
	if [ -n "${DOOMED:-}" ]; then
		# one to be killed: a subshell that outlives it, so the shell
		# prints no "Killed" notice (the peer ends on EOF of its stdin)
		(closefds && timeout 20 "$@"; exit 0) <"$T/$n.in" >"$T/$n.out" 2>"$T/$n.err" &
	else
		(closefds && exec timeout 20 "$@") <"$T/$n.in" >"$T/$n.out" 2>"$T/$n.err" &
	fi
	PID[$n]=$!
	# the same order as the child's redirections, or both would wait
	exec {fd}>"$T/$n.in"
	IN[$n]=$fd
	exec {fd}<"$T/$n.out"
	OUT[$n]=$fd
}

send() { echo "$2" >&"${IN[$1]}"; }

# answer NAME: the next line NAME prints ("<timeout>" after $WAIT s, "<eof>").
answer() {
	local line
	if read -r -t $WAIT line <&"${OUT[$1]}"; then
		echo "$line"
	elif [ $? -gt 128 ]; then
		echo "<timeout>"
	else
		echo "<eof>"
	fi
}

expect() { # expect NAME DESCRIPTION EXPECTED
	is "$2" "$3" "$(answer "$1")"
}

# stop NAME: closes its stdin and waits for it to exit.
stop() {
	local fd=${IN[$1]} rc
	exec {fd}>&-
	wait "${PID[$1]}"
	rc=$?
	fd=${OUT[$1]}
	exec {fd}<&-
	unset "PID[$1]" "IN[$1]" "OUT[$1]"
	return $rc
}

# reap NAME: after NAME was killed; waits for it without the shell's notice.
reap() {
	local fd=${IN[$1]}
	exec {fd}>&-
	{ wait "${PID[$1]}"; } 2>/dev/null
	fd=${OUT[$1]}
	exec {fd}<&-
	unset "PID[$1]" "IN[$1]" "OUT[$1]"
}

# waiters FILE: how many lock requests wait in the kernel on FILE (the
# "->" lines of /proc/locks with its MAJOR:MINOR:INODE).
waiters() {
	local dev ino id
	read -r dev ino < <(stat -c '%d %i' "$1")
	id=$(printf '%02x:%02x:%d' $(((dev >> 8) & 0xfff)) $(((dev & 0xff) | ((dev >> 12) & 0xfff00))) "$ino")
	grep -c -- "-> .* $id " /proc/locks
}

# wait_waiters FILE N: until N requests wait on FILE; fails after $WAIT s.
wait_waiters() {
	local end=$((SECONDS + WAIT + 1))
	while [ "$(waiters "$1")" -lt "$2" ]; do
		[ $SECONDS -ge $end ] && return 1
	done
	return 0
}

# alive PID: whether the process still runs.
alive() { kill -0 "$1" 2>/dev/null; }

# mount_fs: mounts ipmmapfs over $M and $L at $T/mnt (creating the demo
# instance as its manager), waiting at most $WAIT s for it to show up.
# Unmounted by the EXIT trap. Returns non-zero if it did not mount.
MNT="$T/mnt"
mounted() { grep -q " $MNT " /proc/self/mountinfo; }
mount_fs() {
	local end=$((SECONDS + WAIT + 1))
	mkdir -p "$MNT"
	printf '[ipmmapfs]\nschema = %s\nmmap_dir = %s\nlock_dir = %s\ncreate = yes\ninstance = DemoMmapStructure\n' \
		"$S" "$M" "$L" >"$T/fs.ini"
	(closefds && exec "$top/$B/ipmmapfs" -f -o config="$T/fs.ini" "$MNT") >"$T/fs.log" 2>&1 &
	PID[fs]=$!
	on_exit='unmount_fs'
	until mounted; do
		alive "${PID[fs]}" && [ $SECONDS -lt $end ] || return 1
	done
}
unmount_fs() {
	if mounted; then
		fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT" 2>/dev/null
	fi
	if [ -n "${PID[fs]:-}" ]; then
		kill "${PID[fs]}" 2>/dev/null
		wait "${PID[fs]}" 2>/dev/null
	fi
	unset "PID[fs]"
	return 0
}
