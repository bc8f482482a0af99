"""One order's conversation with KashFlow (``booking.sync_order``) against the sandbox, over real HTTP.

What a bookkeeper relies on: each customer, invoice, credit note and payment is in KashFlow exactly once,
whatever answer was lost on the way, and a resend sends only what changed. The sandbox's record of the SOAP
calls it answered shows how many calls each case costs.

Each test keeps one ``CustomerState`` and one dict of ``DocumentState`` across its runs, as the Odoo side
keeps them in its records: what a run that failed left in them (the markers of inserts that may have
reached KashFlow) is what the next run starts from.
"""

import copy
import dataclasses
import datetime
import threading
from decimal import Decimal

import pytest

from kashflow import client as client_module
from kashflow import documents
from kashflow.booking import CustomerState, DocumentState, Journal, sync_order
from kashflow.client import KashFlowClient
from kashflow.exceptions import UnavailableError
from kashflow.snapshot import (
    CREDIT_NOTE,
    INVOICE,
    Address,
    CustomerSnapshot,
    InvoiceSnapshot,
    LineSnapshot,
    Mapping,
    OrderSnapshot,
    PaymentSnapshot,
)

PAID = datetime.date(2026, 11, 21)
REFUNDED = datetime.date(2026, 11, 28)
NOW = datetime.datetime(2026, 11, 21, 15, 0)
EMAIL = "olivia.brennan@example.co.uk"
# What every insert leaves behind for the next run to find: the marker saved before the call.
INSERTS = ("InsertCustomer", "InsertInvoice", "InsertInvoicePayment", "applyCreditNoteToInvoice")


@pytest.fixture
def kf(sandbox):
    return KashFlowClient(sandbox.username, sandbox.password, url=sandbox.service_url)


@pytest.fixture
def mapping(kf):
    nominals = {nominal["Code"]: nominal["id"] for nominal in kf.nominal_codes()}
    return Mapping(kf.payment_methods()[0]["MethodID"], kf.bank_accounts()[0]["AccountID"],
                   kf.customer_sources()[0]["ID"], nominals[4000], nominals[4900], nominals[4905])


class RecordingJournal(Journal):
    """Keeps a copy of every state saved, with the sequence of the last SOAP call the sandbox had answered."""

    def __init__(self, sandbox):
        super().__init__()
        self.sandbox = sandbox
        self.saves = []

    def persist(self, states):
        mark = self.sandbox.last_call()
        self.saves.extend((mark, copy.deepcopy(state)) for state in states)


