# Prism — the two commands of the README are `make demo` and `make test`.
# Every target sets up what it needs; re-running is cheap (stamps and content hashes).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test setup node-deps system-deps models lint typecheck unit bench load clean checkov

demo: setup system-deps node-deps models
	$(BIN)/prism demo

test: setup node-deps system-deps models checkov lint typecheck
	$(BIN)/python -m pytest

setup: $(STAMP)

# checkov scans bicep/ from its own venv (its packaging<24 pin clashes with pytest 9).
CHECKOV_STAMP := .venv-checkov/.installed

checkov: $(CHECKOV_STAMP)

$(CHECKOV_STAMP): requirements-checkov.txt
	test -x .venv-checkov/bin/python || $(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and alone: pinned to the CPU wheel so no dependency drags in CUDA.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# The local emulators (Azurite, the Cosmos DB emulator), pinned by package-lock.json.
# Same stamp as prism.localstack.ensure_node_packages, so either may install.
NODE_STAMP := node_modules/.installed

node-deps: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Debian packages: espeak-ng speaks the audio that gates the VAD model and the tests use;
# chromium is the browser the console's tests drive (no browser is ever downloaded).
system-deps:
	@command -v espeak-ng >/dev/null && command -v chromium >/dev/null || { \
	  (apt-get update -qq && apt-get install -y -qq espeak-ng chromium >/dev/null) || \
	  { echo "error: could not install espeak-ng and chromium (apt-get install ...)"; exit 1; }; }

models: setup system-deps
	$(BIN)/prism models build

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy prism functions function_app.py models bench tests

bench: setup models
	$(BIN)/python -m bench

# 5,000 mixed files (5 % hostile) through the local host; minutes, so not in `make test`.
load: setup node-deps models
	$(BIN)/python -m bench.load

clean:
	rm -rf models/build .prism bench/results
