"""One order's conversation with KashFlow (``sync.sync_order``) against the sandbox: exactly once, whatever fails."""

import datetime
import threading
from decimal import Decimal

import pytest

from kashflow import documents
from kashflow.client import KashFlowClient
from kashflow.exceptions import UnavailableError
from kashflow.snapshot import Address, CustomerSnapshot, LineSnapshot, Mapping, OrderSnapshot
from kashflow.sync import Known, sync_order


@pytest.fixture
def kf(sandbox):
    return KashFlowClient(sandbox.username, sandbox.password, url=sandbox.service_url)


@pytest.fixture
def mapping(kf):
    nominals = {nominal["Code"]: nominal["id"] for nominal in kf.nominal_codes()}
    return Mapping(kf.payment_methods()[0]["MethodID"], kf.bank_accounts()[0]["AccountID"],
                   kf.customer_sources()[0]["ID"], nominals[4000], nominals[4900])


def order(name="S00101", street="4 Abbey Road", quantity="2"):
    quantity = Decimal(quantity)
    net = quantity * Decimal("15.00")
    lines = (
        LineSnapshot("product", "Linen tea towel", quantity, Decimal("15.00"), Decimal("0"), net, net / 5,
                     net * Decimal("1.2"), Decimal("20")),
        LineSnapshot("delivery", "Royal Mail 48", Decimal("1"), Decimal("3.50"), Decimal("0"), Decimal("3.50"),
                     Decimal("0.70"), Decimal("4.20"), Decimal("20")),
    )
    untaxed, tax = net + Decimal("3.50"), net / 5 + Decimal("0.70")
    customer = CustomerSnapshot(
        code=documents.customer_code(55), name="Olivia Brennan", email="olivia.brennan@example.co.uk",
        invoice_address=Address(street=street, city="Bath", zip="BA1 1AA", country_code="GB",
                                country_name="United Kingdom"))
    return OrderSnapshot(name=name, customer=customer, lines=lines, currency_code="GBP", home_currency_code="GBP",
                         exchange_rate=Decimal("1"), date_paid=datetime.date(2026, 11, 21), amount_untaxed=untaxed,
                         amount_tax=tax, amount_total=untaxed + tax, amount_paid=untaxed + tax, include_vat=True)


def counts(sandbox):
    state = sandbox.state()
    return len(state["customers"]), len(state["invoices"]), len(state["payments"])


def test_first_sync_creates_customer_invoice_and_payment(sandbox, kf, mapping):
    outcome = sync_order(kf, order(), mapping)
    assert outcome.customer_created and outcome.invoice_created
    assert counts(sandbox) == (1, 1, 1)
    invoice = sandbox.state()["invoices"][0]
    assert invoice["CustomerReference"] == "S00101"
    assert invoice["InvoiceNumber"] == outcome.invoice_number
    assert Decimal(invoice["NetAmount"]) + Decimal(invoice["VATAmount"]) == Decimal("40.20")


def test_resync_with_what_was_recorded_updates_in_place(sandbox, kf, mapping):
    first = sync_order(kf, order(), mapping)
    known = Known(first.customer_id, first.customer_code, first.invoice_number, first.payment_number)
    second = sync_order(kf, order(street="9 Pulteney Bridge", quantity="3"), mapping, known)
    assert (second.invoice_number, second.customer_id) == (first.invoice_number, first.customer_id)
    assert not second.invoice_created
    assert counts(sandbox) == (1, 1, 1)
    state = sandbox.state()
    assert state["customers"][0]["Address1"] == "9 Pulteney Bridge"
    assert Decimal(state["payments"][0]["PayAmount"]) == Decimal("58.20")


def test_lost_invoice_answer_then_retry_finds_the_invoice(sandbox, kf, mapping):
    sync_order(kf, order("S00100"), mapping)  # the customer exists already
    sandbox.set_faults(operation="InsertInvoice", mode="drop_after_commit", count=1)
    with pytest.raises(UnavailableError):
        sync_order(kf, order(), mapping)
    outcome = sync_order(kf, order(), mapping)
    assert not outcome.invoice_created
    assert counts(sandbox) == (1, 2, 2)


def test_lost_customer_and_payment_answers_never_duplicate(sandbox, kf, mapping):
    sandbox.set_faults(operation="InsertCustomer", mode="drop_after_commit", count=1)
    with pytest.raises(UnavailableError):
        sync_order(kf, order(), mapping)
    sandbox.set_faults(operation="InsertInvoicePayment", mode="drop_after_commit", count=1)
    with pytest.raises(UnavailableError):
        sync_order(kf, order(), mapping)
    outcome = sync_order(kf, order(), mapping)
    assert counts(sandbox) == (1, 1, 1)
    assert sandbox.state()["payments"][0]["PayID"] == outcome.payment_number


def test_a_customer_matched_by_email_keeps_its_code(sandbox, kf, mapping):
    bookkeepers = documents.customer_document(order().customer, source_id=0, now=datetime.datetime(2026, 1, 5, 9))
    customer_id = kf.insert_customer({**bookkeepers, "Code": "BRENNAN01"})
    first = sync_order(kf, order("S00101"), mapping)
    assert (first.customer_id, first.customer_code, first.customer_created) == (customer_id, "BRENNAN01", False)
    known = Known(first.customer_id, first.customer_code)
    sync_order(kf, order("S00102", street="9 Pulteney Bridge"), mapping, known)
    customers = sandbox.state()["customers"]
    assert [(c["Code"], c["Address1"]) for c in customers] == [("BRENNAN01", "9 Pulteney Bridge")]


def test_two_orders_of_a_new_contact_sent_at_once_share_one_customer(sandbox, kf, mapping):
    # With 50 ms on every call, both jobs look the new contact up before either creates it: one insert
    # is refused ("Customer Code is not unique") and that job takes the customer the other one created.
    sandbox.set_faults(latency_ms=50)
    start = threading.Barrier(2)
    outcomes, errors = [], []

    def send(name):
        start.wait()
        try:
            outcomes.append(sync_order(kf, order(name), mapping))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=send, args=(name,)) for name in ("S00201", "S00202")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert counts(sandbox) == (1, 2, 2)
    assert len({outcome.customer_id for outcome in outcomes}) == 1
    assert sorted(outcome.customer_created for outcome in outcomes) == [False, True]


def test_totals_mismatch_sends_nothing(sandbox, kf, mapping):
    wrong = order()
    wrong = OrderSnapshot(**{**wrong.__dict__, "amount_total": wrong.amount_total + Decimal("0.01")})
    with pytest.raises(documents.TotalsMismatch):
        sync_order(kf, wrong, mapping)
    assert counts(sandbox) == (0, 0, 0)
