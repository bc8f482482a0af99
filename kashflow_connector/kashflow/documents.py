"""The KashFlow documents for a paid Odoo sale order: customer, invoice and payment.

Pure functions turn the neutral order snapshot (``snapshot.py``) into the dicts the SOAP client sends as
KashFlow's ``Customer``, ``Invoice`` (its ``Lines`` a list of ``InvoiceLine`` dicts) and ``Payment``. Keys
are the element names of those WSDL types, and every element the WSDL marks ``minOccurs="1"`` is present,
because zeep refuses a message with a required element missing.

Money stays ``Decimal`` from the order to the message. KashFlow keeps a line's unit ``Rate`` to two
decimal places only, so a line whose amount is not its quantity times a two-decimal rate is sent as one
unit at the line amount, its quantity and unit price written into the description. Before an invoice is
returned its totals are checked against the order's: an invoice that would not add up to what the order
says raises ``TotalsMismatch`` and nothing is sent.

Dates are naive ``datetime`` values at midday: zeep writes a ``date`` as a date-only value, which
KashFlow's ``dateTime`` fields reject, and a time zone could shift the day (API_FACTS.md, section 4.4).

This module imports nothing from Odoo or zeep and does no I/O.
"""

import dataclasses
import datetime
import hashlib
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from .snapshot import Address, CustomerSnapshot, LineSnapshot, Mapping, OrderSnapshot

MAX_DESCRIPTION = 500
"""Longest line description sent. KashFlow publishes no field lengths; this is a defensive limit."""

CUSTOMER_CODE_PREFIX = "ODOO"
CUSTOMER_CODE_MAX_LENGTH = 20
"""KashFlow publishes no limit on customer codes; 20 uppercase letters and digits are known to work."""

KASHFLOW_DECIMALS = 2
"""Decimal places KashFlow keeps on money, notably on a line's unit ``Rate`` (API_FACTS.md, section 4.5)."""

LINE_KINDS = ("product", "delivery", "discount")

EU_COUNTRY_CODES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT",
    "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})
"""The 27 EU member states (ISO 3166-1 alpha-2; Greece as GR)."""

UK_VAT_COUNTRY_CODES = frozenset({"GB", "IM"})
"""Countries in the UK VAT area: the United Kingdom and the Isle of Man, which HMRC treats as part of it."""

_CENT = Decimal("0.01")
_UNIT_PRICE_STEP = Decimal("0.0001")
_MIDDAY = datetime.time(12, 0)
_KIND_LABELS = {"product": "Item", "delivery": "Delivery", "discount": "Discount"}
_CUSTOMER_ADDRESS_FIELDS = (
    "Address1", "Address2", "Address3", "Address4", "Postcode", "CountryName", "CountryCode",
)
_CUSTOMER_DELIVERY_FIELDS = (
    "DeliveryAddress1", "DeliveryAddress2", "DeliveryAddress3", "DeliveryAddress4",
    "DeliveryPostcode", "DeliveryCountryName", "DeliveryCountryCode",
)
_INVOICE_DELIVERY_FIELDS = ("Line1", "Line2", "Line3", "Line4", "PostCode", "CountryName", "CountryCode")


class DocumentError(ValueError):
    """The order cannot be booked into KashFlow as it stands; the message says why and what to fix."""


class Totals(NamedTuple):
    """Net, VAT and gross amounts, of an order or of the invoice built for it."""

    net: Decimal
    vat: Decimal
    gross: Decimal


class TotalsMismatch(DocumentError):
    """The invoice built from an order's lines does not add up to the order's totals.

    ``order_totals`` and ``invoice_totals`` hold both sets of figures; the message shows them.
    """

    def __init__(self, order: OrderSnapshot, invoice_totals: Totals):
        self.order_totals = Totals(order.amount_untaxed, order.amount_tax, order.amount_total)
        self.invoice_totals = invoice_totals
        currency = order.currency_code.strip().upper()
        vat_note = "" if order.include_vat else (
            " VAT is switched off for KashFlow (the company is not VAT-registered there), so the invoice"
            " carries no VAT and its total must equal the order's total."
        )
        super().__init__(
            f"Order {order.name}: the KashFlow invoice built from its lines does not add up to the order's"
            f" totals, so nothing was sent to KashFlow.{vat_note}\n"
            f"  Order:   {_format_totals(self.order_totals, currency, order.currency_decimals)}\n"
            f"  Invoice: {_format_totals(invoice_totals, currency, order.currency_decimals)}\n"
            "Check the order's lines and taxes in Odoo (a tax that is not a plain percentage can cause"
            " this), correct the order, then send it to KashFlow again."
        )


