"""The KashFlow client against the sandbox, over real HTTP on loopback: every operation, every error type."""

import datetime
import email.utils
import logging
import socket
from decimal import Decimal

import pytest
import zeep

from kashflow import client as client_module
from kashflow.client import KashFlowClient
from kashflow.exceptions import (
    AuthenticationError,
    IPNotAllowedError,
    RejectedError,
    RequestError,
    UnavailableError,
)

NOON = datetime.datetime(2026, 11, 20, 12, 0)


def make_client(sandbox, **kwargs):
    options = {"username": sandbox.username, "password": sandbox.password, "url": sandbox.service_url}
    options.update(kwargs)
    return KashFlowClient(**options)


@pytest.fixture
def kf(sandbox):
    return make_client(sandbox)


def customer(code="ODOO7", name="Hannah Fletcher", email="hannah@example.co.uk", **extra):
    values = {
        "CustomerID": 0, "Code": code, "Name": name, "Contact": name, "Email": email,
        "Address1": "12 Mill Lane", "Address2": "Leeds", "Postcode": "LS1 4AB", "CountryCode": "GB",
        "CountryName": "United Kingdom", "EC": 0, "OutsideEC": 0, "Source": 0, "Discount": Decimal("0"),
        "ShowDiscount": False, "PaymentTerms": 0, "Created": NOON, "Updated": NOON, "CurrencyID": 0,
        **{f"CheckBox{i}": 0 for i in range(1, 21)},
    }
    values.update(extra)
    return values


def invoice(customer_id, lines, number=0, reference="S00042"):
    return {
        "InvoiceDBID": 0, "InvoiceNumber": number, "InvoiceDate": NOON, "DueDate": NOON, "CustomerID": customer_id,
        "Paid": 0, "CustomerReference": reference, "SuppressTotal": 0, "ProjectID": 0, "CurrencyCode": "GBP",
        "ExchangeRate": Decimal("1"), "NetAmount": Decimal("0"), "VATAmount": Decimal("0"),
        "AmountPaid": Decimal("0"), "UseCustomDeliveryAddress": False, "CISRCNetAmount": None,
        "CISRCVatAmount": None, "IsCISReverseCharge": None, "Lines": lines,
    }


def line(description, quantity, rate, vat_amount, sort, vat_rate="20"):
    return {
        "Quantity": Decimal(quantity), "Description": description, "Rate": Decimal(rate), "ChargeType": 0,
        "VatRate": Decimal(vat_rate), "VatAmount": Decimal(vat_amount), "ProductID": 0, "Sort": sort,
        "ProjID": 0, "LineID": 0,
    }


def payment(number, amount, method, account):
    return {"PayID": 0, "PayInvoice": number, "PayDate": NOON, "PayNote": "Odoo order S00042",
            "PayMethod": method, "PayAccount": account, "PayAmount": Decimal(amount)}


# ---------------------------------------------------------------------------- operations

def test_check_connection_reports_home_currency(kf):
    assert kf.check_connection() == "GBP"


def test_customer_insert_find_update(kf):
    customer_id = kf.insert_customer(customer())
    assert customer_id > 0
    assert kf.get_customer_by_code("ODOO7")["CustomerID"] == customer_id
    assert kf.get_customer_by_email("HANNAH@example.co.uk")["Code"] == "ODOO7"
    assert kf.get_customer_by_id(customer_id)["Name"] == "Hannah Fletcher"
    kf.update_customer(customer(CustomerID=customer_id, Address1="3 New Road"))
    assert kf.get_customer_by_code("ODOO7")["Address1"] == "3 New Road"


def test_customer_misses_are_none(kf):
    assert kf.get_customer_by_code("NOSUCH1") is None
    assert kf.get_customer_by_email("nobody@example.com") is None
    assert kf.get_customer_by_id(987654) is None


