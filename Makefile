# Hubport. `make run` and `make test` do all the set-up on a fresh machine that
# has Python 3.11+ and make. State of the embedded default: $HUBPORT_DATA_DIR or var/.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip --disable-pip-version-check

.PHONY: run test faults lint format migrate clean dr-drill

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Hubport needs Python 3.11 or newer (make PYTHON=python3.12 run)"'
	$(PYTHON) -m venv $(VENV)

# The marker files make a second `make run` skip pip; editing a requirements
# file makes the next run install again.
$(VENV)/.run-installed: requirements.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.run-installed

migrate: $(VENV)/.run-installed
	$(PY) manage.py migrate_all --verbosity 0

# Every step is idempotent, so running it again is safe; bin/run-embedded
# starts the web server, the worker and beat, and Ctrl-C stops all three.
run: migrate
	$(PY) manage.py seed_demo
	@bash bin/run-embedded || test $$? -eq 130  # 130: stopped by Ctrl-C, as asked

test: $(VENV)/.dev-installed
	$(VENV)/bin/pytest

# The fault suite: every test marked `faults` (portal/tests/faults and any other
# that kills a real process), left out of `make test`. Real web server and
# worker processes killed and storage broken, on the embedded default, or on
# PostgreSQL and Redis when DATABASE_URL, HUB_<CODE>_DATABASE_URL,
# CELERY_BROKER_URL and CACHE_URL name them (README, "Fault suite").
faults: $(VENV)/.dev-installed
	$(VENV)/bin/pytest -m faults

# The disaster-recovery drill (README, "Disaster-recovery drill"): throwaway
# PostgreSQL clusters and folders of its own; prints its JSON report, exits
# non-zero when a write was lost, a check failed or it passed its 175 s limit.
dr-drill: $(VENV)/.run-installed
	$(PY) manage.py dr_drill --json

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var
