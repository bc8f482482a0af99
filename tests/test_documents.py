"""What the connector books into KashFlow for a paid order: customer, invoice lines, totals, payment.

Plain pytest, no Odoo and no network. Orders are built the way Odoo computes them (each line rounded to
the currency, the order's totals the sums of its lines), so a test that expects the totals to match
checks the documents against figures a bookkeeper would see on the Odoo order.
"""

import datetime
import functools
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from lxml import etree

from kashflow import documents
from kashflow.snapshot import (
    Address,
    CustomerSnapshot,
    LineSnapshot,
    Mapping,
    OrderSnapshot,
)

WSDL = Path(documents.__file__).resolve().parent / "wsdl" / "kashflow.wsdl"
XSD = {"s": "http://www.w3.org/2001/XMLSchema"}

MAPPING = Mapping(
    payment_method_id=3, bank_account_id=7, source_id=11, goods_nominal_id=4001, delivery_nominal_id=4002,
)
NOW = datetime.datetime(2025, 3, 14, 9, 30)
PAID = datetime.date(2025, 3, 14)
CENT = Decimal("0.01")
HOME = Address(street="1 High Street", city="London", zip="SW1A 1AA", country_code="GB",
               country_name="United Kingdom")


def money(value):
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)


def line(description="Widget", quantity="1", price_unit="10.00", *, discount="0", vat_rate="20",
         kind="product", subtotal=None):
    """An order line with Odoo's amounts: net after discount, VAT on it, each rounded to the penny."""
    quantity, price_unit, discount = Decimal(quantity), Decimal(price_unit), Decimal(discount)
    net = money(quantity * price_unit * (100 - discount) / 100) if subtotal is None else Decimal(subtotal)
    rate = None if vat_rate is None else Decimal(vat_rate)
    tax = Decimal("0.00") if rate is None else money(net * rate / 100)
    return LineSnapshot(kind=kind, description=description, quantity=quantity, price_unit=price_unit,
                        discount=discount, price_subtotal=net, price_tax=tax, price_total=net + tax,
                        vat_rate=rate)


def customer(**overrides):
    values = {"code": "ODOO42", "name": "Jane Smith", "email": "jane@example.com", "phone": "020 7946 0000",
              "invoice_address": HOME}
    return CustomerSnapshot(**{**values, **overrides})


def order(*lines, **overrides):
    """A paid order whose totals are the sums of its lines, as Odoo computes them."""
    values = {
        "name": "S00042", "customer": customer(), "lines": lines, "currency_code": "GBP",
        "home_currency_code": "GBP", "exchange_rate": Decimal(1), "date_paid": PAID,
        "amount_untaxed": sum((item.price_subtotal for item in lines), Decimal(0)),
        "amount_tax": sum((item.price_tax for item in lines), Decimal(0)),
        "amount_total": sum((item.price_total for item in lines), Decimal(0)),
        "include_vat": True,
    }
    values["amount_paid"] = values["amount_total"]
    return OrderSnapshot(**{**values, **overrides})


def invoice(snapshot, **kwargs):
    return documents.invoice_document(snapshot, **{"customer_id": 1001, "mapping": MAPPING, **kwargs})


def invoice_totals(document):
    """Net, VAT and gross as KashFlow computes them from the lines (each line's net to the penny)."""
    net = sum((money(item["Rate"] * item["Quantity"]) for item in document["Lines"]), Decimal(0))
    vat = sum((item["VatAmount"] for item in document["Lines"]), Decimal(0))
    return net, vat, net + vat


# --- Invoice lines and VAT -------------------------------------------------------------------------------

