#!/bin/sh
# soak.sh - `make soak`: for SOAK_SECONDS (default 60), 4 writers each keep
# data_xy.y == -data_xy.x through the library, while 4 readers check the
# pair through the library and 2 through a mount (.values: one snapshot per
# read). Counts torn reads and errors (must be 0) and samples the mount's
# VmRSS at start and end (growth must stay under 1 MiB). Needs root and
# /dev/fuse. Run from the repository root with B set; prints one summary
# line, exits non-zero on failure.
B=${B:-build}
SECS=${SOAK_SECONDS:-60}
ROOT=$(pwd)
FS=$ROOT/$B/ipmmapfs
SOAK=$ROOT/$B/soak
SCHEMA=$ROOT/conf/demo.ini
T=$(mktemp -d /tmp/ipmmap-soak.XXXXXX)
FSPID=
cleanup() {
	grep -q " $T/mnt " /proc/self/mountinfo && fusermount3 -u "$T/mnt"
	[ -n "$FSPID" ] && kill "$FSPID" 2>/dev/null
	wait 2>/dev/null
	grep -q " $T/" /proc/self/mountinfo || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
mkdir -p "$T/mnt" "$T/mmap" "$T/locks"
cat >"$T/fs.ini" <<INI
[ipmmapfs]
schema = $SCHEMA
mmap_dir = $T/mmap
lock_dir = $T/locks
create = yes
instance = DemoMmapStructure
INI
"$FS" -f -o config="$T/fs.ini" "$T/mnt" >"$T/fs.log" 2>&1 &
FSPID=$!
i=0
until grep -q " $T/mnt " /proc/self/mountinfo && stat "$T/mnt/DemoMmapStructure" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "soak: FAIL: mount did not come up"; cat "$T/fs.log"; exit 1; }
	sleep 0.05
done
V=$T/mnt/DemoMmapStructure/.values
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$FSPID/status"; }
# Warm the mount up (handle pools, buffers) before the first sample.
for i in 1 2 3 4 5 6 7 8; do cat "$V" >/dev/null; done
rss0=$(rss)

# A mount reader: cat .values until the time is up; counts torn snapshots.
mreader() {
	end=$(($(date +%s) + SECS))
	n=0 torn=0 err=0
	while [ "$(date +%s)" -lt "$end" ]; do
		if ! out=$(cat "$V" 2>/dev/null); then
			err=$((err + 1))
		else
			x=$(printf '%s\n' "$out" | sed -n 's/^data_xy\.x = //p')
			y=$(printf '%s\n' "$out" | sed -n 's/^data_xy\.y = //p')
			case $y in
			-*) [ "${y#-}" = "$x" ] || torn=$((torn + 1)) ;;
			*) [ "$x" = "-$y" ] || [ "$x$y" = "0.00.0" ] || [ "$x" = "-0.0" ] ||
				torn=$((torn + 1)) ;;
			esac
		fi
		n=$((n + 1))
	done
	echo "ops $n torn $torn errors $err"
}

pids=""
for w in 1 2 3 4; do
	"$SOAK" "$SCHEMA" "$T/mmap" "$T/locks" writer "$SECS" "$w" >"$T/w$w.out" 2>&1 &
	pids="$pids $!"
done
for r in 1 2 3 4; do
	"$SOAK" "$SCHEMA" "$T/mmap" "$T/locks" reader "$SECS" >"$T/r$r.out" 2>&1 &
	pids="$pids $!"
done
for r in 1 2; do
	mreader >"$T/m$r.out" 2>&1 &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
for i in 1 2 3 4 5 6 7 8; do cat "$V" >/dev/null; done
rss1=$(rss)

sum() { cat "$@" | awk -v k="$KEY" '{ for (i = 1; i < NF; i++) if ($i == k) s += $(i + 1) } END { print s + 0 }'; }
KEY=ops; wops=$(sum "$T"/w*.out); rops=$(sum "$T"/r*.out); mops=$(sum "$T"/m*.out)
KEY=torn; torn=$(sum "$T"/r*.out "$T"/m*.out)
KEY=errors; errs=$(sum "$T"/w*.out "$T"/r*.out "$T"/m*.out)
for f in "$T"/[wrm]*.out; do grep -q '^ops ' "$f" || { errs=$((errs + 1)); sed "s|^|# $(basename "$f"): |" "$f"; }; done
grow=$((rss1 - rss0))
fusermount3 -u "$T/mnt"
wait "$FSPID"
fsrc=$?
FSPID=
status=PASS
[ "$torn" -eq 0 ] && [ "$errs" -eq 0 ] && [ "$grow" -lt 1024 ] && [ "$fsrc" -eq 0 ] || status=FAIL
echo "soak: $status: ${SECS}s, writes $wops, library reads $rops, mount reads $mops," \
	"torn $torn, errors $errs, mount VmRSS ${rss0} -> ${rss1} kB (+${grow}), server exit $fsrc"
[ "$status" = PASS ] || { sed 's/^/# fs.log: /' "$T/fs.log"; exit 1; }
