"""Faults, with Odoo running queue_job's job runner: a real server process sends the orders, not jobs performed in
the test (the worker kills are in ``test_runner_worker_kill.py``).

Each scenario ends the same way (``harness.check_books``): every order *Sent*; KashFlow holding one customer per
contact (with the contact's details), one invoice per Odoo invoice and one credit note per Odoo credit note with
Odoo's figures, and payments equal to the money Odoo received less what it paid back. The calls KashFlow answered
are counted from the sandbox's record of them.
"""

import threading
import time
from contextlib import closing
from datetime import datetime

import pytest

from . import harness

#: Every operation a job may call for a new order: a KashFlow that answers none of them is down.
OPERATIONS = ("GetCustomer", "GetCustomerByEmail", "GetCustomerByID", "InsertCustomer", "UpdateCustomer",
              "GetInvoice", "GetInvoicesByDateRange", "InsertInvoice", "UpdateInvoice", "InsertInvoicePayment",
              "GetInvoicePayment", "DeleteInvoicePayment", "applyCreditNoteToInvoice")


def calls(sandbox, since, operation=None):
    return [call for call in sandbox.calls(since=since) if operation in (None, call["operation"])]


def outcomes(sandbox, since):
    """``(operation, outcome)`` of each call answered since ``since``, oldest first."""
    return [(call["operation"], call["outcome"]) for call in calls(sandbox, since)]


def seconds_between(calls_):
    """The seconds from each call to the next (the sandbox records when it received each)."""
    times = [datetime.fromisoformat(call["time"]) for call in calls_]
    return [round((later - earlier).total_seconds(), 2) for earlier, later in zip(times, times[1:], strict=False)]


def worked(job):
    """Whether a job sent something to KashFlow (its result says what), rather than finding nothing to do."""
    result = job["result"] or ""
    return result.startswith("KashFlow ") and not result.startswith("KashFlow already holds")


# ---------------------------------------------------------------------- KashFlow did the work, the answer was lost


def test_answer_lost_on_each_call_in_turn(runner, scenario):
    shop, sandbox = runner.shop, runner.sandbox
    contact = shop.contact("Ingrid Solberg")

    # Paid: the customer, the invoice and the payment each reach KashFlow, and each time the answer is lost.
    for operation in ("InsertCustomer", "InsertInvoice", "InsertInvoicePayment"):
        sandbox.set_faults(operation=operation, mode="drop_after_commit")
    order, invoice = shop.sell(contact)
    [sent] = shop.wait_for([order])
    [job] = shop.order_jobs(order)
    assert job["retry"] == 4, "four runs: one more after each lost answer"
    dropped = [operation for operation, outcome in outcomes(sandbox, scenario) if outcome == "dropped"]
    assert dropped == ["InsertCustomer", "InsertInvoice", "InsertInvoicePayment"]
    harness.check_books(shop, [order])

    # The contact's phone number changes: the customer's update reaches KashFlow, its answer is lost.
    mark = sandbox.last_call()
    sandbox.set_faults(operation="UpdateCustomer", mode="drop_after_commit")
    shop.rpc("res.partner", "write", [contact], {"phone": "01947 600 999"})
    shop.wait_quiet()
    assert [o for o in outcomes(sandbox, mark) if o[0] == "UpdateCustomer"] == [
        ("UpdateCustomer", "dropped"), ("UpdateCustomer", "ok")]

    # Delivered to the workshop instead: Resend updates the invoice; the update's answer is lost.
    workshop = shop.rpc("res.partner", "create", {"parent_id": contact, "type": "delivery", "name": "Workshop",
                                                  "street": "Unit 2, Fish Pier", "city": "Whitby", "zip": "YO21 3PU"})
    shop.rpc("sale.order", "write", [order], {"partner_shipping_id": workshop})
    assert shop.orders([order])[0]["kashflow_state"] == "changed"
    mark = sandbox.last_call()
    sandbox.set_faults(operation="UpdateInvoice", mode="drop_after_commit")
    shop.resend([order])
    shop.wait_for([order])
    assert [o for o in outcomes(sandbox, mark) if o[0] == "UpdateInvoice"] == [
        ("UpdateInvoice", "dropped"), ("UpdateInvoice", "ok")]
    [held] = [i for i in sandbox.state()["invoices"] if i["InvoiceNumber"] == sent["kashflow_invoice_number"]]
    assert "Unit 2, Fish Pier" in str(held["DeliveryAddress"])

    # The payment was a mistake: cancelled in Odoo, the job that follows deletes it from KashFlow (the answer is
    # lost); then the invoice is paid again and the new payment goes by itself.
    [payment] = shop.rpc("account.move", "read", [invoice], ["matched_payment_ids"])[0]["matched_payment_ids"]
    mark = sandbox.last_call()
    sandbox.set_faults(operation="DeleteInvoicePayment", mode="drop_after_commit")
    shop.cancel_payment(payment)
    shop.wait_for([order])
    assert [o for o in outcomes(sandbox, mark) if o[0] == "DeleteInvoicePayment"] == [
        ("DeleteInvoicePayment", "dropped"), ("DeleteInvoicePayment", "no")], "deleted once; then found gone"
    harness.check_books(shop, [order])
    shop.pay(invoice)
    shop.wait_for([order])
    harness.check_books(shop, [order])

    # One board comes back: a credit note, whose insert and application each lose their answer, then the refund.
    mark = sandbox.last_call()
    sandbox.set_faults(operation="InsertInvoice", mode="drop_after_commit")
    sandbox.set_faults(operation="applyCreditNoteToInvoice", mode="drop_after_commit")
    credit_note = shop.credit_note(invoice, quantity=1)
    shop.wait_for([order])
    shop.pay(credit_note)
    shop.wait_for([order])
    counts = sandbox.call_counts(since=mark)
    assert (counts["InsertInvoice"], counts["applyCreditNoteToInvoice"], counts["InsertInvoicePayment"]) == (1, 1, 1)
    assert [o for o in outcomes(sandbox, mark) if o[1] == "dropped"] == [
        ("InsertInvoice", "dropped"), ("applyCreditNoteToInvoice", "dropped")]
    harness.check_books(shop, [order])
    all_dropped = sorted(op for op, outcome in outcomes(sandbox, scenario) if outcome == "dropped")
    assert all_dropped == sorted(["InsertCustomer", "UpdateCustomer", "InsertInvoice", "UpdateInvoice",
                                  "InsertInvoicePayment", "DeleteInvoicePayment", "InsertInvoice",
                                  "applyCreditNoteToInvoice"])


