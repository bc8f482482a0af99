"""The KashFlow documents for a paid Odoo sale order: customer, invoices, credit notes and payments.

Pure functions turn the neutral snapshot (``snapshot.py``) into the dicts the SOAP client sends as
KashFlow's ``Customer``, ``Invoice`` (its ``Lines`` a list of ``InvoiceLine`` dicts) and ``Payment``. Keys
are the element names of those WSDL types, and every element the WSDL marks ``minOccurs="1"`` is present,
because zeep refuses a message with a required element missing.

Money stays ``Decimal`` from Odoo to the message. KashFlow keeps a line's unit ``Rate`` to two decimal
places only, so a line whose amount is not its quantity times a two-decimal rate is sent as one unit at the
line amount, its quantity and unit price written into the description. KashFlow has no credit-note call: a
credit note is an invoice whose lines have a negative ``Rate`` and ``VatAmount`` and a positive
``Quantity`` (as aypex-io/spree-kashflow books them; KashFlow's knowledge base on refunds). Before a document
is returned its totals are checked against Odoo's: one that would not add up raises ``TotalsMismatch`` and
nothing is sent.

Text goes to KashFlow on one line, without the characters XML 1.0 cannot carry (control characters, say,
from an import): they are dropped wherever text is sent. Any other character goes as it is (emoji, CJK,
right-to-left scripts, ``& < > " '``: zeep escapes what XML needs escaped). KashFlow publishes no field
lengths, so the connector keeps to its own table (``FIELD_LIMITS``): free text longer than its field (a
name, an address line, a line's description) is cut, ending with "…"; a value that would be wrong once cut
(an email address, a postcode, a phone or VAT number, the order's reference) is refused with a message that
says what to shorten.

Dates are naive ``datetime`` values at midday: zeep writes a ``date`` as a date-only value, which
KashFlow's ``dateTime`` fields reject, and a time zone could shift the day (a zoned or date-only value was
refused live: aypex-io/spree-kashflow's changelog, 0.1.2).

This module imports nothing from Odoo or zeep and does no I/O.
"""

import dataclasses
import datetime
import hashlib
import json
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from .snapshot import (
    CREDIT_NOTE,
    LINE_KINDS,
    Address,
    CustomerSnapshot,
    InvoiceSnapshot,
    LineSnapshot,
    Mapping,
    OrderSnapshot,
    PaymentSnapshot,
    key_role,
)
from .words import Phrase, _lt, phrase, phrase_of

FIELD_LIMITS = {
    "Customer": {
        "Code": 20, "Name": 100, "Contact": 100, "Telephone": 50, "Mobile": 50, "Email": 255,
        "Address1": 100, "Address2": 100, "Address3": 100, "Address4": 100, "Postcode": 20,
        "CountryName": 100, "CountryCode": 2,
        "DeliveryAddress1": 100, "DeliveryAddress2": 100, "DeliveryAddress3": 100, "DeliveryAddress4": 100,
        "DeliveryPostcode": 20, "DeliveryCountryName": 100, "DeliveryCountryCode": 2, "VATNumber": 30,
    },
    "Invoice": {"CustomerReference": 100, "CurrencyCode": 3},
    "DeliveryAddress": {
        "Name": 100, "Line1": 100, "Line2": 100, "Line3": 100, "Line4": 100, "PostCode": 20, "CountryName": 100,
        "CountryCode": 2,
    },
    "InvoiceLine": {"Description": 500},
    "Payment": {"PayNote": 255},
}
"""The longest text the connector sends in each text field of each KashFlow type, in UTF-16 code units
(``text_length``). KashFlow publishes no field lengths and its WSDL has no facets: these are conservative
guesses, long enough for real names, addresses and numbers (an email address has at most 254 characters;
aypex-io/spree-kashflow, tested against live KashFlow, keeps customer codes to 20) and short enough that
KashFlow is unlikely to refuse them. KashFlow runs on .NET, whose strings count UTF-16 code units, so an emoji counts 2.
The sandbox enforces the same table (``kashflow_sandbox/limits.py``; ``tests/test_field_limits.py`` checks the
two agree). Fields not listed are not sent, or not limited."""

TEXT_FIELDS = frozenset({
    "Name", "Contact", "Address1", "Address2", "Address3", "Address4", "CountryName", "DeliveryAddress1",
    "DeliveryAddress2", "DeliveryAddress3", "DeliveryAddress4", "DeliveryCountryName", "Line1", "Line2", "Line3",
    "Line4", "Description",
})
"""The fields of ``FIELD_LIMITS`` that hold free text: longer text is cut to fit, ending with "…". A value of any
other field that does not fit (a code, reference, email address, phone or VAT number, postcode) is refused:
cut, it would be wrong, or a reference that finds a document again after a lost answer would no longer be it."""

ELLIPSIS = "…"

MAX_DESCRIPTION = FIELD_LIMITS["InvoiceLine"]["Description"]
"""Longest line description sent (see ``FIELD_LIMITS``)."""

