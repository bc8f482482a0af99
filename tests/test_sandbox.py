"""The KashFlow sandbox over real HTTP, driven by plain zeep clients."""

import time
from datetime import datetime
from decimal import Decimal

import pytest
import requests
import zeep
from lxml import etree
from zeep import xsd
from zeep.transports import Transport

from kashflow_sandbox import seed

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


class Api:
    """A zeep client's operations, called with the sandbox's credentials."""

    def __init__(self, client, sandbox, service=None):
        self.client = client
        self.service = service or client.service
        self.credentials = {"UserName": sandbox.username, "Password": sandbox.password}

    def call(self, operation, **params):
        """The whole response (``…Result``, Status, StatusDetail); ``params`` can override the login."""
        return getattr(self.service, operation)(**{**self.credentials, **params})

    def ok(self, operation, **params):
        """The ``…Result`` of a call that must succeed."""
        response = self.call(operation, **params)
        assert response.Status == "OK", response.StatusDetail
        return getattr(response, f"{operation}Result", None)

    def refused(self, operation, **params):
        """The ``StatusDetail`` of a call KashFlow must refuse (with no result, or 0)."""
        response = self.call(operation, **params)
        assert response.Status == "NO"
        assert not getattr(response, f"{operation}Result", None)
        return response.StatusDetail

    def line(self, **fields):
        """An invoice line as KashFlow wants it: ``<anyType xsi:type="InvoiceLine">``."""
        values = {"Quantity": 1, "Description": "Widget", "Rate": "10.00", "ChargeType": 3201, "VatRate": 20,
                  "VatAmount": "2.00", "ProductID": 0, "Sort": 1, "ProjID": 0, "LineID": 0}
        return xsd.AnyObject(self.client.get_type("ns0:InvoiceLine"), {**values, **fields})


@pytest.fixture(scope="module")
def client(sandbox_process):
    return zeep.Client(sandbox_process.wsdl_url)


@pytest.fixture
def api(sandbox, client):
    """The SOAP operations of a freshly reset sandbox."""
    return Api(client, sandbox)


def customer(**fields):
    """A complete Customer: every required element set, as KashFlow's callers send it."""
    now = datetime(2024, 5, 1, 12, 0)
    values = {"CustomerID": 0, "Code": "", "Name": "Jane Smith", "Email": "jane@example.com", "EC": 0,
              "OutsideEC": 0, "Source": 1, "Discount": 0, "ShowDiscount": False, "PaymentTerms": 14,
              "Created": now, "Updated": now, "CurrencyID": 0, "Postcode": "SW1A 1AA"}
    values.update({f"CheckBox{number}": 0 for number in range(1, 21)})
    return {**values, **fields}


def invoice(customer_id, lines, **fields):
    values = {"InvoiceDBID": 0, "InvoiceNumber": 0, "InvoiceDate": datetime(2024, 5, 1, 12, 0),
              "DueDate": datetime(2024, 5, 31, 12, 0), "CustomerID": customer_id, "Paid": 0,
              "CustomerReference": "SO0042", "SuppressTotal": 0, "ProjectID": 0, "CurrencyCode": "GBP",
              "ExchangeRate": 1, "NetAmount": 0, "VATAmount": 0, "AmountPaid": 0,
              "UseCustomDeliveryAddress": False, "CISRCNetAmount": None, "CISRCVatAmount": None,
              "IsCISReverseCharge": None, "Lines": {"anyType": lines}}
    return {**values, **fields}


def payment(invoice_number, amount, **fields):
    values = {"PayID": 0, "PayInvoice": invoice_number, "PayDate": datetime(2024, 5, 2, 9, 30),
              "PayNote": "Order SO0042", "PayMethod": 2, "PayAccount": 101, "PayAmount": amount}
    return {**values, **fields}


def insert_order(api, code="JANE1", **invoice_fields):
    """A customer with a two-line invoice (net 24.15, VAT 4.83); returns (customer id, invoice number)."""
    customer_id = api.ok("InsertCustomer", custr=customer(Code=code))
    lines = [api.line(Quantity=2, Rate="9.99", VatAmount="4.00", Description="Widget"),
             api.line(Sort=2, Rate="4.17", VatAmount="0.83", ChargeType=3203, Description="Delivery")]
    return customer_id, api.ok("InsertInvoice", Inv=invoice(customer_id, lines, **invoice_fields))


def soap_post(sandbox, body, action):
    envelope = (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}">'
                f"<soap:Body>{body}</soap:Body></soap:Envelope>")
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"KashFlow/{action}"'}
    return requests.post(sandbox.service_url, data=envelope.encode(), headers=headers)


