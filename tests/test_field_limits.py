"""KashFlow's field lengths, as the project chose them: the sandbox enforces the same table the connector keeps to.

KashFlow publishes no field lengths. The connector fits what it sends to ``documents.FIELD_LIMITS`` (free text
cut with "…", other values refused); the sandbox refuses anything longer than ``kashflow_sandbox.limits``. The
two tables are written separately (the sandbox imports nothing of the addon) and must agree, else the sandbox
would refuse what the connector sends or let through what KashFlow might refuse.
"""

import datetime
import functools
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from kashflow import documents
from kashflow.booking import CustomerState, sync_order
from kashflow.client import KashFlowClient
from kashflow.exceptions import RejectedError
from kashflow.snapshot import (
    Address,
    CustomerSnapshot,
    InvoiceSnapshot,
    LineSnapshot,
    Mapping,
    OrderSnapshot,
    PaymentSnapshot,
)
from kashflow_sandbox import limits

WSDL = Path(documents.__file__).resolve().parent / "wsdl" / "kashflow.wsdl"
NOON = datetime.datetime(2026, 11, 20, 12, 0)
PAID = datetime.date(2026, 11, 20)
# Text that is hard for some part of the way: XML's own characters, accents, CJK, right-to-left scripts, emoji
# (two UTF-16 code units each, one of them joined from three).
EXOTIC = "Zoë & Søn <Ltd> \"quoted\" 'single' 株式会社テスト شركة الاختبار חברת בדיקה 🦊 👩‍👩‍👧"


def test_the_connector_and_the_sandbox_keep_to_one_table_of_field_lengths():
    assert documents.FIELD_LIMITS == limits.FIELD_LIMITS


@pytest.mark.parametrize("text", ["", "Plain", "Zoë", "株式会社", "🦊", "👩‍👩‍👧", EXOTIC, "e\u0301"])
def test_the_connector_and_the_sandbox_count_lengths_alike_in_utf16_code_units(text):
    assert documents.text_length(text) == limits.text_length(text) == len(text.encode("utf-16-le")) // 2
    assert documents.text_length("🦊") == 2


@functools.cache
def _wsdl_elements(type_name):
    (complex_type,) = etree.parse(str(WSDL)).xpath(
        "//s:complexType[@name=$name]", namespaces={"s": "http://www.w3.org/2001/XMLSchema"}, name=type_name)
    return {element.get("name"): element.get("type") for element in complex_type.iter(
        "{http://www.w3.org/2001/XMLSchema}element")}


@pytest.mark.parametrize("type_name", sorted(documents.FIELD_LIMITS))
def test_every_limited_field_is_a_text_element_of_its_kashflow_type(type_name):
    elements = _wsdl_elements(type_name)
    for name in documents.FIELD_LIMITS[type_name]:
        assert elements.get(name) == "s:string", f"{type_name}.{name}"
    assert {name for table in documents.FIELD_LIMITS.values() for name in table} >= documents.TEXT_FIELDS


# --- The sandbox refuses longer text, naming the field and the limit --------------------------------------

@pytest.fixture
def kf(sandbox):
    return KashFlowClient(sandbox.username, sandbox.password, url=sandbox.service_url)


def customer(**fields):
    return {"CustomerID": 0, "Code": "ODOO7", "Name": "Hannah Fletcher", "EC": 0, "OutsideEC": 0, "Source": 0,
            "Discount": Decimal(0), "ShowDiscount": False, "PaymentTerms": 0, "Created": NOON, "Updated": NOON,
            "CurrencyID": 0, **{f"CheckBox{number}": 0 for number in range(1, 21)}, **fields}


def invoice(customer_id, description="Oak chopping board", **fields):
    line = {"Quantity": Decimal(1), "Description": description, "Rate": Decimal("25.00"), "ChargeType": 0,
            "VatRate": Decimal(20), "VatAmount": Decimal("5.00"), "ProductID": 0, "Sort": 1, "ProjID": 0, "LineID": 0}
    return {"InvoiceDBID": 0, "InvoiceNumber": 0, "InvoiceDate": NOON, "DueDate": NOON, "CustomerID": customer_id,
            "Paid": 0, "CustomerReference": "S00042", "SuppressTotal": 0, "ProjectID": 0, "CurrencyCode": "GBP",
            "ExchangeRate": Decimal(1), "NetAmount": Decimal(0), "VATAmount": Decimal(0), "AmountPaid": Decimal(0),
            "UseCustomDeliveryAddress": False, "CISRCNetAmount": None, "CISRCVatAmount": None,
            "IsCISReverseCharge": None, "Lines": [line], **fields}


