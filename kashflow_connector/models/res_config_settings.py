from odoo import api, fields, models

from ..kashflow.exceptions import (
    AuthenticationError,
    IPNotAllowedError,
    KashFlowError,
    UnavailableError,
)
from .kashflow_sync import words


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    kashflow_enabled = fields.Boolean(related="company_id.kashflow_enabled", readonly=False)
    kashflow_username = fields.Char(related="company_id.kashflow_username", readonly=False,
                                    groups="base.group_system")
    kashflow_password = fields.Char(related="company_id.kashflow_password", readonly=False,
                                    groups="base.group_system")
    kashflow_auto_auth_key = fields.Char(related="company_id.kashflow_auto_auth_key", readonly=False,
                                         groups="base.group_system")
    kashflow_url = fields.Char(related="company_id.kashflow_url", readonly=False, groups="base.group_system")
    kashflow_start_date = fields.Date(related="company_id.kashflow_start_date", readonly=False)
    kashflow_include_vat = fields.Boolean(related="company_id.kashflow_include_vat", readonly=False)
    kashflow_send_fba = fields.Boolean(related="company_id.kashflow_send_fba", readonly=False)
    kashflow_customer_prefix = fields.Char(related="company_id.kashflow_customer_prefix", readonly=False)
    kashflow_paused_until = fields.Datetime(
        string="KashFlow Calls Paused Until", compute="_compute_kashflow_paused_until",
        help="KashFlow asked the connector to wait (HTTP 429 or 503 with a Retry-After pause): no job calls "
             "KashFlow for this company before this time, on any Odoo server.")
    kashflow_to_send_count = fields.Integer(compute="_compute_kashflow_progress")
    kashflow_queued_count = fields.Integer(compute="_compute_kashflow_progress")
    kashflow_sent_count = fields.Integer(compute="_compute_kashflow_progress")
    kashflow_failed_count = fields.Integer(compute="_compute_kashflow_progress")
    kashflow_held_count = fields.Integer(compute="_compute_kashflow_progress")
    kashflow_mismatch_count = fields.Integer(compute="_compute_kashflow_progress")
    kashflow_excluded_count = fields.Integer(compute="_compute_kashflow_progress")

    @api.depends("company_id")
    def _compute_kashflow_paused_until(self):
        """The company's pause (``res.company.kashflow_paused_until``) while it runs, else nothing."""
        now = fields.Datetime.now()
        for settings in self:
            until = settings.company_id.sudo().kashflow_paused_until
            settings.kashflow_paused_until = until if until and until > now else False

    @api.depends("company_id")
    def _compute_kashflow_progress(self):
        """The company's paid orders by KashFlow state, in one query ("to send": paid since the start date, not
        queued yet)."""
        for settings in self:
            counts = dict(self.env["sale.order"].sudo()._read_group(
                [("company_id", "=", settings.company_id.id), ("kashflow_paid_date", "!=", False)],
                ["kashflow_state"], ["__count"]))
            start = settings.company_id.kashflow_start_date
            settings.kashflow_to_send_count = self.env["sale.order"].sudo().search_count(
                [("company_id", "=", settings.company_id.id), ("kashflow_state", "=", "not_paid"),
                 ("state", "=", "sale"), ("kashflow_paid_date", "!=", False)]
                + ([("kashflow_paid_date", ">=", start)] if start else []))
            settings.kashflow_queued_count = counts.get("queued", 0)
            settings.kashflow_sent_count = counts.get("sent", 0) + counts.get("changed", 0)
            settings.kashflow_failed_count = counts.get("failed", 0)
            settings.kashflow_held_count = counts.get("needs_mapping", 0)
            settings.kashflow_mismatch_count = counts.get("mismatch", 0)
            settings.kashflow_excluded_count = counts.get("excluded", 0)

    def action_kashflow_open_progress(self):
        """The company's orders by sales channel and KashFlow state, in a pivot table (and as a list)."""
        action = self.env["ir.actions.act_window"]._for_xml_id("kashflow_connector.sale_order_action_kashflow_progress")
        action["domain"] = [("company_id", "=", self.company_id.id), ("kashflow_paid_date", "!=", False)]
        return action

    def action_kashflow_test_connection(self):
        """Check the address, the login and the IP access with one cheap call; say the outcome in plain words."""
        self.ensure_one()
        self.execute()  # what the user typed is what gets tested
        company = self.company_id
        try:
            home_currency = company._kashflow_client().check_connection()
        except AuthenticationError:
            return self._kashflow_notify("danger", self.env._(
                "KashFlow refused the username or password. Check them; if KashFlow's \"separate API "
                "password\" is on, enter that password."))
        except IPNotAllowedError as error:
            return self._kashflow_notify("danger", self.env._(
                "KashFlow refused this server's IP address (%(detail)s). In KashFlow, under API Settings, add "
                "the address to the access list, or enter the IP Authorisation Key here.", detail=error.detail))
        except UnavailableError as error:
            return self._kashflow_notify("danger", self.env._(
                "KashFlow could not be reached (%(reason)s). Check the KashFlow address and this server's "
                "internet connection, then try again.", reason=error.detail))
        except KashFlowError as error:
            return self._kashflow_notify("danger", words(self.env, error))
        return self._kashflow_notify("success", self.env._(
            "Connected to KashFlow as %(user)s (home currency %(currency)s).",
            user=company.sudo().kashflow_username, currency=home_currency or "?"))

    def action_kashflow_download_data(self):
        """Fetch the account's payment methods, bank accounts, customer sources, nominal codes and currencies."""
        self.ensure_one()
        self.execute()
        company = self.company_id
        try:
            counts = company._kashflow_download_data()
        except KashFlowError as error:
            return self._kashflow_notify("danger", words(self.env, error))
        return self._kashflow_notify("success", self.env._(
            "Downloaded from KashFlow: %(methods)s payment methods, %(banks)s bank accounts, %(sources)s customer "
            "sources, %(nominals)s nominal codes, %(currencies)s currencies. Now map your sales channels.",
            methods=counts["payment_method"], banks=counts["bank_account"], sources=counts["customer_source"],
            nominals=counts["nominal_code"], currencies=counts["currency"]))

    def action_kashflow_open_mapping(self):
        return self.env["ir.actions.act_window"]._for_xml_id("kashflow_connector.kashflow_channel_action")

    def _kashflow_notify(self, kind, message):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("KashFlow connection"),
                "message": message,
                "type": kind,
                "sticky": kind != "success",
            },
        }
