# The single entry point: setup, demo, test, lint. Needs only python3 and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export KYOGYO_DATA_DIR ?= $(CURDIR)/var

.PHONY: install browser demo serve test test-sqlite test-postgres lint typecheck check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The browser tests drive Debian's chromium (never a downloaded browser); Japanese fonts make
# the screenshots readable. Installed once, as root or through sudo.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-noto-cjk; }

## demo: install, build the demo company on SQLite and serve it on http://127.0.0.1:8000
demo: $(STAMP)
	$(BIN)/kyogyo init --admin-password admin --no-input
	$(BIN)/kyogyo demo --size small --seed 1 --if-empty --serve

serve: $(STAMP)
	$(BIN)/kyogyo serve

## test: install, then the whole suite on SQLite and on PostgreSQL (127.0.0.1), plus ruff and mypy
# The two suites run side by side: the SQLite one keeps a core busy, the PostgreSQL one shares
# the other with the server, so together they take about as long as the longer of them.
test: $(STAMP) browser
	@$(MAKE) --no-print-directory -j2 --output-sync=target lint typecheck test-sqlite test-postgres

# pytest exits 5 when it collects no test: for us that is a failure, said plainly.
PYTEST = $(BIN)/pytest || { status=$$?; [ $$status -eq 5 ] && echo "pytest collected no tests" >&2; exit $$status; }

# Each suite has a data directory of its own (static files, exports), so they can run at once.
test-sqlite: export KYOGYO_DATA_DIR := $(CURDIR)/var/test-sqlite
test-sqlite: $(STAMP) browser
	$(PYTEST)

# PostgreSQL at 127.0.0.1 (trust auth); pytest creates and drops its own test database
# (test_<name>), so the server's own databases are never touched.
test-postgres: export KYOGYO_DATA_DIR := $(CURDIR)/var/test-postgres
test-postgres: $(STAMP) browser
	export DATABASE_URL=$${KYOGYO_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}; $(PYTEST)

lint: $(STAMP)
	$(BIN)/ruff check kyogyo tests conftest.py
	$(BIN)/ruff format --check kyogyo tests conftest.py

typecheck: $(STAMP)
	$(BIN)/mypy kyogyo tests conftest.py

bench: $(STAMP)
	$(BIN)/kyogyo bench journey --postgres

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
