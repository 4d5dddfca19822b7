#!/bin/sh
# 15_binding_sigbus.sh - a cut .mmap under a Python program that has its own
# SIGBUS handler (python3 -X faulthandler, as pytest enables it): reads must
# fail with an exception, as under a plain interpreter, not kill the process.
# The library's guard used to install itself only over the default
# disposition; it now chains to a handler it finds (found by review).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
. tests/python/binding.sh
need_binding
mkdir -p "$T/w"
cat >"$T/cut.py" <<'PY'
import ctypes, os, sys
from ipmmap import DataStructMmapManager, DataStructMmapReader
from ipmmap.struct import base_struct as bs
from ipmmap.exception import ipmmap_error as err

class Big(bs.BaseMmapStructure):
    _fields_ = (("header", bs.MmapStructureHeader), ("pad", ctypes.c_char * 9000),
                ("x", ctypes.c_int64))

os.chdir(sys.argv[1])
DataStructMmapManager("Big", create=True)
try:
    with DataStructMmapReader("Big") as r:
        r.readData("x")
        os.truncate(".mmap/Big_.mmap", 100)  # cut while the block holds it
        r.readData("x")
    print("read a value from a cut file")
except (err.IpMmapError, OSError) as e:
    print("refused:", type(e).__name__, e)
PY
for mode in plain faulthandler ignored; do
	rm -rf "$T/w"/.mmap "$T/w"/.fasteners
	case $mode in
	plain) out=$(pyb "$T/cut.py" "$T/w" 2>&1) ;;
	faulthandler) out=$(pyb -X faulthandler "$T/cut.py" "$T/w" 2>&1) ;;
	ignored) out=$(pyb -c 'import signal, runpy, sys; signal.signal(signal.SIGBUS, signal.SIG_IGN); sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name="__main__")' "$T/cut.py" "$T/w" 2>&1) ;;
	esac
	rc=$?
	case "$rc $out" in
	"0 refused:"*) ok "$mode: a read of a cut file raises" ;;
	*) no "$mode: a read of a cut file raises (status $rc: $(echo "$out" | tail -3 | paste -sd' '))" ;;
	esac
done
finish