# ---------------------------------------------------------------------------- busy, rate-limited, stalled


@pytest.mark.parametrize(("mode", "count", "options"), [
    ("http500", 3, {}),
    ("http429", 2, {"retry_after": 4}),
    ("timeout", 2, {"stall_seconds": 4}),
])
def test_transient_faults_are_retried_with_back_off_then_sent(runner, scenario, mode, count, options):
    shop, sandbox = runner.shop, runner.sandbox
    read_timeout = 2  # seconds; the sandbox stalls 4
    if mode == "timeout":
        shop.set_read_timeout(read_timeout)
    contact = shop.contact(f"Nadia Haddad {mode}")
    sandbox.set_faults(operation="GetCustomerByEmail", mode=mode, count=count, **options)
    order, _invoice = shop.sell(contact)
    shop.wait_for([order], timeout=60)

    attempts = calls(sandbox, scenario, "GetCustomerByEmail")
    assert [call["outcome"] for call in attempts] == [mode] * count + ["no"], "the last one finds no such customer"
    [job] = shop.order_jobs(order)
    # KashFlow asking to slow down (429) uses up no attempt: only the run that sent counts
    assert (job["state"], job["retry"]) == ("done", 1 if mode == "http429" else count + 1)
    pattern = shop.data["retry_pattern"]
    for retry, gap in enumerate(seconds_between(attempts), start=1):
        # queue_job keeps a job's next start to the second: it may start up to a second early.
        pause = options.get("retry_after") or pattern[max(after for after in pattern if after <= retry)]
        waited = read_timeout if mode == "timeout" else 0
        assert gap >= waited + pause - 1, f"retry {retry} after {gap} s, not after its pause of {pause} s"
    gaps = seconds_between(attempts)
    if mode == "http500":
        assert gaps[-1] > gaps[0], f"the pause grows with each retry: {gaps}"
    harness.check_books(shop, [order])


def test_kashflow_asking_to_slow_down_holds_every_job_until_its_pause_ends(runner, scenario):
    """A 429 with Retry-After answered to one job holds the jobs of the orders paid after it, on the runner's other
    channel slots too: KashFlow gets no call until the pause ends, and the held jobs use up no attempt."""
    shop, sandbox = runner.shop, runner.sandbox
    pause = 6
    sandbox.set_faults(operation="GetCustomerByEmail", mode="http429", count=1, retry_after=pause)
    first, _invoice = shop.sell(shop.contact("Wanjiru Kamau"))
    harness.wait_until(lambda: calls(sandbox, scenario), timeout=60, interval=0.1, what="the first job's call")
    later = [shop.sell(shop.contact(name))[0] for name in ("Tomasz Nowak", "Ines Duarte")]
    shop.wait_for([first, *later], timeout=90)

    answered = calls(sandbox, scenario)
    assert answered[0]["outcome"] == "http429"
    assert seconds_between(answered[:2])[0] >= pause - 1, \
        f"no call during KashFlow's pause: {outcomes(sandbox, scenario)}"
    retries = {order: job["retry"] for order in later for job in shop.order_jobs(order)}
    assert set(retries.values()) == {1}, f"waiting uses up no attempt (the run that sent counts one): {retries}"
    harness.check_books(shop, [first, *later])


