#!/bin/sh
# 10_modes.sh - mode = and group = of the configuration: the files and
# directories the mount creates get them (existing ones keep theirs); bad
# values are refused with their file:line and nothing is mounted.
. "$(dirname "$0")/lib.sh"

M2=$T/mnt2
mkdir -p "$M2"
# refused LINE EXPECTED: a configuration whose 5th line is LINE.
refused() {
	conf "$T/bad.ini" "$1" "create = yes" "instance = DemoMmapStructure"
	out=$(timeout 10 "$FS" -f -o config="$T/bad.ini" "$M2" 2>&1)
	[ $? -ne 0 ] && ok "'$1' refused" || nok "'$1' accepted"
	contains "... with $2" "$T/bad.ini:5: $2" "$out"
	mounted "$M2" && nok "... but mounted" || ok "... nothing mounted"
}
conf "$T/ok.ini" "mode = 644" "create = yes" "instance = DemoMmapStructure"
start "$T/mnt" -o config="$T/ok.ini" && ok "mode = 644 (octal without a leading 0) accepted" || nok "mode = 644"
expect "... files 0644" 644 "$(stat -c %a "$MMAP/DemoMmapStructure_.mmap")"
stop "$T/mnt" || nok "server exit status 0"
refused "mode = 0" "bad mode '0': the owner needs read and write (0600)"
refused "mode = 0400" "bad mode '0400': the owner needs read and write (0600)"
refused "mode = 04755" "bad mode '04755': expected octal permissions 0600..0777"
refused "mode = 0x1ff" "bad mode '0x1ff': expected octal permissions 0600..0777"
refused "mode = 0698" "bad mode '0698': expected octal permissions 0600..0777"
refused "mode =" "bad mode '': expected octal permissions 0600..0777"
refused "group = no-such-group-here" "unknown group 'no-such-group-here'"
refused "group = 12x" "bad group '12x': expected a name or a number"
refused "group = 99999999999" "bad group '99999999999': expected a name or a number"
conf "$T/bad.ini" "mode = 0640" "mode = 0600" "instance = DemoMmapStructure"
out=$(timeout 10 "$FS" -f -o config="$T/bad.ini" "$M2" 2>&1)
contains "mode given twice" "$T/bad.ini:6: mode given twice" "$out"

grp=$(getent group | awk -F: '$3 != 0 { print $1 ":" $3; exit }')
gname=${grp%%:*}
gid=${grp##*:}
rm -rf "$MMAP" "$LOCKS"
conf "$T/m.ini" "create = yes" "instance = DemoMmapStructure" "instance = DemoMmapStructure:b" \
	"mode = 0640" "group = $gname"
start "$T/mnt" -o config="$T/m.ini" || { nok "mount"; finish; }
expect "a created .mmap file gets the mode and group" "640 $gid" \
	"$(stat -c '%a %g' "$MMAP/DemoMmapStructure_.mmap")"
expect "... so does its lock file" "640 $gid" \
	"$(stat -c '%a %g' "$LOCKS/DemoMmapStructure_.lockfile")"
expect "... the second instance too" "640 $gid" \
	"$(stat -c '%a %g' "$MMAP/DemoMmapStructure_b.mmap")"
expect "the directories made get x where r is given" "750 $gid 750 $gid" \
	"$(stat -c '%a %g' "$MMAP" "$LOCKS" | tr '\n' ' ' | sed 's/ $//')"
check "the instance works" sh -c "echo 3 > '$T/mnt/DemoMmapStructure/data_int'"
stop "$T/mnt" || nok "server exit status"

# Existing files keep theirs; a numeric group is taken as is.
conf "$T/n.ini" "create = yes" "instance = DemoMmapStructure" "instance = DemoMmapStructure:c" \
	"mode = 0666" "group = 0"
start "$T/mnt" -o config="$T/n.ini" || { nok "mount 2"; finish; }
expect "an existing file keeps its mode and group" "640 $gid" \
	"$(stat -c '%a %g' "$MMAP/DemoMmapStructure_.mmap")"
expect "a new one gets mode 0666 exactly (no umask) and gid 0" "666 0" \
	"$(stat -c '%a %g' "$MMAP/DemoMmapStructure_c.mmap")"
stop "$T/mnt" || nok "server exit status 2"
finish
