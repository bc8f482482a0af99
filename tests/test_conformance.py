"""Conformance with KashFlow's real contract, using the copies of its WSDL kept outside the project.

(a) Every request the client sends, captured on the wire, validates against the XML schema of KashFlow's
    real WSDL (the live 2026 copy, and the 2017 copy apart from the two changes KashFlow made since).
(b) A zeep client built from KashFlow's real WSDL, pointed at the sandbox, inserts a customer, an invoice
    with lines and a payment, a credit note and its application, and reads them back (by number, by id and
    by date): the sandbox plays the real contract, not just ours.
(c) Every definition of the project's WSDL (schema elements and types, messages, port type and binding
    operations) is the same as KashFlow's live (2026) one: the subset adds nothing of its own.

The copies are found by the ``kashflow_wsdl`` fixture (``conftest.py``): in shared/kashflow/ beside the checkout,
or in the folder KASHFLOW_REFERENCE_WSDL_DIR names. Where they are absent, these tests skip and say where they looked.
"""

import copy
import dataclasses
import datetime
from decimal import Decimal

import pytest
import zeep
from lxml import etree
from zeep import xsd

from kashflow import client as client_module
from kashflow import documents
from kashflow.booking import CustomerState, DocumentState, sync_order
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

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSD = "http://www.w3.org/2001/XMLSchema"
SOAP_ENCODING = "http://schemas.xmlsoap.org/soap/encoding/"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
# What KashFlow added between the 2017 and the 2026 WSDL, among the elements the client sends:
# DeleteInvoicePayment's InvoiceNumber and the Invoice's CIS reverse-charge fields.
CIS_FIELDS = ("CISRCNetAmount", "CISRCVatAmount", "IsCISReverseCharge")
# A stand-in for the SOAP-encoding schema the 2026 WSDL imports (zeep would fetch it from the internet).
SOAP_ENCODING_STAND_IN = f"""<xs:schema xmlns:xs="{XSD}" targetNamespace="{SOAP_ENCODING}">
  <xs:complexType name="Array"><xs:sequence><xs:any minOccurs="0" maxOccurs="unbounded" processContents="lax"/>
  </xs:sequence><xs:anyAttribute processContents="lax"/></xs:complexType>
</xs:schema>""".encode()

def kashflow_schema(wsdl_path):
    """The XML schema of KashFlow's own namespace, from a real WSDL, compiled by lxml."""
    found = etree.parse(str(wsdl_path)).find(f".//{{{XSD}}}schema[@targetNamespace='KashFlow']")
    # A root of its own that declares the prefixes the type references use ("s:int", "tns:Invoice").
    schema = etree.Element(f"{{{XSD}}}schema", attrib=dict(found.attrib), nsmap={"s": XSD, "tns": "KashFlow"})
    schema.extend(copy.deepcopy(child) for child in found)
    return etree.XMLSchema(schema)


class Recorder(zeep.Plugin):
    """Keeps a copy of every envelope the client sends."""

    def __init__(self):
        self.sent = []

    def egress(self, envelope, http_headers, operation, binding_options):
        self.sent.append((operation.name, copy.deepcopy(envelope)))
        return envelope, http_headers


