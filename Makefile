# The README's commands. Everything runs from a virtual environment in .venv that the first
# command creates, so a fresh machine needs only python3, pip and make.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PIP := $(PY) -m pip
EXTRAS ?= test,lint,drf,openapi,postgresql,docs,celery,tasks
PYTEST_ARGS ?=
REDIS_URL ?= redis://127.0.0.1:6379/0
DEMO_ADDR := 127.0.0.1:8000

# Stamps inside the venv: reinstall only when pyproject.toml changes.
INSTALLED := $(VENV)/.installed
INSTALLED_MYSQL := $(VENV)/.installed-mysql
INSTALLED_BROWSER := $(VENV)/.installed-browser

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help
.PHONY: help venv install test test-redis test-postgresql test-mysql test-custom-user fuzz fuzz-api matrix test-all-db coverage \
	test-celery test-django-tasks test-timezones test-multidb \
	test-browser test-quickstart screenshots lint format docs openapi demo bench bench-password-reset bench-api-keys bench-load \
	bench-tokens \
	clean distclean

help:
	@echo "make demo             run the example site on http://$(DEMO_ADDR)/ (admin / admin)"
	@echo "make test             run the tests on SQLite"
	@echo "make test-redis       the same with the cache on Redis ($(REDIS_URL))"
	@echo "make test-postgresql  run the tests on PostgreSQL (127.0.0.1:5432)"
	@echo "make test-mysql       run the tests on MariaDB/MySQL (127.0.0.1:3306)"
	@echo "make test-custom-user the engine with a UUID-keyed custom user model"
	@echo "make test-timezones   the time-related tests in two non-UTC zones on all three databases"
	@echo "make test-multidb     a primary, its replica and a third database behind a router, on all three"
	@echo "make test-celery      reset mail through Celery: a real worker on RabbitMQ (127.0.0.1:5672)"
	@echo "make test-django-tasks reset mail through django.tasks: a real db_worker process"
	@echo "make fuzz             property-based fuzzing with CI's budget"
	@echo "make fuzz-api         schemathesis fuzzes the JSON API from its OpenAPI schema (3,600 requests)"
	@echo "make matrix           the suite on every supported Python x Django pair (tox)"
	@echo "make test-all-db      all four of the above"
	@echo "make test-browser     the end-to-end flows in headless Chromium (needs apt-get install chromium)"
	@echo "make test-quickstart  the README's quick start in a fresh virtualenv (about 1 minute)"
	@echo "make screenshots      the docs' screenshots of the pages, from headless Chromium"
	@echo "make coverage         make test under branch coverage; fails below 100 % (CI runs this)"
	@echo "make lint             ruff check, ruff format --check, mypy and lint-imports (the layers)"
	@echo "make format           let ruff fix and format the code"
	@echo "make docs             build the Sphinx docs into docs/_build/html (warnings are errors)"
	@echo "make openapi          regenerate docs/reference/openapi.json, the JSON API's schema"
	@echo "make bench            run the benchmarks"
	@echo "make bench-password-reset  reset-request timing, known vs unknown addresses (R-36)"
	@echo "make bench-api-keys   API-key authentication against a primary-key fetch"
	@echo "make bench-tokens     issue, verify and consume of links and codes against the same"
	@echo "make bench-load       gunicorn on 127.0.0.1: API-key throughput, concurrent resets"
	@echo "make venv             create .venv and install the package with its dev extras"
	@echo "make clean            remove build, docs and coverage output (distclean: and .venv)"

venv install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e '.[$(EXTRAS)]'
	touch $@

# mysqlclient compiles against libmariadb-dev (apt-get install libmariadb-dev pkg-config).
$(INSTALLED_MYSQL): $(INSTALLED)
	$(PIP) install -e '.[mysql]'
	touch $@

# Playwright drives Debian's /usr/bin/chromium; never `playwright install`, which downloads.
$(INSTALLED_BROWSER): $(INSTALLED)
	$(PIP) install -e '.[browser]'
	touch $@

test: $(INSTALLED)
	$(PY) -m pytest $(PYTEST_ARGS)

test-redis: $(INSTALLED)
	SECURETOKENS_TEST_REDIS=$(REDIS_URL) $(PY) -m pytest $(PYTEST_ARGS)

test-postgresql: $(INSTALLED)
	SECURETOKENS_TEST_DB=postgresql $(PY) -m pytest $(PYTEST_ARGS)

test-mysql: $(INSTALLED_MYSQL)
	SECURETOKENS_TEST_DB=mysql $(PY) -m pytest $(PYTEST_ARGS)

