# Two entry points on a fresh machine: `make demo` (set up + run the main job offline) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov's pins conflict with pulumi's: it gets its own virtualenv (tests/infra/test_checkov.py runs it).
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

.PHONY: setup checkov demo test lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel setuptools
	$(BIN)/pip install -q -e '.[infra,dev]'
	touch $(STAMP)

setup: $(STAMP)

$(CHECKOV_STAMP):
	$(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q --upgrade pip
	$(CHECKOV_VENV)/bin/pip install -q checkov==$(CHECKOV_VERSION)
	touch $(CHECKOV_STAMP)

checkov: $(CHECKOV_STAMP)

demo: $(STAMP)
	$(BIN)/isf render --stack staging --out out/render-staging

test: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/pyright
	$(BIN)/pytest -n 2 -q

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) out .pytest_cache