DEFAULT_CUSTOMER_CODE_PREFIX = "ODOO"
CUSTOMER_CODE_MAX_LENGTH = FIELD_LIMITS["Customer"]["Code"]
"""KashFlow publishes no limit on customer codes; 20 uppercase letters and digits are known to work."""

KASHFLOW_DECIMALS = 2
"""Decimal places KashFlow keeps on money, notably on a line's unit ``Rate`` (reliable to 2 places only, as
woocommerce-kashflow (websnail) reports)."""

VAT_EXEMPT = Decimal(-1)
"""KashFlow's ``VatRate`` for a line without VAT ("N/A", exempt)."""

EU_COUNTRY_CODES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT",
    "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})
"""The 27 EU member states (ISO 3166-1 alpha-2; Greece as GR)."""

UK_VAT_COUNTRY_CODES = frozenset({"GB", "IM"})
"""Countries in the UK VAT area: the United Kingdom and the Isle of Man, which HMRC treats as part of it."""

NORTHERN_IRELAND_COUNTIES = frozenset({"antrim", "armagh", "down", "fermanagh", "londonderry", "derry", "tyrone"})
"""Odoo's states of the United Kingdom that are in Northern Ireland (its six counties, "County " left off)."""

_CENT = Decimal("0.01")
_UNIT_PRICE_STEP = Decimal("0.0001")
_MIDDAY = datetime.time(12, 0)
_KIND_LABELS = {"product": "Item", "delivery": "Delivery", "discount": "Discount", "charge": "Charge"}
_CUSTOMER_ADDRESS_FIELDS = (
    "Address1", "Address2", "Address3", "Address4", "Postcode", "CountryName", "CountryCode",
)
_CUSTOMER_DELIVERY_FIELDS = (
    "DeliveryAddress1", "DeliveryAddress2", "DeliveryAddress3", "DeliveryAddress4",
    "DeliveryPostcode", "DeliveryCountryName", "DeliveryCountryCode",
)
_INVOICE_DELIVERY_FIELDS = ("Line1", "Line2", "Line3", "Line4", "PostCode", "CountryName", "CountryCode")
# What XML 1.0 cannot carry: C0 controls but tab, line feed and carriage return; lone surrogates; U+FFFE/F.
_ZERO_WIDTH_JOINER = "\u200d"
# Characters XML 1.0 cannot carry: the control characters that separate (vertical tab, form feed, the file, group,
# record and unit separators: a line break in a spreadsheet cell, say) stand for a space, the others are dropped.
_XML_SEPARATORS = re.compile("[\x0b\x0c\x1c-\x1f]")
_NOT_XML = re.compile("[\x00-\x08\x0e-\x1b\x7f\ud800-\udfff\ufffe\uffff]")  # DEL too: no XML 1.0 error, but no text

CUSTOMER_OWNED_FIELDS = (
    "Name", "Contact", "Telephone", "Mobile", "Email", *_CUSTOMER_ADDRESS_FIELDS, "EC", "OutsideEC",
    "CustHasDeliveryAddress", *_CUSTOMER_DELIVERY_FIELDS, "VATNumber",
)
"""The customer fields the connector keeps in step with Odoo. Every other field (payment terms, discount,
check boxes, source, currency, notes...) is the bookkeeper's: set once when the customer is created, and
never sent again."""


class DocumentError(ValueError):
    """The order cannot be booked into KashFlow as it stands; the message says why and what to fix (``phrase``, a
    ``words.Phrase`` the Odoo layer translates; ``str()`` its English text)."""

    def __init__(self, message):
        self.phrase = phrase_of(message)
        super().__init__(str(self.phrase))


class Totals(NamedTuple):
    """Net, VAT and gross amounts, of an Odoo document or of the KashFlow document built for it."""

    net: Decimal
    vat: Decimal
    gross: Decimal


class TotalsMismatch(DocumentError):
    """The KashFlow document built from an Odoo document's lines does not add up to its totals.

    ``odoo_totals`` and ``kashflow_totals`` hold both sets of figures; the message shows them.
    """

    def __init__(self, order: OrderSnapshot, document: InvoiceSnapshot, kashflow_totals: Totals):
        self.odoo_totals = Totals(document.amount_net, document.amount_vat, document.amount_total)
        self.kashflow_totals = kashflow_totals
        currency = document.currency_code.strip().upper()
        vat_note = Phrase("") if order.include_vat else phrase(_lt(
            " VAT is switched off for KashFlow (the company is not VAT-registered there), so the document carries no "
            "VAT and its total must equal Odoo's total."))
        super().__init__(phrase(_lt(
            "%(document)s: the KashFlow document built from its lines does not add up to its totals in Odoo, so "
            "nothing was sent to KashFlow.%(vat_note)s\n  Odoo:     %(odoo)s\n  KashFlow: %(kashflow)s\nCheck the "
            "lines and taxes in Odoo, correct them, then send the order to KashFlow again."),
            document=_document_label(order, document), vat_note=vat_note,
            odoo=_format_totals(self.odoo_totals, currency, order.currency_decimals),
            kashflow=_format_totals(kashflow_totals, currency, order.currency_decimals)))


