# ipmmap - read it in a minute:
#   make            build lib/libipmmap.{a,so}, fs/ipmmapfs, the Python binding in $(B)/python
#   make check      install missing Debian packages, build, run every test
#   make demo       install missing packages, build, run the seed's demo with the mount
#   make install    PREFIX=/usr/local DESTDIR= ; make uninstall ; make clean
#   SANITIZE=1      build and test with AddressSanitizer and UBSan (in build-san/)

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
PKG_CONFIG ?= pkg-config
PYTHON  ?= /usr/bin/python3

# Debian packages the build and the tests need; `make deps` installs the missing ones.
# Besides the Essential ones (coreutils, diffutils, findutils, grep, sed, bash), the
# tests call: awk (mawk), objdump (binutils), groff (groff-base, man page checks),
# pgrep (procps), useradd (passwd), tar and rsync (the mount's everyday tools);
# the Python binding needs python3-dev, its tests pytest, pip and setuptools.
PKGS = build-essential pkg-config libfuse3-dev fuse3 libinih-dev libcmocka-dev python3 python3-fasteners \
	mawk binutils groff-base procps passwd tar rsync \
	python3-dev python3-pytest python3-pip python3-setuptools python3-wheel

VERSION = 0.1.0
SOMAJOR = 0

ifeq ($(SANITIZE),1)
B = build-san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B = build
SANFLAGS =
endif

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers $(SANFLAGS)
CPPFLAGS += -D_GNU_SOURCE -Ilib
LDFLAGS += $(SANFLAGS)

INIH_CFLAGS   = $(shell $(PKG_CONFIG) --cflags inih)
INIH_LIBS     = $(shell $(PKG_CONFIG) --libs inih)
FUSE_CFLAGS   = $(shell $(PKG_CONFIG) --cflags fuse3)
FUSE_LIBS     = $(shell $(PKG_CONFIG) --libs fuse3)
CMOCKA_CFLAGS = $(shell $(PKG_CONFIG) --cflags cmocka)
CMOCKA_LIBS   = $(shell $(PKG_CONFIG) --libs cmocka)

