#!/bin/sh
# 13_one_commit.sh - one open file of .values or of a string field stores its
# text exactly once, at the opener's last close: not when a child that
# inherited the descriptor closes it (a command, a command substitution),
# not at the close of a dup, and never when a writer was killed by a signal
# (no fragment left). What the children wrote is part of the one update.
# Offsets (demo.ini): data_int 16, data_string 20, multi_data_int 296.
. "$(dirname "$0")/lib.sh"

conf "$T/m.ini" "create = yes" "instance = DemoMmapStructure"
start "$T/mnt" -o config="$T/m.ini" || { nok "mount"; finish; }
D=$T/mnt/DemoMmapStructure
F=$MMAP/DemoMmapStructure_.mmap
export F T
# mid: the value at offset 16 read straight from the file, by a child of
# the writing shell (which closes its inherited copy of the descriptor).
MID='od -An -t d4 -j 16 -N 4 "$F" | tr -d " " > "$T/mid"'
SMID='dd if="$F" bs=1 skip=20 count=16 2>/dev/null | tr -d "\000" > "$T/mid"'
bw() { timeout 10 bash -c "$1" sh "$2" 2>&1; }
both() { echo "$(i32 "$F" 16) $(i32 "$F" 296)"; }
reset() { printf 'data_int = 1\nmulti_pts.multi_data_int = 1\ndata_string = old\n' >"$D/.values"; }

reset
check ".values: a child of the writer between two lines" \
	bw "{ echo 'data_int = 77'; /bin/true; $MID; echo 'multi_pts.multi_data_int = 77'; } > \"\$1\"" "$D/.values"
expect "... nothing stored while the group ran" 1 "$(cat "$T/mid")"
expect "... both lines stored at its close" "77 77" "$(both)"

reset
check ".values: a command substitution between two lines" \
	bw "{ echo 'data_int = 78'; x=\$(echo hi); $MID; echo 'multi_pts.multi_data_int = 78'; } > \"\$1\"" "$D/.values"
expect "... nothing stored while the group ran" 1 "$(cat "$T/mid")"
expect "... both lines stored at its close" "78 78" "$(both)"

reset
check ".values: a line written by a child (/bin/echo) is part of the update" \
	bw "{ echo 'data_int = 79'; /bin/echo 'multi_pts.multi_data_int = 79'; $MID; } > \"\$1\"" "$D/.values"
expect "... nothing stored before the opener's close" 1 "$(cat "$T/mid")"
expect "... both stored" "79 79" "$(both)"

reset
check ".values: a dup closed between two lines (echo >&3)" \
	bw "exec 3>\"\$1\"; echo 'data_int = 80' >&3; $MID; echo 'multi_pts.multi_data_int = 80' >&3; exec 3>&-" "$D/.values"
expect "... nothing stored at the dup's close" 1 "$(cat "$T/mid")"
expect "... both stored at the last close" "80 80" "$(both)"

reset
check "Python: subprocess writes with the file as stdout" t "$PYTHON" -c '
import os, subprocess, sys
f = open(sys.argv[1], "w")
subprocess.run(["/bin/echo", "data_int = 81"], stdout=f, check=True)
mid = subprocess.run(["od", "-An", "-t", "d4", "-j", "16", "-N", "4", os.environ["F"]],
                     capture_output=True, check=True).stdout.split()[0]
open(os.environ["T"] + "/mid", "wb").write(mid)
f.write("multi_pts.multi_data_int = 81\n")
f.close()' "$D/.values"
expect "... nothing stored at the child's exit" 1 "$(cat "$T/mid")"
expect "... both stored at close()" "81 81" "$(both)"

reset
bw "{ echo 'data_int = 82'; kill -9 \$\$; } > \"\$1\"" "$D/.values" >/dev/null
expect ".values: a shell killed by SIGKILL after one line stores nothing" "1 1" "$(both)"

reset
t "$PYTHON" -c '
import os, sys
f = open(sys.argv[1], "w")
f.write("data_int = 83\n"); f.flush()
os.kill(os.getpid(), 9)' "$D/.values" 2>/dev/null
expect ".values: Python killed after a line stores nothing" "1 1" "$(both)"

reset
bw "{ echo 'data_int = 84'; sh -c 'echo \"multi_pts.multi_data_int = 84\"; kill -9 \$\$'; } > \"\$1\"" "$D/.values" >/dev/null
expect ".values: a child killed after it wrote: nothing stored" "1 1" "$(both)"

reset
check ".values: a child killed that wrote nothing" \
	bw "{ echo 'data_int = 85'; sh -c 'kill -9 \$\$'; echo 'multi_pts.multi_data_int = 85'; } > \"\$1\"" "$D/.values"
expect "... the update is stored" "85 85" "$(both)"

# A string field: the whole text written to one open file is one value.
reset
check "string: a child of the writer between two parts" \
	bw "{ printf part1; /bin/true; $SMID; printf -- -part2; } > \"\$1\"" "$D/data_string"
expect "... nothing stored while the group ran" old "$(cat "$T/mid")"
expect "... the whole text stored at its close" part1-part2 "$(str "$F" 20)"

reset
check "string: a line, a child, a line" \
	bw "{ echo one; /bin/true; $SMID; echo two; } > \"\$1\"" "$D/data_string"
expect "... nothing stored at the first newline" old "$(cat "$T/mid")"
expect "... one value of two lines" "$(printf 'one\ntwo')" "$(str "$F" 20)"

reset
t "$PYTHON" -c '
import os, sys
f = open(sys.argv[1], "w")
f.write("partial-"); f.flush()
os.kill(os.getpid(), 9)' "$D/data_string" 2>/dev/null
expect "string: Python killed mid-value leaves no fragment" old "$(str "$F" 20)"

reset
bw "{ printf 'half\n'; kill -9 \$\$; } > \"\$1\"" "$D/data_string" >/dev/null
expect "string: a shell killed after a line stores nothing" old "$(str "$F" 20)"

reset
check "string: Python that exits without close() (os._exit(0))" t "$PYTHON" -c '
import os, sys
f = open(sys.argv[1], "w")
f.write("bye"); f.flush()
os._exit(0)' "$D/data_string"
expect "... stored at its exit" bye "$(str "$F" 20)"

reset
check "string: a threaded Python that exits without close()" t "$PYTHON" -c '
import os, sys, threading, time
f = open(sys.argv[1], "w")
f.write("thr"); f.flush()
threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
os._exit(0)' "$D/data_string"
expect "... stored at its exit" thr "$(str "$F" 20)"

reset
t "$PYTHON" -c '
import os, sys
f = open(sys.argv[1], "w")
f.write("77"); f.flush()
os.kill(os.getpid(), 9)' "$D/data_int" 2>/dev/null
expect "number without newline: killed writer stores nothing" 1 "$(i32 "$F" 16)"

stop "$T/mnt"
expect "clean unmount" 0 $?
finish
