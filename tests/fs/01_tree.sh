#!/bin/sh
# 01_tree.sh - the tree of a manager mount: listing, modes and sizes, reading
# every kind of field, and the everyday tools (find, grep -r, cp, Python).
. "$(dirname "$0")/lib.sh"

conf "$T/m.ini" "create = yes" "instance = DemoMmapStructure" "instance = DemoMmapStructure:left"
start "$T/mnt" -o config="$T/m.ini" || { nok "manager mount"; finish; }
ok "manager mount with create = yes"
D=$T/mnt/DemoMmapStructure

check "the manager created the instance files" test -s "$MMAP/DemoMmapStructure_.mmap" -a -s "$MMAP/DemoMmapStructure_left.mmap"
expect "mmap file has the structure's size" 688 "$(stat -c %s "$MMAP/DemoMmapStructure_.mmap")"
expect "root lists one directory per instance" "DemoMmapStructure DemoMmapStructure_left" "$(t ls "$T/mnt" | tr '\n' ' ' | sed 's/ $//')"
expect "instance lists its fields" "data_int data_string data_xy header multi_pts" "$(t ls "$D" | tr '\n' ' ' | sed 's/ $//')"
expect "hidden files" ".raw .status .values" "$(t ls -A "$D" | grep '^\.' | tr '\n' ' ' | sed 's/ $//')"
expect "an array has entries 0..N-1" "24 0 23" "$(t ls "$D/multi_pts/multi_points" | wc -l) $(t ls "$D/multi_pts/multi_points" | sort -n | head -1) $(t ls "$D/multi_pts/multi_points" | sort -n | tail -1)"
expect "an element is a directory" "x y" "$(t ls "$D/multi_pts/multi_points/3" | tr '\n' ' ' | sed 's/ $//')"
refuse "no element 24" t ls "$D/multi_pts/multi_points/24"
refuse "no element 03" t stat "$D/multi_pts/multi_points/03"
refuse "no such field" t stat "$D/nothere"
expect "find sees the whole tree" 87 "$(t find "$D" | wc -l)"

expect "field file: the .mmap's mode (0600 by default), its text's size" "600 $(t cat "$D/data_int" | wc -c) regular file" "$(stat -c '%a %s %F' "$D/data_int")"
expect "header_code is read-only" 400 "$(stat -c %a "$D/header/header_code")"
expect "directories: x where r" "700 directory" "$(stat -c '%a %F' "$D/data_xy")"
expect ".raw: read-only, exactly the structure's size" "400 688" "$(stat -c '%a %s' "$D/.raw")"
check ".raw holds the file's bytes" cmp "$D/.raw" "$MMAP/DemoMmapStructure_.mmap"

expect "cat int16 header_code" 4392 "$(t cat "$D/header/header_code")"
expect "cat int32" 0 "$(t cat "$D/data_int")"
expect "cat double" 0.0 "$(t cat "$D/data_xy/x")"
expect "cat char[256] (empty)" "" "$(t cat "$D/data_string")"
expect "cat nested array element" 0.0 "$(t cat "$D/multi_pts/multi_points/23/y")"
expect "text ends with one newline" 2 "$(t wc -c <"$D/data_int")"
ts=$(t cat "$D/header/time_stamp")
case $ts in [0-9]*.[0-9]*) ok "time_stamp reads as a number ($ts)" ;; *) nok "time_stamp reads '$ts'" ;; esac

check "test -s sees a non-empty file" test -s "$D/data_int"
expect "head" 4392 "$(t head -n 1 "$D/header/header_code")"
expect "tail" 4392 "$(t tail -n 1 "$D/header/header_code")"
expect "\$(<f) in bash" 4392 "$(t bash -c 'echo $(<"$1")' sh "$D/header/header_code")"
expect "dd reads it" 4392 "$(t dd if="$D/header/header_code" bs=1 2>/dev/null)"
expect "grep -r finds a value" "$D/header/header_code:4392" "$(t grep -r 4392 "$D" | grep -v '\.values')"
t cp "$D/header/header_code" "$T/copy" && expect "cp copies the value" 4392 "$(cat "$T/copy")" || nok "cp"
t "$PYTHON" "$HELPER" copy "$D/header/header_code" "$T/copy2" && expect "shutil.copyfile copies the value" 4392 "$(cat "$T/copy2")" || nok "shutil.copyfile"
expect "Python read()" 4392 "$(t "$PYTHON" "$HELPER" pyread "$D/header/header_code")"

err=$(t mkdir "$D/new" 2>&1) && nok "mkdir refused" || contains "mkdir refused with EACCES" "Permission denied" "$err"
err=$(t touch "$D/new" 2>&1) && nok "create refused" || contains "create refused with EACCES" "Permission denied" "$err"
err=$(t rm -f "$D/data_int" 2>&1) && nok "unlink refused" || contains "unlink refused with EACCES" "Permission denied" "$err"
err=$(t mv "$D/data_int" "$D/x" 2>&1) && nok "rename refused" || contains "rename refused with EACCES" "Permission denied" "$err"
expect "other instance reads too" 0 "$(t cat "$T/mnt/DemoMmapStructure_left/data_int")"

stop "$T/mnt"
expect "fusermount3 -u ends the server with status 0" 0 $?
finish
