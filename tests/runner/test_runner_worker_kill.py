"""The Odoo worker running a KashFlow job killed (SIGKILL) in the middle of the job, at each step of an order's
life; queue_job's runner finds the job dead, queues it again, and it completes.

Each step is a KashFlow call, killed twice: once while KashFlow has not done the work yet (the sandbox stalls
before it, ``timeout`` mode) and once after KashFlow has done it (the sandbox does the work, then stalls before
answering: ``drop_after_commit`` with ``stall_seconds``). The test waits until the job is in that call, kills the
worker that runs it (queue_job records its PID), and lets the runner requeue it: a job whose worker died keeps
the state *started* while no transaction holds its lock, and the runner requeues it once it has been enqueued
for ten seconds, counting a retry. A production runner looks at its next wake-up (within a minute, or at the
next change of any job); the test sends the notification such a change sends, but for the first kill, where it
waits for the runner's own wake-up.

Slow (about ten seconds a kill): run by ``make test-faults``, which CI runs too, not by ``make test``.
"""

import os

import pytest

from . import harness

pytestmark = pytest.mark.skipif(
    os.environ.get("KASHFLOW_WORKER_KILL") != "1" or not os.path.isdir("/proc"),
    reason="kills Odoo's workers (Linux): run by make test-faults")

STALL_SECONDS = 45  # longer than finding and killing the worker takes; shorter than Odoo's limit_time_real
REQUEUE_TIMEOUT = 90  # the runner's own wake-up is within 60 s, plus the 10 s it waits before calling a job dead


class Killer:
    """Kills the worker of the job that is in a given KashFlow call, and lets queue_job requeue it.

    A killed job is requeued only once the fault of the next step is armed (:meth:`step`), so that it cannot run
    past that step first."""

    def __init__(self, runner, since):
        self.shop, self.sandbox, self.server = runner.shop, runner.sandbox, runner.server
        self.mark = since
        self.killed = []  # (operation, "before"/"after" KashFlow's work)
        self.pending = None  # the last job killed, not requeued yet
        self.nudge = False  # the first kill waits for the runner's own wake-up

    def step(self, operation, event=None):
        """Kill the job in ``operation`` before KashFlow's work, then (requeued) after it. ``event`` starts the
        job; without it, the job killed last goes on to this step."""
        armed = self._arm(operation, after_work=False)
        self.finish()
        if event:
            event()
        job = self._kill(armed)
        armed = self._arm(operation, after_work=True)
        self._requeued(job)
        self.pending = self._kill(armed)

    def finish(self):
        """Let the job killed last be requeued (and go on)."""
        if self.pending:
            self._requeued(self.pending)
            self.pending = None

    def _arm(self, operation, *, after_work):
        mode = "drop_after_commit" if after_work else "timeout"
        self.sandbox.set_faults(operation=operation, mode=mode, stall_seconds=STALL_SECONDS)
        return operation, after_work

    def _kill(self, armed):
        operation, after_work = armed
        outcome = "dropped" if after_work else "timeout"
        call = harness.wait_until(
            lambda: next((c for c in self.sandbox.calls(since=self.mark)
                          if c["operation"] == operation and c["outcome"] == outcome), None),
            timeout=60, what=f"a job in {operation}")
        self.mark = call["sequence"]
        [job] = harness.wait_until(lambda: self.shop.jobs([("state", "=", "started")]), timeout=10,
                                   what="the started job")
        self.server.kill_worker(job["worker_pid"])
        when = "after" if after_work else "before"
        harness.TALLY.kills[when] += 1
        self.killed.append((operation, when))
        harness.wait_until(lambda: not harness.process_alive(job["worker_pid"]), timeout=10, what="the worker gone")
        return job

    def _requeued(self, job):
        """Wait until queue_job's runner found ``job`` dead and queued it again (counting a retry)."""

        def again():
            if self.nudge:
                self.shop.nudge_runner()
            [now] = self.shop.jobs([("uuid", "=", job["uuid"])])
            return now if now["retry"] > job["retry"] else None

        found = harness.wait_until(again, timeout=REQUEUE_TIMEOUT, interval=1, what=f"job {job['uuid']} requeued")
        self.nudge = True
        return found