def test_duplicate_customer_code_is_rejected_with_kashflow_words(kf):
    kf.insert_customer(customer())
    with pytest.raises(RejectedError) as caught:
        kf.insert_customer(customer(email="other@example.com"))
    assert "Customer Code is not unique" in str(caught.value)
    assert not caught.value.transient


def test_invoice_insert_get_update_replaces_lines(kf):
    customer_id = kf.insert_customer(customer())
    number = kf.insert_invoice(invoice(customer_id, [
        line("Oak chopping board", "2", "12.50", "5.00", 1),
        line("Delivery", "1", "4.99", "1.00", 2),
    ]))
    assert number > 0
    stored = kf.get_invoice(number)
    assert stored["CustomerReference"] == "S00042"
    assert [entry["Description"] for entry in stored["Lines"]] == ["Oak chopping board", "Delivery"]
    assert stored["NetAmount"] == Decimal("29.99")
    assert stored["VATAmount"] == Decimal("6.00")

    kf.update_invoice(invoice(customer_id, [line("Walnut board", "1", "30.00", "6.00", 1)], number=number))
    updated = kf.get_invoice(number)
    assert [entry["Description"] for entry in updated["Lines"]] == ["Walnut board"]
    assert updated["NetAmount"] == Decimal("30.00")
    assert updated["InvoiceNumber"] == number


def test_invoice_numbers_are_assigned_in_sequence(kf):
    customer_id = kf.insert_customer(customer())
    first = kf.insert_invoice(invoice(customer_id, [line("A", "1", "1.00", "0.20", 1)]))
    second = kf.insert_invoice(invoice(customer_id, [line("B", "1", "1.00", "0.20", 1)]))
    assert second == first + 1


def test_missing_invoice_is_none(kf):
    assert kf.get_invoice(424242) is None


def test_unknown_currency_is_rejected(kf):
    customer_id = kf.insert_customer(customer())
    document = invoice(customer_id, [line("A", "1", "1.00", "0.20", 1)])
    document["CurrencyCode"] = "JPY"
    with pytest.raises(RejectedError) as caught:
        kf.insert_invoice(document)
    assert "JPY" in str(caught.value)


def test_payments_insert_list_delete(kf):
    customer_id = kf.insert_customer(customer())
    number = kf.insert_invoice(invoice(customer_id, [line("A", "1", "10.00", "2.00", 1)]))
    method = kf.payment_methods()[0]["MethodID"]
    account = kf.bank_accounts()[0]["AccountID"]
    payment_number = kf.insert_payment(payment(number, "12.00", method, account))
    assert payment_number > 0
    payments = kf.get_payments(number)
    assert [(p["PayID"], p["PayAmount"]) for p in payments] == [(payment_number, Decimal("12.00"))]
    assert kf.get_invoice(number)["AmountPaid"] == Decimal("12.00")
    kf.delete_payment(number, payment_number)
    assert kf.get_payments(number) == []


def test_negative_payment_is_a_refund_and_zero_is_rejected(kf):
    customer_id = kf.insert_customer(customer())
    number = kf.insert_invoice(invoice(customer_id, [line("A", "1", "10.00", "2.00", 1)]))
    method, account = kf.payment_methods()[0]["MethodID"], kf.bank_accounts()[0]["AccountID"]
    kf.insert_payment(payment(number, "12.00", method, account))
    assert kf.insert_payment(payment(number, "-2.00", method, account)) > 0
    refunded = kf.get_invoice(number)
    assert (refunded["AmountPaid"], refunded["Paid"]) == (Decimal("10.00"), 0)
    with pytest.raises(RejectedError) as caught:
        kf.insert_payment(payment(number, "0", method, account))
    assert "zero" in str(caught.value)


# ---------------------------------------------------------------------------- credit notes

def credit_note(customer_id, reference="S00042"):
    """A credit note as KashFlow takes one: an invoice whose lines have negative Rate and VatAmount."""
    return invoice(customer_id, [line("Oak chopping board, returned", "1", "-10.00", "-2.00", 1)], reference=reference)


