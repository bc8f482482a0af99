import logging
from decimal import Decimal

import psycopg2
import pytz

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression
from odoo.tools import float_repr

from odoo.addons.queue_job.exception import RetryableJobError

from ..kashflow import documents
from ..kashflow.exceptions import KashFlowError, UnavailableError
from ..kashflow.snapshot import Address, CustomerSnapshot, OrderSnapshot
from ..kashflow.sync import Known, sync_order

_logger = logging.getLogger(__name__)

KASHFLOW_STATES = [
    ("not_paid", "Not paid yet"),
    ("queued", "Queued"),
    ("sent", "Sent"),
    ("changed", "Changed since sent"),
    ("needs_mapping", "Needs mapping"),
    ("failed", "Failed"),
    ("excluded", "Excluded"),
]
JOB_CHANNEL = "root.kashflow"
JOB_MAX_RETRIES = 8
BACKFILL_BATCH = 200
DEFAULT_TIMEZONE = "Europe/London"
ADVISORY_LOCK_CLASS = 0x4B46  # "KF": the first key of the advisory locks the connector takes on orders
# Order fields whose change alters what KashFlow holds for a sent order.
ORDER_CONTENT_FIELDS = {"partner_id", "partner_invoice_id", "partner_shipping_id", "order_line", "currency_id"}
# Contact fields that end up on the KashFlow customer or the invoice's delivery address.
PARTNER_CONTENT_FIELDS = {"name", "email", "phone", "mobile", "street", "street2", "city", "zip", "state_id",
                          "country_id", "vat", "parent_id", "is_company", "company_name"}


