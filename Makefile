# The project's entry points. Odoo 18 must be importable by $(PYTHON) (see README.md).
PYTHON ?= python3

.PHONY: test install-deps lint sandbox

## Run the whole test suite in a throwaway database (PostgreSQL found or started here).
test:
	$(PYTHON) tools/devenv.py test

## Install the Python packages the addon and its tests need (not Odoo itself).
install-deps:
	$(PYTHON) -m pip install -r requirements-test.txt

lint:
	$(PYTHON) -m ruff check .

## Start the KashFlow sandbox on http://127.0.0.1:8089/ (data in .tmp/sandbox.sqlite3).
sandbox:
	mkdir -p .tmp && $(PYTHON) -m kashflow_sandbox --port 8089 --data .tmp/sandbox.sqlite3
