# Two commands on a fresh machine: `make run` serves on SQLite, `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install openapi bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m app serve $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

# TEST_WORKERS=N: on N pytest-xdist workers, each a session with databases of its own
# (tests/conftest.py); 0 runs it in one process. 2: this machine's CPUs.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check app tests migrations bench
	$(BIN)/ruff format --check app tests migrations bench
	$(BIN)/mypy app tests
	DATABASE_URL=sqlite:///$$(mktemp -d)/check.db sh -c '$(BIN)/alembic upgrade head && $(BIN)/alembic check'

openapi: $(STAMP)
	$(BIN)/python -m app openapi

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache

bench: $(STAMP)
	$(BIN)/python -m bench.snapshot_put
	$(BIN)/python -m bench.events_ingest
	$(BIN)/python -m bench.national_views
