from odoo import models


class AccountMove(models.Model):
    _inherit = "account.move"

    def _post(self, soft=True):
        """A customer invoice or credit note posted for an order KashFlow holds goes to KashFlow too."""
        posted = super()._post(soft=soft)
        posted.filtered(lambda move: move.move_type in ("out_invoice", "out_refund"))._kashflow_orders() \
            ._kashflow_accounting_changed(self.env._("Invoice or credit note posted in Odoo."))
        return posted

    def _invoice_paid_hook(self):
        """Orders whose customer invoices are now paid in full get queued for KashFlow; a credit note paid back
        (a refund) goes to KashFlow for orders it already holds."""
        result = super()._invoice_paid_hook()
        for move in self.filtered(lambda move: move.move_type in ("out_invoice", "out_refund")):
            orders = move._kashflow_orders()
            if move.move_type == "out_invoice":
                orders._kashflow_payment_received(move._kashflow_paid_date())
            orders._kashflow_accounting_changed(self.env._("Payment registered in Odoo."))
        return result

    def _kashflow_orders(self):
        """The sale orders these invoices or credit notes are for."""
        return self.line_ids.sale_line_ids.order_id

    def _kashflow_paid_date(self):
        """The date of the latest payment (or credit note) reconciled with this invoice, or None."""
        self.ensure_one()
        dates = self._get_reconciled_amls().mapped("date") or self.matched_payment_ids.mapped("date")
        return max(dates) if dates else None
