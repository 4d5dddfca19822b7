#!/bin/sh
# 05_mount.sh - starting and stopping: bad configurations refused with their
# line and nothing mounted; read-only mounts; every file of mmap_dir shown,
# new ones without remounting, a damaged one answering EIO alone; SIGTERM and
# SIGINT; -s; a crashed server's mount recovered; auto_unmount; --help,
# --version, $IPMMAPFS_CONFIG; mount -t fuse.ipmmapfs.
. "$(dirname "$0")/lib.sh"

bw() { timeout 10 bash -c "$1" sh "$2" 2>&1; }
M2=$T/mnt2
mkdir -p "$M2"

for c in "unknown_key.ini:4: unknown key 'colour'" \
	"bad_bool.ini:4: bad boolean 'maybe'" \
	"native_no_create.ini:4: native = needs create = yes" \
	"bad_section.ini:6: unknown section [other]" \
	"no_schema.ini:3: create = yes needs a schema" \
	"syntax.ini:4: syntax error" \
	"unknown_struct.ini:5: no structure 'NoSuch' in the schema" \
	"dup_instance.ini:6: instance directory 'DemoMmapStructure_left' already given on line 5" \
	"missing_file.ini:6: cannot open" \
	"bad_flag.ini:4: bad instance" \
	"broken_schema.ini:3: unknown type 'u33'"; do
	f=${c%%:*}
	[ "$f" = broken_schema.ini ] && f=bad_schema.ini
	out=$(timeout 10 "$FS" -f -o config="$FIX/$f" "$M2" 2>&1)
	rc=$?
	[ $rc -ne 0 ] && ok "$f refused (status $rc)" || nok "$f accepted"
	contains "... with $c" "$FIX/$c" "$out"
	mounted "$M2" && nok "... but mounted" || ok "... nothing mounted"
done
# No configuration at all mounts the working directory's .mmap: 24_described.sh.
contains "--help lists the config option" "config=FILE" "$(timeout 10 "$FS" --help 2>&1)"
contains "--help gives the search order" '$IPMMAPFS_CONFIG, ./ipmmapfs.ini, /etc/ipmmapfs.ini' "$(timeout 10 "$FS" --help 2>&1)"
contains "--help documents auto_unmount" "auto_unmount" "$(timeout 10 "$FS" --help 2>&1)"
contains "--version" "ipmmapfs version" "$(timeout 10 "$FS" --version 2>&1)"

# A manager makes two instances; then a mount in scan mode shows them.
conf "$T/m.ini" "create = yes" "instance = DemoMmapStructure" "instance = DemoMmapStructure:left ro"
start "$T/mnt" -o config="$T/m.ini" || nok "manager mount"
expect "an instance marked ro: no w (0400, dirs 0500)" "400 500" "$(stat -c %a "$T/mnt/DemoMmapStructure_left/data_int") $(stat -c %a "$T/mnt/DemoMmapStructure_left/data_xy")"
out=$(bw 'echo 1 > "$1"' "$T/mnt/DemoMmapStructure_left/data_int") && nok "write to ro instance refused" || contains "... EROFS" "Read-only file system" "$out"
expect "the other keeps its .mmap's 0600" 600 "$(stat -c %a "$T/mnt/DemoMmapStructure/data_int")"
bw 'echo 9 > "$1"' "$T/mnt/DemoMmapStructure/data_int" >/dev/null
kill -TERM "$FSPID"
reap "$FSPID"
expect "SIGTERM: exit status 0" 0 $?
mounted "$T/mnt" && nok "SIGTERM: still mounted" || ok "SIGTERM: unmounted"

conf "$T/ro.ini" "read_only = yes"
start "$T/mnt" -o config="$T/ro.ini" || nok "read-only mount"
expect "read_only = yes: no w (files 0400, dirs 0500)" "400 400 500" "$(stat -c %a "$T/mnt/DemoMmapStructure/data_int" "$T/mnt/DemoMmapStructure/.values" "$T/mnt/DemoMmapStructure/data_xy" | tr '\n' ' ' | sed 's/ $//')"
out=$(bw 'echo 1 > "$1"' "$T/mnt/DemoMmapStructure/data_int") && nok "read_only refuses writes" || contains "read_only refuses writes with EROFS" "Read-only file system" "$out"
refuse "... and .values" bw 'echo "data_int = 1" > "$1"' "$T/mnt/DemoMmapStructure/.values"
expect "... value unchanged" 9 "$(t cat "$T/mnt/DemoMmapStructure/data_int")"
kill -INT "$FSPID"
reap "$FSPID"
expect "SIGINT: exit status 0" 0 $?

