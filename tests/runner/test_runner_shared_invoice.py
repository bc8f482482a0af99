"""Several orders of one contact invoiced together (one Odoo invoice with all their lines), paid once, with Odoo
running queue_job's job runner: each order has its job, the jobs run at once in two workers, and KashFlow books the
invoice ONCE, whichever job gets there first (the others wait on the invoice's lock, ``SHARED_LOCKED_PAUSE``, then
find it booked).

The contact's KashFlow customer exists before (an earlier order of theirs was sent), so that the jobs meet on the
invoice and not on the creation of the customer. Each scenario ends with :func:`check_shared_books`: every order
*Sent* with the same KashFlow invoice number; KashFlow holding one invoice for the Odoo invoice (its name and the
orders' names in its reference, all the lines, Odoo's totals) and one payment per Odoo payment (its note naming
the Odoo invoice and the payment); nothing else new for the contact, and each insert done by KashFlow once.

The variant that kills the worker (SIGKILL) in the invoice's insert runs with ``make test-faults``
(``KASHFLOW_WORKER_KILL=1``), as ``test_runner_worker_kill.py`` does; the one where the insert's answer is lost
always runs. A job postponed by the invoice's lock waits a few seconds (``SHARED_LOCKED_PAUSE``; the waits allow
for more; ``hurry`` starts it at once when its message is one ``harness.LOCKED_WORDS`` knows).
"""

import os

import pytest

from . import harness

#: Each order's lines: different products and quantities, so that every line of the shared invoice is its own.
ORDER_LINES = ((("board", 2), ("delivery", 1)), (("book", 3),), (("board", 1), ("book", 2), ("delivery", 1)))
LATENCY_MS = 300  # each call takes a moment: the jobs are at work at the same time
SETTLE_TIMEOUT = 180  # a job postponed by a lock waits SHARED_LOCKED_PAUSE (5 s) or LOCKED_PAUSE (30 s), maybe more
STALL_SECONDS = 45  # longer than finding and killing the worker takes; shorter than Odoo's limit_time_real
REQUEUE_TIMEOUT = 90  # the runner's own wake-up is within 60 s, plus the 10 s it waits before calling a job dead
WORKER_KILL = os.environ.get("KASHFLOW_WORKER_KILL") == "1" and os.path.isdir("/proc")


# ---------------------------------------------------------------------------- the shop's side


def known_contact(shop, name):
    """A contact whose KashFlow customer exists: an earlier order of theirs, paid and sent; ``(contact, order)``."""
    contact = shop.contact(name)
    order, _invoice = shop.sell(contact, lines=(("delivery", 1),))
    shop.wait_for([order], timeout=90, hurry=True)
    return contact, order


def invoice_together(shop, orders):
    """One invoice for all the ``orders`` (*Create Invoice* on them selected in the list: Odoo's consolidated
    billing makes one invoice per customer), posted; its id."""
    context = {"active_model": "sale.order", "active_ids": list(orders), "active_id": orders[0]}
    wizard = shop.rpc("sale.advance.payment.inv", "create", {"advance_payment_method": "delivered"},
                      context=context)
    shop.rpc("sale.advance.payment.inv", "create_invoices", [wizard], context=context)
    drafts = shop.rpc("account.move", "search", [("line_ids.sale_line_ids.order_id", "in", list(orders)),
                                                 ("state", "=", "draft")])
    assert len(drafts) == 1, f"one invoice for the orders {orders}: {drafts}"
    shop.rpc("account.move", "action_post", drafts)
    [invoice] = drafts
    for record in shop.orders(orders):
        assert record["invoice_ids"] == [invoice], f"{record['name']} is invoiced by {record['invoice_ids']} only"
    return invoice