def customer_code(partner_id: int, prefix: str = DEFAULT_CUSTOMER_CODE_PREFIX) -> str:
    """The KashFlow customer code for an Odoo commercial contact: ``prefix`` then its id, e.g. ``ODOO42``.

    KashFlow refuses codes with special characters, so the code is uppercase letters and digits only, at
    most ``CUSTOMER_CODE_MAX_LENGTH`` characters. ``prefix`` must end with a letter, so that the codes of two
    prefixes can never meet (``AB1`` + ``23`` and ``AB12`` + ``3``). Raises ``ValueError`` otherwise.
    """
    if isinstance(partner_id, bool) or not isinstance(partner_id, int) or partner_id <= 0:
        raise ValueError(f"A KashFlow customer code needs a positive Odoo partner id, not {partner_id!r}.")
    check_customer_code_prefix(prefix)
    code = f"{prefix.upper()}{partner_id}"
    if len(code) > CUSTOMER_CODE_MAX_LENGTH:
        raise ValueError(f"Odoo partner id {partner_id} is too large for a KashFlow customer code.")
    return code


def check_customer_code_prefix(prefix: str) -> None:
    """Raise ``ValueError`` unless ``prefix`` is 1-10 ASCII letters and digits ending with a letter."""
    if not (prefix and len(prefix) <= 10 and prefix.isascii() and prefix.isalnum() and prefix[-1].isalpha()):
        raise ValueError(
            f"The KashFlow customer code prefix {prefix!r} must be 1 to 10 letters and digits ending with a"
            " letter (KashFlow accepts no other characters in a customer code).")


def customer_document(
    customer: CustomerSnapshot,
    *,
    source_id: int,
    customer_id: int = 0,
    currency_id: int = 0,
    now: datetime.datetime,
) -> dict:
    """A KashFlow ``Customer`` for ``InsertCustomer`` (``customer_id`` 0): the connector's fields
    (``customer_fields``) and KashFlow's defaults for the others.

    ``now`` (naive) fills ``Created`` and ``Updated``, which KashFlow requires but manages itself.
    """
    if now.tzinfo is not None:
        raise ValueError("Created/Updated must be naive datetimes: KashFlow shifts zoned times.")
    return {
        "CustomerID": customer_id,
        "Code": _checked_code(customer),
        **customer_fields(customer),
        "Source": source_id,
        "Discount": Decimal(0),
        "ShowDiscount": False,
        "PaymentTerms": 0,
        **{f"CheckBox{number}": 0 for number in range(1, 21)},
        "Created": now,
        "Updated": now,
        "CurrencyID": currency_id,
    }


def customer_update(current: dict, customer: CustomerSnapshot) -> dict:
    """The KashFlow customer ``current`` (as ``GetCustomerByID`` returned it) with the connector's fields
    replaced by Odoo's, for ``UpdateCustomer``: everything else stays as KashFlow holds it.

    A field of the connector's that Odoo no longer fills is cleared.
    """
    owned = customer_fields(customer)
    merged = {name: value for name, value in current.items() if name not in CUSTOMER_OWNED_FIELDS}
    return {**merged, **{name: owned.get(name, "") for name in CUSTOMER_OWNED_FIELDS}}


