# Two commands matter: `make run` and `make test`. Both bootstrap .venv when it is missing or stale.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DEV_ENV := DEBUG=true
# The demo's webhook goes to this server's own demo receiver, a loopback address.
RUN_ENV := $(DEV_ENV) AUTOMATION_ALLOW_PRIVATE_URLS=true DEMO_WEBHOOK_URL=http://127.0.0.1:$(PORT)/demo/webhook-receiver/

.PHONY: run serve test lint fmt bootstrap worker

$(VENV)/.installed: pyproject.toml client/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q ".[dev]"
	$(PY) -m pip install -q -e ./client
	touch $@

bootstrap: $(VENV)/.installed

# `manage.py` commands typed by hand (README) read this file: DEBUG=true, so no SECRET_KEY is needed.
# Written once; delete it or set DEBUG=false in production (the environment wins over the file).
.env:
	printf '# Written by `make run`: settings read KEY=VALUE lines here; the environment wins.\nDEBUG=true\n' > $@

run: bootstrap .env
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py seed_demo
	@echo "Registry is on http://127.0.0.1:$(PORT)/ — log in with a user and password printed above."
	@# A task worker runs beside the web server (automation webhooks, the hourly storage cleanup); it stops when runserver does.
	$(RUN_ENV) $(PY) manage.py cleanup_storage --schedule
	@# It starts once the server answers: the demo's webhook goes to this server, and a worker that
	@# started first would fail each queued delivery once and show every run with "2 attempts".
	( until $(PY) -c 'import urllib.request as u; u.urlopen("http://127.0.0.1:$(PORT)/login/", timeout=1)' 2>/dev/null; \
	  do sleep 0.5; done; exec env $(RUN_ENV) $(PY) manage.py db_worker --no-reload ) & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(RUN_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT)

# Production on one host (docs/deploy.md): SECRET_KEY and ALLOWED_HOSTS come from the environment, DEBUG is off
# whatever .env says. Migrates, collects static files (whitenoise serves them), then runs gunicorn (one worker per
# core unless WEB_CONCURRENCY says otherwise) with TASK_WORKERS task workers beside it; all stop together.
PROD_ENV := DEBUG=false
TASK_WORKERS ?= 1
serve: bootstrap
	$(PROD_ENV) $(PY) manage.py check --deploy
	$(PROD_ENV) $(PY) manage.py migrate --noinput
	$(PROD_ENV) $(PY) manage.py collectstatic --noinput -v 0
	$(PROD_ENV) $(PY) manage.py cleanup_storage --schedule
	pids=""; for n in $$(seq 1 $(TASK_WORKERS)); do $(PROD_ENV) $(PY) manage.py db_worker --no-reload & pids="$$pids $$!"; done; \
	trap 'kill $$pids 2>/dev/null' EXIT INT TERM; \
	$(PROD_ENV) $(VENV)/bin/gunicorn -c registry_site/gunicorn_conf.py registry_site.wsgi

worker: bootstrap
	$(RUN_ENV) $(PY) manage.py cleanup_storage --schedule
	$(RUN_ENV) $(PY) manage.py db_worker

# Bytecode is written (to __pycache__/, which git ignores) even where the environment sets PYTHONDONTWRITEBYTECODE:
# otherwise each xdist worker and each subprocess a test starts compiles the project again, and pytest re-rewrites
# every test module's asserts from source.
TEST_ENV := $(DEV_ENV) PYTHONDONTWRITEBYTECODE=

# The hooks in .pre-commit-config.yaml (ruff, django-upgrade, djade, whitespace…) run the tools in .venv, offline.
# They see files git tracks; the ruff lines also cover new, not yet added files.
lint: bootstrap
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(PY) -m pre_commit run --all-files --show-diff-on-failure
	$(TEST_ENV) $(PY) manage.py makemigrations --check --dry-run

test: lint
	$(TEST_ENV) $(PY) -m pytest -n auto --maxprocesses 4

fmt: bootstrap
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .
	-$(PY) -m pre_commit run --all-files