# Round trip


def test_customer_invoice_and_payment_round_trip(api):
    customer_id, number = insert_order(api)
    assert (customer_id, number) == (seed.FIRST_IDS["customer"], 1)

    by_code = api.ok("GetCustomer", CustomerCode="jane1")
    by_id = api.ok("GetCustomerByID", CustomerID=customer_id)
    by_email = api.ok("GetCustomerByEmail", CustomerEmail="JANE@example.com")
    assert by_code.CustomerID == by_id.CustomerID == by_email.CustomerID == customer_id
    assert (by_id.Name, by_id.Postcode, by_id.PaymentTerms, by_id.Source) == ("Jane Smith", "SW1A 1AA", 14, 1)

    found = api.ok("GetInvoice", InvoiceNumber=number)
    assert (found.InvoiceNumber, found.CustomerID, found.CustomerReference) == (1, customer_id, "SO0042")
    assert found.InvoiceDBID > 0
    assert found.CustomerName == "Jane Smith"
    assert (found.NetAmount, found.VATAmount, found.AmountPaid, found.Paid) == (
        Decimal("24.15"), Decimal("4.83"), Decimal("0.00"), 0)
    lines = found.Lines.anyType
    assert [type(item).__name__ for item in lines] == ["InvoiceLine", "InvoiceLine"]
    assert [(item.Description, item.Quantity, item.Rate, item.ChargeType) for item in lines] == [
        ("Widget", 2, Decimal("9.99"), 3201), ("Delivery", 1, Decimal("4.17"), 3203)]
    assert all(item.LineID > 0 for item in lines)
    assert lines[0].LineID != lines[1].LineID

    pay_id = api.ok("InsertInvoicePayment", InvoicePayment=payment(number, "28.98"))
    assert pay_id == seed.FIRST_IDS["payment"]
    payments = api.ok("GetInvoicePayment", InvoiceNumber=number).Payment
    assert [(p.PayID, p.PayInvoice, p.PayAmount, p.PayMethod, p.PayAccount) for p in payments] == [
        (pay_id, number, Decimal("28.98"), 2, 101)]
    paid = api.ok("GetInvoice", InvoiceNumber=number)
    assert (paid.AmountPaid, paid.Paid) == (Decimal("28.98"), 1)

    assert api.ok("InsertInvoice", Inv=invoice(customer_id, [api.line()])) == 2
    listed = api.ok("GetInvoicesForCustomer", CustID=customer_id).Invoice
    assert [item.InvoiceNumber for item in listed] == [1, 2]


def test_lookups_are_seeded(api):
    accounts = api.ok("GetBankAccounts").BankAccount
    assert {(a.AccountName, a.AccountCode) for a in accounts} >= {("Current Account", 1200), ("PayPal", 1220)}
    assert "eBay Managed Payments" in {m.MethodName for m in api.ok("GetInvPayMethods").PaymentMethod}
    assert "Web shop" in {s.Name for s in api.ok("GetCustomerSources").BasicDataset}
    nominals = {(n.Code, n.Name) for n in api.ok("GetNominalCodes").NominalCode}
    assert nominals >= {(4000, "Sales - Goods"), (4900, "Carriage/Delivery charges")}
    assert [rate.Value for rate in api.ok("GetVATRates").BasicDataset] == [20, 5, 0, -1]
    currencies = api.ok("GetCurrencies").Currencies
    assert [(c.CurrencyCode, c.isDefault) for c in currencies] == [("GBP", 1), ("EUR", 0), ("USD", 0)]


def test_state_and_page_show_the_account(api, sandbox):
    api.ok("InsertCustomer", custr=customer(Code="SMITH1", Name="Smith & Sons <Ltd>"))
    customer_id, number = insert_order(api)
    api.ok("InsertInvoicePayment", InvoicePayment=payment(number, "10.00"))

    state = sandbox.state()
    assert [c["Code"] for c in state["customers"]] == ["SMITH1", "JANE1"]
    (stored,) = state["invoices"]
    assert (stored["InvoiceNumber"], stored["CustomerID"]) == (number, customer_id)
    assert (stored["NetAmount"], stored["VATAmount"], stored["AmountPaid"], stored["Paid"]) == (
        "24.15", "4.83", "10.00", 0)
    assert [(item["Rate"], item["VatAmount"]) for item in stored["Lines"]] == [
        ("9.99", "4.00"), ("4.17", "0.83")]
    assert [(p["PayInvoice"], p["PayAmount"]) for p in state["payments"]] == [(number, "10.00")]
    assert state["lookups"]["currencies"][0]["CurrencyCode"] == "GBP"

    html = requests.get(f"{sandbox.url}/").text
    assert "Smith &amp; Sons &lt;Ltd&gt;" in html
    assert "<Ltd>" not in html
    assert all(shown in html for shown in ("SO0042", "24.15", "Delivery", "Card", "Current Account"))


