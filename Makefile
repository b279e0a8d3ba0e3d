# Two commands run the project: `make run` (the whole back office) and `make test` (the suite).
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

# The first Python 3.12+ found: pyenv (through .python-version), python3.12/3.13/3.14, python3.
BASE_PYTHON := $(shell for c in python3.12 python3.13 python3.14 python3 python; do \
	if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
	command -v $$c; break; fi; done)

.PHONY: help venv run test test-postgres journeys bench lint

help:
	@echo "make run    start web, worker and beat (creates .venv, migrates, creates a superuser once)"
	@echo "make test   run the whole test suite against a real Redis, worker, SMTP server and Chromium"
	@echo "make journeys  walk every staff journey in Chromium against the stack make run starts"
	@echo "make bench  run every benchmark (python -m bench NAME runs one)"
	@echo "make lint   ruff"

$(STAMP): requirements.txt requirements-dev.txt
	@if [ -z "$(BASE_PYTHON)" ]; then echo "backoffice: no Python 3.12+ found (install it, e.g. 'pyenv install 3.12', or put python3.12 on PATH)"; exit 1; fi
	@[ -x $(PY) ] || $(BASE_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

run: venv
	$(PY) -m backoffice.launcher run

test: venv
	$(PY) -m backoffice.launcher test -- $(PYTEST_ARGS)

test-postgres: venv
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/test $(PY) -m backoffice.launcher test -- $(PYTEST_ARGS)

journeys: venv
	TEST_WORKERS=1 $(PY) -m backoffice.launcher test -- journeys $(PYTEST_ARGS)

bench: venv
	$(PY) -m bench --all

lint: venv
	$(VENV)/bin/ruff check .
