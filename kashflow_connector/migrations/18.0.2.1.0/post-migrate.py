"""18.0.2.1: a KashFlow document may serve several orders (``kashflow.document.order_ids``, an invoice made for
several orders). Each record of an earlier version serves its own order: that is written, so that every order's
KashFlow tab lists what it listed before. Nothing is sent to KashFlow."""

from odoo.tools import SQL


def migrate(cr, version):
    if not version:
        return
    cr.execute(SQL("""
        INSERT INTO kashflow_document_sale_order_rel (document_id, order_id)
             SELECT document.id, document.order_id FROM kashflow_document document
              WHERE document.order_id IS NOT NULL
        ON CONFLICT DO NOTHING"""))
