"""What the connector books into KashFlow for a paid order: customer, invoices, credit notes, payments.

Plain pytest, no Odoo and no network. Documents are built the way Odoo computes them (each line rounded to
the currency, the document's totals the sums of its lines), so a test that expects the totals to match
checks the KashFlow documents against figures a bookkeeper would see in Odoo.
"""

import dataclasses
import datetime
import functools
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from lxml import etree

from kashflow import documents
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

WSDL = Path(documents.__file__).resolve().parent / "wsdl" / "kashflow.wsdl"
XSD = {"s": "http://www.w3.org/2001/XMLSchema"}

MAPPING = Mapping(
    payment_method_id=3, bank_account_id=7, source_id=11, goods_nominal_id=4001, delivery_nominal_id=4002,
    charge_nominal_id=4003,
)
NOW = datetime.datetime(2025, 3, 14, 9, 30)
PAID = datetime.date(2025, 3, 14)
CENT = Decimal("0.01")
HOME = Address(street="1 High Street", city="London", zip="SW1A 1AA", country_code="GB",
               country_name="United Kingdom")
# Characters XML 1.0 cannot carry, as an import from a spreadsheet or another system can leave them.
NOT_XML = ("\x0b", "\x01", "\ufffe")


def money(value):
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)


def line(description="Widget", quantity="1", price_unit="10.00", *, discount="0", vat_rate="20",
         kind="product", net=None):
    """A line with Odoo's amounts: net after discount, VAT on it, each rounded to the penny."""
    quantity, price_unit, discount = Decimal(quantity), Decimal(price_unit), Decimal(discount)
    net = money(quantity * price_unit * (100 - discount) / 100) if net is None else Decimal(net)
    rate = None if vat_rate is None else Decimal(vat_rate)
    vat = Decimal("0.00") if rate is None else money(net * rate / 100)
    return LineSnapshot(kind=kind, description=description, quantity=quantity, price_unit=price_unit,
                        discount=discount, net=net, vat=vat, vat_rate=rate)


def charge(description="WEEE recycling fee", amount="0.50"):
    """A tax that is not VAT, as Odoo's side books it: a line of its own, without VAT."""
    amount = Decimal(amount)
    return LineSnapshot(kind="charge", description=description, quantity=Decimal(1), price_unit=amount,
                        discount=Decimal(0), net=amount, vat=Decimal(0), vat_rate=None)


def customer(**overrides):
    values = {"code": "ODOO42", "name": "Jane Smith", "email": "jane@example.com", "phone": "020 7946 0000",
              "invoice_address": HOME}
    return CustomerSnapshot(**{**values, **overrides})


def document(*lines, key="order", kind=INVOICE, **overrides):
    """An invoice (or credit note) whose totals are the sums of its lines, as Odoo computes them."""
    net = sum((item.net for item in lines), Decimal(0))
    vat = sum((item.vat for item in lines), Decimal(0))
    values = {
        "key": key, "kind": kind, "reference": "S00042", "date": PAID, "lines": lines, "currency_code": "GBP",
        "exchange_rate": Decimal(1), "amount_net": net, "amount_vat": vat, "amount_total": net + vat,
    }
    return InvoiceSnapshot(**{**values, **overrides})


def order(*lines, include_vat=True, currency_decimals=2, **overrides):
    """A paid order booked as one invoice with these lines; ``customer`` goes to the order, other overrides
    to its invoice."""
    partner = overrides.pop("customer", None) or customer()
    return OrderSnapshot(
        name="S00042", customer=partner, home_currency_code="GBP", include_vat=include_vat,
        documents=(document(*lines, **overrides),), currency_decimals=currency_decimals)


def credit_note(*lines, **overrides):
    """An order with an invoice and a credit note of ``lines`` applied to it; returns (order, credit note)."""
    note = document(*lines, key="move:7", kind=CREDIT_NOTE, reference="S00042 RINV/2025/00001",
                    applies_to="order", **overrides)
    snapshot = OrderSnapshot(name="S00042", customer=customer(), home_currency_code="GBP", include_vat=True,
                             documents=(document(line("Kettle", "2", "24.99")), note))
    return snapshot, note


def invoice(snapshot, which=None, **kwargs):
    which = snapshot.documents[0] if which is None else which
    return documents.invoice_document(snapshot, which, **{"customer_id": 1001, "mapping": MAPPING, **kwargs})


def payment(amount="59.98", **overrides):
    values = {"key": "payment:9", "invoice_key": "order", "amount": Decimal(amount), "date": PAID,
              "reference": "PBNK1/2025/00007"}
    return PaymentSnapshot(**{**values, **overrides})


def invoice_totals(built):
    """Net, VAT and gross as KashFlow computes them from the lines (each line's net to the penny)."""
    net = sum((money(item["Rate"] * item["Quantity"]) for item in built["Lines"]), Decimal(0))
    vat = sum((item["VatAmount"] for item in built["Lines"]), Decimal(0))
    return net, vat, net + vat