def shared_sale(shop, contact, count):
    """``count`` confirmed orders of ``contact``, invoiced together, not paid yet; ``(orders, invoice)``."""
    orders = [shop.order(contact, lines=lines) for lines in ORDER_LINES[:count]]
    invoice = invoice_together(shop, orders)
    assert [r["kashflow_state"] for r in shop.orders(orders)] == ["not_paid"] * count
    return orders, invoice


def order_jobs(shop, orders, domain=()):
    keys = [f"kashflow_connector:sale.order:{order}" for order in orders]
    return shop.jobs([("identity_key", "in", keys), *domain])


class Overlap(harness.Watcher):
    """Watches the orders' jobs while they run: whether two were at work at the same time, or one was postponed
    while another ran (a job postponed without counting a retry: ``retry`` 0 and a message in ``result``)."""

    def __init__(self, shop, orders):
        super().__init__()
        self.shop, self.orders = shop, orders
        self.seen = []

    def look(self):
        jobs = order_jobs(self.shop, self.orders, [("state", "in", ["pending", "started"])])
        started = [job for job in jobs if job["state"] == "started"]
        postponed = [job for job in jobs if job["state"] == "pending" and job["result"] and not job["retry"]]
        if len(started) >= 2 or postponed:
            self.seen.append(([j["identity_key"] for j in started], [j["result"] for j in postponed]))


def settle(shop, orders, overlap):
    """Wait until ``overlap`` saw the jobs together (a job postponed by the lock waits its whole pause until
    then: it is not missed), then until every order is *Sent*, a postponed job started at once."""
    harness.wait_until(lambda: overlap.seen or not order_jobs(shop, orders, [("state", "in", harness.LIVE_JOB_STATES)]),
                       timeout=SETTLE_TIMEOUT, interval=0.3, what="the orders' jobs at work")
    return shop.wait_for(orders, timeout=SETTLE_TIMEOUT, hurry=True)


def pay_and_settle(shop, orders, invoice):
    """The shared invoice paid (one payment, the *Pay* button); both orders' jobs queued by it in one transaction,
    watched while they run; the payments' ids."""
    with Overlap(shop, orders) as overlap:
        payments = shop.pay(invoice)
        jobs = order_jobs(shop, orders)
        assert len(jobs) == len(orders), f"one job per order, queued by the payment: {jobs}"
        settle(shop, orders, overlap)
    assert overlap.seen, "the orders' jobs ran at the same time (root.kashflow has capacity 4, six workers)"
    return payments


# ---------------------------------------------------------------------------- KashFlow's side


def done_calls(sandbox, since, operation):
    """The calls of ``operation`` KashFlow did the work of (answered, or its answer lost)."""
    return [call for call in sandbox.calls(since=since)
            if call["operation"] == operation and call["outcome"] in ("ok", "dropped")]