def customer_fields(customer: CustomerSnapshot) -> dict:
    """The fields of a KashFlow ``Customer`` the connector owns, from Odoo's contact (empty ones left out), each
    fitted to ``FIELD_LIMITS``.

    ``EC``/``OutsideEC`` say where the customer is VAT-registered, as KashFlow's post-2021 (PVA) rules for a
    UK-based account read them (``EC`` 1: "VAT registered in an EC member state", ``OutsideEC`` 1: "outside the
    EC", both 0: "Domestic"); KashFlow applies the VAT rules of the day to them. The country is that of the
    invoice address:

    - United Kingdom (Northern Ireland included: it is in the UK VAT area, and an ``XI`` VAT number is a UK
      one) and the Isle of Man: 0/0, with or without a VAT number;
    - an EU member state, with a VAT number: 1/0 (EC);
    - an EU member state, without a VAT number (a consumer): 0/0; KashFlow's flags are for VAT-registered
      customers;
    - any other country, with a VAT number: 0/1 (outside the EC); without one: 0/0;
    - no country: 0/0.

    The VAT of each line is never derived from these: it is Odoo's (its fiscal positions make an export 0%).
    One case cannot be told to KashFlow through these fields: a seller in Northern Ireland with a customer
    VAT-registered in the EU, whom KashFlow books as ``NIEU`` (a value of its newer ``TradeBorderType``, set only
    through ``InsertCustomer2``/``UpdateCustomer2``). Such a customer is refused with a message, rather than
    sent as ``EC``, which KashFlow's VAT return would read wrongly.
    """
    name = _clean(customer.name)
    if not name:
        raise DocumentError(phrase(_lt(
            "The Odoo customer with KashFlow code %(code)s has no name. Enter the customer's name (or company "
            "name) on the contact in Odoo, then send the order to KashFlow again."), code=customer.code))
    country = _iso_country(customer.invoice_address.country_code)
    vat_number = _clean(customer.vat)
    ec = bool(vat_number) and country in EU_COUNTRY_CODES
    if ec and customer.seller_in_northern_ireland:
        raise DocumentError(phrase(_lt(
            "%(name)s is VAT-registered in the EU (%(vat)s) and your company is in Northern Ireland: KashFlow "
            "books such a customer with the trade border type NIEU, which the KashFlow calls the connector uses "
            "cannot set. Book this order in KashFlow by hand; the connector has sent nothing of it."),
            name=name, vat=vat_number))
    delivery = _delivery_address(customer.delivery_address, customer.invoice_address)
    fields = {
        "Name": name,
        **_non_empty({
            "Contact": _clean(customer.contact_name) or ("" if customer.is_company else name),
            "Telephone": _clean(customer.phone),
            "Mobile": _clean(customer.mobile),
            "Email": _clean(customer.email),
        }),
        **_address_fields(_CUSTOMER_ADDRESS_FIELDS, customer.invoice_address),
        "EC": int(ec),
        "OutsideEC": int(
            bool(vat_number) and bool(country)
            and country not in EU_COUNTRY_CODES and country not in UK_VAT_COUNTRY_CODES
        ),
        "CustHasDeliveryAddress": int(delivery is not None),
        **(_address_fields(_CUSTOMER_DELIVERY_FIELDS, delivery) if delivery is not None else {}),
        **_non_empty({"VATNumber": vat_number}),
    }
    return _fitted("Customer", fields, owner=phrase(_lt("the contact %(name)s"), name=fit_text(name, 60)),
                   fix=phrase(_lt("Correct it on the contact in Odoo, then send the order to KashFlow again.")))


def is_northern_ireland(address: Address, vat: str = "") -> bool:
    """Whether ``address`` (with the VAT number ``vat``) is in Northern Ireland.

    Odoo has Northern Ireland as part of the United Kingdom (``GB``), so: a VAT number starting ``XI`` (issued
    to Northern Ireland's traders in goods), else a ``BT`` postcode (Northern Ireland's and no one else's), else
    a state that is one of its six counties (``NORTHERN_IRELAND_COUNTIES``, or "Northern Ireland" itself); a
    country other than the United Kingdom never is.
    """
    vat = _clean(vat).upper().replace(" ", "")
    country = _iso_country(address.country_code)
    if vat.startswith("XI") and country in ("GB", ""):
        return True
    if country != "GB":
        return False
    postcode = _clean(address.zip).upper().replace(" ", "")
    if postcode:
        return re.fullmatch(r"BT\d.*", postcode) is not None
    state = _clean(address.state).casefold().removeprefix("county ").removeprefix("co. ")
    return state in NORTHERN_IRELAND_COUNTIES or state == "northern ireland"


def customer_fingerprint(customer: CustomerSnapshot) -> str:
    """A SHA-256 hex digest of what the connector owns on the KashFlow customer: when it is unchanged since
    the customer was last sent, nothing needs sending."""
    return _digest(customer_fields(customer))


