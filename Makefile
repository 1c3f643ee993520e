# greenapi: build, test and demo. GNU make.
#
#   make test           everything (what CI runs: .ci/run)
#   make lib            target/release/libgreenapi.{so,a}
#   make install        PREFIX=/usr/local [DESTDIR=...]: libraries (soname), headers, greenapi.pc
#   make uninstall      removes what make install put under PREFIX
#   make test-install   installs into a scratch prefix; builds with pkg-config, CMake, static
#   make header         regenerate include/greenapi.h
#   make test-c         C/C++ tests with ASan+UBSan against the stand-in server
#   make test-valgrind  the same C tests without sanitizers, under valgrind
#   make test-python    bash bindings/python/run-tests.sh
#   make venv           bash bindings/python/run-tests.sh --install-only (module into .venv)
#   make fuzz           each fuzz target (fuzz/) for FUZZ_SECONDS (60) s; not part of make test
#   make sanitize       stress, client and batch tests under ThreadSanitizer (std rebuilt: slow)
#   make test-miri      the FFI tests that need no network (src/ffi/boundary_tests.rs) under Miri
#   make bench          GetAvatar clients side by side on loopback (docs/BENCHMARKS.md, docs/bench.png),
#                       batches at 0 to 3 s of latency (docs/latency.png), and a deployment at the
#                       limit (docs/deployment.png); BENCH_ONLY=loopback|latency|scale|deployment
#   make demo           the C and Python examples, the command line, the pictures downloaded
#                       (real service if GREEN_API_* are set)
#   make docs           API reference into build/docs/ (rustdoc, Doxygen, pdoc; index.html)
#   make docs-check     make docs, warnings as errors (in make test)
#   make check-crate    cargo package --list holds what it should; cargo publish --dry-run (in make test)
#   make wheels         release wheels into build/wheels/: manylinux2014 and musllinux_1_2 x86_64 abi3
#   make test-wheels    the manylinux2014 wheel alone in a fresh venv, through test_wheel.py
#   make sdist          maturin sdist into build/sdist/, twine check
#   make test-sdist     the sdist built by pip in a fresh venv and run (test_sdist.py)
#   make check-cinstall cargo cinstall and make install into two prefixes, compared file by file
#   make clean

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := lib
.DELETE_ON_ERROR:

ifeq ($(origin CC),default)
CC := cc
endif
ifeq ($(origin CXX),default)
CXX := c++
endif
PYTHON ?= python3
VALGRIND ?= valgrind

BUILD := build
LIB_A := target/release/libgreenapi.a
LIB_SO := target/release/libgreenapi.so
# What the Rust static library needs (cargo rustc -- --print native-static-libs).
LDLIBS := -lpthread -ldl -lm -lrt -lutil -lgcc_s

CWARN := -std=c99 -Wall -Wextra -Werror -pedantic -g
CSTD := $(CWARN) -Iinclude
CXXSTD := -std=c++11 -Wall -Wextra -Werror -pedantic -Iinclude -g
# The C++ wrapper, include/greenapi.hpp, is C++17.
CXX17STD := -std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude -g
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer

