#!/bin/sh
# 23_live_copy.sh - tar -c and rsync -a of a LIVE instance, while another
# process keeps changing its values (and their lengths): every copy exits 0,
# tar never says "File shrank", rsync never "read errors", and every copied
# file is one whole value, never NUL-padded or cut. stat while another process
# holds the write lock waits for it (bounded) and then gives the exact size.
. "$(dirname "$0")/lib.sh"
command -v tar >/dev/null 2>&1 || skip_all "no tar"
command -v rsync >/dev/null 2>&1 || skip_all "no rsync"

conf "$T/m.ini" "create = yes" "instance = DemoMmapStructure"
start "$T/mnt" -o config="$T/m.ini" || { nok "mount"; finish; }
D=$T/mnt/DemoMmapStructure
F=$MMAP/DemoMmapStructure_.mmap
L=$LOCKS/DemoMmapStructure_.lockfile
A=$(printf '%040d' 0 | tr 0 A)
Bs=$(printf '%040d' 0 | tr 0 B)
cli() { t "$ROOT/$B/ipmmap" -s "$SCHEMA" -m "$MMAP" -l "$LOCKS" "$@" >/dev/null; }
cli set DemoMmapStructure data_string "$A" data_int 1

# The writer: the string's two values have one length, data_int's two do not.
(
	while [ ! -e "$T/stop" ]; do
		cli set DemoMmapStructure data_string "$A" data_int 1
		cli set DemoMmapStructure data_string "$Bs" data_int 1000000000
	done
) &
writer=$!
at_exit "touch '$T/stop'; kill $writer 2>/dev/null"

# whole DIR: every file of a copy is one value written, whole (.raw: the
# structure's 688 bytes).
whole() {
	bad=""
	for f in $(cd "$1" && find . -type f ! -name .raw); do
		if tr -d '\000' <"$1/$f" | cmp -s - "$1/$f"; then :; else bad="$bad $f(NUL)"; fi
	done
	v=$(cat "$1/data_int")
	[ "$v" = 1 ] || [ "$v" = 1000000000 ] || bad="$bad data_int=$v"
	v=$(cat "$1/data_string")
	[ "$v" = "$A" ] || [ "$v" = "$Bs" ] || bad="$bad data_string=$v"
	v=$(wc -c <"$1/.raw")
	[ "$v" = 688 ] || bad="$bad .raw:$v bytes"
	v=$(cat "$1/header/header_code")
	[ "$v" = 4392 ] || bad="$bad header_code=$v"
	echo "$bad"
}

n=20
tarfail=0 tarmsg="" tarbad=""
i=0
while [ $i -lt $n ]; do
	rm -rf "$T/x" && mkdir "$T/x"
	out=$(t tar -cf "$T/a.tar" -C "$T/mnt" DemoMmapStructure 2>&1)
	rc=$?
	[ $rc -eq 0 ] || tarfail=$((tarfail + 1))
	[ -n "$out" ] && tarmsg=$(echo "$out" | head -2)
	t tar -xf "$T/a.tar" -C "$T/x"
	bad=$(whole "$T/x/DemoMmapStructure")
	[ -n "$bad" ] && tarbad="$bad"
	i=$((i + 1))
done
expect "tar -c of a live instance, $n times: every one exits 0" 0 "$tarfail"
expect "... and says nothing (no 'File shrank')" "" "$tarmsg"
expect "... every archived file is one whole value, no NUL" "" "$tarbad"

rsfail=0 rsmsg="" rsbad=""
i=0
while [ $i -lt $n ]; do
	rm -rf "$T/r"
	out=$(t rsync -a "$D/" "$T/r/" 2>&1)
	rc=$?
	[ $rc -eq 0 ] || rsfail=$((rsfail + 1))
	[ -n "$out" ] && rsmsg=$(echo "$out" | head -2)
	bad=$(whole "$T/r")
	[ -n "$bad" ] && rsbad="$bad"
	i=$((i + 1))
done
expect "rsync -a of a live instance, $n times: every one exits 0" 0 "$rsfail"
expect "... and says nothing (no 'read errors mapping')" "" "$rsmsg"
expect "... every copied file is one whole value, no NUL" "" "$rsbad"

# Reads at every offset of an open file: bytes or end of file, never ENODATA.
expect "reads at offsets 0..12 of one open file: one value, then end of file" ok \
	"$(t "$PYTHON" -c '
import os, sys
for k in range(200):
    fd = os.open(sys.argv[1], os.O_RDONLY)
    st = os.fstat(fd)
    b = b"".join(os.pread(fd, 1, o) for o in range(13))
    os.close(fd)
    if len(b) != st.st_size or b not in (b"1\n", b"1000000000\n"):
        print("size", st.st_size, "read", b); sys.exit(1)
print("ok")' "$D/data_int" 2>&1)"

touch "$T/stop"
wait $writer

# stat while another process holds the write lock: it waits, then is exact.
rm -f "$T/held" "$T/go"
mkfifo "$T/go"
"$PYTHON" "$HELPER" hold "$L" "$F" "$T/held" "$T/go" &
holder=$!
i=0
while [ ! -s "$T/held" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
t stat -c %s "$D/data_int" >"$T/size" &
st=$!
sleep 0.3
echo go >"$T/go"
wait $holder
wait $st
expect "stat while a writer holds the lock: waits, then the exact size" 4 "$(cat "$T/size")"

stop "$T/mnt"
expect "clean unmount" 0 $?
finish
