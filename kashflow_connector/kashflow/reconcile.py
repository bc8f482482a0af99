"""Compare what KashFlow holds with what Odoo says it should hold: the reconciliation's rules, in plain Python.

The Odoo side builds what KashFlow *should* hold for each document the connector sent with the very functions
the queue job sends with (``documents.invoice_document`` and ``documents.payment_document``, fed by the same
``OrderSnapshot``), reads what KashFlow *does* hold (``GetInvoicesByDateRange``,
``GetInvoicePaymentsByDateRange``), and hands both to these functions. They return ``Difference`` records: what
differs, KashFlow's value and Odoo's, and what a resend of the order does about it (``repair``). Putting a
difference into words is the Odoo side's (its sentences are translated); nothing here knows Odoo or SOAP.

What is compared, for an invoice or credit note: that it is still there, its customer (the KashFlow customer it
is booked to, and that customer's name), its date and currency, its lines (quantity, unit rate, VAT rate, VAT),
its net, its VAT per rate and its total, and what has been paid on it; for a payment: that it is still there, its
invoice, amount and date. Line descriptions and nominal codes are not compared: a bookkeeper's wording or
re-coding in KashFlow changes no figure of the books.
"""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# What differs (``Difference.code``).
DELETED = "deleted"  # the document is no longer in KashFlow
CUSTOMER = "customer"  # booked to another KashFlow customer
CUSTOMER_NAME = "customer_name"  # its customer is named otherwise in KashFlow
DATE = "date"
CURRENCY = "currency"
LINE_COUNT = "line_count"
LINE = "line"  # one line's quantity, rate, VAT rate or VAT (``detail``: its number, from 1, and Odoo's text)
LINE_TEXT = "line_text"  # one line's description (``detail``: its number, from 1)
NET = "net"
VAT = "vat"  # the VAT of one rate (``detail``: the rate)
TOTAL = "total"
PAID = "paid"  # what has been paid on the invoice
PAYMENT_INVOICE = "payment_invoice"  # a payment recorded against another invoice
PAYMENT_AMOUNT = "payment_amount"
PAYMENT_DATE = "payment_date"
PAYMENT_ADDED = "payment_added"  # a payment on the connector's invoice that neither Odoo nor the connector made
NOT_IN_KASHFLOW = "not_in_kashflow"  # Odoo holds a document of the order that was never sent
NOT_IN_ODOO = "not_in_odoo"  # a payment the connector sent that Odoo no longer holds
DUPLICATE = "duplicate"  # KashFlow holds an Odoo document again, beside the copy the connector keeps of it

FOREIGN_PAYMENT = "kashflow:"  # key prefix of the records of payments found in KashFlow that Odoo never made
COPY = "copy:"  # key prefix of the records of KashFlow invoices and credit notes found to hold an Odoo document again

# What a resend of the order does about it (``Difference.repair``).
UPDATE = "update"  # the document is sent again: KashFlow's copy is overwritten with Odoo's
REINSERT = "reinsert"  # the document is inserted anew (with the payments it carried)
CUSTOMER_UPDATE = "customer"  # the customer's details are sent again
REPLACE_PAYMENT = "payment"  # the payment is deleted (if still there) and recorded again as Odoo holds it
DELETE_PAYMENT = "delete_payment"  # the payment is deleted from KashFlow
SEND = "send"  # what was never sent is sent
NO_REPAIR = ""  # nothing a resend can do: the message says what to do

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Difference:
    """One way a KashFlow document differs from what Odoo says: ``code`` (what), ``kashflow`` and ``odoo`` (the
    two values: ``Decimal``, ``datetime.date``, ``str``, ``int`` or ``LineFigures``), ``detail`` (a line's number
    and text, a VAT rate) and ``repair`` (what a resend does about it)."""

    code: str
    kashflow: object = None
    odoo: object = None
    detail: object = None
    repair: str = NO_REPAIR


@dataclass(frozen=True)
class LineFigures:
    """A line's figures as a bookkeeper reads them: ``quantity`` × ``rate`` (net, per unit), VAT ``vat`` at
    ``vat_rate`` per cent (-1: exempt)."""

    quantity: Decimal
    rate: Decimal
    vat_rate: Decimal
    vat: Decimal


