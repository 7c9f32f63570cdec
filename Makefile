# sensor-proxy: `make demo` runs the whole system on one machine; `make test` runs every test.
# Both install what they need first (npm packages; Debian packages via scripts/install-system-deps.sh when run as root).
SHELL := /bin/bash
NODE  ?= node
TEST_FLAGS ?= --test-concurrency=2 --test-timeout=600000

.PHONY: all deps system-deps build typecheck lint native coverage test test-unit test-integration test-vm bench demo clean \
        package package-arm64 package-armhf package-amd64 test-arm test-armhf test-node-lts

all: build

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.package-lock.json

system-deps:
	bash scripts/install-system-deps.sh

build: deps
	npx tsc -p tsconfig.json

typecheck: deps
	npx tsc -p tsconfig.json --noEmit

# Our own native addon, the kernel ISO-TP sockets (native/isotp -> native/isotp/build/Release/sp_isotp.node),
# built with node-gyp from here and never by an npm install script. `make native NATIVE_ARCH=arm64|armhf`
# cross-builds to native/isotp/build/linux-<arch>/ for packaging (needs g++-aarch64-linux-gnu / g++-arm-linux-gnueabihf).
ISOTP_ADDON := native/isotp/build/Release/sp_isotp.node
NATIVE_ARCH ?=
ifeq ($(NATIVE_ARCH),)
native: $(ISOTP_ADDON)
else
native: deps
	bash scripts/build-native.sh $(NATIVE_ARCH)
endif

$(ISOTP_ADDON): $(wildcard native/isotp/src/*) native/isotp/binding.gyp scripts/build-native.sh | deps
	nice bash scripts/build-native.sh


# ESLint (type-checked rules, eslint.config.js) with zero warnings, then Prettier's check (.prettierrc.json).
lint: deps
	npx eslint . --max-warnings 0 --cache --cache-location node_modules/.cache/eslint/
	npx prettier --check .

test: system-deps build lint native test-unit test-integration test-vm

# Line coverage of the unit and integration suites (c8 over node --test, lcov in coverage/), then
# per-folder line coverage of src/*, drivers/*, enumerators/* (scripts/coverage-summary.mjs; files never
# loaded count as 0%, type-only files not at all). Child processes (the CLI, the agent) write their
# coverage too: NODE_V8_COVERAGE is inherited, and coverage/tmp is world-writable for the CLI runs as an
# unprivileged test uid. COVERAGE_VM=1 adds the vm suite (run-vm-tests.sh: natively on vcan0, or the
# qemu guest writes into its shared run folder and vm-run.sh copies the files out). The summary is
# printed also when a test failed; the target then fails.
COVERAGE_VM ?=
COVERAGE_ONLY := --include 'dist/src/**' --include 'dist/drivers/**' --include 'dist/enumerators/**'
coverage: build native
	rm -rf coverage && mkdir coverage && install -d -m 1777 coverage/tmp
	@rc=0; \
	NODE_V8_COVERAGE=$(CURDIR)/coverage/tmp $(NODE) --test $(TEST_FLAGS) \
	  $$(find dist/test/unit dist/test/integration -name '*.test.js' | sort) || rc=1; \
	if [ -n "$(COVERAGE_VM)" ]; then NODE_V8_COVERAGE=$(CURDIR)/coverage/tmp bash hw-fixtures/vm/run-vm-tests.sh || rc=1; fi; \
	npx c8 report --temp-directory=coverage/tmp --reporter=lcovonly --report-dir=coverage \
	  --exclude-after-remap=false --all --src dist $(COVERAGE_ONLY) || rc=1; \
	$(NODE) scripts/coverage-summary.mjs coverage/lcov.info || rc=1; \
	exit $$rc

test-unit: build
	$(NODE) --test $(TEST_FLAGS) $$(find dist/test/unit -name '*.test.js' | sort)

test-integration: build
	$(NODE) --test $(TEST_FLAGS) $$(find dist/test/integration -name '*.test.js' | sort)

# The guest mounts the host root read-only: the addon is built on the host first.
test-vm: build native
	@if [ -d dist/test/vm ] && [ -n "$$(find dist/test/vm -name '*.test.js')" ]; then \
	  bash hw-fixtures/vm/run-vm-tests.sh; else echo "test-vm: no vm tests yet"; fi

# Host benches, then the vcan ones (test/bench/vcan: kernel ISO-TP and socketcan figures) on vcan0 or,
# where this kernel has no vcan, in the qemu guest (hw-fixtures/vm/run-vm-bench.sh; SP_BENCH_ONLY=<regex>).
# Every bench prints its figures; the ones with a goal end in one table (and bench-results.json).
bench: build native
	@log=$$(mktemp); set -o pipefail; \
	for b in $$(find dist/test/bench -path dist/test/bench/vcan -prune -o -name '*.bench.js' -print | sort); do echo "== $$b"; $(NODE) $$b 2>&1 | tee -a $$log || exit 1; done; \
	bash hw-fixtures/vm/run-vm-bench.sh 2>&1 | tee -a $$log; \
	$(NODE) dist/test/bench/summary-table.js $$log bench-results.json; rm -f $$log

# The demo has its own entry point in hw-fixtures/demo/: the product CLI never loads the rigs.
demo: build
	$(NODE) dist/hw-fixtures/demo/main.js

clean:
	rm -rf dist native/isotp/build

# Creates CAN FD capable vcan0 where the kernel has vcan (a Pi, a Linux laptop; needs root).
.PHONY: vcan
vcan:
	bash hw-fixtures/can/setup-vcan.sh vcan0

# Debian packages (issue 11): build/package/sensor-proxy_<version>_<arch>.deb, self-contained under
# /usr/lib/sensor-proxy with a bundled Node; arm addons are compiled under qemu-user (root, network).
package: package-arm64 package-armhf package-amd64
# native: amd64 packs this machine's `make native` build of the ISO-TP addon (arm ones are built in a chroot).
package-arm64 package-armhf package-amd64: build native
	nice bash scripts/package/build-deb.sh $(@:package-%=%)

# The arm64 package installed and run as the service user in a Debian bookworm arm64 userland (qemu-user).
test-arm: package-arm64
	nice bash scripts/package/test-in-userland.sh arm64
# The same for 32-bit Pi OS (armhf); not in CI (a second cold userland costs another ~20 min).
test-armhf: package-armhf
	nice bash scripts/package/test-in-userland.sh armhf

# The unit tests on the Node LTS the amd64/arm64 packages bundle (the machine's node may be older).
test-node-lts: build
	$$(. scripts/package/versions.sh && fetch_node amd64)/bin/node --test $(TEST_FLAGS) $$(find dist/test/unit -name '*.test.js' | sort)
