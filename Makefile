# The two commands of the README: `make run` and `make test`. Everything else is set up by them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-dates lint typecheck pytest messages audit-tool clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever the dependencies change.
$(VENV)/.installed: pyproject.toml setup.py pb/__init__.py | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml setup.py pb/__init__.py | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/pb db upgrade
	$(BIN)/pb demo --if-empty
	@echo "pb is serving on http://$(HOST):$(PORT)  (Ctrl-C to stop)"
	$(BIN)/pb serve --host $(HOST) --port $(PORT)

test: lint typecheck pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check pb tests benchmarks alembic setup.py
	$(BIN)/ruff format --check pb tests benchmarks alembic setup.py

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy pb

pytest: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The date-sensitive tests again with the clock frozen on awkward days (CI runs this after
# `make test`): the last minutes of a year, 29 February, and instants where the town's date is
# not the UTC date (UTC+14 and UTC-11), the evening before the next day's phase changes.
# On SQLite only: dates are computed in Python, and `make test` already ran both databases.
# Tests that do not depend on the day (every page in every language, axe on every page, the
# arithmetic of the results explanation) run once, in `make test`.
DATE_TESTS ?= tests/services tests/web tests/browser -k "not postgresql" \
	--ignore=tests/browser/test_locales_browser.py --ignore=tests/browser/test_a11y_browser.py \
	--ignore=tests/web/test_no_english_left.py --ignore=tests/web/test_explain.py
AWKWARD_DAYS := 2026-12-31T23:30:00+00:00,UTC 2028-02-29T12:00:00+00:00,Europe/Warsaw \
	2027-06-30T10:30:00+00:00,Pacific/Kiritimati 2027-07-01T10:30:00+00:00,Pacific/Pago_Pago
test-dates: $(VENV)/.installed-test
	@set -e; for day in $(AWKWARD_DAYS); do \
	  now=$${day%%,*}; zone=$${day#*,}; \
	  echo "== tests on $$now in $$zone"; \
	  PB_TEST_NOW=$$now PB_TEST_TIMEZONE=$$zone $(BIN)/python -m pytest -q $(PYTEST_ARGS) $(DATE_TESTS); \
	done

# Refresh the translation catalogs after changing user-facing strings.
messages: $(VENV)/.installed-test
	mkdir -p var
	$(BIN)/pybabel extract -F pb/babel.cfg -o var/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i var/messages.pot -d pb/translations --no-fuzzy-matching --ignore-obsolete

# The auditors' zipapp: byte for byte what a pb of this commit serves; prints its SHA-256.
# Standard library only, so no virtual environment is needed.
audit-tool:
	mkdir -p dist
	$(PYTHON) -m pb.auditool dist/pb-audit.pyz

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
