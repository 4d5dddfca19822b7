#!/bin/sh
# run.sh - `make demo`: the seed's demo with the mount, in one step.
#
# Starts demo_editor (creates .mmap/DemoMmapStructure_.mmap as manager and
# rewrites its values once a second), mounts ipmmapfs on ./mnt with no
# configuration (every instance of ./.mmap), and waits. Ctrl-C unmounts and stops everything.
# DEMO_SECONDS=N stops by itself after N seconds (used by the tests).
set -u
B=${B:-build}
mnt=${DEMO_MNT:-mnt}
editor= fs=

cleanup() {
	trap - EXIT INT TERM
	if grep -qs " $(realpath "$mnt" 2>/dev/null) " /proc/self/mountinfo; then
		fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -u -z "$mnt"
	fi
	[ -n "$fs" ] && kill "$fs" 2>/dev/null && wait "$fs" 2>/dev/null
	[ -n "$editor" ] && kill "$editor" 2>/dev/null && wait "$editor" 2>/dev/null
	echo "demo stopped"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

mkdir -p "$mnt"
"$B"/demo_editor conf/demo.ini &
editor=$!
# The editor creates the file as manager; wait for it before mounting.
for _ in $(seq 100); do
	[ -f .mmap/DemoMmapStructure_.mmap ] && break
	kill -0 "$editor" 2>/dev/null || { echo "demo_editor failed" >&2; exit 1; }
	sleep 0.05
done

# The usage line: no configuration, the editor stored its structure's
# definition beside the lock file.
"$B"/ipmmapfs -f "$mnt" &
fs=$!
for _ in $(seq 100); do
	grep -qs " $(realpath "$mnt") " /proc/self/mountinfo && break
	kill -0 "$fs" 2>/dev/null || { echo "ipmmapfs failed to mount $mnt" >&2; exit 1; }
	sleep 0.05
done

cat <<MSG

The demo structure is shared at $mnt/DemoMmapStructure/; demo_editor rewrites it every second.
In another terminal, from $(pwd):

  ls $mnt/DemoMmapStructure/
  cat $mnt/DemoMmapStructure/data_int $mnt/DemoMmapStructure/data_string
  cat $mnt/DemoMmapStructure/multi_pts/multi_points/0/x
  echo 42 > $mnt/DemoMmapStructure/multi_pts/multi_data_int
  cat $mnt/DemoMmapStructure/.values
  echo abc > $mnt/DemoMmapStructure/data_int     # refused: Invalid argument
  $B/demo_reader                                 # the seed's reader, in C

Ctrl-C here stops the demo and unmounts.

MSG
if [ -n "${DEMO_SECONDS:-}" ]; then
	sleep "$DEMO_SECONDS"
else
	wait "$editor"
fi