def customer_code(partner_id: int) -> str:
    """The KashFlow customer code for an Odoo commercial contact, e.g. ``ODOO42``.

    KashFlow refuses codes with special characters, so the code is uppercase letters and digits only,
    and at most ``CUSTOMER_CODE_MAX_LENGTH`` characters long.
    """
    if isinstance(partner_id, bool) or not isinstance(partner_id, int) or partner_id <= 0:
        raise ValueError(f"A KashFlow customer code needs a positive Odoo partner id, not {partner_id!r}.")
    code = f"{CUSTOMER_CODE_PREFIX}{partner_id}"
    if len(code) > CUSTOMER_CODE_MAX_LENGTH:
        raise ValueError(f"Odoo partner id {partner_id} is too large for a KashFlow customer code.")
    return code


def customer_document(
    customer: CustomerSnapshot,
    *,
    source_id: int,
    customer_id: int = 0,
    currency_id: int = 0,
    now: datetime.datetime,
) -> dict:
    """A KashFlow ``Customer`` for ``InsertCustomer`` (``customer_id`` 0) or ``UpdateCustomer``.

    ``EC``/``OutsideEC`` tell KashFlow how to treat VAT on sales to the customer: EC when the customer
    has a VAT number and an EU country, outside the EC when it has a VAT number and a country outside
    the EU and the UK VAT area, domestic (0/0) otherwise. Optional text fields that are empty are left
    out. ``now`` (naive) fills ``Created`` and ``Updated``, which KashFlow requires but manages itself.
    """
    name = _clean(customer.name)
    if not name:
        raise DocumentError(
            f"The Odoo customer with KashFlow code {customer.code} has no name. Enter the customer's name"
            " (or company name) on the contact in Odoo, then send the order to KashFlow again."
        )
    code = customer.code.strip()
    if not (code.isascii() and code.isalnum()):
        raise DocumentError(
            f"The KashFlow customer code {code!r} of {name} is not valid: KashFlow accepts only letters and"
            " digits. Correct the customer code, then send the order to KashFlow again."
        )
    if now.tzinfo is not None:
        raise ValueError("Created/Updated must be naive datetimes: KashFlow shifts zoned times.")
    country = _iso_country(customer.invoice_address.country_code)
    vat_number = _clean(customer.vat)
    delivery = _delivery_address(customer)
    return {
        "CustomerID": customer_id,
        "Code": code,
        "Name": name,
        **_non_empty({
            "Contact": _clean(customer.contact_name) or ("" if customer.is_company else name),
            "Telephone": _clean(customer.phone),
            "Mobile": _clean(customer.mobile),
            "Email": _clean(customer.email),
        }),
        **_address_fields(_CUSTOMER_ADDRESS_FIELDS, customer.invoice_address),
        "EC": int(bool(vat_number) and country in EU_COUNTRY_CODES),
        "OutsideEC": int(
            bool(vat_number) and bool(country)
            and country not in EU_COUNTRY_CODES and country not in UK_VAT_COUNTRY_CODES
        ),
        "Source": source_id,
        "Discount": Decimal(0),
        "ShowDiscount": False,
        "PaymentTerms": 0,
        **{f"CheckBox{number}": 0 for number in range(1, 21)},
        "Created": now,
        "Updated": now,
        "CurrencyID": currency_id,
        "CustHasDeliveryAddress": int(delivery is not None),
        **(_address_fields(_CUSTOMER_DELIVERY_FIELDS, delivery) if delivery is not None else {}),
        **_non_empty({"VATNumber": vat_number}),
    }


