# Two commands: `make run` (set up and start the app) and `make test` (set up and run every test).
# Also: `make test-fast` (every test but the browser and PostgreSQL ones), `make bench` (performance
# figures), `make load` (20 browser sessions for 60 s) and `make n8n-check` (the n8n workflow in a
# real n8n, installed into .n8n-runtime/ when missing).
PYTHON ?= python3
VENV := .venv
PORT ?= 8501
ADDRESS ?= 127.0.0.1
BIN := $(VENV)/bin
# The tests run in parallel: two workers per core, as the browser tests spend much of their time
# waiting for a page or a server, at most 8 (TEST_WORKERS=0: all in this process). Each worker is handed one
# test at a time, in tests/conftest.py's order. (Not --dist loadgroup: with pytest 9.2 it groups
# nothing any more, pytest-xdist issue 1386.)
TEST_WORKERS ?= $(shell n=$$((2 * $$(nproc))); echo $$((n > 8 ? 8 : n)))
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist load --maxschedchunk 1

.PHONY: run test test-fast bench load n8n-check

run: $(VENV)/.runtime-installed
	@$(BIN)/python -m lib.config $(ADDRESS) $(PORT)
	$(BIN)/streamlit run server.py --server.port $(PORT) --server.address $(ADDRESS)

test: $(VENV)/.test-installed
	bash scripts/install-system-deps.sh
	$(PYTEST)

test-fast: $(VENV)/.test-installed
	$(PYTEST) -m "not browser and not postgres"

bench: $(VENV)/.test-installed
	bash scripts/install-system-deps.sh
	$(BIN)/python -m bench.run_all

load: $(VENV)/.test-installed
	bash scripts/install-system-deps.sh
	$(BIN)/python -m bench.load --sessions 20 --poll-seconds 60

n8n-check: $(VENV)/.test-installed
	PYTHON=$(BIN)/python bash scripts/n8n-check.sh

$(VENV)/bin/python:
	PYTHON=$(PYTHON) bash scripts/install-system-deps.sh venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements.txt requirements-test.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $(VENV)/.runtime-installed $@