@pytest.fixture
def paid_invoice_and_credit_note(kf):
    """A customer's invoice of 12.00, paid, and a credit note of -12.00: (invoice number, credit note number)."""
    customer_id = kf.insert_customer(customer())
    number = kf.insert_invoice(invoice(customer_id, [line("Oak chopping board", "1", "10.00", "2.00", 1)]))
    method, account = kf.payment_methods()[0]["MethodID"], kf.bank_accounts()[0]["AccountID"]
    kf.insert_payment(payment(number, "12.00", method, account))
    return number, kf.insert_invoice(credit_note(customer_id))


def test_a_credit_note_is_inserted_and_read_as_a_negative_invoice(kf, paid_invoice_and_credit_note):
    _number, credit = paid_invoice_and_credit_note
    stored = kf.get_invoice(credit)
    assert (stored["NetAmount"], stored["VATAmount"], stored["Paid"]) == (Decimal("-10.00"), Decimal("-2.00"), 0)
    assert [(entry["Quantity"], entry["Rate"]) for entry in stored["Lines"]] == [(Decimal("1"), Decimal("-10.00"))]


def test_apply_credit_note_by_db_ids(kf, paid_invoice_and_credit_note):
    number, credit = paid_invoice_and_credit_note
    invoice_id, credit_id = kf.get_invoice(number)["InvoiceDBID"], kf.get_invoice(credit)["InvoiceDBID"]
    assert kf.apply_credit_note(invoice_id, credit_id) is None

    note = f"Credit note {credit} applied to invoice {number}"
    assert [(p["PayAmount"], p["PayNote"]) for p in kf.get_payments(credit)] == [(Decimal("-12.00"), note)]
    assert [(p["PayAmount"], p["PayNote"]) for p in kf.get_payments(number)] == [
        (Decimal("12.00"), "Odoo order S00042"), (Decimal("12.00"), note)]
    assert kf.get_invoice(credit)["Paid"] == 1

    # The refund paid back to the customer is a negative payment on the invoice.
    method, account = kf.payment_methods()[0]["MethodID"], kf.bank_accounts()[0]["AccountID"]
    kf.insert_payment(payment(number, "-12.00", method, account))
    settled = kf.get_invoice(number)
    assert (settled["AmountPaid"], settled["Paid"]) == (Decimal("12.00"), 1)


def test_applying_a_credit_note_twice_is_rejected_not_doubled(sandbox, kf, paid_invoice_and_credit_note):
    number, credit = paid_invoice_and_credit_note
    invoice_id, credit_id = kf.get_invoice(number)["InvoiceDBID"], kf.get_invoice(credit)["InvoiceDBID"]
    kf.apply_credit_note(invoice_id, credit_id)
    with pytest.raises(RejectedError) as caught:
        kf.apply_credit_note(invoice_id, credit_id)
    assert not caught.value.transient
    assert caught.value.operation == "applyCreditNoteToInvoice"
    assert "already been fully applied" in str(caught.value)
    assert len(kf.get_payments(credit)) == 1


def test_apply_credit_note_takes_db_ids_not_numbers(kf, paid_invoice_and_credit_note):
    number, credit = paid_invoice_and_credit_note
    with pytest.raises(RejectedError) as caught:
        kf.apply_credit_note(number, credit)
    assert "There is no invoice with that ID" in str(caught.value)
    assert kf.get_payments(credit) == []


# ---------------------------------------------------------------------------- reading by id and by date

class Recorder(zeep.Plugin):
    """The request elements the client sends, by operation."""

    def __init__(self):
        self.sent = []

    def egress(self, envelope, http_headers, operation, binding_options):
        self.sent.append((operation.name, envelope.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]))
        return envelope, http_headers


@pytest.fixture
def recorder(kf):
    plugins = client_module._endpoints.get(kf.url, kf.timeout)[0].plugins
    recorder = Recorder()
    plugins.append(recorder)
    yield recorder
    plugins.remove(recorder)