def test_vat_registered_invoice_carries_each_lines_rate_and_vat_and_matches_the_order():
    snapshot = order(
        line("Kettle", "2", "24.99"),
        line("Children's car seat", "1", "80.00", vat_rate="5"),
        line("Book", "3", "7.99", vat_rate="0"),
        line("Postage stamps", "1", "12.40", vat_rate=None),
    )

    lines = invoice(snapshot)["Lines"]

    assert [item["VatRate"] for item in lines] == [20, 5, 0, -1]
    assert [item["VatAmount"] for item in lines] == [Decimal("10.00"), Decimal("4.00"), 0, 0]
    assert [(item["Quantity"], item["Rate"]) for item in lines] == [
        (2, Decimal("24.99")), (1, Decimal("80.00")), (3, Decimal("7.99")), (1, Decimal("12.40"))]
    assert invoice_totals(invoice(snapshot)) == (Decimal("166.35"), Decimal("14.00"), Decimal("180.35"))
    assert invoice_totals(invoice(snapshot)) == (
        snapshot.amount_untaxed, snapshot.amount_tax, snapshot.amount_total)


def test_seller_without_vat_invoices_gross_prices_without_vat_totalling_what_was_paid():
    snapshot = order(line("Kettle", "2", "24.99"), line("Book", "1", "7.99", vat_rate="0"), include_vat=False)

    document = invoice(snapshot)

    assert [(item["VatRate"], item["VatAmount"]) for item in document["Lines"]] == [(0, 0), (0, 0)]
    assert [item["Rate"] for item in document["Lines"]] == [Decimal("29.99"), Decimal("7.99")]
    assert invoice_totals(document) == (Decimal("67.97"), 0, Decimal("67.97"))
    assert invoice_totals(document)[2] == snapshot.amount_paid


def test_delivery_goes_to_the_delivery_nominal_and_goods_and_discounts_to_the_goods_nominal():
    snapshot = order(
        line("Kettle", "1", "24.99"),
        line("Standard delivery", "1", "4.99", kind="delivery"),
        line("Spring promotion", "1", "-5.00", kind="discount"),
    )

    lines = invoice(snapshot)["Lines"]

    assert [item["ChargeType"] for item in lines] == [4001, 4002, 4001]
    assert [item["Sort"] for item in lines] == [1, 2, 3]


def test_discounted_line_is_invoiced_at_the_price_after_discount_and_says_so():
    (item,) = invoice(order(line("Kettle", "4", "25.00", discount="10")))["Lines"]

    assert (item["Quantity"], item["Rate"]) == (4, Decimal("22.50"))
    assert item["VatAmount"] == Decimal("18.00")
    assert item["Description"] == "Kettle (10% discount)"


def test_promotion_line_has_a_positive_quantity_a_negative_rate_and_negative_vat():
    snapshot = order(line("Kettle", "2", "50.00"), line("10% off your order", "1", "-10.00", kind="discount"))

    promotion = invoice(snapshot)["Lines"][1]

    assert (promotion["Quantity"], promotion["Rate"], promotion["VatAmount"]) == (
        1, Decimal("-10.00"), Decimal("-2.00"))
    assert invoice_totals(invoice(snapshot)) == (Decimal("90.00"), Decimal("18.00"), Decimal("108.00"))


def test_returned_item_with_negative_quantity_keeps_a_positive_quantity_and_a_negative_rate():
    (item,) = invoice(order(line("Returned kettle", "-2", "24.99")))["Lines"]

    assert (item["Quantity"], item["Rate"]) == (2, Decimal("-24.99"))


def test_unit_price_kashflow_cannot_hold_to_two_decimals_becomes_one_unit_at_the_exact_line_total():
    snapshot = order(line("Pens", "3", "3.3333", subtotal="10.00"))

    (item,) = invoice(snapshot)["Lines"]

    assert (item["Quantity"], item["Rate"]) == (1, Decimal("10.00"))
    assert item["Description"] == "Pens (3 × 3.3333)"
    assert invoice_totals(invoice(snapshot)) == (Decimal("10.00"), Decimal("2.00"), Decimal("12.00"))


def test_unit_price_that_fits_two_decimals_keeps_the_real_quantity():
    (item,) = invoice(order(line("Pens", "3", "3.33")))["Lines"]

    assert (item["Quantity"], item["Rate"], item["Description"]) == (3, Decimal("3.33"), "Pens")


def test_fractional_quantity_whose_net_is_not_exact_at_two_decimals_becomes_one_unit():
    (item,) = invoice(order(line("Fabric (metres)", "2.5", "3.99")))["Lines"]

    assert (item["Quantity"], item["Rate"]) == (1, Decimal("9.98"))
    assert item["Description"] == "Fabric (metres) (2.5 × 3.992)"


