#!/bin/sh
# 17_wide.sh - c_wchar, c_wchar * N and c_longdouble between the Python
# binding, Python IPMMAP itself and `ipmmap`: text and long doubles written
# on one side read back on the other, both ways; the binding refuses a text
# too long or a surrogate, as the C side refuses them.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
. tests/python/binding.sh
need_binding
APP="$T/app"
mkdir -p "$APP"
cat >"$APP/wide.py" <<'PY'
import ctypes
from ipmmap.struct import base_struct as bs

class Wide(bs.BaseMmapStructure):
    _fields_ = (("header", bs.MmapStructureHeader), ("c", ctypes.c_wchar),
                ("name", ctypes.c_wchar * 8), ("names", ctypes.c_wchar * 4 * 2),
                ("ld", ctypes.c_longdouble), ("lds", ctypes.c_longdouble * 2))
PY
cat >"$APP/w.ini" <<'INI'
[Wide]
header = MmapStructureHeader
c = c_wchar
name = c_wchar * 8
names = c_wchar * 4 * 2
ld = c_longdouble
lds = c_longdouble * 2
INI
w() { (cd "$APP" && timeout $WAIT "$IPMMAP" -s w.ini -t b "$@"); }
is "the binding writes c_wchar, c_wchar * N, c_longdouble" done "$(cd "$APP" && pyb -c '
from wide import Wide
from ipmmap import DataStructMmapManager, DataStructMmapEditor
DataStructMmapManager("Wide", "b", create=True)
with DataStructMmapEditor("Wide", "b") as e:
    e.writeData("c", "é"); e.writeData("name", "h€llo😀"); e.writeData("names[1]", "abcd")
    e.writeData("ld", 0.1); e.writeData("lds[1]", -2.5)
print("done")' 2>&1)"
is "ipmmap reads what the binding wrote" "é|h€llo😀|abcd|0.10000000000000000555|-2.5" \
	"$(w get Wide c name 'names[1]' ld 'lds[1]' | paste -sd'|')"
w set Wide name 'Zoë' c '' ld 1e4000 || no "ipmmap set"
is "the binding reads what ipmmap wrote" "'Zoë' '\\x00' inf" "$(cd "$APP" && pyb -c '
from wide import Wide
from ipmmap import DataStructMmapReader
with DataStructMmapReader("Wide", "b") as r:
    print(repr(r.readData("name")), repr(r.readData("c")), r.readData("ld"))' 2>&1)"
is "the binding refuses what the C side refuses" \
	"ValueIpMmapError ValueIpMmapError ValueIpMmapError TypeIpMmapError" "$(cd "$APP" && pyb -c '
from wide import Wide
from ipmmap import DataStructMmapEditor
out = []
with DataStructMmapEditor("Wide", "b") as e:
    for k, v in (("name", "123456789"), ("name", "\ud800"), ("c", "xy"), ("ld", "1")):
        try:
            e.writeData(k, v); out.append("accepted")
        except Exception as x:
            out.append(type(x).__name__)
print(*out)' 2>&1)"
is "... and changed nothing" "Zoë" "$(w get Wide name)"

if have_original; then
	is "Python IPMMAP writes them" done "$(cd "$APP" && pyo -c '
from wide import Wide
from ipmmap import DataStructMmapManager, DataStructMmapEditor
DataStructMmapManager("Wide", "o", create=True)
with DataStructMmapEditor("Wide", "o") as e:
    e.writeData("name", "Ωmega"); e.writeData("ld", 1 / 3)
print("done")' 2>&1)"
	o() { (cd "$APP" && timeout $WAIT "$IPMMAP" -s w.ini -t o "$@"); }
	is "ipmmap reads what Python IPMMAP wrote" "Ωmega|0.33333333333333331483" \
		"$(o get Wide name ld | paste -sd'|')"
	o set Wide 'names[0]' 'xy€' 'lds[0]' 0.5 || no "ipmmap set"
	is "Python IPMMAP reads what ipmmap wrote" "xy€ 0.5" "$(cd "$APP" && pyo -c '
from wide import Wide
from ipmmap import DataStructMmapReader
with DataStructMmapReader("Wide", "o") as r:
    print(r.readData("names")[0].value, r.readData("lds")[0])' 2>&1)"
fi
finish
