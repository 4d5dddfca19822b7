#!/bin/sh
# 14_allow_other.sh - with -o allow_other, every entry of an instance shows
# its .mmap's owner, group and mode (read-only entries without w, directories
# with x wherever they give r), and the kernel enforces them
# (default_permissions): run as a real second user, made here with useradd
# and removed at the end, also on failure.
. "$(dirname "$0")/lib.sh"
command -v useradd >/dev/null 2>&1 || skip_all "no useradd"
command -v runuser >/dev/null 2>&1 || skip_all "no runuser"

U=ipmfsu$$
G=ipmfsg$$
at_exit "groupdel $G 2>/dev/null"
at_exit "userdel $U 2>/dev/null"
groupadd "$G" || { nok "groupadd $G"; finish; }
useradd -M -N -s /bin/sh -G "$G" "$U" || { nok "useradd $U"; finish; }
gid=$(getent group "$G" | cut -d: -f3)
as_u() { timeout 10 runuser -u "$U" -- "$@"; }
as_nobody() { timeout 10 runuser -u nobody -- "$@"; }

chmod 755 "$T" # let the users reach the mount point below it
# Three instances: private (the default 0600), group (0660, group G) and
# shared read-only (0664, an "ro" instance line).
conf "$T/fs.ini" "create = yes" "instance = DemoMmapStructure" \
	"instance = DemoMmapStructure:grp" "instance = DemoMmapStructure:shr ro"
start "$T/mnt" -o config="$T/fs.ini" || { nok "mount to create"; finish; }
stop "$T/mnt" || nok "server exit status 0"
chgrp "$G" "$MMAP/DemoMmapStructure_grp.mmap"
chmod 0660 "$MMAP/DemoMmapStructure_grp.mmap"
chmod 0664 "$MMAP/DemoMmapStructure_shr.mmap"

start "$T/mnt" -o config="$T/fs.ini" -o allow_other || { nok "mount with allow_other"; finish; }
P=$T/mnt/DemoMmapStructure
Q=$T/mnt/DemoMmapStructure_grp
R=$T/mnt/DemoMmapStructure_shr
modes() { stat -c '%A %U %G' "$@" | tr '\n' ',' | sed 's/,$//'; }
expect "a 0600 instance: its entries show the .mmap's owner and mode" \
	"drwx------ root root,-rw------- root root,-r-------- root root,-r-------- root root,-r-------- root root,drwx------ root root" \
	"$(modes "$P" "$P/data_int" "$P/header/header_code" "$P/.raw" "$P/.status" "$P/multi_pts")"
expect "a 0660 instance of group G: group rw, directories rwx" \
	"drwxrwx--- root $G,-rw-rw---- root $G,-rw-rw---- root $G,-r--r----- root $G,drwxrwx--- root $G" \
	"$(modes "$Q" "$Q/data_int" "$Q/.values" "$Q/header/header_code" "$Q/multi_pts/multi_points")"
expect "a 0664 read-only instance: no w anywhere, x where r" \
	"dr-xr-xr-x root root,-r--r--r-- root root,-r--r--r-- root root" \
	"$(modes "$R" "$R/data_int" "$R/.values")"

refuse "the 0600 instance: another user cannot list it" as_u ls "$P"
refuse "... nor read a field" as_u cat "$P/data_int"
refuse "... nor .values" as_u cat "$P/.values"
refuse "... nor .raw" as_u cat "$P/.raw"
refuse "... nor write a field" as_u sh -c "echo 9 > '$P/data_int'"
expect "... which is unchanged" 0 "$(t cat "$P/data_int")"

check "the 0660 instance: a member of G lists it" as_u ls "$Q/multi_pts"
check "... reads a field" as_u cat "$Q/data_int"
check "... writes a field" as_u sh -c "echo 41 > '$Q/data_int'"
expect "... which is stored" 41 "$(t cat "$Q/data_int")"
check "... writes .values" as_u sh -c "echo 'data_int = 42' > '$Q/.values'"
expect "... which is stored" 42 "$(t cat "$Q/data_int")"
refuse "... but not the header code" as_u sh -c "echo 1 > '$Q/header/header_code'"
refuse "a user outside G cannot read it" as_nobody cat "$Q/data_int"

check "the 0664 read-only instance: anyone reads" as_nobody cat "$R/data_int"
refuse "... nobody writes, not even G" as_u sh -c "echo 5 > '$R/data_int'"

chmod 0640 "$MMAP/DemoMmapStructure_grp.mmap"
i=0
while [ $i -lt 300 ] && [ "$(stat -c %A "$Q/data_int")" != "-rw-r-----" ]; do
	sleep 0.1
	i=$((i + 1))
done
expect "a chmod of the .mmap shows through the mount" "-rw-r-----" "$(stat -c %A "$Q/data_int")"
refuse "... and G may no longer write" as_u sh -c "echo 43 > '$Q/data_int'"
check "... but still reads" as_u cat "$Q/data_int"

stop "$T/mnt"
expect "clean unmount" 0 $?
finish