def invoice_document(
    order: OrderSnapshot,
    *,
    customer_id: int,
    mapping: Mapping,
    invoice_number: int = 0,
    invoice_id: int = 0,
) -> dict:
    """A KashFlow ``Invoice`` for the order, its ``Lines`` a list of ``InvoiceLine`` dicts.

    ``invoice_number`` 0 lets KashFlow number the invoice; ``invoice_id`` (``InvoiceDBID``) is 0 on insert.
    ``customer_id`` is the KashFlow ``CustomerID`` (0 only to check an order before its customer exists).
    The read-only header totals and ``Paid`` are sent as 0: KashFlow computes them from the lines and
    from the payment recorded separately (``payment_document``).

    Raises ``DocumentError`` when the order cannot be invoiced as it is, and ``TotalsMismatch`` when the
    lines would not add up to the order's totals.
    """
    currency = _currency_code(order)
    customer_name = _clean(order.customer.name)
    if not customer_name:
        raise DocumentError(
            f"The customer of order {order.name} has no name. Enter the customer's name (or company name)"
            " on the contact in Odoo, then send the order to KashFlow again."
        )
    if order.currency_decimals > KASHFLOW_DECIMALS:
        raise DocumentError(
            f"Order {order.name} is in {currency}, which has {order.currency_decimals} decimal places;"
            f" KashFlow keeps amounts to {KASHFLOW_DECIMALS}, so the order cannot be booked exactly."
            " Book it in KashFlow by hand."
        )
    foreign = currency != order.home_currency_code.strip().upper()
    if foreign and order.exchange_rate <= 0:
        raise DocumentError(
            f"Order {order.name} is in {currency} but has no exchange rate to {order.home_currency_code}."
            f" Set a rate for {currency} in Odoo's currency settings, then send the order to KashFlow again."
        )
    lines = _invoice_lines(order, mapping, foreign)
    _check_totals(order, lines)
    invoice_date = _midday(order.date_paid)
    delivery = _delivery_address(order.customer)
    return {
        "InvoiceDBID": invoice_id,
        "InvoiceNumber": invoice_number,
        "InvoiceDate": invoice_date,
        "DueDate": invoice_date,
        "Customer": customer_name,
        "CustomerID": customer_id,
        "Paid": 0,
        "CustomerReference": order.name,
        "SuppressTotal": 0,
        "ProjectID": 0,
        "CurrencyCode": currency,
        "ExchangeRate": _plain(order.exchange_rate) if foreign else Decimal(1),
        "Lines": lines,
        "NetAmount": Decimal(0),
        "VATAmount": Decimal(0),
        "AmountPaid": Decimal(0),
        **({"DeliveryAddress": {"Name": customer_name, **_address_fields(_INVOICE_DELIVERY_FIELDS, delivery)}}
           if delivery is not None else {}),
        "UseCustomDeliveryAddress": delivery is not None,
        "CISRCNetAmount": None,
        "CISRCVatAmount": None,
        "IsCISReverseCharge": None,
    }


def payment_document(order: OrderSnapshot, *, invoice_number: int, mapping: Mapping) -> dict:
    """A KashFlow ``Payment`` of the amount paid on the order, against invoice ``invoice_number``.

    The amount is in the order's currency, like the invoice lines.
    """
    if invoice_number <= 0:
        raise ValueError(f"invoice_number must be the KashFlow invoice number, not {invoice_number!r}.")
    if order.amount_paid <= 0:
        raise DocumentError(
            f"Order {order.name} shows no amount paid ({order.amount_paid}), so there is no payment to record"
            " in KashFlow. Register the customer's payment on the order in Odoo first."
        )
    return {
        "PayID": 0,
        "PayInvoice": invoice_number,
        "PayDate": _midday(order.date_paid),
        "PayNote": f"Odoo order {order.name}",
        "PayMethod": mapping.payment_method_id,
        "PayAccount": mapping.bank_account_id,
        "PayAmount": order.amount_paid.quantize(Decimal(1).scaleb(-order.currency_decimals), ROUND_HALF_UP),
    }