def a_paid_order(*, returned=False):
    """Three mugs and next-day delivery, paid; with ``returned``, one mug came back: a credit note applied to the
    invoice and the money paid back."""
    customer = CustomerSnapshot(
        code="ODOO31", name="Brightwater Crafts Ltd", contact_name="Priya Shah", email="accounts@brightwater.example",
        phone="0161 496 0123", vat="GB123456789", is_company=True,
        invoice_address=Address(street="Unit 4, Canal Works", city="Manchester", zip="M1 2AB", country_code="GB",
                                country_name="United Kingdom"),
        delivery_address=Address(street="9 Wharf Street", city="Salford", zip="M5 3EE", country_code="GB",
                                 country_name="United Kingdom"))
    mug = LineSnapshot("product", "Hand-thrown mug", Decimal("3"), Decimal("12.00"), Decimal("0"), Decimal("36.00"),
                       Decimal("7.20"), Decimal("20"))
    delivery = LineSnapshot("delivery", "DPD next day", Decimal("1"), Decimal("6.50"), Decimal("0"), Decimal("6.50"),
                            Decimal("1.30"), Decimal("20"))
    invoice = InvoiceSnapshot(
        key="order", kind=INVOICE, reference="S00031", date=datetime.date(2026, 11, 20), lines=(mug, delivery),
        currency_code="GBP", exchange_rate=Decimal("1"), amount_net=Decimal("42.50"), amount_vat=Decimal("8.50"),
        amount_total=Decimal("51.00"), delivery_address=customer.delivery_address)
    payments = [PaymentSnapshot("payment:1", "order", Decimal("51.00"), datetime.date(2026, 11, 20), "PBNK1/00001")]
    documents_ = [invoice]
    if returned:
        returned_mug = LineSnapshot("product", "Hand-thrown mug, returned", Decimal("1"), Decimal("12.00"),
                                    Decimal("0"), Decimal("12.00"), Decimal("2.40"), Decimal("20"))
        documents_.append(InvoiceSnapshot(
            key="move:7", kind=CREDIT_NOTE, reference="S00031 RINV/00001", date=datetime.date(2026, 11, 21),
            lines=(returned_mug,), currency_code="GBP", exchange_rate=Decimal("1"), amount_net=Decimal("12.00"),
            amount_vat=Decimal("2.40"), amount_total=Decimal("14.40"), applies_to="order"))
        payments.append(PaymentSnapshot("payment:2", "order", Decimal("-14.40"), datetime.date(2026, 11, 21),
                                        "PBNK1/00002"))
    return OrderSnapshot(name="S00031", customer=customer, home_currency_code="GBP", include_vat=True,
                         documents=tuple(documents_), payments=tuple(payments))


