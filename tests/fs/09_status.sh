#!/bin/sh
# 09_status.sh - .status: a writer SIGKILLed half way through an update
# (x written, y not) leaves the pair as it was for every reader of the mount;
# a reader's mount shows the dead section pending, a writer's mount undoes it
# at its next lock and reports one recovery with the dead writer's pid.
. "$(dirname "$0")/lib.sh"

san=
case $B in *san*) san="-fsanitize=address,undefined" ;; esac
cat >"$T/half.c" <<'C'
#include "ipmmap.h"
#include <stdio.h>
#include <unistd.h>
/* half SCHEMA MMAP LOCKS: writes data_xy.x = 2 under the write lock, says
 * "half" and waits to be killed with y not written. */
int main(int argc, char **argv)
{
	struct ipm_open_opts o = {.mmap_dir = argv[2], .lock_dir = argv[3]};
	ipm_schema *s = ipm_schema_new();
	ipm_map *m;
	struct ipm_field x;

	if (argc != 4 || ipm_schema_load_file(s, argv[1]) < 0)
		return 2;
	m = ipm_map_new(s);
	if (ipm_map_open(m, "DemoMmapStructure", "", IPM_EDITOR, &o) < 0 ||
	    ipm_map_resolve(m, "data_xy.x", &x) < 0 || ipm_lock_write(m, -1) < 0 ||
	    ipm_set_f64(m, &x, 2) < 0) {
		fprintf(stderr, "half: %s\n", ipm_map_errmsg(m));
		return 1;
	}
	printf("half\n");
	fflush(stdout);
	for (;;)
		pause();
}
C
if ! cc -std=gnu11 -D_GNU_SOURCE -I"$ROOT/lib" -Wall -Wextra -Werror $san -o "$T/half" \
	"$T/half.c" "$ROOT/$B/libipmmap.a" $(pkg-config --libs inih) -lpthread 2>"$T/cc.log"; then
	nok "build half.c: $(cat "$T/cc.log")"
	finish
fi

conf "$T/w.ini" "create = yes" "instance = DemoMmapStructure"
conf "$T/r.ini" "instance = DemoMmapStructure ro"
start "$T/mnt" -o config="$T/w.ini" || { nok "mount"; finish; }
W=$FSPID
start "$T/mnt2" -o config="$T/r.ini" || { nok "read-only mount"; finish; }
R=$FSPID
D=$T/mnt/DemoMmapStructure
D2=$T/mnt2/DemoMmapStructure
F=$MMAP/DemoMmapStructure_.mmap

st=$(t cat "$D/.status")
expect ".status lists the file, its size, state, no recovery" \
	"file = $F
size = 688
state = ok
recoveries = 0
last_recovery_pid = 0
last_recovery_time = 0.000000
pending = 0
cleared = 0
mode = compat" "$st"
expect ".status is read-only" "-r--------" "$(stat -c %A "$D/.status")"
refuse "writing .status" sh -c "echo 1 > '$D/.status'"
expect ".status is not a field" "" "$(t grep status "$D/.values")"

# Python's clearMappedBuffer() zeroes the header too: a cleared instance,
# read as zeros, said in .status, given its code back by the next write.
dd if=/dev/zero of="$F" bs=688 count=1 conv=notrunc status=none
contains "a file zeroed by Python shows as cleared" "cleared = 1" "$(t cat "$D/.status")"
expect "... and reads as zeros" "0|0" "$(t cat "$D/header/header_code")|$(t cat "$D/data_int")"
check "a write through the mount" sh -c "echo 4 > '$D/data_int'"
expect "... restores the header code" "4392|4" "$(t cat "$D/header/header_code")|$(t cat "$D/data_int")"
contains "... and .status says so" "cleared = 0" "$(t cat "$D/.status")"

printf 'data_xy.x = 1\ndata_xy.y = 1\n' | t tee "$D/.values" >/dev/null
mkfifo "$T/said"
"$T/half" "$SCHEMA" "$MMAP" "$LOCKS" >"$T/said" 2>"$T/half.log" &
HALF=$!
read -r said <"$T/said"
expect "the writer wrote half an update" half "$said"
kill -KILL "$HALF"
wait "$HALF" 2>/dev/null
expect "x is half written in the file" 2.0 "$(f64 "$F" 280)"

# The reader's mount cannot undo: it reads the saved copy meanwhile.
contains "a reader mount shows the dead section pending" "pending = 1" "$(t cat "$D2/.status")"
expect "... and reads the last complete x" 1.0 "$(t cat "$D2/data_xy/x")"
expect "... in .values too" "data_xy.x = 1.0
data_xy.y = 1.0" "$(t grep '^data_xy' "$D2/.values")"

# The writer's mount undoes it at its first lock (here a read, being the
# only reader), then reports it.
expect "the writer mount reads the last complete x" 1.0 "$(t cat "$D/data_xy/x")"
expect "x is restored in the file" 1.0 "$(f64 "$F" 280)"
check "a write through the mount" sh -c "echo 5 > '$D/data_int'"
st=$(t cat "$D/.status")
contains ".status counts one recovery" "recoveries = 1" "$st"
contains "... names the dead writer" "last_recovery_pid = $HALF" "$st"
contains "... nothing pending any more" "pending = 0" "$st"
case $st in
*"last_recovery_time = 0.000000"*) nok "... a recovery time: $st" ;;
*"last_recovery_time = "*) ok "... with its time" ;;
*) nok "... a recovery time: $st" ;;
esac
contains "the reader mount sees the recovery too" "recoveries = 1" "$(t cat "$D2/.status")"

# A damaged file put in its place: .status says why, fields fail with EIO.
head -c 100 "$F" >"$MMAP/short" && mv "$MMAP/short" "$F"
# The mount looks at a file at most once a second (FS_CHECK_NS): poll.
i=0
while t cat "$D2/data_int" >/dev/null 2>&1 && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
refuse "a field of a damaged file" t cat "$D2/data_int"
contains ".status of a damaged file" "state = damaged (" "$(t cat "$D2/.status")"

stop "$T/mnt2" || nok "read-only server exit status"
FSPID=$W
stop "$T/mnt" || nok "server exit status"

# native = yes: the mount that creates the instance records the mode, and
# reads it without locks like every handle of the library.
conf "$T/n.ini" "create = yes" "native = yes" "instance = DemoMmapStructure:nat"
start "$T/mnt3" -o config="$T/n.ini" || { nok "native mount"; finish; }
N=$T/mnt3/DemoMmapStructure_nat
contains ".status of a native instance" "mode = native" "$(t cat "$N/.status")"
check "a write through it" sh -c "echo 6 > '$N/data_int'"
expect "... and a read" 6 "$(t cat "$N/data_int")"
expect "ipmmap list shows the mode" native \
	"$("$ROOT/$B/ipmmap" -s "$SCHEMA" -m "$MMAP" -l "$LOCKS" list | awk '$2 == "nat" { print $5 }')"
stop "$T/mnt3" || nok "native server exit status"
finish
