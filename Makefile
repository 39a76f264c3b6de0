# Two entry points on a fresh machine: `make demo` (set up + run the main job offline) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel setuptools
	$(BIN)/pip install -q -e '.[infra,dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/isf render --stack staging --out out/render-staging

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pyright
	$(BIN)/pytest -n 2 -q

clean:
	rm -rf $(VENV) out .pytest_cache