def invoice_document(
    order: OrderSnapshot,
    document: InvoiceSnapshot,
    *,
    customer_id: int,
    mapping: Mapping,
    invoice_number: int = 0,
    invoice_id: int = 0,
) -> dict:
    """A KashFlow ``Invoice`` for one of the order's ``documents`` (an invoice or a credit note).

    ``invoice_number`` 0 lets KashFlow number it; ``invoice_id`` (``InvoiceDBID``) is 0 on insert.
    ``customer_id`` is the KashFlow ``CustomerID`` (0 only to check a document before its customer exists).
    The read-only header totals and ``Paid`` are sent as 0: KashFlow computes them from the lines and from
    the payments recorded separately (``payment_document``).

    Raises ``DocumentError`` when the document cannot be represented in KashFlow as it is, and
    ``TotalsMismatch`` when its lines would not add up to Odoo's totals.
    """
    currency = _currency_code(order, document)
    customer = order.customer_of(document)
    customer_name = fit_text(_clean(customer.name), FIELD_LIMITS["Customer"]["Name"])
    if not customer_name:
        raise DocumentError(phrase(_lt(
            "The customer of order %(order)s has no name. Enter the customer's name (or company name) on the "
            "contact in Odoo, then send the order to KashFlow again."), order=order.name))
    if order.currency_decimals > KASHFLOW_DECIMALS:
        raise DocumentError(phrase(_lt(
            "Order %(order)s is in %(currency)s, which has %(decimals)s decimal places; KashFlow keeps amounts to "
            "%(kashflow)s, so the order cannot be booked exactly. Book it in KashFlow by hand."),
            order=order.name, currency=currency, decimals=order.currency_decimals, kashflow=KASHFLOW_DECIMALS))
    foreign = currency != order.home_currency_code.strip().upper()
    if foreign and document.exchange_rate <= 0:
        raise DocumentError(phrase(_lt(
            "Order %(order)s is in %(currency)s but has no exchange rate to %(home)s on %(date)s. Set a rate for "
            "%(currency)s in Odoo's currency settings, then send the order to KashFlow again."),
            order=order.name, currency=currency, home=order.home_currency_code, date=document.date))
    lines = _invoice_lines(order, document, mapping, foreign)
    _check_totals(order, document, lines)
    date = _midday(document.date)
    delivery = _delivery_address(document.delivery_address, customer.invoice_address)
    return {
        "InvoiceDBID": invoice_id,
        "InvoiceNumber": invoice_number,
        "InvoiceDate": date,
        "DueDate": date,
        "Customer": customer_name,
        "CustomerID": customer_id,
        "Paid": 0,
        "CustomerReference": invoice_reference(order, document),
        "SuppressTotal": 0,
        "ProjectID": 0,
        "CurrencyCode": currency,
        "ExchangeRate": _plain(document.exchange_rate) if foreign else Decimal(1),
        "Lines": lines,
        "NetAmount": Decimal(0),
        "VATAmount": Decimal(0),
        "AmountPaid": Decimal(0),
        **({"DeliveryAddress": _fitted(
            "DeliveryAddress", {"Name": customer_name, **_address_fields(_INVOICE_DELIVERY_FIELDS, delivery)},
            owner=phrase(_lt("the delivery address of order %(order)s"), order=order.name),
            fix=phrase(_lt("Correct the delivery address in Odoo, then send the order to KashFlow again.")))}
           if delivery is not None else {}),
        "UseCustomDeliveryAddress": delivery is not None,
        "CISRCNetAmount": None,
        "CISRCVatAmount": None,
        "IsCISReverseCharge": None,
    }


def kashflow_totals(invoice: dict) -> Totals:
    """Net, VAT and gross of a KashFlow ``Invoice`` dict as KashFlow computes them from its lines: each line's
    net is its rate times its quantity, rounded half up to the penny."""
    net = sum((_round_cent(Decimal(line["Rate"]) * Decimal(line["Quantity"])) for line in invoice["Lines"]),
              Decimal(0))
    vat = sum((Decimal(line["VatAmount"]) for line in invoice["Lines"]), Decimal(0))
    return Totals(net, vat, net + vat)


def payment_document(
    order: OrderSnapshot, payment: PaymentSnapshot, *, invoice_number: int, mapping: Mapping,
) -> dict:
    """A KashFlow ``Payment`` against invoice ``invoice_number``: money received (positive) or paid back to
    the customer (negative), in the invoice's currency, dated when Odoo recorded it.

    ``PayNote`` names the Odoo payment and the order, so that a payment whose answer was lost can be found
    again among the invoice's payments (``payment_note``).
    """
    if invoice_number <= 0:
        raise ValueError(f"invoice_number must be the KashFlow invoice number, not {invoice_number!r}.")
    if not payment.amount:
        raise ValueError(f"Payment {payment.key} of order {order.name} has no amount: nothing to record.")
    return {
        "PayID": 0,
        "PayInvoice": invoice_number,
        "PayDate": _midday(payment.date),
        "PayNote": payment_note(order, payment),
        "PayMethod": mapping.payment_method_id,
        "PayAccount": mapping.bank_account_id,
        "PayAmount": payment.amount.quantize(Decimal(1).scaleb(-order.currency_decimals), ROUND_HALF_UP),
    }


def payment_note(order: OrderSnapshot, payment: PaymentSnapshot) -> str:
    """The ``PayNote`` of a payment: ``Odoo order S00042, payment PBNK1/2026/00007`` (a refund says so); of money
    allocated to a document that serves several orders, that document instead of the order (``Odoo invoice
    INV/2026/00001, payment PBNK1/2026/00007``), the same whichever of its orders is sent.

    Half of a credit note's application (``PaymentSnapshot.credit_note``) names both Odoo documents, the same on
    either half: ``Odoo credit note RINV/2026/00001 applied to invoice INV/2026/00002``.

    It finds the payment again after a lost answer, so it is never cut: one that does not fit is refused."""
    what = "refund" if payment.amount < 0 else "payment"
    owner = payment.allocated_to or f"order {order.name}"
    note = _clean(f"Odoo credit note {payment.credit_note} applied to invoice {payment.reference}"
                  if payment.credit_note else f"Odoo {owner}, {what} {payment.reference}")
    owner = phrase(_lt("refund %(payment)s of order %(order)s") if payment.amount < 0
                   else _lt("payment %(payment)s of order %(order)s"),
                   payment=fit_text(_clean(payment.reference), 40), order=fit_text(order.name, 40))
    return _fitted("Payment", {"PayNote": note}, owner=owner, fix=phrase(_lt(
        "Give the order or the payment a shorter reference in Odoo, then send the order to KashFlow again.")))[
        "PayNote"]


