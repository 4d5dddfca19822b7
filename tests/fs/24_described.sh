#!/bin/sh
# 24_described.sh - the mount with no configuration at all: from the
# directory that holds .mmap/, `ipmmapfs MOUNTPOINT` shows every instance
# with the definition its manager stored, cat and echo work; -o mmap_dir=,
# lock_dir= from elsewhere; a file made as Python IPMMAP makes it shows .raw
# and .status only, .status saying why; a damaged, cut, too large or
# mis-sized definition makes that instance alone answer EIO; a configured
# schema that differs from the stored one is refused with the field named.
. "$(dirname "$0")/lib.sh"

D=DemoMmapStructure
APP=$T/app
mkdir -p "$APP"
ipm() { (cd "$APP" && t "$ROOT/$B/ipmmap" "$@"); }
ipm -s "$SCHEMA" create $D >/dev/null
ipm -s "$SCHEMA" -t left create $D >/dev/null
ipm -s "$SCHEMA" set $D data_int 31 data_string 'stored, not configured'
# As Python IPMMAP's manager makes it: no definition beside the lock file.
"$PYTHON" "$HELPER" create "$APP/.mmap/PyOnly_.mmap" 64
"$PYTHON" "$HELPER" create "$APP/.mmap/PyOnly_x.mmap" 44

cd "$APP" || exit 1
IPMMAPFS_CONFIG='' start "$T/mnt" || nok "mount with no configuration"
cd "$ROOT" || exit 1
M=$T/mnt
expect "every instance of ./.mmap is shown" "$D $D""_left PyOnly PyOnly_x" \
	"$(t ls "$M" | tr '\n' ' ' | sed 's/ $//')"
expect "... with its fields" ".raw .status .values data_int data_string data_xy header multi_pts" \
	"$(t ls -A "$M/$D" | tr '\n' ' ' | sed 's/ $//')"
expect "cat reads a field" 31 "$(t cat "$M/$D/data_int")"
expect "cat reads a string" "stored, not configured" "$(t cat "$M/$D/data_string")"
echo 77 >"$M/$D/data_int" && ok "echo writes a field" || nok "echo writes a field"
expect "... as the library reads it" 77 "$(ipm get $D data_int)"
echo 2.5 >"$M/$D/multi_pts/multi_points/23/y"
expect "echo into an array element" 2.5 "$(ipm -s "$SCHEMA" get $D 'multi_pts.multi_points[23].y')"
out=$(t bash -c "echo abc > '$M/$D/data_int'" 2>&1) && nok "bad text refused" ||
	contains "bad text refused" "Invalid argument" "$out"
contains ".status says the definition is stored" "definition = stored ($APP/.fasteners/${D}_.schema)" \
	"$(t cat "$M/$D/.status")"
expect "the tagged instance too" 4392 "$(t cat "$M/${D}_left/header/header_code")"
contains "the mount table names the directory shown" "$APP/.mmap $M fuse.ipmmapfs" \
	"$(grep " $M " /proc/mounts)"

# Made by Python IPMMAP: .raw and .status only.
expect "a Python-made file: .raw and .status only" ".raw .status" \
	"$(t ls -A "$M/PyOnly" | tr '\n' ' ' | sed 's/ $//')"
expect "... .raw is its bytes" "$(od -An -tx1 "$APP/.mmap/PyOnly_.mmap" | md5sum)" \
	"$(t cat "$M/PyOnly/.raw" | od -An -tx1 | md5sum)"
expect "... of its size" 64 "$(stat -c %s "$M/PyOnly/.raw")"
st=$(t cat "$M/PyOnly/.status")
contains "... .status is ok" "state = ok" "$st"
contains "... and says why only the bytes" "definition = none: .raw and .status only (no stored definition $APP/.fasteners/PyOnly_.schema" "$st"
expect "a 44-byte one: cannot be a structure, EIO" "Input/output error" \
	"$(t cat "$M/PyOnly_x/.raw" 2>&1 | sed 's/.*: //')"
contains "... .status says why" "cannot be a mappable structure's" "$(t cat "$M/PyOnly_x/.status")"

# A definition that cannot be trusted: that instance alone answers EIO.
S=$APP/.fasteners/${D}_bad.schema
ipm -s "$SCHEMA" -t bad create $D >/dev/null
ipm -s "$SCHEMA" -t cut create $D >/dev/null
ipm -s "$SCHEMA" -t big create $D >/dev/null
ipm -s "$SCHEMA" -t size create $D >/dev/null
printf 'garbage\n' >"$S"
head -c 200 "$APP/.fasteners/${D}_.schema" >"$APP/.fasteners/${D}_cut.schema"
head -c 300000 /dev/zero | tr '\0' ';' >"$APP/.fasteners/${D}_big.schema"
printf '[%s]\nheader = MmapStructureHeader\nv = int64\n' $D >"$T/small.ini"
(cd "$T" && "$ROOT/$B/ipmmap" -s small.ini -m s -l s create $D >/dev/null)
cp "$T/s/${D}_.schema" "$APP/.fasteners/${D}_size.schema"
for k in bad cut big size; do
	out=$(t ls -A "$M/${D}_$k" 2>&1)
	expect "$k definition: shown with .raw and .status" ".raw .status" "$(echo $out)"
	expect "... .raw answers EIO" "Input/output error" "$(t cat "$M/${D}_$k/.raw" 2>&1 | sed 's/.*: //')"
	st=$(t cat "$M/${D}_$k/.status")
	contains "... .status says it is damaged" "state = damaged (" "$st"
	contains "... naming the file" "${D}_$k.schema" "$st"
