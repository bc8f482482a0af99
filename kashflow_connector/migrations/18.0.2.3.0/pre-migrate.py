"""Every KashFlow document record is keyed on the Odoo record it stands for, once in its company (18.0.2.3):
``kashflow.document`` is unique on ``(company_id, key)``, no longer on ``(order_id, key)``.

Before the model's new constraint is added, the keys that named a document only within its order get that order:
an order's own invoice ``order`` becomes ``order:<order id>`` (and ``cancel``, ``replaced`` likewise), the money an
order received ``payment:<id>`` becomes ``payment:<id>/order:<order id>`` (a payment of several orders' invoices is
one KashFlow payment per order). Fingerprints name those documents by their role (``snapshot.key_role``), so nothing
KashFlow already holds is sent again, and each look-up value (a reference, a payment's note) stays as it was sent.

A document recorded more than once (an invoice of several orders, booked once per order by a version before
18.0.2.1) keeps the record the jobs use (the one with a KashFlow number, else the one sent first); each other record
with a KashFlow number becomes a copy, marked as a difference that says what to do (``copy:<number>``, or for a
payment ``kashflow:<number>``, as the reconciliation records what it finds added in KashFlow); a record that KashFlow
gave no number goes.
"""

import logging

from odoo.tools import SQL

_logger = logging.getLogger(__name__)

ORDER_ROLES = ("order", "cancel", "replaced")  # snapshot.ORDER_ROLES
COPY = "copy:"  # reconcile.COPY
FOREIGN_PAYMENT = "kashflow:"  # reconcile.FOREIGN_PAYMENT
AGAIN = ("Holds again an Odoo document that another KashFlow document holds: a version before 18.0.2.1 booked it "
         "once per order. Delete it in KashFlow (move what was recorded on it to the other first), then reconcile.")


def migrate(cr, version):
    if not version:
        return
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
