#!/bin/sh
# 06_bad_input.sh - bad values for every field type, from a table: each one
# is refused by `ipmmap set` with exit status 1, a message naming the field,
# and not one byte of the .mmap file changed. (An embedded NUL cannot be
# passed on a command line; the unit tests of value.c and the fuzzer cover it.)
set -u
B=${B:-build}
top=$(pwd)
IPMMAP="$top/$B/ipmmap"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
cd "$t" || exit 1
fails=0 cases=0
ok() { printf 'ok - %s\n' "$1"; }
no() { printf 'not ok - %s\n' "$1"; fails=$((fails + 1)); }

. "$top/tests/bad_values.sh"
bad_schema all.ini
run() { "$IPMMAP" -s all.ini "$@"; }
run create All >/dev/null || { no "create"; exit 1; }
# Some values in every field, so "unchanged" means something.
run set All i8 -5 i16 300 i32 -70000 i64 5000000000 u8 200 u16 60000 u32 4000000000 \
	u64 18000000000000000000 f 0.5 d -2.25 b 1 s 'ab' || no "set good values"
sum() { md5sum <.mmap/All_.mmap; }
before=$(sum)

# bad FIELD TEXT...: each TEXT is refused for FIELD and changes nothing.
bad() {
	field=$1
	shift
	for text in "$@"; do
		cases=$((cases + 1))
		shown=$(printf '%s' "$text" | od -An -c | tr -s ' \n' '  ' | sed 's/^ //; s/ $//')
		run set All "$field" "$text" 2>err.txt
		rc=$?
		if [ $rc -ne 1 ]; then
			no "$field <- [$shown]: status $rc, expected 1"
		elif ! grep -q "^ipmmap: $field: " err.txt; then
			no "$field <- [$shown]: message does not name the field: $(cat err.txt)"
		elif [ "$(sum)" != "$before" ]; then
			no "$field <- [$shown]: the file changed"
			before=$(sum)
		else
			ok "$field <- [$shown] refused, file unchanged"
		fi
	done
}

bad_table

expect_ok() {
	if run set All "$1" "$2" 2>err.txt; then ok "$1 <- '$2' accepted"; else no "$1 <- '$2': $(cat err.txt)"; fi
}
# The edges themselves are values: the table is not refusing everything.
expect_ok i8 -128
expect_ok u64 18446744073709551615
expect_ok s 'abcd'
expect_ok s "$(printf '\342\202\254')"
echo "# $cases bad inputs refused"
[ $fails -eq 0 ]