def check_shared_books(shop, orders, invoice, payments, before):
    """The end of every scenario (see the module's note); ``before``: what KashFlow held before the shared
    invoice was paid (``sandbox.state()``). Counts duplicates and lost orders in ``harness.TALLY``."""
    state = shop.sandbox.state()
    move = shop.rpc("account.move", "read", [invoice], ["name", "partner_id", "amount_untaxed", "amount_tax",
                                                        "amount_total"])[0]
    records = shop.orders(orders)
    harness.TALLY.orders.update(orders)
    names = {record["name"] for record in records}
    contact = move["partner_id"][0]
    [customer] = [c for c in state["customers"] if c["Code"] == shop.code_of(contact)]
    new = [d for d in state["invoices"] if d["CustomerID"] == customer["CustomerID"]
           and d["InvoiceNumber"] not in {old["InvoiceNumber"] for old in before["invoices"]}]
    held = [d for d in new if not d.get("CreditNote")
            and {move["name"], *names} & set(d["CustomerReference"].split(" "))]
    harness.TALLY.duplicates += max(0, len(held) - 1)
    lost = [(r["name"], r["kashflow_state"], r["kashflow_reason"]) for r in records if r["kashflow_state"] != "sent"]
    harness.TALLY.lost += len(lost)
    assert len(held) == 1, (
        f"one KashFlow invoice for the Odoo invoice {move['name']} of orders {sorted(names)}: KashFlow holds "
        f"{len(held)}: {[(d['InvoiceNumber'], d['CustomerReference']) for d in held]}")
    assert not lost, f"orders not sent: {lost}"
    [document] = held
    assert len(new) == 1, f"nothing else new for the contact in KashFlow: {[d['CustomerReference'] for d in new]}"
    numbers = {record["kashflow_invoice_number"] for record in records}
    assert numbers == {document["InvoiceNumber"]}, \
        f"every order names KashFlow's invoice {document['InvoiceNumber']}: {numbers}"
    reference = document["CustomerReference"].split(" ")
    assert reference[0] == move["name"] and names <= set(reference[1:]), \
        f"the reference names the Odoo invoice, then its orders: {document['CustomerReference']!r}"

    lines = [(harness._money(line["price_subtotal"]), harness._money(line["price_total"] - line["price_subtotal"]))
             for line in shop.rpc("account.move.line", "search_read", [("move_id", "=", invoice),
                                                                      ("display_type", "=", "product")],
                                  ["price_subtotal", "price_total"])]
    assert len(lines) == sum(len(ORDER_LINES[index]) for index in range(len(orders)))
    assert harness._kashflow_document(document) == harness._odoo_document(move, lines, credit=False), \
        "KashFlow's invoice has Odoo's totals and every line of the orders (net, VAT)"

    odoo_payments = shop.rpc("account.payment", "read", payments, ["name", "amount"])
    money = [p for p in state["payments"] if p["PayInvoice"] == document["InvoiceNumber"]
             and not p.get("CreditNoteApplication")]
    harness.TALLY.duplicates += max(0, len(money) - len(odoo_payments))
    assert len(money) == len(odoo_payments), f"one KashFlow payment per Odoo payment: {money}"
    for payment in odoo_payments:
        found = [p for p in money if payment["name"] in p["PayNote"]]
        assert len(found) == 1, f"payment {payment['name']}: {[p['PayNote'] for p in money]}"
        assert found[0]["PayNote"].startswith(f"Odoo invoice {move['name']}"), found[0]["PayNote"]
        assert harness._money(found[0]["PayAmount"]) == harness._money(payment["amount"])
    assert sum(harness._money(p["PayAmount"]) for p in money) == harness._money(move["amount_total"])
    assert len(state["payments"]) == len(before["payments"]) + len(odoo_payments), \
        f"no other payment in KashFlow: {len(before['payments'])} before, {len(state['payments'])} now"
    return records


def check_inserts_once(sandbox, since):
    """KashFlow did each insert once: the invoice's, the payment's (a lost answer counts: the work was done)."""
    for operation in ("InsertInvoice", "InsertInvoicePayment"):
        done = done_calls(sandbox, since, operation)
        assert len(done) == 1, f"{operation} done once by KashFlow: {[c['outcome'] for c in done]}"
    assert not done_calls(sandbox, since, "InsertCustomer"), "the customer existed"


# ---------------------------------------------------------------------------- the scenarios


@pytest.mark.parametrize("count", [2, 3])
def test_orders_invoiced_together_are_booked_once_when_their_jobs_run_at_once(runner, scenario, count):
    shop, sandbox = runner.shop, runner.sandbox
    contact, _earlier = known_contact(shop, f"Eilidh Fraser {count}")
    orders, invoice = shared_sale(shop, contact, count)
    before, mark = sandbox.state(), sandbox.last_call()
    sandbox.set_faults(latency_ms=LATENCY_MS)
    payments = pay_and_settle(shop, orders, invoice)
    check_shared_books(shop, orders, invoice, payments, before)
    check_inserts_once(sandbox, mark)
    for order in orders:
        assert [job["state"] for job in shop.order_jobs(order)] == ["done"], "one job per order, done"


