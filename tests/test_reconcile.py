"""The reconciliation's rules (``reconcile.py``): an order booked by ``sync_order`` into the sandbox, then changed
there the way a bookkeeper (or a mistake) changes KashFlow, read back by date as the reconciliation reads it, and
compared with what the connector would send for it now."""

import dataclasses
import datetime
from decimal import Decimal

import pytest

from kashflow import documents, reconcile
from kashflow.booking import CustomerState, sync_order
from kashflow.client import KashFlowClient
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

D = Decimal
DAY = datetime.date(2026, 11, 20)


@pytest.fixture
def kf(sandbox):
    return KashFlowClient(sandbox.username, sandbox.password, url=sandbox.service_url)


@pytest.fixture
def mapping(kf):
    nominals = {nominal["Code"]: nominal["id"] for nominal in kf.nominal_codes()}
    return Mapping(kf.payment_methods()[0]["MethodID"], kf.bank_accounts()[0]["AccountID"],
                   kf.customer_sources()[0]["ID"], nominals[4000], nominals[4900])


def an_order(returned=False):
    """Two chopping boards (20% VAT), a cookbook (5% VAT) and delivery, paid; with ``returned``, the cookbook came
    back: a credit note and a refund."""
    customer = CustomerSnapshot(code="ODOO7", name="Hannah Fletcher", email="hannah@example.co.uk",
                                invoice_address=Address(street="12 Mill Lane", city="Leeds", zip="LS1 4AB",
                                                        country_code="GB", country_name="United Kingdom"))
    boards = LineSnapshot("product", "Oak chopping board", D(2), D("25.00"), D(0), D("50.00"), D("10.00"), D(20))
    book = LineSnapshot("product", "Children's cookbook", D(1), D("8.99"), D(0), D("8.99"), D("0.45"), D(5))
    post = LineSnapshot("delivery", "Royal Mail", D(1), D("4.99"), D(0), D("4.99"), D("1.00"), D(20))
    invoice = InvoiceSnapshot(key="order", kind=INVOICE, reference="S00042", date=DAY, lines=(boards, book, post),
                              currency_code="GBP", exchange_rate=D(1), amount_net=D("63.98"), amount_vat=D("11.45"),
                              amount_total=D("75.43"))
    docs, payments = [invoice], [PaymentSnapshot("payment:1", "order", D("75.43"), DAY, "PBNK1/00001")]
    if returned:
        docs.append(InvoiceSnapshot(key="move:9", kind=CREDIT_NOTE, reference="S00042 RINV/00001", date=DAY,
                                    lines=(book,), currency_code="GBP", exchange_rate=D(1), amount_net=D("8.99"),
                                    amount_vat=D("0.45"), amount_total=D("9.44"), applies_to="order"))
        payments.append(PaymentSnapshot("payment:2", "order", D("-9.44"), DAY, "PBNK1/00002"))
    return OrderSnapshot(name="S00042", customer=customer, home_currency_code="GBP", include_vat=True,
                         documents=tuple(docs), payments=tuple(payments))


@pytest.fixture
def booked(kf, mapping):
    """The order booked into the sandbox: (order, customer state, document states)."""
    order, customer, states = an_order(), CustomerState(), {}
    sync_order(kf, order, mapping, customer, states)
    return order, customer, states


def expected_invoice(order, key, customer, states, mapping):
    state = states[key]
    return documents.invoice_document(order, order.document(key), customer_id=customer.customer_id, mapping=mapping,
                                      invoice_number=state.number, invoice_id=state.dbid)


def read_back(kf):
    """What the reconciliation reads: the invoices and the payments of the day, by date."""
    return kf.get_invoices_by_date_range(DAY, DAY), kf.get_payments_by_date_range(DAY, DAY)


def test_a_booked_order_matches(kf, mapping, booked):
    order, customer, states = booked
    [found], [payment] = read_back(kf)
    expected = expected_invoice(order, "order", customer, states, mapping)
    assert reconcile.compare_invoice(expected, found, customer_name="Hannah Fletcher", expected_paid=D("75.43")) == []
    body = documents.payment_document(order, order.payments[0], invoice_number=states["order"].number,
                                      mapping=mapping)
    assert reconcile.compare_payment(body, payment) == []
    assert reconcile.vat_by_rate(found["Lines"]) == {D(20): (D("54.99"), D("11.00")), D(5): (D("8.99"), D("0.45"))}


def test_a_line_changed_in_kashflow_is_named_with_its_totals_and_vat_rate(kf, mapping, booked):
    order, customer, states = booked
    expected = expected_invoice(order, "order", customer, states, mapping)
    changed = {**expected, "Lines": [dict(line) for line in expected["Lines"]]}
    changed["Lines"][0].update(Rate=D("20.00"), VatAmount=D("8.00"))
    kf.update_invoice(changed)
    [found], _payments = read_back(kf)

    differences = reconcile.compare_invoice(expected, found, customer_name="Hannah Fletcher",
                                            expected_paid=D("75.43"))
    by_code = {difference.code: difference for difference in differences}
    assert [difference.code for difference in differences] == ["vat", "net", "total", "line"]
    line = by_code["line"]
    assert line.detail == (1, "Oak chopping board")
    assert (line.kashflow.rate, line.kashflow.vat, line.odoo.rate, line.odoo.vat) == (
        D("20.00"), D("8.00"), D("25.00"), D("10.00"))
    assert (by_code["net"].kashflow, by_code["net"].odoo) == (D("53.98"), D("63.98"))
    assert (by_code["vat"].detail, by_code["vat"].kashflow, by_code["vat"].odoo) == (D(20), D("9.00"), D("11.00"))
    assert all(difference.repair == reconcile.UPDATE for difference in differences)