class WatchedClient(KashFlowClient):
    """The real client, noting the date ranges it is asked to read invoices over."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ranges = []

    def get_invoices_by_date_range(self, start, end):
        # As the client sends them: a date goes as midday of that day.
        self.ranges.append((client_module._kashflow_datetime(start), client_module._kashflow_datetime(end)))
        return super().get_invoices_by_date_range(start, end)


class Book:
    """What the Odoo side keeps of one contact's customer and one order's documents, across runs."""

    def __init__(self, kf, mapping, journal=None):
        self.kf, self.mapping, self.journal = kf, mapping, journal
        self.customer = CustomerState()
        self.states = {}

    def sync(self, order, **kwargs):
        return sync_order(self.kf, order, self.mapping, self.customer, self.states, self.journal, now=NOW, **kwargs)


# ---------------------------------------------------------------------------- orders as Odoo holds them


def customer(partner_id=55, *, email=EMAIL, street="4 Abbey Road", phone="01225 000111"):
    return CustomerSnapshot(
        code=documents.customer_code(partner_id), name="Olivia Brennan", email=email, phone=phone,
        invoice_address=Address(street=street, city="Bath", zip="BA1 1AA", country_code="GB",
                                country_name="United Kingdom"))


def invoice(quantity="2", *, key="order", kind=INVOICE, reference="S00101", date=PAID, applies_to=""):
    """Tea towels at 15.00 and delivery at 3.50, with 20% VAT (a credit note: the towels only)."""
    quantity = Decimal(quantity)
    net = quantity * Decimal("15.00")
    lines = [LineSnapshot("product", "Linen tea towel", quantity, Decimal("15.00"), Decimal("0"), net, net / 5,
                          Decimal("20"))]
    if kind == INVOICE:
        lines.append(LineSnapshot("delivery", "Royal Mail 48", Decimal("1"), Decimal("3.50"), Decimal("0"),
                                  Decimal("3.50"), Decimal("0.70"), Decimal("20")))
    amount_net = sum((line.net for line in lines), Decimal(0))
    amount_vat = sum((line.vat for line in lines), Decimal(0))
    return InvoiceSnapshot(key=key, kind=kind, reference=reference, date=date, lines=tuple(lines),
                           currency_code="GBP", exchange_rate=Decimal(1), amount_net=amount_net,
                           amount_vat=amount_vat, amount_total=amount_net + amount_vat, applies_to=applies_to)


def credit_note(quantity="1", key="move:9"):
    return invoice(quantity, key=key, kind=CREDIT_NOTE, reference=f"S00101 RINV/2026/{key[-1]}", date=REFUNDED,
                   applies_to="order")


def paid(amount="40.20", key="payment:1", *, invoice_key="order", date=PAID, reference=None):
    return PaymentSnapshot(key=key, invoice_key=invoice_key, amount=Decimal(amount), date=date,
                           reference=reference or f"PBNK1/2026/{key.split(':')[1]:0>5}")


def refund(amount="-18.00", key="payment:2"):
    return paid(amount, key, date=REFUNDED)


def order(name="S00101", *, partner=None, docs=None, payments=None):
    """A paid order: one invoice of two tea towels and delivery (40.20), paid in full."""
    return OrderSnapshot(
        name=name, customer=partner or customer(), home_currency_code="GBP", include_vat=True,
        documents=(invoice(reference=name),) if docs is None else tuple(docs),
        payments=(paid(),) if payments is None else tuple(payments))


def refunded_order():
    """The order after one towel came back: a credit note (18.00) applied to the invoice, the money refunded."""
    return order(docs=(invoice(), credit_note()), payments=(paid(), refund()))


# ---------------------------------------------------------------------------- what KashFlow holds


def counts(sandbox):
    state = sandbox.state()
    return len(state["customers"]), len(state["invoices"]), len(state["payments"])


def calls_of(sandbox, action):
    """The SOAP calls ``action`` made, operation by operation (a plain dict, for readable failures)."""
    sandbox.clear_calls()
    action()
    return dict(sandbox.call_counts())


def run_losing(sandbox, book, order_, operation):
    """Run ``book.sync(order_)`` while KashFlow does ``operation`` but its answer is lost."""
    sandbox.set_faults(operation=operation, mode="drop_after_commit")
    with pytest.raises(UnavailableError):
        book.sync(order_)
    sandbox.clear_faults()


# ---------------------------------------------------------------------------- first send and resend


def test_new_customer_without_email_costs_three_calls(sandbox, kf, mapping):
    book = Book(kf, mapping)
    snapshot = order(partner=customer(email=""))

    calls = calls_of(sandbox, lambda: book.sync(snapshot))

    assert calls == {"InsertCustomer": 1, "InsertInvoice": 1, "InsertInvoicePayment": 1}
    assert counts(sandbox) == (1, 1, 1)
    kashflow = sandbox.state()
    (kf_customer,), (kf_invoice,), (kf_payment,) = kashflow["customers"], kashflow["invoices"], kashflow["payments"]
    assert (kf_customer["Code"], kf_customer["CustomerID"]) == ("ODOO55", book.customer.customer_id)
    assert (kf_invoice["InvoiceNumber"], kf_invoice["CustomerReference"]) == (book.states["order"].number, "S00101")
    assert (Decimal(kf_invoice["NetAmount"]), Decimal(kf_invoice["VATAmount"])) == (Decimal("33.50"), Decimal("6.70"))
    assert kf_invoice["Paid"] == 1
    assert (kf_payment["PayID"], Decimal(kf_payment["PayAmount"]), kf_payment["PayNote"]) == (
        book.states["payment:1"].number, Decimal("40.20"), "Odoo order S00101, payment PBNK1/2026/00001")
    assert kf_payment["PayInvoice"] == kf_invoice["InvoiceNumber"]


def test_new_customer_with_email_is_first_looked_up_by_it(sandbox, kf, mapping):
    book = Book(kf, mapping)

    calls = calls_of(sandbox, lambda: book.sync(order()))

    assert calls == {"GetCustomerByEmail": 1, "InsertCustomer": 1, "InsertInvoice": 1, "InsertInvoicePayment": 1}
    assert counts(sandbox) == (1, 1, 1)


def test_first_send_reports_what_it_created_and_leaves_every_state_complete(sandbox, kf, mapping):
    book = Book(kf, mapping)

    outcome = book.sync(order())

    assert outcome.customer_created
    assert [(kind, key, what) for kind, key, what, _number in outcome.events] == [
        ("customer", "customer", "created"), (INVOICE, "order", "created"), ("payment", "payment:1", "created")]
    assert book.customer.customer_id and book.customer.code == "ODOO55" and not book.customer.attempt
    for state in book.states.values():
        assert state.number and state.fingerprint and state.attempt is None, state
    assert book.states["payment:1"].invoice_number == book.states["order"].number


def test_returning_customer_unchanged_costs_an_invoice_and_a_payment(sandbox, kf, mapping):
    first = Book(kf, mapping)
    first.sync(order("S00100"))
    second = Book(kf, mapping)
    second.customer = first.customer  # the contact's customer, as the Odoo side keeps it

    calls = calls_of(sandbox, lambda: second.sync(order("S00101")))

    assert calls == {"InsertInvoice": 1, "InsertInvoicePayment": 1}
    assert counts(sandbox) == (1, 2, 2)


def test_resend_with_nothing_changed_calls_kashflow_not_once(sandbox, kf, mapping):
    book = Book(kf, mapping)
    book.sync(refunded_order())

    outcome = None

    def resend():
        nonlocal outcome
        outcome = book.sync(refunded_order())

    assert calls_of(sandbox, resend) == {}
    assert outcome.events == [] and not outcome.customer_created


def test_changed_customer_is_read_and_updated_keeping_the_bookkeepers_fields(sandbox, kf, mapping):
    book = Book(kf, mapping)
    book.sync(order())
    own = kf.get_customer_by_id(book.customer.customer_id)
    kf.update_customer({**own, "PaymentTerms": 30, "Discount": Decimal("5"), "CheckBox2": 1, "Source": 3,
                        "CurrencyID": 2, "Notes": "Pays by BACS"})
    moved = order(partner=customer(street="9 Pulteney Bridge", phone=""))

    calls = calls_of(sandbox, lambda: book.sync(moved))

    assert calls == {"GetCustomerByID": 1, "UpdateCustomer": 1}
    (kf_customer,) = sandbox.state()["customers"]
    assert kf_customer["Address1"] == "9 Pulteney Bridge"
    assert not kf_customer["Telephone"]  # cleared: Odoo no longer has a phone number for the contact
    assert (kf_customer["PaymentTerms"], Decimal(kf_customer["Discount"]), kf_customer["CheckBox2"],
            kf_customer["Source"], kf_customer["CurrencyID"], kf_customer["Notes"]) == (
        30, Decimal("5"), 1, 3, 2, "Pays by BACS")
    assert book.customer.fingerprint == documents.customer_fingerprint(moved.customer)
    assert calls_of(sandbox, lambda: book.sync(moved)) == {}


def test_changed_order_updates_its_invoice_in_place_and_replaces_its_payment(sandbox, kf, mapping):
    book = Book(kf, mapping)
    book.sync(order())
    number = book.states["order"].number

    calls = calls_of(sandbox, lambda: book.sync(order(docs=(invoice("3"),), payments=(paid("58.20"),))))

    assert calls == {"GetInvoice": 1, "UpdateInvoice": 1, "DeleteInvoicePayment": 1, "InsertInvoicePayment": 1}
    assert counts(sandbox) == (1, 1, 1)
    kashflow = sandbox.state()
    (kf_invoice,), (kf_payment,) = kashflow["invoices"], kashflow["payments"]
    assert (kf_invoice["InvoiceNumber"], kf_invoice["UpdateCount"]) == (number, 1)
    assert Decimal(kf_invoice["NetAmount"]) + Decimal(kf_invoice["VATAmount"]) == Decimal("58.20")
    assert Decimal(kf_payment["PayAmount"]) == Decimal("58.20")
    assert book.states["order"].dbid == kf_invoice["InvoiceDBID"]
    # The invoice's KashFlow id is known now: the next change costs no GetInvoice.
    assert calls_of(sandbox, lambda: book.sync(order(docs=(invoice("4"),), payments=(paid("76.20"),)))) == {
        "UpdateInvoice": 1, "DeleteInvoicePayment": 1, "InsertInvoicePayment": 1}


def test_totals_mismatch_sends_nothing_at_all(sandbox, kf, mapping):
    book = Book(kf, mapping)
    wrong = dataclasses.replace(invoice(), amount_total=invoice().amount_total + Decimal("0.01"))

    sandbox.clear_calls()
    with pytest.raises(documents.TotalsMismatch):
        book.sync(order(docs=(wrong,)))

    assert sandbox.call_counts() == {}
    assert counts(sandbox) == (0, 0, 0)
    assert book.customer == CustomerState() and book.states == {}


def test_a_credit_note_that_does_not_add_up_stops_the_whole_order_before_any_call(sandbox, kf, mapping):
    book = Book(kf, mapping)
    book.sync(order())
    wrong = dataclasses.replace(credit_note(), amount_vat=Decimal("3.01"), amount_total=Decimal("18.01"))

    sandbox.clear_calls()
    with pytest.raises(documents.TotalsMismatch, match="credit note S00101 RINV/2026/9"):
        book.sync(order(partner=customer(street="9 Pulteney Bridge"), docs=(invoice(), wrong)))

    assert sandbox.call_counts() == {}


def test_control_characters_from_an_import_reach_kashflow_as_clean_text(sandbox, kf, mapping):
    dirty = "\x0b\x01\ufffe"
    partner = dataclasses.replace(customer(), name=f"Olivia{dirty}Brennan", phone=f"01225{dirty}000111",
                                  invoice_address=Address(street=f"4 Abbey{dirty}Road", city="Bath"))
    towels = dataclasses.replace(invoice().lines[0], description=f"Linen{dirty}tea towel")
    dirty_invoice = dataclasses.replace(invoice(), reference=f"S00101{dirty}",
                                        lines=(towels, *invoice().lines[1:]))
    book = Book(kf, mapping)

    book.sync(order(partner=partner, docs=(dirty_invoice,), payments=(paid(reference=f"PBNK1{dirty}1"),)))

    kashflow = sandbox.state()
    (kf_customer,), (kf_invoice,), (kf_payment,) = kashflow["customers"], kashflow["invoices"], kashflow["payments"]
    assert (kf_customer["Name"], kf_customer["Telephone"], kf_customer["Address1"]) == (
        "Olivia Brennan", "01225 000111", "4 Abbey Road")
    assert (kf_invoice["CustomerReference"], kf_invoice["Lines"][0]["Description"]) == ("S00101", "Linen tea towel")
    assert kf_payment["PayNote"] == "Odoo order S00101, payment PBNK1 1"


# ---------------------------------------------------------------------------- the marker comes first


def test_every_insert_is_preceded_by_its_saved_marker(sandbox, kf, mapping):
    journal = RecordingJournal(sandbox)
    book = Book(kf, mapping, journal)
    sandbox.clear_calls()

    book.sync(refunded_order())

    inserts = [call for call in sandbox.calls() if call["operation"] in INSERTS]
    assert [call["operation"] for call in inserts] == [
        "InsertCustomer", "InsertInvoice", "InsertInvoice", "applyCreditNoteToInvoice", "InsertInvoicePayment",
        "InsertInvoicePayment"]
    for call in inserts:
        # The last save before the call is the marker of the very document the call inserts.
        _mark, state = [(mark, state) for mark, state in journal.saves if mark < call["sequence"]][-1]
        if call["operation"] == "InsertCustomer":
            assert isinstance(state, CustomerState) and state.attempt and not state.customer_id
        elif call["operation"] == "applyCreditNoteToInvoice":
            assert (state.kind, state.apply_attempt, state.applied) == (CREDIT_NOTE, True, False)
        else:
            assert isinstance(state, DocumentState) and state.attempt and not state.number, state
    # ... and each one's result is saved right after it, before the next call.
    for call in inserts:
        _mark, state = next((mark, state) for mark, state in journal.saves if mark >= call["sequence"])
        assert (state.customer_id if isinstance(state, CustomerState) else state.number), state
        assert not (state.attempt if isinstance(state, CustomerState) else state.attempt or state.apply_attempt)


def test_a_run_that_loses_an_answer_leaves_its_marker_in_the_states(sandbox, kf, mapping):
    book = Book(kf, mapping)

    run_losing(sandbox, book, order(), "InsertInvoice")

    assert book.customer.customer_id and not book.customer.attempt
    assert (book.states["order"].number, book.states["order"].attempt) == (0, PAID)
    assert "payment:1" not in book.states


# ---------------------------------------------------------------------------- lost answers


def test_lost_customer_answer_then_rerun_finds_the_customer_by_its_code(sandbox, kf, mapping):
    book = Book(kf, mapping)
    run_losing(sandbox, book, order(), "InsertCustomer")
    assert book.customer.attempt and not book.customer.customer_id

    calls = calls_of(sandbox, lambda: book.sync(order()))

    assert calls == {"GetCustomer": 1, "UpdateCustomer": 1, "InsertInvoice": 1, "InsertInvoicePayment": 1}
    assert counts(sandbox) == (1, 1, 1)
    assert (book.customer.code, book.customer.attempt) == ("ODOO55", False)


def test_lost_invoice_answer_then_rerun_finds_the_invoice_among_that_days_invoices(sandbox, kf, mapping):
    book = Book(kf, mapping)
    earlier = Book(kf, mapping)
    earlier.sync(order("S00100"))  # the same customer's invoice of the same day, not to be taken for this one
    book.customer = earlier.customer
    run_losing(sandbox, book, order(), "InsertInvoice")

    calls = calls_of(sandbox, lambda: book.sync(order()))

    assert calls == {"GetInvoicesByDateRange": 1, "InsertInvoicePayment": 1}, "found as it was sent: no update"
    assert counts(sandbox) == (1, 2, 2)
    by_reference = {found["CustomerReference"]: found["InvoiceNumber"] for found in sandbox.state()["invoices"]}
    assert book.states["order"].number == by_reference["S00101"] != earlier.states["order"].number
    assert calls_of(sandbox, lambda: book.sync(order())) == {}


def test_lost_invoice_renamed_in_odoo_since_is_found_by_the_reference_it_was_sent_with(sandbox, kf, mapping):
    # An invoice shared by two orders is sent, its answer lost; before the rerun a third order joins it in Odoo,
    # which changes its reference: it is found by the reference the attempt sent, updated, and never doubled.
    book = Book(kf, mapping)
    sent = order(docs=[invoice(key="move:7", reference="INV/2026/00007 S00101 S00102")],
                 payments=[paid(invoice_key="move:7")])
    run_losing(sandbox, book, sent, "InsertInvoice")
    assert book.states["move:7"].note == "INV/2026/00007 S00101 S00102"
    renamed = order(docs=[invoice(key="move:7", reference="INV/2026/00007 S00101 S00102 S00103")],
                    payments=[paid(invoice_key="move:7")])

    calls = calls_of(sandbox, lambda: book.sync(renamed))

    assert calls == {"GetInvoicesByDateRange": 1, "UpdateInvoice": 1, "InsertInvoicePayment": 1}
    assert counts(sandbox) == (1, 1, 1)
    [held] = sandbox.state()["invoices"]
    assert held["CustomerReference"] == "INV/2026/00007 S00101 S00102 S00103"


def test_invoice_whose_insert_never_reached_kashflow_is_inserted_after_a_bounded_search(sandbox, kf, mapping):
    book = Book(kf, mapping)
    sandbox.set_faults(operation="InsertInvoice", mode="http500")
    with pytest.raises(UnavailableError):
        book.sync(order())
    sandbox.clear_faults()

    calls = calls_of(sandbox, lambda: book.sync(order()))

    assert calls == {"GetInvoicesByDateRange": 1, "InsertInvoice": 1, "InsertInvoicePayment": 1}
    assert counts(sandbox) == (1, 1, 1)


def test_lost_invoice_is_looked_for_over_the_whole_day_it_was_sent_with(sandbox, mapping):
    # The sandbox compares days; KashFlow may compare instants, or keep an invoice's date without its time:
    # the search must cover the whole day, from midnight to its last second, and that day only.
    watched = WatchedClient(sandbox.username, sandbox.password, url=sandbox.service_url)
    book = Book(watched, mapping)
    run_losing(sandbox, book, order(), "InsertInvoice")

    book.sync(order())

    ((start, end),) = watched.ranges
    day_start, day_end = datetime.datetime.combine(PAID, datetime.time.min), datetime.datetime.combine(
        PAID, datetime.time(23, 59, 59))
    assert start <= day_start and end >= day_end, (start, end)
    assert start.date() == end.date() == PAID
    assert counts(sandbox) == (1, 1, 1)


def test_lost_payment_answer_then_rerun_finds_the_payment_on_its_invoice(sandbox, kf, mapping):
    book = Book(kf, mapping)
    run_losing(sandbox, book, order(), "InsertInvoicePayment")
    assert (book.states["payment:1"].number, book.states["payment:1"].attempt) == (0, PAID)

    calls = calls_of(sandbox, lambda: book.sync(order()))

    assert calls == {"GetInvoicePayment": 1}
    assert counts(sandbox) == (1, 1, 1)
    assert book.states["payment:1"].number == sandbox.state()["payments"][0]["PayID"]


def test_lost_credit_note_application_is_found_and_never_applied_twice(sandbox, kf, mapping):
    book = Book(kf, mapping)
    book.sync(order())
    run_losing(sandbox, book, refunded_order(), "applyCreditNoteToInvoice")
    assert (book.states["move:9"].apply_attempt, book.states["move:9"].applied) == (True, False)

    calls = calls_of(sandbox, lambda: book.sync(refunded_order()))

    assert calls == {"GetInvoicePayment": 1, "InsertInvoicePayment": 1}
    payments = sandbox.state()["payments"]
    assert len([payment for payment in payments if payment.get("CreditNoteApplication")]) == 2
    assert book.states["move:9"].applied and not book.states["move:9"].apply_attempt


def test_credit_note_application_that_never_reached_kashflow_is_made_on_the_rerun(sandbox, kf, mapping):
    book = Book(kf, mapping)
    book.sync(order())
    sandbox.set_faults(operation="applyCreditNoteToInvoice", mode="http500")
    with pytest.raises(UnavailableError):
        book.sync(refunded_order())
    sandbox.clear_faults()

    calls = calls_of(sandbox, lambda: book.sync(refunded_order()))

    assert calls == {"GetInvoicePayment": 1, "applyCreditNoteToInvoice": 1, "InsertInvoicePayment": 1}
    assert len([payment for payment in sandbox.state()["payments"] if payment.get("CreditNoteApplication")]) == 2


def test_lost_payment_deletion_then_rerun_takes_the_payment_for_gone(sandbox, kf, mapping):
    book = Book(kf, mapping)
    book.sync(order())
    run_losing(sandbox, book, order(payments=()), "DeleteInvoicePayment")
    assert counts(sandbox) == (1, 1, 0)

    calls = calls_of(sandbox, lambda: book.sync(order(payments=())))

    assert calls == {"DeleteInvoicePayment": 1}  # refused: no such payment, which is what was wanted
    assert book.states["payment:1"].removed and not book.states["payment:1"].number
    assert calls_of(sandbox, lambda: book.sync(order(payments=()))) == {}


def test_lost_answers_all_along_the_order_converge_on_one_of_each(sandbox, kf, mapping):
    journal = RecordingJournal(sandbox)
    book = Book(kf, mapping, journal)
    for operation in ("InsertCustomer", "InsertInvoice", "InsertInvoicePayment"):
        run_losing(sandbox, book, order(), operation)
    book.sync(order())
    for operation in ("InsertInvoice", "applyCreditNoteToInvoice", "InsertInvoicePayment"):
        run_losing(sandbox, book, refunded_order(), operation)
    book.sync(refunded_order())
    changed = order(docs=(invoice(), credit_note()), payments=(paid("40.00"), refund()))
    run_losing(sandbox, book, changed, "DeleteInvoicePayment")
    run_losing(sandbox, book, changed, "InsertInvoicePayment")

    book.sync(changed)

    kashflow = sandbox.state()
    assert [customer_["Code"] for customer_ in kashflow["customers"]] == ["ODOO55"]
    assert sorted((invoice_["CustomerReference"], invoice_["CreditNote"]) for invoice_ in kashflow["invoices"]) == [
        ("S00101", False), ("S00101 RINV/2026/9", True)]
    invoice_number = book.states["order"].number
    assert sorted((payment["PayInvoice"] == invoice_number, Decimal(payment["PayAmount"]))
                  for payment in kashflow["payments"]) == [
        (False, Decimal("-18.00")), (True, Decimal("-18.00")), (True, Decimal("18.00")), (True, Decimal("40.00"))]
    assert calls_of(sandbox, lambda: book.sync(changed)) == {}
    searches = [call["operation"] for call in sandbox.calls()]
    assert "GetInvoicesForCustomer" not in searches


def test_lost_invoice_is_never_looked_for_in_the_customers_whole_history(sandbox, kf, mapping):
    book = Book(kf, mapping)
    run_losing(sandbox, book, order(), "InsertInvoice")
    sandbox.clear_calls()

    book.sync(order())

    operations = [call["operation"] for call in sandbox.calls()]
    assert "GetInvoicesByDateRange" in operations
    assert "GetInvoicesForCustomer" not in operations


# ---------------------------------------------------------------------------- customers found by email


def test_a_customer_matched_by_email_is_adopted_when_adoptable_and_keeps_its_code_and_terms(sandbox, kf, mapping):
    bookkeepers = documents.customer_document(customer(), source_id=0, now=datetime.datetime(2026, 1, 5, 9))
    customer_id = kf.insert_customer({**bookkeepers, "Code": "BRENNAN01", "PaymentTerms": 14, "Notes": "VIP"})
    seen = []
    book = Book(kf, mapping)

    calls = calls_of(sandbox, lambda: book.sync(order(partner=customer(street="9 Pulteney Bridge")),
                                                adoptable=lambda found: seen.append(found) or True))

    assert calls == {"GetCustomerByEmail": 1, "UpdateCustomer": 1, "InsertInvoice": 1, "InsertInvoicePayment": 1}
    assert [found["CustomerID"] for found in seen] == [customer_id]
    assert (book.customer.customer_id, book.customer.code) == (customer_id, "BRENNAN01")
    (kf_customer,) = sandbox.state()["customers"]
    assert (kf_customer["Code"], kf_customer["Address1"], kf_customer["PaymentTerms"], kf_customer["Notes"]) == (
        "BRENNAN01", "9 Pulteney Bridge", 14, "VIP")
    assert sandbox.state()["invoices"][0]["CustomerID"] == customer_id


def test_two_contacts_sharing_an_email_get_a_customer_each(sandbox, kf, mapping):
    olivia = Book(kf, mapping)
    olivia.sync(order("S00101", partner=customer(55)))
    taken = {olivia.customer.customer_id}  # the Odoo side knows which customers belong to another contact
    partner = Book(kf, mapping)

    calls = calls_of(sandbox, lambda: partner.sync(order("S00102", partner=customer(56)),
                                                   adoptable=lambda found: found["CustomerID"] not in taken))

    assert calls == {"GetCustomerByEmail": 1, "InsertCustomer": 1, "InsertInvoice": 1, "InsertInvoicePayment": 1}
    customers = sandbox.state()["customers"]
    assert sorted(customer_["Code"] for customer_ in customers) == ["ODOO55", "ODOO56"]
    assert partner.customer.customer_id != olivia.customer.customer_id
    invoices = {invoice_["CustomerReference"]: invoice_["CustomerID"] for invoice_ in sandbox.state()["invoices"]}
    assert invoices == {"S00101": olivia.customer.customer_id, "S00102": partner.customer.customer_id}


def test_two_orders_of_a_new_contact_sent_at_once_share_one_customer(sandbox, kf, mapping):
    # With 50 ms on every call, both jobs look the new contact up before either creates it: one insert
    # is refused ("Customer Code is not unique") and that job takes the customer the other one created.
    sandbox.set_faults(latency_ms=50)
    start = threading.Barrier(2)
    books, outcomes, errors = {}, [], []

    def send(name):
        books[name] = book = Book(kf, mapping)
        start.wait()
        try:
            outcomes.append(book.sync(order(name)))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=send, args=(name,)) for name in ("S00201", "S00202")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert counts(sandbox) == (1, 2, 2)
    assert len({book.customer.customer_id for book in books.values()}) == 1
    assert sorted(outcome.customer_created for outcome in outcomes) == [False, True]


# ---------------------------------------------------------------------------- credit notes and money back


def test_credit_note_is_inserted_and_applied_to_its_invoice(sandbox, kf, mapping):
    book = Book(kf, mapping)
    book.sync(order())

    calls = calls_of(sandbox, lambda: book.sync(order(docs=(invoice(), credit_note()))))

    assert calls == {"InsertInvoice": 1, "GetInvoice": 2, "applyCreditNoteToInvoice": 1}
    kashflow = sandbox.state()
    note = next(invoice_ for invoice_ in kashflow["invoices"] if invoice_["CreditNote"])
    assert (note["InvoiceNumber"], note["CustomerReference"]) == (book.states["move:9"].number, "S00101 RINV/2026/9")
    assert (Decimal(note["NetAmount"]), Decimal(note["VATAmount"])) == (Decimal("-15.00"), Decimal("-3.00"))
    assert [(Decimal(line["Quantity"]), Decimal(line["Rate"]), Decimal(line["VatAmount"]))
            for line in note["Lines"]] == [(1, Decimal("-15.00"), Decimal("-3.00"))]
    applied = sorted((payment["PayInvoice"], Decimal(payment["PayAmount"])) for payment in kashflow["payments"]
                     if payment.get("CreditNoteApplication"))
    assert applied == sorted([(book.states["order"].number, Decimal("18.00")),
                              (book.states["move:9"].number, Decimal("-18.00"))])
    assert book.states["move:9"].applied


def test_second_credit_note_needs_only_its_own_kashflow_id(sandbox, kf, mapping):
    book = Book(kf, mapping)
    book.sync(order(docs=(invoice(), credit_note())))

    calls = calls_of(sandbox, lambda: book.sync(order(docs=(invoice(), credit_note(), credit_note(key="move:8")))))

    assert calls == {"InsertInvoice": 1, "GetInvoice": 1, "applyCreditNoteToInvoice": 1}


def test_refund_is_recorded_as_a_negative_payment(sandbox, kf, mapping):
    book = Book(kf, mapping)
    book.sync(order(docs=(invoice(), credit_note())))

    calls = calls_of(sandbox, lambda: book.sync(refunded_order()))

    assert calls == {"InsertInvoicePayment": 1}
    kf_refund = next(payment for payment in sandbox.state()["payments"]
                     if payment["PayID"] == book.states["payment:2"].number)
    assert (Decimal(kf_refund["PayAmount"]), kf_refund["PayInvoice"], kf_refund["PayNote"]) == (
        Decimal("-18.00"), book.states["order"].number, "Odoo order S00101, refund PBNK1/2026/00002")
    assert kf_refund["PayDate"].startswith("2026-11-28")
    kf_invoice = next(invoice_ for invoice_ in sandbox.state()["invoices"] if not invoice_["CreditNote"])
    assert (Decimal(kf_invoice["AmountPaid"]), kf_invoice["Paid"]) == (Decimal("40.20"), 1)


# ---------------------------------------------------------------------------- payments Odoo changed


def test_payment_odoo_no_longer_holds_is_deleted_from_kashflow(sandbox, kf, mapping):
    book = Book(kf, mapping)
    book.sync(order(payments=(paid("20.00"), paid("20.20", "payment:3"))))

    outcome = None

    def resend():
        nonlocal outcome
        outcome = book.sync(order(payments=(paid("20.00"),)))

    assert calls_of(sandbox, resend) == {"DeleteInvoicePayment": 1}
    assert [(kind, key, what) for kind, key, what, _number in outcome.events] == [("payment", "payment:3", "deleted")]
    assert [Decimal(payment["PayAmount"]) for payment in sandbox.state()["payments"]] == [Decimal("20.00")]
    assert book.states["payment:3"].removed
    # It comes back (the payment was reconciled again): recorded anew.
    assert calls_of(sandbox, lambda: book.sync(order(payments=(paid("20.00"), paid("20.20", "payment:3"))))) == {
        "InsertInvoicePayment": 1}
    assert counts(sandbox) == (1, 1, 2)


def test_payment_whose_amount_changed_is_replaced(sandbox, kf, mapping):
    book = Book(kf, mapping)
    book.sync(order())
    old_number = book.states["payment:1"].number

    calls = calls_of(sandbox, lambda: book.sync(order(payments=(paid("40.00"),))))

    assert calls == {"DeleteInvoicePayment": 1, "InsertInvoicePayment": 1}
    (kf_payment,) = sandbox.state()["payments"]
    assert Decimal(kf_payment["PayAmount"]) == Decimal("40.00")
    assert kf_payment["PayID"] == book.states["payment:1"].number != old_number


def test_payment_whose_date_changed_is_replaced(sandbox, kf, mapping):
    book = Book(kf, mapping)
    book.sync(order())

    calls = calls_of(sandbox, lambda: book.sync(order(payments=(paid(date=datetime.date(2026, 11, 22)),))))

    assert calls == {"DeleteInvoicePayment": 1, "InsertInvoicePayment": 1}
    assert sandbox.state()["payments"][0]["PayDate"].startswith("2026-11-22")


def test_payment_of_nothing_is_not_sent(sandbox, kf, mapping):
    book = Book(kf, mapping)

    book.sync(order(payments=(paid(), paid("0.00", "payment:4"))))

    assert counts(sandbox) == (1, 1, 1)
    assert "payment:4" not in book.states


def test_payment_lost_then_removed_in_odoo_is_not_left_in_kashflow(sandbox, kf, mapping):
    book = Book(kf, mapping)
    run_losing(sandbox, book, order(), "InsertInvoicePayment")

    book.sync(order(payments=()))

    assert counts(sandbox) == (1, 1, 0)
