"""No KashFlow credential anywhere but where it is kept: not in a log line, a job, a chatter message, an error,
nor in what a salesperson or a portal user can read or export."""

import logging

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import SANDBOX_PASSWORD, KashFlowCase


class _Recorder(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


@tagged("post_install", "-at_install")
class TestSecrets(KashFlowCase):
    def setUp(self):
        super().setUp()
        self.download_and_map()
        self.company.kashflow_auto_auth_key = self.sandbox.auto_auth_key
        self.recorder = _Recorder()
        root = logging.getLogger()
        root.addHandler(self.recorder)
        previous = {name: logging.getLogger(name).level for name in ("odoo.addons.kashflow_connector", "zeep")}
        for name in previous:
            logging.getLogger(name).setLevel(logging.DEBUG)  # zeep's envelopes too: they carry the password
        self.addCleanup(root.removeHandler, self.recorder)
        for name, level in previous.items():
            self.addCleanup(logging.getLogger(name).setLevel, level)

    def secrets(self):
        return (SANDBOX_PASSWORD, self.sandbox.auto_auth_key, "wrong-Pa55word")

    def assertNoSecret(self, texts, where):
        for text in texts:
            for secret in self.secrets():
                self.assertNotIn(secret, text or "", f"a credential in {where}")

    def test_no_credential_in_logs_jobs_messages_or_errors(self):
        orders = self.make_order(), self.make_order(), self.make_order()
        self.pay_online(orders[0])
        self.run_jobs()  # sent, through AutoAuthIP with the key
        self.company.kashflow_password = "wrong-Pa55word"
        self.pay_online(orders[1])
        self.run_jobs()  # refused login
        self.company.kashflow_password = SANDBOX_PASSWORD
        self.sandbox.set_faults(operation="InsertInvoice", mode="soap_fault")
        self.pay_online(orders[2])
        self.run_jobs()  # a SOAP fault's text
        self.sandbox.set_faults(operation="InsertInvoice", mode="html_page")
        orders[2].action_kashflow_resend()
        self.run_jobs()
        self.assertEqual([order.kashflow_state for order in orders][:2], ["sent", "failed"])

        self.assertTrue(any("KashFlow" in line for line in self.recorder.lines), "the log was recorded")
        self.assertNoSecret(self.recorder.lines, "the server log")
        jobs = self.env["queue.job"].sudo().search([])
        self.assertTrue(jobs)
        self.assertNoSecret([f"{job.args} {job.kwargs} {job.result} {job.exc_info} {job.exc_message} {job.name}"
                             for job in jobs], "a job")
        messages = self.env["mail.message"].sudo().search([("model", "=", "sale.order")])
        self.assertNoSecret(messages.mapped("body"), "the chatter")
        self.assertNoSecret([order.kashflow_reason for order in orders], "an order's reason")
        client = self.company._kashflow_client()
        self.assertNoSecret([repr(client), str(client)], "the client's repr")

    def test_salespeople_and_portal_users_read_no_credential(self):
        salesperson = new_test_user(self.env, login="kf-seller", groups="sales_team.group_sale_salesman_all_leads")
        portal = new_test_user(self.env, login="kf-portal", groups="base.group_portal")
        for user in (salesperson, portal):
            company = self.company.with_user(user)
            fields_seen = company.fields_get()
            for name in ("kashflow_password", "kashflow_auto_auth_key", "kashflow_username"):
                self.assertNotIn(name, fields_seen)
                with self.assertRaises(AccessError):
                    company.read([name])
            try:  # not theirs to read, nor to export
                exported = company.export_data(["kashflow_password"])
            except (AccessError, UserError):
                exported = None
            self.assertNoSecret([str(exported)], f"{user.login}'s export of the company")
            try:  # what an RPC read of the whole company returns (a portal user may not read some of it at all)
                everything = company.read(list(fields_seen))
            except AccessError:
                everything = company.read(["name", "kashflow_enabled"])
            self.assertNoSecret([str(everything)], f"{user.login}'s read of the company")
        settings_fields = self.env["res.config.settings"].with_user(salesperson).fields_get()
        self.assertNotIn("kashflow_password", settings_fields)
