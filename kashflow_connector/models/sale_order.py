from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from .. import const
from ..kashflow.documents import document_fingerprint
from ..kashflow.snapshot import INVOICE, OrderSnapshot, own_invoice_key


class SaleOrder(models.Model):
    _inherit = "sale.order"

    kashflow_state = fields.Selection(
        const.KASHFLOW_STATES, string="KashFlow", default="not_paid", required=True, copy=False, index=True,
        readonly=True, help="Where the order stands with KashFlow.")
    kashflow_reason = fields.Char(string="KashFlow Status Detail", copy=False, readonly=True,
                                  help="Why the order failed, is excluded, cancelled or waits for a mapping.")
    kashflow_invoice_number = fields.Integer(string="KashFlow Invoice", copy=False, readonly=True, aggregator=False,
                                             help="The number of the order's invoice in KashFlow.")
    kashflow_paid_date = fields.Date(string="Paid On", copy=False, readonly=True, index=True,
                                     help="The day the order became paid in full (or was confirmed, with nothing "
                                          "to pay).")
    kashflow_cancelled_on = fields.Date(string="Cancelled On", copy=False, readonly=True)
    kashflow_sent_at = fields.Datetime(string="Sent to KashFlow", copy=False, readonly=True)
    kashflow_document_ids = fields.Many2many(
        "kashflow.document", "kashflow_document_sale_order_rel", "order_id", "document_id", string="KashFlow Documents",
        readonly=True, help="What KashFlow holds of the order: its own documents, and those it shares with other "
                            "orders (an invoice made for several, its payments and credit notes).")
    kashflow_enabled = fields.Boolean(related="company_id.kashflow_enabled")
    kashflow_change_count = fields.Integer(
        string="Changes While Queued", copy=False, readonly=True, aggregator=False,
        help="Counts the changes that reached the order while it was queued for KashFlow. Writing it makes a job "
             "that was already sending the order start over and send the change too (see _kashflow_note_change).")
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

    @api.ondelete(at_uninstall=False)
    def _kashflow_hand_over_shared_documents(self):
        """A KashFlow document kept with an order that is deleted (a cancelled order, say) but that serves other
        orders too (an invoice of several orders, the money allocated to it) is kept with the first of those
        instead of going with it: KashFlow still holds it once, and their jobs do not send it again."""
        Document = self.env["kashflow.document"].sudo()
        for document in Document.search([("order_id", "in", self.ids)]):
            others = (document.order_ids - self).sorted("id")
            if others:
                document.order_id = others[:1]

    # ------------------------------------------------------------------ display

    def _kashflow_identity_key(self):
        self.ensure_one()
        return f"{const.JOB_IDENTITY_PREFIX}{self.id}"

    @api.depends("kashflow_state")
    def _compute_kashflow_attention(self):
        for order in self:
            order.kashflow_attention = const.ATTENTION.get(order.kashflow_state, 10)

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
            summary += " " + (self.env._("(and 1 more difference)") if len(lines) == 2
                              else self.env._("(and %s more differences)", len(lines) - 1))
        repairable = documents.filtered("mismatch_repair")
        if repairable == documents:
            return summary + " " + self.env._("Resend repairs it.")
        if repairable:
            return summary + " " + self.env._(
                "Resend repairs %(repairable)s of the %(documents)s documents that differ; correct the others in "
                "KashFlow or in Odoo (see the KashFlow tab).", repairable=len(repairable), documents=len(documents))
        return summary + " " + self.env._("Correct it in KashFlow or in Odoo (see the KashFlow tab).")

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

    def action_kashflow_open_history(self):
        """The order's KashFlow history, in the user's words: each time its job ran, where the order stood after
        it and what it did (``kashflow.history``, kept as long as the order; the documents KashFlow holds are on the
        order's KashFlow tab). Each entry's job is one click away while queue_job keeps it."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("KashFlow history of %s", self.name),
            "res_model": "kashflow.history",
            "view_mode": "list",
            "views": [(self.env.ref("kashflow_connector.kashflow_history_view_list").id, "list")],
            "domain": [("order_id", "=", self.id)],
            "context": {"create": False},
        }

    # ------------------------------------------------------------------ what Odoo's accounting holds; the job

    def _kashflow_settlement(self):
        """``(paid, paid_date)``: see ``kashflow.accounting._settlement``."""
        self.ensure_one()
        return self.env["kashflow.accounting"]._settlement(self)

    def _kashflow_snapshot(self, bound_moves=None):
        """``(OrderSnapshot, sources)``: see ``kashflow.accounting._snapshot``."""
        self.ensure_one()
        return self.env["kashflow.accounting"]._snapshot(self, bound_moves)

    def _kashflow_sync_job(self):
        """Queue job: book this order into KashFlow (``kashflow.sync._run``)."""
        self.ensure_one()
        return self.env["kashflow.sync"]._run(self)

    # ------------------------------------------------------------------ triggers: Odoo's accounting moved

    def _kashflow_payment_received(self, paid_date=None):
        """Payment hooks call this: the orders that just became paid get their paid date, and (where the
        connector is on) are queued. Never talks to KashFlow.

        The paid date is kept whether the connector is on or not, so that the back-fill finds orders paid
        while it was off by the day they were paid. It runs as the system: whoever completed the payment (a
        customer on the portal, say) need not be allowed to touch the order's KashFlow state or its jobs.
        """
        paid = self.env["sale.order"]
        for order in self.sudo().filtered(lambda order: order.kashflow_state in ("not_paid", "cancelled")):
            is_paid, settled_on = order._kashflow_settlement()
            if is_paid:
                order.kashflow_paid_date = settled_on or paid_date or fields.Date.context_today(order)
                paid |= order
        paid.filtered("company_id.kashflow_enabled")._kashflow_route(self.env._("Order paid."))

    def _kashflow_accounting_changed(self, event=None):
        """An invoice or credit note of the orders was posted or paid, or money was paid back: orders KashFlow
        holds go out again (their new documents are sent, nothing is sent twice); orders that just became paid
        are queued."""
        orders = self.sudo()
        orders._kashflow_note_change()
        orders.filtered(lambda order: order.kashflow_state in ("not_paid", "cancelled"))._kashflow_payment_received()
        again = orders.filtered(lambda order: order.kashflow_state in const.IN_KASHFLOW_STATES
                                and order.company_id.kashflow_enabled)
        again._kashflow_route(event or self.env._("Accounting changed in Odoo."))

    def _kashflow_note_change(self):
        """A change reached these orders (their accounting, their contact, a resend...): those queued for KashFlow,
        whose job may be sending them right now from what it read before the change, are written to.

        That write is what sends the change. Odoo's transactions are REPEATABLE READ, and a job writes its order
        when it ends (*Sent*, *Failed*...): if this transaction commits while the job runs, the job's write fails
        with a serialization error, the job runs again at once (``kashflow.sync._run``) and, in a new transaction,
        it reads the change and sends it (what it sent already is in its journal: nothing goes twice); if the job
        commits first, this transaction's write fails instead, Odoo runs the request again, and it finds the order
        *Sent* and queues it anew. Either way the change goes out once the job ends, by one job at a time (the
        order's lock). Orders not queued need nothing: their change queues them (``_kashflow_route``)."""
        for order in self.sudo().filtered(lambda order: order.kashflow_state == "queued"):
            order.kashflow_change_count += 1

    def _kashflow_reconciliation_changed(self):
        """What Odoo allocated of a payment changed for these orders, which KashFlow holds: they go out again."""
        if self:
            self.sudo()._kashflow_accounting_changed(self.env._("Payment allocation changed in Odoo."))

    def _action_confirm(self):
        """An order with nothing to pay is paid when it is confirmed."""
        result = super()._action_confirm()
        self.filtered(lambda order: order.currency_id.is_zero(order.amount_total))._kashflow_payment_received()
        return result

    def _action_cancel(self):
        """A cancelled order is never sent, unless Odoo's books keep its posted invoices (cancelling an order does
        not reverse them): those go to KashFlow as they are. One KashFlow already holds, built from the order's own
        lines, is reversed there by a credit note."""
        before = {order: order.kashflow_state for order in self}
        result = super()._action_cancel()
        orders = self.sudo()
        orders.write({"kashflow_cancelled_on": fields.Date.context_today(self)})
        invoiced = orders.filtered(lambda order: order.invoice_ids.filtered(
            lambda move: move.state == "posted" and move.move_type == "out_invoice"))
        sent = orders.filtered(lambda order: order.kashflow_document_ids.filtered("kashflow_number"))
        waiting = orders.filtered(lambda order: before[order] not in ("not_paid", "cancelled", "excluded"))
        # a queued order whose job is sending it now stays queued: the job, which sees what it sent, judges the
        # cancellation (and one that starts as this transaction ends finds it cancelled: ``kashflow.sync._run``)
        running = orders.filtered(
            lambda order: before[order] == "queued" and order._kashflow_has_live_job(("started",)))
        running._kashflow_note_change()
        unsent = waiting - sent - invoiced - running
        if unsent:
            reason = self.env._("Cancelled in Odoo before it was sent to KashFlow: nothing was sent.")
            unsent.write({"kashflow_state": "cancelled", "kashflow_reason": reason})
            unsent._kashflow_log(reason)
        if invoiced - sent:
            (invoiced - sent)._kashflow_log(self.env._(
                "Cancelled in Odoo, but its posted invoices stay in Odoo's books: they go to KashFlow as they are. "
                "Issue a credit note in Odoo to reverse them."))
        (sent - running).filtered("company_id.kashflow_enabled")._kashflow_route(
            self.env._("Order cancelled."), note_queued=True)
        return result

    # ------------------------------------------------------------------ routing

    def _kashflow_route(self, event, note_queued=False):
        """Decide for each order: excluded, waiting for a mapping, or queued for KashFlow; say in the chatter why an
        order is held or left out. A queued order gets a note only when ``note_queued`` (a person asked for it):
        its job notes what it did, and an order just paid costs its payment no more than needed."""
        channels = self.env["kashflow.channel"].sudo().search(
            [("company_id", "in", self.company_id.ids), ("team_id", "in", self.team_id.ids)])
        channel_of = {(channel.company_id, channel.team_id): channel for channel in channels}
        labels = dict(self._fields["kashflow_state"]._description_selection(self.env))
        decisions = {}
        for order in self:
            state, reason = order._kashflow_decide(channel_of.get((order.company_id, order.team_id)))
            decisions.setdefault((state, reason), self.browse())
            decisions[(state, reason)] |= order
        for (state, reason), orders in decisions.items():
            orders.write({"kashflow_state": state, "kashflow_reason": reason})
            if state != "queued" or note_queued:
                orders._kashflow_log(self.env._("%(event)s KashFlow: %(state)s.", event=event, state=labels[state]),
                                     reason)
            if state == "queued":
                orders._kashflow_enqueue()

    def _kashflow_decide(self, channel):
        """``(state, reason)`` for a paid order of this ``channel`` (a ``kashflow.channel`` or empty)."""
        company = self.company_id
        in_kashflow = self.kashflow_state in const.IN_KASHFLOW_STATES
        if not in_kashflow and company.kashflow_start_date and self.kashflow_paid_date \
                and self.kashflow_paid_date < company.kashflow_start_date:
            return "excluded", self.env._("Paid on %(paid)s, before the KashFlow start date %(start)s.",
                                          paid=self.kashflow_paid_date, start=company.kashflow_start_date)
        if not in_kashflow and channel and channel.marketplace_fulfilled and not company.kashflow_send_fba:
            return "excluded", self.env._(
                "Marketplace-fulfilled channel %s: such orders are not sent (see Settings > KashFlow).",
                channel.team_id.name)
        if not self.team_id:
            return "needs_mapping", self.env._("The order has no sales channel: set its Sales Team, then resend it.")
        if not channel or not channel.is_complete:
            return "needs_mapping", self.env._(
                "Map the sales channel %(channel)s in Sales > Configuration > KashFlow > Channel Mapping "
                "(missing: %(missing)s).",
                channel=self.team_id.name,
                missing=channel._missing_description() if channel else self.env._("everything"))
        return "queued", False

    def _kashflow_has_live_job(self, states=("wait_dependencies", "pending", "enqueued", "started")):
        """Whether a job that will send the order is waiting or running (in one of the queue job ``states``)."""
        self.ensure_one()
        return bool(self.env["queue.job"].sudo().search_count([
            ("identity_key", "=", self._kashflow_identity_key()), ("state", "in", list(states))], limit=1))

    def _kashflow_enqueue(self):
        for order in self:
            order.with_delay(
                channel=const.JOB_CHANNEL, identity_key=order._kashflow_identity_key(),
                max_retries=const.JOB_MAX_RETRIES,
                description=self.env._("Send %s to KashFlow", order.name),
            )._kashflow_sync_job()

    def _kashflow_booked(self, values):
        """The order's job ended with KashFlow holding what Odoo's accounting holds of it, as far as the job knows:
        ``values`` written (when, the KashFlow invoice number), and the state that follows: *Sent*, or *Mismatch*
        while a document still differs in KashFlow (a job that brought the order's other documents in step, a new
        credit note say, repairs none of that: only a resend does, or a reconciliation finding it matches again)."""
        self.ensure_one()
        if self.kashflow_document_ids.filtered("mismatch"):
            return self.write({**values, "kashflow_state": "mismatch",
                               "kashflow_reason": self._kashflow_mismatch_summary()})
        return self.write({**values, "kashflow_state": "sent", "kashflow_reason": False})

    def _kashflow_log(self, message, detail=None):
        """A note in the order's chatter, written by OdooBot (whoever triggered it, a portal customer say)."""
        body = f"{message} {detail}" if detail else message
        self._message_log_batch(bodies=dict.fromkeys(self.ids, body), author_id=self.env.ref("base.partner_root").id)

    # ------------------------------------------------------------------ resend

    def action_kashflow_resend(self):
        """Send again: updates what KashFlow holds of a sent or changed order, retries a failed or held one.

        An order never sent is sent only if it is paid (and then dated the day it was paid: one paid before the
        start date is excluded, not booked today). It also repairs what a reconciliation found different in
        KashFlow, where Odoo is right: what differs is sent again (``kashflow.document._kashflow_prepare_repair``).
        """
        if not self.env.user.has_group("account.group_account_invoice"):
            raise AccessError(self.env._("Only invoicing users can send orders to KashFlow again."))
        disabled = self.company_id.filtered(lambda company: not company.kashflow_enabled)
        if disabled:
            raise UserError(self.env._("KashFlow is not switched on for %s (Settings > KashFlow).",
                                       ", ".join(disabled.mapped("name"))))
        orders = self.sudo()
        mismatched = orders.kashflow_document_ids.filtered("mismatch")
        settled = {order: order._kashflow_settlement() for order in orders}
        in_kashflow = orders.filtered(lambda order: order.kashflow_document_ids.filtered("kashflow_number"))
        not_paid = orders.filtered(lambda order: order not in in_kashflow and not settled[order][0])
        if not_paid:
            cancelled = not_paid.filtered(lambda order: order.state == "cancel")
            raise UserError(self.env._(
                "Only paid orders go to KashFlow. Not paid yet: %(unpaid)s%(cancelled)s",
                unpaid=", ".join((not_paid - cancelled).mapped("name")) or "-",
                cancelled=self.env._("; cancelled: %s", ", ".join(cancelled.mapped("name"))) if cancelled else ""))
        for order in orders.filtered(lambda order: not order.kashflow_paid_date):
            order.kashflow_paid_date = settled[order][1] or fields.Date.context_today(order)
        running = orders.filtered(lambda order: order.kashflow_state == "queued" and order._kashflow_has_live_job())
        running._kashflow_note_change()  # the job on its way sends what the user resends for (a contact's edit...)
        (orders - running)._kashflow_route(self.env._("Resend requested by %s.", self.env.user.name),
                                           note_queued=True)
        mismatched._kashflow_prepare_repair()
        return True

    # ------------------------------------------------------------------ back-fill

    @api.model
    def _kashflow_backfill(self, batch_size=const.BACKFILL_BATCH):
        """Scheduled action: queue the paid orders since each company's start date that are not in KashFlow yet;
        returns how many it queued.

        Orders paid before the connector was switched on, or while it was off, are caught up this way, oldest
        payment first. Each call does one batch of each step, paged in SQL, and reports its progress with Odoo
        18's cron progress (``_notify_progress``): the cron commits and calls again while some remain, so memory
        stays flat, and a run that stops resumes where it stopped (a queued order has left *Not paid yet*). The
        rows of a batch are locked (``SKIP LOCKED``): an order the payment hook is queuing at that moment is left
        to it. The steps: orders paid before the connector was installed get their paid date
        (``_kashflow_discover_paid``); orders paid before the start date become *Excluded*; the others are
        queued; orders left *Queued* without a job are queued again.
        """
        self.env.flush_all()
        discovered, to_discover = self._kashflow_discover_paid(batch_size)
        excluded = self._kashflow_exclude_before_start(batch_size)
        ids = [row[0] for row in self.env.execute_query(SQL(
            """SELECT so.id FROM sale_order so JOIN res_company c ON c.id = so.company_id
                WHERE so.kashflow_state = 'not_paid' AND so.state = 'sale' AND c.kashflow_enabled
                  AND so.kashflow_paid_date IS NOT NULL
                  AND (c.kashflow_start_date IS NULL OR so.kashflow_paid_date >= c.kashflow_start_date)
             ORDER BY so.kashflow_paid_date, so.id LIMIT %s FOR UPDATE OF so SKIP LOCKED""", batch_size))]
        batch = self.sudo().browse(ids)
        batch._kashflow_route(self.env._("Paid order caught up by the back-fill."))
        requeued = self._kashflow_requeue_stranded(batch_size)
        self.env.flush_all()
        remaining = self._kashflow_backfill_remaining() + to_discover
        self.env["ir.cron"]._notify_progress(done=len(batch) + discovered + excluded + requeued, remaining=remaining)
        return len(batch)

    @api.model
    def _kashflow_backfill_remaining(self):
        """How many paid orders since their company's start date are not queued yet."""
        self.env.flush_all()
        return self.env.execute_query(SQL(
            """SELECT count(*) FROM sale_order so JOIN res_company c ON c.id = so.company_id
                WHERE so.kashflow_state = 'not_paid' AND so.state = 'sale' AND c.kashflow_enabled
                  AND so.kashflow_paid_date IS NOT NULL
                  AND (c.kashflow_start_date IS NULL OR so.kashflow_paid_date >= c.kashflow_start_date)"""))[0][0]

    @api.model
    def _kashflow_exclude_before_start(self, batch_size=const.BACKFILL_BATCH):
        """Paid orders not in KashFlow whose payment came before their company's start date become *Excluded*, a
        batch at a time, without a note each (there may be years of them); returns how many."""
        excluded = 0
        for company in self.env["res.company"].sudo().search([("kashflow_enabled", "=", True),
                                                               ("kashflow_start_date", "!=", False)]):
            ids = [row[0] for row in self.env.execute_query(SQL(
                """SELECT id FROM sale_order WHERE company_id = %s AND kashflow_state = 'not_paid'
                      AND state = 'sale' AND kashflow_paid_date < %s
                    LIMIT %s FOR UPDATE SKIP LOCKED""", company.id, company.kashflow_start_date, batch_size))]
            self.sudo().browse(ids).write({"kashflow_state": "excluded", "kashflow_reason": self.env._(
                "Paid before the KashFlow start date %s.", company.kashflow_start_date)})
            excluded += len(ids)
        return excluded

    @api.model
    def _kashflow_discover_paid(self, batch_size=const.BACKFILL_BATCH):
        """Give a paid date to a batch of the paid orders that have none (paid before the connector was installed),
        from where the last call stopped (``kashflow_connector.discover_from``, an order id). Returns how many it
        looked at and how many are left to look at."""
        params = self.env["ir.config_parameter"].sudo()
        start = int(params.get_param("kashflow_connector.discover_from", 0))
        condition = SQL("""so.id > %s AND so.state = 'sale' AND so.kashflow_state = 'not_paid'
                           AND so.kashflow_paid_date IS NULL AND c.kashflow_enabled""", start)
        ids = [row[0] for row in self.env.execute_query(SQL(
            "SELECT so.id FROM sale_order so JOIN res_company c ON c.id = so.company_id WHERE %s ORDER BY so.id "
            "LIMIT %s", condition, batch_size))]
        if not ids:
            return 0, 0
        for order in self.sudo().browse(ids):
            is_paid, paid_on = order._kashflow_settlement()
            if is_paid and paid_on:
                order.kashflow_paid_date = paid_on
        params.set_param("kashflow_connector.discover_from", ids[-1])
        self.env.flush_all()
        left = self.env.execute_query(SQL(
            "SELECT count(*) FROM sale_order so JOIN res_company c ON c.id = so.company_id WHERE %s AND so.id > %s",
            condition, ids[-1]))[0][0]
        return len(ids), left

    @api.model
    def _kashflow_requeue_stranded(self, batch_size=const.BACKFILL_BATCH):
        """Orders left *Queued* without a job (cancelled in Job Queue, or a job that died for good) go out again,
        a batch at a time; returns how many."""
        ids = [row[0] for row in self.env.execute_query(SQL(
            """SELECT so.id FROM sale_order so JOIN res_company c ON c.id = so.company_id
                WHERE so.kashflow_state = 'queued' AND c.kashflow_enabled
                  AND NOT EXISTS (SELECT 1 FROM queue_job job
                                   WHERE job.identity_key = %s || so.id
                                     AND job.state IN ('wait_dependencies', 'pending', 'enqueued', 'started'))
                LIMIT %s""", const.JOB_IDENTITY_PREFIX, batch_size))]
        self.sudo().browse(ids)._kashflow_enqueue()
        return len(ids)

    # ------------------------------------------------------------------ change detection

    def write(self, vals):
        result = super().write(vals)
        if set(vals) & const.ORDER_CONTENT_FIELDS:
            self._kashflow_flag_changed()
        return result

    def _kashflow_flag_changed(self):
        """A sent order whose invoice in KashFlow no longer matches what it was built from (the order's delivery
        address, and its lines or those of its Odoo invoice) becomes *Changed since sent*: any invoice of the order's
        alone (an invoice shared with other orders is built from itself alone). New invoices, credit notes and
        payments go out by themselves (``_kashflow_accounting_changed``)."""
        for order in self.sudo().filtered(lambda order: order.kashflow_state == "sent"):
            own_key = own_invoice_key(order.id)
            for record in order.kashflow_document_ids.filtered(
                    lambda document, own_key=own_key, order=order: document.kind == INVOICE and document.fingerprint
                    and (document.key == own_key or document.move_id and document.key == f"move:{document.move_id.id}"
                         and document.move_id._kashflow_orders() == order)):
                problem = order._kashflow_invoice_changed(record)
                if problem is not None:
                    order.kashflow_state = "changed"
                    order.kashflow_reason = problem
                    order._kashflow_log(self.env._(
                        "Changed since it was sent to KashFlow: resend it to update invoice %s.",
                        record.kashflow_number), problem or None)
                    break

    def _kashflow_invoice_changed(self, record):
        """None while ``record`` (a ``kashflow.document`` of an invoice of this order's alone) holds what the order
        and its Odoo invoice say; else why not: "" when they changed, or the error that stops them from being sent."""
        self.ensure_one()
        order, accounting = self, self.env["kashflow.accounting"]
        try:
            # the customer the invoice was booked to: its own (the order's first), else the order's
            customer = record.move_id.partner_id.commercial_partner_id or accounting._customer(order)
            document = accounting._document(order, record.key, INVOICE, record.move_id or None, customer=customer)
            snapshot = OrderSnapshot(name=order.name, customer=customer._kashflow_customer_snapshot(order.company_id),
                                     home_currency_code="", include_vat=order.company_id.kashflow_include_vat)
        except UserError as error:
            return str(error)  # what KashFlow cannot take: changed all the same, and why
        return None if document_fingerprint(snapshot, document) == record.fingerprint else ""

    # ------------------------------------------------------------------ the overview's dashboard

    @api.model
    def kashflow_overview_data(self):
        """What the KashFlow overview's dashboard shows for the user's companies: orders and money per KashFlow
        state, the back-fill's progress and the reconciliation's."""
        companies = self.env.companies
        labels = dict(self._fields["kashflow_state"]._description_selection(self.env))
        groups = self._read_group(
            [("company_id", "in", companies.ids), ("kashflow_state", "in", const.DASHBOARD_STATES)],
            ["kashflow_state", "currency_id"], ["__count", "amount_total:sum"])
        currency, today = self.env.company.currency_id, fields.Date.context_today(self)
        counts = {}
        for state, order_currency, count, amount in groups:  # orders in other currencies at today's rate
            total = order_currency._convert(amount or 0.0, currency, self.env.company, today)
            previous = counts.get(state, (0, 0.0))
            counts[state] = (previous[0] + count, previous[1] + total)
        states = [{"state": state, "label": labels[state], "count": counts.get(state, (0, 0))[0],
                   "amount": currency.format(counts.get(state, (0, 0.0))[1] or 0.0)}
                  for state in const.DASHBOARD_STATES]
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
