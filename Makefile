# Two commands on a fresh machine: `make run` and `make test`.
# Both bootstrap .venv from the pinned requirements once, then reuse it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Empty: one worker per core (autom8_site/launch.py, default_workers).
WEB_CONCURRENCY ?=
STAMP  := $(VENV)/.installed

export DJANGO_SETTINGS_MODULE := autom8_site.settings

.PHONY: run test lint audit format bootstrap migrate static clean bench

run: bootstrap
	@echo "Autom8 on http://$(HOST):$(PORT)/  (admin: /admin/, docs: /api/v1/docs/)  Ctrl-C stops"
	@$(BIN)/python -m autom8_site.launch --host "$(HOST)" --port "$(PORT)" $(if $(WEB_CONCURRENCY),--workers "$(WEB_CONCURRENCY)")

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

# bandit over the project code; pip-audit against PyPI's advisory data (needs
# the network: without it, the step says so in one line and passes).
audit: $(STAMP)
	$(BIN)/bandit -q -c pyproject.toml -r .
	$(BIN)/python .ci/audit_deps.py

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bootstrap: $(STAMP)
	@$(BIN)/python manage.py migrate --noinput -v0
	@$(BIN)/python manage.py collectstatic --noinput -v0

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Autom8 needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

# Load benchmark on 127.0.0.1 (needs wrk; see BENCHMARKS.md). Not part of CI.
bench: bootstrap
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