conf "$T/ed.ini"
start "$T/mnt" -o config="$T/ed.ini" -o ro || nok "-o ro mount"
out=$(bw 'echo 1 > "$1"' "$T/mnt/DemoMmapStructure/data_int") && nok "-o ro refuses writes" || contains "-o ro refuses writes with EROFS" "Read-only file system" "$out"
expect "-o ro: files 0400" 400 "$(stat -c %a "$T/mnt/DemoMmapStructure/data_int")"
stop "$T/mnt"

# Scan mode, multi-threaded then single-threaded.
for mode in mt -s; do
	if [ $mode = -s ]; then start "$T/mnt" -s -o config="$T/ed.ini" || nok "-s mount"; else start "$T/mnt" -o config="$T/ed.ini" || nok "scan mount"; fi
	contains "$mode: every instance file is shown" "DemoMmapStructure DemoMmapStructure_left" "$(t ls "$T/mnt" | grep -v _direct | grep -v _new | tr '\n' ' ')"
	check "$mode: write" bw 'echo 31 > "$1"' "$T/mnt/DemoMmapStructure_left/data_int"
	expect "$mode: read" 31 "$(t cat "$T/mnt/DemoMmapStructure_left/data_int")"
	"$PYTHON" "$HELPER" create "$MMAP/DemoMmapStructure_new$mode.mmap" 688
	contains "$mode: a file made after mounting appears in ls" "DemoMmapStructure_new$mode" "$(t ls "$T/mnt")"
	expect "$mode: ... and reads" 4392 "$(t cat "$T/mnt/DemoMmapStructure_new$mode/header/header_code")"
	"$PYTHON" "$HELPER" create "$MMAP/DemoMmapStructure_direct$mode.mmap" 688
	expect "$mode: a new file is found by name too" 0 "$(t cat "$T/mnt/DemoMmapStructure_direct$mode/data_int")"
	stop "$T/mnt"
	expect "$mode: clean unmount" 0 $?
done
"$PYTHON" "$HELPER" create "$MMAP/DemoMmapStructure_bad.mmap" 600
printf 'x' >"$MMAP/Unknown_x.mmap"
start "$T/mnt" -o config="$T/ed.ini" || nok "scan mount"
contains "a damaged file is listed" "DemoMmapStructure_bad" "$(t ls "$T/mnt")"
expect "a file of no schema structure is shown, .raw and .status only" ".raw .status" \
	"$(t ls -A "$T/mnt/Unknown_x" | tr '\n' ' ' | sed 's/ $//')"
contains "... a 1-byte one is damaged" "state = damaged (" "$(t cat "$T/mnt/Unknown_x/.status")"
out=$(t cat "$T/mnt/DemoMmapStructure_bad/data_int" 2>&1) && nok "damaged instance: EIO" || contains "damaged instance answers EIO" "Input/output error" "$out"
expect "... others unaffected" 31 "$(t cat "$T/mnt/DemoMmapStructure_left/data_int")"
contains "... and the reason is logged" "DemoMmapStructure_bad" "$(cat "$T/mnt.log")"
rm -f "$MMAP/DemoMmapStructure_bad.mmap" "$MMAP/Unknown_x.mmap"

# kill -9 leaves a dead mount; the next start detaches it by itself. A
# client had just looked at the mount point: the kernel answers stat() from
# the attributes it cached then, even once the server is dead, so only a
# request that always reaches the server (statfs, opendir) tells.
stat "$T/mnt" >/dev/null
kill -KILL "$FSPID"
reap "$FSPID"
out=$(stat -f "$T/mnt" 2>&1)
contains "kill -9 leaves a stale mount" "Transport endpoint is not connected" "$out"
start "$T/mnt" -o config="$T/ed.ini" || nok "restart on a stale mount"
contains "restart says what it does about the stale mount" "fusermount3 -u -z" "$(cat "$T/mnt.log")"
expect "... and serves" 31 "$(t cat "$T/mnt/DemoMmapStructure_left/data_int")"
expect "... one mount only" 1 "$(grep -c " $T/mnt " /proc/self/mountinfo)"
stop "$T/mnt"

