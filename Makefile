# The two commands a newcomer needs: `make demo` and `make test`.
# Both set up their own virtual environment (and the system packages they need) first.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test lint typecheck unit clean

setup:
	bash scripts/setup.sh

demo: setup
	$(PY) -m scripts.demo $(DEMO_ARGS)

lint: setup
	$(VENV)/bin/ruff check edge forecasting central scripts tests
	$(VENV)/bin/ruff format --check edge forecasting central scripts tests

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	$(VENV)/bin/pytest -q tests/unit

test: setup
	$(VENV)/bin/ruff check edge forecasting central scripts tests
	$(VENV)/bin/ruff format --check edge forecasting central scripts tests
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q -ra tests

clean:
	rm -rf $(VENV) out .mypy_cache .ruff_cache .pytest_cache
