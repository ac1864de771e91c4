# The two commands: `make run` (install, migrate, demo content, serve) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app app
PYTEST_WORKERS ?= 2
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint format bench bench-worst clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,production]'
	touch $(STAMP)

# The last lines before the server starts say where the blog is and how to sign in: the first
# admin's one-time password on the first run, how to set a new one on later runs.
run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) blog demo --address http://$(HOST):$(PORT)/
	$(FLASK) run --host $(HOST) --port $(PORT)

# axe-core for the accessibility tests comes from the npm registry (package.json, package-lock.json).
# Without npm the tests that need it are skipped, and say why.
AXE := node_modules/axe-core/axe.min.js

$(AXE): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the accessibility tests will be skipped"; fi

test: $(STAMP) $(AXE) lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m bench

bench-worst: $(STAMP)
	$(BIN)/python -m bench.worst

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .hypothesis