def refused(call):
    with pytest.raises(RejectedError) as caught:
        call()
    return caught.value.detail


def test_sandbox_takes_a_customer_name_of_exactly_the_limit_counting_emoji_as_two(kf):
    kf.insert_customer(customer(Name="🦊" * 50))

    assert kf.get_customer_by_code("ODOO7")["Name"] == "🦊" * 50
    assert refused(lambda: kf.insert_customer(customer(Code="ODOO8", Name="🦊" * 50 + "x"))) == (
        "Customer Name is too long: 101 characters, at most 100 allowed")


@pytest.mark.parametrize(("field", "limit"), sorted(limits.FIELD_LIMITS["Customer"].items()))
def test_sandbox_refuses_every_customer_field_longer_than_its_limit(kf, field, limit):
    value = "A1" * limit if field != "Code" else "A" * (limit + 1)  # a code stays letters and digits
    value = value[: limit + 1]

    assert refused(lambda: kf.insert_customer(customer(**{field: value}))) == (
        f"Customer {field} is too long: {limit + 1} characters, at most {limit} allowed")


def test_sandbox_refuses_a_customer_update_that_is_too_long(kf):
    customer_id = kf.insert_customer(customer())
    current = kf.get_customer_by_id(customer_id)

    assert refused(lambda: kf.update_customer({**current, "Email": "a" * 250 + "@example.com"})) == (
        "Customer Email is too long: 262 characters, at most 255 allowed")
    assert kf.get_customer_by_id(customer_id)["Name"] == "Hannah Fletcher"


def test_sandbox_refuses_invoice_header_delivery_address_and_line_text_that_is_too_long(kf, sandbox):
    customer_id = kf.insert_customer(customer())
    address = {"Name": "Hannah Fletcher", "Line1": "12 Mill Lane"}

    assert refused(lambda: kf.insert_invoice(invoice(customer_id, CustomerReference="S" * 101))) == (
        "Invoice CustomerReference is too long: 101 characters, at most 100 allowed")
    assert refused(lambda: kf.insert_invoice(invoice(customer_id, description="x" * 501))) == (
        "Line 1 Description is too long: 501 characters, at most 500 allowed")
    assert refused(lambda: kf.insert_invoice(invoice(
        customer_id, UseCustomDeliveryAddress=True, DeliveryAddress={**address, "PostCode": "LS1 4AB" * 3}))) == (
        "Invoice DeliveryAddress PostCode is too long: 21 characters, at most 20 allowed")
    assert sandbox.state()["invoices"] == []
    number = kf.insert_invoice(invoice(customer_id, description="x" * 500, CustomerReference="S" * 100))
    assert refused(lambda: kf.update_invoice(invoice(customer_id, InvoiceNumber=number, description="y" * 501))) == (
        "Line 1 Description is too long: 501 characters, at most 500 allowed")
    assert refused(lambda: kf.insert_payment({
        "PayID": 0, "PayInvoice": number, "PayDate": NOON, "PayNote": "n" * 256, "PayMethod": 1, "PayAccount": 101,
        "PayAmount": Decimal("30.00")})) == "Payment PayNote is too long: 256 characters, at most 255 allowed"


# --- What the connector sends fits: exotic and far too long text goes through, exactly as fitted ------------

