"""From one set of KashFlow fields on orders and contacts (18.0.1) to one record per KashFlow document (18.0.2).

What earlier versions recorded is carried over, so that nothing KashFlow already holds is sent twice: each
contact's KashFlow customer (company-dependent fields on res.partner) becomes a ``kashflow.customer``; each sent
order's KashFlow invoice and payment become ``kashflow.document`` records. The invoice has no fingerprint yet:
its next sync updates it once with what Odoo's accounting holds. The payment is bound to the order's one Odoo
payment (if it has exactly one; otherwise the next sync replaces it with the order's payments), and counts as
sent as it is where that payment is what 18.0.1 sent (the order's total, on its paid date): KashFlow keeps that
payment, and whatever a bookkeeper did with it there, instead of having it deleted and recorded again.
"""

import logging

from odoo import SUPERUSER_ID, api
from odoo.tools import SQL
from odoo.tools.sql import column_exists

from odoo.addons.kashflow_connector.kashflow import documents
from odoo.addons.kashflow_connector.kashflow.snapshot import own_invoice_key

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    if column_exists(cr, "res_partner", "kashflow_customer_id"):
        cr.execute(SQL("""
            INSERT INTO kashflow_customer (partner_id, company_id, kashflow_customer_id, code, create_uid, write_uid,
                                           create_date, write_date)
            SELECT p.id, ids.key::int, ids.value::int, codes.value #>> '{}', %(uid)s, %(uid)s, now(), now()
              FROM res_partner p
              CROSS JOIN LATERAL jsonb_each_text(p.kashflow_customer_id) ids
              LEFT JOIN LATERAL jsonb_each(p.kashflow_customer_code) codes ON codes.key = ids.key
             WHERE p.kashflow_customer_id IS NOT NULL AND ids.value::int > 0
            ON CONFLICT DO NOTHING""", uid=SUPERUSER_ID))
        _logger.info("KashFlow: %s contact bindings carried over", cr.rowcount)
    if not column_exists(cr, "sale_order", "kashflow_payment_number"):
        return
    cr.execute("""SELECT id, kashflow_invoice_number, kashflow_invoice_id, kashflow_payment_number FROM sale_order
                   WHERE kashflow_invoice_number > 0""")
    Document = env["kashflow.document"]
    for order_id, number, dbid, payment_number in cr.fetchall():
        order = env["sale.order"].browse(order_id)
        if Document.search_count([("order_id", "=", order_id)]):
            continue
        Document.create({"order_id": order_id, "key": own_invoice_key(order_id), "kind": "invoice",
                         "kashflow_number": number, "kashflow_dbid": dbid or 0})
        if payment_number:
            try:
                payments = order._kashflow_snapshot()[0].payments
            except Exception:  # noqa: BLE001 - an order the new rules refuse keeps its invoice; its payment is redone
                payments = ()
            if len(payments) == 1:
                [payment] = payments
                as_sent = not order.currency_id.compare_amounts(float(payment.amount), order.amount_total) \
                    and payment.date == order.kashflow_paid_date
                Document.create({"order_id": order_id, "key": payment.key, "kind": "payment",
                                 "kashflow_number": payment_number, "kashflow_applied_invoice_number": number,
                                 "fingerprint": documents.payment_fingerprint(payment) if as_sent else False})