def document_fingerprint(order: OrderSnapshot, document: InvoiceSnapshot) -> str:
    """A SHA-256 hex digest of everything about one document that ends up in KashFlow: its lines, amounts,
    date, currency and rate, reference and delivery address, whether VAT is included, and which customer it is
    booked to (its code: an invoice readdressed to another customer in Odoo moves to that customer). A document
    whose fingerprint changed must be sent again; one whose did not need not be. (The customer's details have a
    fingerprint of their own, ``customer_fingerprint``: a contact's new phone number changes no invoice.) The keys
    of an order's own documents count by their role (``snapshot.key_role``)."""
    described = dataclasses.asdict(document)
    described.pop("customer_code")  # named below: the fingerprints of documents booked before it are unchanged
    described["key"], described["applies_to"] = key_role(document.key), key_role(document.applies_to)
    return _digest({"document": described, "include_vat": order.include_vat,
                    "customer": order.customer_of(document).code})


def payment_fingerprint(payment: PaymentSnapshot) -> str:
    """A SHA-256 hex digest of a payment's invoice (the key of an order's own document by its role,
    ``snapshot.key_role``), amount and date."""
    return _digest({"invoice": key_role(payment.invoice_key), "amount": payment.amount, "date": payment.date})


def clean_text(text: str) -> str:
    """``text`` on one line for KashFlow: characters XML cannot carry dropped (those that separate words made
    spaces), runs of whitespace (newlines too) made single spaces, ends stripped."""
    return " ".join(_NOT_XML.sub("", _XML_SEPARATORS.sub(" ", text or "")).split())


def text_length(text: str) -> int:
    """The length of ``text`` as KashFlow (.NET) counts it: in UTF-16 code units, so an emoji counts 2."""
    return len(text.encode("utf-16-le")) // 2