def test_long_outage_fails_in_plain_words_and_one_resend_sends_all_once_kashflow_is_back(runner, scenario):
    shop, sandbox = runner.shop, runner.sandbox
    for operation in OPERATIONS:
        sandbox.set_faults(operation=operation, mode="http500", count=1000)
    contacts = [shop.contact(name) for name in ("Maeve Byrne", "Tomasz Nowak")]
    orders = [shop.sell(contact)[0] for contact in contacts]
    failed = shop.wait_for(orders, states=("failed",), timeout=120)

    for record in failed:
        assert record["kashflow_reason"] == (
            "KashFlow is busy or down (HTTP 500 on GetCustomerByEmail). Gave up after 8 attempts; resend the order "
            "later."), record["kashflow_reason"]
    counts = sandbox.call_counts(since=scenario)
    assert counts == {"GetCustomerByEmail": 2 * 8}, "eight attempts per order, nothing else"
    for order in orders:
        [job] = shop.order_jobs(order)
        assert job["state"] == "done" and not job["exc_info"], "the order failed, not the job"

    sandbox.clear_faults()  # KashFlow is back
    mark = sandbox.last_call()
    failed_ids = shop.rpc("sale.order", "search", [("kashflow_state", "=", "failed"), ("id", "in", orders)])
    assert sorted(failed_ids) == sorted(orders)
    shop.resend_from_list(failed_ids)  # one click, on all of them
    shop.wait_for(orders)
    counts = sandbox.call_counts(since=mark)
    assert (counts["InsertCustomer"], counts["InsertInvoice"], counts["InsertInvoicePayment"]) == (2, 2, 2)
    harness.check_books(shop, orders)


# ---------------------------------------------------------------------------- races


