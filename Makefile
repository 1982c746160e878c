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
# The project's own modules and pytest's assertion-rewritten tests keep their bytecode in
# __pycache__ (ignored by git, by the zips and by the runtime's live code) between runs, even where
# the shell sets PYTHONDONTWRITEBYTECODE: compiling them again in every process cost about 4 s of
# each `make unit` on two cores.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help setup test unit slow mypy test-deployed browser contract schemas-release lint format catalog package up stop down status deploy destroy plan demo bench lock clean prerequisites

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

# What the README lists besides the virtualenv: Debian's chromium for the browser tests (installed
# when missing and this is root with apt-get, as `make bench` does for libvips), a python3.12 for the
# local runtime (found as tools/runtime/awslambda/interpreter.py finds it: LAMBDA_PYTHON, PATH,
# pyenv), and terraform >= TERRAFORM_MIN. Each check is quick when all is present; a missing piece stops with one
# line saying how to get it.
CHROMIUM ?= /usr/bin/chromium
TERRAFORM_MIN := 1.6
LAMBDA_RUNTIME := python3.12

setup: $(BIN)/.installed $(CHECKOV_VENV)/.installed prerequisites ## Create the virtualenv, install everything pinned, check/install chromium, python3.12, terraform

prerequisites: $(BIN)/.installed
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "setup: installing Debian's chromium (the browser tests drive $(CHROMIUM))"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  fi; \
	  test -x "$(CHROMIUM)" || { echo "setup: $(CHROMIUM) is missing: install Debian's chromium (apt-get install chromium) as root"; exit 1; }; \
	fi
	@# exiftool: the reference reader the metadata-extractor's tests compare with (Debian package)
	@command -v exiftool >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "setup: installing libimage-exiftool-perl (Debian) for the exiftool-reference tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libimage-exiftool-perl >/dev/null; \
	  else echo "setup: exiftool missing (apt-get install libimage-exiftool-perl): its reference tests will skip"; fi; }
	@$(BIN)/python -c 'from tools.runtime.awslambda import find_python; find_python("$(LAMBDA_RUNTIME)")' 2>/dev/null \
	  || { echo "setup: no $(LAMBDA_RUNTIME) for the local runtime: pyenv install 3.12, or apt-get install $(LAMBDA_RUNTIME) $(LAMBDA_RUNTIME)-venv, or set LAMBDA_PYTHON=/path/to/$(LAMBDA_RUNTIME)"; exit 1; }
	@command -v terraform >/dev/null || { echo "setup: terraform is not on the PATH: install terraform >= $(TERRAFORM_MIN) (https://developer.hashicorp.com/terraform/install)"; exit 1; }
	@$(BIN)/python -c 'import json, subprocess, sys; v = json.loads(subprocess.run(["terraform", "version", "-json"], capture_output=True, text=True, check=True).stdout)["terraform_version"]; ok = tuple(int(p) for p in v.split("-")[0].split(".")[:2]) >= tuple(int(p) for p in "$(TERRAFORM_MIN)".split(".")); sys.exit(0 if ok else f"setup: terraform {v} is too old: install terraform >= $(TERRAFORM_MIN) (https://developer.hashicorp.com/terraform/install)")'

# --- Test tiers (markers in pyproject.toml; tests/support/tiers.py says which test needs which) ---
# `make unit` is every test that needs no terraform, no stack, no browser, no moto server or
# python3.12 worker and no network: the markers below, checked by tests/unit/test_tiers.py.
SLOW_TIERS := infra e2e browser runtime network
SLOW_MARKEXPR := $(subst $(eval) , or ,$(strip $(SLOW_TIERS)))
UNIT_MARKEXPR := not ($(SLOW_MARKEXPR))
# Two workers (pytest-xdist, this machine's two cores); one that is done steals tests from the
# other (--dist worksteal: the last slow tests no longer leave a core idle). The published-events
# contract (tests/contract/test_published_events.py) re-validates what every service test
# published: the workers write it to PUBLISHED_DIR and the contract runs after them, alone.
UNIT_WORKERS ?= 2
# The slow tier on three workers, shared by module (tests/support/scheduling.py): one runs every
# module on the session's local stack in order, one the deploy tests on a second stack, the third
# (and the others once done) the modules that need no stack. Much of the tier waits (the
# provider's waits, real queues), so three keep two cores busier than two do (measured on this
# machine: 480 s on two workers, 415-419 s on three). SLOW_WORKERS=2 puts the deploy tests on the
# one stack, after the rest; SLOW_WORKERS=0 runs the tier in one process.
SLOW_WORKERS ?= 3
PUBLISHED_DIR := test-artifacts/published-events
PUBLISHED_CONTRACT := tests/contract/test_published_events.py

# With PYTEST_ARGS (a path, -k, ...) `make test` is one plain pytest run of what they select: each
# tier alone may select nothing, and the published-events contract needs the service tests' events.
test: setup ## Run the whole suite: `make unit`, then `make slow` (contract, runtime, infrastructure, end to end, browser) [PYTEST_ARGS=...: one pytest run]
ifeq ($(strip $(PYTEST_ARGS)),)
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory slow
else
	$(BIN)/pytest $(PYTEST_ARGS)
endif

