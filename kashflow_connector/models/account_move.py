from odoo import models


class AccountMove(models.Model):
    _inherit = "account.move"

    def _invoice_paid_hook(self):
        """An order whose customer invoices are now paid in full gets queued for KashFlow."""
        result = super()._invoice_paid_hook()
        for invoice in self.filtered(lambda move: move.move_type == "out_invoice"):
            orders = invoice.invoice_line_ids.sale_line_ids.order_id
            orders._kashflow_payment_received(invoice._kashflow_paid_date())
        return result

    def _kashflow_paid_date(self):
        """The date of the latest payment reconciled with this invoice (or None when there is none)."""
        self.ensure_one()
        dates = self._get_reconciled_amls().mapped("date") or self.matched_payment_ids.mapped("date")
        return max(dates) if dates else None
