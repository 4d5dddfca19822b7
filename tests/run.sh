#!/bin/sh
# run.sh - runs every unit test program and every mount scenario, then prints
# one closing line "check: N passed, N failed". Called by `make check` with
# B (build directory) and PYTHON set. Exits non-zero if anything failed.
#
# Unit tests are cmocka programs (their "[  PASSED  ] N test(s)." lines are
# counted); scenarios are tests/*/NN_name.sh scripts (tests/fs: the mount,
# tests/cli: the command-line tool and README examples, tests/python: Python
# peers) printing "ok - ..." or "not ok - ..." lines, one per check.
B=${B:-build}
export B PYTHON
passed=0 failed=0 broken=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count() { # $1 = program's output file, $2 = its exit status, $3 = its name
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p; s/^ok - .*/1/p' "$1" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p; s/^not ok - .*/1/p' "$1" | awk '{s+=$1} END {print s+0}')
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$3: exited with status $2"
		broken=$((broken + 1))
	fi
}

for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	"$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	count "$log" $rc "$t"
done

for t in tests/*/[0-9][0-9]_*.sh; do
	[ -f "$t" ] || continue
	echo "== $t"
	timeout 600 sh "$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	count "$log" $rc "$t"
done

echo "check: $passed passed, $((failed + broken)) failed"
[ "$failed" -eq 0 ] && [ "$broken" -eq 0 ]
