from odoo import models


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    def _post_process(self):
        """An order paid in full by a completed online payment gets queued for KashFlow."""
        result = super()._post_process()
        accounting = self.env["kashflow.accounting"]
        for transaction in self.filtered(lambda tx: tx.state == "done" and tx.operation != "validation"):
            for order in transaction.sale_order_ids:
                paid_on = accounting._local_date(order.company_id, transaction.last_state_change) \
                    if transaction.last_state_change else None
                order._kashflow_payment_received(paid_on)
        return result
