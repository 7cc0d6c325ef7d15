# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

$(BIN)/returnsbot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

.PHONY: install demo test bench
install: $(BIN)/returnsbot

demo: install
	$(BIN)/returnsbot demo

test: install
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.policy
