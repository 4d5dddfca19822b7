# bad_values.sh - the table of bad texts for every field type, sourced by
# tests/cli/06_bad_input.sh (through `ipmmap set`) and tests/fs/08_bad_input.sh
# (through the mount). The sourcing script defines bad FIELD TEXT..., which
# must check that each TEXT is refused for FIELD and changes nothing, and
# calls bad_schema FILE to write the schema of structure All.

bad_schema() {
	cat >"$1" <<'INI'
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
}

bad_table() {
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
}
