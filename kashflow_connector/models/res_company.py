from datetime import timedelta

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY

from odoo.addons.queue_job.exception import RetryableJobError

from .. import const
from ..kashflow.client import CONNECT_TIMEOUT, PRODUCTION_URL, READ_TIMEOUT, KashFlowClient
from ..kashflow.documents import DEFAULT_CUSTOMER_CODE_PREFIX, check_customer_code_prefix
from .kashflow_sync import own_transaction


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
    kashflow_customer_prefix = fields.Char(
        string="Customer code prefix", default=lambda self: self._kashflow_default_customer_prefix(),
        help="New KashFlow customers get this prefix and the Odoo contact's number as their code (e.g. ODA1B2C3K42). "
             "Letters and digits, ending with a letter. Two Odoo databases booking into one KashFlow account need "
             "different prefixes; the default is unique to this database.")
    kashflow_send_fba = fields.Boolean(
        string="Send marketplace-fulfilled orders",
        help="Also send orders of channels marked as marketplace-fulfilled (e.g. Amazon FBA).")
    kashflow_paused_until = fields.Datetime(
        string="KashFlow Calls Paused Until", readonly=True, copy=False,
        help="KashFlow asked the connector to wait (HTTP 429 or 503 with a Retry-After pause): no job calls "
             "KashFlow for this company before this time, on any Odoo server.")

    def _kashflow_pause(self, seconds):
        """Record that KashFlow asked this company's connector to wait ``seconds`` (its ``Retry-After``): every job
        of the company waits until then (``_kashflow_hold_while_paused``), not only the one that was answered so.

        Written in a transaction of its own, committed at once, so that the jobs already running and those on other
        Odoo servers see it; a later pause asked at the same moment by another job's answer is kept."""
        self.ensure_one()
        until = fields.Datetime.now() + timedelta(seconds=seconds)
        for _attempt in range(3):
            try:
                with own_transaction(self.env) as env:
                    env.cr.execute(
                        "UPDATE res_company SET kashflow_paused_until = %s WHERE id = %s "
                        "AND (kashflow_paused_until IS NULL OR kashflow_paused_until < %s)", [until, self.id, until])
                break
            except psycopg2.Error as error:  # another job's answer paused the company meanwhile: look again
                if error.pgcode not in PG_CONCURRENCY_ERRORS_TO_RETRY:
                    raise
        self.invalidate_recordset(["kashflow_paused_until"])

    def _kashflow_hold_while_paused(self):
        """Raise ``RetryableJobError`` (which uses up none of the job's attempts) while KashFlow's pause of this
        company runs (``_kashflow_pause``): the job runs again once it ends, without calling KashFlow before."""
        self.ensure_one()
        until = self.sudo().kashflow_paused_until
        left = (until - fields.Datetime.now()).total_seconds() if until else 0
        if left > 0:
            raise RetryableJobError(self.env._(
                "KashFlow asked the connector to wait: its calls for %(company)s resume in %(seconds)s seconds.",
                company=self.name, seconds=int(left) + 1), seconds=int(left) + 1, ignore_retry=True)

    @api.model
    def _kashflow_default_customer_prefix(self):
        """``OD`` and six characters of the database's unique id, then ``K``: unique to the database."""
        uuid = self.env["ir.config_parameter"].sudo().get_param("database.uuid", "")
        return f"OD{''.join(ch for ch in uuid if ch.isalnum())[:6].upper()}K"

    def _kashflow_code_prefix(self):
        """The prefix of the company's new KashFlow customer codes."""
        self.ensure_one()
        return self.kashflow_customer_prefix or DEFAULT_CUSTOMER_CODE_PREFIX

    @api.constrains("kashflow_customer_prefix")
    def _check_kashflow_customer_prefix(self):
        for company in self.filtered("kashflow_customer_prefix"):
            try:
                check_customer_code_prefix(company.kashflow_customer_prefix)
            except ValueError as error:
                raise ValidationError(str(error)) from None

    def write(self, vals):
        """Switching the connector on without a start date starts it today: older orders are left as they are.
        A company switched on has its orders paid before the connector was installed looked at again (the
        back-fill's look for them starts over: ``sale.order._kashflow_discover_paid``)."""
        switched_on = self.filtered(lambda company: not company.kashflow_enabled) if vals.get("kashflow_enabled") \
            else self.browse()
        if vals.get("kashflow_enabled") and "kashflow_start_date" not in vals:
            without_start = self.filtered(lambda company: not company.kashflow_start_date)
            if without_start:
                super(ResCompany, without_start).write({"kashflow_start_date": fields.Date.context_today(self)})
        result = super().write(vals)
        if switched_on:
            self.env["ir.config_parameter"].sudo().set_param("kashflow_connector.discover_from", 0)
        return result

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
            auto_auth_key=company.kashflow_auto_auth_key or None,
            timeout=(CONNECT_TIMEOUT, self._kashflow_read_timeout()))

    def _kashflow_read_timeout(self):
        """Seconds a KashFlow call waits for its answer: the system parameter ``kashflow_connector.read_timeout``
        when it holds a positive number, else the client's default."""
        value = self.env["ir.config_parameter"].sudo().get_param(const.READ_TIMEOUT_PARAMETER)
        try:
            seconds = float(value) if value else 0.0
        except ValueError:
            seconds = 0.0
        return seconds if seconds > 0 else READ_TIMEOUT