# -o auto_unmount: ours is to hand the option to fusermount3, which then
# stays beside the server as a watcher and unmounts when the server's end of
# their socket closes. Whether it unmounts is fusermount3's, and sometimes it
# does not (libfuse 3.14, and its master alike; traced here with ftrace):
# - It unmounts only if open(MOUNTPOINT) fails with ENOTCONN. A dying process
#   lets go of the socket before its /dev/fuse descriptor, so the watcher can
#   wake while the connection still stands: its FUSE_OPENDIR is then ended by
#   the kernel's abort with ECONNABORTED, and it leaves the mount as it is (9
#   kills in 150 here with 8 busy loops on the 2 cores).
# - In a chroot whose / is not a mount point (fresh-check.sh's root) its
#   first step, mount(MS_PRIVATE) on /, fails with EINVAL: it never unmounts.
# Either way the next start detaches the stale mount by itself (main_recover()
# in fs/main.c): that is what is checked, once the watcher is gone (a late
# watcher must not detach the new mount).

# watcher PID: the pid of the fusermount3 that server PID left to watch it.
watcher() {
	for d in /proc/[0-9]*; do
		[ "$(cat "$d/comm" 2>/dev/null)" = fusermount3 ] || continue
		set -- "$1" $(sed 's/^.*) //' "$d/stat" 2>/dev/null)
		[ "$3" = "$1" ] && echo "${d#/proc/}" && return 0
	done
	return 1
}
start "$T/mnt" -o config="$T/ed.ini" -o auto_unmount || nok "auto_unmount mount"
W=$(watcher "$FSPID")
contains "auto_unmount: fusermount3 watches the server" "auto_unmount" \
	"$(tr '\0' ' ' <"/proc/$W/cmdline" 2>/dev/null)"
kill -KILL "$FSPID"
reap "$FSPID"
i=0
while [ -n "$W" ] && alive "$W" && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
[ -n "$W" ] && alive "$W" && nok "auto_unmount: the watcher still runs 30 s after kill -9"
mounted "$T/mnt" && echo "# fusermount3 left the mount after kill -9 (see above)" ||
	ok "auto_unmount: fusermount3 cleared the mount after kill -9"
start "$T/mnt" -o config="$T/ed.ini" -o auto_unmount || nok "restart after kill -9 with auto_unmount"
expect "... serves, whatever the watcher did" 31 "$(t cat "$T/mnt/DemoMmapStructure_left/data_int")"
expect "... one mount only" 1 "$(grep -c " $T/mnt " /proc/self/mountinfo)"
stop "$T/mnt"

cp "$T/ed.ini" "$T/ipmmapfs.ini"
(cd "$T" && IPMMAPFS_CONFIG= exec "$FS" -f "$T/mnt") >"$T/mnt.log" 2>&1 &
FSPID=$!
SERVERS="$SERVERS $FSPID"
await "$T/mnt" || nok "mount with ./ipmmapfs.ini"
expect "./ipmmapfs.ini is found" 31 "$(t cat "$T/mnt/DemoMmapStructure_left/data_int")"
stop "$T/mnt"
IPMMAPFS_CONFIG=$T/ro.ini start "$T/mnt" || nok "IPMMAPFS_CONFIG mount"
expect "\$IPMMAPFS_CONFIG is used" 400 "$(stat -c %a "$T/mnt/DemoMmapStructure/data_int")"
stop "$T/mnt"

# mount(8) runs /sbin/mount.fuse3, which runs "ipmmapfs CONFIG MOUNTPOINT -o ..."
# from a fixed PATH: link the binary into /usr/local/bin only if nothing is there.
if [ -x /sbin/mount.fuse3 ] && [ ! -e /usr/local/bin/ipmmapfs ] && [ -d /usr/local/bin ]; then
	ln -s "$FS" /usr/local/bin/ipmmapfs && LINKS=/usr/local/bin/ipmmapfs
	if t mount -t fuse.ipmmapfs "$T/ed.ini" "$T/mnt" >"$T/mount.log" 2>&1; then
		ok "mount -t fuse.ipmmapfs CONFIG MOUNTPOINT"
		expect "... serves" 31 "$(t cat "$T/mnt/DemoMmapStructure_left/data_int")"
		contains "... /proc/mounts names the configuration" "$T/ed.ini $T/mnt fuse.ipmmapfs" "$(cat /proc/mounts)"
		check "... umount" umount "$T/mnt"
	else
		nok "mount -t fuse.ipmmapfs: $(cat "$T/mount.log")"
	fi
	rm -f /usr/local/bin/ipmmapfs
	LINKS=
else
	ok "SKIPPED mount -t fuse.ipmmapfs: /usr/local/bin/ipmmapfs exists or no mount.fuse3"
fi
finish
