# Relance — the two commands: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-dates bench clean translations

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

## The suite as if today were an awkward day (long weekends, month ends, a leap day), with
## Debian's faketime: tests that use today's date must hold on any date CI happens to run.
DATES ?= 2026-12-24 2027-01-29 2027-03-23 2027-04-30 2027-07-13 2027-08-31 2028-02-29
test-dates: $(STAMP)
	@command -v faketime >/dev/null || { echo "make test-dates needs faketime (apt-get install faketime)"; exit 1; }
	@set -e; for day in $(DATES); do echo "== the suite as of $$day"; \
	  faketime "$$day 10:00:00" $(BIN)/python -m pytest -q -p no:cacheprovider tests/unit tests/integration; done

bench: $(STAMP)
	$(BIN)/python bench/reminder_run.py

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts

## Refresh the message catalogue after changing texts: extract, merge into fr, compile.
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .
	$(BIN)/pybabel update -N -i translations/messages.pot -d translations
	$(BIN)/pybabel compile -d translations
