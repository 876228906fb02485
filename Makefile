# catalyst-api developer entry points. `make run` and `make test` are the two a new user needs;
# `make run` prints the web console's URL first (`catalyst-api console: http://…/`).
# `install` puts both distributions in the venv: catalyst-api (src/) and catalyst-api-sandbox
# (sandbox/: the simulated cloud and clusters `make run` serves, and the fakes the tests use).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
DATA ?= $(CURDIR)/.catalyst
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install run run-ha test lint bench clean fmt

install: $(VENV)/.installed $(VENV)/.tools

$(VENV)/.installed: pyproject.toml sandbox/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e ./sandbox
	@touch $@

$(VENV)/.tools: scripts/install-tools.sh $(VENV)/.installed
	bash scripts/install-tools.sh $(VENV)
	@touch $@

run: install
	@mkdir -p $(DATA)
	@$(BIN)/catalyst-api serve --sandbox --host $(HOST) --port $(PORT) --data-dir $(DATA)

lint: install
	$(BIN)/ruff check src sandbox/src tests bench
	$(BIN)/ruff format --check src sandbox/src tests bench
	$(BIN)/mypy
	$(BIN)/mypy --config-file tests/mypy.ini
	$(BIN)/lint-imports

# Two replicas over a local throwaway PostgreSQL on ports 8080 and 8081 (docs/HA.md): kill -9
# one of the printed pids to watch the other take its runs over.
run-ha: install
	$(BIN)/python -m catalyst_sandbox.ha --host $(HOST) --ports $(PORT),$$(($(PORT)+1)) --data-dir $(CURDIR)/.catalyst-ha

test: lint
	$(BIN)/pytest -q -m "not slow and not bench"

bench: install
	$(BIN)/python -m bench

fmt: install
	$(BIN)/ruff format src sandbox/src tests bench
	$(BIN)/ruff check --fix src sandbox/src tests bench

clean:
	rm -rf $(VENV) .catalyst .catalyst-ha .mypy_cache .ruff_cache
