from odoo import models


class AccountMove(models.Model):
    _inherit = "account.move"

    def _invoice_paid_hook(self):
        """An order whose customer invoices are now paid in full gets queued for KashFlow."""
        result = super()._invoice_paid_hook()
        invoices = self.filtered(lambda move: move.move_type == "out_invoice")
        orders = invoices.invoice_line_ids.sale_line_ids.order_id
        orders._kashflow_payment_received()
        return result
