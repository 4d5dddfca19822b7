#!/bin/sh
# 10_binding_demo.sh - demo scripts written as Python IPMMAP's are (a struct
# module, an editor that rewrites values in a loop, a reader), run on the
# binding beside the C demo reader and the mount, on one instance.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
. tests/python/binding.sh
need_binding
[ -x "$top/$B/demo_reader" ] || { no "$B/demo_reader not built"; finish; }
W="$T/demo"
mkdir -p "$W"
cp -r "$top/conf" "$W/conf"
cat >"$W/demo_struct.py" <<'PY'
import ctypes
from ipmmap.struct import base_struct as bs

class Point2D(ctypes.Structure):
    _fields_ = (('x', ctypes.c_double), ('y', ctypes.c_double))

class MultiPointsData(ctypes.Structure):
    _fields_ = (('multi_data_int', ctypes.c_int32), ('multi_points', Point2D * 24))

class DemoMmapStructure(bs.BaseMmapStructure):
    _fields_ = (('header', bs.MmapStructureHeader), ('data_int', ctypes.c_int32),
                ('data_string', ctypes.c_char * 256), ('data_xy', Point2D),
                ('multi_pts', MultiPointsData))
PY
cat >"$W/demo_editor.py" <<'PY'
import random, sys, time, uuid
from ipmmap import DataStructMmapManager, DataStructMmapEditor
DataStructMmapEditor.setUserStructs(['demo_struct'])
DataStructMmapManager('DemoMmapStructure', create=True)
for i in range(int(sys.argv[1])):
    with DataStructMmapEditor('DemoMmapStructure') as editor:
        editor.writeData('data_int', random.randint(0, 2**31 - 1))
        editor.writeData('data_string', bytes(str(uuid.uuid4()), 'utf-8'))
        editor.writeData('data_xy.x', random.random())
        editor.updateLastUpdate()
    time.sleep(0.05)
PY
cat >"$W/demo_reader.py" <<'PY'
import sys
from ipmmap import DataStructMmapReader
DataStructMmapReader.setUserStructs(['demo_struct'])
with DataStructMmapReader('DemoMmapStructure') as reader:
    for key in sys.argv[1:]:
        print(reader.readData(key).decode() if key == 'data_string' else reader.readData(key))
PY

# the C demo reader wakes for the binding editor's changes
(cd "$W" && pyb demo_editor.py 1) >"$T/e0.out" 2>&1 || no "demo_editor.py: $(cat "$T/e0.out")"
(cd "$W" && exec timeout 60 "$top/$B/demo_reader" conf/demo.ini '' 3) >"$T/cr.out" 2>&1 &
PID[creader]=$!
# the editor goes on (with a generous bound) until the reader has seen enough
(cd "$W" && exec timeout 60 "${PYB[@]}" demo_editor.py 1000) >"$T/e1.out" 2>&1 &
PID[editor]=$!
wait "${PID[creader]}"
is "the C demo reader saw three changes of the binding's demo_editor.py and exited" 0 $?
unset "PID[creader]"
alive "${PID[editor]}" && ok "the binding's demo_editor.py was still running" \
	|| no "demo_editor.py ended: $(cat "$T/e1.out")"
kill "${PID[editor]}" 2>/dev/null
wait "${PID[editor]}" 2>/dev/null
unset "PID[editor]"
last=$(cd "$W" && pyb demo_reader.py data_int data_string)
is "the binding's demo_reader.py reads what C reads" \
	"$(cd "$W" && "$IPMMAP" -s conf/demo.ini get DemoMmapStructure data_int data_string)" "$last"

# beside the mount
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
	echo "# SKIP: the mount needs root, /dev/fuse and fusermount3"
	finish
fi
mount_fs || { no "mount: $(cat "$T/fs.log")"; finish; }
D="$MNT/DemoMmapStructure"
cd "$W" && rm -rf .mmap .fasteners && ln -s "$M" .mmap && ln -s "$L" .fasteners && cd "$top"
(cd "$W" && pyb demo_editor.py 2) >"$T/e2.out" 2>&1 || no "demo_editor.py: $(cat "$T/e2.out")"
is "the mount shows the binding editor's data_string" \
	"$(cd "$W" && pyb demo_reader.py data_string)" "$(timeout $WAIT cat "$D/data_string")"
echo 777 >"$D/data_int"
is "the binding reader reads what was echoed on the mount" 777 "$(cd "$W" && pyb demo_reader.py data_int)"
finish
