"""Each company books into its own KashFlow account; each user sees and does only what their role allows."""

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import KashFlowCase, start_sandbox, stop_sandbox


@tagged("post_install", "-at_install")
class TestCompaniesAndAccess(KashFlowCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_sandbox = start_sandbox()
        cls.addClassCleanup(stop_sandbox, cls.other_sandbox)
        cls.other_company = cls.setup_other_company(name="Second Shop Ltd")["company"]
        cls.other_company.write({
            "currency_id": cls.gbp.id,
            "kashflow_enabled": True,
            "kashflow_username": cls.other_sandbox.username,
            "kashflow_password": cls.other_sandbox.password,
            "kashflow_url": cls.other_sandbox.service_url,
        })
        cls.other_team = cls.env["crm.team"].create({"name": "Second web shop", "company_id": cls.other_company.id})

    def setUp(self):
        super().setUp()
        self.other_sandbox.reset()
        self.download_and_map()

    def test_each_company_books_into_its_own_account(self):
        other = self.env(context={"allowed_company_ids": [self.other_company.id, self.company.id]})
        self.download_and_map(teams=self.other_team, company=self.other_company.with_env(other))
        channel = other["kashflow.channel"].search([("company_id", "=", self.other_company.id),
                                                  ("team_id", "=", self.other_team.id)])
        self.assertTrue(channel.is_complete)
        ours = self.make_order()
        theirs = other["sale.order"].create({
            "partner_id": self.customer.id, "team_id": self.other_team.id, "company_id": self.other_company.id,
            "order_line": [Command.create({"product_id": self.board.id, "product_uom_qty": 1,
                                           "tax_id": [Command.clear()]})],
        })
        self.pay_online(ours)
        theirs.action_confirm()
        invoice = theirs._create_invoices()
        invoice.action_post()
        other["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids).create({})._create_payments()
        self.assertEqual(theirs.kashflow_state, "queued")
        self.run_jobs()

        self.assertEqual(theirs.kashflow_state, "sent", theirs.kashflow_reason)
        self.assertEqual([invoice["CustomerReference"] for invoice in self.sandbox.state()["invoices"]],
                         [ours.name])
        self.assertEqual([invoice["CustomerReference"] for invoice in self.other_sandbox.state()["invoices"]],
                         [f"{invoice.name} {theirs.name}"])
        # One contact, one KashFlow customer in each company's account, each remembered for its own company.
        bindings = self.env["kashflow.customer"].search([("partner_id", "=", self.customer.id)])
        self.assertEqual(bindings.filtered(lambda b: b.company_id == self.company).kashflow_customer_id,
                         self.sandbox.state()["customers"][0]["CustomerID"])
        self.assertEqual(bindings.filtered(lambda b: b.company_id == self.other_company).kashflow_customer_id,
                         self.other_sandbox.state()["customers"][0]["CustomerID"])

    def test_a_company_sees_only_its_own_mapping_and_data(self):
        self.other_company.sudo()._kashflow_download_data()
        user = new_test_user(self.env, login="kf-billing", groups="account.group_account_invoice",
                             company_id=self.company.id, company_ids=[Command.set(self.company.ids)])
        channels = self.env["kashflow.channel"].with_user(user).search([])
        lookups = self.env["kashflow.lookup"].with_user(user).search([])
        self.assertTrue(channels)
        self.assertEqual(channels.company_id, self.company)
        self.assertEqual(lookups.company_id, self.company)
        nominal = lookups.filtered(lambda lookup: lookup.kind == "nominal_code")[:1]
        nominal.is_income = not nominal.is_income  # what the bookkeeper may say of KashFlow's data
        with self.assertRaises(AccessError):
            nominal.kashflow_id = 999  # but KashFlow's own values are KashFlow's

    def test_salespeople_see_the_state_but_cannot_resend(self):
        order = self.make_order()
        self.pay_online(order)
        self.run_jobs()
        salesman = new_test_user(self.env, login="kf-salesman", groups="sales_team.group_sale_salesman_all_leads",
                                 company_id=self.company.id, company_ids=[Command.set(self.company.ids)])
        seen = order.with_user(salesman)
        self.assertEqual(seen.kashflow_state, "sent")
        self.assertEqual(seen.kashflow_invoice_number, order.kashflow_invoice_number)
        with self.assertRaises(AccessError):
            seen.action_kashflow_resend()
        # The history the KashFlow button opens is readable for them: what the job did, in words.
        action = seen.action_kashflow_open_history()
        [entry] = self.env[action["res_model"]].with_user(salesman).search(action["domain"])
        self.assertEqual(entry.kashflow_state, "sent")
        self.assertRegex(entry.message, r"^KashFlow customer \d+ created, invoice \d+ created, payment \d+ created\.$")
        self.assertEqual(entry.document_ids.mapped("kind"), ["invoice", "payment"])

    def test_job_queue_managers_still_see_every_job(self):
        other_job = self.env["queue.job"].with_delay(channel="root")._test_job()
        order = self.make_order()
        self.pay_online(order)
        manager = new_test_user(
            self.env, login="kf-job-manager", company_id=self.company.id, company_ids=[Command.set(self.company.ids)],
            groups="sales_team.group_sale_salesman,account.group_account_invoice,queue_job.group_queue_job_manager")
        seen = self.env["queue.job"].with_user(manager).search([])
        self.assertIn(other_job.db_record(), seen)
        self.assertIn("root.kashflow", seen.mapped("channel"))

    def test_accountants_resend_and_map(self):
        accountant = new_test_user(self.env, login="kf-accountant", groups="account.group_account_invoice",
                                   company_id=self.company.id, company_ids=[Command.set(self.company.ids)])
        order = self.make_order()
        self.pay_online(order)
        self.run_jobs()
        order.with_user(accountant).action_kashflow_resend()
        self.assertEqual(order.kashflow_state, "queued")
        channel = self.env["kashflow.channel"].with_user(accountant).search([("team_id", "=", self.ebay.id)])
        channel.marketplace_fulfilled = True
        self.assertTrue(channel.marketplace_fulfilled)