def test_a_deleted_invoice_a_renamed_customer_and_a_payment_added(kf, mapping, booked):
    order, customer, states = booked
    expected = expected_invoice(order, "order", customer, states, mapping)
    current = kf.get_customer_by_id(customer.customer_id)
    kf.update_customer({**current, "Name": "Hannah Fletcher-Jones"})
    extra = kf.insert_payment({"PayID": 0, "PayInvoice": states["order"].number, "PayDate": datetime.datetime(
        2026, 11, 20, 12), "PayNote": "by hand", "PayMethod": mapping.payment_method_id,
        "PayAccount": mapping.bank_account_id, "PayAmount": D("12.00")})
    [found], payments = read_back(kf)

    differences = reconcile.compare_invoice(expected, found, customer_name="Hannah Fletcher",
                                            expected_paid=D("75.43"))
    assert [(d.code, d.kashflow, d.odoo, d.repair) for d in differences] == [
        ("customer_name", "Hannah Fletcher-Jones", "Hannah Fletcher", reconcile.CUSTOMER_UPDATE),
        ("paid", D("87.43"), D("75.43"), reconcile.NO_REPAIR)]
    unknown = [payment for payment in payments if payment["PayID"] != states["payment:1"].number]
    assert [payment["PayID"] for payment in reconcile.unexplained_payments(unknown, [])] == [extra]

    kf.delete_invoice(states["order"].number)
    assert read_back(kf) == ([], [])
    assert [(d.code, d.repair) for d in reconcile.compare_invoice(expected, None)] == [("deleted", "reinsert")]
    body = documents.payment_document(order, order.payments[0], invoice_number=states["order"].number,
                                      mapping=mapping)
    assert [(d.code, d.odoo, d.repair) for d in reconcile.compare_payment(body, None)] == [
        ("deleted", D("75.43"), "payment")]


def test_credit_note_applications_are_not_payments_added(kf, mapping):
    order, customer, states = an_order(returned=True), CustomerState(), {}
    sync_order(kf, order, mapping, customer, states)
    today = datetime.date.today()  # KashFlow dates the payments of an application the day it is made
    payments = kf.get_payments_by_date_range(min(DAY, today), max(DAY, today))
    known = {state.number for state in states.values() if state.kind == "payment"}
    applications = [(states["order"].number, D("9.44")), (states["move:9"].number, D("-9.44"))]
    others = [payment for payment in payments if payment["PayID"] not in known]
    assert len(others) == 2
    assert reconcile.unexplained_payments(others, applications) == []
    assert [p["PayAmount"] for p in reconcile.unexplained_payments(others, applications[:1])] == [D("-9.44")]


def test_a_payment_changed_in_kashflow():
    expected = {"PayInvoice": 1042, "PayAmount": D("75.43"), "PayDate": datetime.datetime(2026, 11, 20, 12)}
    found = {"PayID": 7, "PayInvoice": 1043, "PayAmount": D("70.00"), "PayDate": datetime.datetime(2026, 11, 21, 12)}
    assert [(d.code, d.kashflow, d.odoo) for d in reconcile.compare_payment(expected, found)] == [
        ("payment_invoice", 1043, 1042), ("payment_amount", D("70.00"), D("75.43")),
        ("payment_date", datetime.date(2026, 11, 21), DAY)]
    assert [(d.code, d.kashflow, d.repair) for d in reconcile.compare_payment(None, found)] == [
        ("not_in_odoo", D("70.00"), "delete_payment")]


def test_a_date_and_a_line_count_changed_and_exempt_lines():
    line = {"Quantity": D(1), "Rate": D("10.00"), "VatRate": D(-1), "VatAmount": D(0), "Sort": 1}
    expected = {"CustomerID": 5, "InvoiceDate": datetime.datetime(2026, 11, 20, 12), "CurrencyCode": "GBP",
                "Lines": [line]}
    found = {**expected, "InvoiceDate": datetime.datetime(2026, 11, 1, 12), "Lines": [line, {**line, "Sort": 2}]}
    codes = [(d.code, d.kashflow, d.odoo) for d in reconcile.compare_invoice(expected, found)]
    assert codes == [("date", datetime.date(2026, 11, 1), DAY), ("net", D("20.00"), D("10.00")),
                     ("total", D("20.00"), D("10.00")), ("line_count", 2, 1)]
    assert reconcile.vat_by_rate(found["Lines"]) == {D(-1): (D("20.00"), D("0.00"))}
    assert dataclasses.asdict(reconcile.compare_invoice(expected, {**found, "CustomerID": 6})[0]) == {
        "code": "customer", "kashflow": 6, "odoo": 5, "detail": None, "repair": "update"}
