# Plexus: one build for the libraries, the plugins, the tests, the demo and the benchmarks.
# `make` builds bin/; `make check` runs every test; `make deps` installs what all of it needs.

CC        ?= gcc
BUILD     ?= build
SAN       ?=
PKGS      := libcjson libnl-3.0 libnl-route-3.0 libnl-genl-3.0 yaml-0.1 libprotobuf-c
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# libmicrohttpd serves plexusd's socket: the daemon links it, bin/plexus and bin/sriov never do.
MHD_CFLAGS := $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)
MHD_LIBS   := $(shell pkg-config --libs libmicrohttpd 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)

WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2
CFLAGS    ?= -O2 -g
ifeq ($(SAN),fuzz)
CFLAGS    := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
endif
ifeq ($(SAN),1)
CFLAGS    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS   += -fsanitize=address,undefined
endif
ifeq ($(SAN),thread)
CFLAGS    := -O1 -g -fno-omit-frame-pointer -fsanitize=thread
LDFLAGS   += -fsanitize=thread
endif
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -I. -I$(BUILD)/gen $(PKG_CFLAGS) -MMD -MP

# Everything but the mains is one static library, so unit tests reach every module: the
# plugin's core (meta/) and the operator commands bin/plexus also runs (ops/); ops/main.c is
# bin/plexus's entry point, which chooses between them.
LIB_SRC   := $(wildcard cni/*.c delegates/*.c k8s/*.c meta/*.c) $(filter-out ops/main.c,$(wildcard ops/*.c))
# protobuf-c code generated at build time from the .proto files (kubelet's pod-resources API).
PROTO_SRC := $(wildcard k8s/*.proto)
GEN_OBJ   := $(PROTO_SRC:%.proto=$(BUILD)/gen/%.pb-c.o)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o) $(GEN_OBJ)
LIB       := $(BUILD)/libplexus.a

# A binary exists once its main.c does.
BINS      := $(if $(wildcard ops/main.c),bin/plexus) $(if $(wildcard sriov/main.c),bin/sriov) \
	     $(if $(wildcard shim/main.c),bin/plexus-shim) \
	     $(if $(wildcard daemon/main.c),bin/plexusd)
META_OBJ  := $(BUILD)/ops/main.o
SRIOV_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard sriov/*.c))
DAEMON_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard daemon/*.c))

UNIT_SRC  := $(wildcard test/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/unit/%)
TOOL_SRC  := $(wildcard test/tools/*.c)
TOOL_BIN  := $(TOOL_SRC:test/tools/%.c=$(BUILD)/test/tools/%)
# LD_PRELOAD fault injectors for the integration tests (test/preload/*.c)
PRELOAD_SO := $(patsubst test/preload/%.c,$(BUILD)/test/preload/%.so,$(wildcard test/preload/*.c))

# A recipe that fails removes the target it was making: a dist binary whose strip failed, say,
# would otherwise be taken as made by the next `make dist`.
.DELETE_ON_ERROR:

.PHONY: all check test-bins unit unit-asan integration-asan daemon-tsan integration hwtest deps lint layers clean demo bench tools noop fuzz valgrind cri-image
all: $(BINS) $(BUILD)/glibc/plexus $(LIB) $(TOOL_BIN) $(PRELOAD_SO) cri-image

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: %.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=. --c_out=$(BUILD)/gen $<

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# A module that includes a generated header needs it before it compiles; keep what is generated.
$(BUILD)/k8s/podresources.o: $(BUILD)/gen/k8s/podresources.pb-c.h
.SECONDARY: $(GEN_OBJ:%.o=%.c) $(GEN_OBJ:%.o=%.h)

# Made afresh each time: `ar r` would keep the object of a module that no longer exists.
$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

# cJSON has no .a in Debian: CJSON_A is built from Debian's own source of the installed
# libcjson-dev (scripts/deb-source fetches it through apt, once), so what is linked is the
# cJSON, Debian's patches included, whose headers everything compiles against.
CJSON_SRC := build/deb-src/cjson
CJSON_A   := $(BUILD)/cjson/libcjson.a
$(CJSON_SRC)/cJSON.c: $(shell pkg-config --variable=includedir libcjson 2>/dev/null)/cjson/cJSON.h
	scripts/deb-source build/deb-src cjson:libcjson-dev
	@test -f $@ || { echo "make: Debian's cjson source has no cJSON.c" >&2; exit 1; }
	@touch $@
$(BUILD)/cjson/cJSON.o: $(CJSON_SRC)/cJSON.c
	@mkdir -p $(dir $@)
	$(CC) -std=c89 $(CFLAGS) -c -o $@ $<
$(CJSON_A): $(BUILD)/cjson/cJSON.o
	rm -f $@
	$(AR) rcs $@ $^

# The plugins start on every CNI call: every library with a Debian .a, and cJSON, is linked
# statically (STATIC_LIBS, below), which takes a quarter of a millisecond off each start
# (make bench). bin/plexus goes further (below): static against musl, as the shim is. This
# glibc build of it is what valgrind runs (memcheck cannot follow a static binary's malloc).
$(BUILD)/glibc/plexus: $(META_OBJ) $(LIB) $(CJSON_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $(META_OBJ) $(LIB) $(STATIC_LIBS)

bin/sriov: $(SRIOV_OBJ) $(LIB) $(CJSON_A)
	@mkdir -p bin
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $(SRIOV_OBJ) $(LIB) $(STATIC_LIBS)

# plexus-shim runs on every call in thick mode: it must start like an empty process and stay
# small. Its own objects and the few cni/ modules it uses are compiled against musl (Debian's
# musl-tools) and linked statically with cJSON, as a position-independent executable: no
# dynamic loader, no library to map or relocate, no debug info, about 135 KiB (glibc, static,
# is 1 MiB). Debian's musl-gcc has no spec for -static-pie, so the link names musl's start
# files itself (rcrt1.o relocates the executable before main).
MUSL_CC   := musl-gcc
MUSL_DIR  := /usr/lib/$(shell gcc -dumpmachine | sed 's/-gnu$$/-musl/')
MUSL      := $(BUILD)/musl
MUSL_SYSROOT := build/musl-sysroot
SHIM_OBJ  := $(patsubst %.c,$(MUSL)/%.o,$(wildcard shim/*.c)) \
	     $(patsubst %,$(MUSL)/cni/%.o,addr base64 buf err json log result skel spec) \
	     $(MUSL)/cjson/cJSON.o
SHIM_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -fPIE -ffunction-sections -fdata-sections \
	       -I. -I$(MUSL)/include -MMD -MP
$(MUSL)/include/cjson/cJSON.h: $(CJSON_SRC)/cJSON.c
	@command -v $(MUSL_CC) >/dev/null || { echo "make: no $(MUSL_CC): make deps installs musl-tools" >&2; exit 1; }
	@mkdir -p $(dir $@)
	cp $(CJSON_SRC)/cJSON.h $@
$(MUSL)/cjson/cJSON.o: $(CJSON_SRC)/cJSON.c $(MUSL)/include/cjson/cJSON.h
	@mkdir -p $(dir $@)
	$(MUSL_CC) -std=c89 -O2 -g -fPIE -ffunction-sections -fdata-sections -c -o $@ $<
$(MUSL)/%.o: %.c $(MUSL)/include/cjson/cJSON.h
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(SHIM_CFLAGS) -c -o $@ $<
bin/plexus-shim: $(SHIM_OBJ)
	@mkdir -p bin
	gcc -nostdlib -nostartfiles -static-pie -Wl,--gc-sections -Wl,--strip-debug -o $@ \
	    $(MUSL_DIR)/rcrt1.o $(MUSL_DIR)/crti.o $$(gcc -print-file-name=crtbeginS.o) \
	    $(SHIM_OBJ) -L$(MUSL_DIR) -lc $$(gcc -print-libgcc-file-name) \
	    $$(gcc -print-file-name=crtendS.o) $(MUSL_DIR)/crtn.o

# bin/plexus, the plugin the runtime execs on every call in thin mode: static against musl
# too. A glibc process starts in about 0.45 ms more here, most of it glibc's probing of the CPU
# (cpuid, which a hypervisor traps) and the dynamic loader; see docs/OPERATIONS.md. Its libraries
# are Debian's sources of the versions the glibc build links, built for musl once by
# scripts/musl-libs into MUSL_SYSROOT (about two minutes), libcurl among them: linked in, not
# dlopen'd (K8S_CURL_STATIC in k8s/curl.c), so the binary needs nothing from the node. Not
# position-independent, like the Go plugins it stands beside (Debian's bridge, Multus's and
# sriov-cni's release binaries): as a static-pie, its start relocates OpenSSL's and libcurl's
# tables (19,000 relocations over 100 pages of data), 0.27 ms more per call here (make bench).
MUSL_LIBS := -Wl,--start-group -lcurl -lnghttp2 -lssl -lcrypto -lnl-route-3 -lnl-genl-3 -lnl-3 \
	     -lyaml -lprotobuf-c -Wl,--end-group
$(MUSL_SYSROOT)/.versions: scripts/musl-libs scripts/deb-source /var/lib/dpkg/status
	scripts/musl-libs build/deb-src $(MUSL_SYSROOT)
PLEXUS_MUSL_OBJ := $(patsubst %.c,$(MUSL)/%.o,$(LIB_SRC) ops/main.c) \
	$(patsubst %.proto,$(MUSL)/gen/%.pb-c.o,$(PROTO_SRC)) $(MUSL)/cjson/cJSON.o
$(PLEXUS_MUSL_OBJ): SHIM_CFLAGS += -I$(MUSL_SYSROOT)/include -I$(MUSL_SYSROOT)/include/libnl3 \
	-I$(MUSL)/gen -DK8S_CURL_STATIC
$(PLEXUS_MUSL_OBJ): | $(MUSL_SYSROOT)/.versions
$(MUSL)/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c $(MUSL)/include/cjson/cJSON.h
	@mkdir -p $(dir $@) $(MUSL)/gen/$(dir $*)
	cp $(BUILD)/gen/$*.pb-c.h $(MUSL)/gen/$*.pb-c.h
	$(MUSL_CC) $(SHIM_CFLAGS) -c -o $@ $<
$(MUSL)/k8s/podresources.o: $(MUSL)/gen/k8s/podresources.pb-c.o
bin/plexus: $(PLEXUS_MUSL_OBJ) $(MUSL_SYSROOT)/.versions
	@mkdir -p bin
	gcc -nostdlib -nostartfiles -static -no-pie -Wl,--gc-sections -o $@ \
	    $(MUSL_DIR)/crt1.o $(MUSL_DIR)/crti.o $$(gcc -print-file-name=crtbegin.o) \
	    $(PLEXUS_MUSL_OBJ) -L$(MUSL_SYSROOT)/lib $(MUSL_LIBS) -L$(MUSL_DIR) -lc \
	    $$(gcc -print-libgcc-file-name) $$(gcc -print-file-name=crtend.o) $(MUSL_DIR)/crtn.o

$(BUILD)/daemon/%.o: ALL_CFLAGS += $(MHD_CFLAGS)
DAEMON_LINK = $(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(MHD_LIBS) -lpthread -ldl
bin/plexusd: $(DAEMON_OBJ) $(LIB)
	@mkdir -p bin
	$(DAEMON_LINK)

# bin/plexus, plexusd and plexus-shim as test builds (`make BUILD=build-asan SAN=1 ...`, run by
# `make integration-asan` and `make daemon-tsan`): the shim with glibc here, as musl has no
# sanitizers, and every library dynamic; what they run is the same code.
$(BUILD)/san/plexus: $(META_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -ldl
$(BUILD)/san/plexusd: $(DAEMON_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(DAEMON_LINK)
$(BUILD)/san/plexus-shim: $(patsubst %.c,$(BUILD)/%.o,$(wildcard shim/*.c)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/test/unit/%: $(BUILD)/test/unit/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) $(CHECK_LIBS)

# The sriov suites test the plugin's own modules: link them (all but main) and libpci too.
SRIOV_MOD_OBJ := $(filter-out $(BUILD)/sriov/main.o,$(SRIOV_OBJ))
$(BUILD)/test/unit/test_sriov_%: $(BUILD)/test/unit/test_sriov_%.o $(SRIOV_MOD_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(SRIOV_MOD_OBJ) $(LIB) $(PKG_LIBS) -lpci $(CHECK_LIBS)

# plexusd's suite links its parsers and queue (not the server: no libmicrohttpd in unit tests).
DAEMON_MOD_OBJ := $(BUILD)/daemon/config.o $(BUILD)/daemon/request.o $(BUILD)/daemon/queue.o
$(BUILD)/test/unit/test_daemon: $(BUILD)/test/unit/test_daemon.o $(DAEMON_MOD_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(DAEMON_MOD_OBJ) $(LIB) $(PKG_LIBS) $(CHECK_LIBS) -lpthread

$(BUILD)/test/unit/%.o: test/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -c -o $@ $<

$(BUILD)/test/tools/%: $(BUILD)/test/tools/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

tools: $(TOOL_BIN)

# plain flags, no sanitizer: a preloaded library cannot come before the sanitizer's runtime
$(BUILD)/test/preload/%.so: test/preload/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -shared -fPIC -o $@ $< -ldl

# plexusd's metrics (daemon/metrics.c) in its suite and in the tool that serves it to
# test/integration/metrics.sh: the one daemon module that needs libmicrohttpd in a test.
METRICS_OBJ  := $(BUILD)/daemon/metrics.o $(BUILD)/daemon/caches.o $(BUILD)/daemon/config.o
METRICS_LIBS := $(shell pkg-config --libs libmicrohttpd 2>/dev/null) -lpthread -lm
$(BUILD)/test/unit/test_daemon_metrics: $(BUILD)/test/unit/test_daemon_metrics.o $(METRICS_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(METRICS_OBJ) $(LIB) $(PKG_LIBS) $(METRICS_LIBS) $(CHECK_LIBS)
$(BUILD)/test/tools/metrics-serve: $(BUILD)/test/tools/metrics-serve.o $(METRICS_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(METRICS_OBJ) $(LIB) $(PKG_LIBS) $(METRICS_LIBS)

# test_delegates_invoke runs the recorder tool of its own build as a real plugin.
$(BUILD)/test/unit/test_delegates_invoke: | $(BUILD)/test/tools/recorder

# The CRI lane's sandbox image (test/integration/cri.sh): a static pause program packed as an OCI
# image layout tar, since no registry can be reached; plain flags, as it runs in no sanitizer.
CRI_IMAGE_NAME := localhost/plexus/pause:test
cri-image: $(BUILD)/test/cri/pause.tar
$(BUILD)/test/cri/pause: test/cri/pause.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -Os -s -static -o $@ $<
$(BUILD)/test/cri/pause.tar: $(BUILD)/test/cri/pause test/cri/oci-pack.py
	/usr/bin/python3 test/cri/oci-pack.py $< $(CRI_IMAGE_NAME) $@

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
# The sriov harnesses also link the plugin's own modules (all but main) and libpci.
FUZZ_SRIOV_OBJ := $(filter-out build-fuzz/sriov/main.o,$(patsubst %.c,build-fuzz/%.o,$(wildcard sriov/*.c)))
build-fuzz/test/fuzz/fuzz_sriov_%: build-fuzz/test/fuzz/fuzz_sriov_%.o $(FUZZ_SRIOV_OBJ) build-fuzz/libplexus.a
	$(CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS) -lpci

# The daemon's harness links its parsers (request and config), never the server or libmicrohttpd.
FUZZ_DAEMON_OBJ := build-fuzz/daemon/request.o build-fuzz/daemon/config.o
build-fuzz/test/fuzz/fuzz_daemon_%: build-fuzz/test/fuzz/fuzz_daemon_%.o $(FUZZ_DAEMON_OBJ) build-fuzz/libplexus.a
	$(CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS)
# The shim's harness links its reply reader (shim/http.c), built as the fuzz build builds all.
build-fuzz/test/fuzz/fuzz_shim_%: build-fuzz/test/fuzz/fuzz_shim_%.o build-fuzz/shim/http.o build-fuzz/libplexus.a
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

# The integration suites with the product binaries under valgrind memcheck. Its reports go to
# files (a plugin's stderr is part of what the tests check); any error or leak fails the call
# (exit 99) and the reports with errors are printed. The two suites run one after the other:
# side by side on two CPUs, a kube.sh call under memcheck failed in one run of three, with no
# memcheck report (a deadline, most likely; the plugin's error object was not kept then, and
# is now printed under the FAIL line: `kept` in test/lib.sh).
MEMCHECK_CMD := valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
	--log-file=$(CURDIR)/build/valgrind/vg.%p.log
valgrind: all noop
	rm -rf build/valgrind && mkdir -p build/valgrind
	PLEXUS=$(CURDIR)/$(BUILD)/glibc/plexus MEMCHECK="$(MEMCHECK_CMD)" \
		test/run-integration test/integration/plexus.sh \
		test/integration/kube.sh; rc=$$?; \
	for f in build/valgrind/*.log; do \
		grep -qE 'ERROR SUMMARY: [1-9]|definitely lost|Invalid|uninitialised' "$$f" && cat "$$f"; \
	done; \
	echo "valgrind: $$(ls build/valgrind | wc -l) plexus runs under memcheck"; exit $$rc

# The suites that run plexusd, plexus-shim and bin/plexus on the paths valgrind's two do not
# (thick mode, hot-plug, DRA, migration, faults, the operator commands) with the three built with
# ASan+UBSan (LeakSanitizer at exit), and the suites where plexusd's threads meet most (the queue
# and the drain, hot-plug's reconciler) with plexusd built with ThreadSanitizer: any report fails
# the step, whatever the tests said (test/run-sanitized).
ASAN_SUITES := $(addprefix test/integration/,thick.sh cache.sh hotplug.sh shim.sh dra.sh migrate.sh \
	       faults.sh cli.sh devices.sh)
TSAN_SUITES := $(addprefix test/integration/,thick.sh hotplug.sh)
integration-asan: all noop
	$(MAKE) BUILD=build-asan SAN=1 build-asan/san/plexus build-asan/san/plexusd \
		build-asan/san/plexus-shim
	PLEXUS=$(CURDIR)/build-asan/san/plexus PLEXUSD=$(CURDIR)/build-asan/san/plexusd \
	SHIM=$(CURDIR)/build-asan/san/plexus-shim \
		test/run-sanitized integration-asan build/asan $(ASAN_SUITES)
daemon-tsan: all noop
	$(MAKE) BUILD=build-tsan SAN=thread build-tsan/san/plexusd
	PLEXUSD=$(CURDIR)/build-tsan/san/plexusd test/run-sanitized daemon-tsan build/tsan $(TSAN_SUITES)

# Everything the steps of `make check` run; test/run-all builds it before its first step (it runs
# steps side by side, and two makes in one build directory would race).
test-bins: all noop $(UNIT_BIN)
	$(MAKE) BUILD=build-asan SAN=1 build-asan/libplexus.a $(UNIT_SRC:test/unit/%.c=build-asan/test/unit/%) \
		build-asan/san/plexus build-asan/san/plexusd build-asan/san/plexus-shim
	$(MAKE) BUILD=build-tsan SAN=thread build-tsan/san/plexusd
	$(MAKE) BUILD=build-fuzz SAN=fuzz CC=clang $(FUZZ_SRC:test/fuzz/%.c=build-fuzz/test/fuzz/%)

check: deps
	test/run-all

deps:
	scripts/deps

# clang-format, cppcheck and clang-tidy (over the product folders scripts/layers places), and
# the test names docs/TESTS.md cites; ends with "lint: N passed, N failed", one per check.
# clang-tidy needs the generated headers.
lint: $(GEN_OBJ:%.o=%.h)
	scripts/lint -- $(ALL_CFLAGS)

# The include layers (docs/DESIGN.md): fails naming file:line when a folder includes one it may not.
layers:
	scripts/layers

demo: deps
	$(MAKE) all noop
	scripts/demo

bench: all
	scripts/bench

# Binaries that run on a node without libnl, cJSON, libcurl, libpci or libyaml, in $(DIST):
# plexus and plexus-shim are static against musl (above) and need nothing of the node. For
# sriov and plexusd, every library with a Debian .a (libnl, libyaml), and cJSON (CJSON_A), is
# linked statically; the others (libpci, libmicrohttpd) and libcurl (plexusd dlopen()s it as
# libcurl.so.4) are copied with their dependency closure into $(DIST)/plexus-lib, found through
# DT_RPATH $$ORIGIN/plexus-lib. DT_RPATH, not RUNPATH: it also serves the dependencies of the
# dlopen()ed libcurl. glibc stays the node's.
DIST        := $(BUILD)/dist
DIST_LIBDIR := plexus-lib
# The dist binaries ship stripped; their symbols and DWARF go to $(DIST_DEBUG)/FILE.debug,
# which a debugger finds by the build ID both carry (installed as
# /usr/lib/debug/.build-id/xx/yyyy.debug) or by the name in the binary's .gnu_debuglink.
DIST_DEBUG  := $(BUILD)/dist-debug
define split_debug
	@mkdir -p $(DIST_DEBUG)
	objcopy --only-keep-debug $(1) $(DIST_DEBUG)/$(notdir $(1)).debug
	objcopy --strip-all --add-gnu-debuglink=$(DIST_DEBUG)/$(notdir $(1)).debug $(1)
endef
DIST_LDFLAGS = -Wl,--disable-new-dtags -Wl,-rpath,'$$ORIGIN/$(DIST_LIBDIR)' -Wl,--as-needed
STATIC_LIBS  = -Wl,--start-group $(CJSON_A) \
	$(foreach l,$(patsubst -l%,%,$(filter-out -lcjson,$(filter -l%,$(PKG_LIBS) -lpci))),$(if \
	$(findstring /,$(shell $(CC) -print-file-name=lib$(l).a)),-l:lib$(l).a,-l$(l))) \
	-Wl,--end-group -lpthread -lm -ldl
DIST_LIBS    = $(STATIC_LIBS)
# glibc's own libraries: never bundled (they must match the node's libc.so.6)
DIST_GLIBC  := ^(libc|libm|libdl|libpthread|librt|libresolv|libutil|libanl|libmvec|libBrokenLocale|libnss_[a-z]+|ld-linux[-a-z0-9_]*)\.so

.PHONY: dist image
DIST_BINS   := $(DIST)/plexus $(DIST)/sriov $(DIST)/plexus-shim $(DIST)/plexusd
# the ones linked against the node's glibc
DIST_DYN    := $(DIST)/sriov $(DIST)/plexusd
# each binary's debug file comes out of the same recipe (a grouped target): one missing is
# made again with its binary
DIST_DEBUGS := $(DIST_BINS:$(DIST)/%=$(DIST_DEBUG)/%.debug)
dist: $(DIST_BINS) $(DIST_DEBUGS)
	@set -e; lib=$(DIST)/$(DIST_LIBDIR); rm -rf "$$lib" "$$lib.new"; mkdir -p "$$lib.new"; \
	curl=$$($(CC) -print-file-name=libcurl.so.4); \
	[ -f "$$curl" ] || { echo "make dist: no libcurl.so.4 (scripts/deps installs libcurl4)" >&2; exit 1; }; \
	deps=$$(ldd $(DIST_DYN) "$$curl"); \
	if echo "$$deps" | grep -q 'not found'; then echo "$$deps" >&2; exit 1; fi; \
	cp -L "$$curl" "$$lib.new/libcurl.so.4"; \
	echo "$$deps" | awk '$$2 == "=>" && $$3 ~ /^\// {print $$1, $$3}' | sort -u | \
	while read -r name path; do \
		echo "$$name" | grep -Eq '$(DIST_GLIBC)' || cp -L "$$path" "$$lib.new/$$name"; \
	done; \
	chmod 0644 "$$lib.new"/*; mv "$$lib.new" "$$lib"; \
	echo "$(DIST): $(notdir $(DIST_BINS)) $(DIST_LIBDIR)/{$$(cd "$$lib" && ls | tr '\n' ' ' | sed 's/ $$//; s/ /,/g')}"

# static (musl, above): needs nothing of the node, not even its libc; bin/plexus as it is
$(DIST)/plexus $(DIST_DEBUG)/plexus.debug &: bin/plexus
	@mkdir -p $(DIST)
	cp $< $(DIST)/plexus
	$(call split_debug,$(DIST)/plexus)

$(DIST)/sriov $(DIST_DEBUG)/sriov.debug &: $(SRIOV_OBJ) $(LIB) $(CJSON_A)
	@mkdir -p $(DIST)
	$(CC) $(LDFLAGS) $(DIST_LDFLAGS) -o $(DIST)/sriov $(SRIOV_OBJ) $(LIB) $(DIST_LIBS)
	$(call split_debug,$(DIST)/sriov)

# static (musl, above): needs nothing of the node, not even its libc
$(DIST)/plexus-shim $(DIST_DEBUG)/plexus-shim.debug &: bin/plexus-shim
	@mkdir -p $(DIST)
	cp $< $(DIST)/plexus-shim
	$(call split_debug,$(DIST)/plexus-shim)

# plexusd (deploy/thick/daemonset.yaml): libmicrohttpd and its TLS stack have no usable .a
# closure on Debian, so it is bundled in plexus-lib/
$(DIST)/plexusd $(DIST_DEBUG)/plexusd.debug &: $(DAEMON_OBJ) $(LIB)
	@mkdir -p $(DIST)
	$(CC) $(LDFLAGS) $(DIST_LDFLAGS) -o $(DIST)/plexusd $^ $(DIST_LIBS) $(MHD_LIBS)
	$(call split_debug,$(DIST)/plexusd)

# The DaemonSet's image (deploy/daemonset.yaml), FROM scratch: the dist tree in
# /usr/libexec/plexus, plus the glibc files it needs, assembled in $(BUILD)/image/rootfs.
# Built with podman; nothing is pulled.
PLEXUS_IMAGE_VERSION := $(shell sed -n 's/^\#define PLEXUS_VERSION "\(.*\)"/\1/p' meta/version.h)
IMAGE ?= localhost/plexus:$(PLEXUS_IMAGE_VERSION)
image: dist
	@set -e; ctx=$(BUILD)/image; r=$$ctx/rootfs; rm -rf "$$ctx"; \
	mkdir -p "$$r/usr/libexec/plexus" "$$r/tmp"; chmod 1777 "$$r/tmp"; \
	cp -a $(DIST_BINS) $(DIST)/$(DIST_LIBDIR) "$$r/usr/libexec/plexus/"; \
	interp=$$(readelf -l $(DIST)/plexusd | sed -n 's/.*interpreter: \(.*\)]/\1/p'); \
	mkdir -p "$$r$$(dirname "$$interp")"; cp -L "$$interp" "$$r$$interp"; \
	for f in $(DIST_DYN) $(DIST)/$(DIST_LIBDIR)/*; do \
		LD_LIBRARY_PATH=$(DIST)/$(DIST_LIBDIR) ldd "$$f"; \
	done | awk '$$2 == "=>" && $$3 ~ /^\// {print $$1, $$3}' | sort -u | \
	while read -r name path; do \
		case "$$path" in */$(DIST_LIBDIR)/*) continue;; esac; \
		mkdir -p "$$r$$(dirname "$$path")"; cp -L "$$path" "$$r$$path"; \
	done; \
	podman build --pull=never -q -f $(CURDIR)/Containerfile -t $(IMAGE) "$$ctx" >/dev/null; \
	echo "image $(IMAGE): $$(du -sh "$$r" | cut -f1) ($$(cd "$$r" && find . -type f | wc -l) files)"

clean:
	rm -rf build build-asan build-fuzz bin

-include $(shell find $(BUILD) \( -path build/deb-src -o -path $(MUSL_SYSROOT) \) -prune -o -name '*.d' -print 2>/dev/null)
