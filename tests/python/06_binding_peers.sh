#!/bin/sh
# 06_binding_peers.sh - the binding and Python IPMMAP itself on one instance,
# each as its users write it (tests/python/ipm_session.py): they share values
# both ways, and their locks exclude each other both ways (the binding's OFD
# locks against fasteners' POSIX locks); C reads what both wrote. Order comes
# from the peers' answers and /proc/locks, never from sleeping.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
. tests/python/binding.sh
need_binding
have_original || finish

start b "${PYB[@]}" "$SESSION" -m "$M" -l "$L"
start o "${PYO[@]}" "$SESSION" -m "$M" -l "$L"
send b which
expect b "the first peer runs on the binding" binding
send o which
expect o "the second peer runs on Python IPMMAP" original

send b create
expect b "the binding's manager creates the file" created
is "the file has the structure's size" 688 "$(stat -c %s "$MMFILE")"
is "the binding's file has the header code" 4392 "$(ipmmap get DemoMmapStructure header.header_code)"

# --- values: original writes, binding and C read
send o "begin write"
expect o "original editor enters its block" "held write"
for kv in "data_int -123456" "data_string b'h\\xc3\\xa9llo from ipmmap-py'" "data_xy.x 0.1" \
	"data_xy.y -2.5e-300" "multi_pts.multi_data_int 77"; do
	send o "set $kv"
	expect o "original writes ${kv%% *}" ok
done
send o touch
ts=$(answer o)
send o end
expect o "original leaves its block" released
send b "begin read"
expect b "binding reader enters its block" "held read"
for kv in "data_int|-123456" "data_string|b'h\\xc3\\xa9llo from ipmmap-py'" "data_xy.x|0.1" \
	"data_xy.y|-2.5e-300" "multi_pts.multi_data_int|77" "header.time_stamp|$ts"; do
	send b "get ${kv%%|*}"
	expect b "binding reads original's ${kv%%|*}" "${kv#*|}"
done
send b end
expect b "binding reader leaves" released
is "C reads original's values" "-123456|héllo from ipmmap-py|0.1" \
	"$(ipmmap get DemoMmapStructure data_int data_string data_xy.x | paste -sd'|')"

# --- values: binding writes, original and C read
send b "begin write"
expect b "binding editor enters its block" "held write"
for kv in "data_int 2147483647" "data_string b'from the binding'" "data_xy.y 1e300" \
	"multi_pts.multi_points[23].x -0.5"; do
	send b "set $kv"
	expect b "binding writes ${kv%% *}" ok
done
send b touch
ts=$(answer b)
send b end
expect b "binding editor leaves" released
send o "begin read"
expect o "original reader enters its block" "held read"
for kv in "data_int|2147483647" "data_string|b'from the binding'" "data_xy.y|1e+300" \
	"header.time_stamp|$ts"; do
	send o "get ${kv%%|*}"
	expect o "original reads the binding's ${kv%%|*}" "${kv#*|}"
done
send o end
expect o "original reader leaves" released
is "C reads the binding's values" "2147483647|from the binding|1e+300|-0.5" \
	"$(ipmmap get DemoMmapStructure data_int data_string data_xy.y 'multi_pts.multi_points[23].x' | paste -sd'|')"

# --- locks, both ways
send b "begin write"
expect b "binding takes the write lock" "held write"
send o "try read"
expect o "original cannot read under the binding's write lock" busy
send o "try write"
expect o "original cannot write under it either" busy
send b end
expect b "binding releases" released
send o "try read"
expect o "original reads once the binding released" "held read"
send b "try read"
expect b "binding shares original's read lock" "held read"
send b end
expect b "binding leaves its read block" released
send b "try write"
expect b "binding cannot write under original's read lock" busy
send o end
expect o "original releases its read lock" released

send o "begin write"
expect o "original takes the write lock" "held write"
send o "set data_int 1"
expect o "original writes the first half" ok
send b "try read"
expect b "binding cannot read under original's write lock" busy
send b "begin read"
wait_waiters "$LOCKFILE" 1 && ok "binding's blocking reader waits in the kernel" \
	|| no "binding's reader did not wait on the lock"
send o "set multi_pts.multi_data_int 1"
expect o "original writes the second half" ok
send o end
expect o "original releases" released
expect b "binding's reader gets the lock after the release" "held read"
send b "get data_int"
expect b "and sees the whole update (first half)" 1
send b "get multi_pts.multi_data_int"
expect b "and sees the whole update (second half)" 1
send b end
expect b "binding releases" released

send b "begin read"
expect b "binding holds a read lock" "held read"
send o "begin write"
send b end
expect b "binding releases its read lock" released
expect o "original's writer gets in after the binding's reader" "held write"
send o end
expect o "original releases" released

stop b && ok "binding peer exits cleanly" || no "binding peer exit status"
stop o && ok "original peer exits cleanly" || no "original peer exit status"
finish
