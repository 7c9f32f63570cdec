# sensor-proxy: `make demo` runs the whole system on one machine; `make test` runs every test.
# Both install what they need first (npm packages; Debian packages via scripts/install-system-deps.sh when run as root).
SHELL := /bin/bash
NODE  ?= node
TEST_FLAGS ?= --test-concurrency=2 --test-timeout=600000

.PHONY: all deps system-deps build typecheck lint test test-unit test-integration test-vm bench demo clean

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

# ESLint (type-checked rules, eslint.config.js) with zero warnings, then Prettier's check (.prettierrc.json).
lint: deps
	npx eslint . --max-warnings 0 --cache --cache-location node_modules/.cache/eslint/
	npx prettier --check .

test: system-deps build lint test-unit test-integration test-vm

test-unit: build
	$(NODE) --test $(TEST_FLAGS) $$(find dist/test/unit -name '*.test.js' | sort)

test-integration: build
	$(NODE) --test $(TEST_FLAGS) $$(find dist/test/integration -name '*.test.js' | sort)

test-vm: build
	@if [ -d dist/test/vm ] && [ -n "$$(find dist/test/vm -name '*.test.js')" ]; then \
	  bash hw-fixtures/vm/run-vm-tests.sh; else echo "test-vm: no vm tests yet"; fi

bench: build
	@for b in $$(find dist/test/bench -name '*.bench.js' | sort); do echo "== $$b"; $(NODE) $$b || exit 1; done

# The demo has its own entry point in hw-fixtures/demo/: the product CLI never loads the rigs.
demo: build
	$(NODE) dist/hw-fixtures/demo/main.js

clean:
	rm -rf dist

# Creates CAN FD capable vcan0 where the kernel has vcan (a Pi, a Linux laptop; needs root).
.PHONY: vcan
vcan:
	bash hw-fixtures/can/setup-vcan.sh vcan0
