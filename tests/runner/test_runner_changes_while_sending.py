"""Changes made to an order while its KashFlow job is at work, with Odoo running queue_job's job runner: the change
is not lost. The job is held inside a KashFlow call (every call takes :data:`LATENCY_MS`; the test waits until the
job is *started* and KashFlow has answered the call before the one it is in, or it has been in its first for a
second), the shop's administrator makes the change over JSON-RPC, and the test checks that the job was still
running when the change was saved.

Then everything settles, and each scenario ends the same way: the order *Sent*, KashFlow holding exactly what Odoo
holds (``harness.check_books``: the contact's details, the invoices, credit notes and money), and never two jobs
of the order running at the same time (watched while waiting, :class:`OneAtATime`).
"""

import time

import pytest

from . import harness
from .test_runner_shared_invoice import invoice_together

LATENCY_MS = 4000  # every KashFlow call takes four seconds: the change lands while the job waits for one
CHANGED_WORDS = "changed in Odoo while it was being sent"  # a job whose end met the change says so, runs again
IN_CALL_SECONDS = 1.0  # a job started this long ago waits for its first call (Odoo's work before it: milliseconds)
SETTLE_TIMEOUT = 180  # a job whose end clashed with the change runs again after queue_job's PG_RETRY (5 s)


class OneAtATime(harness.Watcher):
    """Watches the order's jobs while the scenario runs: every moment two of them were *started* together."""

    def __init__(self, shop, order):
        super().__init__()
        self.shop, self.order = shop, order
        self.together = []

    def look(self):
        started = self.shop.order_jobs(self.order, states=("started",))
        if len(started) >= 2:
            self.together.append([job["uuid"] for job in started])


def sent_sale(shop, name, lines=harness.DEFAULT_LINES):
    """A contact's order, invoiced, paid and sent to KashFlow; ``(contact, order, invoice)``."""
    contact = shop.contact(name)
    order, invoice = shop.sell(contact, lines=lines)
    shop.wait_for([order], timeout=90, hurry=True)
    return contact, order, invoice


def job_in_call(shop, sandbox, order, since, after=None):
    """Wait until the order's job is *started* and KashFlow has answered a call of it since ``since`` (of
    ``after``, when given): the job is now inside its next call, which takes :data:`LATENCY_MS`. The job.

    Without ``after``, a job seen *started* for :data:`IN_CALL_SECONDS` is inside its first call too: the
    sandbox records a call once it is answered, so a job of one call would never be seen in it otherwise."""
    seen = {}

    def ready():
        started = shop.order_jobs(order, states=("started",))
        if not started:
            return None
        since_seen = time.monotonic() - seen.setdefault(started[0]["uuid"], time.monotonic())
        answered = [call for call in sandbox.calls(since=since) if after in (None, call["operation"])]
        return started[0] if answered or (after is None and since_seen >= IN_CALL_SECONDS) else None

    return harness.wait_until(ready, timeout=90, interval=0.1, what=f"order {order}'s job inside a KashFlow call",
                              describe=lambda: f"jobs {shop.order_jobs(order)}, calls {sandbox.calls(since=since)}")


def still_running(shop, job):
    """Assert that ``job`` had not ended when the change was saved (it is still *started*, or it was sent back
    to run again because its end clashed with the change)."""
    [now] = shop.jobs([("uuid", "=", job["uuid"])])
    assert now["state"] == "started" or now["retry"] > job["retry"] or CHANGED_WORDS in (now["result"] or ""), \
        f"the change was saved while the job ran: the job is {now['state']} ({now['result']})"


def change_while_sending(shop, sandbox, order, change, after=None):
    """Make the ``change`` (a callable) while the order's job waits for a slow KashFlow call; KashFlow is then
    fast again. What ``change`` returned."""
    job = job_in_call(shop, sandbox, order, _MARK[order], after)
    result = change()
    still_running(shop, job)
    sandbox.set_faults(latency_ms=0)
    return result


_MARK = {}  # the sandbox's last call when each order's slow job was set off


def slow(sandbox, order):
    """KashFlow slow from now on (every call :data:`LATENCY_MS`), for the order's next job."""
    _MARK[order] = sandbox.last_call()
    sandbox.set_faults(latency_ms=LATENCY_MS)


