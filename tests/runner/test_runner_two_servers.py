"""The connector on two Odoo servers (two processes on one PostgreSQL, as on two machines), behind one load
balancer: a back-fill sent once, with either server killed (SIGKILL of all its processes) in the middle of it.

Both servers load queue_job server-wide and have HTTP workers. queue_job elects one job runner per database (a
PostgreSQL advisory lock): the other server's runner stands by and takes over within seconds when the first one's
server dies. Both runners send the jobs to the balancer (``[queue_job] host`` and ``port``), which spreads them over
the two servers' workers. A server killed loses the jobs it was running: the runner that is left (or the one that
takes over) finds them dead and queues them again, and the connector's markers make each document reach KashFlow
once.

Slow (two servers started, then each started again): run by ``make test-faults``, which CI runs too.
"""

import os

import pytest

from . import harness

pytestmark = pytest.mark.skipif(
    os.environ.get("KASHFLOW_WORKER_KILL") != "1" or not os.path.isdir("/proc"),
    reason="kills Odoo servers (Linux): run by make test-faults")

ORDERS = 40
LATENCY_MS = 500  # each call takes a moment: jobs are at work on both servers when one is killed, and after


@pytest.fixture
def two_servers(runner):
    """The session's database served by two Odoo servers behind a balancer (the first on the session server's
    address, so the shop's calls reach it); afterwards, the session's server as it was."""
    session_server, port = runner.server, runner.server.port
    session_server.stop()
    pg, odoo, dbname = session_server.pg, session_server.odoo, session_server.dbname
    second_port = harness.free_port()
    balancer = harness.devenv.Balancer([port, second_port])
    through = {"host": "127.0.0.1", "port": balancer.port}
    servers = (harness.OdooServer(pg, odoo, dbname, name="first", queue_job=through),
               harness.OdooServer(pg, odoo, dbname, name="second", queue_job=through))
    try:
        servers[0].start(port)
        servers[1].start(second_port)
        yield servers, balancer
    finally:
        for server in servers:
            server.stop()
        balancer.close()
        session_server.start(port)
        session_server.warm_up(runner.shop.rpc)


def _started_on(shop, server):
    """The jobs started in the workers of ``server`` now."""
    workers = server.workers()
    return [job for job in shop.jobs([("state", "=", "started")]) if job["worker_pid"] in workers]


def test_a_backfill_on_two_servers_is_sent_once_with_either_server_killed(runner, scenario, two_servers):
    shop, sandbox = runner.shop, runner.sandbox
    (first, second), balancer = two_servers
    shop.set_kashflow(kashflow_enabled=False)
    orders = [shop.sell(shop.contact(f"Alder Grove Buyer {number}"))[0] for number in range(ORDERS)]
    shop.set_kashflow(kashflow_enabled=True)
    sandbox.set_faults(latency_ms=LATENCY_MS)
    shop.run_backfill()

    ran_on = {}
    for server in (second, first):  # the second first: the shop's calls go to the first, started again at once
        ran_on[server.folder.name] = harness.wait_until(
            lambda server=server: _started_on(shop, server), timeout=60, interval=0.1,
            what=f"a job at work on the {server.folder.name} server")
        server.kill()
        harness.TALLY.servers_killed += 1
        server.start()
        shop.nudge_runner()

    shop.wait_for(orders, timeout=300, hurry=True)
    assert all(ran_on.values()), "each server ran jobs when it was killed"
    assert all(balancer.connections[server.port] for server in (first, second)), balancer.connections
    jobs = [job for order in orders for job in shop.order_jobs(order)]
    assert {job["state"] for job in jobs} == {"done"}
    assert any(job["retry"] > 1 for job in jobs), "the jobs killed with their server were run again"
    harness.check_books(shop, orders)
