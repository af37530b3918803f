# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := wsgi

.PHONY: run test install install-dev worker poll

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (found %s)" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall only when the dependency list changes.
$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(VENV)/.installed-dev: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask demo load --if-empty
	@cat instance/demo_credentials.txt 2>/dev/null || true
	@echo "越乡寄递 on http://$(HOST):$(PORT)"
	SCHEDULER_IN_PROCESS=on $(BIN)/flask run --host $(HOST) --port $(PORT)

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

worker: install
	$(BIN)/flask worker

poll: install
	$(BIN)/flask poll --once

# Web page translations: extract strings, update the catalogues, compile the .mo files (committed).
.PHONY: translations
translations: install-dev
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 -k _x:1c,2 --no-location --sort-output -o shipments/translations/messages.pot .
	$(BIN)/pybabel update -i shipments/translations/messages.pot -d shipments/translations --width 120 --ignore-obsolete --no-fuzzy-matching
	$(BIN)/pybabel compile -d shipments/translations --statistics
