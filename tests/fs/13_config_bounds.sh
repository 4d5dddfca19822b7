#!/bin/sh
# 13_config_bounds.sh - the configuration and the schemas it names are read
# with bounds: a file without end (/dev/zero), a line over 199 characters
# and a file over 1 MiB are refused at start with "file:line: what", and
# nothing is mounted. So is scan mode (no instance lines) on an mmap_dir
# that is missing or not a directory, which would show an empty root. A reader without bounds would grow without end, so
# every start is under timeout and, unless the server is built with
# AddressSanitizer, under a 1 GB address-space limit.
. "$(dirname "$0")/lib.sh"

M2=$T/mnt2
mkdir -p "$M2"
limit=
ldd "$FS" 2>/dev/null | grep -q libasan || limit="ulimit -v 1048576;"

# refused WHAT CONFIG MESSAGE: the server started on CONFIG exits non-zero
# in time, prints MESSAGE, and mounts nothing.
refused() {
	out=$(sh -c "$limit exec timeout 20 '$FS' -f -o config='$2' '$M2'" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] || [ $rc -eq 124 ]; then
		nok "$1: status $rc ($out)"
	else
		contains "$1" "$3" "$out"
	fi
	mounted "$M2" && nok "$1: but mounted" || ok "$1: nothing mounted"
}

refused "configuration /dev/zero" /dev/zero \
	"/dev/zero:1: line too long (more than 199 characters)"

conf "$T/zero.ini" "schema = /dev/zero"
refused "schema = /dev/zero" "$T/zero.ini" \
	"/dev/zero:1: line too long (more than 199 characters)"

long=$(printf '%0250d' 0)
conf "$T/long.ini" "; $long"
refused "a configuration line over 199 characters" "$T/long.ini" \
	"$T/long.ini:5: line too long (more than 199 characters)"

# 4 short lines of conf, then comment lines of 64 bytes up to past 1 MiB.
conf "$T/big.ini"
i=0
while [ $i -lt 17000 ]; do
	printf '; %061d\n' $i
	i=$((i + 1))
done >>"$T/big.ini"
head=$(($(wc -c <"$T/big.ini") - 17000 * 64))
line=$((4 + (1048576 - head) / 64 + 1))
refused "a configuration over 1 MiB" "$T/big.ini" \
	"$T/big.ini:$line: file too large (more than 1048576 bytes)"

# Scan mode: mmap_dir must be a directory that can be read.
scan() {
	f=$1
	shift
	{
		echo "[ipmmapfs]"
		echo "schema = $SCHEMA"
		for l in "$@"; do echo "$l"; done
		echo "lock_dir = $LOCKS"
	} >"$f"
}
scan "$T/missing.ini" "mmap_dir = $T/nope"
refused "scan mode, mmap_dir missing" "$T/missing.ini" \
	"$T/missing.ini:3: mmap_dir $T/nope: No such file or directory"
: >"$T/plain"
scan "$T/plain.ini" "; a regular file" "mmap_dir = $T/plain"
refused "scan mode, mmap_dir a regular file" "$T/plain.ini" \
	"$T/plain.ini:4: mmap_dir $T/plain: Not a directory"
mkdir -p "$T/conf"
scan "$T/conf/default.ini"
refused "scan mode, the default mmap_dir missing" "$T/conf/default.ini" \
	"$T/conf/default.ini: mmap_dir $T/conf/.mmap (the default): No such file or directory"
# A scan of a real directory mounts.
scan "$T/real.ini" "mmap_dir = $MMAP"
start "$T/mnt" -o config="$T/real.ini" && ok "scan mode, mmap_dir a directory: mounts" ||
	nok "scan mode, mmap_dir a directory: did not mount"

finish
