#!/bin/sh
# 16_described.sh - a structure made from ctypes classes only, by the Python
# binding's manager, is stored beside its lock file like any other: the
# mount with no configuration shows its fields, `ipmmap get` reads it
# without -s; one made by Python IPMMAP itself shows .raw and .status only.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
. tests/python/binding.sh
need_binding
APP="$T/app"
mkdir -p "$APP"
cat >"$T/make.py" <<'PY'
import ctypes
from ipmmap import DataStructMmapManager, DataStructMmapEditor
from ipmmap.struct import base_struct as bs

class Pose(ctypes.Structure):
    _fields_ = (("x", ctypes.c_double), ("yaw", ctypes.c_float))

class RobotState(bs.BaseMmapStructure):
    _fields_ = (("header", bs.MmapStructureHeader), ("mode", ctypes.c_uint8),
                ("poses", Pose * 3), ("name", ctypes.c_char * 16))

DataStructMmapManager("RobotState", "r1", create=True)
with DataStructMmapEditor("RobotState", "r1") as e:
    e.writeData("mode", 3)
    e.writeData("name", b"arm")
    e.updateLastUpdate()
print("made")
PY
is "the binding makes an instance from ctypes classes only" made "$(cd "$APP" && pyb "$T/make.py" 2>&1)"
is "... and stores its definition" yes "$([ -f "$APP/.fasteners/RobotState_r1.schema" ] && echo yes)"
grep -q '^poses = Pose\[3\]$' "$APP/.fasteners/RobotState_r1.schema" && ok "... with its ctypes array" ||
	no "definition: $(cat "$APP/.fasteners/RobotState_r1.schema")"
unset IPMMAP_SCHEMA
is "ipmmap get reads it without -s" "3|arm" \
	"$(cd "$APP" && timeout $WAIT "$IPMMAP" -t r1 get RobotState mode name | paste -sd'|')"

if have_original; then
	(cd "$APP" && pyo -c '
import ctypes
from ipmmap import DataStructMmapManager
from ipmmap.struct import base_struct as bs
class Seeded(bs.BaseMmapStructure):
    _fields_ = (("header", bs.MmapStructureHeader), ("v", ctypes.c_int32))
DataStructMmapManager("Seeded", create=True)
') && ok "Python IPMMAP makes an instance" || no "Python IPMMAP could not make an instance"
fi

if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
	echo "ok - skipped: the mount needs root, /dev/fuse and fusermount3"
	finish
fi
mkdir -p "$MNT"
(closefds && cd "$APP" && IPMMAPFS_CONFIG= exec "$top/$B/ipmmapfs" -f "$MNT") >"$T/fs.log" 2>&1 &
PID[fs]=$!
on_exit='unmount_fs'
end=$((SECONDS + 30))
until mounted && [ -d "$MNT/RobotState_r1" ]; do
	alive "${PID[fs]}" && [ $SECONDS -lt $end ] || break
	sleep 0.05
done
mounted && ok "ipmmapfs mounts with no configuration" || { no "mount: $(cat "$T/fs.log")"; finish; }
is "the ctypes-only instance shows its fields" ".raw .status .values header mode name poses" \
	"$(ls -A "$MNT/RobotState_r1" | paste -sd' ')"
is "cat reads a field" 3 "$(timeout $WAIT cat "$MNT/RobotState_r1/mode")"
is "cat reads an array element's field" 0.0 "$(timeout $WAIT cat "$MNT/RobotState_r1/poses/2/yaw")"
echo 7 >"$MNT/RobotState_r1/mode"
cat >"$T/read.py" <<'PY'
import ctypes
from ipmmap import DataStructMmapReader
from ipmmap.struct import base_struct as bs

class Pose(ctypes.Structure):
    _fields_ = (("x", ctypes.c_double), ("yaw", ctypes.c_float))

class RobotState(bs.BaseMmapStructure):
    _fields_ = (("header", bs.MmapStructureHeader), ("mode", ctypes.c_uint8),
                ("poses", Pose * 3), ("name", ctypes.c_char * 16))

with DataStructMmapReader("RobotState", "r1") as r:
    print(r.readData("mode"))
PY
is "echo on the mount, the Python program reads it" 7 "$(cd "$APP" && pyb "$T/read.py" 2>&1)"
if have_original; then
	is "Python IPMMAP's instance: .raw and .status only" ".raw .status" \
		"$(ls -A "$MNT/Seeded" | paste -sd' ')"
	grep -q "definition = none" "$MNT/Seeded/.status" && ok "... .status says why" ||
		no ".status: $(cat "$MNT/Seeded/.status")"
fi
finish