def all_text(value):
    """Every text in a document (dicts and lists walked)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from all_text(item)
    elif isinstance(value, list):
        for item in value:
            yield from all_text(item)


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
    odoo = snapshot.documents[0]
    assert invoice_totals(invoice(snapshot)) == (odoo.amount_net, odoo.amount_vat, odoo.amount_total)


def test_vat_rate_is_sent_as_the_plain_percentage_odoo_holds():
    (item,) = invoice(order(line("Kettle", "1", "100.00", vat_rate="17.5000")))["Lines"]

    assert str(item["VatRate"]) == "17.5"
    assert (item["Rate"], item["VatAmount"]) == (Decimal("100.00"), Decimal("17.50"))


def test_every_rate_sent_has_at_most_two_decimals_and_every_line_adds_up_exactly():
    full = _full_order()
    for which in full.documents:
        built = invoice(full, which)
        for item in built["Lines"]:
            assert item["Rate"] == item["Rate"].quantize(CENT), item
        sign = -1 if which.kind == CREDIT_NOTE else 1
        assert invoice_totals(built) == (sign * which.amount_net, sign * which.amount_vat, sign * which.amount_total)


def test_line_vat_is_odoos_even_when_it_is_a_penny_off_its_rate_times_its_net():
    # Under Odoo's "Round Globally" the rounding difference goes to one line: its VAT is right for the
    # document, not for the line alone. KashFlow gets Odoo's figure, not a recomputed one.
    first, second = (LineSnapshot("product", name, Decimal(1), Decimal("0.33"), Decimal(0), Decimal("0.33"),
                                  vat, Decimal(20)) for name, vat in (("Pin", Decimal("0.07")),
                                                                       ("Clip", Decimal("0.06"))))

    lines = invoice(order(first, second))["Lines"]

    assert [item["VatAmount"] for item in lines] == [Decimal("0.07"), Decimal("0.06")]


def test_seller_without_vat_invoices_gross_prices_without_vat_totalling_odoos_total():
    snapshot = order(line("Kettle", "2", "24.99"), line("Book", "1", "7.99", vat_rate="0"), include_vat=False)

    built = invoice(snapshot)

    assert [(item["VatRate"], item["VatAmount"]) for item in built["Lines"]] == [(0, 0), (0, 0)]
    assert [item["Rate"] for item in built["Lines"]] == [Decimal("29.99"), Decimal("7.99")]
    assert invoice_totals(built) == (Decimal("67.97"), 0, Decimal("67.97"))
    assert invoice_totals(built)[2] == snapshot.documents[0].amount_total


def test_delivery_goes_to_the_delivery_nominal_and_goods_and_discounts_to_the_goods_nominal():
    snapshot = order(
        line("Kettle", "1", "24.99"),
        line("Standard delivery", "1", "4.99", kind="delivery"),
        line("Spring promotion", "1", "-5.00", kind="discount"),
    )

    lines = invoice(snapshot)["Lines"]

    assert [item["ChargeType"] for item in lines] == [4001, 4002, 4001]
    assert [item["Sort"] for item in lines] == [1, 2, 3]


def test_delivery_without_a_nominal_of_its_own_goes_to_the_goods_nominal():
    mapping = dataclasses.replace(MAPPING, delivery_nominal_id=0)

    lines = invoice(order(line("Kettle"), line("Delivery", kind="delivery")), mapping=mapping)["Lines"]

    assert [item["ChargeType"] for item in lines] == [4001, 4001]


def test_charge_that_is_not_vat_is_a_line_without_vat_on_the_charge_nominal():
    snapshot = order(line("Fridge", "1", "300.00"), charge("WEEE recycling fee", "1.50"))

    fee = invoice(snapshot)["Lines"][1]

    assert (fee["Description"], fee["Quantity"], fee["Rate"]) == ("WEEE recycling fee", 1, Decimal("1.50"))
    assert (fee["VatRate"], fee["VatAmount"], fee["ChargeType"]) == (-1, 0, 4003)
    assert invoice_totals(invoice(snapshot)) == (Decimal("301.50"), Decimal("60.00"), Decimal("361.50"))


def test_charge_goes_to_the_goods_nominal_when_the_channel_has_no_charge_nominal():
    mapping = dataclasses.replace(MAPPING, charge_nominal_id=0)

    fee = invoice(order(line("Fridge", "1", "300.00"), charge()), mapping=mapping)["Lines"][1]

    assert fee["ChargeType"] == 4001


def test_charge_of_a_seller_without_vat_is_a_plain_line_at_its_amount():
    fee = invoice(order(line("Fridge", "1", "300.00"), charge(amount="1.50"), include_vat=False))["Lines"][1]

    assert (fee["Rate"], fee["VatRate"], fee["VatAmount"], fee["ChargeType"]) == (Decimal("1.50"), 0, 0, 4003)


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
    snapshot = order(line("Pens", "3", "3.3333", net="10.00"))

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
    assert item["Description"] == "Fabric (metres) (2.5 × 3.99)", "Odoo's unit price, which makes the amount"


def test_a_unit_price_of_a_tenth_of_a_penny_is_named_as_odoo_holds_it():
    snapshot = order(line("Brass screw", "1000", "0.001"), line("Brass screw", "7", "0.001"))

    thousand, seven = invoice(snapshot)["Lines"]

    assert (thousand["Quantity"], thousand["Rate"], thousand["VatAmount"], thousand["Description"]) == (
        1, Decimal("1.00"), Decimal("0.20"), "Brass screw (1000 × 0.001)")
    assert (seven["Quantity"], seven["Rate"], seven["VatAmount"], seven["Description"]) == (
        1, Decimal("0.01"), Decimal("0.00"), "Brass screw (7 × 0.001)")
    assert invoice_totals(invoice(snapshot)) == (Decimal("1.01"), Decimal("0.20"), Decimal("1.21"))


def test_a_price_including_vat_is_noted_as_the_net_unit_price_kashflow_holds():
    # 3 at 24.99 including 20% VAT: Odoo's net 62.48 and VAT 12.49; KashFlow's rate is net.
    towels = LineSnapshot("product", "Tea towel", Decimal(3), Decimal("24.99"), Decimal(0), Decimal("62.48"),
                          Decimal("12.49"), Decimal(20))

    (item,) = invoice(order(towels))["Lines"]

    assert (item["Quantity"], item["Rate"], item["VatAmount"]) == (1, Decimal("62.48"), Decimal("12.49"))
    assert item["Description"] == "Tea towel (3 × 20.8267)"


def test_discounted_line_with_an_uneven_unit_price_names_both_the_discount_and_the_unit_price():
    (item,) = invoice(order(line("Mug", "7", "3.33", discount="10")))["Lines"]

    assert (item["Quantity"], item["Rate"]) == (1, Decimal("20.98"))
    assert item["Description"] == "Mug (10% discount) (7 × 3.33)"


def test_free_item_is_invoiced_at_zero():
    snapshot = order(line("Kettle", "1", "24.99"), line("Free gift", "1", "0.00"))

    gift = invoice(snapshot)["Lines"][1]

    assert (gift["Quantity"], gift["Rate"], gift["VatAmount"], gift["Description"]) == (1, 0, 0, "Free gift")


def test_line_with_neither_quantity_nor_amount_is_left_off_and_the_rest_are_numbered_from_one():
    snapshot = order(line("Cancelled item", "0", "9.99"), line("Kettle", "1", "24.99"))

    lines = invoice(snapshot)["Lines"]

    assert [(item["Description"], item["Sort"]) for item in lines] == [("Kettle", 1)]


def test_line_without_quantity_but_with_an_amount_is_one_unit_at_that_amount():
    (item,) = invoice(order(line("Handling fee", "0", "0", net="2.50")))["Lines"]

    assert (item["Quantity"], item["Rate"], item["VatAmount"]) == (1, Decimal("2.50"), Decimal("0.50"))


def test_line_without_a_description_is_named_by_its_product_code_or_its_kind():
    coded = dataclasses.replace(line("", "1", "5.00"), product_code="KET-01")

    lines = invoice(order(coded, line(" ", "1", "3.00", kind="delivery")))["Lines"]

    assert [item["Description"] for item in lines] == ["KET-01", "Delivery"]


def test_multiline_description_is_sent_on_one_line():
    (item,) = invoice(order(line("[KET-01] Kettle\n  Colour: red ", "1", "24.99")))["Lines"]

    assert item["Description"] == "[KET-01] Kettle Colour: red"


def test_overlong_description_is_shortened_but_keeps_the_discount_and_unit_price():
    (item,) = invoice(order(line("Very long name " * 60, "7", "3.33", discount="10")))["Lines"]

    assert len(item["Description"]) == documents.MAX_DESCRIPTION
    assert item["Description"].startswith("Very long name Very long name")
    assert item["Description"].endswith(" Very lon… (10% discount) (7 × 3.33)")


def test_description_of_exactly_the_limit_is_kept_whole():
    (item,) = invoice(order(line("x" * documents.MAX_DESCRIPTION)))["Lines"]

    assert item["Description"] == "x" * documents.MAX_DESCRIPTION


@pytest.mark.parametrize("kind", ["subtotal", "", "Product"])
def test_line_of_an_unknown_kind_is_a_programming_error(kind):
    with pytest.raises(ValueError, match="Unknown line kind"):
        invoice(order(line(kind=kind)))


# --- Credit notes ----------------------------------------------------------------------------------------

def test_credit_note_is_an_invoice_with_negative_rates_and_vat_and_positive_quantities():
    snapshot, note = credit_note(line("Kettle", "2", "24.99"), line("Delivery", "1", "4.99", kind="delivery"))

    built = invoice(snapshot, note)

    assert [(item["Quantity"], item["Rate"], item["VatRate"], item["VatAmount"]) for item in built["Lines"]] == [
        (2, Decimal("-24.99"), 20, Decimal("-10.00")), (1, Decimal("-4.99"), 20, Decimal("-1.00"))]
    assert invoice_totals(built) == (Decimal("-54.97"), Decimal("-11.00"), Decimal("-65.97"))
    assert (note.amount_net, note.amount_vat, note.amount_total) == (
        Decimal("54.97"), Decimal("11.00"), Decimal("65.97"))
    assert built["CustomerReference"] == "S00042 RINV/2025/00001"
    assert [item["ChargeType"] for item in built["Lines"]] == [4001, 4002]


def test_credit_note_reverses_a_discount_line_with_a_positive_rate():
    snapshot, note = credit_note(line("Kettle", "2", "50.00"), line("10% off", "1", "-10.00", kind="discount"))

    promotion = invoice(snapshot, note)["Lines"][1]

    assert (promotion["Quantity"], promotion["Rate"], promotion["VatAmount"]) == (
        1, Decimal("10.00"), Decimal("2.00"))


def test_credit_note_with_an_uneven_unit_price_is_one_unit_at_minus_the_line_total():
    snapshot, note = credit_note(line("Pens", "3", "3.3333", net="10.00"))

    (item,) = invoice(snapshot, note)["Lines"]

    assert (item["Quantity"], item["Rate"], item["VatAmount"]) == (1, Decimal("-10.00"), Decimal("-2.00"))
    assert item["Description"] == "Pens (3 × 3.3333)"


def test_credit_note_charge_and_exempt_lines_stay_without_vat():
    snapshot, note = credit_note(charge(amount="1.50"), line("Stamps", "1", "1.00", vat_rate=None))

    lines = invoice(snapshot, note)["Lines"]

    assert [(item["Rate"], item["VatRate"], item["VatAmount"]) for item in lines] == [
        (Decimal("-1.50"), -1, 0), (Decimal("-1.00"), -1, 0)]


def test_credit_note_totals_are_checked_against_odoos_positive_figures():
    snapshot, note = credit_note(line("Kettle", "1", "100.00"), amount_vat=Decimal("20.01"),
                                 amount_total=Decimal("120.01"))

    with pytest.raises(documents.TotalsMismatch) as caught:
        invoice(snapshot, note)

    message = str(caught.value)
    assert "Order S00042, credit note S00042 RINV/2025/00001" in message
    assert "Odoo:     net GBP 100.00, VAT GBP 20.01, total GBP 120.01" in message
    assert "KashFlow: net GBP 100.00, VAT GBP 20.00, total GBP 120.00" in message
    assert caught.value.kashflow_totals == (Decimal("100.00"), Decimal("20.00"), Decimal("120.00"))


def test_credit_note_of_a_seller_without_vat_carries_gross_amounts_negated():
    note = document(line("Kettle", "1", "100.00"), key="cancel", kind=CREDIT_NOTE, reference="S00042 cancelled",
                    applies_to="order")
    snapshot = OrderSnapshot(name="S00042", customer=customer(), home_currency_code="GBP", include_vat=False,
                             documents=(document(line("Kettle", "1", "100.00")), note))

    (item,) = invoice(snapshot, note)["Lines"]

    assert (item["Rate"], item["VatRate"], item["VatAmount"]) == (Decimal("-120.00"), 0, 0)


# --- Currency --------------------------------------------------------------------------------------------

def test_foreign_currency_invoice_states_its_values_are_in_that_currency_at_the_documents_rate():
    snapshot = order(line("Kettle", "2", "29.50"), line("Delivery", "1", "6.00", kind="delivery"),
                     currency_code="EUR", exchange_rate=Decimal("1.18450000"))

    built = invoice(snapshot)

    assert (built["CurrencyCode"], built["ExchangeRate"]) == ("EUR", Decimal("1.1845"))
    assert [item["ValuesInCurrency"] for item in built["Lines"]] == [1, 1]
    assert invoice_totals(built) == (Decimal("65.00"), Decimal("13.00"), Decimal("78.00"))


def test_foreign_currency_credit_note_is_in_that_currency_too():
    note = document(line("Kettle", "1", "29.50"), key="move:8", kind=CREDIT_NOTE, currency_code="eur",
                    exchange_rate=Decimal("1.17"), applies_to="order")
    snapshot = OrderSnapshot(name="S00042", customer=customer(), home_currency_code="GBP", include_vat=True,
                             documents=(note,))

    built = invoice(snapshot, note)

    assert (built["CurrencyCode"], built["ExchangeRate"]) == ("EUR", Decimal("1.17"))
    assert [(item["Rate"], item["ValuesInCurrency"]) for item in built["Lines"]] == [(Decimal("-29.50"), 1)]


def test_home_currency_invoice_has_rate_one_and_no_currency_flag_on_its_lines():
    built = invoice(order(line(), exchange_rate=Decimal("1.000000")))

    assert (built["CurrencyCode"], built["ExchangeRate"]) == ("GBP", 1)
    assert "ValuesInCurrency" not in built["Lines"][0]


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

def test_invoice_whose_totals_disagree_with_its_lines_is_refused_showing_both_sets_of_totals():
    snapshot = order(line("Kettle", "1", "100.00"), amount_net=Decimal("100.00"),
                     amount_vat=Decimal("20.01"), amount_total=Decimal("120.01"))

    with pytest.raises(documents.TotalsMismatch) as caught:
        invoice(snapshot)

    message = str(caught.value)
    assert "Order S00042, invoice S00042" in message
    assert "nothing was sent to KashFlow" in message
    assert "Odoo:     net GBP 100.00, VAT GBP 20.01, total GBP 120.01" in message
    assert "KashFlow: net GBP 100.00, VAT GBP 20.00, total GBP 120.00" in message
    assert caught.value.kashflow_totals.gross == Decimal("120.00")
    assert caught.value.odoo_totals.gross == Decimal("120.01")
    assert isinstance(caught.value, documents.DocumentError)


def test_seller_without_vat_is_refused_when_the_lines_do_not_reach_odoos_total():
    snapshot = order(line("Kettle", "1", "100.00"), include_vat=False, amount_total=Decimal("130.00"))

    with pytest.raises(documents.TotalsMismatch, match=r"KashFlow: net GBP 120\.00, VAT GBP 0\.00, total GBP"
                                                         r" 120\.00") as caught:
        invoice(snapshot)

    assert "VAT is switched off for KashFlow" in str(caught.value)


def test_line_carrying_vat_without_a_percentage_rate_is_refused():
    levy = LineSnapshot(kind="product", description="Eco levy", quantity=Decimal(1), price_unit=Decimal(1),
                        discount=Decimal(0), net=Decimal("1.00"), vat=Decimal("0.10"), vat_rate=None)

    with pytest.raises(documents.DocumentError, match=r"S00042.*'Eco levy' carries VAT of 0\.10"):
        invoice(order(levy))


def test_invoice_without_lines_is_refused():
    with pytest.raises(documents.DocumentError, match=r"Order S00042, invoice S00042 has no lines"):
        invoice(order())


def test_invoice_whose_lines_are_all_empty_is_refused():
    with pytest.raises(documents.DocumentError, match=r"has no lines to put in KashFlow"):
        invoice(order(line("Cancelled item", "0", "9.99")))


def test_order_of_a_customer_without_a_name_is_refused():
    with pytest.raises(documents.DocumentError, match=r"customer of order S00042 has no name"):
        invoice(order(line(), customer=customer(name="  ")))


def test_order_of_a_customer_whose_name_is_only_control_characters_is_refused():
    with pytest.raises(documents.DocumentError, match=r"has no name"):
        invoice(order(line(), customer=customer(name="\x01\x0b")))


# --- Invoice header --------------------------------------------------------------------------------------

def test_document_can_be_checked_before_its_customer_exists_in_kashflow():
    assert invoice(order(line()), customer_id=0)["CustomerID"] == 0


def test_invoice_header_names_the_order_and_leaves_numbering_and_paid_totals_to_kashflow():
    built = invoice(order(line()))

    assert built["CustomerReference"] == "S00042"
    assert (built["CustomerID"], built["Customer"]) == (1001, "Jane Smith")
    assert (built["InvoiceDBID"], built["InvoiceNumber"], built["Paid"]) == (0, 0, 0)
    assert (built["NetAmount"], built["VATAmount"], built["AmountPaid"]) == (0, 0, 0)
    updated = invoice(order(line()), invoice_number=315, invoice_id=9001)
    assert (updated["InvoiceNumber"], updated["InvoiceDBID"]) == (315, 9001)


def test_invoice_and_due_dates_are_midday_datetimes_of_the_documents_day():
    built = invoice(order(line(), date=datetime.date(2025, 3, 31)))

    for name in ("InvoiceDate", "DueDate"):
        assert type(built[name]) is datetime.datetime
        assert built[name] == datetime.datetime(2025, 3, 31, 12, 0)
        assert built[name].tzinfo is None


def test_invoice_uses_a_delivery_address_that_differs_from_the_invoice_address():
    elsewhere = Address(street="Unit 4, Dock Road", city="Athens", zip="104 31", country_code="GR",
                        country_name="Greece")

    built = invoice(order(line(), delivery_address=elsewhere))

    assert built["UseCustomDeliveryAddress"] is True
    assert built["DeliveryAddress"] == {
        "Name": "Jane Smith", "Line1": "Unit 4, Dock Road", "Line3": "Athens", "PostCode": "104 31",
        "CountryName": "Greece", "CountryCode": "EL"}


def test_invoice_has_no_custom_delivery_address_when_goods_go_to_the_invoice_address():
    for delivery in (None, HOME, Address()):
        built = invoice(order(line(), delivery_address=delivery))

        assert built["UseCustomDeliveryAddress"] is False
        assert "DeliveryAddress" not in built


# --- Text KashFlow can carry -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "cleaned"), [
    ("Linen\x0btea\x0ctowel\ufffe", "Linen tea towel"),  # separators stand for spaces
    ("Lond\x01on\x1fRoad\x07\x7f", "London Road"),  # other control characters (and DEL) are dropped
    ("  two\n\nlines\t ", "two lines"),
    ("\x00\x08\x1f", ""),
    ("lone \ud800 surrogate \uffff", "lone surrogate"),
    ("Crème brûlée £5 — ok", "Crème brûlée £5 — ok"),
    ("", ""),
    (None, ""),
])
def test_clean_text_keeps_what_xml_can_carry_on_one_line(text, cleaned):
    assert documents.clean_text(text) == cleaned


def test_no_character_xml_cannot_carry_reaches_a_customer_invoice_or_payment():
    dirty = "".join(NOT_XML)
    address = Address(street=f"1 High{dirty} Street", street2=f"Flat{dirty}2", city=f"London{dirty}",
                      state=f"Greater{dirty}London", zip=f"SW1A{dirty}1AA", country_code=f"GB{dirty}",
                      country_name=f"United{dirty}Kingdom")
    partner = customer(name=f"Jane{dirty}Smith", contact_name=f"J{dirty}S", email=f"jane@example.com{dirty}",
                       phone=f"020{dirty}7946", mobile=f"07700{dirty}900", vat=f"GB123{dirty}456789",
                       invoice_address=address, delivery_address=dataclasses.replace(address, city="Leeds\x01"))
    snapshot = order(line(f"Kettle{dirty}red", "1", "24.99"), customer=partner,
                     reference=f"S00042{dirty}", delivery_address=dataclasses.replace(address, street="Dock\x0b4"))
    refund = payment("-24.99", reference=f"PBNK1{dirty}7")

    built = [
        documents.customer_document(partner, source_id=11, now=NOW),
        documents.customer_update({"CustomerID": 5, "Notes": "kept"}, partner),
        invoice(snapshot),
        documents.payment_document(snapshot, refund, invoice_number=315, mapping=MAPPING),
    ]

    for text in (text for item in built for text in all_text(item)):
        assert not any(char in text for char in NOT_XML), repr(text)
    customer_built, _update, invoice_built, payment_built = built
    assert (customer_built["Name"], customer_built["Address1"], customer_built["CountryCode"]) == (
        "Jane Smith", "1 High Street", "GB")
    assert customer_built["DeliveryAddress3"] == "Leeds"
    assert invoice_built["Lines"][0]["Description"] == "Kettle red"
    assert invoice_built["CustomerReference"] == "S00042"
    assert invoice_built["DeliveryAddress"]["Line1"] == "Dock 4"
    assert payment_built["PayNote"] == "Odoo order S00042, refund PBNK1 7"


# --- Text of any kind and length (KashFlow's field lengths: documents.FIELD_LIMITS) ------------------------

# XML's own characters, accents, CJK, right-to-left scripts, emoji (one joined from three).
EXOTIC = "Zoë & Søn <Ltd> \"quoted\" 'single' 株式会社テスト شركة الاختبار חברת בדיקה 🦊 👩\u200d👩\u200d👧"


@pytest.mark.parametrize(("text", "limit", "fitted"), [
    ("Oak chopping board", 18, "Oak chopping board"),
    ("Oak chopping board", 10, "Oak chopp…"),
    ("Oak board   and more", 11, "Oak board…"),
    ("aaaa🦊b", 6, "aaaa…"),
    ("aaa🦊bc", 6, "aaa🦊…"),
    ("Cafe\u0301 au lait", 5, "Caf…"),
    ("ab👩\u200d👩\u200d👧", 6, "ab…"),
    ("ab❤\ufe0fcd", 5, "ab❤\ufe0f…"),
    ("株式会社テスト", 5, "株式会社…"),
    ("שלום עולם", 5, "שלום…"),
    ("مرحبا بالعالم", 7, "مرحبا…"),
])
def test_free_text_is_cut_to_its_limit_in_utf16_units_ending_with_an_ellipsis(text, limit, fitted):
    assert documents.fit_text(text, limit) == fitted
    assert documents.text_length(documents.fit_text(text, limit)) <= limit


def test_text_of_any_script_goes_as_it_is_when_it_fits():
    address = Address(street=EXOTIC, city="Belfast", zip="BT1 1AA", country_code="GB",
                      country_name="United Kingdom")
    partner = customer(name=EXOTIC, contact_name=EXOTIC, invoice_address=address)
    snapshot = order(line(EXOTIC, "1", "24.99"), customer=partner, reference="S00042")

    built_customer = documents.customer_document(partner, source_id=11, now=NOW)
    built_invoice = invoice(snapshot)

    assert (built_customer["Name"], built_customer["Contact"], built_customer["Address1"]) == (EXOTIC,) * 3
    assert (built_invoice["Customer"], built_invoice["Lines"][0]["Description"]) == (EXOTIC, EXOTIC)


def test_customer_free_text_longer_than_kashflow_takes_is_cut():
    long_name = "The Very Long Named Artisan Cheese and Charcuterie Emporium of the Yorkshire Dales " * 2
    address = Address(street="Unit 7, The Old Granary Business Park, Station Road Industrial Estate, " * 2,
                      street2="🦊" * 60, city="Llanfairpwllgwyngyll" * 6, zip="LL61 5UJ", country_code="GB",
                      country_name="United Kingdom")
    partner = customer(name=long_name, contact_name="Bartholomew " * 10, is_company=True, invoice_address=address)

    built = documents.customer_document(partner, source_id=11, now=NOW)

    assert built["Name"] == ("The Very Long Named Artisan Cheese and Charcuterie Emporium of the Yorkshire Dales The"
                             " Very Long Na…")
    assert built["Contact"] == "Bartholomew " * 8 + "Bar…"
    assert built["Address1"] == ("Unit 7, The Old Granary Business Park, Station Road Industrial Estate, Unit 7,"
                                 " The Old Granary Busi…")
    assert built["Address2"] == "🦊" * 49 + "…"
    assert built["Address3"] == "Llanfairpwllgwyngyll" * 4 + "Llanfairpwllgwyngyl…"
    for name, limit in documents.FIELD_LIMITS["Customer"].items():
        assert documents.text_length(built.get(name) or "") <= limit, name


@pytest.mark.parametrize(("change", "label", "length", "limit"), [
    ({"email": "orders." * 40 + "@example.com"}, "email address", 292, 255),
    ({"phone": "+44 113 496 0000 (evenings) or +44 113 496 0001 (day)"}, "phone number", 53, 50),
    ({"mobile": "07700 900123 / 07700 900456 / 07700 900789 / 07700 900000"}, "mobile number", 57, 50),
    ({"vat": "GB 123 4567 89 (registered 2019, group 12345)"}, "VAT number", 45, 30),
    ({"invoice_address": Address(street="1 High Street", zip="SW1A 1AA, PO Box 12345", country_code="GB")},
     "postcode", 22, 20),
    ({"delivery_address": Address(street="Warehouse 2", zip="LS1 4AP (use the rear gate)", country_code="GB")},
     "delivery postcode", 27, 20),
])
def test_customer_value_that_would_be_wrong_once_cut_is_refused_saying_what_to_shorten(change, label, length, limit):
    partner = customer(**change)

    with pytest.raises(documents.DocumentError) as caught:
        documents.customer_document(partner, source_id=11, now=NOW)

    assert str(caught.value).startswith(f"The {label} of the contact Jane Smith is {length} characters long (")
    assert str(caught.value).endswith(f"); KashFlow takes at most {limit}. Correct it on the contact in Odoo, then"
                                      " send the order to KashFlow again.")


def test_refused_email_address_message_in_full():
    with pytest.raises(documents.DocumentError) as caught:
        documents.customer_fields(customer(email="orders." * 40 + "@example.com"))

    assert str(caught.value) == (
        "The email address of the contact Jane Smith is 292 characters long (orders.orders.orders.orders.orders.orde…);"
        " KashFlow takes at most 255. Correct it on the contact in Odoo, then send the order to KashFlow again.")


def test_customer_code_longer_than_twenty_characters_is_refused():
    with pytest.raises(documents.DocumentError, match="at most 20 of them"):
        documents.customer_document(customer(code="ODOO" + "1" * 17), source_id=11, now=NOW)


def test_invoice_header_and_delivery_address_are_fitted_and_the_customer_name_cut_alike():
    elsewhere = Address(street="Loading Bay 4, " * 10, city="Leeds", zip="LS1 4AP", country_code="GB",
                        country_name="United Kingdom")
    snapshot = order(line("Kettle", "1", "24.99"), customer=customer(name="Ó Súilleabháin " * 10),
                     delivery_address=elsewhere)

    built = invoice(snapshot)

    assert built["Customer"] == built["DeliveryAddress"]["Name"] == "Ó Súilleabháin " * 6 + "Ó Súillea…"
    assert built["DeliveryAddress"]["Line1"] == "Loading Bay 4, " * 6 + "Loading B…"
    assert built["Customer"] == documents.customer_fields(snapshot.customer)["Name"]


def test_invoice_delivery_postcode_that_does_not_fit_is_refused():
    elsewhere = Address(street="Warehouse 2", zip="LS1 4AP (use the rear gate)", country_code="GB")

    with pytest.raises(documents.DocumentError) as caught:
        invoice(order(line("Kettle", "1", "24.99"), delivery_address=elsewhere))

    assert str(caught.value) == (
        "The delivery postcode of the delivery address of order S00042 is 27 characters long (LS1 4AP (use the rear"
        " gate)); KashFlow takes at most 20. Correct the delivery address in Odoo, then send the order to KashFlow"
        " again.")


def test_description_counts_an_emoji_as_two_and_never_cuts_one_in_half():
    (item,) = invoice(order(line("🦊" * 300, "1", "24.99")))["Lines"]

    assert item["Description"] == "🦊" * 249 + "…"


def test_order_reference_longer_than_kashflow_takes_is_refused_never_cut():
    reference = "WEBSHOP-2026-" + "0" * 100

    with pytest.raises(documents.DocumentError) as caught:
        invoice(order(line("Kettle", "1", "24.99"), reference=reference))

    assert str(caught.value) == (
        "The reference of order S00042 is 113 characters long (WEBSHOP-2026-00000000000000000000000000…); KashFlow"
        " takes at most 100. Give the order a shorter Order Reference in Odoo, then send it to KashFlow again.")


def test_reference_of_exactly_the_limit_is_sent_whole():
    reference = "S" * 100

    assert invoice(order(line("Kettle", "1", "24.99"), reference=reference))["CustomerReference"] == reference
    assert documents.invoice_reference(order(line(), reference=reference), document(line(),
                                                                                      reference=reference)) == reference


def test_payment_note_longer_than_kashflow_takes_is_refused_never_cut():
    snapshot = order(line("Kettle", "1", "24.99"))

    with pytest.raises(documents.DocumentError) as caught:
        documents.payment_document(snapshot, payment("29.99", reference="TX-" + "9" * 240), invoice_number=315,
                                   mapping=MAPPING)

    assert str(caught.value) == (
        f"The note of payment TX-{'9' * 36}… of order S00042 is 270 characters long (Odoo order S00042, payment"
        " TX-999999999…); KashFlow takes at most 255. Give the order or the payment a shorter reference in Odoo, then"
        " send the order to KashFlow again.")


# --- Customer --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("country", "zip_code", "vat", "ec", "outside_ec"), [
    ("GB", "LS1 4AB", "GB123456789", 0, 0),    # Great Britain, VAT-registered
    ("GB", "LS1 4AB", "", 0, 0),               # Great Britain, a consumer
    ("GB", "BT1 1AA", "XI123456789", 0, 0),    # Northern Ireland: in the UK VAT area, XI is a UK VAT number
    ("GB", "BT1 1AA", "", 0, 0),
    ("IM", "IM1 1AA", "GB003123456", 0, 0),    # Isle of Man: in the UK VAT area
    ("FR", "75001", "FR40303265045", 1, 0),    # the EU, VAT-registered: KashFlow's EC
    ("IE", "D02 X285", "IE6388047V", 1, 0),
    ("FR", "75001", "", 0, 0),                 # the EU, a consumer
    ("US", "10001", "US123456789", 0, 1),      # rest of the world, VAT-registered: outside the EC
    ("CH", "8001", "CHE-123.456.789 MWST", 0, 1),
    ("US", "10001", "", 0, 0),                 # rest of the world, a consumer
    ("JE", "JE2 3AB", "", 0, 0),               # Jersey: outside both VAT areas
    ("", "", "XX123", 0, 0),                   # no country
])
def test_customer_vat_treatment_follows_its_country_and_vat_number(country, zip_code, vat, ec, outside_ec):
    address = Address(street="1 Main Street", city="Somewhere", zip=zip_code, country_code=country)

    built = documents.customer_document(customer(vat=vat, invoice_address=address), source_id=11, now=NOW)

    assert (built["EC"], built["OutsideEC"]) == (ec, outside_ec)


@pytest.mark.parametrize(("country", "vat", "ec", "outside_ec"), [
    ("GB", "GB123456789", 0, 0),
    ("GB", "XI123456789", 0, 0),
    ("FR", "", 0, 0),
    ("US", "US123456789", 0, 1),
])
def test_a_seller_in_northern_ireland_books_its_customers_as_a_great_british_one_does(country, vat, ec, outside_ec):
    address = Address(street="1 Main Street", city="Somewhere", country_code=country)
    partner = customer(vat=vat, invoice_address=address, seller_in_northern_ireland=True)

    built = documents.customer_document(partner, source_id=11, now=NOW)

    assert (built["EC"], built["OutsideEC"]) == (ec, outside_ec)


def test_a_seller_in_northern_ireland_with_a_customer_vat_registered_in_the_eu_is_refused_not_booked_as_ec():
    address = Address(street="Hauptstraße 5", city="Berlin", zip="10115", country_code="DE", country_name="Germany")
    partner = customer(name="Müller GmbH", vat="DE123456789", invoice_address=address,
                       seller_in_northern_ireland=True)

    with pytest.raises(documents.DocumentError) as caught:
        documents.customer_document(partner, source_id=11, now=NOW)

    assert str(caught.value) == (
        "Müller GmbH is VAT-registered in the EU (DE123456789) and your company is in Northern Ireland: KashFlow books"
        " such a customer with the trade border type NIEU, which the KashFlow calls the connector uses cannot set."
        " Book this order in KashFlow by hand; the connector has sent nothing of it.")


@pytest.mark.parametrize(("address", "vat", "expected"), [
    (Address(city="Belfast", zip="BT1 1AA", country_code="GB"), "", True),
    (Address(city="Newry", zip="bt35 6aa", country_code="gb"), "", True),
    (Address(city="Leeds", zip="LS1 4AB", country_code="GB"), "", False),
    (Address(city="Bath", zip="BA1 1AA", country_code="GB"), "", False),
    (Address(city="Omagh", state="County Tyrone", country_code="GB"), "", True),
    (Address(city="Durham", state="County Durham", country_code="GB"), "", False),  # England, not Ireland
    (Address(city="Lisburn", state="Northern Ireland", country_code="GB"), "", True),
    (Address(city="Lisburn", country_code="GB"), "XI 123 4567 89", True),
    (Address(city="Leeds", zip="LS1 4AB", country_code="GB"), "GB123456789", False),
    (Address(city="Dublin", zip="D02 X285", country_code="IE"), "", False),
    (Address(city="Dublin", state="Down", zip="BT1", country_code="IE"), "", False),
    (Address(), "", False),
])
def test_northern_ireland_is_told_by_an_xi_vat_number_a_bt_postcode_or_one_of_its_counties(address, vat, expected):
    assert documents.is_northern_ireland(address, vat) is expected


@pytest.mark.parametrize("odoo_code", ["GR", "gr", "EL"])
def test_greek_customer_has_kashflow_country_code_el_and_is_an_ec_customer(odoo_code):
    address = Address(street="Ermou 10", city="Athens", zip="105 63", country_code=odoo_code,
                      country_name="Greece")

    built = documents.customer_document(customer(vat="EL094014201", invoice_address=address),
                                        source_id=11, now=NOW)

    assert (built["CountryCode"], built["EC"], built["OutsideEC"]) == ("EL", 1, 0)


def test_customer_carries_contact_details_address_and_channel_source():
    partner = customer(name="  Acme Trading Ltd ", contact_name="Jane Smith", is_company=True,
                       mobile="07700 900123", vat=" GB123456789 ",
                       invoice_address=Address(street="1 High Street", street2="", city="London",
                                               state="Greater London", zip="SW1A 1AA", country_code="gb",
                                               country_name="United Kingdom"))

    built = documents.customer_document(partner, source_id=11, customer_id=5005, currency_id=2, now=NOW)

    assert {key: built[key] for key in (
        "CustomerID", "Code", "Name", "Contact", "Email", "Telephone", "Mobile", "Address1", "Address3",
        "Address4", "Postcode", "CountryName", "CountryCode", "VATNumber", "Source", "CurrencyID",
    )} == {
        "CustomerID": 5005, "Code": "ODOO42", "Name": "Acme Trading Ltd", "Contact": "Jane Smith",
        "Email": "jane@example.com", "Telephone": "020 7946 0000", "Mobile": "07700 900123",
        "Address1": "1 High Street", "Address3": "London", "Address4": "Greater London",
        "Postcode": "SW1A 1AA", "CountryName": "United Kingdom", "CountryCode": "GB",
        "VATNumber": "GB123456789", "Source": 11, "CurrencyID": 2,
    }
    assert "Address2" not in built
    assert (built["Discount"], built["ShowDiscount"], built["PaymentTerms"]) == (0, False, 0)
    assert [built[f"CheckBox{number}"] for number in range(1, 21)] == [0] * 20
    assert built["Created"] == built["Updated"] == NOW


def test_empty_customer_fields_are_left_out_not_sent_empty():
    bare = customer(name="Bo", email=" ", phone="", invoice_address=Address(city="Leeds"))

    built = documents.customer_document(bare, source_id=11, now=NOW)

    assert not [name for name, value in built.items() if value == ""]
    assert {"Telephone", "Mobile", "Email", "Address1", "Postcode", "CountryCode", "VATNumber"}.isdisjoint(built)
    assert built["Address3"] == "Leeds"


def test_company_without_a_contact_name_has_no_contact():
    built = documents.customer_document(customer(name="Acme Ltd", is_company=True), source_id=11, now=NOW)

    assert "Contact" not in built


def test_private_customer_is_their_own_contact_and_new_customers_have_id_zero():
    built = documents.customer_document(customer(), source_id=11, now=NOW)

    assert (built["CustomerID"], built["Name"], built["Contact"]) == (0, "Jane Smith", "Jane Smith")
    assert "VATNumber" not in built


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


# --- Updating a customer KashFlow holds ------------------------------------------------------------------

def _kashflow_customer():
    """A customer as GetCustomerByID returns it, after a bookkeeper set it up in KashFlow."""
    return {
        **documents.customer_document(customer(delivery_address=Address(street="Warehouse 2", city="Leeds")),
                                      source_id=11, customer_id=5005, now=NOW),
        "Code": "SMITHJ", "PaymentTerms": 30, "Discount": Decimal("5.00"), "ShowDiscount": True,
        "CheckBox3": 1, "Source": 4, "CurrencyID": 2, "Notes": "Pays by BACS", "Fax": "020 7946 0001",
        "ExtraText1": "Trade", "Mobile": "07700 900000",
    }


def test_customer_update_changes_only_the_fields_the_connector_owns():
    current = _kashflow_customer()
    moved = customer(name="Jane Smith-Jones", phone="020 7946 0999",
                     invoice_address=Address(street="2 New Road", city="Bath", zip="BA1 1AA", country_code="GB"))

    updated = documents.customer_update(current, moved)

    bookkeepers = {name: value for name, value in current.items() if name not in documents.CUSTOMER_OWNED_FIELDS}
    assert {name: updated[name] for name in bookkeepers} == bookkeepers
    assert {name: updated[name] for name in ("CustomerID", "Code", "PaymentTerms", "Discount", "CheckBox3",
                                             "Source", "CurrencyID", "Notes", "Fax", "Created")} == {
        "CustomerID": 5005, "Code": "SMITHJ", "PaymentTerms": 30, "Discount": Decimal("5.00"), "CheckBox3": 1,
        "Source": 4, "CurrencyID": 2, "Notes": "Pays by BACS", "Fax": "020 7946 0001", "Created": NOW}
    owned = documents.customer_fields(moved)
    assert {name: updated[name] for name in owned} == owned
    assert (updated["Name"], updated["Telephone"], updated["Address1"], updated["Address3"]) == (
        "Jane Smith-Jones", "020 7946 0999", "2 New Road", "Bath")


def test_customer_update_clears_what_odoo_no_longer_holds():
    updated = documents.customer_update(_kashflow_customer(), customer())

    assert (updated["Mobile"], updated["CustHasDeliveryAddress"], updated["DeliveryAddress1"],
            updated["DeliveryAddress3"]) == ("", 0, "", "")
    assert set(documents.CUSTOMER_OWNED_FIELDS) <= updated.keys()


def test_customer_update_of_a_sparse_answer_keeps_it_valid_for_kashflow():
    updated = documents.customer_update({"CustomerID": 5005, "Code": "ODOO42"}, customer())

    assert updated["CustomerID"] == 5005
    assert (updated["EC"], updated["OutsideEC"]) == (0, 0)


# --- Fingerprints ----------------------------------------------------------------------------------------

def test_customer_fingerprint_is_stable_and_ignores_what_kashflow_does_not_get():
    plain = customer()

    assert documents.customer_fingerprint(plain) == documents.customer_fingerprint(customer())
    assert re.fullmatch(r"[0-9a-f]{64}", documents.customer_fingerprint(plain))
    for same in (customer(name="  Jane   Smith "), customer(code="ODOO43"), customer(email="jane@example.com\x0b"),
                 customer(delivery_address=HOME)):
        assert documents.customer_fingerprint(same) == documents.customer_fingerprint(plain), same


@pytest.mark.parametrize("change", [
    {"name": "Jane Smith-Jones"},
    {"contact_name": "Mr J Smith"},
    {"email": "jane@example.org"},
    {"phone": "020 7946 0999"},
    {"mobile": "07700 900123"},
    {"vat": "GB123456789"},
    {"is_company": True},
    {"invoice_address": dataclasses.replace(HOME, street="2 High Street")},
    {"invoice_address": dataclasses.replace(HOME, country_code="IE", country_name="Ireland")},
    {"delivery_address": Address(street="Warehouse 2", city="Leeds")},
])
def test_customer_fingerprint_changes_with_every_field_the_connector_owns(change):
    assert documents.customer_fingerprint(customer(**change)) != documents.customer_fingerprint(customer())


def test_document_fingerprint_is_the_same_whatever_the_decimal_scale():
    plain = order(line("Kettle", "2", "24.99"))
    rescaled_line = LineSnapshot(kind="product", description="Kettle", quantity=Decimal("2.000"),
                                 price_unit=Decimal("24.9900"), discount=Decimal("0.0"), net=Decimal("49.980"),
                                 vat=Decimal("10.0"), vat_rate=Decimal("20.00"))
    rescaled = order(rescaled_line, exchange_rate=Decimal("1.000000"))

    assert documents.document_fingerprint(plain, plain.documents[0]) == documents.document_fingerprint(
        rescaled, rescaled.documents[0])
    assert re.fullmatch(r"[0-9a-f]{64}", documents.document_fingerprint(plain, plain.documents[0]))


def test_document_fingerprint_does_not_change_with_the_customers_details():
    original = order(line("Kettle", "2", "24.99"))
    moved = order(line("Kettle", "2", "24.99"), customer=customer(phone="020 7946 0999", email="j@example.org",
                                                                  invoice_address=Address(street="9 Elm Row")))

    assert documents.document_fingerprint(moved, moved.documents[0]) == documents.document_fingerprint(
        original, original.documents[0])


@pytest.mark.parametrize("change", [
    {"lines": (line("Kettle", "3", "24.99"),)},
    {"lines": (line("Kettle (red)", "2", "24.99"),)},
    {"lines": (line("Kettle", "2", "24.99", vat_rate="5"),)},
    {"lines": (line("Kettle", "2", "24.99", kind="delivery"),)},
    {"currency_code": "EUR"},
    {"exchange_rate": Decimal("1.17")},
    {"date": datetime.date(2025, 3, 15)},
    {"reference": "S00042 INV/2025/00001"},
    {"delivery_address": Address(street="Warehouse 2", city="Leeds")},
    {"kind": CREDIT_NOTE},
    {"include_vat": False},
])
def test_document_fingerprint_changes_when_anything_booked_into_kashflow_changes(change):
    original = order(line("Kettle", "2", "24.99"))
    lines = change.get("lines", original.documents[0].lines)
    changed = order(*lines, **{key: value for key, value in change.items() if key != "lines"})

    assert documents.document_fingerprint(changed, changed.documents[0]) != documents.document_fingerprint(
        original, original.documents[0])


@pytest.mark.parametrize("change", [
    {"amount": Decimal("59.97")}, {"date": datetime.date(2025, 3, 15)}, {"invoice_key": "move:8"},
    {"amount": Decimal("-59.98")},
])
def test_payment_fingerprint_changes_with_its_invoice_amount_and_date(change):
    assert documents.payment_fingerprint(payment(**change)) != documents.payment_fingerprint(payment())


def test_payment_fingerprint_is_the_same_whatever_the_decimal_scale():
    assert documents.payment_fingerprint(payment("59.980")) == documents.payment_fingerprint(payment("59.98"))


# --- Customer codes --------------------------------------------------------------------------------------

@pytest.mark.parametrize("partner_id", [1, 42, 10**15])
def test_customer_code_is_short_uppercase_letters_and_digits(partner_id):
    code = documents.customer_code(partner_id)

    assert re.fullmatch(r"[A-Z0-9]{1,20}", code)
    assert code == f"ODOO{partner_id}"


def test_customer_codes_of_different_partners_differ():
    assert documents.customer_code(42) == "ODOO42"
    assert documents.customer_code(42) != documents.customer_code(420)


@pytest.mark.parametrize(("prefix", "code"), [("SHOP", "SHOP42"), ("shop", "SHOP42"), ("B2B", "B2B42")])
def test_customer_code_takes_the_companys_prefix_in_capitals(prefix, code):
    assert documents.customer_code(42, prefix) == code
    documents.check_customer_code_prefix(prefix)


def test_codes_of_two_prefixes_never_meet():
    # "AB" + 123 and "AB1" + 23 would both be AB123: a prefix must end with a letter.
    assert documents.customer_code(123, "AB") == "AB123"
    with pytest.raises(ValueError, match="ending with a"):
        documents.customer_code(23, "AB1")


@pytest.mark.parametrize("prefix", ["", "AB1", "OD-OO", "OD OO", "ÖDOO", "ABCDEFGHIJK", "_"])
def test_customer_code_prefix_kashflow_would_refuse_is_refused(prefix):
    with pytest.raises(ValueError, match="prefix"):
        documents.check_customer_code_prefix(prefix)
    with pytest.raises(ValueError, match="prefix"):
        documents.customer_code(42, prefix)


@pytest.mark.parametrize("partner_id", [0, -5, True, "42", 10**16])
def test_customer_code_needs_a_real_partner_id(partner_id):
    with pytest.raises(ValueError, match="partner id"):
        documents.customer_code(partner_id)


def test_customer_code_with_a_long_prefix_is_refused_when_it_would_pass_twenty_characters():
    assert documents.customer_code(10**9, "ABCDEFGHIJ") == "ABCDEFGHIJ1000000000"
    with pytest.raises(ValueError, match="too large"):
        documents.customer_code(10**10, "ABCDEFGHIJ")


# --- Payments --------------------------------------------------------------------------------------------

def test_payment_records_the_amount_received_on_the_invoice_with_the_channels_method_and_bank_account():
    snapshot = order(line("Kettle", "2", "24.99"))

    built = documents.payment_document(snapshot, payment("59.976"), invoice_number=315, mapping=MAPPING)

    assert built == {
        "PayID": 0, "PayInvoice": 315, "PayDate": datetime.datetime(2025, 3, 14, 12, 0),
        "PayNote": "Odoo order S00042, payment PBNK1/2025/00007", "PayMethod": 3, "PayAccount": 7,
        "PayAmount": Decimal("59.98"),
    }
    assert type(built["PayDate"]) is datetime.datetime
    assert str(built["PayAmount"]) == "59.98"


def test_refund_is_a_negative_payment_that_says_it_is_a_refund():
    snapshot = order(line("Kettle", "2", "24.99"))
    refund = payment("-24.99", key="payment:10", reference="PBNK1/2025/00011", date=datetime.date(2025, 4, 2))

    built = documents.payment_document(snapshot, refund, invoice_number=315, mapping=MAPPING)

    assert (built["PayAmount"], built["PayNote"]) == (Decimal("-24.99"), "Odoo order S00042, refund PBNK1/2025/00011")
    assert built["PayDate"] == datetime.datetime(2025, 4, 2, 12, 0)
    assert documents.payment_note(snapshot, refund) == built["PayNote"]


def test_money_allocated_to_an_invoice_of_several_orders_names_that_invoice_whichever_order_is_sent():
    paid = payment(allocated_to="invoice INV/2025/00003")
    orders = [dataclasses.replace(order(line("Kettle", "2", "24.99")), name=name) for name in ("S00042", "S00043")]
    notes = {documents.payment_document(snapshot, paid, invoice_number=315, mapping=MAPPING)["PayNote"]
             for snapshot in orders}

    assert notes == {"Odoo invoice INV/2025/00003, payment PBNK1/2025/00007"}


def test_payment_in_a_currency_without_decimals_is_rounded_to_whole_units():
    snapshot = order(line("Kettle", "1", "2500", vat_rate=None), currency_code="JPY",
                     exchange_rate=Decimal("190"), currency_decimals=0)

    built = documents.payment_document(snapshot, payment("2500.4"), invoice_number=315, mapping=MAPPING)

    assert built["PayAmount"] == Decimal("2500")


@pytest.mark.parametrize("amount", ["0", "0.00"])
def test_payment_of_nothing_is_refused(amount):
    with pytest.raises(ValueError, match=r"Payment payment:9 of order S00042 has no amount"):
        documents.payment_document(order(line()), payment(amount), invoice_number=315, mapping=MAPPING)


@pytest.mark.parametrize("invoice_number", [0, -1])
def test_payment_is_never_recorded_against_an_invoice_number_that_is_not_one(invoice_number):
    with pytest.raises(ValueError, match="invoice_number must be the KashFlow invoice number"):
        documents.payment_document(order(line()), payment(), invoice_number=invoice_number, mapping=MAPPING)


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


def _assert_conforms(built, type_name):
    """Every required element is there, no key is unknown to the WSDL, every value has the WSDL's type."""
    elements = _wsdl_type(type_name)
    required = {name for name, (_, is_required, _) in elements.items() if is_required}
    assert required <= built.keys(), f"{type_name} lacks {sorted(required - built.keys())}"
    assert built.keys() <= elements.keys(), f"{type_name} has unknown {sorted(built.keys() - elements)}"
    for name, value in built.items():
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
    lines = (
        line("Kettle", "4", "25.00", discount="10"), line("Pens", "3", "3.3333", net="10.00"),
        line("Stamps", "1", "1.00", vat_rate=None), line("Delivery", "1", "4.99", kind="delivery"),
        line("Promotion", "1", "-5.00", kind="discount"), charge(),
    )
    the_invoice = document(*lines, currency_code="EUR", exchange_rate=Decimal("1.18"), delivery_address=elsewhere)
    the_credit_note = document(*lines[:2], key="move:8", kind=CREDIT_NOTE, currency_code="EUR",
                               exchange_rate=Decimal("1.18"), reference="S00042 RINV/2025/00001", applies_to="order")
    return OrderSnapshot(
        name="S00042", customer=customer(vat="FR40303265045", delivery_address=elsewhere),
        home_currency_code="GBP", include_vat=True, documents=(the_invoice, the_credit_note),
        payments=(payment("100.00"), payment("-20.00", key="payment:10")))


def test_customer_has_every_element_kashflow_requires_with_its_type():
    bare = customer(name="Bo", email="", phone="", invoice_address=Address())

    for partner in (_full_order().customer, bare):
        built = documents.customer_document(partner, source_id=11, now=NOW)
        _assert_conforms(built, "Customer")
        _assert_conforms(documents.customer_update(built, partner), "Customer")
    _assert_conforms(documents.customer_update(_kashflow_customer(), bare), "Customer")


def test_invoices_credit_notes_and_their_lines_have_every_element_kashflow_requires_with_its_type():
    full = _full_order()
    for snapshot, which in [(full, full.documents[0]), (full, full.documents[1]), (order(line()), None)]:
        built = invoice(snapshot, which)
        _assert_conforms(built, "Invoice")
        for item in built["Lines"]:
            _assert_conforms(item, "InvoiceLine")
        if "DeliveryAddress" in built:
            _assert_conforms(built["DeliveryAddress"], "DeliveryAddress")


def test_payments_and_refunds_have_every_element_kashflow_requires_with_its_type():
    full = _full_order()
    for item in full.payments:
        _assert_conforms(documents.payment_document(full, item, invoice_number=315, mapping=MAPPING), "Payment")
