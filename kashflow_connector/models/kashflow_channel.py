from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.osv import expression

from ..kashflow.snapshot import Mapping


class KashflowChannel(models.Model):
    """How one sales channel's orders are booked in KashFlow: a row of the channel mapping."""

    _name = "kashflow.channel"
    _description = "KashFlow channel mapping"
    _order = "company_id, team_id"
    _rec_name = "team_id"

    company_id = fields.Many2one("res.company", required=True, index=True, ondelete="cascade",
                                 default=lambda self: self.env.company)
    team_id = fields.Many2one("crm.team", string="Sales Channel", required=True, ondelete="cascade",
                              domain="['|', ('company_id', '=', False), ('company_id', '=', company_id)]")
    payment_method_id = fields.Many2one(
        "kashflow.lookup", ondelete="restrict",
        domain="[('company_id', '=', company_id), ('kind', '=', 'payment_method')]")
    bank_account_id = fields.Many2one(
        "kashflow.lookup", ondelete="restrict",
        domain="[('company_id', '=', company_id), ('kind', '=', 'bank_account')]")
    source_id = fields.Many2one(
        "kashflow.lookup", string="Customer Source", ondelete="restrict",
        domain="[('company_id', '=', company_id), ('kind', '=', 'customer_source')]",
        help="The KashFlow customer source of the customers this channel's orders make in KashFlow (where KashFlow "
             "reports sales per source). Its own source for each channel: add one in KashFlow (Settings > Customer "
             "Sources), then Download Data in Settings > KashFlow.")
    source_hint = fields.Char(
        string="Customer Source Missing", compute="_compute_source_hint",
        help="What to do when no customer source is chosen for the channel.")
    goods_nominal_id = fields.Many2one(
        "kashflow.lookup", string="Sales Nominal (goods)", ondelete="restrict",
        domain="[('company_id', '=', company_id), ('kind', '=', 'nominal_code'), ('is_income', '=', True)]")
    delivery_nominal_id = fields.Many2one(
        "kashflow.lookup", string="Sales Nominal (delivery)", ondelete="restrict",
        help="Where delivery charges are booked; the goods nominal when left empty.",
        domain="[('company_id', '=', company_id), ('kind', '=', 'nominal_code'), ('is_income', '=', True)]")
    charge_nominal_id = fields.Many2one(
        "kashflow.lookup", string="Sales Nominal (other charges)", ondelete="restrict",
        help="Where taxes that are not VAT (a recycling fee, say) are booked, each as a line of its own without VAT; "
             "the goods nominal when left empty.",
        domain="[('company_id', '=', company_id), ('kind', '=', 'nominal_code'), ('is_income', '=', True)]")
    marketplace_fulfilled = fields.Boolean(
        string="Marketplace-fulfilled (FBA)",
        help="This channel's orders are fulfilled by the marketplace (e.g. Amazon FBA). They are sent only when "
             "Settings > KashFlow > Send marketplace-fulfilled orders is on.")
    is_complete = fields.Boolean(compute="_compute_is_complete", store=True, string="Mapped")
    to_send_count = fields.Integer(string="To Send", compute="_compute_progress",
                                   help="Orders paid since the start date, not yet queued for KashFlow.")
    queued_count = fields.Integer(string="Queued", compute="_compute_progress")
    sent_count = fields.Integer(string="Sent", compute="_compute_progress")
    failed_count = fields.Integer(string="Failed", compute="_compute_progress",
                                  help="Orders that failed, or whose KashFlow documents differ from Odoo's (Mismatch).")
    excluded_count = fields.Integer(string="Excluded", compute="_compute_progress")
    held_order_count = fields.Integer(compute="_compute_held_order_count",
                                      help="Paid orders of this channel waiting for the mapping to be completed.")

    _sql_constraints = [
        ("team_unique", "unique(company_id, team_id)", "A sales channel is mapped once per company."),
    ]

    @api.depends("payment_method_id", "bank_account_id", "goods_nominal_id")
    def _compute_is_complete(self):
        for channel in self:
            channel.is_complete = bool(channel.payment_method_id and channel.bank_account_id
                                       and channel.goods_nominal_id)

    @api.depends("team_id", "source_id", "company_id")
    def _compute_source_hint(self):
        """Without a customer source: the KashFlow source named after the channel to choose, or how to add one."""
        sources = self.env["kashflow.lookup"].search([
            ("kind", "=", "customer_source"), ("company_id", "in", self.company_id.ids)])
        for channel in self:
            if channel.source_id or not channel.team_id:
                channel.source_hint = False
                continue
            fitting = sources.filtered(lambda source, channel=channel: source.company_id == channel.company_id
                                       and _names_fit(source.name, channel.team_id.name))
            if fitting:
                channel.source_hint = self.env._("Choose %s: KashFlow's customer source for this channel.",
                                                 fitting[0].name)
            else:
                channel.source_hint = self.env._(
                    "KashFlow has no customer source for %s: add one in KashFlow (Settings > Customer Sources), "
                    "then Download Data in Settings > KashFlow, and choose it here.", channel.team_id.name)

    @api.onchange("source_id")
    def _onchange_source_id(self):
        """A customer source named after another channel is chosen: say so, and how to add this channel's own."""
        if not self.source_id or not self.team_id or _names_fit(self.source_id.name, self.team_id.name):
            return None
        others = self.env["crm.team"].search([
            ("id", "!=", self.team_id.id), "|", ("company_id", "=", False), ("company_id", "=", self.company_id.id)])
        other = others.filtered(lambda team: _names_fit(self.source_id.name, team.name))[:1]
        if not other:
            return None
        return {"warning": {
            "title": self.env._("Another channel's customer source"),
            "message": self.env._(
                "The customer source %(source_name)s is named after the channel %(other)s: in KashFlow, customers from "
                "%(channel)s would be counted as customers from %(other)s. To keep them apart, add a customer source "
                "for %(channel)s in KashFlow (Settings > Customer Sources), then Download Data in Settings > "
                "KashFlow, and choose it here.", source_name=self.source_id.name, other=other.name,
                channel=self.team_id.name)}}

    def _compute_held_order_count(self):
        groups = self.env["sale.order"]._read_group(
            [("kashflow_state", "=", "needs_mapping"), ("team_id", "in", self.team_id.ids),
             ("company_id", "in", self.company_id.ids)],
            ["company_id", "team_id"], ["__count"])
        held = {(company, team): count for company, team, count in groups}
        for channel in self:
            channel.held_order_count = held.get((channel.company_id, channel.team_id), 0)

    @api.constrains("goods_nominal_id", "delivery_nominal_id", "charge_nominal_id")
    def _check_income_nominals(self):
        """Sales are booked to income codes only: never to a bank, VAT or other balance-sheet account."""
        for channel in self:
            for name in ("goods_nominal_id", "delivery_nominal_id", "charge_nominal_id"):
                nominal = channel[name]
                if nominal and not nominal.is_income:
                    raise ValidationError(self.env._(
                        "%(code)s is not a sales (income) nominal code, so %(channel)s's sales cannot be booked to it "
                        "(KashFlow's UK chart keeps sales in 4000-4999). Choose a sales nominal code; if %(code)s is "
                        "an income code of your own, tick Income on it in Sales > Configuration > KashFlow > "
                        "KashFlow Data first.", code=nominal.display_name, channel=channel.team_id.name))

    def _compute_progress(self):
        """How many of each channel's paid orders are to send, queued, sent, failed and excluded: one query."""
        groups = self.env["sale.order"].sudo()._read_group(
            [("team_id", "in", self.team_id.ids), ("company_id", "in", self.company_id.ids),
             ("kashflow_paid_date", "!=", False)],
            ["company_id", "team_id", "kashflow_state"], ["__count"])
        counts = {(company, team, state): count for company, team, state, count in groups}
        for channel in self:
            key = (channel.company_id, channel.team_id)
            channel.to_send_count = counts.get((*key, "not_paid"), 0)
            channel.queued_count = counts.get((*key, "queued"), 0)
            channel.sent_count = counts.get((*key, "sent"), 0) + counts.get((*key, "changed"), 0)
            channel.failed_count = counts.get((*key, "failed"), 0) + counts.get((*key, "mismatch"), 0)
            channel.excluded_count = counts.get((*key, "excluded"), 0)

    def _kashflow_mapping(self):
        """The KashFlow ids of this (complete) mapping; delivery charges go to the goods nominal if none is set."""
        self.ensure_one()
        lookups = self.payment_method_id | self.bank_account_id | self.source_id | self.goods_nominal_id \
            | self.delivery_nominal_id | self.charge_nominal_id
        lookups.fetch(["kashflow_id"])  # one query for the six
        return Mapping(
            payment_method_id=self.payment_method_id.kashflow_id,
            bank_account_id=self.bank_account_id.kashflow_id,
            source_id=self.source_id.kashflow_id,
            goods_nominal_id=self.goods_nominal_id.kashflow_id,
            delivery_nominal_id=(self.delivery_nominal_id or self.goods_nominal_id).kashflow_id,
            charge_nominal_id=(self.charge_nominal_id or self.goods_nominal_id).kashflow_id,
        )

    def _missing_description(self):
        """The mapping columns still to fill in, in words."""
        self.ensure_one()
        labels = [self._fields[name].get_description(self.env)["string"]
                  for name in ("payment_method_id", "bank_account_id", "goods_nominal_id")
                  if not self[name]]
        return ", ".join(labels)

    @api.model
    def _kashflow_ensure_rows(self, company):
        """One mapping row for every sales channel the company can use."""
        teams = self.env["crm.team"].search(["|", ("company_id", "=", False), ("company_id", "=", company.id)])
        mapped = self.search([("company_id", "=", company.id)]).team_id
        self.create([{"company_id": company.id, "team_id": team.id} for team in teams - mapped])

    @api.model_create_multi
    def create(self, vals_list):
        channels = super().create(vals_list)
        channels._release_held_orders()
        return channels

    def write(self, vals):
        result = super().write(vals)
        self._release_held_orders()
        return result

    def _release_held_orders(self):
        """Orders held for want of a mapping go out as soon as their channel is mapped."""
        complete = self.filtered("is_complete")
        if not complete:
            return
        channels = expression.OR([[("company_id", "=", channel.company_id.id), ("team_id", "=", channel.team_id.id)]
                                  for channel in complete])
        held = self.env["sale.order"].sudo().search(
            expression.AND([[("kashflow_state", "=", "needs_mapping")], channels]))
        if not held:
            return
        held._kashflow_route(self.env._("Sales channel mapped."))
        released = held.filtered(lambda order: order.kashflow_state == "queued")
        self.env.user._bus_send("simple_notification", {
            "type": "success", "sticky": False,
            "title": self.env._("KashFlow"),
            "message": self.env._("%(count)s held order(s) of %(channels)s will now go to KashFlow.",
                                  count=len(released), channels=", ".join(complete.team_id.mapped("name"))),
        })

    def action_open_held_orders(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Orders waiting for this mapping"),
            "res_model": "sale.order",
            "view_mode": "list,form",
            "domain": [("team_id", "in", self.team_id.ids), ("company_id", "in", self.company_id.ids),
                       ("kashflow_state", "=", "needs_mapping")],
        }


def _names_fit(source, channel):
    """Whether a KashFlow customer source's name and a sales channel's name name one channel: one holds the other,
    whatever their case ("Amazon" and "Amazon FBA")."""
    source, channel = (source or "").casefold().strip(), (channel or "").casefold().strip()
    return bool(source and channel) and (source in channel or channel in source)
