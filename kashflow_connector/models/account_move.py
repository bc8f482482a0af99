from odoo import api, models
from odoo.tools import SQL

from .. import const


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
        partials._kashflow_orders_in_kashflow()._kashflow_reconciliation_changed()
        partials._kashflow_settled_by_credit()
        return partials

    def _kashflow_settled_by_credit(self):
        """Invoices these partials settled with another invoice's credit note (a customer's credit spent on them):
        Odoo calls them *Reversed*, and its paid hook does not run for them; their orders are paid all the same."""
        credit = self.filtered(lambda partial: partial.company_id.kashflow_enabled and "out_refund" in (
            partial.debit_move_id.move_id | partial.credit_move_id.move_id).mapped("move_type"))
        if not credit:
            return
        accounting = self.env["kashflow.accounting"]
        for invoice in (credit.debit_move_id.move_id | credit.credit_move_id.move_id).filtered(
                lambda move: move.move_type == "out_invoice" and move.payment_state == "reversed"
                and not accounting._cancelled_by_credit_note(move)):
            invoice._kashflow_orders()._kashflow_payment_received(invoice._kashflow_paid_date())

    def unlink(self):
        """Money taken off an invoice (a payment unreconciled, cancelled or reset to draft): as ``create``, the
        orders it was allocated to, now too."""
        orders = self._kashflow_orders_in_kashflow()
        result = super().unlink()
        orders.exists()._kashflow_reconciliation_changed()
        return result

    def _kashflow_orders_in_kashflow(self):
        """The orders KashFlow holds (``sale_order.IN_KASHFLOW_STATES``), or whose job may be sending them now
        (*Queued*: ``sale.order._kashflow_note_change``), whose money received these partial
        reconciliations touch: those of the invoices and credit notes they reconcile and, where one side is a
        payment or a bank statement line, of every invoice or credit note that is reconciled with it. One query,
        in companies with KashFlow on only: a payment costs its hooks little."""
        partials = self.filtered(lambda partial: partial.company_id.kashflow_enabled)
        if not partials:
            return self.env["sale.order"]
        # What the query reads is in the database already: the partials (inserted by create, or about to be
        # deleted) and their journal items; the orders' states as this transaction found them (the orders' own
        # hooks then judge each order again).
        ids = [row[0] for row in self.env.execute_query(SQL(
            """WITH moves AS (
                    SELECT line.move_id FROM account_partial_reconcile partial
                      JOIN account_move_line line ON line.id IN (partial.debit_move_id, partial.credit_move_id)
                     WHERE partial.id = ANY(%(partials)s)),
                related AS (
                    SELECT move_id FROM moves
                     UNION
                    SELECT other.move_id FROM account_move_line line
                      JOIN account_account account ON account.id = line.account_id
                                                  AND account.account_type = 'asset_receivable'
                      JOIN account_partial_reconcile partial ON line.id IN (partial.debit_move_id,
                                                                            partial.credit_move_id)
                      JOIN account_move_line other ON other.id IN (partial.debit_move_id, partial.credit_move_id)
                                                  AND other.id != line.id
                     WHERE line.move_id IN (SELECT move_id FROM moves))
               SELECT DISTINCT so.id FROM related
                 JOIN account_move_line line ON line.move_id = related.move_id
                 JOIN sale_order_line_invoice_rel rel ON rel.invoice_line_id = line.id
                 JOIN sale_order_line sol ON sol.id = rel.order_line_id
                 JOIN sale_order so ON so.id = sol.order_id
                WHERE so.kashflow_state IN %(states)s""",
            partials=partials.ids, states=(*const.IN_KASHFLOW_STATES, "queued")))]
        return self.env["sale.order"].browse(ids)
