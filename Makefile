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
SRC := $(shell find src -name '*.ts' 2>/dev/null) tsconfig.json scripts/bundle-workflows.js

.PHONY: help deps build test test-unit lint demo up down status logs clean bench chaos snowflake-emulator

help:
	@echo "make demo   - bring up the local stack, run the guide's sample policy end to end, tear down"
	@echo "make test   - install everything and run every test (unit + integration)"
	@echo "make up     - start Temporal dev server (UI :8233), policy API simulator and worker; 'make down' stops them"
	@echo "make status - show what of the local stack is running"
	@echo "make lint   - eslint, prettier and tsc"
	@echo "make snowflake-emulator - a Snowflake-protocol endpoint on 127.0.0.1:\$$SNOWFLAKE_EMULATOR_PORT (8790), in the foreground"

deps: $(STAMPS)/npm $(STAMPS)/venv $(STAMPS)/venv-fakesnow

$(STAMPS)/npm: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/venv: requirements.lock
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.lock
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/venv-fakesnow: $(EMULATOR_DIR)/requirements.lock
	@test -x $(EMULATOR_VENV)/bin/python || $(PYTHON) -m venv $(EMULATOR_VENV)
	$(EMULATOR_VENV)/bin/pip install --quiet --disable-pip-version-check -r $<
	@mkdir -p $(STAMPS) && touch $@

# The emulator in the foreground (Ctrl-C stops it); in-memory unless SNOWFLAKE_EMULATOR_DATA_DIR is set.
snowflake-emulator: $(STAMPS)/venv-fakesnow
	cd $(EMULATOR_DIR) && exec ../../$(EMULATOR_VENV)/bin/python -m snowflake_emulator \
	  --port $(SNOWFLAKE_EMULATOR_PORT) --log-level info \
	  $(if $(SNOWFLAKE_EMULATOR_DATA_DIR),--data-dir $(abspath $(SNOWFLAKE_EMULATOR_DATA_DIR)))

build: $(STAMPS)/build

$(STAMPS)/build: $(STAMPS)/npm $(SRC)
	rm -rf dist
	npx tsc -p tsconfig.json
	node scripts/bundle-workflows.js
	@mkdir -p $(STAMPS) && touch $@

test: deps build
	npx tsc -p tsconfig.test.json
	npx vitest run

# The fault suite (chaos/README.md): every scenario, >= 500 executions, < 20 min. Writes
# chaos/results/latest.json and latest.md and prints the summary table. CHAOS_ONLY=name,name runs
# some scenarios (results in chaos/results/partial.*).
chaos: deps build
	@rm -f chaos/results/last-run.md
	@status=0; npx vitest run --config chaos/vitest.config.mjs || status=$$?; \
	  if [ -f chaos/results/last-run.md ]; then cat chaos/results/last-run.md; fi; exit $$status

test-unit: $(STAMPS)/npm
	npx vitest run --project unit

lint: $(STAMPS)/npm
	npx tsc -p tsconfig.test.json
	npm run lint

up: deps build
	scripts/stack.sh up

down:
	scripts/stack.sh down

status:
	scripts/stack.sh status

demo: deps build
	scripts/demo.sh

clean:
	-scripts/stack.sh down
	rm -rf dist $(STAMPS) .local

# Benchmark (bench/PERFORMANCE.md): its own stack on free ports, N=1000 by default (BENCH_N).
# Builds src/ and bench/ privately into .local/bench/build, so a concurrent `make build` cannot disturb it.
bench: deps
	rm -rf .local/bench/build
	npx tsc -p bench/tsconfig.json
	node .local/bench/build/bench/src/prepare.js
	node .local/bench/build/bench/src/run.js
