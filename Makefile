# SPDX-License-Identifier: GPL-2.0
#
# gupbench: page-pinning refcount schemes under contention.
#
# Targets:
#   make, make all     build build/gupbench (installs nothing)
#   make test          install missing deps, build normal and ASan+UBSan
#                      trees, run every test; ends with
#                      "N passed, N failed, N skipped"
#   make bench         install missing deps, run the default sweep sized to
#                      this machine into results/HOST-DATE/ (QUICK=1: small)
#   make plot          plots of the newest results (RESULTS=dir to choose)
#   make compare       review-mail table of two runs: A=dir B=dir
#   make torture       60 s of gupbench torture per scheme (DURATION=SEC)
#   make tsan          torture under ThreadSanitizer (OPS=N per scheme)
#   make walkcost      one 1-page pin vs its raw grab+put per scheme, alone:
#                      ns/op (median of ROUNDS=5 paired runs of NS_LOOPS
#                      ops) and (with valgrind) instructions/op
#   make deps          install what is missing (scripts/install-deps.sh)
#   make tests-build   build every test binary and gupbench tree, run none
#   make clean         remove build/
#   make help          print this text
#
# Variables:
#   V=1                print full commands instead of "  CC file.o"
#   QUICK=1            make bench: the small matrix (seconds; QUICK=0: full)
#   REPS=N             make bench: separate launches per configuration
#                      (3; 2 with QUICK=1)
#   DURATION=SEC       make bench: measured window per configuration;
#                      make torture: seconds per scheme
#   WARMUP=SEC         make bench: minimum warm-up per configuration
#   RESULTS_DIR=dir    make bench: write into dir (new or empty), not
#                      results/HOST-DATE
#   GUPBENCH=path      make bench: the gupbench binary (build/gupbench)
#   RESULTS=dir        make plot: the results folder to draw
#   A=dir B=dir        make compare: the two runs
#   OPS=N              make tsan: operations per scheme (100k)
#   ROUNDS=N NS_LOOPS=N LOOPS=N
#                      make walkcost: paired pin/raw runs per scheme (5),
#                      ops per timed run (2*10^7), callgrind ops (10^6)
#   TEST_FILTER=glob   make test: run only tests whose name matches
#   TEST_CASE=text     make test: run only cases whose name contains it
#   TEST_TIMEOUT=SEC   make test: limit per test binary or script (900)
#   TORTURE_OPS=N TORTURE_SEED=N TSAN_OPS=N GUPBENCH_STRESS_MS=N
#                      make test: torture, TSan and stress sizes (README)
#   CC, CXX, OPT       compilers and optimisation level (-O2)
#   CFLAGS, CXXFLAGS, LDFLAGS
#                      added after the project's own flags
#   PKG_CONFIG         pkg-config to find libperf, libpfm, hwloc, benchmark

CC	?= gcc
CXX	?= g++
OPT	?= -O2
PKG_CONFIG ?= pkg-config

ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-7s %s\n' '$(1)' '$(2)'
endif

WARN	:= -Wall -Wextra -Werror -Wno-unused-parameter
CPPFLAGS := -Ischemes -Ibench -D_GNU_SOURCE -MMD -MP
CFLAGS_BASE := -std=gnu11 $(OPT) -g $(WARN) -pthread -fno-strict-aliasing
CXXFLAGS_BASE := -std=gnu++17 $(OPT) -g $(WARN) -pthread
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer

PERF_CFLAGS = $(shell $(PKG_CONFIG) --cflags libperf 2>/dev/null)
PERF_LIBS = $(shell $(PKG_CONFIG) --libs libperf 2>/dev/null || echo -lperf)
LIBS	= -lhwloc -lpfm $(PERF_LIBS) -lbenchmark -lpthread -lm

GUPBENCH_VERSION := $(shell git describe --always --dirty --tags 2>/dev/null || echo unknown)