def money(value) -> Decimal:
    """A KashFlow amount (a ``Decimal``, a number or its text, or None) as a ``Decimal`` to the penny."""
    return Decimal(str(value if value is not None else 0)).quantize(_CENT, ROUND_HALF_UP)


def rate_key(value) -> Decimal:
    """A VAT rate (or a quantity) as a key: ``Decimal`` without trailing zeros (``20.00`` and ``20`` are one
    rate, shown ``20``)."""
    rate = Decimal(str(value if value is not None else 0))
    return rate.quantize(Decimal(1)) if rate == rate.to_integral_value() else rate.normalize()


def day(value) -> datetime.date | None:
    """The day of a KashFlow date-time (a ``datetime``, a ``date`` or ISO text), or None."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def line_net(line: dict) -> Decimal:
    """A line's net amount as KashFlow works it out: rate times quantity, to the penny (half up)."""
    return money(Decimal(str(line["Rate"])) * Decimal(str(line["Quantity"])))


def vat_by_rate(lines) -> dict:
    """``{rate: (net, vat)}``: the net and VAT of invoice lines (KashFlow ``InvoiceLine`` dicts), per VAT rate
    (``rate_key`` of ``VatRate``: ``20``, ``5``, ``0``; ``-1`` for exempt lines)."""
    totals = {}
    for line in lines:
        key = rate_key(line.get("VatRate"))
        net, vat = totals.get(key, (Decimal(0), Decimal(0)))
        totals[key] = (net + line_net(line), vat + money(line.get("VatAmount")))
    return {key: (money(net), money(vat)) for key, (net, vat) in totals.items()}


def _figures(line: dict) -> LineFigures:
    return LineFigures(quantity=rate_key(line["Quantity"]), rate=money(line["Rate"]),
                       vat_rate=rate_key(line.get("VatRate")), vat=money(line.get("VatAmount")))


def _totals(invoice: dict) -> tuple[Decimal, Decimal]:
    """Net and VAT of an invoice: its header's, when KashFlow gave them, else those of its lines."""
    lines = invoice.get("Lines") or []
    net, vat = invoice.get("NetAmount"), invoice.get("VATAmount")
    if net is None or vat is None:
        return (money(sum((line_net(line) for line in lines), Decimal(0))),
                money(sum((money(line.get("VatAmount")) for line in lines), Decimal(0))))
    return money(net), money(vat)


def compare_invoice(expected: dict, found: dict | None, *, customer_name: str = "",
                    expected_paid: Decimal | None = None) -> list[Difference]:
    """How the invoice (or credit note) KashFlow holds, ``found`` (as the client reads it; None: not there),
    differs from ``expected``, the ``Invoice`` the connector would send for it now (``documents.invoice_document``).

    ``customer_name`` is the customer's name as Odoo holds it (compared with the name KashFlow shows on the
    invoice, when it shows one); ``expected_paid``, what Odoo says has been paid on the invoice (None: not
    compared).
    """
    if found is None:
        return [Difference(DELETED, repair=REINSERT)]
    differences = []
    if found.get("CustomerID") != expected["CustomerID"]:
        differences.append(Difference(CUSTOMER, found.get("CustomerID"), expected["CustomerID"], repair=UPDATE))
    shown_name = found.get("CustomerName") or found.get("Customer")
    if customer_name and shown_name and shown_name.strip() != customer_name.strip() \
            and found.get("CustomerID") == expected["CustomerID"]:
        differences.append(Difference(CUSTOMER_NAME, shown_name, customer_name, repair=CUSTOMER_UPDATE))
    if day(found.get("InvoiceDate")) != day(expected["InvoiceDate"]):
        differences.append(Difference(DATE, day(found.get("InvoiceDate")), day(expected["InvoiceDate"]),
                                      repair=UPDATE))
    found_currency = (found.get("CurrencyCode") or "").strip().upper()
    if found_currency and found_currency != expected["CurrencyCode"]:
        differences.append(Difference(CURRENCY, found_currency, expected["CurrencyCode"], repair=UPDATE))
    # What a bookkeeper reads first (VAT per rate, net, total, paid), then the lines that explain it.
    odoo_net, odoo_vat = _totals({"Lines": expected["Lines"]})
    net, vat = _totals(found)
    odoo_rates, rates = vat_by_rate(expected["Lines"]), vat_by_rate(found.get("Lines") or [])
    for rate in sorted(set(odoo_rates) | set(rates), reverse=True):
        kashflow_vat, odoo_rate_vat = rates.get(rate, (0, Decimal(0)))[1], odoo_rates.get(rate, (0, Decimal(0)))[1]
        if kashflow_vat != odoo_rate_vat:
            differences.append(Difference(VAT, kashflow_vat, odoo_rate_vat, detail=rate, repair=UPDATE))
    if net != odoo_net:
        differences.append(Difference(NET, net, odoo_net, repair=UPDATE))
    if net + vat != odoo_net + odoo_vat:
        differences.append(Difference(TOTAL, net + vat, odoo_net + odoo_vat, repair=UPDATE))
    if expected_paid is not None and found.get("AmountPaid") is not None \
            and money(found["AmountPaid"]) != money(expected_paid):
        differences.append(Difference(PAID, money(found["AmountPaid"]), money(expected_paid)))
    differences += _compare_lines(expected["Lines"], found.get("Lines") or [])
    return differences


