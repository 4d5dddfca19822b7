#!/bin/sh
# 13_original_clear.sh - what Python IPMMAP itself does to a file that C
# processes hold mapped: its clearMappedBuffer() (the header too), its
# force=True re-creation (the same file truncated and written again), a file
# moved into place by hand (seen by a handle and by `ipmmap watch`), and a
# C writer killed mid-update as its readers see it, until a C process with
# write access undoes it (an editor's open, `ipmmap recover`).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
. tests/python/binding.sh
need_python
need_holder
have_original || finish

start o "${PYO[@]}" "$SESSION" -m "$M" -l "$L"
send o create
expect o "its manager creates the file" created
start e "$HOLDER" "$S" "$M" "$L" editor DemoMmapStructure
expect e "a C editor maps it" open
start r "$HOLDER" "$S" "$M" "$L" reader DemoMmapStructure
expect r "a C reader maps it" open

# --- clearMappedBuffer(): the whole buffer, header_code included
ipmmap set DemoMmapStructure data_int 42 data_string before
send o "begin write"
expect o "its editor enters its block" "held write"
send o clear
expect o "it clears the buffer" ok
send o end
expect o "it leaves its block" released
is "the header is all zeros in the file" "00000000000000000000000000000000" \
	"$(od -An -tx1 -N16 "$MMFILE" | tr -d ' \n')"
send r "get data_int"
expect r "the C reader reads the cleared data as zeros" 0
send r "get header.header_code"
expect r "header_code included" 0
send r cleared
expect r "and says the instance is cleared" 1
is "a new C open takes it (no 'header_code 0x0000')" "0|" \
	"$(ipmmap get DemoMmapStructure data_int data_string 2>&1 | paste -sd'|')"
is "ipmmap list says cleared" "ok (cleared: header code 0)" \
	"$(ipmmap list | awk '$1 == "DemoMmapStructure" { $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print }')"
send e "set data_int 3"
expect e "the next C write" ok
send r cleared
expect r "restores header_code" 0
send o "begin read"
expect o "its reader enters its block" "held read"
send o "get header.header_code"
expect o "it reads the restored code" 4392
send o "get data_int"
expect o "and the C write" 3
send o "get header.time_stamp"
expect o "the time stamp stays as C's write left it (ipm_write_text stamps nothing)" 0.0
send o end
expect o "its reader leaves" released

# --- force=True: the same inode, truncated and written again, under us
ipmmap set DemoMmapStructure data_int 9
ino=$(stat -c %i "$MMFILE")
send o recreate
expect o "its manager re-creates the file (force=True)" created
is "on the same inode" "$ino" "$(stat -c %i "$MMFILE")"
send r "get data_int"
expect r "the C reader reads the new contents" 0
send r "get header.header_code"
expect r "with its header" 4392
send e "set data_int 10"
expect e "the C editor writes to it" ok
is "into the file Python made" 10 "$(ipmmap get DemoMmapStructure data_int)"
alive "${PID[r]}" && alive "${PID[e]}" && ok "no C process died of it (no SIGBUS)" \
	|| no "a C peer died"

# --- a file moved into place: the handles and `ipmmap watch` follow it
background watch "$IPMMAP" -s "$S" -m "$M" -l "$L" watch -n 2 DemoMmapStructure data_int
end=$((SECONDS + WAIT))
until grep -q 'data_int = 10' "$T/watch.out" 2>/dev/null || [ $SECONDS -ge $end ]; do :; done
grep -q 'data_int = 10' "$T/watch.out" && ok "ipmmap watch prints the value" || no "watch: $(cat "$T/watch.out")"
"$IPMMAP" -s "$S" -m "$T/m2" -l "$T/l2" create DemoMmapStructure >/dev/null
"$IPMMAP" -s "$S" -m "$T/m2" -l "$T/l2" set DemoMmapStructure data_int 77
mv "$T/m2/DemoMmapStructure_.mmap" "$MMFILE"
end=$((SECONDS + WAIT))
until grep -q 'data_int = 77' "$T/watch.out" || [ $SECONDS -ge $end ]; do :; done
grep -q 'data_int = 77' "$T/watch.out" && ok "watch prints the new file's value" \
	|| no "watch did not follow the new file: $(cat "$T/watch.out")"
send e "get data_int"
expect e "the C editor's next lock reads the new file" 77
send e "set data_int 78"
expect e "and writes to it" ok
wait "${PID[watch]}"
is "watch prints the new file's next change, then stops (-n 2)" "0|data_int = 10
data_int = 77
data_int = 78" "$?|$(cat "$T/watch.out")"
unset "PID[watch]"
send r "get data_int"
expect r "the C reader follows too" 78
send o "begin read"
expect o "its reader enters its block" "held read"
send o "get data_int"
expect o "Python reads the same file" 78
send o end
expect o "its reader leaves" released

# --- a C writer killed mid-update, as Python readers see it
DOOMED=1 start k "$HOLDER" "$S" "$M" "$L" editor DemoMmapStructure
expect k "a C writer opens" open
send k "begin write"
expect k "it takes the write lock" "held write"
send k "set data_int 666"
expect k "it writes half an update" ok
send k die
reap k
send o "begin read"
expect o "its reader gets the lock once the writer is dead" "held read"
send o "get data_int"
expect o "and sees the half update (no C process has locked since)" 666
send o end
expect o "its reader leaves" released
send r "get data_int"
expect r "a C reader reads the last complete update meanwhile" 78
ipmmap recover DemoMmapStructure >"$T/rec.out" 2>&1
is "ipmmap recover undoes it" "0|yes" \
	"$?|$(grep -qx 'undone: the update of process [0-9]*, killed inside it' "$T/rec.out" && echo yes)"
send o "begin read"
expect o "its reader enters its block" "held read"
send o "get data_int"
expect o "Python reads the last complete update" 78
send o end
expect o "its reader leaves" released
is "a second recover finds nothing" "nothing to undo" "$(ipmmap recover DemoMmapStructure)"

DOOMED=1 start k "$HOLDER" "$S" "$M" "$L" editor DemoMmapStructure
expect k "another C writer opens" open
send k "begin write"
expect k "it takes the write lock" "held write"
send k "set data_int 667"
expect k "it writes half an update" ok
send k die
reap k
start e2 "$HOLDER" "$S" "$M" "$L" editor DemoMmapStructure
expect e2 "a C editor's open" open
send e2 recovery
expect e2 "undoes it" "undone 1 count 2 pending 0"
send o "begin read"
expect o "its reader enters its block" "held read"
send o "get data_int"
expect o "and Python reads the last complete update" 78
send o end
expect o "its reader leaves" released

for n in e2 e r; do
	send $n quit
	stop $n || no "$n exit status"
done
stop o && ok "the original peer exits cleanly" || no "original peer exit status"
finish
