"""What the soak (``test_soak.py``) runs beside the shop's work: the sandbox's faults and latency, changing over
time (:class:`FaultInjector`), the workers killed in the middle of jobs (:class:`WorkerKiller`); and the checks
at the end that ``harness.check_books`` does not cover: orders cancelled, and shared invoices (the approach of
``test_runner_shared_invoice.check_shared_books``, without its "nothing else in KashFlow" counts, which a soak of
many contacts at once cannot use).
"""

import itertools
import os
import random
import threading
from collections import Counter

from . import harness

#: Every operation a job may call (as test_runner_faults.OPERATIONS).
OPERATIONS = ("GetCustomer", "GetCustomerByEmail", "GetCustomerByID", "InsertCustomer", "UpdateCustomer",
              "GetInvoice", "GetInvoicesByDateRange", "InsertInvoice", "UpdateInvoice", "InsertInvoicePayment",
              "GetInvoicePayment", "DeleteInvoicePayment", "applyCreditNoteToInvoice")
#: The faults armed in turn, with their settings: a lost answer, a stall past the read timeout, busy, rate-limited.
FAULTS = (("drop_after_commit", {}), ("timeout", {"stall_seconds": 3}), ("http500", {}),
          ("http429", {"retry_after": 1}))
#: The sandbox's outcome of each fault's calls (kashflow_sandbox/faults.py).
OUTCOMES = {"drop_after_commit": "dropped", "timeout": "timeout", "http500": "http500", "http429": "http429"}
READ_TIMEOUT = 2  # seconds a KashFlow call waits for its answer during the soak (the sandbox stalls 3)


class _Loop:
    """A thread doing ``step()`` every ``interval`` seconds until :meth:`stop`."""

    interval = 1.0

    def __init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.errors = []

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self):
        while not self._stop.wait(self.interval):
            try:
                self.step()
            except Exception as error:  # noqa: BLE001 - reported at the end
                self.errors.append(repr(error))


