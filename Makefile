# Two commands matter (see README):  make demo   and   make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck pytest bench clean i18n-check i18n-update

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

## i18n-check: the catalogue checks alone (every key in every language, placeholders, plurals, extraction)
i18n-check: $(BIN)/wieweet
	$(BIN)/python -m pytest -q tests/test_i18n.py

## i18n-update: extract the keys from the code, add new ones (empty) to every catalogue and drop unused ones
i18n-update: $(BIN)/wieweet
	mkdir -p build
	$(BIN)/pybabel -q extract -F babel.cfg --no-location --sort-output --project wieweet -o build/wieweet.pot .
	$(BIN)/pybabel -q update -i build/wieweet.pot -d bot/locale -D wieweet --no-fuzzy-matching --ignore-obsolete

bench: $(BIN)/wieweet
	$(BIN)/python bench/eval_matching.py
	$(BIN)/python bench/latency_matching.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
