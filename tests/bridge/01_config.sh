#!/bin/sh
# 01_config.sh - ipmmap-bridge's command line and configuration: a bad
# configuration stops the start with "file:line: what is wrong" and status 1,
# before any network is touched; usage errors exit 2.
. tests/bridge/lib.sh

# bad NAME 'EXPECTED MESSAGE' LINE...: a bridge.ini of those lines is refused.
bad() {
	name=$1 want=$2
	shift 2
	mkdir -p "$T/cf"
	printf '%s\n' "$@" >"$T/cf/$name.ini"
	out=$(timeout 20 "$BRIDGE" "$T/cf/$name.ini" 2>&1)
	rc=$?
	expect "$name: exit status" 1 "$rc"
	contains "$name: message" "$T/cf/$name.ini:$want" "$out"
}

sc="schema = $SCHEMA"
bad unknown_key "2: unknown key 'colour'" "[bridge]" "colour = red" "$sc" "instance = $S"
bad outside "1: 'schema' outside the [bridge] section" "$sc" "[bridge]" "instance = $S"
bad section "2: unknown section [ipmmapfs]" "[ipmmapfs]" "$sc"
bad direction "3: bad direction 'both-ways': expected both, publish or subscribe" \
	"[bridge]" "$sc" "direction = both-ways" "instance = $S"
bad domain "3: bad domain '231': expected a number 0..230" "[bridge]" "$sc" "domain = 231" \
	"instance = $S"
bad domain_text "3: bad domain 'x1'" "[bridge]" "$sc" "domain = x1" "instance = $S"
bad inst_flag "3: bad instance '$S:a ro': only both, publish or subscribe may follow" \
	"[bridge]" "$sc" "instance = $S:a ro"
bad inst_twice "4: instance $S:a given twice (first at line 3)" "[bridge]" "$sc" \
	"instance = $S:a" "instance = $S:a subscribe"
bad dir_twice "4: mmap_dir given twice (first at line 3)" "[bridge]" "$sc" "mmap_dir = a" \
	"mmap_dir = b" "instance = $S"
bad no_instance "2: no instance given (instance = Name[:tag])" "[bridge]" "$sc"
bad no_schema "2: no schema given (schema = FILE)" "[bridge]" "instance = $S"
bad indented "3: line starts with white space" "[bridge]" "$sc" "  instance = $S"
bad syntax "3: syntax error: expected [section] or key = value" "[bridge]" "$sc" "instance"
bad no_struct "3: no such structure in the schema: 'Nope'" "[bridge]" "$sc" "instance = Nope"
bad not_mappable "3: structure does not start with MmapStructureHeader: 'Point2D'" \
	"[bridge]" "$sc" "instance = Point2D"
bad schema_missing "2: cannot" "[bridge]" "schema = $T/none.ini" "instance = $S"

out=$(timeout 20 "$BRIDGE" 2>&1)
expect "no configuration: usage error" 2 $?
contains "no configuration: usage" "usage: ipmmap-bridge" "$out"
out=$(timeout 20 "$BRIDGE" "$T/missing.ini" 2>&1)
expect "missing configuration file: exit status" 1 $?
contains "missing configuration file: message" "cannot open configuration $T/missing.ini" "$out"
# Read with bounds, as the mount's configuration is (issue 11): a file
# without end is refused at once, naming its line (it used to spin for ever,
# deaf to SIGTERM).
out=$(timeout -s KILL 20 "$BRIDGE" /dev/zero 2>&1)
rc=$?
[ $rc -ne 137 ] && [ $rc -ne 0 ] && ok "/dev/zero refused (status $rc)" || nok "/dev/zero: status $rc"
contains "... naming the line" "/dev/zero:1: line too long" "$out"
out=$(timeout 20 "$BRIDGE" --help 2>&1)
expect "--help exits 0" 0 $?
contains "--help names the man page" "ipmmap-bridge(8)" "$out"
finish