def test_discounted_line_with_an_uneven_unit_price_names_both_the_discount_and_the_unit_price():
    (item,) = invoice(order(line("Mug", "7", "3.33", discount="10")))["Lines"]

    assert (item["Quantity"], item["Rate"]) == (1, Decimal("20.98"))
    assert item["Description"] == "Mug (10% discount) (7 × 2.9971)"


def test_free_item_is_invoiced_at_zero():
    snapshot = order(line("Kettle", "1", "24.99"), line("Free gift", "1", "0.00"))

    gift = invoice(snapshot)["Lines"][1]

    assert (gift["Quantity"], gift["Rate"], gift["VatAmount"], gift["Description"]) == (1, 0, 0, "Free gift")


def test_line_with_neither_quantity_nor_amount_is_left_off_and_the_rest_are_numbered_from_one():
    snapshot = order(line("Cancelled item", "0", "9.99"), line("Kettle", "1", "24.99"))

    lines = invoice(snapshot)["Lines"]

    assert [(item["Description"], item["Sort"]) for item in lines] == [("Kettle", 1)]


def test_line_without_quantity_but_with_an_amount_is_one_unit_at_that_amount():
    (item,) = invoice(order(line("Handling fee", "0", "0", subtotal="2.50")))["Lines"]

    assert (item["Quantity"], item["Rate"], item["VatAmount"]) == (1, Decimal("2.50"), Decimal("0.50"))


def test_multiline_description_is_sent_on_one_line():
    (item,) = invoice(order(line("[KET-01] Kettle\n  Colour: red ", "1", "24.99")))["Lines"]

    assert item["Description"] == "[KET-01] Kettle Colour: red"


def test_overlong_description_is_shortened_but_keeps_the_discount_and_unit_price():
    (item,) = invoice(order(line("Very long name " * 60, "7", "3.33", discount="10")))["Lines"]

    assert len(item["Description"]) <= documents.MAX_DESCRIPTION
    assert item["Description"].startswith("Very long name Very long name")
    assert item["Description"].endswith("… (10% discount) (7 × 2.9971)")


# --- Currency --------------------------------------------------------------------------------------------

def test_foreign_currency_invoice_states_its_values_are_in_that_currency_at_the_orders_rate():
    snapshot = order(line("Kettle", "2", "29.50"), line("Delivery", "1", "6.00", kind="delivery"),
                     currency_code="EUR", exchange_rate=Decimal("1.18450000"))

    document = invoice(snapshot)

    assert (document["CurrencyCode"], document["ExchangeRate"]) == ("EUR", Decimal("1.1845"))
    assert [item["ValuesInCurrency"] for item in document["Lines"]] == [1, 1]
    assert invoice_totals(document) == (Decimal("65.00"), Decimal("13.00"), Decimal("78.00"))


def test_home_currency_invoice_has_rate_one_and_no_currency_flag_on_its_lines():
    document = invoice(order(line(), exchange_rate=Decimal("1.000000")))

    assert (document["CurrencyCode"], document["ExchangeRate"]) == ("GBP", 1)
    assert "ValuesInCurrency" not in document["Lines"][0]


@pytest.mark.parametrize("code", ["", "EURO", "E1R", "£££"])
def test_order_in_an_unknown_currency_code_is_refused(code):
    with pytest.raises(documents.DocumentError, match=r"S00042.*three-letter currency code"):
        invoice(order(line(), currency_code=code))


def test_foreign_currency_order_without_an_exchange_rate_is_refused():
    with pytest.raises(documents.DocumentError, match=r"S00042 is in USD but has no exchange rate to GBP"):
        invoice(order(line(), currency_code="USD", exchange_rate=Decimal(0)))


def test_currency_with_three_decimals_is_refused_because_kashflow_keeps_two():
    with pytest.raises(documents.DocumentError, match=r"S00042 is in KWD, which has 3 decimal places"):
        invoice(order(line(), currency_code="KWD", exchange_rate=Decimal("0.38"), currency_decimals=3))


