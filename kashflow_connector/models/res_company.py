from odoo import _, fields, models
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

    def _kashflow_client(self):
        """The KashFlow client for this company's account. Reads the credentials as superuser."""
        self.ensure_one()
        company = self.sudo()
        if not company.kashflow_username or not company.kashflow_password:
            raise UserError(_("Enter the KashFlow username and password of %s in Settings > KashFlow first.",
                              self.name))
        return KashFlowClient(
            company.kashflow_username, company.kashflow_password, url=company.kashflow_url or PRODUCTION_URL,
            auto_auth_key=company.kashflow_auto_auth_key or None)
