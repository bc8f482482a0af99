# The project's entry points. Odoo 18 must be importable by $(PYTHON) (see README.md).
PYTHON ?= python3
DEPS := .tmp/deps.installed

.PHONY: demo test test-faults soak screenshots lint bench sandbox install-deps

## Start everything for a look: PostgreSQL, the KashFlow sandbox, Odoo with the addon and demo data.
## `make demo RESET=1` starts over from an empty database; `make demo ODOO_PORT=8070 SANDBOX_PORT=8090`
## chooses other ports than 8069 and 8089.
demo: $(DEPS)
	$(PYTHON) tools/devenv.py demo $(if $(RESET),--reset) $(if $(ODOO_PORT),--odoo-port $(ODOO_PORT)) \
		$(if $(SANDBOX_PORT),--sandbox-port $(SANDBOX_PORT))

## Run the whole test suite in a throwaway database. Extra pytest arguments: make test ARGS="-k resend".
test: $(DEPS)
	$(PYTHON) tools/devenv.py test $(ARGS)

## The slow fault scenarios (about seven minutes): Odoo's workers, and whole Odoo servers of two, killed (SIGKILL) in
## the middle of KashFlow jobs, with Odoo's own servers and job runner (tests/runner/). CI runs them too.
test-faults: $(DEPS)
	KASHFLOW_WORKER_KILL=1 $(PYTHON) -m pytest -rs tests/runner/test_runner_worker_kill.py \
		tests/runner/test_runner_shared_invoice.py tests/runner/test_runner_two_servers.py $(ARGS)

## The soak benchmark (three to five minutes on two cores): 200 paid orders of 40 contacts through Odoo's
## server and job runner, changed while sending, with KashFlow faults and killed workers; prints its figures.
soak: $(DEPS)
	KASHFLOW_SOAK=1 $(PYTHON) -m pytest -s -rs tests/runner/test_soak.py $(ARGS)

## Renew the screenshots of the README (docs/screenshots/) and of the Apps page with the browser test.
screenshots: $(DEPS)
	KASHFLOW_SCREENSHOTS="$(CURDIR)/docs/screenshots" $(PYTHON) tools/devenv.py test -k browser_journey
	cp docs/screenshots/order_sent.png kashflow_connector/static/description/screenshot_order.png
	cp docs/screenshots/settings.png kashflow_connector/static/description/screenshot_settings.png
	cp docs/screenshots/channel_mapping.png kashflow_connector/static/description/screenshot_mapping.png

## ruff and pylint-odoo, with the configurations kept in this repository.
lint: $(DEPS)
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pylint --rcfile=.pylintrc kashflow_connector

## Benchmarks against the sandbox, without Odoo and inside it (a throwaway database; under 10 minutes on two
## cores); they print figures and write them to docs/benchmarks.md. `make bench ARGS=--no-odoo`: the first ones only.
bench: $(DEPS)
	$(PYTHON) tools/bench.py $(ARGS)

## The KashFlow sandbox alone, on http://127.0.0.1:8089/ (user demo, password demo); SANDBOX_PORT=… for another port.
sandbox:
	mkdir -p .tmp && $(PYTHON) -m kashflow_sandbox --port $(or $(SANDBOX_PORT),8089) --data .tmp/sandbox.sqlite3

## The Python packages the addon, its tests and the tools need (not Odoo itself, see README.md).
install-deps $(DEPS): requirements.txt requirements-test.txt
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	mkdir -p .tmp && touch $(DEPS)
