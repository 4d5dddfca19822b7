#!/bin/sh
# 17_tools.sh - everyday tools on an instance: tar -c and rsync -a copy every
# value exactly and exit 0; sizes are exact when stat runs; mtime and ctime
# follow the instance's last change (its header time_stamp), so find -newer,
# make and rsync's quick check see it; a read at any offset gives bytes or
# end of file. cat, head, cp, Python's read() and shutil.copyfile still work,
# also on a value that grew after stat.
. "$(dirname "$0")/lib.sh"
command -v tar >/dev/null 2>&1 || skip_all "no tar"
command -v rsync >/dev/null 2>&1 || skip_all "no rsync"
command -v make >/dev/null 2>&1 || skip_all "no make"

conf "$T/m.ini" "create = yes" "instance = DemoMmapStructure"
start "$T/mnt" -o config="$T/m.ini" || { nok "mount"; finish; }
D=$T/mnt/DemoMmapStructure
cli() { t "$ROOT/$B/ipmmap" -s "$SCHEMA" -m "$MMAP" -l "$LOCKS" "$@" >/dev/null; }
printf 'data_int = 4242\ndata_string = two words\ndata_xy.x = 0.5\n' >"$D/.values"

expect "stat: a field's exact size" 5 "$(stat -c %s "$D/data_int")"
expect "... .values' exact size" "$(t cat "$D/.values" | wc -c)" "$(stat -c %s "$D/.values")"
expect "... .status' exact size" "$(t cat "$D/.status" | wc -c)" "$(stat -c %s "$D/.status")"
ts=$(t cat "$D/header/time_stamp")
expect "mtime is the header's time_stamp" "${ts%%.*}" "$(stat -c %Y "$D/data_int")"
expect "... ctime too" "$(stat -c %Y "$D/data_int")" "$(stat -c %Z "$D/data_int")"
[ "$(stat -c %Y "$D/data_xy")" -le "${ts%%.*}" ] && ok "... directories never change: the mount's start" ||
	nok "directory mtime $(stat -c %Y "$D/data_xy") after the last change ${ts%%.*}"

out=$(t tar -cf "$T/i.tar" -C "$T/mnt" DemoMmapStructure 2>&1)
expect "tar -c of an instance: exit 0" "0" "$?"
expect "... and not a word" "" "$(echo "$out" | head -3)"
mkdir "$T/untar"
t tar -xf "$T/i.tar" -C "$T/untar"
check "... every file in the archive is the value, exactly" diff -r "$D" "$T/untar/DemoMmapStructure"

out=$(t rsync -a "$D/" "$T/rs/" 2>&1)
expect "rsync -a of an instance: exit 0" "0" "$?"
expect "... and not a word" "" "$(echo "$out" | head -3)"
check "... every file copied exactly" diff -r "$D" "$T/rs"
expect "... a string value with its newline" "two words" "$(cat "$T/rs/data_string")"
expect "... mtime kept" "$(stat -c %Y "$D/data_int")" "$(stat -c %Y "$T/rs/data_int")"
expect "rsync again: its quick check sees nothing changed" "" \
	"$(t rsync -a --itemize-changes "$D/" "$T/rs/" 2>&1 | grep -v '^\.d' | head -3)"

sleep 0.2 # the reference file's time must come after the last change
touch "$T/ref"
expect "find -newer: nothing newer than a file made after the last change" "" \
	"$(t find "$D" -newer "$T/ref")"
cat >"$T/Makefile" <<EOF
out: $D/data_int
	cp $D/data_int out
EOF
check "make builds from a field file" t make -s -C "$T"
expect "... a second make has nothing to do" "make: 'out' is up to date." \
	"$(t make -C "$T" 2>&1 | sed 's/make\[[0-9]*\]/make/; /directory/d')"

cli set DemoMmapStructure data_int 77
contains "a change by another process: find -newer lists the field" "$D/data_int" \
	"$(t find "$D" -newer "$T/ref")"
check "... make rebuilds" t make -s -C "$T"
expect "... from the new value" 77 "$(cat "$T/out")"
check "... rsync's quick check copies it" t rsync -a "$D/" "$T/rs/"
expect "... the new value" 77 "$(cat "$T/rs/data_int")"
expect "... and the size follows at once" 3 "$(stat -c %s "$D/data_int")"

expect "a read at offset 1 of a fresh open file: bytes" "'7\\n'" \
	"$(t "$PYTHON" -c 'import os,sys; fd=os.open(sys.argv[1],os.O_RDONLY); print(repr(os.pread(fd,100,1).decode()))' "$D/data_int")"
expect "... beyond the end: end of file" "b''" \
	"$(t "$PYTHON" -c 'import os,sys; fd=os.open(sys.argv[1],os.O_RDONLY); print(repr(os.pread(fd,100,100000)))' "$D/data_int")"
expect "... of .values at its size: end of file" "b''" \
	"$(t "$PYTHON" -c 'import os,sys; fd=os.open(sys.argv[1],os.O_RDONLY); print(repr(os.pread(fd,100,os.fstat(fd).st_size)))' "$D/.values")"

# A value that grows between stat and read is read whole.
sz=$(stat -c %s "$D/data_string")
long=$(printf '%0200d' 0 | tr 0 L)
cli set DemoMmapStructure data_string "$long"
expect "a value grown after stat: cat reads it whole (stat said $sz)" "$long" "$(t cat "$D/data_string")"
expect "... head -c reads it" "LLLL" "$(t head -c 4 "$D/data_string")"
check "... cp copies it" t cp "$D/data_string" "$T/cp"
expect "... whole" "$long" "$(cat "$T/cp")"
expect "... Python read() reads it whole" 201 \
	"$(t "$PYTHON" -c 'import sys; print(len(open(sys.argv[1]).read()))' "$D/data_string")"
check "... shutil.copyfile copies it" t "$PYTHON" -c 'import shutil,sys; shutil.copyfile(sys.argv[1], sys.argv[2])' "$D/data_string" "$T/sh"
expect "... whole" "$long" "$(cat "$T/sh")"

stop "$T/mnt"
expect "clean unmount" 0 $?
finish
