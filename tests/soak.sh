#!/bin/sh
# soak.sh - `make soak`: for SOAK_SECONDS (default 60), 4 writers each keep
# data_xy.y == -data_xy.x through the library and 1 through the mount's
# .values (both fields in one write, all or nothing), while 4 readers check
# the pair through the library and 2 through the mount (.values: one
# snapshot per read). With SOAK_FAULTS=1 (the default) a careless admin
# runs beside them: it cuts the lock file and the data file short and puts
# them back (tests/soak.c, faults), and fills and frees the lock directory
# (a 1 MiB tmpfs). Counts torn reads (a half-committed .values or a value
# served from a cut file would be one: must be 0), other errors (must be 0),
# EIO answers (expected while a file is cut), and checks that the mount's
# daemon lives through it all and that its VmRSS grows less than 1 MiB.
# Needs root and /dev/fuse. Run from the repository root with B set; prints
# one summary line, exits non-zero on failure.
B=${B:-build}
SECS=${SOAK_SECONDS:-60}
ROOT=$(pwd)
FS=$ROOT/$B/ipmmapfs
SOAK=$ROOT/$B/soak
SCHEMA=$ROOT/conf/demo.ini
FAULTS=${SOAK_FAULTS:-1}
T=$(mktemp -d /tmp/ipmmap-soak.XXXXXX)
FSPID=
cleanup() {
	grep -q " $T/mnt " /proc/self/mountinfo && fusermount3 -u "$T/mnt"
	grep -q " $T/locks " /proc/self/mountinfo && umount -l "$T/locks"
	[ -n "$FSPID" ] && kill "$FSPID" 2>/dev/null
	wait 2>/dev/null
	grep -q " $T/" /proc/self/mountinfo || rm -rf "$T"
}
[ -n "$SOAK_KEEP" ] && cleanup() { grep -q " $T/mnt " /proc/self/mountinfo && fusermount3 -u "$T/mnt"; grep -q " $T/locks " /proc/self/mountinfo && umount -l "$T/locks"; [ -n "$FSPID" ] && kill "$FSPID" 2>/dev/null; echo "kept $T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
mkdir -p "$T/mnt" "$T/mmap" "$T/locks"
# The lock directory small enough to fill.
[ "$FAULTS" = 1 ] && mount -t tmpfs -o size=1m ipmmap-soak "$T/locks"
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

# A mount reader: cat .values until the time is up; counts torn snapshots,
# EIO answers and other errors.
mreader() {
	end=$(($(date +%s) + SECS))
	n=0 torn=0 cutwin=0 err=0 eio=0
	while [ "$(date +%s)" -lt "$end" ]; do
		if ! out=$(cat "$V" 2>"$T/m.err.$1"); then
			if grep -q 'Input/output error' "$T/m.err.$1"; then
				eio=$((eio + 1))
			else
				err=$((err + 1))
				sed "s/^/# mreader: /" "$T/m.err.$1"
			fi
		else
			x=$(printf '%s\n' "$out" | sed -n 's/^data_xy\.x = //p')
			y=$(printf '%s\n' "$out" | sed -n 's/^data_xy\.y = //p')
			case $y in
			0.0) [ "$x" = 0.0 ] || [ "$x" = -0.0 ] || cutwin=$((cutwin + 1)) ;; # soak.c
			-*) [ "${y#-}" = "$x" ] || torn=$((torn + 1)) ;;
			*) [ "$x" = "-$y" ] || [ "$x$y" = "0.00.0" ] || [ "$x" = "-0.0" ] ||
				torn=$((torn + 1)) ;;
			esac
		fi
		n=$((n + 1))
	done
	echo "ops $n torn $torn cutwin $cutwin eio $eio errors $err"
}

# A mount writer: both fields in one .values write, committed at close, all
# or nothing; counts EIO answers and other errors.
mwriter() {
	end=$(($(date +%s) + SECS))
	n=0 err=0 eio=0 v=3000000000
	while [ "$(date +%s)" -lt "$end" ]; do
		v=$((v + 1))
		if ! printf 'data_xy.x = %s.0\ndata_xy.y = -%s.0\n' $v $v 2>"$T/w.err" >"$V"; then
			if grep -q 'Input/output error' "$T/w.err"; then
				eio=$((eio + 1))
			else
				err=$((err + 1))
				sed "s/^/# mwriter: /" "$T/w.err"
			fi
		fi
		n=$((n + 1))
	done
	echo "ops $n torn 0 eio $eio errors $err"
}

