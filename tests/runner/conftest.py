"""Fixtures of the fault scenarios: one database, sandbox and Odoo server (with its job runner) for the session,
and a clean start for each scenario (see ``harness.py``)."""

from contextlib import suppress
from dataclasses import dataclass

import pytest

from . import harness


@dataclass
class Runner:
    """What a scenario works with: the shop (``shop.rpc`` reaches Odoo), the sandbox, Odoo's server."""

    shop: harness.Shop
    sandbox: object
    server: harness.OdooServer


@pytest.fixture(scope="session")
def runner(tmp_path_factory):
    try:
        import odoo.release  # noqa: F401, PLC0415 - the point is to try the import here
    except ImportError:
        pytest.skip(f"Odoo 18 is not importable: see README.md ({harness.devenv.ODOO_GUIDE})")
    odoo = harness.devenv.require_odoo()
    harness.WORK.mkdir(parents=True, exist_ok=True)
    pg = harness.devenv.Postgres()
    try:
        pg.ensure()
        with harness.runner_database(pg, odoo) as dbname:
            sandbox = harness.start_sandbox(tmp_path_factory.mktemp("runner-sandbox"))
            server = harness.OdooServer(pg, odoo, dbname)
            try:
                data = harness.load_shop(pg, odoo, dbname, sandbox)
                server.start()
                rpc = harness.Rpc(server.url, dbname, harness.ADMIN_LOGIN, harness.ADMIN_PASSWORD)
                server.warm_up(rpc)
                yield Runner(harness.Shop(rpc, data, sandbox, pg, dbname), sandbox, server)
            finally:
                server.stop()
                sandbox.stop()
    finally:
        pg.stop()


@pytest.fixture
def scenario(runner):
    """A scenario starts with no fault and the shop's settings as loaded, and ends with its faults counted (in
    ``harness.TALLY``) and, whatever happened, its jobs done before the next one starts."""
    shop, sandbox = runner.shop, runner.sandbox
    sandbox.clear_faults()
    mark = sandbox.last_call()
    yield mark
    harness.TALLY.add_calls(sandbox.calls(since=mark))
    sandbox.clear_faults()
    shop.set_kashflow(kashflow_enabled=True, kashflow_password=harness.SANDBOX_PASSWORD)
    shop.set_read_timeout(None)
    with suppress(AssertionError):  # the scenario failed already; the next one checks only its own orders
        shop.wait_quiet(timeout=60)


def pytest_terminal_summary(terminalreporter):
    tally = harness.TALLY
    if tally.orders or tally.faults or tally.kills:
        terminalreporter.section("KashFlow faults with Odoo's job runner")
        for line in tally.lines():
            terminalreporter.write_line(line)
