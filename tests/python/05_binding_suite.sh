#!/bin/sh
# 05_binding_suite.sh - Python IPMMAP's own test file, unchanged, passes
# against the binding: a scratch copy of its tests/ directory (and nothing
# else of it) run by pytest with the binding on PYTHONPATH, in a scratch
# working directory (the tests make their files relative to it).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. tests/python/lib.sh
. tests/python/binding.sh
need_binding
have_original || finish
if ! "$PYTHON" -c 'import pytest' 2>/dev/null; then
	no "pytest missing for $PYTHON (make deps installs python3-pytest)"
	finish
fi

mkdir -p "$T/run"
cp -r "$ORIG/tests" "$T/run/tests"
# which ipmmap the tests import, said from inside pytest (a conftest of our
# own beside the copy; the test files are untouched)
cat >"$T/run/conftest.py" <<'PY'
import ipmmap, os
with open(os.path.join(os.path.dirname(__file__), "imported"), "w") as f:
    f.write(os.path.dirname(os.path.abspath(ipmmap.__file__)))
PY
if diff -r "$ORIG/tests" "$T/run/tests" >/dev/null; then
	ok "the copy of the original tests is unchanged ($(ls "$T/run/tests" | paste -sd' '))"
else
	no "the copy differs from $ORIG/tests"
fi
(cd "$T/run" && pyb -m pytest -q -p no:cacheprovider tests) >"$T/pytest.out" 2>&1
rc=$?
sed 's/^/# /' "$T/pytest.out"
is "pytest exits 0" 0 "$rc"
passed=$(sed -n 's/^\([0-9]*\) passed.*/\1/p' "$T/pytest.out" | tail -1)
is "all 11 tests of the original pass" 11 "${passed:-0}"
is "they ran on the binding" "$BINDING/ipmmap" "$(cat "$T/run/imported" 2>/dev/null)"
finish