def test_shared_invoices_lost_answers_book_it_once(runner, scenario):
    """KashFlow inserts the invoice, then its payment, and each time the answer is lost: the job that sent it
    (or the other order's, whichever runs next) finds it and does not insert it again."""
    shop, sandbox = runner.shop, runner.sandbox
    contact, _earlier = known_contact(shop, "Callum Reid")
    orders, invoice = shared_sale(shop, contact, 2)
    before, mark = sandbox.state(), sandbox.last_call()
    sandbox.set_faults(latency_ms=LATENCY_MS)
    for operation in ("InsertInvoice", "InsertInvoicePayment"):
        sandbox.set_faults(operation=operation, mode="drop_after_commit")
    payments = pay_and_settle(shop, orders, invoice)
    dropped = [c["operation"] for c in sandbox.calls(since=mark) if c["outcome"] == "dropped"]
    assert dropped == ["InsertInvoice", "InsertInvoicePayment"]
    check_shared_books(shop, orders, invoice, payments, before)
    check_inserts_once(sandbox, mark)


@pytest.mark.skipif(not WORKER_KILL, reason="kills Odoo's workers (Linux): run by make test-faults")
@pytest.mark.parametrize("after_work", [False, True], ids=["before-kashflows-work", "after-kashflows-work"])
def test_worker_killed_in_the_shared_invoices_insert_books_it_once(runner, scenario, after_work):
    """The worker of the job inserting the shared invoice killed (SIGKILL) while KashFlow stalls, before or after
    doing the work; queue_job's runner requeues the job; the other order's job, which ran at the same time, waits
    meanwhile or finds the invoice; one invoice, one payment."""
    shop, sandbox, server = runner.shop, runner.sandbox, runner.server
    contact, _earlier = known_contact(shop, f"Morag Sinclair {'after' if after_work else 'before'}")
    orders, invoice = shared_sale(shop, contact, 2)
    before, mark = sandbox.state(), sandbox.last_call()
    sandbox.set_faults(latency_ms=LATENCY_MS)
    outcome = "dropped" if after_work else "timeout"
    sandbox.set_faults(operation="InsertInvoice", mode="drop_after_commit" if after_work else "timeout",
                       stall_seconds=STALL_SECONDS)
    with Overlap(shop, orders) as overlap:
        payments = shop.pay(invoice)
        harness.wait_until(lambda: [c for c in sandbox.calls(since=mark)
                                    if c["operation"] == "InsertInvoice" and c["outcome"] == outcome],
                           timeout=60, what="a job in InsertInvoice")
        # The stalled job stays started; the other one is postponed, done, or (were the invoice not locked) goes
        # on past its own insert: once one job only is started, it is the one in InsertInvoice.
        [job] = harness.wait_until(lambda: [j for j in order_jobs(shop, orders) if j["state"] == "started"]
                                   if len(order_jobs(shop, orders, [("state", "=", "started")])) == 1 else None,
                                   timeout=30, what="the job in InsertInvoice alone started",
                                   describe=lambda: str(order_jobs(shop, orders)))
        server.kill_worker(job["worker_pid"])
        harness.TALLY.kills["after" if after_work else "before"] += 1
        harness.wait_until(lambda: not harness.process_alive(job["worker_pid"]), timeout=10, what="the worker gone")

        def requeued():
            shop.nudge_runner()
            [now] = shop.jobs([("uuid", "=", job["uuid"])])
            return now if now["retry"] > job["retry"] else None

        harness.wait_until(requeued, timeout=REQUEUE_TIMEOUT, interval=1, what=f"job {job['uuid']} requeued")
        settle(shop, orders, overlap)
    assert overlap.seen, "the orders' jobs ran at the same time"
    check_shared_books(shop, orders, invoice, payments, before)
    check_inserts_once(sandbox, mark)
