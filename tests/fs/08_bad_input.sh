#!/bin/sh
# 08_bad_input.sh - the table of bad texts of tests/bad_values.sh, written to
# the mount in one write() each (dd): each one fails, and not one byte of the
# .mmap file changes. One write() per text, because a value is stored as soon
# as a line of it is complete (bash's printf writes "1\n\n" as "1\n" then
# "\n": two values, as on sysfs), and because a UTF-8 character cut at the
# end of a write may be finished by the next one: that error can only come at
# close(), which dd reports and bash's builtins do not.
. tests/fs/lib.sh
. "$ROOT/tests/bad_values.sh"
cases=0

bad_schema "$T/all.ini"
cat >"$T/fs.ini" <<INI
[ipmmapfs]
schema = $T/all.ini
mmap_dir = $MMAP
lock_dir = $LOCKS
create = yes
instance = All
INI
start "$T/mnt" -o config="$T/fs.ini" || { nok "mount"; finish; }
D=$T/mnt/All
F=$MMAP/All_.mmap
printf '%s' -5 >"$D/i8" && printf '%s' 0.5 >"$D/d" && printf '%s' ab >"$D/s" || nok "good values"
sum() { md5sum <"$F"; }
before=$(sum)

bad() {
	field=$1
	shift
	for text in "$@"; do
		# Writing nothing is no write at all (`: > f` keeps the value, as
		# sysfs does): the empty value reaches the mount as an empty line.
		[ -z "$text" ] && text='
'
		cases=$((cases + 1))
		shown=$(printf '%s' "$text" | od -An -c | tr -s ' \n' '  ' | sed 's/^ //; s/ $//')
		if printf '%s' "$text" | t dd of="$D/$field" bs=65536 status=none 2>/dev/null; then
			nok "$field <- [$shown]: accepted by the mount"
		elif [ "$(sum)" != "$before" ]; then
			nok "$field <- [$shown]: the file changed"
			before=$(sum)
		else
			ok "$field <- [$shown] refused, file unchanged"
		fi
	done
}
bad_table
echo "# $cases bad inputs refused by the mount"
stop "$T/mnt"
finish
