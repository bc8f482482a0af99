from odoo import fields, models
from odoo.exceptions import UserError

from ..kashflow.client import PRODUCTION_URL, KashFlowClient


class ResCompany(models.Model):
    _inherit = "res.company"

    kashflow_enabled = fields.Boolean(string="Send paid orders to KashFlow")
    kashflow_username = fields.Char(string="KashFlow Username", groups="base.group_system")
    kashflow_password = fields.Char(string="KashFlow Password", groups="base.group_system")
    kashflow_auto_auth_key = fields.Char(
        string="KashFlow IP Authorisation Key", groups="base.group_system",
        help="KashFlow's AutoAuth key (API Settings in KashFlow). Leave empty when this server's IP address "
             "is already on KashFlow's access list, or when the list is not restricted.")
    kashflow_url = fields.Char(
        string="KashFlow Address", default=PRODUCTION_URL, groups="base.group_system",
        help="Address of KashFlow's SOAP service. Change it only to use a test server such as the sandbox.")
    kashflow_start_date = fields.Date(
        string="Create invoices for orders paid from",
        help="Orders paid on or after this date are sent to KashFlow; older ones are left out.")
    kashflow_include_vat = fields.Boolean(
        string="Include VAT on invoices", default=True,
        help="Off for sellers who are not VAT-registered: invoice lines then go to KashFlow without VAT.")
    kashflow_send_fba = fields.Boolean(
        string="Send marketplace-fulfilled orders",
        help="Also send orders of channels marked as marketplace-fulfilled (e.g. Amazon FBA).")

    def write(self, vals):
        """Switching the connector on without a start date starts it today: older orders are left as they are."""
        if vals.get("kashflow_enabled") and "kashflow_start_date" not in vals:
            without_start = self.filtered(lambda company: not company.kashflow_start_date)
            if without_start:
                super(ResCompany, without_start).write({"kashflow_start_date": fields.Date.context_today(self)})
        return super().write(vals)

    def _kashflow_download_data(self):
        """Refresh the company's KashFlow look-ups from KashFlow and give every sales channel a mapping row.

        Returns how many values of each kind KashFlow listed.
        """
        self.ensure_one()
        client = self._kashflow_client()
        found = {
            "payment_method": [(m["MethodID"], "", m["MethodName"]) for m in client.payment_methods()],
            "bank_account": [(b["AccountID"], str(b["AccountCode"] or ""), b["AccountName"])
                             for b in client.bank_accounts()],
            "customer_source": [(s["ID"], "", s["Name"]) for s in client.customer_sources()],
            "nominal_code": [(n["id"], str(n["Code"] or ""), n["Name"]) for n in client.nominal_codes()],
            "currency": [(c["CurrencyId"], c["CurrencyCode"], c["CurrencyCode"]) for c in client.currencies()],
        }
        lookups = self.env["kashflow.lookup"].sudo()
        for kind, values in found.items():
            lookups._kashflow_refresh(self, kind, values)
        self.env["kashflow.channel"].sudo()._kashflow_ensure_rows(self)
        return {kind: len(values) for kind, values in found.items()}

    def _kashflow_client(self):
        """The KashFlow client for this company's account. Reads the credentials as superuser."""
        self.ensure_one()
        company = self.sudo()
        if not company.kashflow_username or not company.kashflow_password:
            raise UserError(self.env._(
                "Enter the KashFlow username and password of %s in Settings > KashFlow first.", self.name))
        return KashFlowClient(
            company.kashflow_username, company.kashflow_password, url=company.kashflow_url or PRODUCTION_URL,
            auto_auth_key=company.kashflow_auto_auth_key or None)