def test_worker_killed_at_each_step_of_an_orders_life(runner, scenario):
    shop, sandbox = runner.shop, runner.sandbox
    killer = Killer(runner, scenario)
    contact = shop.contact("Ruth Okafor")
    order, invoice = shop.order(contact), None

    # Paid: killed in the customer's, the invoice's and the payment's insert, each before and after KashFlow's work.
    def pay():
        nonlocal invoice
        invoice = shop.invoice(order)
        shop.pay(invoice)

    killer.step("InsertCustomer", pay)
    killer.step("InsertInvoice")
    killer.step("InsertInvoicePayment")
    killer.finish()
    shop.wait_for([order])
    [job] = shop.order_jobs(order)
    assert (job["state"], job["retry"]) == ("done", 7), "one job: six deaths, seven runs"
    harness.check_books(shop, [order])

    # The contact's phone changes: killed in the customer's update.
    killer.step("UpdateCustomer", lambda: shop.rpc("res.partner", "write", [contact], {"phone": "0161 496 0777"}))
    killer.finish()
    shop.wait_quiet()

    # Delivered elsewhere, resent: killed in the invoice's update.
    depot = shop.rpc("res.partner", "create", {"parent_id": contact, "type": "delivery", "name": "Depot",
                                               "street": "8 Dock Road", "city": "Whitby", "zip": "YO21 1AA"})
    shop.rpc("sale.order", "write", [order], {"partner_shipping_id": depot})
    killer.step("UpdateInvoice", lambda: shop.resend([order]))
    killer.finish()
    shop.wait_for([order])

    # The payment was a mistake: cancelled (the job that follows deletes it): killed in its deletion; then paid
    # again.
    [payment] = shop.rpc("account.move", "read", [invoice], ["matched_payment_ids"])[0]["matched_payment_ids"]
    killer.step("DeleteInvoicePayment", lambda: shop.cancel_payment(payment))
    killer.finish()
    shop.wait_for([order])
    shop.pay(invoice)
    shop.wait_for([order])

    # A credit note on the paid invoice, killed in its insert: the customer's credit, applied to no invoice (as
    # Odoo leaves it); then refunded: killed in its application, which KashFlow books with the refund.
    killer.step("InsertInvoice", lambda: shop.credit_note(invoice, quantity=1))
    killer.finish()
    shop.wait_for([order])
    credit_note = shop.rpc("account.move", "search", [("move_type", "=", "out_refund"),
                                                      ("line_ids.sale_line_ids.order_id", "=", order)])
    killer.step("applyCreditNoteToInvoice", lambda: shop.pay(credit_note))
    killer.finish()
    shop.wait_for([order])

    assert killer.killed == [(operation, when) for operation in (
        "InsertCustomer", "InsertInvoice", "InsertInvoicePayment", "UpdateCustomer", "UpdateInvoice",
        "DeleteInvoicePayment", "InsertInvoice", "applyCreditNoteToInvoice") for when in ("before", "after")]
    counts = sandbox.call_counts(since=scenario, outcome="ok")
    assert (counts["InsertCustomer"], counts["InsertInvoice"]) == (0, 0), \
        "every insert KashFlow did was the one whose answer never came: none was done twice"
    assert counts["InsertInvoicePayment"] == 2, "the payment made again, and the refund"
    harness.check_books(shop, [order])


def test_no_password_in_logs_jobs_messages_or_orders(runner):
    found = harness.secrets_found(runner.shop, runner.server, [harness.SANDBOX_PASSWORD, harness.WRONG_PASSWORD])
    harness.TALLY.secrets = sum(found.values())
    assert not found, f"the password appears in {dict(found)}"