@pytest.fixture
def recorded_requests(sandbox):
    """Every request of a full sync (and the other calls the client makes), as sent on the wire."""
    kf = KashFlowClient(sandbox.username, sandbox.password, url=sandbox.service_url,
                        auto_auth_key=sandbox.auto_auth_key)
    recorder = Recorder()
    zeep_client = client_module._endpoints.get(kf.url, kf.timeout)[0]
    zeep_client.plugins.append(recorder)
    try:
        methods = kf.payment_methods()
        accounts = kf.bank_accounts()
        nominals = {nominal["Code"]: nominal["id"] for nominal in kf.nominal_codes()}
        kf.customer_sources()
        kf.vat_rates()
        mapping = Mapping(methods[0]["MethodID"], accounts[0]["AccountID"], 0, nominals[4000], nominals[4900])
        customer, states = CustomerState(), {}
        sync_order(kf, a_paid_order(), mapping, customer, states)
        # Again, as after lost answers: the look-up paths (customer by code, invoice by date, payment by invoice).
        marked = {key: DocumentState(key, state.kind, attempt=datetime.date(2026, 11, 20),
                                     invoice_number=state.invoice_number, note=state.note)
                  for key, state in states.items()}
        sync_order(kf, a_paid_order(), mapping, CustomerState(attempt=True), marked)
        # A credit note applied to the invoice, and the money paid back; then the refund is undone.
        sync_order(kf, a_paid_order(returned=True), mapping, customer, states)
        sync_order(kf, dataclasses.replace(a_paid_order(returned=True), payments=a_paid_order().payments), mapping,
                   customer, states)
        kf.get_customer_by_id(customer.customer_id)
        kf.get_invoices_for_customer(customer.customer_id)
        kf.get_invoice_by_id(states["order"].dbid)
        kf.get_invoices_by_date_range(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
        kf.get_payments_by_date_range(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
        kf.authorise_ip()
    finally:
        zeep_client.plugins.remove(recorder)
    return recorder.sent


def body_of(envelope):
    return envelope.find(f"{{{SOAP_ENV}}}Body")[0]


def test_every_request_validates_against_kashflow_2026(recorded_requests, kashflow_wsdl):
    schema = kashflow_schema(kashflow_wsdl(2026))
    operations = set()
    for operation, envelope in recorded_requests:
        request = body_of(envelope)
        assert schema.validate(request), f"{operation}: {schema.error_log}"
        operations.add(operation)
    assert {"InsertCustomer", "UpdateCustomer", "GetCustomer", "InsertInvoice", "UpdateInvoice", "GetInvoice",
            "GetInvoicesForCustomer", "InsertInvoicePayment", "GetInvoicePayment", "DeleteInvoicePayment",
            "AutoAuthIP", "GetCustomerByID", "GetInvoiceByID", "GetInvoicesByDateRange",
            "GetInvoicePaymentsByDateRange", "applyCreditNoteToInvoice"} <= operations


def without_2026_additions(request):
    """A copy of a request without the elements KashFlow's WSDL gained after 2017."""
    request = copy.deepcopy(request)
    removable = []
    if request.tag == "{KashFlow}DeleteInvoicePayment":
        removable += request.findall("{KashFlow}InvoiceNumber")
    for invoice in request.iter("{KashFlow}Inv"):
        removable += [element for name in CIS_FIELDS for element in invoice.findall(f"{{KashFlow}}{name}")]
    for element in removable:
        element.getparent().remove(element)
    return request


def test_every_request_validates_against_kashflow_2017_but_for_later_additions(recorded_requests, kashflow_wsdl):
    schema = kashflow_schema(kashflow_wsdl(2017))
    for operation, envelope in recorded_requests:
        request = without_2026_additions(body_of(envelope))
        assert schema.validate(request), f"{operation}: {schema.error_log}"


class _OfflineTransport(zeep.Transport):
    """Serves the SOAP-encoding schema locally: the machine running the tests may have no internet."""

    def load(self, url):
        if url.rstrip("/") == SOAP_ENCODING.rstrip("/"):
            return SOAP_ENCODING_STAND_IN
        return super().load(url)


@pytest.mark.parametrize("year", [2026, 2017])
def test_client_built_from_kashflow_wsdl_works_against_the_sandbox(sandbox, kashflow_wsdl, year):  # noqa: PLR0915
    wsdl = kashflow_wsdl(year)
    # Not strict: KashFlow answers with today's Invoice type, whose CIS fields a 2017 client does not know.
    real = zeep.Client(str(wsdl), transport=_OfflineTransport(), settings=zeep.Settings(strict=False))
    service = real.create_service("{KashFlow}KashFlowAPISoap", sandbox.service_url)
    credentials = {"UserName": sandbox.username, "Password": sandbox.password}
    now = datetime.datetime(2026, 11, 20, 12, 0)

    customer = documents.customer_document(a_paid_order().customer, source_id=0, now=now)
    inserted = service.InsertCustomer(custr=customer, **credentials)
    assert inserted.Status == "OK", inserted.StatusDetail
    customer_id = inserted.InsertCustomerResult

    line_type = real.get_type("{KashFlow}InvoiceLine")
    lines = [{"Quantity": Decimal("2"), "Description": "Hand-thrown mug", "Rate": Decimal("12.00"),
              "ChargeType": 0, "VatRate": Decimal("20"), "VatAmount": Decimal("4.80"), "ProductID": 0,
              "Sort": 1, "ProjID": 0, "LineID": 0}]
    invoice = {
        "InvoiceDBID": 0, "InvoiceNumber": 0, "InvoiceDate": now, "DueDate": now, "CustomerID": customer_id,
        "Paid": 0, "CustomerReference": "S00031", "SuppressTotal": 0, "ProjectID": 0, "CurrencyCode": "GBP",
        "ExchangeRate": Decimal("1"), "NetAmount": Decimal("0"), "VATAmount": Decimal("0"),
        "AmountPaid": Decimal("0"), "UseCustomDeliveryAddress": False,
        "Lines": {"anyType": [xsd.AnyObject(line_type, line) for line in lines]},
    }
    created = service.InsertInvoice(Inv=invoice, **credentials)
    assert created.Status == "OK", created.StatusDetail
    number = created.InsertInvoiceResult
    assert number > 0

    methods = service.GetInvPayMethods(**credentials).GetInvPayMethodsResult.PaymentMethod
    accounts = service.GetBankAccounts(**credentials).GetBankAccountsResult.BankAccount
    paid = service.InsertInvoicePayment(InvoicePayment={
        "PayID": 0, "PayInvoice": number, "PayDate": now, "PayNote": "Odoo order S00031",
        "PayMethod": methods[0].MethodID, "PayAccount": accounts[0].AccountID, "PayAmount": Decimal("28.80"),
    }, **credentials)
    assert paid.Status == "OK", paid.StatusDetail

    read = service.GetInvoice(InvoiceNumber=number, **credentials).GetInvoiceResult
    assert read.CustomerReference == "S00031"
    assert read.NetAmount == Decimal("24.00")
    assert read.VATAmount == Decimal("4.80")
    assert read.AmountPaid == Decimal("28.80")
    assert [line.Description for line in read.Lines.anyType] == ["Hand-thrown mug"]
    payments = service.GetInvoicePayment(InvoiceNumber=number, **credentials).GetInvoicePaymentResult.Payment
    assert [payment.PayAmount for payment in payments] == [Decimal("28.80")]
    found = service.GetCustomer(CustomerCode="ODOO31", **credentials).GetCustomerResult
    assert found.CustomerID == customer_id

    # One of the two mugs comes back: a credit note of -12.00 net, -2.40 VAT.
    credit_lines = [{**lines[0], "Quantity": Decimal("1"), "Rate": Decimal("-12.00"), "VatAmount": Decimal("-2.40")}]
    credit_note = {**invoice, "Lines": {"anyType": [xsd.AnyObject(line_type, line) for line in credit_lines]}}
    credited = service.InsertInvoice(Inv=credit_note, **credentials)
    assert credited.Status == "OK", credited.StatusDetail
    credit_number = credited.InsertInvoiceResult
    credit_id = service.GetInvoice(InvoiceNumber=credit_number, **credentials).GetInvoiceResult.InvoiceDBID
    applied = service.applyCreditNoteToInvoice(InvoiceID=read.InvoiceDBID, CreditNoteID=credit_id, **credentials)
    assert (applied.Status, applied.applyCreditNoteToInvoiceResult) == ("OK", True)
    again = service.applyCreditNoteToInvoice(InvoiceID=read.InvoiceDBID, CreditNoteID=credit_id, **credentials)
    assert (again.Status, again.applyCreditNoteToInvoiceResult) == ("NO", False)

    by_id = service.GetInvoiceByID(InvoiceID=read.InvoiceDBID, **credentials).GetInvoiceByIDResult
    assert (by_id.InvoiceNumber, by_id.AmountPaid) == (number, Decimal("43.20"))
    dated = service.GetInvoicesByDateRange(StartDate=now, EndDate=now, **credentials).GetInvoicesByDateRangeResult
    assert [(entry.InvoiceNumber, entry.NetAmount) for entry in dated.Invoice] == [
        (number, Decimal("24.00")), (credit_number, Decimal("-12.00"))]
    page = service.GetInvoicePaymentsByDateRange(StartDate=now, EndDate=now, PageNumber=1, **credentials)
    assert [entry.PayAmount for entry in page.GetInvoicePaymentsByDateRangeResult.Payment] == [Decimal("28.80")]
    empty = service.GetInvoicePaymentsByDateRange(StartDate=now, EndDate=now, PageNumber=2, **credentials)
    assert (empty.Status, empty.GetInvoicePaymentsByDateRangeResult) == ("OK", None)
    today = datetime.datetime.now().replace(microsecond=0)  # the day the credit note was applied
    page = service.GetInvoicePaymentsByDateRange(StartDate=today, EndDate=today, PageNumber=1, **credentials)
    assert [entry.PayAmount for entry in page.GetInvoicePaymentsByDateRangeResult.Payment][-2:] == [
        Decimal("-14.40"), Decimal("14.40")]


def _definitions(wsdl_path):
    """Every definition of a WSDL that the project's may repeat, comparable regardless of formatting,
    namespace prefixes and documentation text (which KashFlow's 2026 WSDL has on some operations):
    {(kind, name): structure}."""
    def structure(element):
        attributes = tuple(sorted((name, value.split(":")[-1] if name in ("type", "element", "message", "binding")
                                   else value) for name, value in element.attrib.items()))
        return etree.QName(element).localname, attributes, tuple(
            structure(child) for child in element
            if isinstance(child.tag, str) and etree.QName(child).localname != "documentation")

    document = etree.parse(str(wsdl_path), etree.XMLParser(remove_blank_text=True, remove_comments=True))
    schema = document.find(f".//{{{XSD}}}schema[@targetNamespace='KashFlow']")
    definitions = {(etree.QName(child).localname, child.get("name")): structure(child)
                   for child in schema if isinstance(child.tag, str)}
    for path in ("wsdl:message", "wsdl:portType[@name='KashFlowAPISoap']/wsdl:operation",
                 "wsdl:binding[@name='KashFlowAPISoap']/wsdl:operation"):
        for child in document.getroot().findall(path, {"wsdl": WSDL}):
            definitions[(path, child.get("name"))] = structure(child)
    return definitions


def test_our_wsdl_is_a_subset_of_kashflows_live_wsdl(kashflow_wsdl):
    ours = _definitions(client_module.WSDL_PATH)
    live = _definitions(kashflow_wsdl(2026))
    assert {key for key, definition in ours.items() if live.get(key) != definition} == set()
    operations = {name for (kind, name) in ours if kind.startswith("wsdl:portType")}
    assert {"applyCreditNoteToInvoice", "GetInvoiceByID", "GetInvoicesByDateRange",
            "GetInvoicePaymentsByDateRange"} <= operations