def test_get_invoice_by_id(kf):
    customer_id = kf.insert_customer(customer())
    number = kf.insert_invoice(invoice(customer_id, [line("A", "2", "12.50", "5.00", 1)]))
    dbid = kf.get_invoice(number)["InvoiceDBID"]
    found = kf.get_invoice_by_id(dbid)
    assert (found["InvoiceNumber"], found["NetAmount"]) == (number, Decimal("25.00"))
    assert [entry["Description"] for entry in found["Lines"]] == ["A"]
    assert kf.get_invoice_by_id(dbid + 1000) is None


def test_delete_invoice(kf, sandbox):
    customer_id = kf.insert_customer(customer())
    number = kf.insert_invoice(invoice(customer_id, [line("A", "1", "1.00", "0.20", 1)]))
    calls = kf.calls
    kf.delete_invoice(number)
    assert kf.get_invoice(number) is None
    assert kf.calls == calls + 2, "every SOAP request is counted"
    with pytest.raises(RejectedError) as raised:
        kf.delete_invoice(number)
    assert kf.is_not_found(raised.value)
    assert sandbox.state()["invoices"] == []


def test_invoices_by_date_range(kf, recorder):
    customer_id = kf.insert_customer(customer())
    for day, reference in ((19, "S1"), (20, "S2"), (21, "S3")):
        document = invoice(customer_id, [line("A", "1", "1.00", "0.20", 1)], reference=reference)
        document["InvoiceDate"] = datetime.datetime(2026, 11, day, 12, 0)
        kf.insert_invoice(document)
    credit = kf.insert_invoice(credit_note(customer_id, reference="S2-refund"))  # dated the 20th at noon

    found = kf.get_invoices_by_date_range(datetime.date(2026, 11, 20), datetime.date(2026, 11, 21))
    assert [entry["CustomerReference"] for entry in found] == ["S2", "S3", "S2-refund"]
    assert found[2]["InvoiceNumber"] == credit
    assert found[2]["NetAmount"] == Decimal("-10.00")
    assert [entry["Description"] for entry in found[0]["Lines"]] == ["A"]
    assert kf.get_invoices_by_date_range(datetime.date(2026, 12, 1), datetime.date(2026, 12, 31)) == []

    # Dates go out as naive midday; an aware datetime in UK time (GMT in November, BST in July).
    kf.get_invoices_by_date_range(datetime.datetime(2026, 11, 20, 8, 0, tzinfo=datetime.timezone.utc),
                                  datetime.datetime(2026, 7, 1, 23, 30, tzinfo=datetime.timezone.utc))
    sent = [body for operation, body in recorder.sent if operation == "GetInvoicesByDateRange"]
    assert [(body.findtext("{KashFlow}StartDate"), body.findtext("{KashFlow}EndDate")) for body in sent] == [
        ("2026-11-20T12:00:00", "2026-11-21T12:00:00"), ("2026-12-01T12:00:00", "2026-12-31T12:00:00"),
        ("2026-11-20T08:00:00", "2026-07-02T00:30:00")]


def test_payments_by_date_range_reads_every_page(sandbox, kf):
    from kashflow_sandbox.service import PAYMENTS_PAGE_SIZE

    customer_id = kf.insert_customer(customer())
    number = kf.insert_invoice(invoice(customer_id, [line("A", "1", "1000.00", "200.00", 1)]))
    method, account = kf.payment_methods()[0]["MethodID"], kf.bank_accounts()[0]["AccountID"]
    count = 2 * PAYMENTS_PAGE_SIZE + 3
    inserted = [kf.insert_payment(payment(number, "1.00", method, account)) for _ in range(count)]
    outside = payment(number, "5.00", method, account)
    outside["PayDate"] = datetime.datetime(2026, 11, 23, 12, 0)
    kf.insert_payment(outside)

    mark = sandbox.last_call()
    found = kf.get_payments_by_date_range(datetime.date(2026, 11, 20), datetime.date(2026, 11, 22))
    assert [p["PayID"] for p in found] == inserted
    assert sandbox.call_counts(since=mark) == {"GetInvoicePaymentsByDateRange": 4}  # three pages and an empty one
    assert kf.get_payments_by_date_range(datetime.date(2026, 1, 1), datetime.date(2026, 1, 31)) == []