class SaleOrder(models.Model):
    _inherit = "sale.order"

    kashflow_state = fields.Selection(
        KASHFLOW_STATES, string="KashFlow", default="not_paid", required=True, copy=False, index=True,
        readonly=True, help="Where the order stands with KashFlow.")
    kashflow_reason = fields.Char(string="KashFlow Status Detail", copy=False, readonly=True,
                                  help="Why the order failed, is excluded or waits for a mapping.")
    kashflow_invoice_number = fields.Integer(string="KashFlow Invoice", copy=False, readonly=True)
    kashflow_invoice_id = fields.Integer(string="KashFlow Invoice ID", copy=False, readonly=True)
    kashflow_payment_number = fields.Integer(string="KashFlow Payment", copy=False, readonly=True)
    kashflow_fingerprint = fields.Char(copy=False, readonly=True,
                                       help="A digest of what was last sent, to notice later changes.")
    kashflow_paid_date = fields.Date(string="Paid On", copy=False, readonly=True)
    kashflow_sent_at = fields.Datetime(string="Sent to KashFlow", copy=False, readonly=True)
    kashflow_enabled = fields.Boolean(related="company_id.kashflow_enabled")

    # ------------------------------------------------------------------ display

    def _kashflow_identity_key(self):
        self.ensure_one()
        return f"kashflow_connector:sale.order:{self.id}"

    def action_kashflow_open_history(self):
        """The order's KashFlow jobs: when they ran, how often, and what they said."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("KashFlow history of %s", self.name),
            "res_model": "queue.job",
            "view_mode": "list,form",
            "domain": [("identity_key", "=", self._kashflow_identity_key())],
            "context": {"create": False},
        }

    # ------------------------------------------------------------------ payment: when an order becomes paid

    def _kashflow_is_paid(self):
        """Confirmed, and paid in full by online transactions or by its customer invoices."""
        self.ensure_one()
        if self.state != "sale":
            return False
        currency = self.currency_id
        captured = sum(tx.amount for tx in self.transaction_ids if tx.state == "done")  # not merely authorised
        if currency.compare_amounts(captured, self.amount_total) >= 0:
            return True
        invoices = self.invoice_ids.filtered(lambda move: move.move_type == "out_invoice" and move.state == "posted")
        if not invoices or any(move.payment_state not in ("paid", "in_payment") for move in invoices):
            return False
        return currency.compare_amounts(sum(invoices.mapped("amount_total")), self.amount_total) >= 0

    def _kashflow_payment_received(self, paid_date=None):
        """Payment hooks call this: queue the orders that just became paid. Never talks to KashFlow.

        It runs as the system: whoever completed the payment (a customer on the portal, say) need not be allowed
        to touch the order's KashFlow state or its jobs.
        """
        orders = self.sudo().filtered(lambda order: order.kashflow_state == "not_paid"
                                      and order.company_id.kashflow_enabled and order._kashflow_is_paid())
        if not orders:
            return
        orders.write({"kashflow_paid_date": paid_date or fields.Date.context_today(self)})
        orders._kashflow_route(self.env._("Order paid."))

    def _kashflow_local_date(self, moment):
        """The calendar day of a UTC ``moment`` where the company is (UK time unless its address says otherwise)."""
        zone = pytz.timezone(self.company_id.partner_id.tz or DEFAULT_TIMEZONE)
        return pytz.utc.localize(moment).astimezone(zone).date()

    def _kashflow_payment_date(self):
        """When the order was paid: its latest completed online payment or invoice payment (None if unknown)."""
        self.ensure_one()
        dates = [self._kashflow_local_date(tx.last_state_change) for tx in self.transaction_ids
                 if tx.state == "done" and tx.last_state_change]
        invoices = self.invoice_ids.filtered(lambda move: move.move_type == "out_invoice" and move.state == "posted")
        dates += [paid for paid in (invoice._kashflow_paid_date() for invoice in invoices) if paid]
        return max(dates) if dates else None

    @api.model
    def _kashflow_backfill(self, batch_size=BACKFILL_BATCH):
        """Scheduled action: queue, a batch at a time, the paid orders since the start date not yet in KashFlow.

        Orders paid before the connector was switched on, or while it was off, are caught up this way. An order
        leaves *Not paid yet* when it is queued (or excluded, or held), so running this twice queues nothing twice.
        """
        companies = self.env["res.company"].sudo().search([("kashflow_enabled", "=", True)])
        if not companies:
            return self.browse()
        since_start = expression.OR([
            [("company_id", "=", company.id)]
            + ([("date_order", ">=", company.kashflow_start_date)] if company.kashflow_start_date else [])
            for company in companies])
        candidates = self.sudo().search(expression.AND([since_start, [
            ("state", "=", "sale"), ("kashflow_state", "=", "not_paid"),
            "|", ("invoice_ids.payment_state", "in", ["paid", "in_payment"]), ("transaction_ids.state", "=", "done"),
        ]]), order="id")
        paid = candidates.filtered(lambda order: order._kashflow_is_paid())
        batch = paid[:batch_size]
        for order in batch:
            order._kashflow_payment_received(order._kashflow_payment_date())
        # Orders left "Queued" without a job (cancelled in Job Queue, or a job that died for good) go out again.
        stranded = self.sudo().search([("company_id", "in", companies.ids), ("kashflow_state", "=", "queued")])
        stranded.filtered(lambda order: not order._kashflow_has_live_job())._kashflow_enqueue()
        self.env["ir.cron"]._notify_progress(done=len(batch), remaining=len(paid) - len(batch))
        return batch

    def _kashflow_route(self, event):
        """Decide for each order: excluded, waiting for a mapping, or queued for KashFlow; say so in the chatter."""
        channels = self.env["kashflow.channel"].sudo().search(
            [("company_id", "in", self.company_id.ids), ("team_id", "in", self.team_id.ids)])
        channel_of = {(channel.company_id, channel.team_id): channel for channel in channels}
        labels = dict(self._fields["kashflow_state"]._description_selection(self.env))
        to_queue = self.browse()
        for order in self:
            company = order.company_id
            channel = channel_of.get((company, order.team_id))
            reason = False
            if company.kashflow_start_date and order.kashflow_paid_date \
                    and order.kashflow_paid_date < company.kashflow_start_date:
                state = "excluded"
                reason = self.env._("Paid on %(paid)s, before the KashFlow start date %(start)s.",
                                    paid=order.kashflow_paid_date, start=company.kashflow_start_date)
            elif channel and channel.marketplace_fulfilled and not company.kashflow_send_fba:
                state = "excluded"
                reason = self.env._(
                    "Marketplace-fulfilled channel %s: such orders are not sent (see Settings > KashFlow).",
                    channel.team_id.name)
            elif not order.team_id:
                state = "needs_mapping"
                reason = self.env._("The order has no sales channel: set its Sales Team, then resend it.")
            elif not channel or not channel.is_complete:
                state = "needs_mapping"
                reason = self.env._(
                    "Map the sales channel %(channel)s in Sales > Configuration > KashFlow > Channel Mapping "
                    "(missing: %(missing)s).",
                    channel=order.team_id.name,
                    missing=channel._missing_description() if channel else self.env._("everything"))
            else:
                state = "queued"
                to_queue |= order
            order.write({"kashflow_state": state, "kashflow_reason": reason})
            order._kashflow_log(self.env._("%(event)s KashFlow: %(state)s.", event=event, state=labels[state]), reason)
        to_queue._kashflow_enqueue()

    def _kashflow_has_live_job(self):
        """Whether a job that will send the order is waiting or running."""
        self.ensure_one()
        return bool(self.env["queue.job"].sudo().search_count([
            ("identity_key", "=", self._kashflow_identity_key()),
            ("state", "in", ["wait_dependencies", "pending", "enqueued", "started"]),
        ], limit=1))

    def _kashflow_enqueue(self):
        for order in self:
            order.with_delay(
                channel=JOB_CHANNEL, identity_key=order._kashflow_identity_key(), max_retries=JOB_MAX_RETRIES,
                description=self.env._("Send %s to KashFlow", order.name),
            )._kashflow_sync_job()

    def action_kashflow_resend(self):
        """Send again: updates the invoice of a sent or changed order, retries a failed or held one."""
        if not self.env.user.has_group("account.group_account_invoice"):
            raise AccessError(self.env._("Only invoicing users can send orders to KashFlow again."))
        not_paid = self.filtered(lambda order: not order._kashflow_is_paid())
        if not_paid:
            raise UserError(self.env._("Only paid orders go to KashFlow; not paid yet: %s",
                                       ", ".join(not_paid.mapped("name"))))
        disabled = self.company_id.filtered(lambda company: not company.kashflow_enabled)
        if disabled:
            raise UserError(self.env._("KashFlow is not switched on for %s (Settings > KashFlow).",
                                       ", ".join(disabled.mapped("name"))))
        orders = self.filtered(lambda order: order.kashflow_state != "queued" or not order._kashflow_has_live_job())
        for order in orders.filtered(lambda order: not order.kashflow_paid_date):
            order.kashflow_paid_date = fields.Date.context_today(order)
        orders.sudo()._kashflow_route(self.env._("Resend requested by %s.", self.env.user.name))
        return True

    # ------------------------------------------------------------------ change detection

    @api.model
    def _kashflow_partner_fields(self):
        return PARTNER_CONTENT_FIELDS

    def write(self, vals):
        result = super().write(vals)
        if set(vals) & ORDER_CONTENT_FIELDS:
            self._kashflow_flag_changed()
        return result

    def _kashflow_flag_changed(self):
        """A sent order whose invoiced content no longer matches what was sent becomes *Changed since sent*."""
        for order in self.sudo().filtered(lambda order: order.kashflow_state == "sent" and order.kashflow_fingerprint):
            if documents.fingerprint(order._kashflow_snapshot()) != order.kashflow_fingerprint:
                order.kashflow_state = "changed"
                order._kashflow_log(self.env._(
                    "Changed since it was sent to KashFlow: resend it to update invoice %s.",
                    order.kashflow_invoice_number))

    @api.model
    def _kashflow_flag_changed_for_partners(self, partners):
        commercial = partners.commercial_partner_id
        orders = self.sudo().search([
            ("kashflow_state", "=", "sent"),
            "|", "|", ("partner_id", "child_of", commercial.ids),
            ("partner_invoice_id", "in", partners.ids), ("partner_shipping_id", "in", partners.ids),
        ])
        orders._kashflow_flag_changed()

    # ------------------------------------------------------------------ the job

    def _kashflow_sync_job(self):
        """Queue job: book this paid order into KashFlow (customer, invoice, payment) and record the outcome."""
        self.ensure_one()
        order = self.sudo().with_company(self.company_id)
        if not order._kashflow_lock():
            raise RetryableJobError(self.env._("Order %s is being sent by another job.", order.name),
                                    seconds=30, ignore_retry=True)
        if order.kashflow_state != "queued":
            return self.env._("Nothing to do: %(order)s is %(state)s.", order=order.name, state=order.kashflow_state)
        channel = order._kashflow_channel()
        if not channel.is_complete:  # the mapping was undone since the order was queued
            order._kashflow_route(self.env._("Sales channel no longer mapped."))
            return order.kashflow_reason
        try:
            snapshot = order._kashflow_snapshot()
            mapping = channel._kashflow_mapping()
            order._kashflow_check_currency(snapshot)
            partner = order.partner_id.commercial_partner_id
            known = Known(customer_id=partner.kashflow_customer_id, customer_code=partner.kashflow_customer_code,
                          invoice_number=order.kashflow_invoice_number,
                          payment_number=order.kashflow_payment_number)
            outcome = sync_order(order.company_id._kashflow_client(), snapshot, mapping, known)
        except UnavailableError as error:
            if order._kashflow_last_attempt():
                return order._kashflow_fail(self.env._(
                    "%s Gave up after repeated attempts; resend the order later.", error.message))
            raise RetryableJobError(error.message) from None
        except (KashFlowError, documents.DocumentError, UserError) as error:
            return order._kashflow_fail(str(error))
        except psycopg2.Error:
            raise  # the job runner retries concurrency errors; others fail the job visibly
        except Exception as error:  # noqa: BLE001 - an order must never stay "queued" because of a bug
            _logger.exception("Unexpected error while sending %s to KashFlow", order.name)
            return order._kashflow_fail(self.env._(
                "Unexpected error (%s); the details are in the server log. Resend the order once it is fixed.",
                type(error).__name__))
        partner.write({"kashflow_customer_id": outcome.customer_id, "kashflow_customer_code": outcome.customer_code})
        order.write({
            "kashflow_state": "sent", "kashflow_reason": False, "kashflow_sent_at": fields.Datetime.now(),
            "kashflow_invoice_number": outcome.invoice_number, "kashflow_invoice_id": outcome.invoice_id,
            "kashflow_payment_number": outcome.payment_number,
            "kashflow_fingerprint": documents.fingerprint(snapshot),
        })
        verb = self.env._("created") if outcome.invoice_created else self.env._("updated")
        message = self.env._("KashFlow invoice %(number)s %(verb)s, with payment %(payment)s.",
                             number=outcome.invoice_number, verb=verb, payment=outcome.payment_number)
        order._kashflow_log(message)
        return message

    def _kashflow_lock(self):
        """Whether this transaction now holds the order's KashFlow lock: two jobs never send one order at once.

        An advisory lock, not a row lock: people can go on editing the order while KashFlow is being talked to.
        """
        self.env.cr.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [ADVISORY_LOCK_CLASS, self.id])
        return self.env.cr.fetchone()[0]

    def _kashflow_current_job(self):
        return self.env["queue.job"].sudo().search([("uuid", "=", self.env.context.get("job_uuid"))], limit=1)

    def _kashflow_last_attempt(self):
        job = self._kashflow_current_job()
        return bool(job) and job.max_retries and job.retry + 1 >= job.max_retries

    def _kashflow_fail(self, reason):
        self.write({"kashflow_state": "failed", "kashflow_reason": reason})
        self._kashflow_log(self.env._("Could not be sent to KashFlow."), reason)
        return reason

    def _kashflow_log(self, message, detail=None):
        """A note in the order's chatter, written by OdooBot (whoever triggered it, a portal customer say)."""
        body = f"{message} {detail}" if detail else message
        self._message_log_batch(bodies=dict.fromkeys(self.ids, body), author_id=self.env.ref("base.partner_root").id)

    # ------------------------------------------------------------------ what is sent

    def _kashflow_channel(self):
        self.ensure_one()
        return self.env["kashflow.channel"].sudo().search(
            [("company_id", "=", self.company_id.id), ("team_id", "=", self.team_id.id)], limit=1)

    def _kashflow_check_currency(self, snapshot):
        known = self.env["kashflow.lookup"].search(
            [("company_id", "=", self.company_id.id), ("kind", "=", "currency")]).mapped("code")
        if known and snapshot.currency_code not in known:
            raise UserError(self.env._(
                "The KashFlow account has no currency %(currency)s (it has %(known)s). Add it in KashFlow under "
                "Settings > Currencies, click Download Data in Settings > KashFlow, then resend the order.",
                currency=snapshot.currency_code, known=", ".join(sorted(known))))

    def _kashflow_snapshot(self):
        """The order as KashFlow will see it, in plain Python values."""
        self.ensure_one()
        currency = self.currency_id
        partner = self.partner_id
        commercial = partner.commercial_partner_id
        invoice_address = _address(self.partner_invoice_id)
        delivery_address = _address(self.partner_shipping_id)
        customer = CustomerSnapshot(
            code=documents.customer_code(commercial.id),
            name=commercial.name or "",
            contact_name=partner.name if partner != commercial else "",
            email=self.partner_invoice_id.email or partner.email or commercial.email or "",
            phone=self.partner_invoice_id.phone or partner.phone or commercial.phone or "",
            mobile=self.partner_invoice_id.mobile or partner.mobile or commercial.mobile or "",
            vat=commercial.vat or "",
            is_company=commercial.is_company,
            invoice_address=invoice_address,
            delivery_address=delivery_address if delivery_address != invoice_address else None,
        )
        lines = tuple(line._kashflow_snapshot() for line in self.order_line if not line.display_type)
        return OrderSnapshot(
            name=self.name,
            customer=customer,
            lines=lines,
            currency_code=currency.name,
            home_currency_code=self.company_id.currency_id.name,
            exchange_rate=Decimal(float_repr(self.currency_rate or 1.0, 6)),
            date_paid=self.kashflow_paid_date or fields.Date.context_today(self),
            amount_untaxed=_money(self.amount_untaxed, currency),
            amount_tax=_money(self.amount_tax, currency),
            amount_total=_money(self.amount_total, currency),
            amount_paid=_money(self.amount_total, currency),
            include_vat=self.company_id.kashflow_include_vat,
            currency_decimals=currency.decimal_places,
        )


def _money(amount, currency):
    """An Odoo monetary float as the exact Decimal it stands for in ``currency``."""
    return Decimal(float_repr(currency.round(amount), currency.decimal_places))


def _address(partner):
    return Address(
        street=partner.street or "", street2=partner.street2 or "", city=partner.city or "",
        state=partner.state_id.name or "", zip=partner.zip or "", country_code=partner.country_id.code or "",
        country_name=partner.country_id.name or "",
    )
