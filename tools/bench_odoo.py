"""Benchmarks of the connector inside Odoo 18, against the KashFlow sandbox: what ``make bench`` runs after the
plain-Python ones of ``bench.py``. They print figures and assert nothing.

``python3 tools/bench_odoo.py [--json FILE] [--only bench_shared_invoice ...]`` makes a throwaway database (a UK
company with the UK chart of accounts, the connector set up and its channels mapped as ``tools/demo_data.py`` does
it), then measures:

1. KashFlow calls per order, by case, counted from the sandbox's own record of the calls, each case sent by
   the real queue job, performed by queue_job's own controller code (what the runner's HTTP call runs); and
   one invoice for 1, 3, 10 and 30 orders: its calls, and each order's job's work in Odoo;
2. what the payment hook adds to paying an order (its invoice paid with Odoo's *Register Payment*, one
   transaction per order): time and SQL queries with the connector off, on, and its hooks patched out (Odoo
   alone), the three taking turns order by order; where the hooks' time goes; the statements they add;
3. a contact edit (``res.partner.write``) with 10 and with 1,000 orders sent to KashFlow;
4. the back-fill sent by queue_job's job runner: an Odoo server with the runner, the sandbox answering each
   call 50 ms late, orders per second at ``root.kashflow`` capacity 1, 4 and 8 (prefork workers, as in
   production; at capacity 4 threaded too; 2,000 orders at 8, carried to 100,000), and on two servers behind a
   load balancer, against the latency-bound limit; the servers' memory, and the CPU time Odoo, PostgreSQL and the
   sandbox take per order; where one job's time goes, phase by phase, and the connector's own work per job by
   order size and customer history (in this process);
5. the back-fill scheduling thousands of orders, called as its cron calls it, each size in a fresh process:
   time, SQL queries and peak memory (fewer orders than a big catch-up, the growth quoted).

The database is dropped at the end. SQL queries are counted with Odoo's own per-thread query hooks, in every
transaction the measured step runs (its commit included). Figures from one run compare with each other; the
machine may be shared, so compare ratios, not absolute times, across runs.
"""

import argparse
import json
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from contextlib import ExitStack, contextmanager
from pathlib import Path
from unittest.mock import patch

import devenv
from bench_report import Table, dump, ms

ROOT = devenv.ROOT
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kashflow_sandbox.testing import SandboxProcess  # noqa: E402 - beside tools/, found through ROOT

devenv.require_odoo()

import demo_data  # noqa: E402 - it imports Odoo, known to be there only now

from odoo import SUPERUSER_ID, Command, api, fields  # noqa: E402
from odoo.modules.registry import Registry  # noqa: E402
from odoo.service import db  # noqa: E402
from odoo.tools import SQL, config  # noqa: E402

BENCH = devenv.WORK / "bench"
MODULES = ["kashflow_connector", "l10n_uk"]
JOB_CHANNEL = "root.kashflow"
LATENCY_MS = 50
SERVER_JOB_TIMEOUT = 240  # seconds a runner may take to send one batch before the bench gives up on it

# Sizes: scaled down to finish in minutes on two cores; the tables quote the growth.
HOOK_ORDERS = 60  # orders paid one by one with the connector off, then as many with it on
HOOK_WARM_UP = 5
CONTACT_HISTORIES = (10, 1000)
CONTACT_EDITS = 5
# (root.kashflow capacity, orders, Odoo's HTTP workers per server: 0 threaded, else prefork processes, one job each at
# a time, Odoo servers: two share the jobs through a load balancer)
RUNNER_RUNS = ((1, 60, 2, 1), (4, 160, 4, 1), (4, 160, 0, 1), (8, 2_000, 8, 1), (8, 1_000, 4, 2))
PAYING_BATCH = 200  # orders created and paid per transaction before a run
BACKFILL_SIZES = (4_000, 12_000)
BACKFILL_SAMPLE = 200
PHASE_JOBS = 100
WORK_JOBS = 40  # jobs measured per case of table 4e
WORK_LINES = 50
WORK_HISTORY = 200
BACKFILL_MAX_CALLS = 1000


# ---------------------------------------------------------------------------- measuring


class Queries:
    """Counts the SQL queries this thread runs inside the block, on any cursor, with Odoo's query hooks; keeps
    their text if ``keep``."""

    def __init__(self, keep=False):
        self.keep = keep
        self.count = 0
        self.statements = []

    def _hook(self, _cr, query, _params, _start, _delay):
        self.count += 1
        if self.keep:
            self.statements.append(" ".join(str(query).split()))

    def __enter__(self):
        thread = threading.current_thread()
        self._previous = getattr(thread, "query_hooks", ())
        thread.query_hooks = (*self._previous, self._hook)
        return self

    def __exit__(self, *exc_info):
        threading.current_thread().query_hooks = self._previous


def measure(step):
    """``(seconds, queries)`` of ``step()``."""
    with Queries() as queries:
        started = time.perf_counter()
        step()
        elapsed = time.perf_counter() - started
    return elapsed, queries.count