done
contains "garbage: the reason" "not a stored definition" "$(t cat "$M/${D}_bad/.status")"
contains "too large: the reason" "too large" "$(t cat "$M/${D}_big/.status")"
contains "another size: the reason" "lays out to 24 bytes, the file has 688" "$(t cat "$M/${D}_size/.status")"
expect "... the other instances go on" 77 "$(t cat "$M/$D/data_int")"
check "... and the mount is alive" kill -0 "$FSPID"
stop "$M"
expect "clean unmount" 0 $?

# The usage line, literally, with the installed program: no configuration
# file anywhere needed (unless /etc/ipmmapfs.ini exists on this machine).
if make -s --no-print-directory install B="$B" DESTDIR="$T/stage" PREFIX=/usr/local \
	>"$T/install.log" 2>&1; then
	ok "make install"
	if [ -e /etc/ipmmapfs.ini ]; then
		ok "SKIPPED: /etc/ipmmapfs.ini exists here"
	else
		cd "$APP" || exit 1
		FS_SAVED=$FS
		FS=$T/stage/usr/local/bin/ipmmapfs
		IPMMAPFS_CONFIG='' start "$T/mnt_shared" || nok "installed ipmmapfs MOUNTPOINT"
		FS=$FS_SAVED
		cd "$ROOT" || exit 1
		expect "installed: ipmmapfs /mnt/shared shows the fields" 77 \
			"$(t cat "$T/mnt_shared/$D/data_int")"
		stop "$T/mnt_shared"
	fi
else
	nok "make install: $(cat "$T/install.log")"
fi

# No configuration, and no ./.mmap here: nothing to show, refused.
mkdir -p "$T/empty"
out=$(cd "$T/empty" && IPMMAPFS_CONFIG='' timeout 10 "$FS" -f "$M" 2>&1)
[ $? -ne 0 ] && ok "no configuration and no ./.mmap: not mounted" || nok "... mounted"
contains "... saying which directory" "mmap_dir $T/empty/.mmap (the default: ./.mmap of the working directory): No such file or directory" "$out"
mounted "$M" && nok "... but mounted" || ok "... nothing mounted"

# -o mmap_dir=,lock_dir= from anywhere, over the same files.
start "$M" -o "mmap_dir=$APP/.mmap,lock_dir=$APP/.fasteners" || nok "mount with -o mmap_dir, lock_dir"
expect "-o mmap_dir,lock_dir: reads" 77 "$(t cat "$M/$D/data_int")"
stop "$M"

# A configured schema that differs from the stored definition: refused,
# with the field named; the others still shown by theirs.
sed 's/^x = double/x = float\nx2 = float/' "$SCHEMA" >"$T/other.ini"
printf '[ipmmapfs]\nschema = other.ini\nmmap_dir = app/.mmap\nlock_dir = app/.fasteners\n' >"$T/other_fs.ini"
start "$M" -o config="$T/other_fs.ini" || nok "mount with a different schema"
out=$(t cat "$M/$D/data_int" 2>&1) && nok "a different schema: EIO" ||
	contains "a different schema: EIO" "Input/output error" "$out"
contains "... .status names the field" "data_xy.x is float here, double there" "$(t cat "$M/$D/.status")"
contains "... and the log too" "data_xy.x is float here, double there" "$(cat "$M.log")"
expect "... a Python-made file still shows raw" ".raw .status" \
	"$(t ls -A "$M/PyOnly" | tr '\n' ' ' | sed 's/ $//')"
stop "$M"

# A configured schema without the structure of a listed instance: its
# stored definition serves; none stored stops the start with the reason.
printf '[ipmmapfs]\nmmap_dir = app/.mmap\nlock_dir = app/.fasteners\ninstance = %s:left\n' $D >"$T/listed.ini"
start "$M" -o config="$T/listed.ini" || nok "listed instance, no schema"
expect "a listed instance by its stored definition" 4392 "$(t cat "$M/${D}_left/header/header_code")"
stop "$M"
printf '[ipmmapfs]\nmmap_dir = app/.mmap\nlock_dir = app/.fasteners\ninstance = PyOnly\n' >"$T/listed2.ini"
out=$(timeout 10 "$FS" -f -o config="$T/listed2.ini" "$M" 2>&1)
[ $? -ne 0 ] && ok "a listed instance with no schema and no definition: not mounted" || nok "... mounted"
contains "... saying why" "listed2.ini:4: no structure 'PyOnly' in the schema, and no stored definition" "$out"
finish
