"""Every KashFlow document record is keyed on the Odoo record it stands for, once in its company (18.0.2.3):
``kashflow.document`` is unique on ``(company_id, key)``, no longer on ``(order_id, key)``.

Before the model's new constraint is added, the keys that named a document only within its order get that order:
an order's own invoice ``order`` becomes ``order:<order id>`` (and ``cancel``, ``replaced`` likewise), the money an
order received ``payment:<id>`` becomes ``payment:<id>/order:<order id>`` (a payment of several orders' invoices is
one KashFlow payment per order). Fingerprints name those documents by their role (``snapshot.key_role``), so nothing
KashFlow already holds is sent again, and each look-up value (a reference, a payment's note) stays as it was sent.

Two fields get names of one meaning (``RENAMED_FIELDS``): a document's KashFlow invoice that a payment is recorded
against or a credit note applied to, ``kashflow_applied_invoice_number`` (an order's is ``kashflow_invoice_number``),
and a contact's KashFlow CustomerID, ``kashflow_customer_id`` (a document's ``kashflow_number`` is its own number).

A document recorded more than once (an invoice of several orders, booked once per order by a version before
18.0.2.1) keeps the record the jobs use (the one with a KashFlow number, else the one sent first); each other record
with a KashFlow number becomes a copy, marked as a difference that says what to do (``copy:<number>``, or for a
payment ``kashflow:<number>``, as the reconciliation records what it finds added in KashFlow); a record that KashFlow
gave no number goes.
"""

import logging

from odoo.tools import SQL
from odoo.tools.sql import column_exists, rename_column, table_exists

_logger = logging.getLogger(__name__)

ORDER_ROLES = ("order", "cancel", "replaced")  # snapshot.ORDER_ROLES
COPY = "copy:"  # reconcile.COPY
FOREIGN_PAYMENT = "kashflow:"  # reconcile.FOREIGN_PAYMENT
AGAIN = ("Holds again an Odoo document that another KashFlow document holds: a version before 18.0.2.1 booked it "
         "once per order. Delete it in KashFlow (move what was recorded on it to the other first), then reconcile.")


RENAMED_FIELDS = (  # (model, old name, new name): one name, one meaning
    # the KashFlow invoice a payment is recorded against, or a credit note applied to (an order's KashFlow invoice
    # is ``sale.order.kashflow_invoice_number``)
    ("kashflow.document", "kashflow_invoice_number", "kashflow_applied_invoice_number"),
    # KashFlow's CustomerID (a document's ``kashflow_number`` is its invoice or payment number)
    ("kashflow.customer", "kashflow_number", "kashflow_customer_id"),
)


def migrate(cr, version):
    if not version:
        return
    _rename_fields(cr)
    if table_exists(cr, "kashflow_document"):  # an upgrade from 18.0.1 makes the table once this has run
        _rekey_documents(cr)


def _rename_fields(cr):
    """Each renamed field keeps its column, its ``ir.model.fields`` record (and so what refers to it) and its XML id."""
    for model, old, new in RENAMED_FIELDS:
        table = model.replace(".", "_")
        if not column_exists(cr, table, old) or column_exists(cr, table, new):
            continue
        rename_column(cr, table, old, new)
        cr.execute(SQL("ALTER INDEX IF EXISTS %s RENAME TO %s", SQL.identifier(f"{table}__{old}_index"),
                       SQL.identifier(f"{table}__{new}_index")))
        cr.execute(SQL("UPDATE ir_model_fields SET name = %s WHERE model = %s AND name = %s", new, model, old))
        cr.execute(SQL("UPDATE ir_model_data SET name = %s WHERE module = 'kashflow_connector' AND name = %s",
                       f"field_{table}__{new}", f"field_{table}__{old}"))


def _rekey_documents(cr):
    cr.execute(SQL("UPDATE kashflow_document SET key = key || ':' || order_id WHERE key IN %s", ORDER_ROLES))
    rekeyed = cr.rowcount
    cr.execute(SQL(r"""UPDATE kashflow_document SET key = key || '/order:' || order_id
                        WHERE key ~ '^(payment|line|transaction):[0-9]+$'"""))
    rekeyed += cr.rowcount
    cr.execute(SQL("""UPDATE kashflow_document d SET company_id = o.company_id FROM sale_order o
                       WHERE o.id = d.order_id AND d.company_id IS NULL"""))
    cr.execute(SQL("""
        SELECT id, company_id, kind, kashflow_number FROM (
            SELECT id, company_id, kind, kashflow_number,
                   row_number() OVER (PARTITION BY company_id, key
                                      ORDER BY COALESCE(kashflow_number, 0) = 0, attempt_date IS NULL, id) AS rank
              FROM kashflow_document) records
         WHERE rank > 1
         ORDER BY id"""))
    copies = removed = 0
    for record_id, company_id, kind, number in cr.fetchall():
        key = f"{FOREIGN_PAYMENT if kind == 'payment' else COPY}{number}"
        cr.execute(SQL("SELECT 1 FROM kashflow_document WHERE company_id = %s AND key = %s", company_id, key))
        if number and not cr.fetchone():
            cr.execute(SQL("""UPDATE kashflow_document SET key = %s, mismatch = true, mismatch_reason = %s,
                                     mismatch_repair = NULL, fingerprint = NULL
                               WHERE id = %s""", key, AGAIN, record_id))
            copies += 1
        else:
            cr.execute(SQL("DELETE FROM kashflow_document WHERE id = %s", record_id))
            removed += 1
    _logger.info("KashFlow: %s document keys named their order; %s records found twice kept as copies, %s dropped",
                 rekeyed, copies, removed)
