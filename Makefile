# Every entry point of the project. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CHECKOV_VENV ?= .tools/checkov
SERVICES := $(notdir $(wildcard services/*))
SERVICE ?=
ENV ?= dev
PYTEST_ARGS ?=

.PHONY: help setup test browser contract schemas-release lint format catalog package up stop down status deploy plan demo bench lock clean

help: ## List the targets
	@grep -hE '^[a-zA-Z%_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements/dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements/checkov.txt
	touch $@

setup: $(BIN)/.installed $(CHECKOV_VENV)/.installed ## Create the virtualenv and install everything pinned
	@# exiftool: the reference reader the metadata-extractor's tests compare with (Debian package)
	@command -v exiftool >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "setup: installing libimage-exiftool-perl (Debian) for the exiftool-reference tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libimage-exiftool-perl >/dev/null; \
	  else echo "setup: exiftool missing (apt-get install libimage-exiftool-perl): its reference tests will skip"; fi; }

test: setup ## Run the whole suite: unit, contract, infrastructure, end to end
	$(BIN)/pytest $(PYTEST_ARGS)

test-%: setup ## Run one service's unit tests, e.g. make test-thumbnailer
	$(BIN)/pytest services/$*/tests $(PYTEST_ARGS)

browser: setup ## Browser tests only: the web page in headless Chromium on a local stack
	$(BIN)/pytest tests/browser $(PYTEST_ARGS)

contract: setup ## Contract tests: schemas, examples, rules, compatibility, what services publish
	$(BIN)/pytest tests/contract tests/unit $(foreach s,$(SERVICES),services/$(s)/tests) $(PYTEST_ARGS)

schemas-release: setup ## Freeze the current version of every schema in its released/ folder
	$(BIN)/python -m tools.compat release

lint: setup ## ruff (lint + format check) and mypy on shared/ and the services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared/media_shared $(foreach s,$(SERVICES),services/$(s)/$(subst -,_,$(s)))

format: setup ## Apply ruff's fixes and formatting, and terraform fmt
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	terraform fmt -recursive

catalog: setup ## Render the event catalog to docs/events.md
	$(BIN)/python -m tools.catalog --output docs/events.md

lock: ## Re-pin requirements/dev.txt from pyproject's ranges (needs the network)
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[dev]'
	{ head -2 requirements/dev.txt; .lock-venv/bin/pip freeze --exclude-editable; } > requirements/dev.lock.tmp
	mv requirements/dev.lock.tmp requirements/dev.txt && rm -rf .lock-venv

clean: ## Remove build output (not the virtualenv)
	rm -rf build .pytest_cache .mypy_cache .ruff_cache

# --- Lambda artifacts, the local stack, deploys (tools/package.py, tools/localstack/) ---
# ENV goes to the driver only when given (command line or environment): without it, deploy/plan
# target the local stack while `make up` runs, else AWS dev.
STACK_ENV = $(if $(filter command environment,$(origin ENV)),--env $(ENV))
STACK_LOCAL = $(if $(LOCAL),--local)

package: setup ## Build Lambda zips in build/lambda: all, or SERVICE=<name>
	$(BIN)/python -m tools.package $(SERVICE)

package-%: setup ## Build one service's Lambda zip, e.g. make package-thumbnailer
	$(BIN)/python -m tools.package $*

up: setup ## Local stack: moto on loopback, every root applied (.local/); warm if nothing changed [APPLY=1]
	$(BIN)/python -m tools.localstack up $(if $(APPLY),--apply)

stop: ## Stop the local stack, keeping its state for a warm `make up`
	$(BIN)/python -m tools.localstack stop

down: ## Stop the local stack and remove its state
	$(BIN)/python -m tools.localstack down

status: ## The local stack: recorded, running, saved, changed since the last `make up`
	$(BIN)/python -m tools.localstack status

deploy: setup ## Plan + apply one service root: SERVICE=<name> [ENV=dev | LOCAL=1]
	$(BIN)/python -m tools.localstack deploy $(SERVICE) $(STACK_ENV) $(STACK_LOCAL)

deploy-%: setup ## Deploy one service, e.g. make deploy-thumbnailer [ENV=dev | LOCAL=1]
	$(BIN)/python -m tools.localstack deploy $* $(STACK_ENV) $(STACK_LOCAL)

plan: setup ## Plan one service root: SERVICE=<name> [ENV=dev | LOCAL=1]
	$(BIN)/python -m tools.localstack plan $(SERVICE) $(STACK_ENV) $(STACK_LOCAL)

plan-%: setup ## Plan one service, e.g. make plan-indexer [ENV=dev | LOCAL=1]
	$(BIN)/python -m tools.localstack plan $* $(STACK_ENV) $(STACK_LOCAL)

# --- Benchmarks (bench/, bench/README.md) ---
BENCH ?= all
BENCH_REPS ?=
BENCH_E2E_N ?=

bench: setup ## Benchmarks vs peers and floors, stored in bench/results.*: [BENCH=thumbs,metadata,cold,moto,up,e2e] [BENCH_REPS=7] [BENCH_E2E_N=100]
	@$(BIN)/python -c "import pyvips" 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! dpkg -s libvips42 >/dev/null 2>&1; then \
	    echo "bench: installing libvips42 (Debian) for the libvips peer"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvips42 >/dev/null; \
	  fi; \
	  $(BIN)/pip install --quiet -r requirements/bench.txt; \
	} || echo "bench: libvips/pyvips unavailable: the libvips rows will say so"
	BENCH="$(BENCH)" BENCH_REPS="$(BENCH_REPS)" BENCH_E2E_N="$(BENCH_E2E_N)" $(BIN)/python -m bench

# --- The local runtime, the demo, the operator CLI (tools/runtime, tools/demo.py, tools/cli) ---
# mediactl acts on the local stack while `make up` runs, else on AWS (ENV=<environment>).
.PHONY: runtime publish tail dlq

runtime: setup ## Run the local stack's deployed functions against their queues (Ctrl-C stops)
	$(BIN)/python -m tools.localstack runtime $(RUNTIME_ARGS)

demo: setup ## From a clean checkout to indexed sample images on the local stack, with a report
	$(BIN)/python -m tools.demo

.PHONY: soak
soak: setup ## Soak a throwaway local stack: 300 uploads, duplicates, faults [SOAK_ARGS=--uploads N]
	$(BIN)/python -m tools.soak $(SOAK_ARGS)

publish: setup ## Validate then publish a test event: EVENT=<file | Name | Name/variant>
	@test -n "$(EVENT)" || { echo "usage: make publish EVENT=AssetIngested/valid-basic (or a JSON file)"; exit 2; }
	$(BIN)/mediactl $(STACK_ENV) publish $(EVENT)

tail: setup ## Print every event on the bus as it arrives [DETAIL_TYPE=AssetIndexed]
	$(BIN)/mediactl $(STACK_ENV) tail $(if $(DETAIL_TYPE),--detail-type $(DETAIL_TYPE))

dlq: setup ## List what waits in each service's dead-letter queue, with its error
	$(BIN)/mediactl $(STACK_ENV) dlq list
