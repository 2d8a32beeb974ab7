# newswarc: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= newswarc-demo

.PHONY: help venv install install-test services demo test lint bench lock upgrade-deps clean

help:
	@echo "make demo   - create $(VENV), install newswarc, crawl the bundled demo news site into ./$(OUT)"
	@echo "make test   - create $(VENV) with the test extras, install test services, run the whole suite"
	@echo "make lint   - ruff check"
	@echo "make bench  - benchmarks (installs nginx and wget if missing), writes docs/benchmarks.md;"
	@echo "              BENCH_ARGS=\"--only memory\" passes options to python -m bench (--help lists them)"
	@echo "make lock   - rewrite requirements/*.txt (the lock) after a change to pyproject.toml"
	@echo "make upgrade-deps - the lock with the newest versions pyproject.toml allows"

# The venv keeps the pip that Python ships: the lock installs with it as it is.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Installs come from the lock (exact versions, hashes checked); newswarc itself without
# resolving anything. `make lock` writes the lock from pyproject.toml's ranges.
# --no-deps: the lock is the whole closure, with pywb's redis pin overridden (requirements/overrides.txt).
# newswarc itself is built by the locked build backend (requirements/build.txt: setuptools, wheel),
# installed first; --no-build-isolation, or pip would fetch the newest setuptools for the build.
$(VENV)/.installed: pyproject.toml requirements/runtime.txt requirements/build.txt | $(BIN)/python
	$(BIN)/pip install -q --require-hashes --no-deps -r requirements/runtime.txt
	$(BIN)/pip install -q --require-hashes --no-deps -r requirements/build.txt
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml requirements/test.txt requirements/build.txt | $(BIN)/python
	$(BIN)/pip install -q --require-hashes --no-deps -r requirements/test.txt
	$(BIN)/pip install -q --require-hashes --no-deps -r requirements/build.txt
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Programs the tests drive as real peers (wget writes a third-party WARC for the replay tests;
# headless Chromium takes the screenshot of an archived page replayed by `newswarc browse`
# and opens the HTML quality report).
services:
	@command -v wget >/dev/null 2>&1 || { \
	  echo "installing wget (Debian package)"; \
	  (apt-get update -qq && apt-get install -y -qq wget) >/dev/null; }
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium (Debian package)"; \
	  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null; }
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "installing redis-server (Debian package; the distributed tests start their own on a free port)"; \
	  (apt-get update -qq && apt-get install -y -qq redis-server) >/dev/null; }

demo: install
	rm -rf $(OUT)  # a fresh demo output each time: the summary then counts every article as new
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
	$(BIN)/python -m bench $(BENCH_ARGS)

# The lock: requirements/runtime.txt (what `make demo` installs), requirements/test.txt
# (with the test extras) and requirements/build.txt (pyproject.toml's build-system requires,
# what builds newswarc itself), every platform, with hashes. `make lock` after editing pyproject.toml
# keeps the versions already locked where the ranges allow; `make upgrade-deps` takes the newest.
UV_VERSION := 0.13.9
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet --custom-compile-command "make lock" \
              --override requirements/overrides.txt

$(BIN)/uv: | $(BIN)/python
	$(BIN)/pip install -q 'uv==$(UV_VERSION)'

lock: $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --extra browse --extra distributed $(LOCK_FLAGS) $(UPGRADE) \
	  -o requirements/runtime.txt
	$(BIN)/uv pip compile pyproject.toml --extra browse --extra distributed --extra test $(LOCK_FLAGS) $(UPGRADE) \
	  -o requirements/test.txt
	$(BIN)/python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['build-system']['requires'], sep='\n')" \
	  | $(BIN)/uv pip compile - $(LOCK_FLAGS) $(UPGRADE) -o requirements/build.txt

upgrade-deps:
	$(MAKE) lock UPGRADE=--upgrade

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache build *.egg-info