# The engine with a UUID-keyed user model whose email field is not called "email".
test-custom-user: $(INSTALLED)
	DJANGO_SETTINGS_MODULE=tests.settings_custom_user $(PY) -m pytest $(PYTEST_ARGS) \
		tests/test_custom_user.py tests/test_tokens.py tests/test_codes.py \
		tests/test_bad_input.py tests/test_storage.py tests/test_custom_user_password_reset.py

# The time-related tests with TIME_ZONE in a zone with a daylight-saving change and in one
# with a half-hour offset, on SQLite, PostgreSQL and MariaDB (time-zone tables not loaded).
TZ_TESTS := tests/test_time_zones.py tests/test_admin_display.py tests/test_tokens.py \
	tests/test_codes.py tests/test_api_keys.py tests/test_admin_tokens.py \
	tests/test_admin_api_keys.py tests/test_commands.py tests/test_ratelimit.py
test-timezones: $(INSTALLED_MYSQL)
	@set -e; for db in sqlite postgresql mysql; do for zone in America/New_York Asia/Kolkata; do \
		echo "== $$db, TIME_ZONE = $$zone"; \
		SECURETOKENS_TEST_DB=$$db SECURETOKENS_TEST_TZ=$$zone \
			$(PY) -m pytest -q -p no:randomly $(PYTEST_ARGS) $(TZ_TESTS); \
	done; done

# Several databases behind a router (tests.settings_multidb): a primary, a replica that is a
# database of its own (a read sent there misses) and one reached only by db_manager(), on
# SQLite, PostgreSQL and MariaDB. Only the module that needs them.
test-multidb: $(INSTALLED_MYSQL)
	@set -e; for db in sqlite postgresql mysql; do \
		echo "== $$db: default, replica and other"; \
		SECURETOKENS_TEST_DB=$$db DJANGO_SETTINGS_MODULE=tests.settings_multidb \
			$(PY) -m pytest -q $(PYTEST_ARGS) tests/test_multiple_databases.py; \
	done

# The mail senders with a real worker process on the test database: SQLite in a file, or
# the server that SECURETOKENS_TEST_DB names. The worker writes mail files the test reads.
WORKER_TESTS := DJANGO_SETTINGS_MODULE=tests.settings_queues $(PY) -m pytest -m worker $(PYTEST_ARGS)
test-celery: $(INSTALLED)
	$(WORKER_TESTS) tests/test_worker_celery.py

test-django-tasks: $(INSTALLED)
	$(WORKER_TESTS) tests/test_worker_django_tasks.py

# Property-based fuzzing with CI's fixed, derandomised budget: 1,250 inputs for each of the
# 11 fuzz tests (3 engine, 8 HTTP and forms), 13,750 in all; prints the total and the time.
FUZZ_EXAMPLES ?= 1250
fuzz: $(INSTALLED)
	@start=$$(date +%s); \
	SECURETOKENS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest $(PYTEST_ARGS) \
		tests/test_fuzz_engine.py tests/test_fuzz_http.py \
		&& n=$$($(PY) -m pytest -q --collect-only tests/test_fuzz_engine.py tests/test_fuzz_http.py \
			| grep -c '::') \
		&& echo "fuzz: $$n tests x $(FUZZ_EXAMPLES) examples = $$((n * $(FUZZ_EXAMPLES))) generated inputs in $$(( $$(date +%s) - start )) s"

# schemathesis against the JSON API's own OpenAPI schema, derandomised: 150 examples for each of
# 12 operations x 2 modes (schema-conforming and schema-breaking bodies) = 3,600 requests, at
# least 3,000 of which must be sent; 0 server errors and 0 answers outside the schema.
FUZZ_API_EXAMPLES ?= 150
fuzz-api: $(INSTALLED)
	@start=$$(date +%s); \
	SECURETOKENS_FUZZ_API_EXAMPLES=$(FUZZ_API_EXAMPLES) SECURETOKENS_FUZZ_API_MIN_REQUESTS=3000 \
		$(PY) -m pytest -s -p no:randomly $(PYTEST_ARGS) tests/test_api_fuzz.py \
		&& echo "fuzz-api: done in $$(( $$(date +%s) - start )) s"

# Every supported Python x Django pair (tox.ini). pyenv's interpreters go on PATH first, since
# tox looks for python3.X there and does not follow pyenv's shims.
PYENV_BINS := $(shell ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[0-3].*/bin 2>/dev/null | tr '\n' ':')
matrix: $(INSTALLED)
	$(PIP) install --quiet 'tox>=4.2'
	PATH="$(PYENV_BINS)$$PATH" $(BIN)/tox run-parallel --parallel 2 --parallel-no-spinner \
		-- -q $(PYTEST_ARGS)