def settle_and_check(shop, order, watch):
    """Everything settled: the order *Sent*, KashFlow's books equal to Odoo's, one job of the order at a time."""
    shop.wait_for([order], timeout=SETTLE_TIMEOUT, hurry=True)
    watch.stop()
    harness.check_books(shop, [order])
    assert not watch.together, f"two jobs of the order ran at the same time: {watch.together}"
    jobs = shop.order_jobs(order)
    assert all(job["state"] == "done" for job in jobs), [(j["state"], j["result"]) for j in jobs]


def payments_of(shop, move):
    return shop.rpc("account.move", "read", [move], ["matched_payment_ids"])[0]["matched_payment_ids"]


# ---------------------------------------------------------------------------- the scenarios


def test_refund_registered_while_the_credit_notes_job_runs_goes_to_kashflow(runner, scenario):
    """A board comes back: the shop posts a credit note, and while its job is booking it in KashFlow the
    administrator pays the refund. KashFlow ends with the credit note AND the refund."""
    shop, sandbox = runner.shop, runner.sandbox
    _contact, order, invoice = sent_sale(shop, "Aoife Gallagher")
    slow(sandbox, order)
    with OneAtATime(shop, order) as watch:
        credit_note = shop.credit_note(invoice, quantity=1)
        change_while_sending(shop, sandbox, order, lambda: shop.pay(credit_note))
        settle_and_check(shop, order, watch)


def test_last_partial_payment_registered_while_the_first_ones_job_runs_goes_to_kashflow(runner, scenario):
    """An order, sent, gets a second invoice (a book added after the sale), which the customer pays in two
    parts: the second part is registered while the job of the first is sending it. KashFlow ends with both."""
    shop, sandbox = runner.shop, runner.sandbox
    _contact, order, _invoice = sent_sale(shop, "Bartek Zielinski")
    shop.rpc("sale.order", "write", [order], {"order_line": [
        (0, 0, {"product_id": shop.data["products"]["book"], "product_uom_qty": 2})]})
    second = shop.invoice(order)
    shop.wait_for([order], states=("sent", "changed"), timeout=90, hurry=True)
    if shop.orders([order])[0]["kashflow_state"] == "changed":
        shop.resend([order])
        shop.wait_for([order], timeout=90, hurry=True)
    total = shop.rpc("account.move", "read", [second], ["amount_total"])[0]["amount_total"]
    first_part = round(total / 2, 2)
    slow(sandbox, order)
    with OneAtATime(shop, order) as watch:
        shop.pay(second, amount=first_part)
        change_while_sending(shop, sandbox, order, lambda: shop.pay(second, amount=round(total - first_part, 2)))
        settle_and_check(shop, order, watch)
    assert len(payments_of(shop, second)) == 2


def sold_for(shop, name, when):
    """A new contact's order, invoiced: already paid and sent for ``credit-note``, not paid yet for ``first-send``;
    ``(order, invoice)``."""
    order, invoice = shop.sell(shop.contact(name), paid=when == "credit-note")
    if when == "credit-note":
        shop.wait_for([order], timeout=90, hurry=True)
    return order, invoice


def set_to_work(shop, invoice, when):
    """Give the order's job work: its invoice paid now (``first-send``), or a credit note of one board of the sent
    order (``credit-note``). The payment of the invoice."""
    if when == "credit-note":
        [payment] = payments_of(shop, invoice)
        shop.credit_note(invoice, quantity=1)
        return payment
    [payment] = shop.pay(invoice)
    return payment


@pytest.mark.parametrize("when", ["first-send", "credit-note"])
def test_payment_cancelled_while_the_orders_job_runs_is_taken_back_in_kashflow(runner, scenario, when):
    """The payment was a mistake and the administrator cancels it while the order's job is at work in KashFlow:
    sending the newly paid order (first-send), or booking a credit note of one board of the sent order
    (credit-note). KashFlow ends without that payment, as Odoo."""
    shop, sandbox = runner.shop, runner.sandbox
    order, invoice = sold_for(shop, f"Chidi Okafor {when}", when)
    slow(sandbox, order)
    with OneAtATime(shop, order) as watch:
        payment = set_to_work(shop, invoice, when)
        change_while_sending(shop, sandbox, order, lambda: shop.cancel_payment(payment))
        settle_and_check(shop, order, watch)


