#!/bin/sh
# 04_install.sh - `make install DESTDIR=...` stages everything a distribution
# packages; a program compiled with `pkg-config --cflags --libs ipmmap`
# against the staged tree links (shared and static) and runs; uninstall
# removes every file.
set -u
B=${B:-build}
top=$(pwd)
# Programs linked with a sanitized library need the sanitizers' runtime too.
san=
case $B in *san*) san="-fsanitize=address,undefined" ;; esac
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fails=0
ok() { echo "ok - $1"; }
no() { echo "not ok - $1"; fails=$((fails + 1)); }

make -s --no-print-directory install B="$B" DESTDIR="$t/stage" PREFIX=/usr/local >"$t/install.log" 2>&1 \
	&& ok "make install DESTDIR" || no "make install: $(cat "$t/install.log")"
p="$t/stage/usr/local"
for f in bin/ipmmapfs bin/ipmmap lib/libipmmap.a lib/libipmmap.so lib/libipmmap.so.0 \
	lib/libipmmap.so.0.1.0 include/ipmmap.h lib/pkgconfig/ipmmap.pc \
	share/man/man1/ipmmap.1 share/man/man3/ipmmap.3 share/man/man8/ipmmapfs.8 \
	share/ipmmap/demo.ini share/ipmmap/ipmmapfs.ini share/bash-completion/completions/ipmmap \
	bin/ipmmap-bridge share/man/man8/ipmmap-bridge.8; do
	[ -e "$p/$f" ] || no "installed $f"
done
[ "$fails" -eq 0 ] && ok "every file installed"
soname=$(objdump -p "$p/lib/libipmmap.so.0.1.0" 2>/dev/null | awk '/SONAME/ {print $2}')
[ "$soname" = libipmmap.so.0 ] && ok "soname libipmmap.so.0" || no "soname '$soname'"
# groff comes with make deps (groff-base): the check always runs.
for m in man1/ipmmap.1 man3/ipmmap.3 man8/ipmmapfs.8 man8/ipmmap-bridge.8; do
	w=$(groff -man -Tutf8 -ww -z "$p/share/man/$m" 2>&1)
	[ -z "$w" ] && ok "$m renders without warnings" || no "$m: $w"
done

cat > "$t/prog.c" <<'C'
#include <ipmmap.h>
#include <stdio.h>
int main(void)
{
	ipm_schema *s = ipm_schema_new();
	int rc = ipm_schema_load_string(s, "[P]\nx = int32\n", "inline");
	printf("%zu %s\n", ipm_type_size(ipm_schema_find(s, "P")), IPM_VERSION);
	ipm_schema_free(s);
	return rc != 0;
}
C
export PKG_CONFIG_SYSROOT_DIR="$t/stage" PKG_CONFIG_PATH="$p/lib/pkgconfig"
flags=$(pkg-config --cflags --libs ipmmap) || no "pkg-config finds ipmmap"
if cc $san -o "$t/prog" "$t/prog.c" $flags 2>"$t/cc.log"; then
	out=$(LD_LIBRARY_PATH="$p/lib" "$t/prog")
	[ "$out" = "4 0.1.0" ] && ok "program linked with pkg-config runs" || no "program printed '$out'"
else
	no "compile with pkg-config: $(cat "$t/cc.log")"
fi
if cc $san -o "$t/prog_static" "$t/prog.c" $(pkg-config --cflags ipmmap) "$p/lib/libipmmap.a" \
	$(pkg-config --static --libs ipmmap | sed 's/-lipmmap//') 2>"$t/cc.log"; then
	[ "$("$t/prog_static")" = "4 0.1.0" ] && ok "static link runs" || no "static link output"
else
	no "static link: $(cat "$t/cc.log")"
fi
make -s --no-print-directory uninstall B="$B" DESTDIR="$t/stage" PREFIX=/usr/local >/dev/null 2>&1
left=$(find "$t/stage" -type f -o -type l | wc -l)
[ "$left" -eq 0 ] && ok "uninstall removes every file" || no "uninstall left: $(find "$t/stage" -type f -o -type l)"
[ "$fails" -eq 0 ]