def test_the_account_survives_a_restart(api, sandbox):
    customer_id, number = insert_order(api)
    api.ok("InsertInvoicePayment", InvoicePayment=payment(number, "5.00"))

    sandbox.restart()

    found = api.ok("GetInvoice", InvoiceNumber=number)
    assert (found.CustomerID, found.NetAmount, found.AmountPaid, len(found.Lines.anyType)) == (
        customer_id, Decimal("24.15"), Decimal("5.00"), 2)
    assert api.ok("InsertCustomer", custr=customer(Code="NEXT1")) == customer_id + 1
    assert api.ok("InsertInvoice", Inv=invoice(customer_id, [api.line()])) == number + 1


# KashFlow's refusals


def test_wrong_credentials_are_refused(api):
    assert api.refused("GetBankAccounts", Password="wrong") == "Incorrect username or password"
    assert api.refused("InsertCustomer", custr=customer(), UserName="nobody") == (
        "Incorrect username or password")


def test_ip_allow_list_and_auto_auth_ip(api, sandbox):
    sandbox.configure(restrict_ips=True, allowed_ips=["10.1.2.3"])
    assert api.refused("GetCurrencies") == "The IP address of 127.0.0.1 is not in the access list"

    assert api.refused("AutoAuthIP", appName="Odoo", AutoAuthKey="0000") == "The AutoAuth key is not valid"
    assert api.refused("AutoAuthIP", Password="x", appName="Odoo", AutoAuthKey=sandbox.auto_auth_key) == (
        "Incorrect username or password")

    assert api.ok("AutoAuthIP", appName="Odoo shop", AutoAuthKey=sandbox.auto_auth_key) == 1
    api.ok("GetCurrencies")
    access = requests.get(f"{sandbox.url}/_sandbox/config").json()
    assert access == {"restrict_ips": True, "allowed_ips": [{"ip": "10.1.2.3", "comment": ""},
                                                            {"ip": "127.0.0.1", "comment": "Odoo shop"}]}


def test_customer_code_rules(api):
    first = api.ok("InsertCustomer", custr=customer(Code="ABC123"))
    assert api.refused("InsertCustomer", custr=customer(Code="abc123")) == "Customer Code is not unique"
    assert api.refused("InsertCustomer", custr=customer(Code="jane@example.com")) == (
        "The customer code specified is invalid, please re-enter without any special characters")

    assigned = [api.ok("InsertCustomer", custr=customer(Code="")) for _ in range(2)]
    assert [api.ok("GetCustomerByID", CustomerID=i).Code for i in assigned] == ["CUST0001", "CUST0002"]

    renamed = customer(CustomerID=first, Code="ABC123", Name="Jane Smith-Jones", Telephone="020 7946 0000")
    api.ok("UpdateCustomer", custr=renamed)
    updated = api.ok("GetCustomer", CustomerCode="ABC123")
    assert (updated.Name, updated.Telephone) == ("Jane Smith-Jones", "020 7946 0000")
    assert api.refused("UpdateCustomer", custr=customer(CustomerID=first, Code="CUST0001")) == (
        "Customer Code is not unique")
    assert api.refused("UpdateCustomer", custr=customer(CustomerID=999, Code="NEW1")) == (
        "There is no customer with that ID")


def test_customer_misses(api):
    assert api.refused("GetCustomer", CustomerCode="NOPE") == "There is no customer with that code"
    assert api.refused("GetCustomerByID", CustomerID=4242) == "There is no customer with that ID"
    assert api.refused("GetCustomerByEmail", CustomerEmail="who@example.com") == (
        "There is no customer with that email address")