def fingerprint(order: OrderSnapshot) -> str:
    """A SHA-256 hex digest of everything about the order that ends up in KashFlow.

    It covers the customer (details and addresses), the lines, the amounts, the currency and rate, the
    paid day and whether VAT is included, in a canonical JSON form: an order whose fingerprint changed
    must be sent again, one whose fingerprint did not need not be. Decimals count by value only
    (``1.0`` and ``1.00`` are the same), and the paid date counts by its day only.
    """
    canonical = json.dumps(
        dataclasses.asdict(order), default=_canonical_value, sort_keys=True, separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _invoice_lines(order: OrderSnapshot, mapping: Mapping, foreign: bool) -> list[dict]:
    """The ``InvoiceLine`` dicts, numbered from 1, without lines that have neither quantity nor amount."""
    billable = [line for line in order.lines if line.quantity or line.price_subtotal or line.price_total]
    if not billable:
        raise DocumentError(
            f"Order {order.name} has no lines to put on a KashFlow invoice. Add what was sold to the order"
            " in Odoo, then send it to KashFlow again."
        )
    return [_invoice_line(order, line, mapping, sort, foreign) for sort, line in enumerate(billable, start=1)]


def _invoice_line(
    order: OrderSnapshot, line: LineSnapshot, mapping: Mapping, sort: int, foreign: bool,
) -> dict:
    """One ``InvoiceLine``: net amount and VAT when VAT is included, else the gross amount and no VAT.

    With VAT included, a line without a VAT rate is exempt (``VatRate`` -1); VAT on a line without a
    percentage rate (a fixed-amount tax, say) cannot be recorded in KashFlow and is refused.
    """
    if line.kind not in LINE_KINDS:
        raise ValueError(f"Unknown line kind {line.kind!r}; expected one of {', '.join(LINE_KINDS)}.")
    if not order.include_vat:
        amount, vat_rate, vat_amount = line.price_total, Decimal(0), Decimal(0)
    elif line.price_tax and not line.vat_rate:
        raise DocumentError(
            f"On order {order.name}, the line {_clean(line.description)!r} carries VAT of {line.price_tax}"
            " but no VAT rate KashFlow can record. Give the line a percentage VAT tax in Odoo, then send"
            " the order to KashFlow again."
        )
    else:
        vat_rate = Decimal(-1) if line.vat_rate is None else _plain(line.vat_rate)
        amount, vat_amount = line.price_subtotal, line.price_tax
    quantity, rate, unit_note = _quantity_and_rate(line.quantity, amount)
    document = {
        "Quantity": quantity,
        "Description": _line_description(line, unit_note),
        "Rate": rate,
        "ChargeType": mapping.delivery_nominal_id if line.kind == "delivery" else mapping.goods_nominal_id,
        "VatRate": vat_rate,
        "VatAmount": vat_amount,
        "ProductID": 0,
        "Sort": sort,
        "ProjID": 0,
        "LineID": 0,
    }
    if foreign:
        document["ValuesInCurrency"] = 1
    return document


def _quantity_and_rate(quantity: Decimal, amount: Decimal) -> tuple[Decimal, Decimal, str]:
    """The ``Quantity`` and two-decimal ``Rate`` whose product is exactly ``amount``, and a note.

    The quantity is kept, made positive (a negative line has a negative rate), when a two-decimal rate
    times it gives the amount exactly. Otherwise the line is one unit at the amount, and the note gives
    the real quantity and unit price for the description. A line without quantity is one unit too.
    """
    if not quantity:
        return Decimal(1), amount, ""
    count = abs(quantity)
    rate = _round_cent(amount / count)
    if rate * count == amount:
        return _plain(count), rate, ""
    return Decimal(1), amount, f"{_plain(count)} × {_unit_price(amount / count)}"


def _line_description(line: LineSnapshot, unit_note: str) -> str:
    """The line's text on one line, with its discount and unit note, cut to ``MAX_DESCRIPTION``."""
    text = _clean(line.description) or _clean(line.product_code) or _KIND_LABELS[line.kind]
    notes = [f"{_plain(line.discount)}% discount"] if line.discount else []
    if unit_note:
        notes.append(unit_note)
    suffix = "".join(f" ({note})" for note in notes)
    room = MAX_DESCRIPTION - len(suffix)
    if len(text) > room:
        text = text[: room - 1].rstrip() + "…"
    return text + suffix


def _check_totals(order: OrderSnapshot, lines: list[dict]) -> None:
    """Raise ``TotalsMismatch`` unless the invoice lines add up to the order's totals.

    A line's net is KashFlow's: its rate times its quantity, rounded to two decimals. With VAT included
    the invoice's net, VAT and gross must equal the order's; without (the lines then carry no VAT), its
    gross must equal the order's total.
    """
    net = sum((_round_cent(line["Rate"] * line["Quantity"]) for line in lines), Decimal(0))
    vat = sum((line["VatAmount"] for line in lines), Decimal(0))
    invoice = Totals(net, vat, net + vat)
    if order.include_vat:
        matches = invoice == (order.amount_untaxed, order.amount_tax, order.amount_total)
    else:
        matches = invoice.gross == order.amount_total
    if not matches:
        raise TotalsMismatch(order, invoice)


def _currency_code(order: OrderSnapshot) -> str:
    """The order's ISO 4217 currency code in capitals, or ``DocumentError`` if it is not three letters."""
    code = order.currency_code.strip().upper()
    if len(code) != 3 or not (code.isascii() and code.isalpha()):
        raise DocumentError(
            f"Order {order.name} is in currency {order.currency_code!r}, which is not a three-letter"
            " currency code such as GBP or EUR. Check the order's currency in Odoo, then send it to"
            " KashFlow again."
        )
    return code


def _delivery_address(customer: CustomerSnapshot) -> Address | None:
    """The customer's delivery address when it has one that differs from the invoice address."""
    delivery = customer.delivery_address
    if delivery is None or not any(_address_parts(delivery)):
        return None
    if _address_parts(delivery) == _address_parts(customer.invoice_address):
        return None
    return delivery


def _address_fields(names: tuple[str, ...], address: Address) -> dict[str, str]:
    """The non-empty parts of ``address`` under the element ``names`` of one KashFlow address layout."""
    return _non_empty(dict(zip(names, _address_parts(address), strict=True)))


def _address_parts(address: Address) -> tuple[str, ...]:
    """Four address lines, postcode, country name and KashFlow country code, each cleaned."""
    return (
        _clean(address.street),
        _clean(address.street2),
        _clean(address.city),
        _clean(address.state),
        _clean(address.zip),
        _clean(address.country_name),
        _kashflow_country(address.country_code),
    )


def _iso_country(code: str) -> str:
    """An ISO 3166-1 alpha-2 country code in capitals; KashFlow's ``EL`` for Greece becomes ``GR``."""
    code = code.strip().upper()
    return "GR" if code == "EL" else code


def _kashflow_country(code: str) -> str:
    """The country code KashFlow uses: ISO 3166-1 alpha-2, except ``EL`` for Greece."""
    code = _iso_country(code)
    return "EL" if code == "GR" else code


def _clean(text: str) -> str:
    """``text`` on one line, runs of whitespace (newlines too) made single spaces, ends stripped."""
    return " ".join(text.split())


def _non_empty(fields: dict[str, str]) -> dict[str, str]:
    """``fields`` without its empty values: KashFlow has rejected requests carrying empty strings."""
    return {name: value for name, value in fields.items() if value}


def _midday(day: datetime.date) -> datetime.datetime:
    """Naive midday on ``day``, so no time-zone shift can move it to another day."""
    return datetime.datetime.combine(day, _MIDDAY)


def _round_cent(value: Decimal) -> Decimal:
    """``value`` rounded half up to two decimal places, as KashFlow rounds money."""
    return value.quantize(_CENT, ROUND_HALF_UP)


def _plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros or exponent (``20.00`` is ``20``, ``1.50`` is ``1.5``, -0 is 0)."""
    if not value:
        return Decimal(0)
    value = value.normalize()
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value


def _unit_price(value: Decimal) -> Decimal:
    """A unit price for a description: four decimal places at most, two at least (``3.3333``, ``5.00``)."""
    value = value.quantize(_UNIT_PRICE_STEP, ROUND_HALF_UP).normalize()
    return value if value.as_tuple().exponent <= -2 else value.quantize(_CENT)


def _format_totals(totals: Totals, currency: str, places: int) -> str:
    """``net GBP 100.00, VAT GBP 20.00, total GBP 120.00``."""
    net, vat, gross = (f"{currency} {amount:,.{places}f}" for amount in totals)
    return f"net {net}, VAT {vat}, total {gross}"


def _canonical_value(value: object) -> str:
    """JSON text for the values ``json`` cannot write: decimals by value, dates by day."""
    if isinstance(value, Decimal):
        return str(_plain(value))
    if isinstance(value, datetime.date):
        return f"{value:%Y-%m-%d}"
    raise TypeError(f"Cannot fingerprint a {type(value).__name__}.")
