# socialsell: the two commands of the quickstart, and the developer's helpers.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
SANDBOX_PORT ?= 8100
PYTEST_ARGS ?=
# Two workers suit the 2-core machines CI runs on; override with `make test XDIST=auto`.
XDIST ?= 2
POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432
REDIS_URL ?= redis://127.0.0.1:6379

.PHONY: run test test-sqlite test-postgres install install-test lint format typecheck bench clean messages

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/activate
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[test,dev]'

## make run: set up, migrate, seed the demo workspace wired to the sandbox, and serve the app.
run: install
	$(BIN)/socialsell migrate
	$(BIN)/socialsell demo --host $(HOST) --port $(PORT) --sandbox-port $(SANDBOX_PORT)

## make test: the whole suite on SQLite, then on PostgreSQL + Redis when they are reachable
## (REQUIRE_SERVICES=1, as in CI, turns an unreachable server into a failure).
test: install-test
	@$(MAKE) --no-print-directory test-sqlite
	@if $(PY) -m socialsell.devtools.services "$(POSTGRES_URL)" "$(REDIS_URL)"; then \
		$(MAKE) --no-print-directory test-postgres; \
	elif [ -n "$(REQUIRE_SERVICES)" ]; then \
		echo "PostgreSQL or Redis is not reachable and REQUIRE_SERVICES is set: failing."; exit 1; \
	else \
		echo "PostgreSQL or Redis is not reachable: the PostgreSQL + Redis suite was NOT run."; \
	fi

test-sqlite: install-test
	SOCIALSELL_TEST_BACKEND=sqlite $(BIN)/pytest -n $(XDIST) $(PYTEST_ARGS)

test-postgres: install-test
	SOCIALSELL_TEST_BACKEND=postgres SOCIALSELL_TEST_POSTGRES_URL=$(POSTGRES_URL) \
		SOCIALSELL_TEST_REDIS_URL=$(REDIS_URL) $(BIN)/pytest -n $(XDIST) $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations

format: install-test
	$(BIN)/ruff format src tests bench migrations
	$(BIN)/ruff check --fix src tests bench migrations

typecheck: install-test
	$(BIN)/mypy

bench: install-test
	$(PY) bench/api_bench.py

## Re-extract UI strings and update the catalogs (then translate and `make messages` again).
messages: install-test
	$(BIN)/pybabel extract -F babel.cfg --project socialsell --version 0.1.0 \
		--add-location file --sort-output -o src/socialsell/locale/messages.pot .
	$(BIN)/pybabel update -i src/socialsell/locale/messages.pot -d src/socialsell/locale \
		--no-fuzzy-matching
	$(BIN)/pybabel compile -d src/socialsell/locale --statistics

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts
