# Two commands for a newcomer: `make run` and `make test`. Both create .venv when it is missing
# and (re)install the project into it whenever pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench sandbox clean

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Kehu needs Python 3.11 or newer (found: $$($(PYTHON) --version)); try: make PYTHON=python3.12 ..."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

run: $(INSTALLED)
	$(BIN)/kehu run

test: lint typecheck
	$(BIN)/pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALLED)
	$(BIN)/mypy

unit: $(INSTALLED)
	$(BIN)/pytest tests/unit

sandbox: $(INSTALLED)
	$(BIN)/kehu sandbox

bench: $(INSTALLED)
	$(BIN)/python bench/updates.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/reminders.py
	$(BIN)/python bench/survey.py
	$(BIN)/python bench/digest.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/import.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
