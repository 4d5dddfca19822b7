#!/bin/sh
# 06_readme.sh - the README's "On one machine" session, run as it stands with
# bridge/loopback.xml and the example hosts bridge/loopback-a.ini and -b.ini,
# in a copy of the repository's files (with this run's own discovery tag and
# domain, so that it never meets another run). Its pauses ("sleep N") are
# made robust: after the pause, wait (30 s at most) until both hosts' .mmap
# files hold the same bytes. The bridges it starts are stopped here by the
# pids of their status files.
. tests/bridge/lib.sh

R=$T/repo
mkdir -p "$R"
cp -r "$ROOT/conf" "$ROOT/bridge" "$R/"
ln -s "$ROOT/$B" "$R/build"
sed -i "s|<Tag>[^<]*</Tag>|<Tag>$DTAG</Tag>|" "$R/bridge/loopback.xml"
sed -i "s/^domain    = 0/domain    = $DOMAIN/" "$R/bridge/loopback-a.ini" "$R/bridge/loopback-b.ini"
awk '/^\*\*On one machine/ {f = 1} f && /^```sh$/ {b = 1; next} b && /^```$/ {exit} b {print}' \
	"$ROOT/README.md" | sed '/^make$/d' >"$T/session.sh"
grep -q ipmmap-bridge "$T/session.sh" && ok "the README has the loopback session" ||
	nok "the README has the loopback session"
{
	echo 'sleep() {'
	echo '	command sleep "$1"'
	echo '	i=0'
	echo '	while ! cmp -s .bridge-a/mmap/DemoMmapStructure_.mmap .bridge-b/mmap/DemoMmapStructure_.mmap &&'
	echo '		[ $i -lt 300 ]; do command sleep 0.1; i=$((i + 1)); done'
	echo '}'
	cat "$T/session.sh"
} >"$T/run.sh"
out=$(cd "$R" && timeout 120 bash "$T/run.sh" 2>&1)
for h in a b; do
	p=$(sed -n 's/^pid = //p' "$R/.bridge-$h/locks/ipmmap-bridge.status" 2>/dev/null)
	[ -n "$p" ] && PIDS="$PIDS $p" && kill -TERM "$p" 2>/dev/null
done
set -- $(echo "$out" | grep -v '^\.bridge-a/mmap/' | tr '\n' ' ')
expect "B shows A's write" 42 "${1:-}"
expect "A shows B's write" 2.5 "${2:-}"
expect "B's status: one peer" "peers = 1" "${3:-} ${4:-} ${5:-}"
# Their logs where cleanup looks for sanitizer reports.
for h in a b; do
	mkdir -p "$T/readme-$h" && cp "$R/$h.log" "$T/readme-$h/log" 2>/dev/null
done
finish
