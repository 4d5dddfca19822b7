#!/bin/sh
# 02_write.sh - writing every kind of field with echo, printf, /bin/echo, tee,
# dd and Python; bad text refused by write() itself with the value unchanged
# (checked in the mmap file's bytes); chunked writes; : >, truncate, >>.
# Offsets (demo.ini): data_int 16, data_string 20, data_xy 280,
# multi_pts.multi_data_int 296, multi_pts.multi_points[3].y 360.
. "$(dirname "$0")/lib.sh"

conf "$T/m.ini" "create = yes" "instance = DemoMmapStructure"
start "$T/mnt" -o config="$T/m.ini" || { nok "mount"; finish; }
D=$T/mnt/DemoMmapStructure
F=$MMAP/DemoMmapStructure_.mmap

# sh_write SHELL-COMMAND FILE: runs it in bash (the shell users type in), with
# the file as $1; prints stderr, returns the status.
bw() { timeout 10 bash -c "$1" sh "$2" 2>&1; }

ts0=$(t cat "$D/header/time_stamp")
check "bash echo into int32" bw 'echo 42 > "$1"' "$D/data_int"
expect "cat reads it back" 42 "$(t cat "$D/data_int")"
expect "the bytes at offset 16" 42 "$(i32 "$F" 16)"
ts1=$(t cat "$D/header/time_stamp")
[ "$ts0" != "$ts1" ] && ok "a write sets the header time stamp" || nok "time stamp unchanged ($ts0)"
check "printf without newline" bw 'printf %s -7 > "$1"' "$D/data_int"
expect "... stored at close" -7 "$(i32 "$F" 16)"
check "/bin/echo" bw '/bin/echo 123 > "$1"' "$D/data_int"
expect "... stored" 123 "$(i32 "$F" 16)"
check "tee" bw 'echo 124 | tee "$1" >/dev/null' "$D/data_int"
expect "... stored" 124 "$(i32 "$F" 16)"
check "dd" bw 'printf 125 | dd of="$1" 2>/dev/null' "$D/data_int"
expect "... stored" 125 "$(i32 "$F" 16)"
check "Python open(f, 'w').write('126')" t "$PYTHON" "$HELPER" pywrite "$D/data_int" 126
expect "... stored" 126 "$(i32 "$F" 16)"
check "echo >> works like >" bw 'echo 127 >> "$1"' "$D/data_int"
expect "... stored" 127 "$(i32 "$F" 16)"

out=$(bw 'echo abc > "$1"' "$D/data_int") && nok "echo abc refused" || ok "echo abc: non-zero exit"
contains "... bash says Invalid argument" "write error: Invalid argument" "$out"
expect "... value unchanged in the file" 127 "$(i32 "$F" 16)"
out=$(bw 'echo 2147483648 > "$1"' "$D/data_int") && nok "int32 overflow refused" || ok "int32 overflow: non-zero exit"
contains "... ERANGE" "Numerical result out of range" "$out"
expect "... value unchanged" 127 "$(i32 "$F" 16)"
refuse "empty line refused" bw 'echo > "$1"' "$D/data_int"
refuse "' 5' refused (strict)" bw 'echo " 5" > "$1"' "$D/data_int"
refuse "'5 6' refused" bw 'echo "5 6" > "$1"' "$D/data_int"
refuse "/bin/echo abc refused" bw '/bin/echo abc > "$1"' "$D/data_int"
refuse "printf abc refused" bw 'printf abc > "$1"' "$D/data_int"
out=$(t "$PYTHON" "$HELPER" pywrite "$D/data_int" abc) && nok "Python write refused" || expect "Python gets OSError EINVAL" 22 "$out"
expect "value still unchanged" 127 "$(i32 "$F" 16)"
check ": > f succeeds" bw ': > "$1"' "$D/data_int"
expect "... and changes nothing" 127 "$(i32 "$F" 16)"
check "truncate -s0 succeeds" t truncate -s0 "$D/data_int"
expect "... and changes nothing" 127 "$(i32 "$F" 16)"
out=$(bw 'echo 1 > "$1"' "$D/header/header_code") && nok "header_code write refused" || contains "header_code refused with EACCES" "Permission denied" "$out"
expect "... unchanged" 4392 "$(t cat "$D/header/header_code")"

check "string" bw 'echo "hello world" > "$1"' "$D/data_string"
expect "... cat" "hello world" "$(t cat "$D/data_string")"
expect "... bytes at 20" "hello world" "$(str "$F" 20)"
s256=$(printf '%0256d' 0 | tr 0 a)
check "256 characters fit char[256]" bw "printf %s $s256 > \"\$1\"" "$D/data_string"
expect "... stored" 256 "$(str "$F" 20 | tr -d '\n' | wc -c)"
out=$(bw "echo ${s256}b > \"\$1\"" "$D/data_string") && nok "257 characters refused" || contains "257 characters: ERANGE" "out of range" "$out"
expect "... unchanged" 256 "$(str "$F" 20 | tr -d '\n' | wc -c)"
out=$(bw "printf %05000d 0 > \"\$1\"" "$D/data_string") && nok "5000 bytes (two chunks) refused" || ok "5000 bytes (two chunks of bash) refused"
expect "... unchanged, no fragment stored" 256 "$(str "$F" 20 | tr -d '\n' | wc -c)"
s200=$(printf '%0200d' 0 | tr 0 z)
check "200 bytes in 16-byte chunks (dd bs=16)" bw "printf %s $s200 | dd of=\"\$1\" bs=16 2>/dev/null" "$D/data_string"
expect "... one value" "$s200" "$(t cat "$D/data_string")"
check "UTF-8 split across 1-byte chunks" bw "printf 'h\303\251\342\202\254' | dd of=\"\$1\" bs=1 2>/dev/null" "$D/data_string"
expect "... whole" "$(printf 'h\303\251\342\202\254')" "$(t cat "$D/data_string")"
refuse "invalid UTF-8 refused" bw "printf 'a\377b' > \"\$1\"" "$D/data_string"

check "double" bw 'echo 2.5 > "$1"' "$D/data_xy/x"
expect "... bytes at 280" 2.5 "$(f64 "$F" 280)"
check "double -0.1" bw 'echo -0.1 > "$1"' "$D/data_xy/y"
expect "... reads back as -0.1" -0.1 "$(t cat "$D/data_xy/y")"
expect "... bytes at 288" -0.1 "$(f64 "$F" 288)"
check "double 1e300" bw 'echo 1e300 > "$1"' "$D/data_xy/y"
expect "... reads back" 1e+300 "$(t cat "$D/data_xy/y")"
out=$(bw 'echo 1e400 > "$1"' "$D/data_xy/y") && nok "1e400 refused" || contains "1e400: ERANGE" "out of range" "$out"
expect "... unchanged" 1e+300 "$(f64 "$F" 288)"
check "nested int" bw 'echo 77 > "$1"' "$D/multi_pts/multi_data_int"
expect "... bytes at 296" 77 "$(i32 "$F" 296)"
check "array element" bw 'echo -1.25 > "$1"' "$D/multi_pts/multi_points/3/y"
expect "... bytes at 360" -1.25 "$(f64 "$F" 360)"
expect "... neighbours untouched" "0.0 0.0" "$(f64 "$F" 352) $(f64 "$F" 376)"

stop "$T/mnt"
expect "clean unmount" 0 $?
finish
