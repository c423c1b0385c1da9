# policy-execution: every target bootstraps what it needs from a fresh clone (pinned npm lockfile,
# pinned Python requirements in .venv). Re-running is fast when nothing changed.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
STAMPS := .make
SRC := $(shell find src -name '*.ts' 2>/dev/null) tsconfig.json scripts/bundle-workflows.js
DEVTOOLS := $(shell find devtools -name '*.ts' 2>/dev/null) tsconfig.devtools.json

.PHONY: help deps build test test-unit lint demo up down status logs clean bench chaos

help:
	@echo "make demo   - bring up the local stack, run the guide's sample policy end to end, tear down"
	@echo "make test   - install everything and run every test (unit + integration)"
	@echo "make up     - start Temporal dev server (UI :8233), policy API simulator and worker; 'make down' stops them"
	@echo "make status - show what of the local stack is running"
	@echo "make lint   - eslint, prettier and tsc"

deps: $(STAMPS)/npm $(STAMPS)/venv

$(STAMPS)/npm: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/venv: requirements.lock
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.lock
	@mkdir -p $(STAMPS) && touch $@

# dist/ holds the product (src/) only. The dev tooling the local stack runs (the policy API simulator,
# devtools/simulator) compiles separately into dist-devtools/ (tsconfig.devtools.json).
build: $(STAMPS)/build

$(STAMPS)/build: $(STAMPS)/npm $(SRC) $(DEVTOOLS)
	rm -rf dist dist-devtools
	npx tsc -p tsconfig.json
	npx tsc -p tsconfig.devtools.json
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
	devtools/stack.sh up

down:
	devtools/stack.sh down

status:
	devtools/stack.sh status

demo: deps build
	devtools/demo.sh

clean:
	-devtools/stack.sh down
	rm -rf dist dist-devtools $(STAMPS) .local

# Benchmark (bench/PERFORMANCE.md): its own stack on free ports, N=1000 by default (BENCH_N).
# Builds src/, bench/ and devtools/ privately into .local/bench/build, so a concurrent `make build` cannot disturb it.
bench: deps
	rm -rf .local/bench/build
	npx tsc -p bench/tsconfig.json
	node .local/bench/build/bench/src/prepare.js
	node .local/bench/build/bench/src/run.js