def test_lookups(kf):
    assert {"AccountID", "AccountName", "AccountCode"} <= set(kf.bank_accounts()[0])
    assert {"MethodID", "MethodName"} <= set(kf.payment_methods()[0])
    assert {"ID", "Name"} <= set(kf.customer_sources()[0])
    assert {"id", "Code", "Name"} <= set(kf.nominal_codes()[0])
    assert {Decimal("20"), Decimal("5"), Decimal("0")} <= {rate["Value"] for rate in kf.vat_rates()}
    assert {"GBP", "EUR", "USD"} <= {currency["CurrencyCode"] for currency in kf.currencies()}


def test_one_zeep_client_per_endpoint(sandbox):
    first, second = make_client(sandbox), make_client(sandbox)
    first.check_connection()
    second.check_connection()
    assert client_module._endpoints.get(first.url, first.timeout) is client_module._endpoints.get(
        second.url, second.timeout)


# ---------------------------------------------------------------------------- errors

def test_bad_login(sandbox):
    kf = make_client(sandbox, password="not-the-password")
    with pytest.raises(AuthenticationError) as caught:
        kf.currencies()
    assert "username or password" in str(caught.value)
    assert "not-the-password" not in str(caught.value)
    assert "not-the-password" not in repr(caught.value)
    assert "not-the-password" not in repr(kf)
    assert not caught.value.transient


def test_ip_not_in_access_list(sandbox, kf):
    sandbox.configure(restrict_ips=True, allowed_ips=["192.0.2.10"])
    with pytest.raises(IPNotAllowedError) as caught:
        kf.currencies()
    assert "127.0.0.1" in str(caught.value)


def test_ip_authorisation_key_lets_the_call_through(sandbox):
    sandbox.configure(restrict_ips=True, allowed_ips=[])
    kf = make_client(sandbox, auto_auth_key=sandbox.auto_auth_key)
    assert kf.check_connection() == "GBP"


def test_http_500_is_transient(sandbox, kf):
    sandbox.set_faults(operation="GetCurrencies", mode="http500", count=1)
    with pytest.raises(UnavailableError) as caught:
        kf.currencies()
    assert caught.value.transient
    assert "HTTP 500" in str(caught.value)
    assert caught.value.retry_after is None
    assert kf.currencies()  # the fault was for one call only


@pytest.mark.parametrize(("settings", "retry_after"), [
    ({"mode": "http429"}, 30),
    ({"mode": "http429", "retry_after": 5}, 5),
    ({"mode": "http503", "retry_after": 120}, 120),
    ({"mode": "http503"}, None),
], ids=["429", "429-5s", "503-120s", "503"])
def test_busy_answers_carry_the_pause_kashflow_asks_for(sandbox, kf, settings, retry_after):
    sandbox.set_faults(operation="InsertCustomer", **settings)
    with pytest.raises(UnavailableError) as caught:
        kf.insert_customer(customer())
    error = caught.value
    assert (error.transient, error.retry_after, error.operation) == (True, retry_after, "InsertCustomer")
    assert f"HTTP {settings['mode'][-3:]}" in str(error)
    assert (f"pause of {retry_after} seconds" in str(error)) == (retry_after is not None)
    assert sandbox.password not in str(error)
    assert kf.get_customer_by_code("ODOO7") is None  # KashFlow did nothing


def test_retry_after_as_an_http_date(sandbox, kf):
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=90)
    sandbox.set_faults(operation="GetCurrencies", mode="http429", retry_after=email.utils.format_datetime(when, True))
    with pytest.raises(UnavailableError) as caught:
        kf.currencies()
    assert 80 <= caught.value.retry_after <= 91