class Clock:
    """Wall-clock and CPU time (of this process: Python's work, not PostgreSQL's) of the block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc_info):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def cpu_seconds(root):
    """The CPU time (user and system, in seconds) the process ``root`` and its descendants have used so far, the
    children they reaped included (Linux's /proc): a server's workers, PostgreSQL's backends."""
    stats, children = devenv.processes(), defaultdict(list)
    for pid, stat in stats.items():
        children[int(stat[1])].append(pid)
    ticks, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            ticks += sum(int(value) for value in stats[pid][11:15])  # utime, stime, cutime, cstime
            todo += children[pid]
    return ticks / os.sysconf("SC_CLK_TCK")


def resident_kib(field="VmRSS"):
    """This process's resident memory now (``VmRSS``) or at its peak (``VmHWM``), in KiB (Linux)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(f"{field}:"))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ---------------------------------------------------------------------------- the bench database


class Bench:
    """The bench database and its sandbox: a UK company selling through its mapped web shop channel."""

    def __init__(self, pg, odoo, sandbox):
        self.pg, self.odoo, self.sandbox = pg, odoo, sandbox
        self.dbname = f"kashflow_bench_{uuid.uuid4().hex[:8]}"
        self.config = devenv.write_config(BENCH / "odoo.conf", pg, odoo, self.dbname, logfile=BENCH / "odoo.log")
        self.registry = None
        self.tags = iter(range(1, 10**9))

    @contextmanager
    def env(self):
        """A superuser environment in a transaction of its own, committed when the block ends."""
        with self.registry.cursor() as cr:
            yield api.Environment(cr, SUPERUSER_ID, {})

    def build(self):
        config.parse_config(["-c", str(self.config)], setup_logging=True)
        config["list_db"] = True  # database management on, as Odoo's own ``odoo-bin db`` command does
        db.exp_create_database(self.dbname, demo=False, lang="en_US", user_password="admin", login="admin",
                               country_code="GB")
        with demo_data.environment(self.dbname) as env:
            env["ir.module.module"].search([("name", "in", MODULES)]).button_immediate_install()
        self.registry = Registry(self.dbname)
        with self.env() as env:
            taxes = {code: env["account.chart.template"].ref(code) for code in (demo_data.STANDARD_RATE,)}
            self.products = [demo_data.create_product(env, demo_data.PRODUCTS[key], taxes).id
                             for key in ("board", "mug")]
            teams = demo_data.create_channels(env)
            self.team = teams[demo_data.WEB_SHOP].id
            self.company = env.company.id
            demo_data.set_up_kashflow(env.company, self.sandbox.service_url)
            demo_data.map_channels(env, env.company, teams)

    def postmaster(self):
        """The process id of the PostgreSQL server (the parent of this process's backend)."""
        with self.env() as env:
            [(backend,)] = env.execute_query(SQL("SELECT pg_backend_pid()"))
        status = Path(f"/proc/{backend}/status").read_text()
        return int(re.search(r"^PPid:\s+(\d+)", status, re.MULTILINE)[1])

    def drop(self):
        if self.registry:
            Registry.delete(self.dbname)
        self.pg.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')

    # ------------------------------------------------------------------ orders

    def partners(self, env, count, email=True, **values):
        """``count`` new customers in York, with an email address unless ``email`` is false."""
        uk = env.ref("base.uk").id
        tags = [next(self.tags) for _ in range(count)]
        return env["res.partner"].create([{
            "name": f"Bench Buyer {tag}", "street": f"{tag} High Street", "city": "York", "zip": "YO1 7HH",
            "country_id": uk, **({"email": f"buyer{tag}@example.co.uk"} if email else {}), **values,
        } for tag in tags])

    def orders(self, env, partners):
        """One invoiced (posted, unpaid) order per partner (a partner may come again): two boards and four mugs,
        with VAT, an invoice each."""
        orders = env["sale.order"].create([{
            "partner_id": partner.id, "team_id": self.team,
            "order_line": [Command.create({"product_id": product, "product_uom_qty": quantity})
                           for product, quantity in zip(self.products, (2, 4), strict=True)],
        } for partner in partners])
        orders.action_confirm()
        orders._create_invoices(grouped=True).action_post()
        return orders

    def pay_one(self, invoice_id):
        """Pay one invoice in a transaction of its own."""
        with self.env() as env:
            self.pay(env, env["account.move"].browse(invoice_id))

    @staticmethod
    def pay(env, invoices):
        """Odoo's *Register Payment* on ``invoices``: one payment each, for what is due."""
        return env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoices.ids).create({"group_payment": False})._create_payments()

    def paid_orders(self, env, partners):
        orders = self.orders(env, partners)
        self.pay(env, orders.invoice_ids)
        return orders

    def paid_order_ids(self, count):
        """The ids of ``count`` new paid orders (``paid_orders``), made ``PAYING_BATCH`` to a transaction."""
        ids = []
        for first in range(0, count, PAYING_BATCH):
            with self.env() as env:
                ids += self.paid_orders(env, self.partners(env, min(PAYING_BATCH, count - first))).ids
        return ids

    def switch(self, on):
        with self.env() as env:
            env["res.company"].browse(self.company).kashflow_enabled = on

    def clone_orders(self, env, template, count, **values):
        """``count`` copies of the order ``template`` and its lines, made in SQL: a quick way to a long history.
        ``values`` are the copies' own column values; their invoices and payments are not copied."""
        env.flush_all()
        overrides = {"name": SQL("t.name || '/' || g"),
                     **{column: SQL("%s", value) for column, value in values.items()}}
        columns = _columns(env, "sale_order")
        ids = [row[0] for row in env.execute_query(SQL(
            "INSERT INTO sale_order (%s) SELECT %s FROM sale_order t, generate_series(1, %s) g WHERE t.id = %s "
            "RETURNING id",
            SQL(", ").join(SQL.identifier(column) for column in columns),
            SQL(", ").join(overrides.get(column, SQL.identifier("t", column)) for column in columns),
            count, template.id))]
        line_columns = _columns(env, "sale_order_line")
        env.execute_query(SQL(
            "INSERT INTO sale_order_line (%s) SELECT %s FROM sale_order_line l, unnest(%s::int[]) o(id) "
            "WHERE l.order_id = %s",
            SQL(", ").join(SQL.identifier(column) for column in line_columns),
            SQL(", ").join(SQL("o.id") if column == "order_id" else SQL.identifier("l", column)
                           for column in line_columns),
            ids, template.id))
        env.invalidate_all()
        return env["sale.order"].browse(ids)

    def backfill(self, first_commit=None):
        return run_backfill(self.registry, first_commit)

    # ------------------------------------------------------------------ jobs

    def perform_jobs(self, rounds=5, costs=None):
        """Perform the KashFlow jobs waiting in the queue the way queue_job's runner has them performed: marked
        enqueued, then acquired and run by queue_job's controller code (``/queue_job/runjob``), each in its
        own transaction. A job postponed for a retry runs again in the next round, without waiting for its
        time. Returns the number of job runs; ``costs``, a list, gets ``(seconds, SQL queries)`` of each."""
        from odoo.addons.queue_job.controllers.main import RunJobController

        runs = 0
        for _round in range(rounds):
            with self.env() as env:
                uuids = [row[0] for row in env.execute_query(SQL(
                    "UPDATE queue_job SET state = 'enqueued', eta = NULL WHERE state = 'pending' AND channel = %s "
                    "RETURNING uuid", JOB_CHANNEL))]
            if not uuids:
                break
            for job_uuid in uuids:
                with Queries() as queries:
                    started = time.perf_counter()
                    with self.env() as env:
                        job = RunJobController._acquire_job(env, job_uuid)
                        if job:
                            RunJobController._runjob(env, job)
                            runs += 1
                    if job and costs is not None:
                        costs.append((time.perf_counter() - started, queries.count))
        return runs


def run_backfill(registry, first_commit=None):
    """The back-fill as its cron runs it: one call per transaction, called again while it queues orders (Odoo 18's
    cron does so while the call reports progress); ``first_commit()`` is called once the first call's transaction
    is committed. Returns ``(orders queued, calls)``."""
    queued = calls = 0
    while True:
        with registry.cursor() as cr:
            done = api.Environment(cr, SUPERUSER_ID, {})["sale.order"]._kashflow_backfill() or 0
        calls += 1
        queued += done
        if calls == 1 and first_commit:
            first_commit()
        if not done or calls > BACKFILL_MAX_CALLS:
            return queued, calls


def _columns(env, table):
    return [row[0] for row in env.execute_query(SQL(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name != 'id' "
        "ORDER BY ordinal_position", table))]


def _calls_text(counts):
    return ", ".join(f"{operation}{f' x{number}' if number > 1 else ''}" for operation, number in sorted(
        counts.items())) or "none"


# ---------------------------------------------------------------------------- 1. calls per order


def bench_calls(bench):
    """KashFlow calls of one order's job (and of the customer update an edit queues), by case."""
    table = Table("1. KashFlow calls per order, by case (the real job, performed by queue_job's controller code)",
                  ["case", "calls", "floor", "what was called"])
    sandbox = bench.sandbox

    def send(setup):
        with bench.env() as env:
            order = setup(env)
            order_id = order.id
        sandbox.clear_calls()
        runs = bench.perform_jobs()
        counts = sandbox.call_counts()
        with bench.env() as env:
            state = env["sale.order"].browse(order_id).kashflow_state
        return order_id, counts, state, runs

    def row(case, floor, result):
        _order, counts, state, runs = result
        text = _calls_text(counts) + ("" if state == "sent" else f"; the order is left {state}")
        table.add(case, sum(counts.values()), floor, f"{text} ({runs} job run{'s' if runs > 1 else ''})")

    with bench.env() as env:
        plain = bench.partners(env, 1, email=False)
        regular = bench.partners(env, 1)
        plain_id, regular_id = plain.id, regular.id

    def first_order(partner_id):
        return lambda env: bench.paid_orders(env, env["res.partner"].browse(partner_id))

    row("new customer, no email", 3, send(first_order(plain_id)))
    row("new customer with an email", "4 (3 + GetCustomerByEmail)", send(first_order(regular_id)))
    returning = send(first_order(regular_id))
    row("returning customer, unchanged", 2, returning)

    def moved(env):
        env["res.partner"].browse(regular_id).write({"street": "3 New Road", "zip": "YO10 5DD"})
        return bench.paid_orders(env, env["res.partner"].browse(regular_id))

    row("returning customer after an address change", "4 (2 + GetCustomerByID, UpdateCustomer)", send(moved))

    def resend(env):
        order = env["sale.order"].browse(returning[0])
        order.action_kashflow_resend()
        return order

    row("resend, nothing changed", 0, send(resend))

    sandbox.set_faults(operation="InsertInvoice", mode="drop_after_commit", count=1)
    row("returning customer, InsertInvoice's answer lost, the job retried", "3 (2 + 1 look-up)",
        send(first_order(regular_id)))
    sandbox.clear_faults()

    def credit_note(env):
        order = env["sale.order"].browse(returning[0])
        invoice = order.invoice_ids
        wizard = env["account.move.reversal"].with_context(active_model="account.move", active_ids=invoice.ids) \
            .create({"reason": "Returned", "journal_id": invoice.journal_id.id})
        refund = env["account.move"].browse(wizard.refund_moves()["res_id"])
        refund.action_post()
        bench.pay(env, refund)
        return order

    row("credit note for the whole invoice, and its refund", "5 (3 + 2 GetInvoice)", send(credit_note))
    table.note("floor: the fewest calls KashFlow's API allows. A credit note takes InsertInvoice, "
               "applyCreditNoteToInvoice and InsertInvoicePayment (the refund); applying needs both documents' "
               "InvoiceDBID, which InsertInvoice does not return (it returns the number): + 2 GetInvoice")
    table.note("each case is one order paid with Register Payment on its invoice (the address change: the contact's "
               "update job too, the credit note: the job the posted credit note and its refund queued)")
    return table


SHARED_SIZES = (1, 3, 10, 30)


def bench_shared_invoice(bench):
    """One invoice of N orders, paid once: the KashFlow calls of all its orders' jobs, and each job's work in Odoo
    (the first sends the invoice and its payment; the others find them sent), beside one order alone with as many
    lines."""
    table = Table("1b. One invoice for N orders of a customer (Create Invoices on a selection, one board each), "
                  "paid once; beside it, one order alone with N boards on N lines",
                  ["orders", "KashFlow calls, all jobs", "first job: SQL", "first job: time",
                   "each other job: SQL (mean)", "each other job: time (median)", "alone: SQL", "alone: time"])
    board = bench.products[0]
    for count in SHARED_SIZES:
        with bench.env() as env:
            partner, alone_partner = bench.partners(env, 2)
            orders = env["sale.order"].create([{
                "partner_id": partner.id, "team_id": bench.team,
                "order_line": [Command.create({"product_id": board, "product_uom_qty": 1})]} for _ in range(count)])
            orders.action_confirm()
            invoice = orders._create_invoices()
            invoice.action_post()
            bench.pay(env, invoice)
            jobs = env["queue.job"].search_count([("channel", "=", JOB_CHANNEL), ("state", "=", "pending")])
        mark = bench.sandbox.last_call()
        costs = []
        bench.perform_jobs(costs=costs)
        calls = bench.sandbox.call_counts(since=mark)
        with bench.env() as env:
            alone = env["sale.order"].create({
                "partner_id": alone_partner.id, "team_id": bench.team,
                "order_line": [Command.create({"product_id": board, "product_uom_qty": 1}) for _ in range(count)]})
            alone.action_confirm()
            alone._create_invoices().action_post()
            bench.pay(env, alone.invoice_ids)
        alone_costs = []
        bench.perform_jobs(costs=alone_costs)
        first, others = costs[0], costs[1:]
        table.add(f"{count} ({len(invoice)} invoice, {jobs} jobs)", f"{sum(calls.values())}: {_calls_text(calls)}",
                  first[1], ms(first[0]),
                  f"{statistics.mean(cost[1] for cost in others):.1f}" if others else "-",
                  ms(statistics.median(cost[0] for cost in others)) if others else "-",
                  alone_costs[0][1], ms(alone_costs[0][0]))
    table.note("a new customer each time (GetCustomerByEmail and InsertCustomer once). The first job sends the "
               "invoice; each other order's job finds it and its payment sent and calls KashFlow for nothing")
    table.note("goal: the calls for the invoice are one order's, whatever N; a job's work grows with the invoice's "
               "lines (the first job beside an order alone with as many lines), not with the number of its orders")
    return table


# ---------------------------------------------------------------------------- 2. the payment hook


def bench_hook(bench):
    """Paying an order's invoice, one transaction per order, the connector off and on in turn; then the jobs the
    payments queued. Returns this table, where the hooks' time goes, and the statements they add."""
    table = Table(f"2. Paying an order: Register Payment on its invoice, one transaction per order, {HOOK_ORDERS} "
                  "orders each with the connector off and on (medians)",
                  ["connector", "whole payment", "its CPU time", "inside the connector's hooks", "their CPU time",
                   "SQL queries per order"])
    rounds = [(index, ["off", "on", "skipped"] if index % 2 else ["off", "on"]) for index in range(HOOK_ORDERS)]
    warm_up = [(-1, ["on", "off"])] * HOOK_WARM_UP
    with bench.env() as env:
        invoices = iter(bench.orders(env, bench.partners(env, sum(len(modes) for _i, modes in warm_up + rounds)))
                        .invoice_ids.ids)
    samples = {mode: [] for mode in ("skipped", "off", "on")}
    steps = {"off": Counter(), "on": Counter()}
    for index, modes in warm_up + rounds:
        for mode in modes[index % len(modes):] + modes[:index % len(modes)]:  # each mode first in turn
            invoice_id = next(invoices)
            with hooks(bench, mode) as hook, Queries() as queries, Clock() as clock:
                bench.pay_one(invoice_id)
            if index >= 0:
                samples[mode].append((clock.wall, clock.cpu, hook.seconds, hook.cpu, queries.count))
                if mode in steps:
                    steps[mode].update(hook.steps)
    medians = {mode: [statistics.median(column) for column in zip(*rows, strict=True)]
               for mode, rows in samples.items()}
    for mode, label in (("skipped", "hooks skipped (Odoo alone: a baseline)"), ("off", "off"), ("on", "on")):
        wall, cpu, hook_wall, hook_cpu, _queries = medians[mode]
        queries = [row[4] for row in samples[mode]]
        in_hooks = (ms(hook_wall), ms(hook_cpu)) if mode != "skipped" else ("-", "-")
        table.add(f"{label}, {len(queries)} orders", ms(wall), ms(cpu), *in_hooks,
                  f"{statistics.mean(queries):.1f} (min {min(queries)}, max {max(queries)})")
    added = [1000 * (on - off) for on, off in zip(medians["on"][:4], medians["off"][:4], strict=True)]
    added_queries = statistics.mean(row[4] for row in samples["on"]) - statistics.mean(
        row[4] for row in samples["off"])
    table.add("on minus off", *(f"{value:+.1f} ms" for value in added), f"{added_queries:+.1f}")
    whole = [1000 * (on - off) for on, off in zip(medians["on"][:2], medians["skipped"][:2], strict=True)]
    whole_queries = statistics.mean(row[4] for row in samples["on"]) - statistics.mean(
        row[4] for row in samples["skipped"])
    table.add("on minus hooks skipped: all the hook costs", *(f"{value:+.1f} ms" for value in whole),
              ms(medians["on"][2]), ms(medians["on"][3]), f"{whole_queries:+.1f}")
    statements = hook_statements(bench)
    jobs, seconds, queries, calls = perform_queued(bench)
    table.add(f"and then each job these payments queued ({jobs} jobs, {calls / jobs:.0f} KashFlow calls each, "
              "sandbox on loopback; mean)", ms(seconds / jobs), "", "", "", f"{queries / jobs:.1f}")
    hook_met = added[2] <= 5
    table.note(f"goal: at most 5 ms and 10 queries added per order paid: time {_goal(hook_met)} (inside the hooks, "
               f"{added[2]:+.1f} ms of wall clock, {added[3]:+.1f} ms of CPU; load average {os.getloadavg()[0]:.1f} "
               f"on {os.cpu_count()} CPUs), queries {_goal(added_queries <= 10)} ({added_queries:+.1f})")
    spread = [row[0] for row in samples["off"]]
    table.note(f"the whole payment's time varies from {ms(min(spread))} to {ms(max(spread))} on this machine, "
               "far more than the hook costs: its difference is noise; the time inside the hooks (wall clock "
               "around the connector's methods) is the figure to follow. CPU time is this process's (Python), "
               "without PostgreSQL's")
    table.note("the modes take turns order by order (switched between payments, in a transaction of their own), "
               "each first in turn; time runs from the payment's first query to its commit. With the connector "
               "off its hook still runs: it finds out whether the order is paid and keeps the paid date, which the "
               "back-fill needs")
    with bench.env() as env:  # orders paid while off are not for the back-fill rows that follow
        env["sale.order"].search([("kashflow_state", "=", "not_paid"), ("state", "=", "sale")]).write(
            {"kashflow_state": "excluded"})
    breakdown = Table("2b. Where the time inside the hooks goes (wall clock, mean per order paid)",
                      ["step", "off", "on"])
    for step, label in HOOK_STEPS.items():
        breakdown.add(label, *(ms(steps[mode][step] / len(samples[mode])) for mode in ("off", "on")))
    breakdown.add("all of it", *(ms(statistics.mean(row[2] for row in samples[mode])) for mode in ("off", "on")))
    return table, breakdown, statements


def _goal(met):
    return "met" if met else "MISSED"


# The connector's code on a payment's path: its hooks' entry points (and how an invoice finds its orders), and the
# steps inside them, each timed on its own.
HOOK_ENTRIES = (("sale.order", "_kashflow_payment_received"), ("sale.order", "_kashflow_accounting_changed"),
                ("account.move", "_kashflow_orders"), ("account.partial.reconcile", "_kashflow_orders_in_kashflow"))
HOOK_STEPS = {
    "_kashflow_settlement": "is the order paid, and since when (_kashflow_settlement)",
    "_kashflow_route": "routing: channel, decision, state (_kashflow_route), with:",
    "_kashflow_log": "  the note in the order's chatter (_kashflow_log)",
    "_kashflow_enqueue": "  the job queued (_kashflow_enqueue, queue_job's with_delay)",
}


class HookClock:
    """The time spent inside the connector's hooks (``HOOK_ENTRIES``, outermost calls only) and in each of its
    steps (``HOOK_STEPS``). What they write is flushed at the commit, after them: a few inserts, not counted."""

    def __init__(self):
        self.seconds = self.cpu = 0.0
        self.steps = Counter()
        self._depth = Counter()

    def wrap(self, method, name):
        key = name if name in HOOK_STEPS else "entries"

        def timed(records, *args, **kwargs):
            self._depth[key] += 1
            started, cpu = time.perf_counter(), time.process_time()
            try:
                return method(records, *args, **kwargs)
            finally:
                self._depth[key] -= 1
                if not self._depth[key]:
                    if key == "entries":
                        self.seconds += time.perf_counter() - started
                        self.cpu += time.process_time() - cpu
                    else:
                        self.steps[key] += time.perf_counter() - started
        return timed


@contextmanager
def hooks(bench, mode):
    """The connector ``on`` or ``off``, or its payment hooks ``skipped`` (patched out in this process: Odoo
    alone); yields a :class:`HookClock` of the time spent in them."""
    bench.switch(mode == "on")
    clock = HookClock()
    with ExitStack() as patches:
        for model, name in HOOK_ENTRIES if mode == "skipped" else (*HOOK_ENTRIES, *(
                ("sale.order", step) for step in HOOK_STEPS)):
            cls = bench.registry[model]
            if not hasattr(cls, name):  # renamed since this bench was written: not timed
                continue
            if mode == "skipped":
                replacement = (lambda records, *args, **kwargs: records.env["sale.order"]) \
                    if name.startswith("_kashflow_orders") else (lambda records, *args, **kwargs: None)
            else:
                replacement = clock.wrap(getattr(cls, name), name)
            patches.enter_context(patch.object(cls, name, replacement))
        yield clock


def hook_statements(bench):
    """The SQL statements the hook adds to one payment: connector off against hooks skipped, on against off."""
    with bench.env() as env:
        invoices = bench.orders(env, bench.partners(env, 3)).invoice_ids.ids
    kept = {}
    for mode, invoice_id in zip(("skipped", "off", "on"), invoices, strict=True):
        with hooks(bench, mode), Queries(keep=True) as queries:
            bench.pay_one(invoice_id)
        kept[mode] = Counter(_shape(statement) for statement in queries.statements)
    table = Table("2c. The SQL the hook adds to one payment, statement by statement",
                  ["", "times", "statement (numbers shown as N, cut at 160 characters)"])
    for label, more, less in (("off, not skipped", "off", "skipped"), ("on, not off", "on", "off"),
                              ("off, not on", "off", "on")):
        for statement, times in sorted((kept[more] - kept[less]).items(), key=lambda item: -item[1]):
            table.add(label, times, statement)
    table.note(", ".join(f"{mode}: {sum(statements.values())} statements" for mode, statements in kept.items()))
    return table


def _shape(statement):
    """A statement with its numbers as N and savepoint names left out, cut short: one payment's statements then
    compare with another's."""
    statement = re.sub(r'SAVEPOINT "[^"]*"', "SAVEPOINT", statement)
    return re.sub(r"\d+", "N", statement)[:160].replace("|", "/")


def perform_queued(bench):
    """Perform the KashFlow jobs waiting (in this process, the sandbox without latency): ``(jobs, seconds,
    queries, calls)``."""
    with bench.env() as env:
        jobs = env["queue.job"].search_count([("channel", "=", JOB_CHANNEL), ("state", "=", "pending")])
    mark = bench.sandbox.last_call()
    seconds, queries = measure(bench.perform_jobs)
    return jobs, seconds, queries, len(bench.sandbox.calls(since=mark))


# ---------------------------------------------------------------------------- 3. a contact edit


def bench_contact_edit(bench):
    table = Table("3. A contact edit (res.partner.write of its phone), by the number of its orders in KashFlow",
                  ["orders sent", "median time", "SQL queries", "jobs queued"])
    with bench.env() as env:
        partner = bench.partners(env, 1)
        template = bench.paid_orders(env, partner)
        env["kashflow.customer"].create({"partner_id": partner.id, "company_id": bench.company,
                                         "kashflow_customer_id": 900001, "code": "BENCH1", "fingerprint": "sent"})
        template.kashflow_state = "sent"
        partner_id, template_id = partner.id, template.id
    have = 1
    queries_seen = []
    for count in CONTACT_HISTORIES:
        with bench.env() as env:
            bench.clone_orders(env, env["sale.order"].browse(template_id), count - have, kashflow_state="sent")
        have = count
        samples = []
        for edit in range(-1, CONTACT_EDITS):  # the first edit warms the caches up
            with bench.env() as env:
                env["queue.job"].search([("channel", "=", JOB_CHANNEL), ("state", "=", "pending")]).unlink()

            def write(phone=f"01904 555 {count:04d}{edit}"):
                with bench.env() as env:
                    env["res.partner"].browse(partner_id).write({"phone": phone})
            sample = measure(write)
            if edit >= 0:
                samples.append(sample)
        with bench.env() as env:
            queued = env["queue.job"].search_count([("channel", "=", JOB_CHANNEL), ("state", "=", "pending")])
        queries = sorted(sample[1] for sample in samples)
        queries_seen.append(queries[len(queries) // 2])
        table.add(f"{count:,}", ms(statistics.median(sample[0] for sample in samples)),
                  queries[len(queries) // 2], queued)
    grows = queries_seen[-1] > queries_seen[0]
    table.note(f"median of {CONTACT_EDITS} edits each, one transaction each (commit included); the orders are "
               "copies of one sent order made in SQL; goal: no growth with the orders: "
               f"{_goal(not grows)}")
    return table


# ---------------------------------------------------------------------------- 4. the back-fill through the runner


@contextmanager
def odoo_server(bench, capacity, workers=0, *, name="", port=None, jobs_to=None, standby=False):
    """Odoo serving the bench database, with queue_job's runner and ``root.kashflow`` at ``capacity``, threaded
    (``workers`` 0) or with that many prefork HTTP workers, on ``port`` (a free one if None); its runner sends the
    jobs to the port ``jobs_to`` (a balancer's), its own by default; no cron threads (the back-fill is started by
    the bench). A ``standby`` server's runner waits while another server's runs: it is ready once it serves HTTP."""
    port = port or _free_port()
    log = BENCH / f"odoo-server-{capacity}{name}.log"
    server_config = devenv.write_config(
        BENCH / f"odoo-server-{capacity}{name}.conf", bench.pg, bench.odoo, bench.dbname, logfile=log,
        sections={"queue_job": {"channels": f"root:{max(4, capacity)},{JOB_CHANNEL}:{capacity}",
                                "host": "127.0.0.1", "port": jobs_to or port}},
        http_interface="127.0.0.1", http_port=port, gevent_port=_free_port(), max_cron_threads=0,
        **{**devenv.JOB_RUNNER, "workers": workers})
    log.unlink(missing_ok=True)
    process = subprocess.Popen(devenv.odoo_command(server_config), cwd=ROOT, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_for_runner(process, log, ready="HTTP service (werkzeug) running" if standby else RUNNER_READY)
        if workers:  # a websocket process that fails at start is started again and again, taking a core
            _wait_for_runner(process, log, ready=devenv.EVENTED_READY)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def odoo_servers(bench, capacity, workers, count):
    """``count`` Odoo servers (``odoo_server``) serving the bench database, their processes; two or more share the
    jobs through a load balancer (``devenv.Balancer``), where every server's runner sends them (one runs, the
    others stand by)."""
    if count == 1:
        with odoo_server(bench, capacity, workers) as process:
            yield [process]
        return
    ports = [_free_port() for _server in range(count)]
    balancer = devenv.Balancer(ports)
    try:
        with ExitStack() as stack:
            yield [stack.enter_context(odoo_server(bench, capacity, workers, name=f"-{number}", port=port,
                                                   jobs_to=balancer.port, standby=number > 1))
                   for number, port in enumerate(ports, start=1)]
    finally:
        balancer.close()


def _free_port():
    """A TCP port free on the loopback interface, as the system picks it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


RUNNER_READY = "queue job runner ready for db"


def _wait_for_runner(process, log, ready=RUNNER_READY, timeout=120):
    """Wait until the server's ``log`` says ``ready`` (by default: its job runner is ready)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Odoo server stopped (exit {process.returncode}); see {log}")
        if log.exists() and ready in log.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the Odoo server's log did not say {ready!r} within {timeout} s; see {log}")


def bench_runner(bench):
    table = Table(f"4. The back-fill sent by queue_job's runner (an Odoo server), the sandbox answering each call "
                  f"{LATENCY_MS} ms late", ["root.kashflow capacity", "Odoo's HTTP workers (servers x workers)",
                                           "orders", "calls per order", "orders per second", "latency-bound limit",
                                           "of the limit", "job run time (mean)",
                                           "from one job's end to the next's start"])
    cpu = Table("4d. Where the machine's CPU time goes, per order sent (Linux's account of each process tree)", [
        "root.kashflow capacity", "Odoo's HTTP workers", "over", "Odoo (servers, workers, job runner)", "PostgreSQL",
        "the sandbox (KashFlow's stand-in)", "the three", "orders per second the cores allow Odoo and PostgreSQL"])
    big = Table("4c. 100,000 orders: the runs of 1,000 orders or more, extrapolated", [
        "root.kashflow capacity", "Odoo's HTTP workers", "orders sent", "orders per second, whole run",
        "once a quarter was sent", "100,000 orders at that rate",
        "servers' memory (RSS, all their processes) once a quarter was sent", "at the end", "growth"])
    bench.perform_jobs()  # nothing else waits in the queue
    profile, by_case = job_phases(bench), job_work_by_case(bench)
    for capacity, count, workers, servers in RUNNER_RUNS:
        setup = (f"{servers} x {workers}" if servers > 1 else str(workers)) if workers else "0 (threaded)"
        with bench.env() as env:  # the figures below are read from the jobs of this run only
            env.execute_query(SQL("DELETE FROM queue_job WHERE channel = %s", JOB_CHANNEL))
        bench.switch(False)
        with Clock() as paying:
            order_ids = bench.paid_order_ids(count)
        bench.switch(True)
        bench.sandbox.set_faults(latency_ms=LATENCY_MS)
        try:
            starting = time.perf_counter()
            with odoo_servers(bench, capacity, workers, servers) as processes:
                starting = time.perf_counter() - starting
                mark = bench.sandbox.last_call()
                clock = {}
                roots = {"odoo": [process.pid for process in processes], "postgresql": [bench.postmaster()],
                         "sandbox": [bench.sandbox.pid]}
                used = {name: sum(map(cpu_seconds, pids)) for name, pids in roots.items()}
                with RunSampler(bench, order_ids, roots["odoo"], roots) as sampler:
                    bench.backfill(first_commit=lambda clock=clock: clock.setdefault("start", time.perf_counter()))
                    states = _wait_until_sent(bench, order_ids)
                    elapsed = time.perf_counter() - clock["start"]
                used = {name: (sum(map(cpu_seconds, pids)) - used[name]) / count for name, pids in roots.items()}
        finally:
            bench.sandbox.clear_faults()
        print(f"  capacity {capacity}, workers {setup}: {count} orders paid in {paying.wall:.0f} s, server ready "
              f"in {starting:.0f} s, orders sent in {elapsed:.0f} s")
        calls = len(bench.sandbox.calls(since=mark)) / count
        rate = states.get("sent", 0) / elapsed
        limit = capacity / (max(calls, 1) * LATENCY_MS / 1000)
        with bench.env() as env:
            [(run_time, gap)] = env.execute_query(SQL(
                """WITH job AS (SELECT exec_time, date_started - lag(date_done) OVER (ORDER BY date_started) AS gap
                                  FROM queue_job WHERE channel = %s AND state = 'done')
                   SELECT avg(exec_time), extract(epoch FROM avg(gap) FILTER (WHERE gap > interval '0'))
                     FROM job""", JOB_CHANNEL))
            env.execute_query(SQL("DELETE FROM queue_job WHERE channel = %s", JOB_CHANNEL))
        wanted = 0.9 if capacity == 1 else 0.8
        table.add(capacity, setup, f"{count} ({_states_text(states)})", f"{calls:.2f}",
                  f"{rate:.2f}", f"{limit:.2f}",
                  f"{rate / limit:.0%} (goal {wanted:.0%}: {_goal(rate / limit >= wanted)})",
                  f"{ms(run_time or 0)}, of which {ms(calls * LATENCY_MS / 1000)} waiting for KashFlow",
                  ms(float(gap or 0)) if capacity == 1 else "-")
        cores = os.cpu_count() or 1
        spans = [("the whole run", used)] + ([("its last three quarters", sampler.steady_cpu)] if sampler.quarter
                                             else [])
        for span, per_order in spans:
            cpu.add(capacity, setup, span, ms(per_order["odoo"]), ms(per_order["postgresql"]),
                    ms(per_order["sandbox"]), ms(sum(per_order.values())),
                    f"{cores / (per_order['odoo'] + per_order['postgresql']):.1f}")
        if count >= 1000 and sampler.quarter:
            steady = sampler.steady_rate
            minutes = 100_000 / steady / 60 if steady else float("inf")
            quarter, end = sampler.quarter["resident"], sampler.end["resident"]
            big.add(capacity, setup, states.get("sent", 0), f"{rate:.2f}", f"{steady:.2f}",
                    f"{minutes:.0f} min (goal 60 min: {_goal(minutes <= 60)})", f"{quarter / 1024:.0f} MiB",
                    f"{end / 1024:.0f} MiB", f"{(end - quarter) / 1024:+.0f} MiB")
    table.note("each order: a new customer with an email, its invoice paid in Odoo while the connector was off; "
               "the clock runs from the back-fill's commit to the last order sent; goal: 90 % of the "
               "latency-bound limit at capacity 1, 80 % above, the limit being capacity / (calls per order x "
               "latency); job run time: queue_job's own measure (exec_time), from the job's start to its end; "
               "between two jobs (at capacity 1, where they follow each other): the job's commit, the runner "
               "noticing it and asking Odoo over HTTP to run the next one, Odoo taking it. Threaded, every job runs "
               "in one Python process (one core at most); with prefork workers, each worker runs one job at a time, "
               "so the capacity is at most the workers; a prefork server also runs Odoo's websocket process "
               "(gevent), idle here")
    big.note("the rate once a quarter of the orders was sent (each worker has loaded Odoo by then, once per "
             "process, which a long back-fill does not repeat), carried to 100,000 orders; the back-fill queues "
             "them meanwhile (table 5). Memory: the servers' processes (job runners and workers), once a quarter "
             "was sent and at the end. The machine's cores serve Odoo, PostgreSQL and the sandbox alike")
    cpu.note("CPU time over the whole run (from before the back-fill to the last order sent) and over its last three "
             "quarters, divided by the orders sent meanwhile: Odoo's server processes and their children, "
             "PostgreSQL's server and its backends, the sandbox's process; the bench's own process (which starts "
             "the back-fill and watches) is left out. KashFlow's CPU is KashFlow's in production: the last column "
             "is what this machine's cores allow Odoo and PostgreSQL alone, were the latency no limit")
    return table, profile, big, cpu, by_case


class RunSampler:
    """A run that sends ``order_ids``, looked at every second: once a quarter of them are sent, and at the end, the
    time, the orders sent, the resident memory of the Odoo servers (``odoo``: their process ids, whose sessions hold
    their workers), in KiB, and the CPU time of each process tree of ``roots`` (name -> process ids), in seconds.
    ``quarter`` and ``end`` are those looks, dicts; ``steady_rate`` and ``steady_cpu`` (per order, by name) are
    what the last three quarters of the run took, once the servers' workers had warmed up."""

    def __init__(self, bench, order_ids, odoo, roots):
        self.bench, self.order_ids, self.odoo, self.roots = bench, order_ids, set(odoo), roots
        self.quarter = self.end = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()
        self.end = self._look()

    @property
    def steady_rate(self):
        return (self.end["sent"] - self.quarter["sent"]) / (self.end["time"] - self.quarter["time"])

    @property
    def steady_cpu(self):
        orders = max(self.end["sent"] - self.quarter["sent"], 1)
        return {name: (self.end["cpu"][name] - self.quarter["cpu"][name]) / orders for name in self.roots}

    def _look(self):
        with self.bench.env() as env:
            [(sent,)] = env.execute_query(SQL(
                "SELECT count(*) FROM sale_order WHERE id = ANY(%s) AND kashflow_state = 'sent'", self.order_ids))
        return {"time": time.perf_counter(), "sent": sent, "resident": self.resident(),
                "cpu": {name: sum(map(cpu_seconds, pids)) for name, pids in self.roots.items()}}

    def resident(self):
        """The KiB resident of the servers' processes now (those of their sessions, which their workers share)."""
        page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
        return sum(int(stat[21]) * page_kib for stat in devenv.processes().values()
                   if int(stat[3]) in self.odoo)  # the session id: each server started a session of its own

    def _run(self):
        while self.quarter is None and not self._stop.wait(1):
            look = self._look()
            if look["sent"] >= len(self.order_ids) / 4:
                self.quarter = look


class PhaseClock:
    """Wall clock, CPU time (this thread's) and SQL queries of each phase of a job (``JOB_PHASES``), each charged
    to the innermost phase running: a phase's own share, without the phases it calls (the journal's transactions
    inside the sending, the HTTP round trip inside the SOAP call), so the phases add up to the job."""

    def __init__(self):
        self.wall, self.cpu, self.queries = Counter(), Counter(), Counter()
        self._stack = []
        self._since = None

    def _charge(self):
        wall, cpu = time.perf_counter(), time.thread_time()
        if self._stack:
            self.wall[self._stack[-1]] += wall - self._since[0]
            self.cpu[self._stack[-1]] += cpu - self._since[1]
        self._since = (wall, cpu)

    def wrap(self, method, phase):
        def timed(*args, **kwargs):
            self._charge()
            self._stack.append(phase)
            try:
                return method(*args, **kwargs)
            finally:
                self._charge()
                self._stack.pop()
        return timed

    def own_work(self, runs):
        """The connector's own work per job, in seconds: every phase's wall clock but the HTTP round trips'."""
        http = list(JOB_PHASES).index(HTTP_PHASE)
        return sum(wall for phase, wall in self.wall.items() if phase != http) / runs

    def _hook(self, _cr, _query, _params, _start, _delay):
        if self._stack:
            self.queries[self._stack[-1]] += 1

    @contextmanager
    def timing(self, bench):
        """Inside the block, the phases of ``JOB_PHASES`` are timed in this thread."""
        from odoo.addons.kashflow_connector.kashflow import client
        from odoo.addons.kashflow_connector.models import kashflow_sync

        owners = {"sale.order": bench.registry["sale.order"], "kashflow.sync": bench.registry["kashflow.sync"],
                  "KashFlowJournal": kashflow_sync.KashFlowJournal, "KashFlowClient": client.KashFlowClient,
                  "_Transport": client._Transport}
        thread = threading.current_thread()
        hooks = getattr(thread, "query_hooks", ())
        with ExitStack() as patches:
            for phase, (owner, names) in enumerate(JOB_PHASES.values()):
                for name in names:
                    patches.enter_context(patch.object(owners[owner], name,
                                                       self.wrap(getattr(owners[owner], name), phase)))
            thread.query_hooks = (*hooks, self._hook)
            try:
                yield self
            finally:
                thread.query_hooks = hooks


# A job's phases (table 4b): label -> (owner, its methods), the owner a model or a class of the addon's
HTTP_PHASE = "the KashFlow calls: the HTTP round trip (the sandbox's own work included)"
JOB_PHASES = {
    "the connector's job, apart from the phases below: where the order stands, its customer and channel, the "
    "KashFlow calls to make, the order's state (kashflow.sync)": ("kashflow.sync", ("_run",)),
    "the order's chatter note (mail.thread.message_post)": ("sale.order", ("_kashflow_log",)),
    "the order's history entry, in a transaction of its own, committed": ("kashflow.sync", ("_history",)),
    "reading Odoo's books: the order's invoices, credit notes and payments, through Odoo's tax engine "
    "(the snapshot)": ("sale.order", ("_kashflow_snapshot",)),
    "the journal: reading and saving what KashFlow holds, in transactions of its own, each committed (a marker "
    "durable before each insert)": ("KashFlowJournal", ("load", "load_customer", "other_customer", "persist",
                                                          "taken")),
    "the KashFlow calls: zeep writing the SOAP requests and reading the answers": ("KashFlowClient", ("_send",)),
    HTTP_PHASE: ("_Transport", ("post",)),
}


def job_phases(bench, count=PHASE_JOBS):
    """Where a job's time goes: ``count`` orders' jobs performed in this process (the sandbox on loopback,
    without latency), by phase (``JOB_PHASES``); the rest of a job's run is queue_job's."""
    with bench.env() as env:
        bench.paid_orders(env, bench.partners(env, count))
    costs = []
    phases = PhaseClock()
    with phases.timing(bench):
        cpu = time.thread_time()
        runs = bench.perform_jobs(costs=costs)
        cpu = time.thread_time() - cpu
    runs = max(runs, 1)
    wall, queries = sum(cost[0] for cost in costs) / runs, sum(cost[1] for cost in costs) / runs
    table = Table(f"4b. Where a job's time goes: {runs} jobs (a new customer each, 4 KashFlow calls) in this "
                  "process, the sandbox on loopback (mean per job)",
                  ["phase (each its own share, without the phases it calls)", "wall clock", "CPU (Python)",
                   "SQL queries"])
    labels = list(JOB_PHASES)
    for phase, label in enumerate(labels):
        table.add(label, ms(phases.wall[phase] / runs), ms(phases.cpu[phase] / runs),
                  f"{phases.queries[phase] / runs:.1f}")
    table.add("queue_job: taking the job, marking it started and done, its commits (the rest of the run)",
              ms(wall - sum(phases.wall.values()) / runs), ms(cpu / runs - sum(phases.cpu.values()) / runs),
              f"{queries - sum(phases.queries.values()) / runs:.1f}")
    table.add("the whole job", ms(wall), ms(cpu / runs), f"{queries:.1f}")
    connector = phases.own_work(runs)
    table.note(f"the connector's own work per job (its job's run, less the HTTP round trips): {ms(connector)} "
               f"(goal 30 ms: {_goal(connector <= 0.030)}). CPU is this Python thread's: PostgreSQL's work for "
               "the queries and the sandbox's are in the wall clock only")
    return table


def job_work_by_case(bench):
    """The connector's own work per job (table 4b's phases less the HTTP round trips) for new customers' orders
    of 2 lines and of ``WORK_LINES``, and for a returning customer's orders after 1 earlier order and after
    ``WORK_HISTORY``: whether it stays flat with the order's size and the customer's history."""
    table = Table(f"4e. The connector's own work per job, by order size and customer history ({WORK_JOBS} jobs "
                  "each, in this process, the sandbox on loopback; mean per job)",
                  ["case", "KashFlow calls per job", "own work (the run less the HTTP round trips)",
                   "its SQL queries"])
    board, mug = bench.products

    def lines_order(env, partner, count):
        order = env["sale.order"].create({"partner_id": partner.id, "team_id": bench.team, "order_line": [
            Command.create({"product_id": (board, mug)[line % 2], "product_uom_qty": 1}) for line in range(count)]})
        order.action_confirm()
        order._create_invoices().action_post()
        return order

    def measure(case):
        mark = bench.sandbox.last_call()
        phases = PhaseClock()
        with phases.timing(bench):
            runs = max(bench.perform_jobs(), 1)
        calls = len(bench.sandbox.calls(since=mark)) / runs
        table.add(case, f"{calls:.1f}", ms(phases.own_work(runs)), f"{sum(phases.queries.values()) / runs:.1f}")

    with bench.env() as env:
        bench.paid_orders(env, bench.partners(env, WORK_JOBS))
    measure("a new customer, 2 lines")
    with bench.env() as env:
        bench.pay(env, env["sale.order"].union(*(
            lines_order(env, partner, WORK_LINES) for partner in bench.partners(env, WORK_JOBS))).invoice_ids)
    measure(f"a new customer, {WORK_LINES} lines")
    for earlier in (1, WORK_HISTORY):
        with bench.env() as env:
            customer = bench.partners(env, 1)
            bench.paid_orders(env, [customer] * earlier)
        bench.perform_jobs()  # the customer's history
        with bench.env() as env:
            bench.paid_orders(env, [customer] * WORK_JOBS)
        measure(f"a returning customer, 2 lines, after {earlier:,} earlier order{'s' if earlier > 1 else ''} "
                f"(then up to {earlier + WORK_JOBS - 1:,})")
    table.note("own work: the phases of table 4b but the HTTP round trips, queue_job's share left out; goal: at "
               "most 30 ms for a new customer's order, flat with the customer's history and the order's size up "
               f"to {WORK_LINES} lines. A returning customer's order makes fewer KashFlow calls (no customer to "
               "insert), so the journal saves less")
    return table


def _wait_until_sent(bench, order_ids):
    """The KashFlow states of the orders once none is queued, or no job is left to run, or time is up."""
    deadline = time.monotonic() + SERVER_JOB_TIMEOUT
    while True:
        with bench.env() as env:
            states = dict(env.execute_query(SQL(
                "SELECT kashflow_state, count(*) FROM sale_order WHERE id = ANY(%s) GROUP BY 1", order_ids)))
            [(live,)] = env.execute_query(SQL(
                "SELECT count(*) FROM queue_job WHERE channel = %s AND state IN ('pending', 'enqueued', 'started')",
                JOB_CHANNEL))
        if not states.get("queued") or not live or time.monotonic() > deadline:
            return states
        time.sleep(0.05)


def _states_text(states):
    return ", ".join(f"{number} {state}" for state, number in sorted(states.items()))


# ---------------------------------------------------------------------------- 5. back-fill memory


def bench_reconciliation(bench):
    """The reconciliation of 500 and 2,000 sent documents (``tools/bench_reconcile.py``; run it alone for 10,000:
    creating the documents is what takes the time)."""
    from bench_reconcile import bench_reconcile  # noqa: PLC0415 - it imports this module

    return bench_reconcile(bench, sizes=(500, 2_000))


def bench_backfill_memory(bench):
    table = Table("5. The back-fill scheduling paid orders: _kashflow_backfill called as its cron calls it (a "
                  "transaction per call, again while it queues orders), the jobs created",
                  ["orders", "time", "per order", "SQL queries", "per order", "peak memory (RSS) growth"])
    with bench.env() as env:
        template = bench.paid_orders(env, bench.partners(env, 1))
        template.write({"kashflow_state": "sent"})
        template_id = template.id
    statements = backfill_statements(bench, template_id)
    growth = []
    for count in BACKFILL_SIZES:
        with bench.env() as env:
            today = fields.Date.context_today(env["res.company"].browse(bench.company))
            bench.clone_orders(env, env["sale.order"].browse(template_id), count, kashflow_state="not_paid",
                               kashflow_paid_date=today)
        child = subprocess.run([sys.executable, __file__, "--backfill-child", str(bench.config), bench.dbname],
                               capture_output=True, text=True, check=True, cwd=ROOT)
        measured = json.loads(child.stdout.strip().splitlines()[-1])
        rss = (measured["peak_kib"] - measured["before_kib"]) * 1024
        growth.append(rss)
        queued = _clear_queue(bench)
        elapsed, queries = measured["seconds"], measured["queries"]
        table.add(f"{count:,} ({queued:,} queued, {measured['calls']} calls)", f"{elapsed:.1f} s",
                  ms(elapsed / count), f"{queries:,}", f"{queries / count:.1f}", f"{rss / 2**20:.1f} MiB")
    (small, large), (small_rss, large_rss) = BACKFILL_SIZES, growth
    per_order = max(large_rss - small_rss, 0) / (large - small)
    estimate = large_rss + per_order * (100_000 - large)
    table.note(f"100,000 orders, by the growth between the two sizes: about {estimate / 2**20:.0f} MiB of peak "
               "memory, and the time in proportion")
    table.note("the orders: copies, made in SQL, of one order paid while the connector was off (the back-fill reads "
               "the orders only, not their invoices). Each size runs in a fresh process of its own: peak memory is "
               "its resident high-water mark (VmHWM) less its resident memory once Odoo's registry was loaded")
    return table, statements


def _clear_queue(bench):
    """Mark the queued orders sent and drop their jobs, so that the next measure starts from an empty queue;
    returns how many orders were queued."""
    with bench.env() as env:
        queued = env["sale.order"].search_count([("kashflow_state", "=", "queued")])
        env.execute_query(SQL("UPDATE sale_order SET kashflow_state = 'sent' WHERE kashflow_state = 'queued'"))
        env.execute_query(SQL("DELETE FROM queue_job WHERE channel = %s", JOB_CHANNEL))
    return queued


def backfill_statements(bench, template_id, count=BACKFILL_SAMPLE):
    """The statements the back-fill runs once per order or more, from a small run of ``count`` orders."""
    with bench.env() as env:
        today = fields.Date.context_today(env["res.company"].browse(bench.company))
        bench.clone_orders(env, env["sale.order"].browse(template_id), count, kashflow_state="not_paid",
                           kashflow_paid_date=today)
    with Queries(keep=True) as queries:
        bench.backfill()
    _clear_queue(bench)
    table = Table(f"5b. The statements the back-fill runs per order (a run of {count} orders)",
                  ["per order", "statement (numbers shown as N, cut at 160 characters)"])
    for statement, times in Counter(_shape(statement) for statement in queries.statements).most_common():
        if times >= count / 2:
            table.add(f"{times / count:.2f}", statement)
    table.note(f"{queries.count} statements in all, {queries.count / count:.1f} per order")
    return table


# ---------------------------------------------------------------------------- main


def backfill_child(config_path, dbname):
    """Run in a process of its own: the back-fill of ``dbname`` to the end; prints its figures as JSON."""
    config.parse_config(["-c", config_path], setup_logging=True)
    registry = Registry(dbname)
    with registry.cursor() as cr:  # what any first transaction loads, before the measure
        api.Environment(cr, SUPERUSER_ID, {})["sale.order"].search_count([("kashflow_state", "=", "not_paid")])
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # Linux: the high-water mark starts again from the resident memory now
    except OSError:
        pass
    before = resident_kib()
    with Queries() as counted, Clock() as clock:
        queued, calls = run_backfill(registry)
    print(json.dumps({"seconds": clock.wall, "queries": counted.count, "queued": queued, "calls": calls,
                      "before_kib": before, "peak_kib": resident_kib("VmHWM")}))


STEPS = (bench_calls, bench_shared_invoice, bench_hook, bench_contact_edit, bench_runner, bench_backfill_memory,
         bench_reconciliation)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="also write the tables to this file, as JSON")
    parser.add_argument("--only", action="append", metavar="BENCHMARK", choices=[step.__name__ for step in STEPS],
                        help="run only this benchmark (may be given again)")
    parser.add_argument("--backfill-child", nargs=2, metavar=("CONFIG", "DATABASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backfill_child:
        backfill_child(*args.backfill_child)
        return
    sys.stdout.reconfigure(line_buffering=True)
    odoo = devenv.require_odoo()
    pg = devenv.Postgres().ensure()
    BENCH.mkdir(parents=True, exist_ok=True)
    tables = []
    try:
        run(odoo, pg, tables, only=args.only)
    finally:
        if args.json:
            dump(tables, args.json)


def run(odoo, pg, tables, only=None):
    """Build the database, run every benchmark (or those named in ``only``), drop the database; ``tables`` gets
    each table as it is made (a failure leaves those made before it)."""
    with tempfile.TemporaryDirectory() as folder, SandboxProcess(
            Path(folder) / "kashflow.sqlite3", username=demo_data.SANDBOX_USERNAME,
            password=demo_data.SANDBOX_PASSWORD) as sandbox:
        bench = Bench(pg, odoo, sandbox)
        started = time.monotonic()
        try:
            print(f"bench_odoo: building the database {bench.dbname} (Odoo's log: {bench.config.parent}/odoo.log)")
            bench.build()
            print(f"bench_odoo: database ready in {time.monotonic() - started:.0f} s")
            for step in STEPS:
                if only and step.__name__ not in only:
                    continue
                step_started = time.monotonic()
                result = step(bench)
                for table in result if isinstance(result, tuple) else (result,):
                    if isinstance(table, Table):
                        print(table.text())
                        tables.append(table)
                print(f"  [{step.__name__}: {time.monotonic() - step_started:.0f} s]")
        except Exception as error:
            failed = Table("The benchmarks inside Odoo stopped", [""])
            failed.add(f"{type(error).__name__}: {error} (the traceback is above)")
            tables.append(failed)
            raise
        finally:
            bench.drop()
            pg.stop()


if __name__ == "__main__":
    main()
