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

cat >all.ini <<'INI'
[All]
header = MmapStructureHeader
i8 = int8
i16 = int16
i32 = int32
i64 = int64
u8 = uint8
u16 = uint16
u32 = uint32
u64 = uint64
f = float
d = double
b = bool
s = char[4]
INI
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

ff=$(printf '\377')      # never valid in UTF-8
cut=$(printf 'a\303')     # a sequence cut short
over=$(printf '\300\200') # overlong NUL
surr=$(printf '\355\240\200')
big=$(printf '\364\220\200\200') # above U+10FFFF
two=$(printf '1\n\nx')              # two newlines: one is allowed
two=${two%x}

# Every number and bool: not a value at all.
for fld in i8 i16 i32 i64 u8 u16 u32 u64 f d b; do
	bad $fld '' '   ' 'abc' ' 1' '1 ' "$(printf '1\t')" '1x' '1,0' '1_0' "$ff" "$cut" '٣' "$two"
done
# Integers: no fractions, exponents, hex, octal, nan or inf, doubled signs.
for fld in i8 i16 i32 i64 u8 u16 u32 u64; do
	bad $fld '1.5' '1.' '1e3' '0x10' '0X1' '010' '00' 'nan' 'inf' '-inf' '--1' '+-1' '- 1' \
		'99999999999999999999999999'
done
# One past each end.
bad i8 -129 128
bad i16 -32769 32768
bad i32 -2147483649 2147483648
bad i64 -9223372036854775809 9223372036854775808
bad u8 -1 -0 256
bad u16 -1 65536
bad u32 -1 4294967296
bad u64 -1 18446744073709551616
# Floating: out of range, hex floats, C's extras, broken syntax.
bad f '1e39' '-1e39' '3.4028236e38' '0x1p3' 'nan(1)' '1e' '1e+' '.' '-' '1.5.5' 'e5' '1d' '1f'
bad d '1e309' '-1e309' '0x1p3' 'nan(1)' '1e' '1..0' '.e1' '-' '1d' 'infinit'
# bool: 0, 1, true, false only.
bad b '2' '-1' '01' '1.0' '0x1' 'yes' 'no' 'on' 'nan' 't'
# char[4]: one byte too long, and not UTF-8.
bad s 'abcde' "$(printf '\342\202\254\303\251')" "$ff" "$cut" "$over" "$surr" "$big"

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
