from odoo import api, models


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

    def button_draft(self):
        """An invoice or credit note taken back from the books (reset to draft): orders KashFlow holds go out
        again (their payments follow Odoo; an invoice KashFlow holds that Odoo no longer posts is reported)."""
        orders = self._kashflow_orders()
        result = super().button_draft()
        orders._kashflow_accounting_changed(self.env._("Invoice or credit note reset to draft in Odoo."))
        return result

    def button_cancel(self):
        """An invoice or credit note cancelled: as ``button_draft``."""
        orders = self._kashflow_orders()
        result = super().button_cancel()
        orders._kashflow_accounting_changed(self.env._("Invoice or credit note cancelled in Odoo."))
        return result

    def _kashflow_orders(self):
        """The sale orders these invoices or credit notes are for."""
        return self.line_ids.sale_line_ids.order_id

    def _kashflow_settled_orders(self):
        """The sale orders of these moves and, for payments and bank statement lines among them, of the invoices
        and credit notes they are reconciled with: the orders whose money received a change of these moves'
        reconciliation changes."""
        receivable = self.line_ids.filtered(lambda line: line.account_id.account_type == "asset_receivable")
        counterparts = (receivable.matched_debit_ids.debit_move_id | receivable.matched_credit_ids.credit_move_id
                        ).move_id.filtered(lambda move: move.move_type in ("out_invoice", "out_refund"))
        return (self | counterparts)._kashflow_orders()

    def _kashflow_paid_date(self):
        """The date of the latest payment (or credit note) reconciled with this invoice, or None."""
        self.ensure_one()
        dates = self._get_reconciled_amls().mapped("date") or self.matched_payment_ids.mapped("date")
        return max(dates) if dates else None


class AccountPartialReconcile(models.Model):
    _inherit = "account.partial.reconcile"

    @api.model_create_multi
    def create(self, vals_list):
        """Money allocated anew (a payment's rest used for another invoice, an overpayment paid back): the orders
        KashFlow already holds whose money received that changes go out again. Orders becoming paid are queued
        by the paid hook (``account.move._invoice_paid_hook``)."""
        partials = super().create(vals_list)
        partials._kashflow_concerned()._kashflow_moves()._kashflow_settled_orders()._kashflow_reconciliation_changed()
        return partials

    def unlink(self):
        """Money taken off an invoice (a payment unreconciled, cancelled or reset to draft): as ``create``, the
        orders it was allocated to, now too."""
        orders = self._kashflow_concerned()._kashflow_moves()._kashflow_settled_orders()
        result = super().unlink()
        orders.exists()._kashflow_reconciliation_changed()
        return result

    def _kashflow_concerned(self):
        """Those of these partial reconciliations made in a company with KashFlow on."""
        return self.filtered(lambda partial: partial.company_id.kashflow_enabled)

    def _kashflow_moves(self):
        return (self.debit_move_id | self.credit_move_id).move_id