def test_an_order_with_text_far_longer_than_kashflow_takes_goes_through_fitted_and_exotic_text_intact(kf, sandbox):
    nominals = {nominal["Code"]: nominal["id"] for nominal in kf.nominal_codes()}
    mapping = Mapping(kf.payment_methods()[0]["MethodID"], kf.bank_accounts()[0]["AccountID"],
                      kf.customer_sources()[0]["ID"], nominals[4000], nominals[4900])
    long_street = "Unit 7, The Old Granary Business Park, " * 5
    address = Address(street=long_street, street2=EXOTIC, city="Llanfairpwllgwyngyll" * 6, zip="LL61 5UJ",
                      country_code="GB", country_name="United Kingdom")
    elsewhere = Address(street=EXOTIC * 2, city="Leeds", zip="LS1 4AB", country_code="GB",
                        country_name="United Kingdom")
    buyer = CustomerSnapshot(code="ODOO7", name=EXOTIC * 3, contact_name="🦊" * 80, email="zoe@example.com",
                             invoice_address=address, delivery_address=elsewhere)
    lines = (LineSnapshot("product", EXOTIC * 10, Decimal(2), Decimal("12.50"), Decimal(0), Decimal("25.00"),
                          Decimal("5.00"), Decimal(20)),)
    document = InvoiceSnapshot(key="order", kind="invoice", reference="S00042", date=PAID, lines=lines,
                               currency_code="GBP", exchange_rate=Decimal(1), amount_net=Decimal("25.00"),
                               amount_vat=Decimal("5.00"), amount_total=Decimal("30.00"), delivery_address=elsewhere)
    order = OrderSnapshot(name="S00042", customer=buyer, home_currency_code="GBP", include_vat=True,
                          documents=(document,), payments=(PaymentSnapshot("payment:1", "order", Decimal("30.00"),
                                                                           PAID, "PBNK1/2026/00001"),))

    sync_order(kf, order, mapping, CustomerState(), {})

    state = sandbox.state()
    [saved] = state["customers"]
    assert saved["Name"] == documents.fit_text(EXOTIC * 3, 100)
    assert saved["Name"].startswith(EXOTIC) and saved["Name"].endswith("…")
    assert documents.text_length(saved["Name"]) <= 100
    assert saved["Contact"] == "🦊" * 49 + "…", "an emoji is never cut in half"
    assert saved["Address1"] == documents.fit_text(long_street.strip(), 100)
    assert saved["Address2"] == EXOTIC, "what fits goes as it is: XML's own characters, CJK, RTL and emoji"
    assert saved["Address3"] == "Llanfairpwllgwyngyll" * 4 + "Llanfairpwllgwyngyl…"
    assert saved["DeliveryAddress1"] == documents.fit_text(EXOTIC * 2, 100)
    [booked] = state["invoices"]
    assert booked["Lines"][0]["Description"] == documents.fit_text(EXOTIC * 10, 500)
    assert booked["DeliveryAddress"]["Name"] == saved["Name"]
    assert booked["DeliveryAddress"]["Line1"] == saved["DeliveryAddress1"]
    assert (booked["NetAmount"], booked["VATAmount"], booked["Paid"]) == ("25.00", "5.00", 1)


def test_an_order_that_cannot_be_sent_whole_is_refused_before_any_call(kf, sandbox):
    # A payment note too long to send is found before the customer or the invoice goes: nothing is half-sent.
    lines = (LineSnapshot("product", "Kettle", Decimal(1), Decimal("25.00"), Decimal(0), Decimal("25.00"),
                          Decimal("5.00"), Decimal(20)),)
    document = InvoiceSnapshot(key="order", kind="invoice", reference="S00042", date=PAID, lines=lines,
                               currency_code="GBP", exchange_rate=Decimal(1), amount_net=Decimal("25.00"),
                               amount_vat=Decimal("5.00"), amount_total=Decimal("30.00"))
    order = OrderSnapshot(name="S00042", customer=CustomerSnapshot(code="ODOO7", name="Hannah Fletcher"),
                          home_currency_code="GBP", include_vat=True, documents=(document,),
                          payments=(PaymentSnapshot("payment:1", "order", Decimal("30.00"), PAID, "TX-" + "9" * 240),))
    mark = sandbox.last_call()

    with pytest.raises(documents.DocumentError, match="KashFlow takes at most 255"):
        sync_order(kf, order, Mapping(1, 101, 1, 3201, 3203), CustomerState(), {})

    assert sandbox.calls(since=mark) == []