def fit_text(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` (``text_length``), else its beginning and "…", within ``limit``.

    The cut falls between characters, never inside one (an emoji stays whole or goes), nor between a character
    and the accents or joiners that go with it; the space before it is dropped.
    """
    if text_length(text) <= limit:
        return text
    room, kept, end = limit - text_length(ELLIPSIS), 0, len(text)
    for index, char in enumerate(text):
        size = text_length(char)
        if kept + size > room:
            end = index
            break
        kept += size
    while end and (_joins_previous(text[end]) or text[end - 1] == _ZERO_WIDTH_JOINER):
        end -= 1  # keep a character and what is joined to it together
    return text[:end].rstrip() + ELLIPSIS


def invoice_reference(order: OrderSnapshot, document: InvoiceSnapshot) -> str:
    """The ``CustomerReference`` of one of the order's documents, as it is sent: the Odoo document's number and
    its orders' names (the order's name alone for its own lines), which finds the document again after a lost
    answer. It is never cut: one that
    does not fit is refused."""
    return _fitted("Invoice", {"CustomerReference": _clean(document.reference)},
                   owner=phrase(_lt("order %(order)s"), order=fit_text(order.name, 40)),
                   fix=phrase(_lt("Give the order a shorter Order Reference in Odoo, then send it to KashFlow again.")),
                   )["CustomerReference"]


# ---------------------------------------------------------------------------- invoices


def _document_label(order: OrderSnapshot, document: InvoiceSnapshot) -> Phrase:
    template = _lt("Order %(order)s, credit note %(reference)s") if document.kind == CREDIT_NOTE \
        else _lt("Order %(order)s, invoice %(reference)s")
    return phrase(template, order=order.name, reference=_clean(document.reference))


def _invoice_lines(order: OrderSnapshot, document: InvoiceSnapshot, mapping: Mapping, foreign: bool) -> list[dict]:
    """The ``InvoiceLine`` dicts, numbered from 1, without lines that have neither quantity nor amount."""
    billable = [line for line in document.lines if line.quantity or line.net or line.vat]
    if not billable:
        raise DocumentError(phrase(_lt(
            "%(document)s has no lines to put in KashFlow. Add what was sold in Odoo, then send the order to "
            "KashFlow again."), document=_document_label(order, document)))
    sign = Decimal(-1) if document.kind == CREDIT_NOTE else Decimal(1)
    return [_invoice_line(order, document, line, mapping, sort=sort, foreign=foreign, sign=sign)
            for sort, line in enumerate(billable, start=1)]


def _invoice_line(
    order: OrderSnapshot, document: InvoiceSnapshot, line: LineSnapshot, mapping: Mapping, *, sort: int,
    foreign: bool, sign: Decimal,
) -> dict:
    """One ``InvoiceLine``: net amount and VAT when VAT is included, else the gross amount and no VAT.

    With VAT included, a line without a VAT rate is exempt (``VatRate`` -1); a line carrying VAT without a
    rate cannot be recorded in KashFlow and is refused. On a credit note the rate and VAT are negative.
    """
    if line.kind not in LINE_KINDS:
        raise ValueError(f"Unknown line kind {line.kind!r}; expected one of {', '.join(LINE_KINDS)}.")
    if not order.include_vat:
        amount, vat_rate, vat_amount = line.net + line.vat, Decimal(0), Decimal(0)
    elif line.vat and line.vat_rate is None:
        raise DocumentError(phrase(_lt(
            "On %(document)s, the line %(line)s carries VAT of %(vat)s but no VAT rate KashFlow can record. Give "
            "the line a percentage VAT tax in Odoo, then send the order to KashFlow again."),
            document=_document_label(order, document), line=repr(_clean(line.description)), vat=line.vat))
    else:
        vat_rate = VAT_EXEMPT if line.vat_rate is None else _plain(line.vat_rate)
        amount, vat_amount = line.net, line.vat
    quantity, rate, unit_note = _quantity_and_rate(line, amount)
    document_line = {
        "Quantity": quantity,
        "Description": _line_description(line, unit_note),
        "Rate": sign * rate,
        "ChargeType": _nominal(line, mapping),
        "VatRate": vat_rate,
        "VatAmount": sign * vat_amount,
        "ProductID": 0,
        "Sort": sort,
        "ProjID": 0,
        "LineID": 0,
    }
    if foreign:
        document_line["ValuesInCurrency"] = 1
    return document_line


def _nominal(line: LineSnapshot, mapping: Mapping) -> int:
    if line.kind == "delivery":
        return mapping.delivery_nominal_id or mapping.goods_nominal_id
    if line.kind == "charge":
        return mapping.charge_nominal_id or mapping.goods_nominal_id
    return mapping.goods_nominal_id


def _quantity_and_rate(line: LineSnapshot, amount: Decimal) -> tuple[Decimal, Decimal, str]:
    """The ``Quantity`` and two-decimal ``Rate`` whose product is exactly ``amount`` (the line's), and a note.

    The quantity is kept, made positive (a negative line has a negative rate), when a two-decimal rate
    times it gives the amount exactly. Otherwise the line is one unit at the amount, and the note gives
    the real quantity and unit price for the description: Odoo's unit price when it, the quantity and the
    discount make the amount (``2.5 × 3.99``, ``7 × 0.001``), else the amount's own unit price (a price that
    includes VAT, say, while the amount does not). A line without quantity is one unit too.
    """
    quantity = line.quantity
    if not quantity:
        return Decimal(1), amount, ""
    count = abs(quantity)
    rate = _round_cent(amount / count)
    if rate * count == amount:
        return _plain(count), rate, ""
    odoo_amount = _round_cent(line.price_unit * quantity * (100 - line.discount) / 100)
    unit = _price(abs(line.price_unit)) if odoo_amount == amount else _unit_price(amount / count)
    return Decimal(1), amount, f"{_plain(count)} × {unit}"


def _line_description(line: LineSnapshot, unit_note: str) -> str:
    """The line's text on one line, with its discount and unit note, the text cut so that all fits in
    ``MAX_DESCRIPTION``."""
    text = _clean(line.description) or _clean(line.product_code) or _KIND_LABELS[line.kind]
    notes = [f"{_plain(line.discount)}% discount"] if line.discount else []
    if unit_note:
        notes.append(unit_note)
    suffix = "".join(f" ({note})" for note in notes)
    return fit_text(text, MAX_DESCRIPTION - text_length(suffix)) + suffix


def _check_totals(order: OrderSnapshot, document: InvoiceSnapshot, lines: list[dict]) -> None:
    """Raise ``TotalsMismatch`` unless the KashFlow lines add up to Odoo's totals of the document.

    With VAT included the document's net, VAT and gross must equal Odoo's; without (the lines then carry
    no VAT), its gross must equal Odoo's total. A credit note's figures are compared as positive amounts.
    """
    sign = Decimal(-1) if document.kind == CREDIT_NOTE else Decimal(1)
    net, vat, _gross = kashflow_totals({"Lines": lines})
    totals = Totals(sign * net, sign * vat, sign * (net + vat))
    if order.include_vat:
        matches = totals == (document.amount_net, document.amount_vat, document.amount_total)
    else:
        matches = totals.gross == document.amount_total
    if not matches:
        raise TotalsMismatch(order, document, totals)


def _currency_code(order: OrderSnapshot, document: InvoiceSnapshot) -> str:
    """The document's ISO 4217 currency code in capitals, or ``DocumentError`` if it is not three letters."""
    code = document.currency_code.strip().upper()
    if len(code) != 3 or not (code.isascii() and code.isalpha()):
        raise DocumentError(phrase(_lt(
            "Order %(order)s is in currency %(currency)s, which is not a three-letter currency code such as GBP or "
            "EUR. Check the order's currency in Odoo, then send it to KashFlow again."),
            order=order.name, currency=repr(document.currency_code)))
    return code


# ---------------------------------------------------------------------------- customers and addresses


def _checked_code(customer: CustomerSnapshot) -> str:
    code = customer.code.strip()
    if not (code.isascii() and code.isalnum() and len(code) <= CUSTOMER_CODE_MAX_LENGTH):
        raise DocumentError(phrase(_lt(
            "The KashFlow customer code %(code)s of %(name)s is not valid: KashFlow accepts only letters and "
            "digits, at most %(limit)s of them. Correct the customer code, then send the order to KashFlow again."),
            code=repr(code), name=_clean(customer.name), limit=CUSTOMER_CODE_MAX_LENGTH))
    return code


def _delivery_address(delivery: Address | None, invoice_address: Address) -> Address | None:
    """``delivery`` when it is an address that differs from the invoice address, else None."""
    if delivery is None or not any(_address_parts(delivery)):
        return None
    if _address_parts(delivery) == _address_parts(invoice_address):
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
    code = _clean(code).upper()
    return "GR" if code == "EL" else code


def _kashflow_country(code: str) -> str:
    """The country code KashFlow uses: ISO 3166-1 alpha-2, except ``EL`` for Greece."""
    code = _iso_country(code)
    return "EL" if code == "GR" else code


# ---------------------------------------------------------------------------- values

_clean = clean_text


_FIELD_LABELS = {name: Phrase(label) for name, label in {
    "Code": _lt("customer code"), "Telephone": _lt("phone number"), "Mobile": _lt("mobile number"),
    "Email": _lt("email address"), "Postcode": _lt("postcode"), "DeliveryPostcode": _lt("delivery postcode"),
    "PostCode": _lt("delivery postcode"), "CountryCode": _lt("country code"),
    "DeliveryCountryCode": _lt("delivery country code"), "VATNumber": _lt("VAT number"),
    "CustomerReference": _lt("reference"), "CurrencyCode": _lt("currency code"), "PayNote": _lt("note"),
}.items()}


def _fitted(type_name: str, fields: dict, *, owner: Phrase, fix: Phrase) -> dict:
    """``fields`` of the KashFlow type ``type_name`` fitted to ``FIELD_LIMITS``: free text (``TEXT_FIELDS``) cut,
    any other text that does not fit refused with ``DocumentError`` naming ``owner``'s field and saying ``fix``."""
    limits = FIELD_LIMITS[type_name]
    fitted = dict(fields)
    for name, value in fields.items():
        limit = limits.get(name)
        if limit is None or not isinstance(value, str) or text_length(value) <= limit:
            continue
        if name in TEXT_FIELDS:
            fitted[name] = fit_text(value, limit)
            continue
        raise DocumentError(phrase(_lt(
            "The %(field)s of %(owner)s is %(length)s characters long (%(start)s); KashFlow takes at most "
            "%(limit)s. %(fix)s"), field=_FIELD_LABELS.get(name, Phrase(name)), owner=owner,
            length=text_length(value), start=fit_text(value, 40), limit=limit, fix=fix))
    return fitted


def _joins_previous(char: str) -> bool:
    """Whether ``char`` belongs with the character before it: a combining mark (an accent), a zero-width joiner,
    a variation selector or an emoji's skin tone."""
    return (unicodedata.combining(char) != 0 or char == _ZERO_WIDTH_JOINER or "\ufe00" <= char <= "\ufe0f"
            or "\U0001f3fb" <= char <= "\U0001f3ff")


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


def _price(value: Decimal) -> Decimal:
    """A price as Odoo holds it, for a description: all its decimals, two at least (``0.001``, ``5.00``)."""
    value = _plain(value)
    return value if value.as_tuple().exponent <= -2 else value.quantize(_CENT)


def _unit_price(value: Decimal) -> Decimal:
    """A unit price for a description: four decimal places at most, two at least (``3.3333``, ``5.00``)."""
    value = value.quantize(_UNIT_PRICE_STEP, ROUND_HALF_UP).normalize()
    return value if value.as_tuple().exponent <= -2 else value.quantize(_CENT)


def _format_totals(totals: Totals, currency: str, places: int) -> str:
    """``net GBP 100.00, VAT GBP 20.00, total GBP 120.00``."""
    net, vat, gross = (f"{currency} {amount:,.{places}f}" for amount in totals)
    return f"net {net}, VAT {vat}, total {gross}"


def _digest(value: object) -> str:
    """SHA-256 hex of ``value`` in a canonical JSON form: decimals by value only (``1.0`` is ``1.00``), dates
    by their day."""
    canonical = json.dumps(value, default=_canonical_value, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _canonical_value(value: object) -> str:
    """JSON text for the values ``json`` cannot write: decimals by value, dates by day."""
    if isinstance(value, Decimal):
        return str(_plain(value))
    if isinstance(value, datetime.date):
        return f"{value:%Y-%m-%d}"
    raise TypeError(f"Cannot fingerprint a {type(value).__name__}.")
