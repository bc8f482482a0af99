"""Orders and the reconciliation: the *Mismatch* state, its repair by Resend, and the KashFlow overview."""

from odoo import api, fields, models
from odoo.tools import SQL

# How urgently an order's KashFlow state asks for someone's attention (1 first): the overview lists orders so.
ATTENTION = {"mismatch": 1, "failed": 2, "needs_mapping": 3, "changed": 4, "queued": 5, "not_paid": 6, "sent": 7,
             "excluded": 8, "cancelled": 9}
# The states the overview's dashboard counts, most urgent first.
DASHBOARD_STATES = ("mismatch", "failed", "needs_mapping", "changed", "queued", "sent")


class SaleOrder(models.Model):
    """The reconciliation's part of orders, in a file of its own (it may join sale_order.py later)."""

    _inherit = "sale.order"  # pylint: disable=consider-merging-classes-inherited

    kashflow_attention = fields.Integer(
        string="KashFlow Priority", compute="_compute_kashflow_attention", store=True, aggregator=False,
        help="1 for orders that differ in KashFlow, 2 for failed ones, and so on: the overview lists them first.")
    kashflow_mismatch_count = fields.Integer(compute="_compute_kashflow_mismatch_count",
                                             string="KashFlow Differences")
    # The overview's measure: the order's total in the company's currency at Odoo's rate of the order's date, as
    # Odoo's Sales Analysis adds orders in several currencies (amount_total is in the order's currency).
    kashflow_company_currency_id = fields.Many2one(related="company_id.currency_id", string="Company Currency")
    kashflow_amount_total_company = fields.Monetary(
        string="Total (Company Currency)", currency_field="kashflow_company_currency_id",
        compute="_compute_kashflow_amount_total_company", store=True,
        help="The order's total in the company's currency, at Odoo's rate of the order's date.")

    @api.depends("kashflow_state")
    def _compute_kashflow_attention(self):
        for order in self:
            order.kashflow_attention = ATTENTION.get(order.kashflow_state, 10)

    @api.depends("amount_total", "currency_id", "date_order", "company_id.currency_id")
    def _compute_kashflow_amount_total_company(self):
        for order in self:
            company = order.company_id or self.env.company
            currency = order.currency_id or company.currency_id
            date = fields.Date.to_date(order.date_order) if order.date_order else fields.Date.context_today(order)
            order.kashflow_amount_total_company = currency._convert(order.amount_total, company.currency_id,
                                                                    company, date)

    @api.depends("kashflow_document_ids.mismatch")
    def _compute_kashflow_mismatch_count(self):
        for order in self:
            order.kashflow_mismatch_count = len(order.kashflow_document_ids.filtered("mismatch"))

    def _kashflow_mismatch_summary(self):
        """What differs in KashFlow, in a line: the first difference, how many more, and what to do."""
        self.ensure_one()
        documents = self.kashflow_document_ids.filtered("mismatch")
        lines = [line for document in documents for line in (document.mismatch_reason or "").splitlines() if line]
        if not lines:
            return False
        summary = lines[0]
        if len(lines) > 1:
            summary += " " + self.env._("(and %s more differences)", len(lines) - 1)
        repairable = documents.filtered("mismatch_repair")
        if repairable == documents:
            return summary + " " + self.env._("Resend repairs it.")
        if repairable:
            return summary + " " + self.env._(
                "Resend repairs %(repairable)s of the %(documents)s documents that differ; correct the others in "
                "KashFlow or in Odoo (see the KashFlow tab).", repairable=len(repairable), documents=len(documents))
        return summary + " " + self.env._("Correct it in KashFlow or in Odoo (see the KashFlow tab).")

    def _kashflow_set_sent(self, values):
        """A job that brought an order's other documents in step (a new credit note, say) leaves it *Mismatch*
        while a document still differs in KashFlow: only a resend repairs that, or a reconciliation finding it
        matches again."""
        if not self.kashflow_document_ids.filtered("mismatch"):
            return super()._kashflow_set_sent(values)
        return self.write({**values, "kashflow_state": "mismatch",
                           "kashflow_reason": self._kashflow_mismatch_summary()})

    def action_kashflow_resend(self):
        """Resend also repairs what a reconciliation found different in KashFlow, where Odoo is right: what
        differs is sent again (see ``kashflow.document._kashflow_prepare_repair``)."""
        mismatched = self.sudo().kashflow_document_ids.filtered("mismatch")
        result = super().action_kashflow_resend()
        mismatched._kashflow_prepare_repair()
        return result

    def action_kashflow_open_documents(self):
        """The order's KashFlow documents, those that differ first."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("KashFlow documents of %s", self.name),
            "res_model": "kashflow.document",
            "view_mode": "list,form",
            "domain": [("order_ids", "in", self.id)],
            "context": {"create": False},
        }

    # ------------------------------------------------------------------ the overview's dashboard

    @api.model
    def kashflow_overview_data(self):
        """What the KashFlow overview's dashboard shows for the user's companies: orders and money per KashFlow
        state, the back-fill's progress and the reconciliation's."""
        companies = self.env.companies
        labels = dict(self._fields["kashflow_state"]._description_selection(self.env))
        groups = self._read_group([("company_id", "in", companies.ids), ("kashflow_state", "in", DASHBOARD_STATES)],
                                  ["kashflow_state", "currency_id"], ["__count", "amount_total:sum"])
        currency, today = self.env.company.currency_id, fields.Date.context_today(self)
        counts = {}
        for state, order_currency, count, amount in groups:  # orders in other currencies at today's rate
            total = order_currency._convert(amount or 0.0, currency, self.env.company, today)
            previous = counts.get(state, (0, 0.0))
            counts[state] = (previous[0] + count, previous[1] + total)
        states = [{"state": state, "label": labels[state], "count": counts.get(state, (0, 0))[0],
                   "amount": currency.format(counts.get(state, (0, 0.0))[1] or 0.0)}
                  for state in DASHBOARD_STATES]
        in_kashflow = sum(counts.get(state, (0, 0))[0] for state in ("sent", "mismatch", "changed", "failed"))
        queued = counts.get("queued", (0, 0))[0]
        waiting = self.sudo()._kashflow_backfill_waiting(companies)
        todo = queued + waiting
        Run = self.env["kashflow.reconciliation"]
        running = Run.search([("company_id", "in", companies.ids), ("state", "=", "running")], order="id desc",
                             limit=1)
        last = Run.search([("company_id", "in", companies.ids), ("state", "!=", "running")], order="id desc",
                          limit=1)
        return {
            "states": states,
            "backfill": {
                "waiting": waiting, "queued": queued, "sent": in_kashflow,
                "progress": round(100.0 * in_kashflow / (in_kashflow + todo)) if todo else 100,
                "running": bool(todo),
            },
            "reconciliation": {
                "running": bool(running),
                "progress": round(running.progress) if running else 100,
                "checked": running.documents_checked if running else last.documents_checked,
                "total": running.documents_total if running else last.documents_total,
                "mismatches": running.mismatches_found if running else last.mismatches_found,
                "last_id": last.id or False, "running_id": running.id or False,
                "last_date": fields.Datetime.to_string(last.ended_at) if last.ended_at else False,
                "last_state": last.state or False,
                "last_message": last.message or False,
            },
            "can_reconcile": self.env.user.has_group("account.group_account_invoice"),
        }

    @api.model
    def _kashflow_backfill_waiting(self, companies):
        """Paid orders since each company's start date that the back-fill has still to queue."""
        self.env.flush_all()
        return self.env.execute_query(SQL(
            """SELECT count(*) FROM sale_order so JOIN res_company c ON c.id = so.company_id
                WHERE so.company_id IN %s AND so.kashflow_state = 'not_paid' AND so.state = 'sale'
                  AND c.kashflow_enabled AND so.kashflow_paid_date IS NOT NULL
                  AND (c.kashflow_start_date IS NULL OR so.kashflow_paid_date >= c.kashflow_start_date)""",
            tuple(companies.ids) or (0,)))[0][0]
