# The two commands a fresh machine needs: `make run` and `make test`. Each sets up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint serve clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,local]"
	touch $(STAMP)

## run: the reference workflow on the embedded emulator, with the seed image's own XGBoost (0.72) runtime
run: $(STAMP)
	-$(BIN)/harness runtimes install 1  # best effort: without it, jobs run on the installed XGBoost and say so
	$(BIN)/harness run

## test: lint, type-check and the whole test suite
test: $(STAMP) lint
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check harness backends fixtures tests bench examples
	$(BIN)/mypy

## serve: the emulator as one local AWS endpoint
serve: $(STAMP)
	$(BIN)/harness serve

clean:
	rm -rf $(VENV) .venv-sdk .harness-state .pytest_cache .mypy_cache .ruff_cache
