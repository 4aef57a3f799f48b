# Plexus: one build for the libraries, the plugins, the tests, the demo and the benchmarks.
# `make` builds bin/; `make check` runs every test; `make deps` installs what all of it needs.

CC        ?= gcc
BUILD     ?= build
SAN       ?=
PKGS      := libcjson libnl-3.0 libnl-route-3.0 libnl-genl-3.0 yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)

WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
CFLAGS    ?= -O2 -g
ifeq ($(SAN),fuzz)
CFLAGS    := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
endif
ifeq ($(SAN),1)
CFLAGS    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS   += -fsanitize=address,undefined
endif
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -I. $(PKG_CFLAGS) -MMD -MP

# Everything but the mains is one static library, so unit tests reach every module.
LIB_SRC   := $(wildcard cni/*.c delegates/*.c k8s/*.c) $(filter-out meta/main.c,$(wildcard meta/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB       := $(BUILD)/libplexus.a

# A binary exists once its main.c does.
BINS      := $(if $(wildcard meta/main.c),bin/plexus) $(if $(wildcard sriov/main.c),bin/sriov)
META_OBJ  := $(BUILD)/meta/main.o
SRIOV_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard sriov/*.c))

UNIT_SRC  := $(wildcard test/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/unit/%)
TOOL_SRC  := $(wildcard test/tools/*.c)
TOOL_BIN  := $(TOOL_SRC:test/tools/%.c=$(BUILD)/test/tools/%)

.PHONY: all check unit unit-asan integration hwtest deps lint clean demo bench tools noop fuzz valgrind
all: $(BINS) $(LIB) $(TOOL_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

bin/plexus: $(META_OBJ) $(LIB)
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

bin/sriov: $(SRIOV_OBJ) $(LIB)
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lpci

$(BUILD)/test/unit/%: $(BUILD)/test/unit/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) $(CHECK_LIBS)

# The sriov suites test the plugin's own modules: link them (all but main) and libpci too.
SRIOV_MOD_OBJ := $(filter-out $(BUILD)/sriov/main.o,$(SRIOV_OBJ))
$(BUILD)/test/unit/test_sriov_%: $(BUILD)/test/unit/test_sriov_%.o $(SRIOV_MOD_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(SRIOV_MOD_OBJ) $(LIB) $(PKG_LIBS) -lpci $(CHECK_LIBS)

$(BUILD)/test/unit/%.o: test/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -c -o $@ $<

$(BUILD)/test/tools/%: $(BUILD)/test/tools/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

tools: $(TOOL_BIN)

# The CNI project's reference noop test plugin and a driver over the real libcni, both built
# offline from Debian's golang-github-appc-cni-dev sources (GOPATH mode).
GOENV := GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$(CURDIR)/$(BUILD)/gocache GOFLAGS=
noop: $(BUILD)/noop $(BUILD)/libcni-driver
$(BUILD)/noop:
	@mkdir -p $(BUILD)/gocache
	$(GOENV) go build -o $@ github.com/containernetworking/cni/plugins/test/noop
$(BUILD)/libcni-driver: test/compat/libcni-driver.go
	@mkdir -p $(BUILD)/gocache
	$(GOENV) go build -o $@ $<

# libFuzzer harnesses (clang, ASan+UBSan), one per parser: `make fuzz FUZZ_SECONDS=N`.
FUZZ_SRC  := $(wildcard test/fuzz/fuzz_*.c)
build-fuzz/test/fuzz/%: build-fuzz/test/fuzz/%.o build-fuzz/libplexus.a
	$(CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS)

fuzz:
	$(MAKE) BUILD=build-fuzz SAN=fuzz CC=clang $(FUZZ_SRC:test/fuzz/%.c=build-fuzz/test/fuzz/%)
	test/fuzz/run

unit: $(UNIT_BIN)
	test/run-unit $(BUILD)

unit-asan:
	$(MAKE) BUILD=build-asan SAN=1 build-asan/libplexus.a $(UNIT_SRC:test/unit/%.c=build-asan/test/unit/%)
	CK_FORK=no ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		test/run-unit build-asan

integration: all noop
	test/run-integration

# The hardware lane: a QEMU guest with an emulated 82576 (docs/HARDWARE.md); fails if it cannot run.
hwtest: all
	HW_REQUIRE=1 test/hw/run

# The integration suites with the product binaries under valgrind memcheck.
MEMCHECK_CMD := valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
valgrind: all noop
	MEMCHECK="$(MEMCHECK_CMD)" test/run-integration test/integration/plexus.sh

check: deps
	$(MAKE) all noop $(UNIT_BIN)
	test/run-all

deps:
	scripts/deps

lint:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
		--suppress=missingIncludeSystem -I. $$(git ls-files '*.c')
	clang-tidy --quiet $$(git ls-files 'cni/*.c' 'delegates/*.c' 'meta/*.c' 'sriov/*.c') -- \
		$(ALL_CFLAGS)

demo: deps
	$(MAKE) all noop
	scripts/demo

bench: all
	scripts/bench

clean:
	rm -rf build build-asan build-fuzz bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
