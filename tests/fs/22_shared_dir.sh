#!/bin/sh
# 22_shared_dir.sh - a scan mount of a shared (1777) mmap_dir with allow_other:
# another user cannot crowd out the owner's instances. By default only files
# owned by the mount's owner are shown ("owners =" widens it); ten thousand
# files of another user neither hide a new instance of the owner nor fill
# the log; and polling many instances does not start a thread each.
. "$(dirname "$0")/lib.sh"
command -v useradd >/dev/null 2>&1 || skip_all "no useradd"
command -v runuser >/dev/null 2>&1 || skip_all "no runuser"

U=ipmfsd$$
at_exit "userdel $U 2>/dev/null"
useradd -M -N -s /bin/sh "$U" || { nok "useradd $U"; finish; }
as_u() { timeout 120 runuser -u "$U" -- "$@"; }
chmod 755 "$T"
chmod 1777 "$MMAP" "$LOCKS"

# A valid instance file to copy: made by a mount that creates it.
conf "$T/c.ini" "create = yes" "instance = DemoMmapStructure:seed"
start "$T/mnt" -o config="$T/c.ini" || { nok "mount to create"; finish; }
stop "$T/mnt" || nok "server exit status 0"
SEED=$T/seed.mmap
cp "$MMAP/DemoMmapStructure_seed.mmap" "$SEED"
chmod 644 "$SEED"
rm -f "$MMAP/DemoMmapStructure_seed.mmap"

conf "$T/bad.ini" "owners = nosuch$$"
out=$(timeout 10 "$FS" -f -o config="$T/bad.ini" "$T/mnt" 2>&1)
contains "owners = an unknown user: refused, naming the line" "$T/bad.ini:5: unknown user 'nosuch$$'" "$out"

conf "$T/s.ini"
start "$T/mnt" -o config="$T/s.ini" -o allow_other || { nok "scan mount"; finish; }
as_u cp "$SEED" "$MMAP/DemoMmapStructure_theirs.mmap"
cp "$SEED" "$MMAP/DemoMmapStructure_mine.mmap"
l=$(t ls "$T/mnt")
contains "scan mode: the owner's instance is shown" "DemoMmapStructure_mine" "$l"
case $l in
*theirs*) nok "... another user's file is not shown by default: it is" ;;
*) ok "... another user's file is not shown by default" ;;
esac

# Ten thousand files of that user, then a new instance of the owner.
as_u "$PYTHON" -c '
import sys
src = open(sys.argv[1], "rb").read()
for i in range(10100):
    with open("%s/DemoMmapStructure_u%05d.mmap" % (sys.argv[2], i), "wb") as f:
        f.write(src)' "$SEED" "$MMAP" || nok "the user's files made"
t ls "$T/mnt" >/dev/null
cp "$SEED" "$MMAP/DemoMmapStructure_late.mmap"
check "10,100 files of another user: a later instance of the owner is shown" t cat "$T/mnt/DemoMmapStructure_late/data_int"
i=0
while [ $i -lt 20 ]; do
	as_u touch "$MMAP/DemoMmapStructure_x$i.mmap"
	as_u ls "$T/mnt/DemoMmapStructure_nope$i" >/dev/null 2>&1
	i=$((i + 1))
done
n=$(grep -c "not shown\|cannot show" "$T/mnt.log")
[ "$n" -le 3 ] && ok "... 20 lookups of missing names by that user: $n log lines" ||
	nok "... 20 lookups of missing names: $n log lines"
stop "$T/mnt"

conf "$T/o.ini" "owners = $U"
start "$T/mnt" -o config="$T/o.ini" -o allow_other || { nok "scan mount, owners = $U"; finish; }
contains "owners = $U: that user's files are shown" "DemoMmapStructure_theirs" "$(t ls "$T/mnt")"
stop "$T/mnt"
rm -f "$MMAP"/DemoMmapStructure_u* "$MMAP"/DemoMmapStructure_x*

# 100 instances polled: a bounded number of threads, every poller served.
"$PYTHON" -c '
import sys
src = open(sys.argv[1], "rb").read()
for i in range(100):
    with open("%s/DemoMmapStructure_p%03d.mmap" % (sys.argv[2], i), "wb") as f:
        f.write(src)' "$SEED" "$MMAP"
start "$T/mnt" -o config="$T/s.ini" || { nok "scan mount of 100"; finish; }
rm -f "$T/ready"
t "$PYTHON" -c '
import os, select, sys, time
mnt = sys.argv[1]
ep = select.epoll()
fds = {}
for i in range(100):
    fd = os.open("%s/DemoMmapStructure_p%03d/data_int" % (mnt, i), os.O_RDONLY)
    os.read(fd, 100)
    ep.register(fd, select.EPOLLPRI)
    fds[fd] = i
open(sys.argv[2], "w").write("ready\n")
end = time.time() + 20
while time.time() < end:
    for fd, ev in ep.poll(1):
        print("woke", fds[fd]); sys.exit(0)
print("timeout")' "$T/mnt" "$T/ready" >"$T/woke" &
poller=$!
i=0
while [ ! -s "$T/ready" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
sleep 0.5
th=$(sed -n 's/^Threads:[[:space:]]*//p' "/proc/$FSPID/status")
[ "$th" -le 90 ] && ok "100 instances polled: $th threads in the mount" || nok "100 instances polled: $th threads"
echo 7 >"$T/mnt/DemoMmapStructure_p099/data_int"
wait $poller
expect "... a change of the last one wakes its poller" "woke 99" "$(cat "$T/woke")"
stop "$T/mnt"
expect "clean unmount" 0 $?
finish
