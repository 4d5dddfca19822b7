# ipmmap - read it in a minute:
#   make            build lib/libipmmap.{a,so}, fs/ipmmapfs
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
PKGS = build-essential pkg-config libfuse3-dev fuse3 libinih-dev libcmocka-dev python3 python3-fasteners

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

all: $(LIBA) $(LIBSO) $(FSBIN)

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

$(B)/tests/%: tests/unit/%.c tests/unit/unit.h $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CMOCKA_CFLAGS) -Itests/unit -o $@ $< $(LIBA) $(INIH_LIBS) $(CMOCKA_LIBS) $(LDFLAGS) -lpthread

tests: $(UNIT_BIN)

# The test command of the README: packages first, then a fresh make that sees them.
check: deps
	$(MAKE) --no-print-directory run-tests

run-tests: all tests
	B=$(B) PYTHON=$(PYTHON) sh tests/run.sh

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

clean:
	rm -rf build build-san

.PHONY: all tests check run-tests deps clean
