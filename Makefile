# Two commands do all the set-up on a fresh machine:
#   make run   - create .venv, install ruleplus, run the demo
#   make test  - create .venv, install ruleplus with dev extras, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.ruleplus-installed
# the analysts' console: built from console/ into the package (shipped in the wheel) when its
# bundle is missing or older than its sources
NPM_STAMP := console/node_modules/.package-lock.json
BUNDLE := src/ruleplus/console_bundle/index.html
CONSOLE_SRC := $(shell find console/src -type f 2>/dev/null) console/index.html \
	console/package.json console/vite.config.ts console/tsconfig.json

.PHONY: run test lint typecheck bench clean console console-test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NPM_STAMP): console/package-lock.json
	cd console && npm ci --no-audit --no-fund --loglevel=error

$(BUNDLE): $(NPM_STAMP) $(CONSOLE_SRC)
	cd console && npm run --silent build

console: $(BUNDLE)

console-test: $(NPM_STAMP)
	cd console && npm test --silent

run: $(STAMP) $(BUNDLE)
	$(BIN)/ruleplus serve --demo

test: $(STAMP) $(BUNDLE)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	cd console && npm test --silent
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/engine.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache console/node_modules src/ruleplus/console_bundle
