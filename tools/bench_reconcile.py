"""Benchmark of the reconciliation of KashFlow with Odoo, inside Odoo 18, against the KashFlow sandbox. It prints
figures and asserts nothing.

For each size, that many documents are sent to KashFlow first (orders invoiced and paid in Odoo, on consecutive
days, 500 documents a day: an invoice and a payment each, sent by the queue job's own code), then one
reconciliation runs over them the way its scheduled action runs it, a window per transaction, and is measured:

- wall-clock time, and per 1,000 documents;
- the KashFlow calls it made, per operation, from the sandbox's own record of the calls, and per 1,000 documents;
- SQL queries, per document;
- memory: the growth of the process's peak resident memory (VmHWM, reset before the run) and, in a second run
  of the same documents, the peak of Python's own allocations (tracemalloc; it slows the run, so it is not timed).

``bench_reconcile(bench, sizes)`` does it on a ``tools/bench_odoo.py`` ``Bench`` (anything with its ``env()``,
``sandbox``, ``company``, ``team``, ``products`` and ``partners(env, count)``) and returns the table (a
``bench_report.Table``). ``python3 tools/bench_reconcile.py [--documents 1000 10000]`` runs it alone, on a
throwaway ``Bench`` database of its own. Sending the documents takes most of the time (Odoo's invoices and
payments, about 0.2 s an order), the reconciliation itself about a minute for 10,000 documents.
"""

import argparse
import datetime
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import devenv
from bench_report import Table

ROOT = devenv.ROOT
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kashflow_sandbox.testing import SandboxProcess  # noqa: E402 - beside tools/, found through ROOT

devenv.require_odoo()

import demo_data  # noqa: E402 - it imports Odoo, known to be there only now
from bench_odoo import Queries  # noqa: E402 - beside this file

from odoo import Command  # noqa: E402
from odoo.tools import SQL  # noqa: E402

BENCH = devenv.WORK / "bench"
SIZES = (1_000, 10_000)
DOCUMENTS_PER_DAY = 500  # one reconciliation window a day
ORDERS_PER_TRANSACTION = 125
CUSTOMERS = 50


# ---------------------------------------------------------------------------- figures


def rss_high_water_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def reset_rss_high_water():
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass


# ---------------------------------------------------------------------------- the documents


