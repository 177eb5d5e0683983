# The two commands: `make run` serves the seeded site, `make test` runs the suite.
# Both set up the virtualenv from the lock file first, and skip that when
# nothing changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install setup lint format lock clean bench

install: $(STAMP)

$(STAMP): requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	@touch $@

# Migrate, load the tag vocabulary, import the seeds and make sure there is
# an admin user; every step is idempotent.
setup: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py loadvocabulary
	$(BIN)/python manage.py seed
	$(BIN)/python manage.py createlocaladmin

run: setup
	@echo "Newsroom: http://$(HOST):$(PORT)/   admin: http://$(HOST):$(PORT)/admin/"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The whole benchmark (bench/README.md): about 30 minutes, needs wrk and, for
# the cached runs, Redis; writes bench/RESULTS.md. BENCH_ARGS="--db sqlite
# --articles 1000" runs one configuration instead.
BENCH_ARGS ?= --matrix
bench: install
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-pin every dependency after editing pyproject.toml.
lock:
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet pip-tools
	.lock-venv/bin/pip-compile --quiet --generate-hashes --allow-unsafe --extra dev \
		--strip-extras -o requirements.lock pyproject.toml
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache test-artifacts