# --- Totals check and refusals ---------------------------------------------------------------------------

def test_order_whose_totals_disagree_with_its_lines_is_refused_showing_both_sets_of_totals():
    snapshot = order(line("Kettle", "1", "100.00"), amount_untaxed=Decimal("100.00"),
                     amount_tax=Decimal("20.01"), amount_total=Decimal("120.01"))

    with pytest.raises(documents.TotalsMismatch) as caught:
        invoice(snapshot)

    message = str(caught.value)
    assert "S00042" in message
    assert "Order:   net GBP 100.00, VAT GBP 20.01, total GBP 120.01" in message
    assert "Invoice: net GBP 100.00, VAT GBP 20.00, total GBP 120.00" in message
    assert caught.value.invoice_totals.gross == Decimal("120.00")
    assert isinstance(caught.value, documents.DocumentError)


def test_seller_without_vat_is_refused_when_the_lines_do_not_reach_the_amount_paid():
    snapshot = order(line("Kettle", "1", "100.00"), include_vat=False, amount_total=Decimal("130.00"))

    with pytest.raises(documents.TotalsMismatch, match=r"Invoice: net GBP 120\.00, VAT GBP 0\.00, total GBP"
                                                         r" 120\.00"):
        invoice(snapshot)


@pytest.mark.parametrize("vat_rate", [None, Decimal(0)])
def test_line_carrying_vat_without_a_percentage_rate_is_refused(vat_rate):
    levy = LineSnapshot(kind="product", description="Eco levy", quantity=Decimal(1), price_unit=Decimal(1),
                        discount=Decimal(0), price_subtotal=Decimal("1.00"), price_tax=Decimal("0.10"),
                        price_total=Decimal("1.10"), vat_rate=vat_rate)

    with pytest.raises(documents.DocumentError, match=r"S00042.*'Eco levy' carries VAT of 0\.10"):
        invoice(order(levy))


def test_order_without_lines_is_refused():
    with pytest.raises(documents.DocumentError, match=r"Order S00042 has no lines"):
        invoice(order())


def test_order_of_a_customer_without_a_name_is_refused():
    with pytest.raises(documents.DocumentError, match=r"customer of order S00042 has no name"):
        invoice(order(line(), customer=customer(name="  ")))


# --- Invoice header --------------------------------------------------------------------------------------

def test_order_can_be_checked_before_its_customer_exists_in_kashflow():
    assert invoice(order(line()), customer_id=0)["CustomerID"] == 0


def test_invoice_header_names_the_order_and_leaves_numbering_and_paid_totals_to_kashflow():
    document = invoice(order(line()))

    assert document["CustomerReference"] == "S00042"
    assert (document["CustomerID"], document["Customer"]) == (1001, "Jane Smith")
    assert (document["InvoiceDBID"], document["InvoiceNumber"], document["Paid"]) == (0, 0, 0)
    assert (document["NetAmount"], document["VATAmount"], document["AmountPaid"]) == (0, 0, 0)
    assert invoice(order(line()), invoice_number=315, invoice_id=9001)["InvoiceNumber"] == 315


def test_invoice_and_due_dates_are_midday_datetimes_of_the_paid_day():
    document = invoice(order(line()))

    for field in ("InvoiceDate", "DueDate"):
        assert type(document[field]) is datetime.datetime
        assert document[field] == datetime.datetime(2025, 3, 14, 12, 0)
        assert document[field].tzinfo is None


def test_invoice_uses_a_delivery_address_that_differs_from_the_invoice_address():
    elsewhere = Address(street="Unit 4, Dock Road", city="Athens", zip="104 31", country_code="GR",
                        country_name="Greece")

    document = invoice(order(line(), customer=customer(delivery_address=elsewhere)))

    assert document["UseCustomDeliveryAddress"] is True
    assert document["DeliveryAddress"] == {
        "Name": "Jane Smith", "Line1": "Unit 4, Dock Road", "Line3": "Athens", "PostCode": "104 31",
        "CountryName": "Greece", "CountryCode": "EL"}


