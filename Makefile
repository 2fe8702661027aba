# Two commands matter (see README):  make demo   and   make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck imports pytest bench clean check-python i18n-check i18n-update

# Python 3.11+ with the venv module; Debian and Ubuntu ship that part separately (python3-venv).
check-python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "error: wieweet needs Python 3.11 or newer as '$(PYTHON)' (set PYTHON=python3.12 or similar)" >&2; exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  echo "error: '$(PYTHON) -m venv' cannot create a virtual environment: the venv module is missing." >&2; \
	  echo "       On Debian or Ubuntu: sudo apt-get install python3-venv (python3.N-venv for another python3.N)" >&2; \
	  exit 1; }

# wieweet itself, without the test tools: what `make demo` needs.
$(BIN)/wieweet: pyproject.toml
	@$(MAKE) --no-print-directory check-python PYTHON=$(PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The test extras (pytest, hypothesis, ruff, mypy, ...) on top, for `make test`.
$(VENV)/.test-extras: $(BIN)/wieweet pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## demo: set up the venv, build ./wieweet.db with the fictional demo register, open the console
demo: $(BIN)/wieweet
	$(BIN)/wieweet demo
	@echo ""
	@echo "wieweet is installed in $(VENV). Run it as $(BIN)/wieweet (e.g. $(BIN)/wieweet --help),"
	@echo "or put it on your PATH for this shell with: . $(BIN)/activate"

## test: set up the venv with the test extras, then lint, type-check, check the layers and run the whole test suite
test: lint typecheck imports pytest

lint: $(VENV)/.test-extras
	$(BIN)/ruff check .

typecheck: $(VENV)/.test-extras
	$(BIN)/mypy

# the import-linter contracts in pyproject.toml: dependencies point one way (see README, Layout)
imports: $(VENV)/.test-extras
	$(BIN)/lint-imports

# The suite on PYTEST_WORKERS processes (pytest-xdist): most of its time is spent waiting for a bot process, a CLI
# run or the Slack emulator, so three workers keep two cores busy. PYTEST_WORKERS=0 runs it in this one process.
PYTEST_WORKERS ?= 3
pytest: $(VENV)/.test-extras
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS)

## i18n-check: the catalogue checks alone (every key in every language, placeholders, plurals, extraction)
i18n-check: $(VENV)/.test-extras
	$(BIN)/python -m pytest -q tests/test_i18n.py

## i18n-update: extract the keys from the code, add new ones (empty) to every catalogue and drop unused ones
i18n-update: $(VENV)/.test-extras
	mkdir -p build
	$(BIN)/pybabel -q extract -F babel.cfg --no-location --sort-output --project wieweet -o build/wieweet.pot .
	$(BIN)/pybabel -q update -i build/wieweet.pot -d bot/locale -D wieweet --no-fuzzy-matching --ignore-obsolete

bench: $(VENV)/.test-extras
	$(BIN)/python bench/eval_matching.py
	$(BIN)/python bench/latency_matching.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
