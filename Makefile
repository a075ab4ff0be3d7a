# Two commands for a newcomer (see README): `make demo` and `make test`.
# Each installs what it needs into .venv by itself; re-running installs nothing new.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
BIN := $(VENV)/bin

.PHONY: demo test lint bench bench-national scale serve clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/factory-review demo $(ARGS)

test: $(STAMP)
	bash scripts/test.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	@bash scripts/bench.sh $(ARGS)

# 500,000 basic filings on PostgreSQL (throwaway databases); SIZE=50000 for a shorter run.
bench-national: $(STAMP)
	bash scripts/bench-national.sh

# Several Prefect workers on one PostgreSQL-backed server, one SIGKILLed mid-run (replay/scale.py).
scale: $(STAMP)
	bash scripts/scale.sh $(ARGS)

serve: $(STAMP)
	$(BIN)/factory-review serve

clean:
	rm -rf $(VENV) data out
