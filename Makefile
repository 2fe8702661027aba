# Two commands matter (see README):  make demo   and   make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck pytest bench clean

$(BIN)/wieweet: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## demo: set up the venv, build ./wieweet.db with the fictional demo register, open the console
demo: $(BIN)/wieweet
	$(BIN)/wieweet demo

## test: set up the venv, then lint, type-check and run the whole test suite
test: lint typecheck pytest

lint: $(BIN)/wieweet
	$(BIN)/ruff check .

typecheck: $(BIN)/wieweet
	$(BIN)/mypy

pytest: $(BIN)/wieweet
	$(BIN)/python -m pytest

bench: $(BIN)/wieweet
	$(BIN)/python bench/eval_matching.py
	$(BIN)/python bench/latency_matching.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
