"""Book one paid order into KashFlow: customer, invoice, payment. Exactly once, whatever was tried before.

``sync_order`` is the whole conversation with KashFlow for one order. It is written so that running it
again after any failure (a timeout, an answer lost after KashFlow did the work, a worker killed half-way)
converges on one customer per contact, one invoice per order and one payment per invoice:

- the documents are built, and the totals checked, before anything is sent;
- the customer is the one already known, else the one with the connector's code, else the one with the
  contact's email, else a new one;
- the invoice is the one already known (updated, lines replaced), else an invoice of that customer whose
  reference is the order's name (left by an earlier run that never recorded it), else a new one;
- the payment is the one on the invoice with the order's amount; a payment of ours with another amount is
  replaced.

What it learns is returned in an ``Outcome`` for the caller to keep, so that the next run starts from it.
"""

import datetime
from dataclasses import dataclass

from . import documents
from .exceptions import RejectedError


@dataclass(frozen=True)
class Known:
    """What earlier runs recorded for this order and its contact (0 or "" = nothing yet)."""

    customer_id: int = 0
    customer_code: str = ""
    invoice_number: int = 0
    payment_number: int = 0


@dataclass(frozen=True)
class Outcome:
    """What KashFlow now holds for the order."""

    customer_id: int
    customer_code: str
    invoice_number: int
    invoice_id: int
    payment_number: int
    customer_created: bool = False
    invoice_created: bool = False


def sync_order(client, order, mapping, known=Known(), now=None):
    """Send ``order`` (an ``OrderSnapshot``) to KashFlow through ``client``; return the ``Outcome``.

    Raises ``documents.DocumentError`` before any call when the order cannot be represented exactly, and the
    client's typed errors when KashFlow refuses or cannot be reached.
    """
    now = now or datetime.datetime.now().replace(microsecond=0)
    customer = documents.customer_document(order.customer, source_id=mapping.source_id, now=now)
    # Built once now so that a totals mismatch stops everything before the first call.
    documents.invoice_document(order, customer_id=0, mapping=mapping)

    customer_id, customer_code, customer_created = _sync_customer(client, customer, order.customer.email, known)
    invoice_number, invoice_id, invoice_created = _sync_invoice(
        client, order, mapping, customer_id, known_number=known.invoice_number, may_exist=not customer_created)
    payment_number = _sync_payment(client, order, mapping, invoice_number, known.payment_number)
    return Outcome(customer_id, customer_code, invoice_number, invoice_id, payment_number, customer_created,
                   invoice_created)


def _sync_customer(client, customer, email, known):
    """The KashFlow customer of the contact, created or refreshed: its id, its code and whether it is new.

    A customer keeps the code it has in KashFlow: one matched by email may carry a code a bookkeeper chose.
    """
    if known.customer_id:
        code = known.customer_code or customer["Code"]
        try:
            client.update_customer({**customer, "CustomerID": known.customer_id, "Code": code})
            return known.customer_id, code, False
        except RejectedError as error:
            if not client.is_not_found(error):
                raise
            # Deleted in KashFlow since: find it again or create it anew, below.
    found = _find_customer(client, customer["Code"], email)
    if found is None:
        try:
            return client.insert_customer(customer), customer["Code"], True
        except RejectedError as error:
            # Another job created this contact's customer a moment ago (two of its orders sent at once).
            found = client.get_customer_by_code(customer["Code"]) if "not unique" in (error.detail or "") else None
            if found is None:
                raise
    client.update_customer({**customer, "CustomerID": found["CustomerID"], "Code": found["Code"]})
    return found["CustomerID"], found["Code"], False


def _find_customer(client, code, email):
    """The KashFlow customer with the connector's code for the contact, else the one with its email, or None."""
    found = client.get_customer_by_code(code)
    if found is None and email:
        found = client.get_customer_by_email(email)
    return found


def _sync_invoice(client, order, mapping, customer_id, *, known_number, may_exist):
    """Insert or update the order's invoice; return its number, its KashFlow id and whether it is new.

    Without a known number, and when the customer is not new, an invoice of the customer whose reference is the
    order's name is taken for the order's: an earlier run created it without recording it (it timed out, lost
    KashFlow's answer, or died before its outcome was saved).
    """
    number = known_number
    if not number and may_exist:
        number = next((invoice["InvoiceNumber"] for invoice in client.get_invoices_for_customer(customer_id)
                       if invoice.get("CustomerReference") == order.name), 0)
    if number:
        current = client.get_invoice(number)
        if current is None:
            raise RejectedError(
                f"Invoice {number} of order {order.name} is no longer in KashFlow (deleted there?). Restore it in "
                "KashFlow, or have an administrator clear the order's KashFlow invoice number, then resend.")
        document = documents.invoice_document(order, customer_id=customer_id, mapping=mapping,
                                              invoice_number=number, invoice_id=current["InvoiceDBID"])
        client.update_invoice(document)
        return number, current["InvoiceDBID"], False
    document = documents.invoice_document(order, customer_id=customer_id, mapping=mapping)
    number = client.insert_invoice(document)
    created = client.get_invoice(number)
    return number, created["InvoiceDBID"] if created else 0, True


def _sync_payment(client, order, mapping, invoice_number, known_number):
    """Make the invoice carry exactly one payment of ours, for the order's paid amount; return its number."""
    payment = documents.payment_document(order, invoice_number=invoice_number, mapping=mapping)
    ours = [existing for existing in client.get_payments(invoice_number)
            if existing["PayID"] == known_number or existing.get("PayNote") == payment["PayNote"]]
    keep = next((existing for existing in ours if existing["PayAmount"] == payment["PayAmount"]), None)
    for existing in ours:
        if existing is not keep:
            client.delete_payment(invoice_number, existing["PayID"])
    if keep is not None:
        return keep["PayID"]
    return client.insert_payment(payment)
