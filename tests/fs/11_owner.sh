#!/bin/sh
# 11_owner.sh - the mount is its owner's alone unless -o allow_other is
# given; with it, the mode bits decide (default_permissions is always on):
# another user reads 0644 fields but cannot write them.
. "$(dirname "$0")/lib.sh"
command -v runuser >/dev/null 2>&1 || skip_all "no runuser"
as_nobody() { timeout 10 runuser -u nobody -- "$@"; }

chmod 755 "$T" # let nobody reach the mount points below it
conf "$T/fs.ini" "create = yes" "instance = DemoMmapStructure" "mode = 0644"
start "$T/mnt" -o config="$T/fs.ini" || { nok "mount"; finish; }
D=$T/mnt/DemoMmapStructure
check "the owner reads" t cat "$D/data_int"
refuse "another user cannot even list the mount" as_nobody ls "$T/mnt"
refuse "another user cannot read a field" as_nobody cat "$D/data_int"
stop "$T/mnt" || nok "server exit status 0"

start "$T/mnt" -o config="$T/fs.ini" -o allow_other || { nok "mount with allow_other"; finish; }
check "with allow_other, another user reads a 0644 field" as_nobody cat "$D/data_int"
refuse "... but cannot write it" as_nobody sh -c "echo 5 > '$D/data_int'"
expect "... and the value is unchanged" 0 "$(t cat "$D/data_int")"
check "the owner still writes" t sh -c "echo 5 > '$D/data_int'"
expect "... and reads it back" 5 "$(t cat "$D/data_int")"
stop "$T/mnt" || nok "server exit status 0"
finish
