# The two commands of the quickstart: `make demo` and `make test`; `make check` while iterating.
# Each creates the virtual environment when it is missing or pyproject.toml changed.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Test files in memory where the machine has a tmpfs: Dagster's SQLite instance commits on every event.
# One folder per checkout: pytest empties its base folder when it starts, and two checkouts may test at once.
TEST_TMP ?= $(if $(wildcard /dev/shm),/dev/shm/mesh-tests-$(shell id -u)-$(shell printf %s "$(CURDIR)" | cksum | cut -d" " -f1),$(CURDIR)/.test-tmp)
# Every core: tests spread over pytest-xdist workers, which share one materialized demo mesh (the modules sharing a
# costly fixture each on one worker: tests/conftest.py).
PYTEST := $(BIN)/python -m pytest -n auto --basetemp=$(TEST_TMP)

.PHONY: demo test check lint bench bench-quick install browser postgres clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

## Seed the demo data, materialize every product of every domain, serve the UI on 127.0.0.1.
demo: install
	$(BIN)/mesh demo

## Run the whole test suite (end-to-end and browser tests included) after the linters: what CI runs.
test: lint browser postgres
	$(PYTEST)

## The fast tier, under a minute, after the linters: no materialized demo mesh, no UI (the tests marked slow are skipped).
check: lint
	$(PYTEST) -m "not slow"

## The formatter's check, the linter and the type checker (configured in pyproject.toml).
lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy mesh_platform

## The benchmark suite: the mesh against raw DuckDB and plain Dagster, 10M rows and a 100M-row daily product (bench/run.py; tens of minutes).
bench: install postgres
	$(BIN)/python -m bench.run

## The same at 1M rows and a smaller definitions scenario: a few minutes.
bench-quick: install postgres
	$(BIN)/python -m bench.run --quick

# $(call debian-package,PACKAGE,WHAT IT IS FOR): install Debian's PACKAGE (root and apt-get), else warn.
debian-package = if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's $(1) for $(2)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null; \
	else \
	  echo "warning: $(1) is missing and cannot be installed here (needs root and apt-get); $(2) will be skipped outside CI"; \
	fi

## Chromium for the browser test: Debian's package (browser downloads are not possible offline).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { $(call debian-package,chromium,the browser test); }

## PostgreSQL's server for the tests of the production shapes: Debian's package, installed when missing.
## (The tests start a throwaway cluster of their own on 127.0.0.1 and delete it after; tests/postgres_server.py.)
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1 || { $(call debian-package,postgresql,the deployment tests); }

## Delete the mesh's state (MESH_HOME), the test files and the virtual environment.
clean:
	rm -rf .mesh .test-tmp $(TEST_TMP) $(VENV)
