# binding.sh - sourced after lib.sh by the scenarios of the Python binding
# (tests/python/05_* and later): Python on the binding ($B/python) and on
# Python IPMMAP itself (IPMMAP_PY_ORIG, default ../shared/ipmmap-py beside the checkout).
#
#   pyb SCRIPT ARGS...   python with the binding first on the path
#   pyo SCRIPT ARGS...   python with the original package
#   "${PYB[@]}"          the same as a command prefix (for start/background)
#
# Under SANITIZE=1 the extension is built with AddressSanitizer and UBSan:
# their runtime is preloaded into python (it must come first), Python's own
# allocator is switched to malloc so ASan sees every object, and leak
# reports are off (the interpreter keeps memory on purpose at exit).
BINDING="$top/$B/python"
ORIG=${IPMMAP_PY_ORIG:-$top/../shared/ipmmap-py}
SESSION="$top/tests/python/ipm_session.py"
CHECKS="$top/tests/python/binding_checks.py"
PYB=(env PYTHONPATH="$BINDING" PYTHONDONTWRITEBYTECODE=1)
case $B in
*san*)
	PYB+=(LD_PRELOAD="$(cc -print-file-name=libasan.so) $(cc -print-file-name=libubsan.so)"
		ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1
		PYTHONMALLOC=malloc)
	;;
esac
PYB+=("$PYTHON")
PYO=(env PYTHONPATH="$ORIG" PYTHONDONTWRITEBYTECODE=1 "$PYTHON")

pyb() { timeout 120 "${PYB[@]}" "$@"; }
pyo() { timeout 120 "${PYO[@]}" "$@"; }

need_binding() {
	if ! ls "$BINDING"/ipmmap/_ipmmap*.so >/dev/null 2>&1; then
		no "the binding is not built in $BINDING (make builds it; make deps installs python3-dev)"
		finish
	fi
}

# Without the original package (a checkout elsewhere than this machine) the
# checks that need it are skipped, visibly; they are not counted as passed.
have_original() {
	if [ -f "$ORIG/ipmmap/struct_mmap_manager.py" ] && [ -d "$ORIG/tests" ]; then
		return 0
	fi
	echo "# SKIP: Python IPMMAP not found at $ORIG (set IPMMAP_PY_ORIG to a checkout of it)"
	return 1
}
