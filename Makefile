# SPDX-License-Identifier: Apache-2.0
# haulgate — one Makefile. Sources are discovered: every src/<module>/*.c except
# src/cmd/ goes into build/libhaulgate.a; every src/cmd/<prog>.c is a program.
# Every tests/unit/<module>/test_*.c and tests/vectors/test_*.c is a cmocka binary;
# tests/integration/test_*.c are cmocka binaries linked with the harness.

.DEFAULT_GOAL := all
SHELL := /bin/bash

CC      ?= cc
PKGS    := openssl libevent libevent_openssl libevent_pthreads jansson yaml-0.1 libcurl sqlite3
TESTPKGS := cmocka

SANITIZE ?= 0
DEBUG    ?= 0
FUZZ     ?= 0

ifeq ($(SANITIZE),1)
  BUILD ?= build/asan
else ifeq ($(FUZZ),1)
  BUILD ?= build/fuzz
  CC := clang
else ifeq ($(DEBUG),1)
  BUILD ?= build/debug
else
  BUILD ?= build/release
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_CFLAGS := $(shell pkg-config --cflags $(TESTPKGS) 2>/dev/null)
TEST_LIBS   := $(shell pkg-config --libs $(TESTPKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wno-unused-parameter -Wstrict-prototypes
HARDEN  := -fstack-protector-strong -fPIE
CPPFLAGS += -D_GNU_SOURCE -Isrc -MMD -MP
CFLAGS  := -std=c11 -pipe $(WARN) $(HARDEN) $(PKG_CFLAGS)
LDFLAGS := -pie -Wl,-z,relro,-z,now
# Debian's libhttp-parser-dev ships no pkg-config file: link it by name.
LDLIBS  := $(PKG_LIBS) -lhttp_parser -lpthread -lm

ifeq ($(SANITIZE),1)
  CFLAGS  += -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
else ifeq ($(DEBUG),1)
  CFLAGS  += -O0 -g3
else ifeq ($(FUZZ),1)
  CFLAGS  += -O1 -g -fsanitize=fuzzer-no-link,address,undefined
  LDFLAGS += -fsanitize=address,undefined
else
  CFLAGS  += -O2 -g
  CPPFLAGS += -D_FORTIFY_SOURCE=3
endif

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
CPPFLAGS += -DHG_VERSION=\"0.1.0\" -DHG_REVISION=\"$(VERSION)\"

LIB_SRCS  := $(filter-out src/cmd/%,$(wildcard src/*/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB       := $(BUILD)/libhaulgate.a
PROGS     := $(patsubst src/cmd/%.c,$(BUILD)/bin/%,$(wildcard src/cmd/*.c))

UNIT_SRCS := $(wildcard tests/unit/*/test_*.c) $(wildcard tests/vectors/test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
HARNESS_SRCS := $(wildcard tests/integration/harness*.c)
HARNESS_OBJS := $(HARNESS_SRCS:%.c=$(BUILD)/%.o)
INT_SRCS  := $(wildcard tests/integration/test_*.c)
INT_BINS  := $(INT_SRCS:%.c=$(BUILD)/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:%.c=$(BUILD)/%)
FUZZ_REPLAY := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=$(BUILD)/tests/fuzz/replay_%)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps run test test-only check bench fuzz clean tests

all: $(PROGS)

tests: $(PROGS) $(UNIT_BINS) $(INT_BINS) $(FUZZ_REPLAY)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/src/cmd/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) $(TEST_CFLAGS) -c $< -o $@

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(LIB)
	$(CC) $(LDFLAGS) $< $(LIB) $(LDLIBS) $(TEST_LIBS) -o $@

$(BUILD)/tests/vectors/%: $(BUILD)/tests/vectors/%.o $(LIB)
	$(CC) $(LDFLAGS) $< $(LIB) $(LDLIBS) $(TEST_LIBS) -o $@

$(BUILD)/tests/integration/test_%: $(BUILD)/tests/integration/test_%.o $(HARNESS_OBJS) $(LIB)
	$(CC) $(LDFLAGS) $< $(HARNESS_OBJS) $(LIB) $(LDLIBS) $(TEST_LIBS) -o $@

# Fuzz targets: under FUZZ=1 real libFuzzer binaries; otherwise a replay driver
# that feeds every file in tests/fuzz/corpus/<name>/ to the target (run by make test).
$(BUILD)/tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/tests/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) tests/fuzz/replay_main.c $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

deps:
	@bash scripts/deps.sh

# The setup contract: `make run` and `make test` install what is missing first.
run: deps
	@echo "building haulgate..."
	@$(MAKE) --no-print-directory -s -j$$(nproc) all
	@bash scripts/run.sh $(BUILD)

test: deps
	@bash scripts/test.sh

# test-only: build and run the suite for one build variant, no deps, no summary of others.
test-only: tests
	@bash scripts/run-tests.sh $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BINS)
	@bash bench/run.sh $(BUILD)

fuzz:
	@$(MAKE) --no-print-directory FUZZ=1 $(FUZZ_BINS:build/release/%=build/fuzz/%)
	@bash scripts/fuzz.sh build/fuzz

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)

print-build:
	@echo $(BUILD)