def _compare_lines(expected_lines, found_lines) -> list[Difference]:
    """Line by line, in their order, when both have as many lines; else how many each has."""
    if len(found_lines) != len(expected_lines):
        return [Difference(LINE_COUNT, len(found_lines), len(expected_lines), repair=UPDATE)]
    ordered = sorted(found_lines, key=lambda line: (line.get("Sort") or 0, line.get("LineID") or 0))
    differences = []
    for number, (odoo_line, line) in enumerate(zip(expected_lines, ordered, strict=True), start=1):
        kashflow, odoo = _figures(line), _figures(odoo_line)
        if kashflow != odoo:
            differences.append(Difference(LINE, kashflow, odoo, detail=(number, odoo_line.get("Description") or ""),
                                          repair=UPDATE))
        elif (line.get("Description") or "").strip() != (odoo_line.get("Description") or "").strip():
            differences.append(Difference(LINE_TEXT, line.get("Description") or "", odoo_line.get("Description") or "",
                                          detail=number, repair=UPDATE))
    return differences


def compare_payment(expected: dict | None, found: dict | None) -> list[Difference]:
    """How a payment KashFlow holds, ``found`` (None: not there), differs from ``expected``, the ``Payment`` the
    connector would record for it now (``documents.payment_document``; None: Odoo no longer holds it)."""
    if expected is None:
        return [] if found is None else [Difference(NOT_IN_ODOO, money(found["PayAmount"]), repair=DELETE_PAYMENT)]
    if found is None:
        return [Difference(DELETED, odoo=money(expected["PayAmount"]), repair=REPLACE_PAYMENT)]
    differences = []
    if found.get("PayInvoice") != expected["PayInvoice"]:
        differences.append(Difference(PAYMENT_INVOICE, found.get("PayInvoice"), expected["PayInvoice"],
                                      repair=REPLACE_PAYMENT))
    if money(found.get("PayAmount")) != money(expected["PayAmount"]):
        differences.append(Difference(PAYMENT_AMOUNT, money(found.get("PayAmount")), money(expected["PayAmount"]),
                                      repair=REPLACE_PAYMENT))
    if day(found.get("PayDate")) != day(expected["PayDate"]):
        differences.append(Difference(PAYMENT_DATE, day(found.get("PayDate")), day(expected["PayDate"]),
                                      repair=REPLACE_PAYMENT))
    return differences


def unexplained_payments(payments, applications):
    """The payments among ``payments`` (KashFlow ``Payment`` dicts, on the connector's invoices, none of them
    recorded by the connector) that no credit-note application explains: ``applications`` lists
    ``(invoice number, amount)`` pairs, the payments KashFlow records when the connector applies a credit note
    (minus its total on the credit note, plus it on the invoice); each explains one payment."""
    left = list(applications)
    unexplained = []
    for payment in sorted(payments, key=lambda payment: payment["PayID"]):
        key = (payment["PayInvoice"], money(payment["PayAmount"]))
        if key in left:
            left.remove(key)
        else:
            unexplained.append(payment)
    return unexplained