def test_invoice_rules(api, sandbox):
    customer_id = api.ok("InsertCustomer", custr=customer(Code="C1"))
    assert api.refused("InsertInvoice", Inv=invoice(4242, [api.line()])) == (
        "There is no customer with that ID")
    bad_nominal = [api.line(), api.line(Sort=2, ChargeType=9999)]
    assert api.refused("InsertInvoice", Inv=invoice(customer_id, bad_nominal)) == (
        "Invalid ChargeType 9999 on line 2")
    assert api.refused("InsertInvoice", Inv=invoice(customer_id, [api.line()], CurrencyCode="JPY")) == (
        "The currency code JPY is not set up in this account")
    not_a_line = xsd.AnyObject(api.client.get_type("ns0:Payment"), payment(1, "1.00"))
    assert api.refused("InsertInvoice", Inv=invoice(customer_id, [not_a_line])) == (
        "Line 1 is not an InvoiceLine")

    numbered = invoice(customer_id, [api.line()], InvoiceNumber=1000)
    assert api.ok("InsertInvoice", Inv=numbered) == 1000
    assert api.refused("InsertInvoice", Inv=numbered) == "Invoice number is already in use"
    in_euros = invoice(customer_id, [api.line()], CurrencyCode="EUR", ExchangeRate="1.165")
    assert api.ok("InsertInvoice", Inv=in_euros) == 1001
    assert api.refused("GetInvoice", InvoiceNumber=77) == "There is no invoice with that number"
    assert [(i["InvoiceNumber"], i["CurrencyCode"]) for i in sandbox.state()["invoices"]] == [
        (1000, "GBP"), (1001, "EUR")]


def test_update_invoice_replaces_all_lines(api):
    customer_id, number = insert_order(api)
    before = api.ok("GetInvoice", InvoiceNumber=number)

    gadgets = api.line(Description="Gadget", Quantity=3, Rate="5.00", VatAmount="3.00")
    api.ok("UpdateInvoice", Inv=invoice(customer_id, [gadgets], InvoiceNumber=number, CustomerReference="B"))

    after = api.ok("GetInvoice", InvoiceNumber=number)
    assert [item.Description for item in after.Lines.anyType] == ["Gadget"]
    assert (after.NetAmount, after.VATAmount, after.CustomerReference) == (
        Decimal("15.00"), Decimal("3.00"), "B")
    assert after.InvoiceDBID == before.InvoiceDBID
    assert after.Lines.anyType[0].LineID not in {item.LineID for item in before.Lines.anyType}
    assert api.refused("UpdateInvoice", Inv=invoice(customer_id, [], InvoiceNumber=404)) == (
        "There is no invoice with that number")


def test_payment_rules(api):
    _customer_id, number = insert_order(api)
    refusals = {
        "There is no invoice with that number": payment(404, "1.00"),
        "There is no payment method with that ID": payment(number, "1.00", PayMethod=99),
        "There is no bank account with that ID": payment(number, "1.00", PayAccount=99),
        "Payment amount must be greater than zero": payment(number, "0"),
    }
    for detail, refused in refusals.items():
        assert api.refused("InsertInvoicePayment", InvoicePayment=refused) == detail
    assert api.ok("GetInvoicePayment", InvoiceNumber=number) is None  # an empty ArrayOfPayment
    assert api.refused("GetInvoicePayment", InvoiceNumber=404) == "There is no invoice with that number"

    pay_id = api.ok("InsertInvoicePayment", InvoicePayment=payment(number, "28.98"))
    assert api.ok("GetInvoice", InvoiceNumber=number).Paid == 1
    api.ok("DeleteInvoicePayment", InvoiceNumber=number, InvoicePaymentNumber=pay_id)
    assert api.ok("GetInvoice", InvoiceNumber=number).Paid == 0
    assert api.refused("DeleteInvoicePayment", InvoiceNumber=number, InvoicePaymentNumber=pay_id) == (
        "There is no payment with that number")


# Unreadable requests and injected faults


def test_unreadable_requests_are_soap_faults(api, sandbox):
    response = soap_post(sandbox, "<GetInvoice xmlns='KashFlow'><InvoiceNumber>1</Invoice", "GetInvoice")
    assert response.status_code == 500
    fault = etree.fromstring(response.content).find(f".//{{{SOAP_ENV}}}Fault")
    assert fault.findtext("faultcode") == "soap:Client"
    assert fault.findtext("faultstring").startswith("Server was unable to read request. ---> ")

    unknown = soap_post(sandbox, "<Nope xmlns='KashFlow'/>", "Nope")
    assert unknown.status_code == 500
    assert b"did not recognize the value of HTTP Header SOAPAction" in unknown.content

    with pytest.raises(zeep.exceptions.Fault, match="unable to read request"):
        api.call("GetInvoice", InvoiceNumber="twelve")  # zeep sends the text as it is: not an xsd:int


