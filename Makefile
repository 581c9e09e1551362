# The two commands of the quickstart: `make demo` and `make test`.
# Each creates the virtual environment when it is missing or pyproject.toml changed.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

## Seed the demo data, materialize every product of every domain, serve the UI on 127.0.0.1.
demo: install
	$(BIN)/mesh demo

## Run the whole test suite (end-to-end tests included).
test: install
	$(BIN)/python -m pytest

## Delete the mesh's state (MESH_HOME) and the virtual environment.
clean:
	rm -rf .mesh $(VENV)