@pytest.mark.parametrize("operation", ["InsertInvoice", "InsertInvoicePayment"])
def test_credit_note_posted_while_the_orders_job_runs_goes_to_kashflow(runner, scenario, operation):
    """A paid order's job is booking it in KashFlow (its invoice, or its payment) when a board comes back and
    the shop posts a credit note. KashFlow ends with the credit note too."""
    shop, sandbox = runner.shop, runner.sandbox
    contact = shop.contact(f"Dagny Lund {operation}")
    order, invoice = shop.sell(contact, paid=False)
    slow(sandbox, order)
    before = {"InsertInvoice": "InsertCustomer", "InsertInvoicePayment": "InsertInvoice"}[operation]
    with OneAtATime(shop, order) as watch:
        shop.pay(invoice)
        change_while_sending(shop, sandbox, order, lambda: shop.credit_note(invoice, quantity=1), after=before)
        settle_and_check(shop, order, watch)


def test_phone_changed_while_the_job_creates_the_customer_reaches_kashflow(runner, scenario):
    """A new customer's order is paid; while its job is creating the KashFlow customer, the administrator
    corrects the contact's phone number. KashFlow's customer ends with the new number."""
    shop, sandbox = runner.shop, runner.sandbox
    contact = shop.contact("Efua Mensah")
    order, invoice = shop.sell(contact, paid=False)
    slow(sandbox, order)
    with OneAtATime(shop, order) as watch:
        shop.pay(invoice)
        change_while_sending(shop, sandbox, order, lambda: shop.rpc("res.partner", "write", [contact], {
            "phone": "01947 600 777"}), after="GetCustomerByEmail")
        settle_and_check(shop, order, watch)
    [customer] = [c for c in sandbox.state()["customers"] if c["Code"] == shop.code_of(contact)]
    assert customer["Telephone"] == "01947 600 777"


def test_resend_clicked_while_the_job_runs_after_a_new_delivery_address_sends_it(runner, scenario):
    """A sent order's credit note is being booked in KashFlow when the shop changes the order's delivery
    address to the workshop and clicks *Resend*. KashFlow's invoice ends with the workshop's address."""
    shop, sandbox = runner.shop, runner.sandbox
    contact, order, invoice = sent_sale(shop, "Fergus Munro")
    workshop = shop.rpc("res.partner", "create", {"parent_id": contact, "type": "delivery", "name": "Workshop",
                                                  "street": "Unit 7, Fish Pier", "city": "Whitby", "zip": "YO21 3PU"})
    slow(sandbox, order)

    def new_address_and_resend():
        shop.rpc("sale.order", "write", [order], {"partner_shipping_id": workshop})
        return shop.resend([order])

    with OneAtATime(shop, order) as watch:
        shop.credit_note(invoice, quantity=1)
        change_while_sending(shop, sandbox, order, new_address_and_resend)
        settle_and_check(shop, order, watch)
    number = shop.orders([order])[0]["kashflow_invoice_number"]
    [held] = [i for i in sandbox.state()["invoices"] if i["InvoiceNumber"] == number]
    assert "Unit 7, Fish Pier" in str(held["DeliveryAddress"]), held["DeliveryAddress"]


def outstanding_lines(shop, payments):
    """The payments' journal items Odoo has not allocated (the money left to assign to an invoice)."""
    moves = [p["move_id"][0] for p in shop.rpc("account.payment", "read", payments, ["move_id"]) if p["move_id"]]
    assert moves, f"the payments {payments} have journal entries (the bank journal's outstanding accounts)"
    return shop.rpc("account.move.line", "search", [("move_id", "in", moves), ("reconciled", "=", False),
                                                    ("account_id.account_type", "=", "asset_receivable")])


def post_again(shop, invoice, payments):
    """The invoice posted again (*Confirm*) and the money it had received assigned to it again (*Add* on the
    outstanding payment, as the invoice's form offers it)."""
    shop.rpc("account.move", "action_post", [invoice])
    for line in outstanding_lines(shop, payments):
        shop.rpc("account.move", "js_assign_outstanding_line", [invoice], line)


