"""Book one paid order into KashFlow: customer, invoice, payment. Exactly once, whatever was tried before.

``sync_order`` is the whole conversation with KashFlow for one order. It is written so that running it
again after any failure (a timeout, an answer lost after KashFlow did the work, a worker killed half-way)
converges on one customer per contact, one invoice per order and one payment per invoice:

- the documents are built, and the totals checked, before anything is sent;
- the customer is the one already known, else the one with the connector's code, else the one with the
  contact's email, else a new one;
- the invoice is the one already known (updated, lines replaced), else, when an earlier attempt may have
  created it without hearing back, an invoice of that customer whose reference is the order's name, else a
  new one;
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
    """What earlier runs recorded for this order (0 = nothing yet).

    ``earlier_attempt`` says that an earlier run may have reached KashFlow without recording the outcome (it
    timed out, lost KashFlow's answer or died): the invoice is then looked for before one is created.
    """

    customer_id: int = 0
    invoice_number: int = 0
    payment_number: int = 0
    earlier_attempt: bool = False


@dataclass(frozen=True)
class Outcome:
    """What KashFlow now holds for the order."""

    customer_id: int
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

    customer_id, customer_created = _sync_customer(client, customer, order.customer.email, known.customer_id)
    invoice_number, invoice_id, invoice_created = _sync_invoice(
        client, order, mapping, customer_id, known_number=known.invoice_number,
        may_exist=known.earlier_attempt and not customer_created)
    payment_number = _sync_payment(client, order, mapping, invoice_number, known.payment_number)
    return Outcome(customer_id, invoice_number, invoice_id, payment_number, customer_created, invoice_created)


def _sync_customer(client, customer, email, known_id):
    """The KashFlow customer id for the contact, creating or refreshing the customer; and whether it is new."""
    if known_id:
        try:
            client.update_customer({**customer, "CustomerID": known_id})
            return known_id, False
        except RejectedError as error:
            if not client.is_not_found(error):
                raise
            # Deleted in KashFlow since: find it again or create it anew, below.
    found = client.get_customer_by_code(customer["Code"])
    if found is None and email:
        found = client.get_customer_by_email(email)
    if found is not None:
        # Keep the code KashFlow has: a customer matched by email may carry a code a bookkeeper chose.
        client.update_customer({**customer, "CustomerID": found["CustomerID"], "Code": found["Code"]})
        return found["CustomerID"], False
    return client.insert_customer(customer), True


def _sync_invoice(client, order, mapping, customer_id, *, known_number, may_exist):
    """Insert or update the order's invoice; return its number, its KashFlow id and whether it is new."""
    number = known_number
    if not number and may_exist:
        number = next((invoice["InvoiceNumber"] for invoice in client.get_invoices_for_customer(customer_id)
                       if invoice.get("CustomerReference") == order.name), 0)
    if number:
        current = client.get_invoice(number)
        if current is None:
            raise RejectedError(
                f"Invoice {number} of order {order.name} is no longer in KashFlow. If it was deleted on purpose, "
                "clear the KashFlow invoice number on the order and send it again.")
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
