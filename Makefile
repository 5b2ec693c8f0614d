# The README's two commands: `make demo` and `make test`. Each sets up .venv if missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: demo test lint bench mutate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel

# Core install: NumPy only.
$(VENV)/.core: $(BIN)/python pyproject.toml
	$(PIP) install -e .
	touch $@

# Everything the tests need: every optional extra, torch pinned to the CPU build.
$(VENV)/.all: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install -c constraints.txt -e '.[torch,jax,dask,plot,dev]'
	touch $@ $(VENV)/.core

demo: $(VENV)/.core
	$(BIN)/gradcheck demo

lint: $(VENV)/.all
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(VENV)/.all
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

# Mutation testing of the verdict code (long: not part of `make test`); writes docs/testing.md.
$(VENV)/.mutate: $(VENV)/.all constraints.txt
	$(PIP) install -c constraints.txt -e '.[torch,jax,dask,plot,dev,mutate]'
	touch $@

mutate: $(VENV)/.mutate
	$(BIN)/python tools/mutate.py $(MODULES)

bench: $(VENV)/.all
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/accuracy.py

clean:
	rm -rf $(VENV) mutants build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
