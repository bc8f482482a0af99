"""A neutral, frozen picture of what Odoo's accounting holds for a paid sale order.

The Odoo side fills these dataclasses from a ``sale.order``, its posted invoices and credit notes and the
money received for it (``models/kashflow_accounting.py``); ``documents.py`` turns them into KashFlow's
``Customer``, ``Invoice`` and ``Payment``, and ``booking.py`` sends them. Nothing here knows Odoo or SOAP, so
each side can be tested on its own. Money is ``decimal.Decimal`` in the document's currency, exactly as
Odoo rounded it; never a float.

An order is booked in KashFlow as several documents, each with a ``key`` that names the Odoo record it stands
for: the same in every order it serves, and in a company never given to two records (``kashflow.document``
holds one record per key and company):

- invoices: the order's own (``"order:<order id>"``: its first posted invoice that serves this order alone, or
  its lines while it has none; ``own_invoice_key``), then any further posted invoice (``"move:<id>"``);
- credit notes: one per posted Odoo credit note (``"move:<id>"``), or one reversing the order's own lines once
  it was cancelled after they were sent (``"cancel:<order id>"``) or invoiced together with other orders
  (``"replaced:<order id>"``), each applied to the invoice it names in ``applies_to`` (none while Odoo leaves it
  as the customer's credit, or when its credit is spent in parts: then each part is a pair of payments, below);
- payments: the money received (positive) or paid back (negative), each recorded against an invoice: one per
  Odoo payment, bank statement line or online transaction and the order it was received for
  (``"payment:<id>/order:<order id>"``, ``"line:<id>/order:<order id>"``, ``"transaction:<id>/order:<order
  id>"``), or one per amount it allocated to an invoice or credit note (below); and each part of a credit
  note's credit Odoo spent on an invoice, as KashFlow books an application: its half on the credit note
  (negative) and its half on the invoice (positive), keyed ``"credit:<credit note id>.<invoice id>/move:<id of
  the document it is on>"``, each with the order of that document.

An invoice or credit note that serves several orders (one invoice for three orders of a customer) is a shared
document: its key is ``"move:<id>"`` in each of them, it is built from the Odoo document alone, and the money
allocated to it is keyed per allocation (``"payment:<id>/move:<id>"``), so that every order's snapshot holds
the same documents for it and KashFlow holds them once.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

INVOICE = "invoice"
CREDIT_NOTE = "credit_note"
DOCUMENT_KINDS = (INVOICE, CREDIT_NOTE)

OWN_INVOICE = "order"  # the role of the order's own invoice in its key (``own_invoice_key``)
CANCELLATION = "cancel"  # ... of the credit note reversing its lines once it was cancelled
REPLACED = "replaced"  # ... and once invoices shared with other orders replaced them
ORDER_ROLES = (OWN_INVOICE, CANCELLATION, REPLACED)


def own_invoice_key(order_id: int) -> str:
    """The key of an order's own invoice: ``"order:<order id>"``."""
    return order_document_key(OWN_INVOICE, order_id)


def order_document_key(role: str, order_id: int) -> str:
    """The key of the document of an order's own lines with that role (``ORDER_ROLES``): ``"cancel:42"``."""
    return f"{role}:{order_id}"


def key_role(key: str) -> str:
    """The role (``ORDER_ROLES``) of the key of a document of an order's own lines, else the key as it is.

    Fingerprints name these documents by their role alone, as they did before keys named their order
    (18.0.2.3): a document KashFlow held before the upgrade keeps its fingerprint, and is not sent again."""
    role, _, order_id = key.partition(":")
    return role if role in ORDER_ROLES and order_id.isdigit() else key


LINE_KINDS = ("product", "delivery", "discount", "charge")
"""``charge`` is a tax that is not VAT (a fixed recycling fee, say), booked as its own line without VAT."""


@dataclass(frozen=True)
class Address:
    """A postal address as Odoo holds it on a contact; ``country_code`` is ISO 3166-1 alpha-2."""

    street: str = ""
    street2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country_code: str = ""
    country_name: str = ""


@dataclass(frozen=True)
class CustomerSnapshot:
    """The Odoo commercial contact an order is invoiced to: the fields the connector owns in KashFlow.

    ``code`` is the connector's KashFlow customer code for that contact (``documents.customer_code``).
    ``delivery_address`` is the contact's own delivery address when it differs from ``invoice_address``.
    ``seller_in_northern_ireland`` tells whether the seller (the company whose KashFlow account it is) is in
    Northern Ireland (``documents.is_northern_ireland``), which changes how KashFlow books EU customers.
    """

    code: str
    name: str
    contact_name: str = ""
    email: str = ""
    phone: str = ""
    mobile: str = ""
    vat: str = ""
    is_company: bool = False
    invoice_address: Address = field(default_factory=Address)
    delivery_address: Address | None = None
    seller_in_northern_ireland: bool = False


