#!/bin/sh
# 12_original_peers.sh - Python IPMMAP itself (imported from ../shared) next to
# the C side (the ipmmap tool, holder.c on the library): its editor with our
# reader, our editor with its reader, and the locks excluding each other
# both ways (fasteners' POSIX locks against the library's OFD locks). Order
# comes from the peers' answers and /proc/locks, never from sleeping.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
. tests/python/binding.sh
need_python
need_holder
have_original || finish

start o "${PYO[@]}" "$SESSION" -m "$M" -l "$L"
send o which
expect o "the peer runs Python IPMMAP itself" original
send o create
expect o "its manager creates the file" created
is "C reads its header" "4392" "$(ipmmap get DemoMmapStructure header.header_code)"

# --- its editor, our readers
send o "begin write"
expect o "its editor enters its block" "held write"
for kv in "data_int -77" "data_string b'from ipmmap-py'" "data_xy.x 0.1" \
	"multi_pts.multi_data_int 23"; do
	send o "set $kv"
	expect o "it writes ${kv%% *}" ok
done
send o touch
ts=$(answer o)
send o end
expect o "it leaves its block" released
is "ipmmap get reads what it wrote" "-77|from ipmmap-py|0.1|23|$ts" \
	"$(ipmmap get DemoMmapStructure data_int data_string data_xy.x multi_pts.multi_data_int \
		header.time_stamp | paste -sd'|')"
start r "$HOLDER" "$S" "$M" "$L" reader DemoMmapStructure
expect r "a C reader opens" open
send r "get data_string"
expect r "the C reader reads it too" "from ipmmap-py"

# --- our editor, its reader
ipmmap set DemoMmapStructure data_int 2147483647 data_string 'from C' data_xy.y 1e300
send o "begin read"
expect o "its reader enters its block" "held read"
for kv in "data_int|2147483647" "data_string|b'from C'" "data_xy.y|1e+300" \
	"header.header_code|4392"; do
	send o "get ${kv%%|*}"
	expect o "it reads our ${kv%%|*}" "${kv#*|}"
done
send o end
expect o "its reader leaves" released

# --- locks, both ways
start w "$HOLDER" "$S" "$M" "$L" editor DemoMmapStructure
expect w "a C editor opens" open
send w "begin write"
expect w "C takes the write lock" "held write"
send o "try read"
expect o "its reader cannot get in under our write lock" busy
send o "try write"
expect o "nor its writer" busy
# fasteners waits by polling (sleeps of 10 to 100 ms), not in the kernel
send o "begin read"
send w "set data_int 5"
expect w "C writes while it waits" ok
send w end
expect w "C releases" released
expect o "its reader gets in after our release" "held read"
send o "get data_int"
expect o "and sees our write" 5
send r "try read"
expect r "a C reader shares its read lock" "held read"
send r end
expect r "the C reader leaves" released
send w "try write"
expect w "a C writer cannot get in under its read lock" busy
send o end
expect o "its reader leaves" released

send o "begin write"
expect o "its editor takes the write lock" "held write"
send o "set data_int 6"
expect o "it writes the first half" ok
send r "try read"
expect r "a C reader cannot get in under its write lock" busy
ipmmap -w 0 get DemoMmapStructure data_int >/dev/null 2>&1
is "ipmmap -w 0 get fails meanwhile" 1 $?
background get "$IPMMAP" -s "$S" -m "$M" -l "$L" get DemoMmapStructure data_int data_string
wait_waiters "$LOCKFILE" 1 && ok "a blocking ipmmap get waits in the kernel" \
	|| no "ipmmap get never waited"
send o "set data_string b'second half'"
expect o "it writes the second half" ok
send o end
expect o "its editor leaves" released
wait "${PID[get]}"
unset "PID[get]"
is "ipmmap get sees the whole update" "6|second half" "$(paste -sd'|' "$T/get.out")"

send w quit
stop w && ok "the C editor exits" || no "C editor exit status"
send r quit
stop r && ok "the C reader exits" || no "C reader exit status"
stop o && ok "the original peer exits cleanly" || no "original peer exit status"
finish
