# lib.sh - what the tests/cli scripts that compare with Python ctypes share:
# sourced from the top of the tree, it makes a temporary directory to work
# in (removed at exit), the ok/no/is reporters, and same_layout, which
# compares `ipmmap check` with what ctypes lays out for the classes of
# ./classes.py (tests/cli/ctypes_leaves.py walks them).
set -u
B=${B:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
top=$(pwd)
IPMMAP="$top/$B/ipmmap"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
cd "$t" || exit 1
fails=0
ok() { printf 'ok - %s\n' "$1"; }
no() { printf 'not ok - %s\n' "$1"; fails=$((fails + 1)); }
is() { if [ "$2" = "$3" ]; then ok "$1"; else no "$1: expected '$2', got '$3'"; fi; }

# same_layout DESCRIPTION SCHEMA CLASS...: every structure's size and every
# leaf's offset, as `ipmmap -s SCHEMA check` and ctypes give them.
same_layout() {
	desc=$1 ini=$2
	shift 2
	"$IPMMAP" -s "$ini" check >check.txt 2>&1 || no "check: $(cat check.txt)"
	got=$(awk '/^[A-Za-z]/ { s = $1; sub(":", "", s); print s, $3 }
		/^ +[0-9]/ { print s "." $4, $1 }' check.txt | sed 's/,$//')
	want=$(PYTHONPATH=. "$PYTHON" "$top/tests/cli/ctypes_leaves.py" "$@")
	if [ "$got" = "$want" ]; then ok "$desc"; else
		no "check differs from ctypes:"
		printf '%s\n' "$got" >got.txt
		printf '%s\n' "$want" >want.txt
		diff want.txt got.txt | sed 's/^/# /'
	fi
}