def send_documents(bench, documents, last_day):
    """``documents`` documents in KashFlow: ``documents // 2`` orders, each invoiced and paid in Odoo on one of the
    days up to ``last_day`` (``DOCUMENTS_PER_DAY`` documents a day), then sent by the queue job's code. Returns the
    first day."""
    started = time.monotonic()
    orders = documents // 2
    per_day = DOCUMENTS_PER_DAY // 2
    days = [last_day - datetime.timedelta(days=index) for index in range((orders + per_day - 1) // per_day)][::-1]
    with bench.env() as env:
        env["res.company"].browse(bench.company).kashflow_start_date = days[0]
        partners = bench.partners(env, CUSTOMERS).ids
    made = 0
    for day in days:
        day_orders = min(per_day, orders - made)
        for start in range(0, day_orders, ORDERS_PER_TRANSACTION):
            count = min(ORDERS_PER_TRANSACTION, day_orders - start)
            with bench.env() as env:
                _paid_orders(env, bench, [partners[(made + start + index) % len(partners)] for index in range(count)],
                             day)
        made += day_orders
    created = time.monotonic()
    _send_queued(bench)
    print(f"bench_reconcile: {orders:,} orders paid in Odoo in {created - started:.0f} s, sent to KashFlow in "
          f"{time.monotonic() - created:.0f} s", flush=True)
    return days[0]


def _paid_orders(env, bench, partner_ids, day):
    """Orders invoiced on ``day`` and paid the same day with Odoo's *Register Payment*: the payment hook queues them."""
    orders = env["sale.order"].create([{
        "partner_id": partner_id, "team_id": bench.team,
        "order_line": [Command.create({"product_id": product, "product_uom_qty": quantity})
                       for product, quantity in zip(bench.products, (2, 4), strict=False)],
    } for partner_id in partner_ids])
    orders.action_confirm()
    invoices = orders._create_invoices()
    invoices.write({"invoice_date": day})
    invoices.action_post()
    env["account.payment.register"].with_context(active_model="account.move", active_ids=invoices.ids).create(
        {"group_payment": False, "payment_date": day})._create_payments()


def _send_queued(bench, batch=50):
    """Send the queued orders with the queue job's own code (``kashflow.sync._run``), a batch per transaction, then
    forget their jobs."""
    while True:
        with bench.env() as env:
            orders = env["sale.order"].search([("kashflow_state", "=", "queued")], limit=batch)
            for order in orders:
                env["kashflow.sync"]._run(order)
            if not orders:
                env.execute_query(SQL("DELETE FROM queue_job WHERE channel = 'root.kashflow'"))
                return


def reconcile(bench, date_from, measure_memory=False):
    """One reconciliation over the documents from ``date_from`` to today, run as its scheduled action runs it (a
    window per transaction). Returns the run's id."""
    with bench.env() as env:
        company = env["res.company"].browse(bench.company)
        run_id = env["kashflow.reconciliation"]._kashflow_start(company, date_from).id
    if measure_memory:
        tracemalloc.start()
    try:
        while True:
            with bench.env() as env:
                if not env["kashflow.reconciliation"].browse(run_id)._kashflow_step():
                    break
        peak = tracemalloc.get_traced_memory()[1] if measure_memory else 0
    finally:
        if measure_memory:
            tracemalloc.stop()
    return run_id, peak


# ---------------------------------------------------------------------------- the benchmark


def bench_reconcile(bench, sizes=SIZES):
    """The reconciliation of ``sizes`` documents sent to KashFlow (sent cumulatively: each size adds documents on
    earlier days); returns the table."""
    table = Table("Reconciliation: KashFlow read back and compared with Odoo, one run over the documents sent",
                  ["documents", "time", "per 1,000", "KashFlow calls", "per 1,000", "calls by operation",
                   "SQL per document", "peak RSS growth", "Python peak (tracemalloc)", "differences"])
    sandbox = bench.sandbox
    last_day = datetime.date.today() - datetime.timedelta(days=1)
    sent = 0
    for size in sizes:
        print(f"bench_reconcile: sending {size - sent:,} more documents to KashFlow", flush=True)
        started = time.monotonic()
        first_day = send_documents(bench, size - sent, last_day)
        last_day = first_day - datetime.timedelta(days=1)
        sent = size
        print(f"bench_reconcile: sent in {time.monotonic() - started:.0f} s; reconciling", flush=True)
        mark = sandbox.last_call()
        reset_rss_high_water()
        rss_before = rss_high_water_kib()
        with Queries() as queries:
            clock = time.perf_counter()
            run_id, _peak = reconcile(bench, first_day)
            elapsed = time.perf_counter() - clock
        rss = rss_high_water_kib() - rss_before
        calls = Counter(call["operation"] for call in sandbox.calls(since=mark))
        _run_id, peak = reconcile(bench, first_day, measure_memory=True)
        with bench.env() as env:
            run = env["kashflow.reconciliation"].browse(run_id)
            checked, mismatches = run.documents_checked, run.mismatches_found
        total = sum(calls.values())
        table.add(f"{checked:,}", f"{elapsed:.1f} s", f"{elapsed * 1000 / checked:.1f} s", total,
                  f"{total * 1000 / checked:.1f}",
                  ", ".join(f"{operation} {number}" for operation, number in sorted(calls.items())),
                  f"{queries.count / checked:.1f}", f"{rss / 1024:.1f} MiB", f"{peak / 2**20:.1f} MiB", mismatches)
    table.note(f"{DOCUMENTS_PER_DAY} documents a day (an invoice and a payment per order, two lines each): one "
               "window, so one GetInvoicesByDateRange and the payment pages (100 a page, and the empty one that "
               "ends them) per day; no document is asked for alone when nothing differs")
    table.note("the period: from the first day documents were sent for to today (the documents the other benchmarks "
               "sent today count too); every day of a period is read, a day without documents in a window of up to "
               "31 days, so a period reaching back years costs a GetInvoicesByDateRange per month of it")
    table.note("run as the scheduled action runs it: one window per transaction, its records dropped from memory "
               "after each; peak RSS growth: of this process, whose memory the sending already grew; tracemalloc "
               "peak: of Python's allocations during a second run of the same documents")
    return table


# ---------------------------------------------------------------------------- alone


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, nargs="+", default=list(SIZES),
                        help="the sizes to measure, in documents sent (default: %(default)s)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    odoo = devenv.require_odoo()
    pg = devenv.Postgres().ensure()
    BENCH.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, SandboxProcess(
            Path(folder) / "kashflow.sqlite3", username=demo_data.SANDBOX_USERNAME,
            password=demo_data.SANDBOX_PASSWORD) as sandbox:
        from bench_odoo import Bench  # beside this file; it does not import this one at its top

        bench = Bench(pg, odoo, sandbox)
        try:
            print(f"bench_reconcile: building the database {bench.dbname}")
            bench.build()
            print(bench_reconcile(bench, sorted(args.documents)).text())
        finally:
            bench.drop()
            pg.stop()


if __name__ == "__main__":
    main()