@pytest.mark.parametrize("posted_again", ["after-the-job", "while-it-runs"])
def test_invoice_reset_to_draft_while_the_credit_notes_job_runs_ends_as_odoo(runner, scenario, posted_again):
    """A board comes back and the shop posts a credit note; while its job is booking it in KashFlow, the
    accountant resets the order's (paid) invoice to draft to look at it, and confirms it again and gives it back
    its payment: once the job has settled (after-the-job), or straight away, the job still at work
    (while-it-runs). KashFlow ends with the invoice, the credit note and the money, as Odoo."""
    shop, sandbox = runner.shop, runner.sandbox
    _contact, order, invoice = sent_sale(shop, f"Grainne Doyle {posted_again}")
    payments = payments_of(shop, invoice)
    slow(sandbox, order)
    with OneAtATime(shop, order) as watch:
        shop.credit_note(invoice, quantity=1)

        def reset_to_draft():
            shop.rpc("account.move", "button_draft", [invoice])
            if posted_again == "while-it-runs":
                post_again(shop, invoice, payments)

        change_while_sending(shop, sandbox, order, reset_to_draft)
        if posted_again == "after-the-job":
            shop.wait_for([order], states=("sent", "failed"), timeout=SETTLE_TIMEOUT, hurry=True)
            assert shop.rpc("account.move", "read", [invoice], ["state"])[0]["state"] == "draft"
            post_again(shop, invoice, payments)
        settle_and_check(shop, order, watch)
    assert shop.rpc("account.move", "read", [invoice], ["payment_state"])[0]["payment_state"] in ("paid", "in_payment")


def cancel_order(shop, order):
    """*Cancel* on the order, then *Cancel* in the wizard Odoo shows (without writing to the customer)."""
    wizard = shop.rpc("sale.order.cancel", "create", {"order_id": order})
    shop.rpc("sale.order.cancel", "action_cancel", [wizard])


@pytest.mark.parametrize("when", ["first-send", "credit-note"])
def test_order_cancelled_while_its_job_runs_keeps_its_invoice_in_kashflow(runner, scenario, when):
    """The customer calls to cancel the order while its job is at work in KashFlow: sending the newly paid order
    (first-send), or booking a credit note of one board of the sent order (credit-note). Cancelling an order
    does not take its posted invoice out of Odoo's books: KashFlow ends holding what Odoo holds, the invoice,
    the credit note and the money."""
    shop, sandbox = runner.shop, runner.sandbox
    order, invoice = sold_for(shop, f"Hamish Baird {when}", when)
    slow(sandbox, order)
    with OneAtATime(shop, order) as watch:
        set_to_work(shop, invoice, when)
        change_while_sending(shop, sandbox, order, lambda: cancel_order(shop, order))
        settle_and_check(shop, order, watch)
    assert shop.rpc("sale.order", "read", [order], ["state"])[0]["state"] == "cancel"
    assert shop.rpc("account.move", "read", [invoice], ["state"])[0]["state"] == "posted"


# ---------------------------------------------------------------------------- an invoice of two orders


def shared_job_in_insert(shop, sandbox, orders, since):
    """Wait until one of the orders' jobs is *started* alone, for a second, and KashFlow has answered no
    InsertInvoice yet: the job is inside the shared invoice's InsertInvoice (the contact's customer is known: the
    insert is the job's first call; the other order's job is postponed by the invoice's lock). The job."""
    seen = {}

    def ready():
        started = [job for job in order_jobs(shop, orders) if job["state"] == "started"]
        calls = [call["operation"] for call in sandbox.calls(since=since)]
        if len(started) != 1 or "InsertInvoice" in calls:
            return None
        since_seen = time.monotonic() - seen.setdefault(started[0]["uuid"], time.monotonic())
        return started[0] if since_seen >= IN_CALL_SECONDS else None

    return harness.wait_until(ready, timeout=90, interval=0.1, what=f"a job of orders {orders} in InsertInvoice",
                              describe=lambda: f"jobs {order_jobs(shop, orders)}, calls {sandbox.calls(since=since)}")


def order_jobs(shop, orders):
    keys = [f"kashflow_connector:sale.order:{order}" for order in orders]
    return shop.jobs([("identity_key", "in", keys)])


def odoo_document(shop, move, credit):
    record = shop.rpc("account.move", "read", [move], ["amount_untaxed", "amount_tax"])[0]
    lines = [(harness._money(line["price_subtotal"]), harness._money(line["price_total"] - line["price_subtotal"]))
             for line in shop.rpc("account.move.line", "search_read", [("move_id", "=", move),
                                                                      ("display_type", "=", "product")],
                                  ["price_subtotal", "price_total"])]
    return harness._odoo_document(record, lines, credit)