def test_invoice_has_no_custom_delivery_address_when_goods_go_to_the_invoice_address():
    for delivery in (None, HOME, Address()):
        document = invoice(order(line(), customer=customer(delivery_address=delivery)))

        assert document["UseCustomDeliveryAddress"] is False
        assert "DeliveryAddress" not in document


# --- Customer --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("country", "vat", "ec", "outside_ec"), [
    ("FR", "FR40303265045", 1, 0),
    ("US", "US123456789", 0, 1),
    ("GB", "GB123456789", 0, 0),
    ("IM", "GB003123456", 0, 0),
    ("FR", "", 0, 0),
    ("US", "", 0, 0),
])
def test_customer_vat_treatment_follows_its_country_and_vat_number(country, vat, ec, outside_ec):
    address = Address(street="1 Main Street", city="Somewhere", country_code=country)

    document = documents.customer_document(customer(vat=vat, invoice_address=address), source_id=11, now=NOW)

    assert (document["EC"], document["OutsideEC"]) == (ec, outside_ec)


def test_greek_customer_has_kashflow_country_code_el_and_is_an_ec_customer():
    address = Address(street="Ermou 10", city="Athens", zip="105 63", country_code="GR",
                      country_name="Greece")

    document = documents.customer_document(customer(vat="EL094014201", invoice_address=address),
                                           source_id=11, now=NOW)

    assert (document["CountryCode"], document["EC"], document["OutsideEC"]) == ("EL", 1, 0)


def test_customer_carries_contact_details_address_and_channel_source():
    partner = customer(name="  Acme Trading Ltd ", contact_name="Jane Smith", is_company=True,
                       mobile="07700 900123", vat=" GB123456789 ",
                       invoice_address=Address(street="1 High Street", street2="", city="London",
                                               state="Greater London", zip="SW1A 1AA", country_code="gb",
                                               country_name="United Kingdom"))

    document = documents.customer_document(partner, source_id=11, customer_id=5005, currency_id=2, now=NOW)

    assert {key: document[key] for key in (
        "CustomerID", "Code", "Name", "Contact", "Email", "Telephone", "Mobile", "Address1", "Address3",
        "Address4", "Postcode", "CountryName", "CountryCode", "VATNumber", "Source", "CurrencyID",
    )} == {
        "CustomerID": 5005, "Code": "ODOO42", "Name": "Acme Trading Ltd", "Contact": "Jane Smith",
        "Email": "jane@example.com", "Telephone": "020 7946 0000", "Mobile": "07700 900123",
        "Address1": "1 High Street", "Address3": "London", "Address4": "Greater London",
        "Postcode": "SW1A 1AA", "CountryName": "United Kingdom", "CountryCode": "GB",
        "VATNumber": "GB123456789", "Source": 11, "CurrencyID": 2,
    }
    assert "Address2" not in document
    assert (document["Discount"], document["ShowDiscount"], document["PaymentTerms"]) == (0, False, 0)
    assert [document[f"CheckBox{number}"] for number in range(1, 21)] == [0] * 20
    assert document["Created"] == document["Updated"] == NOW


def test_private_customer_is_their_own_contact_and_new_customers_have_id_zero():
    document = documents.customer_document(customer(), source_id=11, now=NOW)

    assert (document["CustomerID"], document["Name"], document["Contact"]) == (0, "Jane Smith", "Jane Smith")
    assert "VATNumber" not in document


def test_customer_delivery_address_is_recorded_only_when_it_differs_from_the_invoice_address():
    elsewhere = Address(street="Warehouse 2", city="Leeds", zip="LS1 4AP", country_code="GB",
                        country_name="United Kingdom")

    different = documents.customer_document(customer(delivery_address=elsewhere), source_id=11, now=NOW)
    same = documents.customer_document(customer(delivery_address=HOME), source_id=11, now=NOW)

    assert {key: value for key, value in different.items() if key.startswith(("CustHas", "Delivery"))} == {
        "CustHasDeliveryAddress": 1, "DeliveryAddress1": "Warehouse 2", "DeliveryAddress3": "Leeds",
        "DeliveryPostcode": "LS1 4AP", "DeliveryCountryName": "United Kingdom", "DeliveryCountryCode": "GB"}
    assert {key: value for key, value in same.items() if key.startswith(("CustHas", "Delivery"))} == {
        "CustHasDeliveryAddress": 0}


