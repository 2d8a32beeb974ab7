# newswarc: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= newswarc-demo

.PHONY: help venv install install-test services demo test lint bench clean

help:
	@echo "make demo   - create $(VENV), install newswarc, crawl the bundled demo news site into ./$(OUT)"
	@echo "make test   - create $(VENV) with the test extras, install test services, run the whole suite"
	@echo "make lint   - ruff check"
	@echo "make bench  - benchmarks (installs nginx and wget if missing), writes docs/benchmarks.md"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Programs the tests drive as real peers (wget writes a third-party WARC for the replay tests;
# headless Chromium opens the HTML quality report).
services:
	@command -v wget >/dev/null 2>&1 || { \
	  echo "installing wget (Debian package)"; \
	  (apt-get update -qq && apt-get install -y -qq wget) >/dev/null; }
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium (Debian package)"; \
	  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null; }

demo: install
	rm -rf $(OUT)  # a fresh demo output each time (the demo site runs on a new port every run)
	$(BIN)/newswarc demo --out $(OUT)

test: install-test services
	$(BIN)/ruff check crawler tests bench
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check crawler tests bench

bench: install-test
	@command -v nginx >/dev/null 2>&1 || { \
	  echo "installing nginx (Debian package)"; \
	  (apt-get update -qq && apt-get install -y -qq nginx-light || apt-get install -y -qq nginx) >/dev/null; }
	@command -v wget >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wget) >/dev/null
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache build *.egg-info
