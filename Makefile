# Cypher Hub — everyday commands. From a fresh clone, `make run` and `make test` set up
# `.venv` on first use (only Python 3.11+ is needed); later runs reuse it and reinstall
# only when pyproject.toml changes.

PYTHON      ?= python3
VENV        ?= .venv
PYTEST_ARGS ?=
DEMO_ARGS   ?=
SCHEMAS_DIR ?= docs/schemas

BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# Folders to lint: only those that exist (bench/ may not yet).
SOURCES := $(wildcard hub actors connectors tests bench)

.DEFAULT_GOAL := help
.PHONY: help install run demo test chaos bench lint fmt migrate schemas clean distclean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# --- environment ------------------------------------------------------------------------

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
		|| { echo "error: Cypher Hub needs Python 3.11+ (PYTHON=$(PYTHON)); try: make PYTHON=python3.11 ..." >&2; exit 1; }
	@echo "==> creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "==> installing Cypher Hub and its dev tools into $(VENV) (new venv or pyproject.toml changed; may take a minute)"
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP) ## create .venv and install the project (done automatically by the other targets)

# --- running ----------------------------------------------------------------------------

run: $(STAMP) ## start the hub (embedded mode and sandbox unless CYPHER_*_URL are set)
	$(BIN)/cypher-hub serve

demo: $(STAMP) ## place demo shop orders in the running sandbox (DEMO_ARGS="--orders 30")
	$(BIN)/cypher-hub demo $(DEMO_ARGS)

migrate: $(STAMP) ## apply pending database migrations
	$(BIN)/cypher-hub migrate

schemas: $(STAMP) ## write the JSON Schema of every message into docs/schemas/ (SCHEMAS_DIR=...)
	$(BIN)/cypher-hub schemas --out $(SCHEMAS_DIR)

# --- checks -----------------------------------------------------------------------------

test: lint ## lint, type-check, then run the test suite (PYTEST_ARGS="-k ..." to narrow)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

chaos: $(STAMP) ## the whole fault suite, 500 orders a scenario (CYPHER_CHAOS_ORDERS=...; ~15 min)
	rm -f .chaos/report.txt
	CYPHER_CHAOS=all $(BIN)/python -m pytest tests/chaos -p no:randomly $(PYTEST_ARGS); \
		status=$$?; echo; echo "fault suite: orders in, lost, duplicated per scenario"; \
		cat .chaos/report.txt 2>/dev/null; exit $$status

bench: $(STAMP) ## run every benchmark and print the table of figures (under 10 minutes)
	$(BIN)/python bench/run.py

lint: $(STAMP) ## ruff check and mypy (strict on hub/, configured in pyproject.toml)
	$(BIN)/python -m ruff check $(SOURCES)
	$(BIN)/python -m mypy

fmt: $(STAMP) ## format the code and apply safe lint fixes
	$(BIN)/python -m ruff format $(SOURCES)
	$(BIN)/python -m ruff check --fix $(SOURCES)

# --- cleaning ---------------------------------------------------------------------------

clean: ## remove caches and build output (keeps .venv and the embedded data in .cypher/)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean ## also remove .venv
	rm -rf $(VENV)