def test_fault_http500(api, sandbox):
    customer_id = api.ok("InsertCustomer", custr=customer(Code="C1"))
    sandbox.set_faults(operation="InsertInvoice", mode="http500", count=1)
    with pytest.raises(zeep.exceptions.TransportError) as caught:
        api.call("InsertInvoice", Inv=invoice(customer_id, [api.line()]))
    assert caught.value.status_code == 500
    assert sandbox.state()["invoices"] == []
    assert api.ok("InsertInvoice", Inv=invoice(customer_id, [api.line()])) == 1


def test_fault_timeout(api, sandbox):
    customer_id = api.ok("InsertCustomer", custr=customer(Code="C1"))
    sandbox.set_faults(operation="InsertInvoice", mode="timeout", stall_seconds=1.5)
    impatient = Api(zeep.Client(sandbox.wsdl_url, transport=Transport(operation_timeout=0.3)), sandbox)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        impatient.call("InsertInvoice", Inv=invoice(customer_id, [api.line()]))
    assert time.monotonic() - started < 1.2
    assert sandbox.state()["invoices"] == []
    assert sandbox.state()["faults"]["operations"] == {}


def test_fault_drop_after_commit(api, sandbox):
    customer_id = api.ok("InsertCustomer", custr=customer(Code="C1"))
    sandbox.set_faults(operation="InsertInvoice", mode="drop_after_commit")
    with pytest.raises(requests.exceptions.ConnectionError):
        api.call("InsertInvoice", Inv=invoice(customer_id, [api.line()], CustomerReference="SO0099"))
    assert [(i["InvoiceNumber"], i["CustomerReference"]) for i in sandbox.state()["invoices"]] == [
        (1, "SO0099")]
    assert api.ok("GetInvoice", InvoiceNumber=1).CustomerReference == "SO0099"


def test_fault_latency(api, sandbox):
    sandbox.set_faults(latency_ms=200)
    started = time.monotonic()
    api.ok("GetCurrencies")
    assert time.monotonic() - started >= 0.2
    sandbox.clear_faults()
    started = time.monotonic()
    api.ok("GetCurrencies")
    assert time.monotonic() - started < 0.2


def test_bad_fault_settings_are_refused(sandbox):
    bad_mode = {"operation": "InsertInvoice", "mode": "explode"}
    response = requests.post(f"{sandbox.url}/_sandbox/faults", json=bad_mode)
    assert response.status_code == 400
    assert "mode must be one of" in response.json()["error"]


# KashFlow's own WSDL


class _OfflineTransport(Transport):
    """Hands zeep a stand-in for the SOAP-encoding schema the 2026 WSDL imports, instead of downloading it."""

    SOAP_ENCODING = "http://schemas.xmlsoap.org/soap/encoding/"
    STAND_IN = (f'<schema xmlns="http://www.w3.org/2001/XMLSchema" targetNamespace="{SOAP_ENCODING}">'
                '<complexType name="Array"><sequence><any minOccurs="0" maxOccurs="unbounded"/></sequence>'
                "</complexType></schema>").encode()

    def load(self, url):
        return self.STAND_IN if url.rstrip("/") == self.SOAP_ENCODING.rstrip("/") else super().load(url)


@pytest.mark.parametrize("year", [2017, 2026])
def test_a_client_of_kashflows_real_wsdl(sandbox, kashflow_wsdl, year):
    path = kashflow_wsdl(year)  # skips where the reference copy is missing
    # KashFlow answers with today's Invoice (with the CIS fields of 2026), which a strict 2017 client refuses.
    real = zeep.Client(str(path), transport=_OfflineTransport(), settings=zeep.Settings(strict=year > 2017))
    api = Api(real, sandbox, real.create_service("{KashFlow}KashFlowAPISoap", sandbox.service_url))

    customer_id = api.ok("InsertCustomer", custr=customer(Code="REAL1"))
    fields = invoice(customer_id, [api.line(Quantity=2, Rate="9.99", VatAmount="4.00")])
    if year == 2017:
        fields = {name: value for name, value in fields.items() if "CIS" not in name}
    number = api.ok("InsertInvoice", Inv=fields)
    found = api.ok("GetInvoice", InvoiceNumber=number)
    assert (found.NetAmount, type(found.Lines.anyType[0]).__name__) == (Decimal("19.98"), "InvoiceLine")

    pay_id = api.ok("InsertInvoicePayment", InvoicePayment=payment(number, "23.98"))
    if year == 2017:  # the 2017 form names only the payment
        api.ok("DeleteInvoicePayment", InvoicePaymentNumber=pay_id)
    else:
        api.ok("DeleteInvoicePayment", InvoiceNumber=number, InvoicePaymentNumber=pay_id)
    assert sandbox.state()["payments"] == []