def at_once(*actions):
    """Run the actions in threads released together; their results (an exception is raised here)."""
    barrier = threading.Barrier(len(actions))
    results, errors = [None] * len(actions), []

    def run(index, action):
        barrier.wait()
        try:
            results[index] = action()
        except Exception as error:  # noqa: BLE001 - handed over to the test below
            errors.append(error)

    threads = [threading.Thread(target=run, args=item) for item in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def test_resend_clicked_twice_quickly_sends_once(runner, scenario):
    shop, sandbox = runner.shop, runner.sandbox
    contact = shop.contact("Femi Adeyemi")
    sent, _invoice = shop.sell(contact)
    shop.wait_for([sent])
    # KashFlow fails on every try (ASMX's "Server was unable to process request"): Failed once the tries run out.
    sandbox.set_faults(operation="InsertInvoice", mode="soap_fault", count=100)
    failed, _invoice = shop.sell(contact, lines=(("book", 4),))
    shop.wait_for([failed], states=("failed",), timeout=180)
    sandbox.clear_faults()
    workshop = shop.rpc("res.partner", "create", {"parent_id": contact, "type": "delivery", "name": "Studio",
                                                  "street": "4 Flowergate", "city": "Whitby", "zip": "YO21 3BA"})
    shop.rpc("sale.order", "write", [sent], {"partner_shipping_id": workshop})
    assert [r["kashflow_state"] for r in shop.orders([sent, failed])] == ["changed", "failed"]
    jobs_before = {job["uuid"] for order in (sent, failed) for job in shop.order_jobs(order)}

    mark = sandbox.last_call()
    assert at_once(lambda: shop.resend([sent, failed]), lambda: shop.resend([sent, failed])) == [True, True]
    shop.wait_for([sent, failed], timeout=90, hurry=True)

    counts = sandbox.call_counts(since=mark)
    assert (counts["UpdateInvoice"], counts["InsertInvoice"], counts["InsertInvoicePayment"]) == (1, 1, 1)
    for order in (sent, failed):
        new_jobs = [job for job in shop.order_jobs(order) if job["uuid"] not in jobs_before]
        assert 1 <= len(new_jobs) <= 2 and sum(map(worked, new_jobs)) == 1, new_jobs
    harness.check_books(shop, [sent, failed])


def _waiting_inserts(shop):
    """How many transactions wait to insert a job (blocked by the test's lock on queue_job)."""
    return shop.query("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                      "AND query ILIKE 'INSERT INTO \"queue_job\"%'")[0][0]


def test_backfill_queuing_orders_at_the_moment_a_payment_completes(runner, scenario):
    """The back-fill (Run Manually) and a payment's completion in flight at the same moment, both holding what
    they wrote, then committing: each order queued once, sent once. The test holds a lock on queue_job's table
    so that both transactions stop just before queuing their jobs, then lets them go on together."""
    shop = runner.shop
    for first in ("payment", "backfill"):
        shop.set_kashflow(kashflow_enabled=False)  # paid while the connector is off: the back-fill's to send
        late = [shop.sell(shop.contact(f"Late Payer {first}"))[0]]
        shop.set_kashflow(kashflow_enabled=True)
        assert [r["kashflow_state"] for r in shop.orders(late)] == ["not_paid"]
        paying, invoice = shop.sell(shop.contact(f"Punctual Payer {first}"), paid=False)

        with closing(harness.connect(shop.pg, shop.dbname)) as lock:
            lock.autocommit = False
            lock.cursor().execute("LOCK TABLE queue_job IN SHARE MODE")
            actions = {"payment": lambda invoice=invoice: shop.pay(invoice), "backfill": shop.run_backfill}
            order_of_start = [first, "backfill" if first == "payment" else "payment"]
            threads = []
            for count, name in enumerate(order_of_start, start=1):
                threads.append(threading.Thread(target=actions[name]))
                threads[-1].start()
                harness.wait_until(lambda count=count: _waiting_inserts(shop) >= count, timeout=30,
                                   what=f"the {name} waiting to queue its job")
            lock.rollback()  # both go on together
        for thread in threads:
            thread.join(timeout=60)
        orders = [*late, paying]
        shop.wait_for(orders, timeout=90)
        for order in orders:
            jobs = shop.order_jobs(order)
            assert len(jobs) == 1 and worked(jobs[0]), f"one job per order: {jobs}"
        harness.check_books(shop, orders)


def test_two_orders_of_a_new_contact_sent_at_once_make_one_customer(runner, scenario):
    shop, sandbox = runner.shop, runner.sandbox
    contact = shop.contact("Priya Raman")
    first, second = shop.order(contact), shop.order(contact, lines=(("book", 3),))
    invoices = [shop.invoice(first), shop.invoice(second)]
    sandbox.set_faults(latency_ms=300)  # each call takes a moment: both jobs are at work at once
    together = []

    def watch():  # both jobs at work, or one waiting because the other is creating the customer
        while not together and not stop.is_set():
            started = shop.jobs([("state", "=", "started")])
            waiting = [j for j in shop.jobs([("state", "=", "pending")]) if "creating its KashFlow customer" in
                       (j["result"] or "")]
            if len(started) >= 2 or waiting:
                together.append((started, waiting))
            time.sleep(0.05)

    stop = threading.Event()
    watcher = threading.Thread(target=watch)
    watcher.start()
    shop.pay(invoices)  # one click on both invoices: both orders paid in one transaction
    try:
        shop.wait_for([first, second], timeout=90, hurry=True)
    finally:
        stop.set()
        watcher.join()
    assert together, "the two jobs ran at the same time (root.kashflow has capacity 4)"
    counts = sandbox.call_counts(since=scenario)
    assert (counts["InsertCustomer"], counts["InsertInvoice"], counts["InsertInvoicePayment"]) == (1, 2, 2)
    harness.check_books(shop, [first, second])


# ---------------------------------------------------------------------------- bad login


def test_bad_login_fails_once_in_plain_words_without_a_retry_storm(runner, scenario):
    shop, sandbox = runner.shop, runner.sandbox
    shop.set_kashflow(kashflow_password=harness.WRONG_PASSWORD)
    orders = [shop.sell(shop.contact(name))[0] for name in ("Olu Bankole", "Sian Pritchard")]
    failed = shop.wait_for(orders, states=("failed",), timeout=60)
    harness.TALLY.bad_inputs["wrong KashFlow password"] += len(orders)

    for record in failed:
        assert record["kashflow_reason"] == (
            "KashFlow refused the username or password. Check them in Settings > KashFlow; if KashFlow's "
            "\"separate API password\" is on, use that password.")
    time.sleep(2.5)  # were anything to retry, it would by now (the shortest pause is a second)
    assert outcomes(sandbox, scenario) == [("GetCustomerByEmail", "no")] * 2, "one refused call per order, no more"
    assert not shop.live_jobs()

    shop.set_kashflow(kashflow_password=harness.SANDBOX_PASSWORD)
    mark = sandbox.last_call()
    shop.resend(orders)
    shop.wait_for(orders)
    assert sandbox.call_counts(since=mark)["InsertInvoice"] == 2
    harness.check_books(shop, orders)


# ---------------------------------------------------------------------------- and last: no secret anywhere


def test_no_password_in_logs_jobs_messages_or_orders(runner):
    found = harness.secrets_found(runner.shop, runner.server, [harness.SANDBOX_PASSWORD, harness.WRONG_PASSWORD])
    harness.TALLY.secrets = sum(found.values())
    assert not found, f"the password appears in {dict(found)}"