def test_customer_timestamps_must_not_carry_a_time_zone():
    with pytest.raises(ValueError, match="naive"):
        documents.customer_document(customer(), source_id=11, now=NOW.replace(tzinfo=datetime.UTC))


def test_customer_without_a_name_is_refused():
    with pytest.raises(documents.DocumentError, match=r"customer with KashFlow code ODOO42 has no name"):
        documents.customer_document(customer(name=""), source_id=11, now=NOW)


def test_customer_code_with_special_characters_is_refused():
    with pytest.raises(documents.DocumentError, match=r"'jane@example\.com' of Jane Smith is not valid"):
        documents.customer_document(customer(code="jane@example.com"), source_id=11, now=NOW)


@pytest.mark.parametrize("partner_id", [1, 42, 10**15])
def test_customer_code_is_short_uppercase_letters_and_digits(partner_id):
    code = documents.customer_code(partner_id)

    assert re.fullmatch(r"[A-Z0-9]{1,20}", code)
    assert code == f"ODOO{partner_id}"


def test_customer_codes_of_different_partners_differ():
    assert documents.customer_code(42) == "ODOO42"
    assert documents.customer_code(42) != documents.customer_code(420)


@pytest.mark.parametrize("partner_id", [0, -5, True, "42", 10**16])
def test_customer_code_needs_a_real_partner_id(partner_id):
    with pytest.raises(ValueError, match="partner id"):
        documents.customer_code(partner_id)


# --- Payment ---------------------------------------------------------------------------------------------

def test_payment_records_the_amount_paid_on_the_invoice_with_the_channels_method_and_bank_account():
    snapshot = order(line("Kettle", "2", "24.99"), amount_paid=Decimal("59.976"))

    document = documents.payment_document(snapshot, invoice_number=315, mapping=MAPPING)

    assert document == {
        "PayID": 0, "PayInvoice": 315, "PayDate": datetime.datetime(2025, 3, 14, 12, 0),
        "PayNote": "Odoo order S00042", "PayMethod": 3, "PayAccount": 7, "PayAmount": Decimal("59.98"),
    }
    assert type(document["PayDate"]) is datetime.datetime
    assert str(document["PayAmount"]) == "59.98"


@pytest.mark.parametrize("paid", ["0", "-1.00"])
def test_payment_of_nothing_is_refused(paid):
    with pytest.raises(documents.DocumentError, match=r"Order S00042 shows no amount paid"):
        documents.payment_document(order(line(), amount_paid=Decimal(paid)), invoice_number=315,
                                   mapping=MAPPING)


def test_payment_is_never_recorded_against_invoice_number_zero():
    with pytest.raises(ValueError, match="invoice number"):
        documents.payment_document(order(line()), invoice_number=0, mapping=MAPPING)


# --- Fingerprint -----------------------------------------------------------------------------------------

def test_fingerprint_is_the_same_for_the_same_order_whatever_the_decimal_scale():
    plain = order(line("Kettle", "2", "24.99"))
    rescaled = order(
        LineSnapshot(kind="product", description="Kettle", quantity=Decimal("2.000"),
                     price_unit=Decimal("24.9900"), discount=Decimal("0.0"), price_subtotal=Decimal("49.980"),
                     price_tax=Decimal("10.0"), price_total=Decimal("59.98"), vat_rate=Decimal("20.00")),
        exchange_rate=Decimal("1.000000"),
    )

    assert documents.fingerprint(plain) == documents.fingerprint(rescaled)
    assert re.fullmatch(r"[0-9a-f]{64}", documents.fingerprint(plain))