unit: setup ## Fast tier: no terraform, stack, browser, moto server or network (28-31 s on two cores)
	rm -rf $(PUBLISHED_DIR)
	MEDIA_PUBLISHED_DIR=$(PUBLISHED_DIR) $(BIN)/pytest -m "$(UNIT_MARKEXPR)" -n $(UNIT_WORKERS) --dist worksteal --deselect $(PUBLISHED_CONTRACT) $(PYTEST_ARGS)
	MEDIA_PUBLISHED_DIR=$(PUBLISHED_DIR) $(BIN)/pytest -q $(PUBLISHED_CONTRACT)

slow: setup ## The rest of `make test` after `make unit`: every test `make unit` leaves out
	$(BIN)/pytest -m "$(SLOW_MARKEXPR)" -n $(SLOW_WORKERS) --dist loadscope $(PYTEST_ARGS)

test-%: setup ## Run one service's unit tests, e.g. make test-thumbnailer
	$(BIN)/pytest services/$*/tests $(PYTEST_ARGS)

# The e2e suite against a deployed environment (tests/support/deployment.py): everything found
# from its SSM parameters and endpoint (boto3's chain: credentials, AWS_REGION, AWS_ENDPOINT_URL),
# never from a local stack's record or Terraform state. READ_API_URL overrides the read API's
# SSM parameter (the local stack's API Gateway is `make runtime`'s http://127.0.0.1:3000); the
# read-API tests need MEDIA_TEST_TOKEN (and MEDIA_TEST_OTHER_TOKEN) outside ENV=local, else skip.
test-deployed: setup ## The e2e suite against a deployed environment through its public interfaces: ENV=<env> [READ_API_URL=<url>]
	@test -n "$(filter command environment,$(origin ENV))" || { echo "usage: make test-deployed ENV=dev [READ_API_URL=https://...] (AWS credentials in the environment; AWS_ENDPOINT_URL for a local stack)"; exit 2; }
	MEDIA_TEST_ENV=$(ENV) $(if $(READ_API_URL),MEDIA_READ_API_URL=$(READ_API_URL)) $(BIN)/pytest tests/e2e -m e2e -p no:cacheprovider $(PYTEST_ARGS)

browser: setup ## Browser tests only: the web page in headless Chromium on a local stack
	$(BIN)/pytest tests/browser $(PYTEST_ARGS)

# The tests that publish run too (services/, test_publisher): test_published_events re-validates
# what they published.
contract: setup ## Contract tests: schemas, examples, rules, compatibility, what services publish
	$(BIN)/pytest tests/contract $(foreach s,$(SERVICES),services/$(s)/tests) tests/unit/test_publisher.py $(PYTEST_ARGS)

schemas-release: setup ## Freeze the current version of every schema in its released/ folder
	$(BIN)/python -m tools.compat release

# What mypy (strict) checks. tools/ is listed on its own line: extend it as tools/ gains packages.
MYPY_PATHS := shared/media_shared $(foreach s,$(SERVICES),services/$(s)/$(subst -,_,$(s))) bench
MYPY_PATHS += tools

lint: setup ## ruff (lint + format check) everywhere, terraform fmt -check, mypy on shared/, services, tools/, bench/, actionlint on .github/workflows
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	terraform fmt -check -recursive
	$(MAKE) --no-print-directory mypy
	$(BIN)/actionlint

mypy: ## mypy (strict) on MYPY_PATHS alone, as the pre-commit hook runs it
	$(BIN)/mypy $(MYPY_PATHS)

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

destroy: setup ## Destroy one service root on the local stack, the rest left as is: SERVICE=<name>
	$(BIN)/python -m tools.localstack destroy $(SERVICE) $(STACK_ENV) $(STACK_LOCAL)

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

# --- Delivery: change detection, the deploy gate, a new service (tools/affected.py, tools/contracts.py, tools/scaffold) ---
.PHONY: affected can-deploy new-service
affected: setup ## The Terraform roots a change must plan, platform first: BASE=<rev> [HEAD=<rev>] [AFFECTED_ARGS=--json]
	@test -n "$(BASE)" || { echo "usage: make affected BASE=origin/main [HEAD=HEAD]"; exit 2; }
	@$(BIN)/python -m tools.affected $(BASE) $(or $(HEAD),HEAD) $(AFFECTED_ARGS)

can-deploy: setup ## The deploy gate: may SERVICE (the working tree) go next to what ENV runs? [LOCAL=1]
	@test -n "$(SERVICE)" || { echo "usage: make can-deploy SERVICE=<name> [ENV=dev | LOCAL=1]"; exit 2; }
	$(BIN)/mediactl $(STACK_ENV) $(STACK_LOCAL) can-deploy $(SERVICE)

new-service: setup ## A new service from the one skeleton: NAME=<name> CONSUMES=Event[,Event] PRODUCES=Event
	@test -n "$(NAME)" -a -n "$(CONSUMES)" -a -n "$(PRODUCES)" || { echo "usage: make new-service NAME=audio-tagger CONSUMES=AssetIngested PRODUCES=AudioTagged"; exit 2; }
	$(BIN)/python -m tools.scaffold $(NAME) --consumes $(CONSUMES) --produces $(PRODUCES)
	$(MAKE) setup