@pytest.mark.parametrize(("mode", "words"), [
    ("html_page", "with a web page instead of KashFlow's reply"),
    ("empty_body", "sent an empty answer"),
    ("malformed_xml", "sent an answer to InsertCustomer that is not valid XML"),
])
def test_an_answer_that_is_not_kashflows_is_transient(sandbox, kf, mode, words):
    # Before: zeep's "invalid XML" TransportError on HTTP 200 became a RejectedError ("check the address").
    sandbox.set_faults(operation="InsertCustomer", mode=mode)
    with pytest.raises(UnavailableError) as caught:
        kf.insert_customer(customer())
    assert words in str(caught.value)
    assert caught.value.retry_after is None
    assert "It will be tried again." in str(caught.value)
    assert kf.get_customer_by_code("ODOO7") is None


def test_timeout_is_transient(sandbox):
    kf = make_client(sandbox, timeout=(2, 0.5))
    sandbox.set_faults(operation="GetBankAccounts", mode="timeout", count=1, stall_seconds=2)
    with pytest.raises(UnavailableError) as caught:
        kf.bank_accounts()
    assert caught.value.transient
    assert "did not answer" in str(caught.value)


def test_connection_refused_is_transient():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kf = KashFlowClient("user", "pass", url=f"http://127.0.0.1:{port}/api/service.asmx", timeout=(1, 1))
    with pytest.raises(UnavailableError):
        kf.currencies()


def test_dropped_answer_after_commit_is_transient_and_the_work_is_done(sandbox, kf):
    sandbox.set_faults(operation="InsertCustomer", mode="drop_after_commit", count=1)
    with pytest.raises(UnavailableError):
        kf.insert_customer(customer())
    assert kf.get_customer_by_code("ODOO7") is not None


def test_soap_fault_of_kashflow_failing_itself_is_transient_with_kashflow_words(sandbox, kf):
    # soap:Server, "Server was unable to process request": KashFlow read the request, then failed on its side.
    sandbox.set_faults(operation="InsertCustomer", mode="soap_fault", count=1)
    with pytest.raises(UnavailableError) as caught:
        kf.insert_customer(customer())
    assert str(caught.value) == (
        "KashFlow failed while handling InsertCustomer, an error on its side: Server was unable to process request."
        " ---> Object reference not set to an instance of an object. It will be tried again.")
    assert caught.value.transient
    assert kf.get_customer_by_code("ODOO7") is None  # KashFlow did nothing
    kf.insert_customer(customer())  # the fault has passed
    assert kf.get_customer_by_code("ODOO7") is not None


def test_soap_fault_of_a_request_kashflow_cannot_read_is_a_request_error_with_kashflow_words(sandbox, kf):
    # soap:Client, "Server was unable to read request": the same request would fail again. A dateTime written
    # with a zone name is what KashFlow refused live (aypex-io/spree-kashflow's changelog, 0.1.2).
    with pytest.raises(RequestError) as caught:
        kf.insert_customer(customer(Created="2026-08-18 10:53:48 UTC"))
    assert str(caught.value).startswith("KashFlow could not read the InsertCustomer request: Server was unable to"
                                        " read request. ---> There is an error in XML document.")
    assert not caught.value.transient
    assert kf.get_customer_by_code("ODOO7") is None


def test_request_that_does_not_fit_the_contract(kf):
    incomplete = customer()
    del incomplete["EC"]
    with pytest.raises(RequestError) as caught:
        kf.insert_customer(incomplete)
    assert "EC" in str(caught.value)


def test_password_never_logged(sandbox, caplog):
    kf = make_client(sandbox)
    with caplog.at_level(logging.DEBUG, logger="zeep"):
        kf.currencies()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Password" in logged  # zeep did log the envelope
    assert sandbox.password not in logged