@pytest.mark.parametrize("change", [
    {"customer": customer(invoice_address=Address(street="2 High Street", city="London", zip="SW1A 1AA",
                                                  country_code="GB", country_name="United Kingdom"))},
    {"customer": customer(delivery_address=Address(street="Warehouse 2", city="Leeds"))},
    {"customer": customer(vat="GB123456789")},
    {"lines": (line("Kettle", "3", "24.99"),)},
    {"lines": (line("Kettle (red)", "2", "24.99"),)},
    {"lines": (line("Kettle", "2", "24.99", vat_rate="5"),)},
    {"currency_code": "EUR"},
    {"date_paid": datetime.date(2025, 3, 15)},
    {"include_vat": False},
])
def test_fingerprint_changes_when_anything_booked_into_kashflow_changes(change):
    original = order(line("Kettle", "2", "24.99"))
    lines = change.get("lines", original.lines)
    changed = order(*lines, **{key: value for key, value in change.items() if key != "lines"})

    assert documents.fingerprint(changed) != documents.fingerprint(original)


# --- Conformance with KashFlow's WSDL --------------------------------------------------------------------

@functools.cache
def _wsdl_type(name):
    """``{element name: (xsd type, required, nillable)}`` of the WSDL's complex type ``name``."""
    (complex_type,) = etree.parse(str(WSDL)).xpath("//s:complexType[@name=$name]", namespaces=XSD, name=name)
    return {
        element.get("name"): (element.get("type"), element.get("minOccurs") == "1",
                              element.get("nillable") == "true")
        for element in complex_type.xpath("s:sequence/s:element", namespaces=XSD)
    }


_PYTHON_TYPES = {
    "s:int": int, "s:integer": int, "s:decimal": Decimal, "s:boolean": bool, "s:string": str,
    "s:dateTime": datetime.datetime, "tns:ArrayOfAnyType": list, "tns:DeliveryAddress": dict,
}


def _assert_conforms(document, type_name):
    """Every required element is there, no key is unknown to the WSDL, every value has the WSDL's type."""
    elements = _wsdl_type(type_name)
    required = {name for name, (_, is_required, _) in elements.items() if is_required}
    assert required <= document.keys(), f"{type_name} lacks {sorted(required - document.keys())}"
    assert document.keys() <= elements.keys(), f"{type_name} has unknown {sorted(document.keys() - elements)}"
    for name, value in document.items():
        xsd_type, _, nillable = elements[name]
        if value is None:
            assert nillable, f"{type_name}.{name} is None but not nillable"
            continue
        expected = _PYTHON_TYPES[xsd_type]
        assert isinstance(value, expected), f"{type_name}.{name} is {type(value).__name__}, not {xsd_type}"
        assert expected is bool or not isinstance(value, bool), f"{type_name}.{name} is a bool"
        if expected is datetime.datetime:
            assert value.tzinfo is None, f"{type_name}.{name} has a time zone"


def _full_order():
    elsewhere = Address(street="Warehouse 2", city="Paris", zip="75001", country_code="FR",
                        country_name="France")
    return order(
        line("Kettle", "4", "25.00", discount="10"), line("Pens", "3", "3.3333", subtotal="10.00"),
        line("Stamps", "1", "1.00", vat_rate=None), line("Delivery", "1", "4.99", kind="delivery"),
        line("Promotion", "1", "-5.00", kind="discount"),
        customer=customer(vat="FR40303265045", delivery_address=elsewhere),
        currency_code="EUR", exchange_rate=Decimal("1.18"),
    )


def test_customer_has_every_element_kashflow_requires_with_its_type():
    bare = customer(name="Bo", email="", phone="", invoice_address=Address())

    for partner in (_full_order().customer, bare):
        _assert_conforms(documents.customer_document(partner, source_id=11, now=NOW), "Customer")


def test_invoice_and_its_lines_have_every_element_kashflow_requires_with_its_type():
    for snapshot in (_full_order(), order(line())):
        document = invoice(snapshot)
        _assert_conforms(document, "Invoice")
        for item in document["Lines"]:
            _assert_conforms(item, "InvoiceLine")
        if "DeliveryAddress" in document:
            _assert_conforms(document["DeliveryAddress"], "DeliveryAddress")


def test_payment_has_every_element_kashflow_requires_with_its_type():
    payment = documents.payment_document(_full_order(), invoice_number=315, mapping=MAPPING)

    _assert_conforms(payment, "Payment")
