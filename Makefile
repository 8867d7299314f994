# Clearhouse: `make run` and `make test` are all a newcomer needs (see README.md).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export DJANGO_SETTINGS_MODULE := config.settings

.PHONY: run test up lint format lock bench bench-engine bench-matcher bench-http bench-risk clean migrate manage
# The embedded default's environment (make run, make manage): DEBUG on unless told otherwise,
# so no SECRET_KEY is needed; production (DEBUG off) still refuses to start without one.
EMBEDDED := DEBUG=$${DEBUG:-true}

# The venv is rebuilt whenever the lock file changes.
$(BIN)/.installed: requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	touch $@

migrate: $(BIN)/.installed
	$(EMBEDDED) $(BIN)/python manage.py migrate --no-input

# The web server and the scheduler (the beat schedule, run in-process: no broker here),
# started and stopped together by honcho (Procfile.embedded); Ctrl-C stops both.
run: migrate
	$(EMBEDDED) $(BIN)/python manage.py seed_demo
	@echo "Clearhouse at http://127.0.0.1:$(PORT)/  admin: http://127.0.0.1:$(PORT)/admin/  API docs: http://127.0.0.1:$(PORT)/api/docs/"
	$(EMBEDDED) PORT=$(PORT) PYTHONUNBUFFERED=1 PATH=$(CURDIR)/$(BIN):$$PATH \
		$(BIN)/honcho -f Procfile.embedded start

# Any management command with make run's defaults, e.g. make manage ARGS=ledger_check
manage: $(BIN)/.installed
	$(EMBEDDED) $(BIN)/python manage.py $(ARGS)

test: $(BIN)/.installed
	DEBUG=false SECRET_KEY=$${SECRET_KEY:-test-only-secret-key-not-for-production-use} $(BIN)/python -m pytest $(PYTEST_ARGS)

# The production-like stack on one machine: gunicorn, a Celery worker and beat (Procfile).
up: $(BIN)/.installed
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/honcho start

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-pin every dependency from the ranges in pyproject.toml.
lock: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml -p 3.11 -q -o requirements/base.txt
	$(BIN)/uv pip compile pyproject.toml --extra dev -p 3.11 -q -o requirements/dev.txt

bench: $(BIN)/.installed
	$(BIN)/python bench/ledger_transfers.py

# The matching engine alone beside lightmatchingengine (a bench-only dependency).
bench-engine: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -r requirements/bench.txt
	$(BIN)/python bench/matching_engine.py $(BENCH_ARGS)

# The durable matcher on PostgreSQL beside hand-written SQL (its own scratch database).
bench-matcher: $(BIN)/.installed
	$(BIN)/python bench/matcher.py $(BENCH_ARGS)

# The API through gunicorn + PostgreSQL + Redis under wrk, beside in-process figures.
bench-http: $(BIN)/.installed
	$(BIN)/python bench/http_api.py

# One risk decision (50 rules, velocity on Redis) beside order entry with risk off.
bench-risk: $(BIN)/.installed
	$(BIN)/python bench/risk_check.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3* staticfiles