LIB_SRC = $(wildcard lib/*.c)
LIB_OBJ = $(LIB_SRC:%.c=$(B)/%.o)
FS_SRC  = $(wildcard fs/*.c)
FS_OBJ  = $(FS_SRC:%.c=$(B)/%.o)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

LIBA  = $(B)/libipmmap.a
LIBSO = $(B)/libipmmap.so.$(VERSION)
FSBIN = $(B)/ipmmapfs
CLIBIN = $(B)/ipmmap
DEMO_BIN = $(B)/demo_editor $(B)/demo_reader

all: $(LIBA) $(LIBSO) $(FSBIN) $(CLIBIN) $(DEMO_BIN) python

$(B)/lib/%.o: lib/%.c lib/ipmmap.h lib/ipmmap_i.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden $(INIH_CFLAGS) -c -o $@ $<

$(B)/fs/%.o: fs/%.c $(wildcard fs/*.h) lib/ipmmap.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(FUSE_CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	$(AR) rcs $@ $^

$(LIBSO): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libipmmap.so.$(SOMAJOR) $(LDFLAGS) -o $@ $^ $(INIH_LIBS)
	ln -sf libipmmap.so.$(VERSION) $(B)/libipmmap.so.$(SOMAJOR)
	ln -sf libipmmap.so.$(SOMAJOR) $(B)/libipmmap.so

$(FSBIN): $(FS_OBJ) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $(FS_OBJ) $(LIBA) $(INIH_LIBS) $(FUSE_LIBS) -lpthread

CLI_SRC = $(wildcard cli/*.c)

$(CLIBIN): $(CLI_SRC) cli/cli.h lib/ipmmap.h $(LIBA)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(CLI_SRC) $(LIBA) $(INIH_LIBS) $(LDFLAGS)

# The demos are built on the C header generated from the schema: a changed
# schema regenerates it, and its static asserts and fingerprint follow.
$(B)/demo.h: conf/demo.ini $(CLIBIN)
	$(CLIBIN) -s conf/demo.ini header > $@.tmp && mv $@.tmp $@

$(B)/demo_%: demo/demo_%.c $(B)/demo.h lib/ipmmap.h $(LIBA)
	$(CC) $(CPPFLAGS) -I$(B) $(CFLAGS) -o $@ $< $(LIBA) $(INIH_LIBS) $(LDFLAGS)

# The corpus replay includes the fuzz targets.
$(B)/tests/test_fuzz: tests/unit/test_fuzz.c tests/unit/unit.h $(wildcard fuzz/*.c) $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CMOCKA_CFLAGS) -Itests/unit -o $@ $< $(LIBA) $(INIH_LIBS) $(CMOCKA_LIBS) $(LDFLAGS) -lpthread

$(B)/tests/%: tests/unit/%.c tests/unit/unit.h $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CMOCKA_CFLAGS) -Itests/unit -o $@ $< $(LIBA) $(INIH_LIBS) $(CMOCKA_LIBS) $(LDFLAGS) -lpthread

tests: $(UNIT_BIN)

# The Python binding (python/): the package ipmmap with its C extension on
# libipmmap (linked in statically), laid out in $(B)/python so that
# PYTHONPATH=$(B)/python imports it from a checkout. Flags come from the
# PYTHON the tests use (Debian's python3 and python3-dev).
PY_SRC  = $(wildcard python/src/*.c)
PY_MODS = $(shell find python/ipmmap -name '*.py')
PY_EXT  = $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))' 2>/dev/null)
PY_INC  = $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null)
PY_SO   = $(B)/python/ipmmap/_ipmmap$(PY_EXT)
PY_OUT  = $(PY_MODS:python/%=$(B)/python/%)

python: $(PY_SO) $(PY_OUT)

$(PY_SO): $(PY_SRC) python/src/pyipm.h lib/ipmmap.h $(LIBA)
	@mkdir -p $(@D)
	@test -f "$(PY_INC)/Python.h" || { echo "no Python.h for $(PYTHON): make deps installs python3-dev"; exit 1; }
	$(CC) $(CPPFLAGS) -isystem $(PY_INC) $(CFLAGS) -fPIC -fvisibility=hidden -shared -o $@ \
	  $(PY_SRC) $(LIBA) $(INIH_LIBS) $(LDFLAGS) -lpthread

$(B)/python/%.py: python/%.py
	@mkdir -p $(@D)
	cp $< $@

# Where Debian's python3 looks: /usr/lib/python3/dist-packages for PREFIX=/usr,
# <PREFIX>/lib/python3.X/dist-packages otherwise (/usr/local by default).
PY_VER  = $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
PYDIR  ?= $(if $(filter /usr,$(PREFIX)),$(PREFIX)/lib/python3/dist-packages,$(PREFIX)/lib/python$(PY_VER)/dist-packages)

install-python: python
	cd $(B)/python && find ipmmap -name '*.py' -o -name '*.so' | while read f; do \
	  install -D -m 644 "$$f" "$(DESTDIR)$(PYDIR)/$$f" || exit 1; done

uninstall-python:
	rm -rf $(DESTDIR)$(PYDIR)/ipmmap

.PHONY: python install-python uninstall-python

# The test command of the README: packages first, then a fresh make that sees them.
check: deps
	$(MAKE) --no-print-directory run-tests

run-tests: all tests
	B=$(B) PYTHON=$(PYTHON) sh tests/run.sh

# The run command of the README: the seed's demo with the mount (Ctrl-C stops it).
demo: deps
	$(MAKE) --no-print-directory all
	B=$(B) sh demo/run.sh

deps:
	@missing=; for p in $(PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(B)/ipmmap.pc: lib/ipmmap.pc.in
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

BINDIR = $(DESTDIR)$(PREFIX)/bin
LIBDIR = $(DESTDIR)$(PREFIX)/lib
INCDIR = $(DESTDIR)$(PREFIX)/include
PCDIR  = $(LIBDIR)/pkgconfig
MANDIR = $(DESTDIR)$(PREFIX)/share/man
ETCDIR = $(DESTDIR)$(PREFIX)/share/ipmmap
COMPDIR = $(DESTDIR)$(PREFIX)/share/bash-completion/completions

install: all $(B)/ipmmap.pc install-python
	install -d $(BINDIR) $(LIBDIR) $(INCDIR) $(PCDIR) $(MANDIR)/man1 $(MANDIR)/man3 $(MANDIR)/man8 $(ETCDIR) $(COMPDIR)
	install -m 755 $(FSBIN) $(CLIBIN) $(BINDIR)
	install -m 644 $(LIBA) $(LIBDIR)
	install -m 755 $(LIBSO) $(LIBDIR)
	ln -sf libipmmap.so.$(VERSION) $(LIBDIR)/libipmmap.so.$(SOMAJOR)
	ln -sf libipmmap.so.$(SOMAJOR) $(LIBDIR)/libipmmap.so
	install -m 644 lib/ipmmap.h $(INCDIR)
	install -m 644 $(B)/ipmmap.pc $(PCDIR)
	install -m 644 man/ipmmap.1 $(MANDIR)/man1
	install -m 644 man/ipmmap.3 $(MANDIR)/man3
	install -m 644 man/ipmmapfs.8 $(MANDIR)/man8
	install -m 644 conf/demo.ini conf/ipmmapfs.ini $(ETCDIR)
	install -m 644 cli/ipmmap.bash $(COMPDIR)/ipmmap

uninstall: uninstall-python
	rm -f $(BINDIR)/ipmmapfs $(BINDIR)/ipmmap $(LIBDIR)/libipmmap.a \
	  $(LIBDIR)/libipmmap.so $(LIBDIR)/libipmmap.so.$(SOMAJOR) $(LIBDIR)/libipmmap.so.$(VERSION) \
	  $(INCDIR)/ipmmap.h $(PCDIR)/ipmmap.pc $(MANDIR)/man1/ipmmap.1 $(MANDIR)/man3/ipmmap.3 \
	  $(MANDIR)/man8/ipmmapfs.8 $(ETCDIR)/demo.ini $(ETCDIR)/ipmmapfs.ini $(COMPDIR)/ipmmap
	-rmdir $(ETCDIR) 2>/dev/null

clean:
	rm -rf build build-san build-fuzz

# `make bench`: figures against the floor and the peers (bench/run.sh mounts
# in a temporary directory and always unmounts); writes bench/RESULTS.md.
BENCH_BIN = $(B)/bench/bench $(B)/bench/floorfs

$(B)/bench/bench: bench/bench.c lib/ipmmap.h $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIBA) $(INIH_LIBS) $(LDFLAGS) -lpthread

$(B)/bench/floorfs: bench/floorfs.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(FUSE_CFLAGS) -o $@ $< $(FUSE_LIBS) $(LDFLAGS) -lpthread

bench: all $(BENCH_BIN)
	B=$(B) PYTHON=$(PYTHON) sh bench/run.sh

.PHONY: bench

.PHONY: all tests check run-tests demo deps install uninstall clean

# `make fuzz`: libFuzzer targets (clang) for the schema loader, text values
# and dotted paths, each run for FUZZ_SECONDS from its seed corpus in
# fuzz/corpus/ (which tests/unit/test_fuzz.c replays in `make check`); what
# they learn goes to build-fuzz/corpus/, what they find to build-fuzz/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = schema text path values
FUZZ_CC ?= clang
FUZZ_BIN = $(FUZZ_TARGETS:%=build-fuzz/fuzz_%)

build-fuzz/fuzz_%: fuzz/fuzz_%.c $(LIB_SRC) lib/ipmmap.h lib/ipmmap_i.h
	@mkdir -p $(@D)
	$(FUZZ_CC) -g -O1 -std=gnu11 $(CPPFLAGS) -Wall -Wextra -Werror \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $(INIH_CFLAGS) \
	  -o $@ $< $(LIB_SRC) $(INIH_LIBS) -lpthread

fuzz: $(FUZZ_BIN)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus/$$t && echo "fuzz_$$t: $(FUZZ_SECONDS) s" && \
	  build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=build-fuzz/$$t- \
	    build-fuzz/corpus/$$t fuzz/corpus/$$t || exit 1; \
	done

.PHONY: fuzz

# `make soak`: writers and readers (library and mount) on one instance for
# SOAK_SECONDS: no torn read, no error, the mount's memory flat. Not part of
# `make check`.
SOAK_SECONDS ?= 60
$(B)/soak: tests/soak.c lib/ipmmap.h $(LIBA)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIBA) $(INIH_LIBS) $(LDFLAGS) -lpthread

soak: $(FSBIN) $(B)/soak
	B=$(B) SOAK_SECONDS=$(SOAK_SECONDS) sh tests/soak.sh

.PHONY: soak