test-all-db: test test-redis test-postgresql test-mysql

# SECURETOKENS_BROWSER_REQUIRED turns "skipped: no browser" into a failure.
test-browser: $(INSTALLED_BROWSER)
	SECURETOKENS_BROWSER_REQUIRED=1 $(PY) -m pytest -m browser $(PYTEST_ARGS)

# The browser walk of the example project, saving each page as a PNG for the docs' how-tos.
screenshots: $(INSTALLED_BROWSER)
	SECURETOKENS_BROWSER_REQUIRED=1 SECURETOKENS_SCREENSHOTS=$(CURDIR)/docs/_static/screenshots \
		$(PY) -m pytest -m browser $(PYTEST_ARGS) tests/browser/test_walk_example.py

# The README's marked quick-start blocks, run in a new virtualenv and a new startproject.
test-quickstart: $(INSTALLED)
	SECURETOKENS_QUICKSTART=1 $(PY) -m pytest -m quickstart $(PYTEST_ARGS) tests/test_quickstart.py

# CI's SQLite leg: the whole suite under branch coverage, failing below 100 % of the package.
coverage: $(INSTALLED)
	$(PY) -m coverage erase
	$(PY) -m coverage run -m pytest $(PYTEST_ARGS)
	$(PY) -m coverage report

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

docs: $(INSTALLED)
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

# The JSON API's OpenAPI schema as the docs publish it; tests/test_api_schema.py fails when the
# file and the code disagree.
openapi: $(INSTALLED)
	SECURETOKENS_WRITE_OPENAPI=1 $(PY) -m pytest -q -p no:randomly tests/test_api_schema.py

demo: $(INSTALLED)
	$(PY) example_project/manage.py migrate --noinput
	$(PY) example_project/manage.py demouser
	@echo
	@echo "  Demo site:  http://$(DEMO_ADDR)/"
	@echo "  Admin:      http://$(DEMO_ADDR)/admin/  (log in as admin / admin)"
	@echo "  Sent mail:  example_project/sent_mail/"
	@echo "  Stop with Ctrl-C."
	@echo
	$(PY) example_project/manage.py runserver $(DEMO_ADDR)

bench: bench-password-reset bench-api-keys bench-tokens bench-load

# authenticate() against User.objects.filter(pk=...).first() at 1,000 and 100,000 keys, on
# every configuration the docs' table shows, each against its own target (issue 15): SQLite
# <= 0.25x, PostgreSQL with server_side_binding <= 0.5x, PostgreSQL with defaults <= 0.75x.
# Every configuration runs even when an earlier one misses its target; the exit status is 1
# if any did.
bench-api-keys: $(INSTALLED)
	status=0; \
	$(PY) benchmarks/api_keys.py --db sqlite || status=1; \
	$(PY) benchmarks/api_keys.py --db postgresql --prepared || status=1; \
	$(PY) benchmarks/api_keys.py --db postgresql || status=1; \
	exit $$status

# Every token operation and APIKey.objects.issue() against the same floor at 1,000 and 100,000
# users, with the statements each sends and what each is for (docs/topics/performance.rst).
# Both databases run even when the first misses a target; the target then fails.
bench-tokens: $(INSTALLED)
	$(PY) benchmarks/tokens.py --db sqlite; status=$$?; \
	$(PY) benchmarks/tokens.py --db postgresql && exit $$status

# The medians for known and unknown addresses must differ by < 10 %, and the JSON and HTML
# reset requests make no database query (exit status 1 if not).
bench-password-reset: $(INSTALLED)
	$(PY) benchmarks/password_reset_timing.py

# The example project under gunicorn on 127.0.0.1 and PostgreSQL: one view authenticated by
# API key vs by session cookie (the key must reach at least the session's req/s), API-key
# requests vs a view without authentication (medians of interleaved rounds; errors must be
# 0), and 20 concurrent reset requests for one account leaving exactly one live token.
# About a minute.
bench-load: $(INSTALLED)
	$(PIP) install --quiet -e '.[bench]'
	$(PY) benchmarks/load.py --duration 10 --concurrency 16

clean:
	rm -rf build dist docs/_build htmlcov .coverage .coverage.* coverage.xml \
		.pytest_cache .mypy_cache .ruff_cache

distclean: clean
	rm -rf $(VENV)