@dataclass(frozen=True)
class LineSnapshot:
    """One line of an invoice or credit note, with Odoo's own amounts in the document currency.

    ``net`` is the line's untaxed amount and ``vat`` its VAT, both as Odoo's tax engine dispatched them
    (under *Round Globally* a line's VAT may differ by a penny from its rate times its net: the document's
    VAT is right, not each line's). Amounts are positive on an invoice and on a credit note alike (a
    discount line is negative); ``documents.py`` makes credit notes negative for KashFlow.
    ``vat_rate`` is the VAT percentage (``Decimal("20")``), ``None`` for a line without VAT (exempt, or a
    ``charge``).
    """

    kind: str
    description: str
    quantity: Decimal
    price_unit: Decimal
    discount: Decimal
    net: Decimal
    vat: Decimal
    vat_rate: Decimal | None
    product_code: str = ""


@dataclass(frozen=True)
class InvoiceSnapshot:
    """A KashFlow invoice or credit note to be, built from an Odoo invoice, credit note or order.

    ``reference`` goes to KashFlow's customer reference: the Odoo document's number and the names of the orders
    it serves, or the order's name for a document built from its lines. ``date`` is the tax point: the Odoo
    invoice date, or the paid date for an order without an invoice. ``exchange_rate`` is units of the document
    currency per one unit of the home currency on that date (1 in the home currency). ``amount_net``,
    ``amount_vat`` and ``amount_total`` are Odoo's figures for the document as KashFlow will show them: VAT is VAT
    only, and a tax that is not VAT counts in the net. ``applies_to`` is, for a credit note, the key of the invoice
    it is applied to, or "" for none (the customer's credit). ``customer_code`` is the code of the customer it is
    booked to when that is not the order's (``OrderSnapshot.customer``): an invoice Odoo addresses to another
    customer than the order's first one; "" for the order's.
    """

    key: str
    kind: str
    reference: str
    date: datetime.date
    lines: tuple[LineSnapshot, ...]
    currency_code: str
    exchange_rate: Decimal
    amount_net: Decimal
    amount_vat: Decimal
    amount_total: Decimal
    delivery_address: Address | None = None
    applies_to: str = ""
    customer_code: str = ""


@dataclass(frozen=True)
class PaymentSnapshot:
    """Money received for the order (positive) or paid back to the customer (negative), in the currency of
    the invoice it is recorded against (``invoice_key``), on ``date``. ``reference`` names the Odoo payment.

    ``allocated_to`` names the Odoo document the money was allocated to (``"invoice INV/2026/00001"``) when that
    document serves several orders: the payment is then that document's, the same whichever order is sent, and
    its note names the document instead of the order.

    ``credit_note`` names the Odoo credit note (``RINV/2026/00001``) when this is half of its application to the
    invoice ``reference`` names, booked as KashFlow books a credit note's application: a zero-sum pair of payments,
    the credit taken off the credit note (negative, on it) and the same paid of the invoice (positive, on it)."""

    key: str
    invoice_key: str
    amount: Decimal
    date: datetime.date
    reference: str
    allocated_to: str = ""
    credit_note: str = ""


@dataclass(frozen=True)
class Mapping:
    """The KashFlow ids chosen for the order's sales channel (0 = none)."""

    payment_method_id: int
    bank_account_id: int
    source_id: int
    goods_nominal_id: int
    delivery_nominal_id: int
    charge_nominal_id: int = 0


@dataclass(frozen=True)
class OrderSnapshot:
    """A paid sale order as Odoo's accounting holds it.

    ``documents`` lists its invoices first, then its credit notes; ``payments`` the money received and paid
    back. ``include_vat`` is off when the seller is not VAT-registered in KashFlow. ``currency_decimals``
    is how many decimal places the order currency has. ``customer`` is the customer its documents are booked to,
    ``other_customers`` those of its documents addressed to another (``InvoiceSnapshot.customer_code``).
    """

    name: str
    customer: CustomerSnapshot
    home_currency_code: str
    include_vat: bool
    documents: tuple[InvoiceSnapshot, ...] = ()
    payments: tuple[PaymentSnapshot, ...] = ()
    currency_decimals: int = 2
    other_customers: tuple[CustomerSnapshot, ...] = ()

    def document(self, key):
        """The document with this key, or None."""
        return next((document for document in self.documents if document.key == key), None)

    def customer_of(self, document):
        """The ``CustomerSnapshot`` of the customer ``document`` is booked to."""
        if not document.customer_code:
            return self.customer
        return next(customer for customer in self.other_customers if customer.code == document.customer_code)