SCHEME_SRC := $(sort $(wildcard schemes/*.c))
BENCH_SRC  := $(sort $(filter-out bench/main.c,$(wildcard bench/*.c)))
BENCH_CXX  := $(wildcard bench/*.cc)
TEST_SRC   := $(sort $(wildcard tests/test_*.c))
LIB_SRC    := $(SCHEME_SRC) $(BENCH_SRC)

# Rewritten only when `git describe` changes (a commit, a dirty tree),
# so that the gupbench_version in every result is the tree's.
build/version.stamp: FORCE
	@mkdir -p build
	@[ "$$(cat $@ 2>/dev/null)" = '$(GUPBENCH_VERSION)' ] || \
		echo '$(GUPBENCH_VERSION)' >$@

FORCE:

# Two trees: build/obj (normal) and build/san (ASan+UBSan).
define tree
$(1)_LIBOBJ := $$(patsubst %.c,build/$(1)/%.o,$$(LIB_SRC)) \
	       $$(patsubst %.cc,build/$(1)/%.o,$$(BENCH_CXX))
$(1)_TESTS  := $$(patsubst tests/%.c,build/$(1)/tests/%,$$(TEST_SRC))

build/$(1)/%.o: %.c
	@mkdir -p $$(@D)
	$$(call say,CC,$$@)
	$$(Q)$$(CC) $$(CPPFLAGS) $$(PERF_CFLAGS) $$(CFLAGS_BASE) $(2) \
		-DGUPBENCH_VERSION='"$$(GUPBENCH_VERSION)"' $$(CFLAGS) -c $$< -o $$@

build/$(1)/%.o: %.cc
	@mkdir -p $$(@D)
	$$(call say,CXX,$$@)
	$$(Q)$$(CXX) $$(CPPFLAGS) $$(CXXFLAGS_BASE) $(2) $$(CXXFLAGS) -c $$< -o $$@

build/$(1)/libgupbench.a: $$($(1)_LIBOBJ)
	$$(call say,AR,$$@)
	$$(Q)rm -f $$@ && ar rcs $$@ $$^

build/$(1)/tests/%: build/$(1)/tests/%.o build/$(1)/libgupbench.a
	$$(call say,LD,$$@)
	$$(Q)$$(CXX) $(2) -pthread -o $$@ $$< build/$(1)/libgupbench.a $$(LIBS) $$(LDFLAGS)

# the version string is compiled into main.o: rebuilt when it changes
build/$(1)/bench/main.o: build/version.stamp

build/$(1)/gupbench: build/$(1)/bench/main.o build/$(1)/libgupbench.a
	$$(call say,LD,$$@)
	$$(Q)$$(CXX) $(2) -pthread -o $$@ $$^ $$(LIBS) $$(LDFLAGS)
endef

$(eval $(call tree,obj,))
$(eval $(call tree,san,$(SANFLAGS)))
# build/mut: the model with its deliberately broken variants (GUP_MUTANTS),
# for torture's self-test; build/tsan: ThreadSanitizer, for `make tsan`.
$(eval $(call tree,mut,-DGUP_MUTANTS))
$(eval $(call tree,tsan,-fsanitize=thread -O1 -Wno-tsan))

.PHONY: all test bench plot compare deps clean help tests-build FORCE \
	torture tsan walkcost
.DEFAULT_GOAL := all

all: build/gupbench

build/gupbench: build/obj/gupbench
	$(Q)ln -sf obj/gupbench $@

# scripts/walkcost.c: a scheme's timed pin or raw loop alone (make walkcost)
build/obj/walkcost: build/obj/scripts/walkcost.o build/obj/libgupbench.a
	$(call say,LD,$@)
	$(Q)$(CXX) -pthread -o $@ $^ $(LIBS) $(LDFLAGS)

deps:
	$(Q)scripts/install-deps.sh

tests-build: build/gupbench build/san/gupbench build/mut/gupbench \
	     build/tsan/gupbench build/obj/walkcost $(obj_TESTS) $(san_TESTS)

test: deps
	$(Q)$(MAKE) --no-print-directory tests-build
	$(Q)TEST_FILTER='$(TEST_FILTER)' tests/run.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)QUICK='$(QUICK)' REPS='$(REPS)' DURATION='$(DURATION)' \
		WARMUP='$(WARMUP)' scripts/bench.sh

plot: deps
	$(Q)scripts/plot.sh '$(RESULTS)'

compare:
	$(Q)test -n '$(A)' -a -n '$(B)' || { echo 'usage: make compare A=dir B=dir' >&2; exit 2; }
	$(Q)scripts/install-deps.sh
	$(Q)plot/gupbench-compare '$(A)' '$(B)'

torture: all
	$(Q)build/gupbench torture --duration=$(or $(DURATION),60)

walkcost: all build/obj/walkcost
	$(Q)scripts/instr-per-op.sh

tsan: deps
	$(Q)$(MAKE) --no-print-directory build/tsan/gupbench
	$(Q)TSAN_OPTIONS='halt_on_error=1 exitcode=66' build/tsan/gupbench \
		torture --ops=$(or $(OPS),100k)

clean:
	$(call say,CLEAN,build)
	$(Q)rm -rf build

help:
	@sed -n '3,/^$$/s/^# \{0,1\}//p' Makefile

-include $(shell find build -name '*.d' 2>/dev/null)