class FaultInjector(_Loop):
    """Every ``interval`` seconds: a new latency (50-200 ms) and one fault, for the next call of the next operation
    in turn (every operation gets every kind of fault in 52 rounds), up to ``rounds`` faults."""

    interval = 2.0

    def __init__(self, sandbox, rounds, seed=7):
        super().__init__()
        self.sandbox, self.rounds = sandbox, rounds
        self.random = random.Random(seed)
        self.armed = Counter()
        # every (operation, fault) pair once in each len(OPERATIONS) * len(FAULTS) rounds, the faults interleaved
        self._plan = itertools.cycle([
            (OPERATIONS[index % len(OPERATIONS)],
             FAULTS[(index + index // len(OPERATIONS)) % len(FAULTS)])
            for index in range(len(OPERATIONS) * len(FAULTS))])

    def step(self):
        self.sandbox.set_faults(latency_ms=self.random.randint(50, 200))
        if sum(self.armed.values()) >= self.rounds:
            return
        operation, (mode, options) = next(self._plan)
        self.sandbox.set_faults(operation=operation, mode=mode, count=1, **options)
        self.armed[mode] += 1


class WorkerKiller(_Loop):
    """Every ``interval`` seconds, up to ``kills`` times: SIGKILL the worker of a started KashFlow job (Linux)."""

    interval = 15.0

    def __init__(self, shop, server, kills):
        super().__init__()
        self.shop, self.server, self.kills = shop, server, kills
        self.killed = []  # (job uuid, pid)

    def step(self):
        if len(self.killed) >= self.kills or not os.path.isdir("/proc"):
            return
        workers = self.server.workers()
        started = [job for job in self.shop.jobs([("state", "=", "started")]) if job["worker_pid"] in workers]
        if not started:
            return
        job = started[0]
        [now] = self.shop.jobs([("uuid", "=", job["uuid"])])
        if now["state"] != "started" or now["worker_pid"] != job["worker_pid"]:
            return
        self.server.kill_worker(job["worker_pid"])
        self.killed.append((job["uuid"], job["worker_pid"]))
        harness.wait_until(lambda: not harness.process_alive(job["worker_pid"]), timeout=10, what="the worker gone")


# ---------------------------------------------------------------------------- the checks


def documents_of(state, name):
    """KashFlow's invoices and credit notes whose reference names the order ``name`` (after the Odoo document's
    number, or alone for an order's own lines)."""
    return [d for d in state["invoices"] if name in d["CustomerReference"].split(" ")]


def odoo_lines(shop, move_ids):
    lines = {move: [] for move in move_ids}
    for line in shop.rpc("account.move.line", "search_read", [("move_id", "in", list(move_ids)),
                                                             ("display_type", "=", "product")],
                         ["move_id", "price_subtotal", "price_total"]):
        lines[line["move_id"][0]].append((harness._money(line["price_subtotal"]),
                                          harness._money(line["price_total"] - line["price_subtotal"])))
    return lines


def check_cancelled(shop, state, orders, paid):
    """Orders cancelled in Odoo: ``paid`` ones (sent, or on their way, when cancelled) keep their posted
    invoices and credit notes, which KashFlow holds as Odoo does; the others (never paid) have nothing in KashFlow
    (and stay *Not paid*, or *Cancelled*). Returns ``(problems, duplicates, lost)``."""
    problems, duplicates, lost = [], 0, 0
    records = shop.orders(orders)
    move_ids = sorted({move for record in records for move in record["invoice_ids"]})
    moves = {m["id"]: m for m in shop.rpc("account.move", "read", move_ids, [
        "move_type", "state", "amount_untaxed", "amount_tax"])} if move_ids else {}
    lines = odoo_lines(shop, move_ids) if move_ids else {}
    for record in records:
        held = documents_of(state, record["name"])
        if not paid:
            # never paid, so never queued: the addon leaves such an order *Not paid* (sale_order._action_cancel)
            if record["kashflow_state"] not in ("not_paid", "cancelled") or held:
                problems.append(f"{record['name']} (cancelled unpaid): {record['kashflow_state']}, KashFlow holds "
                                f"{[d['InvoiceNumber'] for d in held]}")
                duplicates += len(held)
            continue
        if record["kashflow_state"] not in ("sent", "cancelled"):
            lost += 1
            problems.append(f"{record['name']} (cancelled paid): {record['kashflow_state']} "
                            f"{record['kashflow_reason']}")
        for kind, credit in (("out_invoice", False), ("out_refund", True)):
            odoo = sorted(harness._odoo_document(moves[m], lines[m], credit) for m in record["invoice_ids"]
                          if moves[m]["move_type"] == kind and moves[m]["state"] == "posted")
            kashflow = sorted(harness._kashflow_document(d) for d in held if bool(d.get("CreditNote")) == credit)
            duplicates += max(0, len(kashflow) - len(odoo))
            if kashflow != odoo:
                problems.append(f"{record['name']} (cancelled paid): KashFlow's {kind}s {kashflow}, Odoo's {odoo}")
    return problems, duplicates, lost


def check_shared(shop, state, orders, invoice):
    """Orders invoiced together: every order *Sent* naming one KashFlow invoice, whose reference names the Odoo
    invoice then the orders, with Odoo's totals and lines; one KashFlow payment per Odoo payment (its note naming
    the Odoo invoice and the payment, its amount), adding up to the invoice. ``(problems, duplicates, lost)``."""
    problems = []
    move = shop.rpc("account.move", "read", [invoice], ["name", "partner_id", "amount_untaxed", "amount_tax",
                                                        "amount_total", "matched_payment_ids"])[0]
    records = shop.orders(orders)
    names = {record["name"] for record in records}
    held = [d for d in state["invoices"] if not d.get("CreditNote")
            and {move["name"], *names} & set(d["CustomerReference"].split(" "))]
    duplicates = max(0, len(held) - 1)
    lost = sum(record["kashflow_state"] != "sent" for record in records)
    if lost:
        problems.append(f"shared {move['name']}: orders {[(r['name'], r['kashflow_state']) for r in records]}")
    if len(held) != 1:
        problems.append(f"shared {move['name']}: KashFlow holds {[d['InvoiceNumber'] for d in held]}")
        return problems, duplicates, lost + (not held)
    [document] = held
    numbers = {record["kashflow_invoice_number"] for record in records}
    if numbers != {document["InvoiceNumber"]}:
        problems.append(f"shared {move['name']}: orders name {numbers}, KashFlow's is {document['InvoiceNumber']}")
    reference = document["CustomerReference"].split(" ")
    if reference[0] != move["name"] or not names <= set(reference[1:]):
        problems.append(f"shared {move['name']}: reference {document['CustomerReference']!r}")
    lines = odoo_lines(shop, [invoice])[invoice]
    if harness._kashflow_document(document) != harness._odoo_document(move, lines, credit=False):
        problems.append(f"shared {move['name']}: KashFlow {harness._kashflow_document(document)}, Odoo "
                        f"{harness._odoo_document(move, lines, credit=False)}")
    odoo_payments = shop.rpc("account.payment", "read", move["matched_payment_ids"], ["name", "amount", "state"])
    odoo_payments = [p for p in odoo_payments if p["state"] in ("in_process", "paid")]
    money = [p for p in state["payments"] if p["PayInvoice"] == document["InvoiceNumber"]
             and not p.get("CreditNoteApplication")]
    duplicates += max(0, len(money) - len(odoo_payments))
    for payment in odoo_payments:
        found = [p for p in money if payment["name"] in p["PayNote"]]
        if len(found) != 1 or harness._money(found[0]["PayAmount"]) != harness._money(payment["amount"]) \
                or not found[0]["PayNote"].startswith(f"Odoo invoice {move['name']}"):
            problems.append(f"shared {move['name']}: payment {payment['name']} {payment['amount']}: "
                            f"{[(p['PayNote'], p['PayAmount']) for p in found]}")
    if sum(harness._money(p["PayAmount"]) for p in money) != harness._money(move["amount_total"]):
        problems.append(f"shared {move['name']}: KashFlow's payments {[p['PayAmount'] for p in money]}, total "
                        f"{move['amount_total']}")
    return problems, duplicates, lost
