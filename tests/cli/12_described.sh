#!/bin/sh
# 12_described.sh - instances that describe themselves: what `ipmmap create`
# stores beside the lock file is enough for get/set/dump/watch/list without
# -s or IPMMAP_SCHEMA; a different local schema is refused with the field
# named; a damaged or missing definition is a clear failure.
set -u
B=${B:-build}
top=$(pwd)
IPMMAP="$top/$B/ipmmap"
S="$top/conf/demo.ini"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
cd "$t" || exit 1
unset IPMMAP_SCHEMA
fails=0
ok() { echo "ok - $1"; }
no() { echo "not ok - $1"; fails=$((fails + 1)); }
is() { # is DESCRIPTION EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then ok "$1"; else no "$1: expected '$2', got '$3'"; fi
}
D=DemoMmapStructure

"$IPMMAP" -s "$S" create $D >/dev/null
is "create stores the definition" yes "$([ -f .fasteners/${D}_.schema ] && echo yes)"
is "the definition reads as a schema" "$D: size 688, align 8, mappable, x.ini:10" \
	"$(sed 1,4d .fasteners/${D}_.schema >x.ini && "$IPMMAP" check x.ini | grep "^$D:")"
is "same mode as the instance" "$(stat -c %a .mmap/${D}_.mmap)" "$(stat -c %a .fasteners/${D}_.schema)"

is "get without -s" 4392 "$("$IPMMAP" get $D header.header_code 2>&1)"
"$IPMMAP" set $D data_int 42 'multi_pts.multi_points[3].y' 2.5 data_string 'no schema'
is "set without -s" "42|2.5|no schema" \
	"$("$IPMMAP" get $D data_int 'multi_pts.multi_points[3].y' data_string | paste -sd'|')"
is "dump without -s" 55 "$("$IPMMAP" dump $D | wc -l)"
"$IPMMAP" -n 1 watch $D data_int >watch.txt 2>&1 &
w=$!
i=0
while [ ! -s watch.txt ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
"$IPMMAP" set $D data_int 43
wait $w
is "watch without -s" "data_int = 42|data_int = 43" "$(paste -sd'|' watch.txt)"
"$IPMMAP" set $D data_int 42
is "list without -s" "$D - 688 ok" "$("$IPMMAP" list | awk 'NR == 2 { print $1, $2, $3, $6 }')"
"$IPMMAP" get $D nope 2>err.txt
is "a bad path still fails" 1 $?

# A schema of the same size whose data_xy.x is a float.
sed 's/^x = double/x = float\nx2 = float/' "$S" >other.ini
"$IPMMAP" -s other.ini get $D data_int 2>err.txt
is "a different local schema is refused" 1 $?
is "... naming the field" "ipmmap: structure '$D' differs from its stored definition ./.fasteners/${D}_.schema: data_xy.x is float here, double there" \
	"$(cat err.txt)"
"$IPMMAP" -s other.ini create $D 2>err.txt >/dev/null
is "a manager with it is refused too" 1 $?
grep -q "force re-creates" err.txt && ok "... and told how to re-create" || no "manager message: $(cat err.txt)"
is "the same schema is accepted" 42 "$("$IPMMAP" -s "$S" get $D data_int 2>&1)"

# Made by Python IPMMAP or an older libipmmap: no definition.
mv .fasteners/${D}_.schema saved.schema
"$IPMMAP" get $D data_int 2>err.txt
is "no definition, no schema: fails" 1 $?
grep -q "no stored definition .*give a schema" err.txt && ok "... saying what to give" ||
	no "no-definition message: $(cat err.txt)"
is "... and with a schema it works as before" 42 "$("$IPMMAP" -s "$S" get $D data_int 2>&1)"

for bad in garbage truncated toolarge; do
	case $bad in
	garbage) printf 'hello\n' ;;
	truncated) head -c 150 saved.schema ;;
	toolarge) head -c 300000 /dev/zero | tr '\0' ';' ;;
	esac >.fasteners/${D}_.schema
	"$IPMMAP" get $D data_int 2>err.txt
	is "a $bad definition is refused" 1 $?
	grep -q "${D}_.schema" err.txt && ok "... naming it" || no "$bad message: $(cat err.txt)"
	is "... and a schema still reads the instance" 42 "$("$IPMMAP" -s "$S" get $D data_int 2>/dev/null)"
done
"$IPMMAP" -s "$S" create $D >/dev/null
is "a manager puts a damaged definition right" 42 "$("$IPMMAP" get $D data_int 2>&1)"

# Creating takes a schema.
"$IPMMAP" create Other 2>err.txt
is "create without a schema fails" 1 $?
grep -q "no structure 'Other' in the schema" err.txt && ok "... and says so" || no "create message: $(cat err.txt)"

[ "$fails" -eq 0 ]
