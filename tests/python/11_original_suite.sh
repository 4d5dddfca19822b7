#!/bin/sh
# 11_original_suite.sh - Python IPMMAP's own test file passes against Python
# IPMMAP itself, imported from ../shared/ipmmap-py: the environment the
# interop scenarios (12_* and later) run the real package in is right.
# (05_binding_suite.sh runs the same file against the binding.)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
. tests/python/binding.sh
need_python
have_original || finish
if ! "$PYTHON" -c 'import pytest' 2>/dev/null; then
	no "pytest missing for $PYTHON (make deps installs python3-pytest)"
	finish
fi

# a scratch copy of its tests/ only, run in a scratch working directory (the
# tests make their files relative to it); which ipmmap they import is said
# from inside pytest
mkdir -p "$T/run"
cp -r "$ORIG/tests" "$T/run/tests"
cat >"$T/run/conftest.py" <<'PY'
import ipmmap, os
with open(os.path.join(os.path.dirname(__file__), "imported"), "w") as f:
    f.write(os.path.dirname(os.path.abspath(ipmmap.__file__)))
PY
(cd "$T/run" && pyo -m pytest -q -p no:cacheprovider tests) >"$T/pytest.out" 2>&1
rc=$?
sed 's/^/# /' "$T/pytest.out"
is "pytest exits 0" 0 "$rc"
passed=$(sed -n 's/^\([0-9]*\) passed.*/\1/p' "$T/pytest.out" | tail -1)
is "all 11 tests of the original pass" 11 "${passed:-0}"
is "they ran on the original package" "$(cd "$ORIG" && pwd -P)/ipmmap" \
	"$(cd "$(cat "$T/run/imported" 2>/dev/null || echo /nonexistent)" 2>/dev/null && pwd -P)"
finish