C_TESTS := $(sort $(basename $(notdir $(wildcard tests/c/test_*.c))))
# Programs built against a frozen old header in tests/c/frozen/ (never include/): they stand for
# callers compiled against an older greenapi.h and linked to this library.
FROZEN_TESTS := $(sort $(basename $(notdir $(wildcard tests/c/frozen/test_*.c))))
C_HEADERS := $(wildcard tests/c/*.h) include/greenapi.h
FROZEN_HEADERS := $(wildcard tests/c/frozen/*.h tests/c/frozen/*.inc)
CPP_TESTS := $(sort $(basename $(notdir $(wildcard tests/cpp/test_*.cpp))))

# Host pacing (the default) shares a client's rate with every client of its instance on the
# machine, through a file in this directory: the tests get one of their own, so that no other
# process paces them (and tests that must pace alone ask for "process").
export GREENAPI_RUNTIME_DIR := $(CURDIR)/$(BUILD)/pacing
$(shell mkdir -p $(BUILD))

export ASAN_OPTIONS := detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS := halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS := suppressions=$(CURDIR)/tests/c/lsan.supp:print_suppressions=0
VALGRIND_FLAGS := --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
	--show-leak-kinds=definite,indirect,possible --track-origins=yes --trace-children=no \
	--suppressions=$(CURDIR)/tests/c/valgrind.supp --quiet

# Chat ids the demo asks the stand-in for.
DEMO_IDS := 79001234567@c.us 79001234567 120363043968066561@g.us 120650379300963@lid \
	hidden@lid badchat@c.us

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all lib header test test-rust test-c test-valgrind test-python venv bench demo clean \
	rust-tools valgrind-tool c-asan c-plain readme-example demo-c install-lib install uninstall \
	test-install install-tools fuzz nightly-tools sanitize test-miri test-stress-valgrind \
	docs docs-check check-crate wheels test-wheels sdist test-sdist check-cinstall

all: lib

# cargo runs every time (it knows what changed in the Rust); what links the libraries is
# remade only when cargo changed them: the empty recipe makes make look at their times again.
lib:
	cargo build --release

$(LIB_A) $(LIB_SO): lib ;

header:
	GA_UPDATE_HEADER=1 cargo test --features _header --test header

# ---- the one test command --------------------------------------------------------------------

test:
	$(MAKE) --no-print-directory test-rust
	$(MAKE) --no-print-directory test-miri
	$(MAKE) --no-print-directory test-c
	$(MAKE) --no-print-directory test-valgrind
	$(MAKE) --no-print-directory test-install
	$(MAKE) --no-print-directory test-stress-valgrind
	$(MAKE) --no-print-directory test-python
	$(MAKE) --no-print-directory docs-check
	$(MAKE) --no-print-directory check-crate
	@echo "make test: all passed"

test-rust: rust-tools
	cargo fmt --check
	cargo clippy --all-targets --all-features -- -D warnings
	cargo test --all-features

rust-tools:
	@cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
	@# tests/dns.rs makes a network namespace with ip(8); tests/tls.rs runs openssl s_server;
	@# tests/redis.rs (and the Python Redis pacing test) start redis-server.
	@command -v ip >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1 && \
		command -v redis-server >/dev/null 2>&1 || { \
		echo "installing iproute2, openssl and redis-server"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq iproute2 openssl \
			redis-server </dev/null; }

valgrind-tool:
	@command -v $(VALGRIND) >/dev/null 2>&1 || { \
		echo "installing valgrind"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq valgrind </dev/null; }

# ---- fuzzing -----------------------------------------------------------------------------------

# Each target starts from its own corpus (fuzz/corpus/, not committed) and the committed one
# (tests/fuzz-corpus/, which make test replays); a finding is written to fuzz/artifacts/ and
# fails the run: check it in under tests/fuzz-corpus/<target>/ with a name that says what it is.
FUZZ_TARGETS := decoder options c_chat_id
FUZZ_SECONDS ?= 60
fuzz: nightly-tools
	@command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$t; \
		echo "=== fuzz $$t ($(FUZZ_SECONDS) s)"; \
		cargo +nightly fuzz run -O $$t fuzz/corpus/$$t tests/fuzz-corpus/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -timeout=30 -print_final_stats=1 || exit 1; \
	done

# ---- sanitizers and Miri -----------------------------------------------------------------------

HOST := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
HOST_ENV := $(shell echo '$(HOST)' | tr 'a-z-' 'A-Z_')

# Miri checks every pointer the C functions read or write against its allocation, and leaks.
# Isolation off: the client reads the clock and its process id.
test-miri: nightly-tools
	MIRIFLAGS=-Zmiri-disable-isolation cargo +nightly miri test --target-dir target/miri --lib ffi::

# ThreadSanitizer needs std rebuilt with it (-Zbuild-std), in a target dir of its own. Fewer
# stress calls (it runs 5 to 15 times slower). The batch test that counts requests per second
# of arrival at the server is skipped: under this slowdown arrivals bunch up.
# The fork test is skipped: ThreadSanitizer cannot start threads in a child forked from a
# process with threads (the child's client needs some), and dies there by design.
sanitize: nightly-tools
	RUSTFLAGS=-Zsanitizer=thread TSAN_OPTIONS=halt_on_error=1 GA_STRESS_CALLS=200 GA_STRESS_TIMEOUT_MS=10000 \
		cargo +nightly test -Zbuild-std --target $(HOST) --target-dir target/tsan \
		--test stress --test client --test batch --test dispatch --test dispatch_threads \
		-- --test-threads=1 \
		--skip pacing_spaces_a_batch_and_single_calls_together \
		--skip a_batch_inherited_across_fork_ends_at_once_in_the_child
	$(MAKE) --no-print-directory test-miri

# The stress test (60 calls a thread) under valgrind. Only definite and indirect leaks count:
# the test's own server threads are still running at exit, and their stacks show as
# "possibly lost".
test-stress-valgrind: valgrind-tool
	GA_STRESS_CALLS=60 GA_STRESS_TIMEOUT_MS=10000 \
	CARGO_TARGET_$(HOST_ENV)_RUNNER="$(VALGRIND) --error-exitcode=1 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
		--suppressions=$(CURDIR)/tests/c/valgrind.supp --quiet" \
		cargo test --test stress -- --test-threads=1

nightly-tools:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@rustup +nightly component list --installed | grep -q '^rust-src' || \
		rustup +nightly component add rust-src
	@rustup +nightly component list --installed | grep -q '^miri' || rustup +nightly component add miri

# ---- C and C++ ---------------------------------------------------------------------------------

# Every C and C++ test program is built twice, with sanitizers (build/asan/) and plain for
# valgrind (build/plain/), by the same rules: only what changed (its source, a header, the
# library) is rebuilt. MODE_FLAGS is what the build adds.
$(BUILD)/asan/%: MODE_FLAGS := $(SAN)
$(BUILD)/plain/%: MODE_FLAGS :=

$(BUILD) $(BUILD)/asan $(BUILD)/plain:
	mkdir -p $@

define test_rules
$(BUILD)/$(1)/test_%: tests/c/test_%.c $(C_HEADERS) $(LIB_A) | $(BUILD)/$(1)
	$$(CC) $$(CSTD) $$(MODE_FLAGS) -Itests/c $$< $$(LIB_A) $$(LDLIBS) -o $$@

$(BUILD)/$(1)/test_%: tests/c/frozen/test_%.c $(FROZEN_HEADERS) $(LIB_A) | $(BUILD)/$(1)
	$$(CC) $$(CWARN) $$(MODE_FLAGS) -Itests/c/frozen $$< $$(LIB_A) $$(LDLIBS) -o $$@

$(BUILD)/$(1)/test_%: tests/cpp/test_%.cpp include/greenapi.hpp $(C_HEADERS) $(LIB_A) | $(BUILD)/$(1)
	$$(CXX) $$(CXX17STD) $$(MODE_FLAGS) -pthread $$< $$(LIB_A) $$(LDLIBS) -o $$@

$(BUILD)/$(1)/cpp_double_include: tests/c/cpp_double_include.cpp include/greenapi.hpp \
		$(C_HEADERS) $(LIB_A) | $(BUILD)/$(1)
	$$(CXX) $$(CXXSTD) $$(MODE_FLAGS) $$< $$(LIB_A) $$(LDLIBS) -o $$@

$(BUILD)/$(1)/readme_%: $(BUILD)/readme_%.c $(LIB_A) | $(BUILD)/$(1)
	$$(CC) $$(CSTD) $$(MODE_FLAGS) $$< $$(LIB_A) $$(LDLIBS) -o $$@

$(BUILD)/$(1)/readme_%: $(BUILD)/readme_%.cpp include/greenapi.hpp $(LIB_A) | $(BUILD)/$(1)
	$$(CXX) $$(CXX17STD) $$(MODE_FLAGS) -pthread $$< $$(LIB_A) $$(LDLIBS) -o $$@
endef
$(eval $(call test_rules,asan))
$(eval $(call test_rules,plain))

# test_null_args again, linked to the shared library.
$(BUILD)/asan/test_null_args_shared: tests/c/test_null_args.c $(C_HEADERS) $(LIB_SO) | $(BUILD)/asan
	$(CC) $(CSTD) $(SAN) -Itests/c $< -Ltarget/release -lgreenapi \
		-Wl,-rpath,'$$ORIGIN/../../target/release' -o $@

ASAN_TESTS := $(C_TESTS) $(FROZEN_TESTS) cpp_double_include $(CPP_TESTS) test_null_args_shared
PLAIN_TESTS := $(C_TESTS) $(FROZEN_TESTS) cpp_double_include

# Sanitizer builds: every tests/c/test_*.c, the frozen-header ones, the C++ tests; then the
# checks that are not programs: the C++14 refusal and the library's exports.
c-asan: lib $(addprefix $(BUILD)/asan/,$(ASAN_TESTS))
	@# Before C++17 the wrapper must say so, not fail somewhere inside <optional>.
	@! echo '#include "greenapi.hpp"' | $(CXX) -std=c++14 -Iinclude -x c++ -fsyntax-only - \
		2>$(BUILD)/asan/cxx14.err
	grep -q 'greenapi.hpp needs C++17' $(BUILD)/asan/cxx14.err
	scripts/check-exports.sh include/greenapi.h $(LIB_SO)

# Plain builds for valgrind (no sanitizers).
c-plain: lib $(addprefix $(BUILD)/plain/,$(PLAIN_TESTS))

# The C examples of README.md, between <!-- example-c --> and <!-- /example-c --> (one call)
# and <!-- example-c-batch --> and <!-- /example-c-batch --> (a batch): extracted, compiled with
# the strict flags (with sanitizers / plain) and run against the stand-in with
# GREEN_API_ID_INSTANCE, GREEN_API_TOKEN and GREEN_API_URL set and no arguments; must exit 0.
# The C++ one, <!-- example-cpp -->, the same way with the C++17 flags.
README_EXAMPLES := readme_example readme_batch readme_cpp readme_download readme_download_cpp \
	readme_observe readme_observe_cpp
EXTRACT := scripts/extract-readme-example.sh README.md

$(BUILD)/readme_example.c: README.md | $(BUILD)
	$(EXTRACT) $@ example-c
$(BUILD)/readme_batch.c: README.md | $(BUILD)
	$(EXTRACT) $@ example-c-batch
$(BUILD)/readme_cpp.cpp: README.md | $(BUILD)
	$(EXTRACT) $@ example-cpp
# "Downloading the pictures": run with the CDN stand-in too (run-c-tests.sh: *download*).
$(BUILD)/readme_download.c: README.md | $(BUILD)
	$(EXTRACT) $@ example-c-download
$(BUILD)/readme_download_cpp.cpp: README.md | $(BUILD)
	$(EXTRACT) $@ example-cpp-download
$(BUILD)/readme_observe.c: README.md | $(BUILD)
	$(EXTRACT) $@ example-c-observe
$(BUILD)/readme_observe_cpp.cpp: README.md | $(BUILD)
	$(EXTRACT) $@ example-cpp-observe

readme-example: lib $(foreach m,asan plain,$(addprefix $(BUILD)/$(m)/,$(README_EXAMPLES)))

# Every test runs (each with its own stand-in) even after a failure; the README example last.
test-c: c-asan
	@status=0; \
	scripts/run-c-tests.sh $(addprefix $(BUILD)/asan/,$(ASAN_TESTS)) || status=1; \
	{ $(MAKE) --no-print-directory readme-example && \
	  scripts/run-c-tests.sh $(addprefix $(BUILD)/asan/,$(README_EXAMPLES)); } || status=1; \
	[ $$status = 0 ] && echo "test-c: all passed" || echo "test-c: FAILED (see above)" >&2; \
	exit $$status

test-valgrind: valgrind-tool c-plain
	@status=0; \
	scripts/run-c-tests.sh --wrap "$(VALGRIND) $(VALGRIND_FLAGS)" \
		$(addprefix $(BUILD)/plain/,$(PLAIN_TESTS)) || status=1; \
	{ $(MAKE) --no-print-directory readme-example && \
	  scripts/run-c-tests.sh --wrap "$(VALGRIND) $(VALGRIND_FLAGS)" \
		$(addprefix $(BUILD)/plain/,$(README_EXAMPLES)); \
	} || status=1; \
	[ $$status = 0 ] && echo "test-valgrind: all passed" || echo "test-valgrind: FAILED (see above)" >&2; \
	exit $$status

# ---- install ----------------------------------------------------------------------------------

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
VERSION := $(shell sed -n 's/^version = "\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
# The soname carries the ABI version: the crate's major version (cargo-c's
# version_suffix_components = 1 in Cargo.toml gives the same name).
SOVERSION := $(firstword $(subst ., ,$(VERSION)))
SONAME := libgreenapi.so.$(SOVERSION)
# Built for an explicit --target so that it lands in target/$(HOST)/release: the soname never
# reaches target/release/libgreenapi.so, which programs link with an rpath to that directory
# (and without a libgreenapi.so.$(SOVERSION) beside it they would not start).
INSTALL_BUILD := target/$(HOST)/release
NATIVE_STATIC_LIBS := $(CURDIR)/$(INSTALL_BUILD)/native-static-libs

install-lib:
	cargo rustc --release --lib --target $(HOST) --crate-type cdylib --crate-type staticlib -- \
		-C link-arg=-Wl,-soname,$(SONAME) --print native-static-libs=$(NATIVE_STATIC_LIBS)

# Libs.private is what rustc says the static library needs, but the unwinder: rustc names
# -lgcc_s, which a fully static link (cc -static) cannot find. The compiler driver adds the
# right one itself (libgcc_s for a dynamic program, libgcc_eh for -static).
install: install-lib
	@test -s $(NATIVE_STATIC_LIBS) || { echo "make install: $(NATIVE_STATIC_LIBS) is missing;" \
		"run cargo clean --release --target $(HOST) -p greenapi and try again" >&2; exit 1; }
	install -d "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(INCLUDEDIR)" "$(DESTDIR)$(PKGCONFIGDIR)"
	install -m 755 $(INSTALL_BUILD)/libgreenapi.so "$(DESTDIR)$(LIBDIR)/libgreenapi.so.$(VERSION)"
	ln -sfn libgreenapi.so.$(VERSION) "$(DESTDIR)$(LIBDIR)/$(SONAME)"
	ln -sfn $(SONAME) "$(DESTDIR)$(LIBDIR)/libgreenapi.so"
	install -m 644 $(INSTALL_BUILD)/libgreenapi.a "$(DESTDIR)$(LIBDIR)/libgreenapi.a"
	install -m 644 include/greenapi.h include/greenapi.hpp "$(DESTDIR)$(INCLUDEDIR)/"
	sed -e 's|@PREFIX@|$(PREFIX)|' \
		-e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
		-e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
		-e 's|@VERSION@|$(VERSION)|' \
		-e "s|@LIBS_PRIVATE@|$$(sed 's/ *-lgcc_s\b//' $(NATIVE_STATIC_LIBS))|" \
		greenapi.pc.in >"$(DESTDIR)$(PKGCONFIGDIR)/greenapi.pc"
	chmod 644 "$(DESTDIR)$(PKGCONFIGDIR)/greenapi.pc"

uninstall:
	rm -f "$(DESTDIR)$(LIBDIR)/libgreenapi.so.$(VERSION)" "$(DESTDIR)$(LIBDIR)/$(SONAME)" \
		"$(DESTDIR)$(LIBDIR)/libgreenapi.so" "$(DESTDIR)$(LIBDIR)/libgreenapi.a" \
		"$(DESTDIR)$(INCLUDEDIR)/greenapi.h" "$(DESTDIR)$(INCLUDEDIR)/greenapi.hpp" \
		"$(DESTDIR)$(PKGCONFIGDIR)/greenapi.pc"

# CMake and pkg-config from Debian's packages, as valgrind-tool does for valgrind.
install-tools:
	@command -v cmake >/dev/null 2>&1 && command -v pkg-config >/dev/null 2>&1 || { \
		echo "installing cmake and pkg-config"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq cmake pkgconf </dev/null; }

# make install into a scratch prefix, then programs built out of tree against it: pkg-config,
# CMake, a static link, C++; each run against the stand-in.
test-install: install-tools
	scripts/test-install.sh

# ---- Python ------------------------------------------------------------------------------------

# The module is its own cargo package (bindings/python/Cargo.toml) built in
# bindings/python/target, so the C library in target/release is never replaced by the
# python-feature build (which needs libpython's symbols). The suite includes a real
# `pip install ./bindings/python` into a scratch venv (marked slow).
test-python:
	bash bindings/python/run-tests.sh

# Builds the module into .venv without running the tests.
venv:
	bash bindings/python/run-tests.sh --install-only

# The C API, the Python module and the clients people use instead, against nginx on loopback,
# next to a hand-written HTTP exchange; installs what it needs (bench/run.sh). Timing, not a
# test: never part of `make test`. `cargo bench --bench loopback` is the quick Rust-only look.
bench:
	bash bench/run.sh

# ---- release: reference, crate, wheels, sdist ---------------------------------------------------

# The reference of whatever the API is: every warning of rustdoc, Doxygen and pdoc is an error.
docs: venv
	scripts/build-docs.sh

docs-check: docs

# What `cargo publish` would upload (Cargo.toml's include list), then its own verification: the
# packaged crate alone builds. --allow-dirty: the checks run on a working tree too. Cargo's
# notes that each [[test]] and [[bench]] is left out (their files are not packaged, by design)
# are dropped; every other line, and its exit status, passes through.
check-crate:
	scripts/check-crate.sh
	cargo publish --dry-run --allow-dirty --quiet 2>&1 | \
		{ grep -v '^warning: ignoring \(test\|benchmark\) `[a-z_]*` as `[a-z_/]*\.rs` is not included in the published package$$' || true; }

# Zig links against glibc 2.17's symbols (ziglang from PyPI, into the venv); auditwheel checks
# the result. GREENAPI_WHEELS=manylinux for the glibc wheel only.
wheels: venv
	scripts/build-wheels.sh

# The wheel make wheels built, installed alone into a fresh venv and run against the stand-in.
test-wheels: venv
	@ls $(BUILD)/wheels/greenapi-$(VERSION)-cp39-abi3-manylinux2014_x86_64.*.whl >/dev/null 2>&1 || \
		{ echo "test-wheels: no manylinux2014 wheel in $(BUILD)/wheels: run make wheels" >&2; exit 1; }
	GREENAPI_WHEEL="$$(ls $(BUILD)/wheels/greenapi-$(VERSION)-cp39-abi3-manylinux2014_x86_64.*.whl)" \
		.venv/bin/python -m pytest -q bindings/python/tests/test_wheel.py </dev/null

sdist: venv
	rm -rf $(BUILD)/sdist
	cd bindings/python && $(CURDIR)/.venv/bin/maturin sdist --out $(CURDIR)/$(BUILD)/sdist
	.venv/bin/python -m pip install -q 'twine>=5' </dev/null
	.venv/bin/twine check --strict $(BUILD)/sdist/*.tar.gz

# A full release build by pip (1 to 2.7 minutes on the shared machine): not in make test;
# the archive's contents are checked in make test (test_sdist.py's first test).
test-sdist: venv
	GREENAPI_TEST_SDIST=1 .venv/bin/python -m pytest -q -rs bindings/python/tests/test_sdist.py </dev/null

# cargo-c (installed once from crates.io) against make install: the same files, the same
# contents (libraries compared by their symbols and soname), into two scratch prefixes.
check-cinstall:
	scripts/check-cinstall.sh

# ---- demo --------------------------------------------------------------------------------------

# Links the shared library (rpath to target/release), as a C user would.
demo-c: lib | $(BUILD)
	$(CC) $(CSTD) examples/get_avatar.c -L target/release -lgreenapi \
		-Wl,-rpath,'$$ORIGIN/../target/release' -o $(BUILD)/get_avatar

# With GREEN_API_ID_INSTANCE and GREEN_API_TOKEN set: the real service (GREEN_API_URL optional),
# chat ids from GREEN_API_CHAT_IDS or CHAT_ID. Otherwise: the stand-in server on loopback.
demo:
	$(MAKE) --no-print-directory venv
	$(MAKE) --no-print-directory demo-c
	@if [ -n "$${GREEN_API_ID_INSTANCE:-}" ] && [ -n "$${GREEN_API_TOKEN:-}" ]; then \
		ids="$${GREEN_API_CHAT_IDS:-$${CHAT_ID:-}}"; \
		[ -n "$$ids" ] || { echo "demo: set GREEN_API_CHAT_IDS (or CHAT_ID)" >&2; exit 2; }; \
		echo "demo: the real service, chat ids: $$ids"; \
		status=0; \
		echo "--- C example"; $(BUILD)/get_avatar $$ids || status=1; \
		echo "--- Python example"; \
		.venv/bin/python bindings/python/examples/get_avatar.py $$ids || status=1; \
		printf '%s\n' $$ids >$(BUILD)/demo-ids.txt; \
		echo "--- command line: greenapi avatars $(BUILD)/demo-ids.txt --download $(BUILD)/demo-avatars"; \
		.venv/bin/greenapi avatars $(BUILD)/demo-ids.txt --download $(BUILD)/demo-avatars || status=1; \
		exit $$status; \
	else \
		echo "demo: GREEN_API_ID_INSTANCE/GREEN_API_TOKEN not set: using the stand-in server"; \
		printf '%s\n' $(DEMO_IDS) >$(BUILD)/demo-ids.txt; \
		rm -rf $(BUILD)/demo-avatars; \
		scripts/with-standin.sh --cdn -- bash -euo pipefail -c '\
			echo "--- C example"; $(BUILD)/get_avatar $(DEMO_IDS); \
			echo "--- Python example"; \
			.venv/bin/python bindings/python/examples/get_avatar.py $(DEMO_IDS); \
			echo "--- command line: greenapi avatars $(BUILD)/demo-ids.txt"; \
			.venv/bin/greenapi avatars $(BUILD)/demo-ids.txt; \
			echo "--- the pictures: greenapi avatars $(BUILD)/demo-ids.txt --download $(BUILD)/demo-avatars"; \
			.venv/bin/greenapi avatars $(BUILD)/demo-ids.txt --download $(BUILD)/demo-avatars; \
			ls -l $(BUILD)/demo-avatars'; \
	fi

clean:
	cargo clean
	rm -rf bindings/python/target
	rm -rf $(BUILD)
