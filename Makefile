# Relance — the two commands: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test bench clean translations

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Build the demo database, run today's reminders into instance/outbox, serve the portal.
demo: $(STAMP)
	$(BIN)/flask demo --serve

## The whole suite (PostgreSQL and browser tests skip with a reason where unavailable).
test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/reminder_run.py

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts

## Refresh the message catalogue after changing texts: extract, merge into fr, compile.
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .
	$(BIN)/pybabel update -N -i translations/messages.pot -d translations
	$(BIN)/pybabel compile -d translations