# Fills the lock directory, holds it full for 0.3 s, frees it, and again.
filler() {
	end=$(($(date +%s) + SECS))
	n=0
	while [ "$(date +%s)" -lt "$end" ]; do
		dd if=/dev/zero of="$T/locks/fill" bs=64k 2>/dev/null
		sleep 0.3
		rm -f "$T/locks/fill"
		sleep 0.7
		n=$((n + 1))
	done
	echo "fills $n"
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
	mreader "$r" >"$T/m$r.out" 2>&1 &
	pids="$pids $!"
done
mwriter >"$T/mw.out" 2>&1 &
pids="$pids $!"
if [ "$FAULTS" = 1 ]; then
	"$SOAK" "$SCHEMA" "$T/mmap" "$T/locks" faults "$SECS" >"$T/f.out" 2>&1 &
	pids="$pids $!"
	filler >"$T/fill.out" 2>&1 &
	pids="$pids $!"
fi
for p in $pids; do wait "$p"; done
kill -0 "$FSPID" 2>/dev/null && alive=1 || alive=0
for i in 1 2 3 4 5 6 7 8; do cat "$V" >/dev/null; done
rss1=$(rss)

sum() { cat "$@" | awk -v k="$KEY" '{ for (i = 1; i < NF; i++) if ($i == k) s += $(i + 1) } END { print s + 0 }'; }
KEY=ops; wops=$(sum "$T"/w*.out); rops=$(sum "$T"/r*.out); mops=$(sum "$T"/m[0-9].out)
mwops=$(sum "$T"/mw.out)
KEY=torn; torn=$(sum "$T"/r*.out "$T"/m*.out)
KEY=cutwin; cutwin=$(sum "$T"/r*.out "$T"/m*.out)
KEY=eio; eio=$(sum "$T"/w*.out "$T"/r*.out "$T"/m*.out)
KEY=errors; errs=$(sum "$T"/w*.out "$T"/r*.out "$T"/m*.out "$T"/f.out 2>/dev/null)
for f in "$T"/[wrmf]*.out; do
	case $f in */fill.out) continue ;; esac
	grep -q '^ops ' "$f" || { errs=$((errs + 1)); sed "s|^|# $(basename "$f"): |" "$f"; }
	grep -q '^soak: ' "$f" && sed "s|^|# $(basename "$f"): |" "$f"
done
faults="no faults" dc=0
if [ "$FAULTS" = 1 ]; then
	KEY=lockcuts; lc=$(sum "$T"/f.out)
	KEY=datacuts; dc=$(sum "$T"/f.out)
	KEY=fills; fl=$(sum "$T"/fill.out)
	faults="lock file cut $lc times, data file cut $dc times, lock directory filled $fl times"
fi
grow=$((rss1 - rss0))
fusermount3 -u "$T/mnt"
wait "$FSPID"
fsrc=$?
FSPID=
status=PASS
# y = 0 beside x: a read met truncate() zeroing the page (soak.c): at most one a cut
[ "$torn" -eq 0 ] && [ "$cutwin" -le "$dc" ] && [ "$errs" -eq 0 ] && [ "$grow" -lt 1024 ] &&
	[ "$fsrc" -eq 0 ] && [ "$alive" = 1 ] || status=FAIL
echo "soak: $status: ${SECS}s, $faults; writes $wops, mount .values writes $mwops," \
	"library reads $rops, mount reads $mops, torn $torn, reads that met a cut being made" \
	"$cutwin, EIO answers $eio, errors $errs," \
	"daemon alive $alive, mount VmRSS ${rss0} -> ${rss1} kB (+${grow}), server exit $fsrc"
[ "$status" = PASS ] || { sed 's/^/# fs.log: /' "$T/fs.log"; exit 1; }
