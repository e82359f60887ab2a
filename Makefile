# The two commands: `make run` and `make test`. Both bootstrap first (idempotent).
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= profiles/sandbox.yaml

.PHONY: bootstrap run test lint typecheck pytest clean

bootstrap:
	./scripts/bootstrap

# until `gameday run` exists: sandbox up, 30 s of the default load, its figures, sandbox down
run: bootstrap
	$(BIN)/gameday sandbox up
	$(BIN)/gameday load profiles/load-only.yaml --duration 30; rc=$$?; $(BIN)/gameday sandbox down; exit $$rc

lint: bootstrap
	$(BIN)/ruff check .

typecheck: bootstrap
	$(BIN)/mypy harness analysis

pytest: bootstrap
	$(BIN)/pytest -q -ra

test: lint typecheck pytest

clean:
	-$(BIN)/python -m sandbox down
	rm -rf runs .pytest_cache .mypy_cache .ruff_cache