def check_shared_credit_books(shop, orders, invoice, credit_note, before):
    """KashFlow holds, new for the contact since ``before``, one invoice for the shared Odoo invoice (every order
    names it) and one credit note, each with Odoo's totals and lines; and the contact's money is Odoo's."""
    state = shop.sandbox.state()
    records = shop.orders(orders)
    harness.TALLY.orders.update(orders)
    lost = [(r["name"], r["kashflow_state"], r["kashflow_reason"]) for r in records if r["kashflow_state"] != "sent"]
    harness.TALLY.lost += len(lost)
    contact = records[0]["partner_id"][0]
    [customer] = [c for c in state["customers"] if c["Code"] == shop.code_of(contact)]
    old = {d["InvoiceNumber"] for d in before["invoices"]}
    new = [d for d in state["invoices"] if d["CustomerID"] == customer["CustomerID"] and d["InvoiceNumber"] not in old]
    invoices = [d for d in new if not d.get("CreditNote")]
    credit_notes = [d for d in new if d.get("CreditNote")]
    harness.TALLY.duplicates += max(0, len(invoices) - 1) + max(0, len(credit_notes) - 1)
    held = [(d["InvoiceNumber"], d["CustomerReference"], harness._kashflow_document(d)) for d in new]
    assert len(invoices) == 1 and len(credit_notes) == 1, f"one invoice, one credit note new in KashFlow: {held}"
    assert not lost, f"orders not sent: {lost}"
    assert {r["kashflow_invoice_number"] for r in records} == {invoices[0]["InvoiceNumber"]}, \
        f"every order names KashFlow's invoice: {[r['kashflow_invoice_number'] for r in records]}, {held}"
    assert harness._kashflow_document(invoices[0]) == odoo_document(shop, invoice, credit=False)
    assert harness._kashflow_document(credit_notes[0]) == odoo_document(shop, credit_note, credit=True)
    numbers = {d["InvoiceNumber"] for d in state["invoices"] if d["CustomerID"] == customer["CustomerID"]}
    money = [p for p in state["payments"] if p["PayInvoice"] in numbers and not p.get("CreditNoteApplication")]
    received = shop.rpc("account.payment", "search_read", [
        ("partner_id", "=", contact), ("state", "in", ["in_process", "paid"])], ["amount", "payment_type"])
    odoo_money = sorted(harness._money(p["amount"] if p["payment_type"] == "inbound" else -p["amount"])
                        for p in received)
    kashflow_money = sorted(harness._money(p["PayAmount"]) for p in money)
    harness.TALLY.duplicates += max(0, len(kashflow_money) - len(odoo_money))
    assert kashflow_money == odoo_money, f"KashFlow's payments {kashflow_money}, Odoo's {odoo_money}"


def test_credit_note_of_a_shared_invoice_posted_while_it_is_inserted_goes_to_kashflow_once(runner, scenario):
    """A customer's two orders are invoiced together and paid; while the first order's job is inserting the
    shared invoice in KashFlow, everything comes back and the shop posts a credit note of the whole invoice.
    KashFlow ends with the one shared invoice, the credit note once, and the money Odoo received."""
    shop, sandbox = runner.shop, runner.sandbox
    contact = shop.contact("Isla Ferguson")
    earlier, _first = shop.sell(contact, lines=(("delivery", 1),))
    shop.wait_for([earlier], timeout=90, hurry=True)  # the contact's KashFlow customer exists
    orders = [shop.order(contact, lines=(("board", 2), ("delivery", 1))), shop.order(contact, lines=(("book", 3),))]
    invoice = invoice_together(shop, orders)
    before, mark = sandbox.state(), sandbox.last_call()
    sandbox.set_faults(latency_ms=LATENCY_MS)
    with OneAtATime(shop, orders[0]) as first, OneAtATime(shop, orders[1]) as second:
        shop.pay(invoice)
        job = shared_job_in_insert(shop, sandbox, orders, mark)
        credit_note = shop.credit_note(invoice)
        still_running(shop, job)
        sandbox.set_faults(latency_ms=0)
        shop.wait_for(orders, timeout=SETTLE_TIMEOUT, hurry=True)
        first.stop()
        second.stop()
    check_shared_credit_books(shop, orders, invoice, credit_note, before)
    assert not first.together and not second.together, f"two jobs of an order at once: {first.together}, " \
        f"{second.together}"
    jobs = order_jobs(shop, orders)
    assert all(job["state"] == "done" for job in jobs), [(j["state"], j["result"]) for j in jobs]
    inserts = [c for c in sandbox.calls(since=mark) if c["operation"] == "InsertInvoice" and c["outcome"] == "ok"]
    assert len(inserts) == 2, f"KashFlow inserted the invoice and the credit note once each: {len(inserts)}"
