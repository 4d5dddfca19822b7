#!/bin/sh
# 15_status_truth.sh - .status tells the truth when it is read: a .mmap cut
# in place (to 0 bytes, within its page) and a lock file that cannot be made
# (replaced by a directory, or the lock directory full) each read as
# "state = damaged (why)" at once, naming the file, while the fields answer
# EIO; repaired, the instance is ok again. A cut lock file that the mount may
# write is repaired by the look itself, and reads ok.
. "$(dirname "$0")/lib.sh"

conf "$T/w.ini" "create = yes" "instance = DemoMmapStructure"
conf "$T/r.ini" "instance = DemoMmapStructure ro"
start "$T/mnt" -o config="$T/w.ini" || { nok "mount"; finish; }
W=$FSPID
start "$T/mnt2" -o config="$T/r.ini" || { nok "read-only mount"; finish; }
R=$FSPID
D=$T/mnt/DemoMmapStructure
D2=$T/mnt2/DemoMmapStructure
F=$MMAP/DemoMmapStructure_.mmap
L=$LOCKS/DemoMmapStructure_.lockfile
state() { t cat "$1/.status" | sed -n 's/^state = //p'; }

echo 4242 >"$D/data_int"
expect "a sound instance: state = ok" ok "$(state "$D")"
cp "$F" "$T/saved"

truncate -s 0 "$F"
s=$(state "$D")
contains "cut to 0 bytes in place: damaged at once" "damaged (" "$s"
contains "... naming the file" "$F" "$s"
refuse "... a field answers an error" t cat "$D/data_int"
contains "... the reader's mount says so too" "damaged (" "$(state "$D2")"

truncate -s 100 "$F"
s=$(state "$D")
contains "cut within its first page: damaged" "damaged (" "$s"
contains "... naming the file" "$F" "$s"
refuse "... a field answers an error, not zeros" t cat "$D/data_int"

cat "$T/saved" >"$F" # the same inode, its bytes back
expect "repaired in place: ok again" ok "$(state "$D")"
expect "... the value is back" 4242 "$(t cat "$D/data_int")"

size=$(stat -c %s "$L")
truncate -s 0 "$L"
# Root's reader mount may write the lock file, so its look repairs it.
expect "a lock file cut: .status of a mount that may write it is ok" ok "$(state "$D2")"
expect "... because that look grew it back" "$size" "$(stat -c %s "$L")"
expect "... the writer's mount is ok too" ok "$(state "$D")"

rm -f "$L" && mkdir "$L"
s=$(state "$D")
contains "a lock file that cannot be made: damaged" "damaged (" "$s"
contains "... naming it" "$L" "$s"
rmdir "$L"
expect "... made again: ok" ok "$(state "$D")"
expect "... the value kept" 4242 "$(t cat "$D/data_int")"

stop "$T/mnt2" || nok "read-only server exit status"
FSPID=$W
stop "$T/mnt" || nok "server exit status"

# The lock directory on a small tmpfs, full when the lock file must be made.
mkdir -p "$T/small"
if mount -t tmpfs -o size=64k ipmtest "$T/small" 2>/dev/null; then
	at_exit "umount -l '$T/small' 2>/dev/null"
	sed "s|^lock_dir = .*|lock_dir = $T/small|" "$T/w.ini" >"$T/s.ini"
	start "$T/mnt" -o config="$T/s.ini" || { nok "mount on a small lock dir"; finish; }
	expect "lock dir on a small tmpfs: ok" ok "$(state "$D")"
	dd if=/dev/zero of="$T/small/fill" bs=4k 2>/dev/null
	rm -f "$T/small/DemoMmapStructure_.lockfile"
	s=$(state "$D")
	contains "lock directory full, lock file gone: damaged" "damaged (" "$s"
	contains "... no space" "No space left on device" "$s"
	rm -f "$T/small/fill"
	expect "... room again: ok" ok "$(state "$D")"
	stop "$T/mnt" || nok "server exit status (small lock dir)"
else
	ok "SKIPPED: cannot mount a tmpfs for a full lock directory"
fi
finish
