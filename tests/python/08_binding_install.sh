#!/bin/sh
# 08_binding_install.sh - the binding installs where Debian's python3 finds
# it: `make install` (DESTDIR, PREFIX=/usr/local and /usr) and uninstall, and
# `pip install --no-build-isolation` offline from a copy of the sources.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
. tests/python/binding.sh
need_binding
ver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# python with the binding found at $1 instead of $B/python (the sanitizers'
# runtime still preloaded under SANITIZE=1)
py_at() {
	local dir=$1 cmd=("${PYB[@]}")
	shift
	cmd[1]="PYTHONPATH=$dir"
	(cd "$T" && timeout 60 "${cmd[@]}" "$@")
}
probe='import ipmmap, ipmmap._ipmmap, os; print(os.path.dirname(ipmmap.__file__))'

for prefix in /usr/local /usr; do
	stage="$T/stage$prefix"
	if make -s --no-print-directory install-python B="$B" PYTHON="$PYTHON" DESTDIR="$T/stage" \
		PREFIX="$prefix" >"$T/install.log" 2>&1; then
		ok "make install-python PREFIX=$prefix"
	else
		no "make install PREFIX=$prefix: $(cat "$T/install.log")"
	fi
	case $prefix in
	/usr) dir="$T/stage/usr/lib/python3/dist-packages" ;;
	*) dir="$T/stage$prefix/lib/python$ver/dist-packages" ;;
	esac
	is "PREFIX=$prefix installs into a directory of python3's sys.path ($dir)" \
		yes "$("$PYTHON" -c "import sys; print('yes' if '${dir#"$T/stage"}' in sys.path else 'no')")"
	is "the installed package imports from there" "$dir/ipmmap" "$(py_at "$dir" -c "$probe" 2>&1)"
	make -s --no-print-directory uninstall-python B="$B" DESTDIR="$T/stage" PREFIX="$prefix" >/dev/null 2>&1
	is "uninstall removes it (PREFIX=$prefix)" 0 "$(find "$T/stage" -path '*ipmmap*' -type f | wc -l)"
done

if "$PYTHON" -m pip --version >/dev/null 2>&1 && "$PYTHON" -c 'import setuptools, wheel' 2>/dev/null; then
	mkdir -p "$T/src"
	cp -r "$top/python" "$top/lib" "$top/setup.py" "$top/pyproject.toml" "$top/README.md" "$T/src/"
	rm -rf "$T/src/python/ipmmap/__pycache__"
	if (cd "$T/src" && timeout 300 "$PYTHON" -m pip install -q --no-build-isolation --no-index \
		--target "$T/site" . ) >"$T/pip.log" 2>&1; then
		ok "pip install --no-build-isolation --no-index . (offline)"
	else
		no "pip install: $(tail -5 "$T/pip.log" | paste -sd' ')"
	fi
	# pip's build is not sanitized: plain python
	is "pip's build imports" "$T/site/ipmmap" \
		"$(cd "$T" && PYTHONPATH="$T/site" "$PYTHON" -c "$probe" 2>&1)"
	mkdir -p "$T/run"
	is "and works" 42 "$(cd "$T/run" && PYTHONPATH="$T/site" "$PYTHON" -c '
import ctypes
from ipmmap import DataStructMmapManager, DataStructMmapReader
from ipmmap.struct import base_struct as bs
class S(bs.BaseMmapStructure):
    _fields_ = (("header", bs.MmapStructureHeader), ("v", ctypes.c_int32))
with DataStructMmapManager("S", create=True) as m:
    m.writeData("v", 42)
with DataStructMmapReader("S") as r:
    print(r.readData("v"))' 2>&1)"
else
	no "pip, setuptools or wheel missing for $PYTHON (make deps installs python3-pip python3-setuptools python3-wheel)"
fi
finish
