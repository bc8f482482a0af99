import importlib.util
from pathlib import Path
from unittest.mock import patch

from odoo.exceptions import ValidationError
from odoo.modules.neutralize import neutralize_database
from odoo.tests import tagged
from odoo.tools.convert import convert_file

from .common import SANDBOX_PASSWORD, KashFlowCase


@tagged("post_install", "-at_install")
class TestSettings(KashFlowCase):
    def _settings(self, **values):
        return self.env["res.config.settings"].create(values)

    def test_settings_are_saved_per_company(self):
        settings = self._settings(
            kashflow_enabled=True, kashflow_username="bookkeeper@example.co.uk", kashflow_password="n3w-pass",
            kashflow_include_vat=False, kashflow_send_fba=True, kashflow_start_date="2026-01-01")
        settings.execute()
        company = self.company.sudo()
        self.assertTrue(company.kashflow_enabled)
        self.assertEqual(company.kashflow_username, "bookkeeper@example.co.uk")
        self.assertEqual(company.kashflow_password, "n3w-pass")
        self.assertFalse(company.kashflow_include_vat)
        self.assertTrue(company.kashflow_send_fba)
        self.assertEqual(str(company.kashflow_start_date), "2026-01-01")

    def test_credentials_hidden_from_non_administrators(self):
        user = self.env["res.users"].create({
            "name": "Sales user", "login": "kf-sales-user",
            "groups_id": [(6, 0, [self.env.ref("sales_team.group_sale_salesman").id])],
        })
        company = self.company.with_user(user)
        fields_seen = company.fields_get()
        self.assertNotIn("kashflow_password", fields_seen)
        self.assertNotIn("kashflow_username", fields_seen)
        self.assertIn("kashflow_enabled", fields_seen)

    def test_scheduled_actions_and_job_settings_a_user_changed_stay_so_after_an_upgrade(self):
        """A seller who switched the back-fill off finds it off after the next upgrade: every record of the module's
        data that a user may edit is ``noupdate``, also in a database installed before 18.0.2.2 (its migration)."""
        editable = ("ir.cron", "queue.job.channel", "queue.job.function")
        data = self.env["ir.model.data"].search([("module", "=", "kashflow_connector"), ("model", "in", editable)])
        self.assertEqual(set(data.mapped("model")), set(editable))
        self.assertTrue(all(data.mapped("noupdate")), data.filtered(lambda row: not row.noupdate).mapped("name"))

        data.write({"noupdate": False})  # as a database installed before 18.0.2.2 has them
        data.flush_recordset()
        path = Path(__file__).parents[1] / "migrations" / "18.0.2.2.0" / "pre-migrate.py"
        spec = importlib.util.spec_from_file_location("kashflow_pre_migrate_18_0_2_2", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        migration.migrate(self.env.cr, "18.0.2.1.0")
        data.invalidate_recordset()
        self.assertTrue(all(data.mapped("noupdate")))

        backfill = self.env.ref("kashflow_connector.ir_cron_kashflow_backfill")
        backfill.write({"active": False, "interval_number": 6})
        for filename in ("data/ir_cron_data.xml", "data/kashflow_reconciliation_data.xml", "data/queue_job_data.xml"):
            convert_file(self.env, "kashflow_connector", filename, {}, mode="update")
        self.assertEqual((backfill.active, backfill.interval_number), (False, 6))

    def test_a_channel_without_its_own_customer_source_is_told_how_to_add_one(self):
        """KashFlow's customer sources (the sandbox's: Web shop, Amazon, eBay, Referral) fit channels by name: the
        mapping names the one to choose, says how to add one in KashFlow where none fits, and warns when another
        channel's source is chosen."""
        self.env["kashflow.channel"].search([]).unlink()
        self.company._kashflow_download_data()
        etsy = self.env["crm.team"].create({"name": "Etsy", "company_id": self.company.id})
        self.company._kashflow_download_data()
        channels = self.env["kashflow.channel"].search([("company_id", "=", self.company.id)])
        hint = {channel.team_id.name: channel.source_hint for channel in channels}
        self.assertEqual(hint["Amazon FBA"], "Choose Amazon: KashFlow's customer source for this channel.")
        self.assertEqual(hint["Etsy"], "KashFlow has no customer source for Etsy: add one in KashFlow (Settings > "
                                       "Customer Sources), then Download Data in Settings > KashFlow, and choose it "
                                       "here.")
        amazon = self.env["kashflow.lookup"].search([("company_id", "=", self.company.id),
                                                     ("kind", "=", "customer_source"), ("name", "=", "Amazon")])
        channel = channels.filtered(lambda channel: channel.team_id == etsy)
        channel.source_id = amazon
        self.assertFalse(channel.source_hint)
        warning = channel._onchange_source_id()["warning"]
        self.assertIn("The customer source Amazon is named after the channel Amazon FBA: in KashFlow, customers "
                      "from Etsy would be counted as customers from Amazon FBA.", warning["message"])
        fba = channels.filtered(lambda channel: channel.team_id == self.amazon_fba)
        fba.source_id = amazon
        self.assertIsNone(fba._onchange_source_id(), "its own source: nothing to say")

    def test_connection_reaches_the_sandbox(self):
        action = self._settings().action_kashflow_test_connection()
        self.assertEqual(action["params"]["type"], "success", action["params"]["message"])
        self.assertIn("GBP", action["params"]["message"])

    def test_connection_bad_login_says_so(self):
        action = self._settings(kashflow_password="wrong-password").action_kashflow_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("username or password", action["params"]["message"])
        self.assertNotIn("wrong-password", action["params"]["message"])
        self.assertNotIn(SANDBOX_PASSWORD, action["params"]["message"])

    def test_connection_ip_not_authorised_says_so_and_the_key_fixes_it(self):
        self.sandbox.configure(restrict_ips=True, allowed_ips=["192.0.2.44"])
        action = self._settings().action_kashflow_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("IP address", action["params"]["message"])
        self.assertIn("127.0.0.1", action["params"]["message"])
        action = self._settings(kashflow_auto_auth_key=self.sandbox.auto_auth_key).action_kashflow_test_connection()
        self.assertEqual(action["params"]["type"], "success", action["params"]["message"])
        self.assertIn("127.0.0.1", [entry["ip"] for entry in self.sandbox.state()["access"]["allowed_ips"]])

    def test_connection_unreachable_says_so(self):
        self.sandbox.set_faults(operation="GetCurrencies", mode="http500", count=1)
        action = self._settings().action_kashflow_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("could not be reached", action["params"]["message"])

    def test_a_stalled_kashflow_is_given_up_after_the_read_timeout(self):
        self.env["ir.config_parameter"].set_param("kashflow_connector.read_timeout", "0.5")
        self.sandbox.set_faults(operation="GetCurrencies", mode="timeout", count=1, stall_seconds=3)
        action = self._settings().action_kashflow_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("no answer within 0.5 seconds", action["params"]["message"])
        for value in ("", "soon", "-1"):  # not a positive number of seconds: the client's default
            self.env["ir.config_parameter"].set_param("kashflow_connector.read_timeout", value)
            self.assertEqual(self.company._kashflow_client().timeout, (10, 60))

    def test_a_neutralized_copy_never_talks_to_kashflow(self):
        self.company.kashflow_enabled = True
        self.env.flush_all()
        neutralize_database(self.env.cr)
        self.env.invalidate_all()
        company = self.company.sudo()
        self.assertFalse(company.kashflow_enabled)
        self.assertFalse(company.kashflow_password)

    # ------------------------------------------------------------------ channel mapping: income codes, progress

    def test_sales_are_booked_to_income_codes_only(self):
        self.download_and_map()
        channel = self.env["kashflow.channel"].search([("team_id", "=", self.webshop.id)])
        lookups = self.env["kashflow.lookup"].search([("kind", "=", "nominal_code")])
        bank = lookups.filtered(lambda lookup: lookup.code == "1200")
        self.assertFalse(bank.is_income)
        self.assertEqual(sorted(lookups.filtered("is_income").mapped("code")), ["4000", "4010", "4900", "4905"])
        offered = self.env["kashflow.lookup"].search(
            [("company_id", "=", self.company.id), ("kind", "=", "nominal_code"), ("is_income", "=", True)])
        self.assertNotIn(bank, offered)
        with self.assertRaisesRegex(ValidationError, "1200 Bank Current Account is not a sales .income. nominal"), \
                self.env.cr.savepoint():
            channel.goods_nominal_id = bank
        self.env.invalidate_all()
        other = lookups.filtered(lambda lookup: lookup.code == "7500")
        other.is_income = True  # the bookkeeper says so: the search is widened to it
        channel.delivery_nominal_id = other
        self.assertEqual(channel.delivery_nominal_id, other)

    def test_mapping_a_channel_says_how_many_held_orders_go_out(self):
        order = self.make_order(team=self.ebay)
        self.pay_online(order)
        self.assertEqual(order.kashflow_state, "needs_mapping")
        with patch.object(type(self.env.user), "_bus_send") as bus:
            self.download_and_map(teams=self.ebay)
        self.assertEqual(order.kashflow_state, "queued")
        [(kind, message), _kwargs] = bus.call_args
        self.assertEqual(kind, "simple_notification")
        self.assertEqual(message["message"], "1 held order(s) of eBay will now go to KashFlow.")

    def test_progress_per_channel_and_in_settings(self):
        self.download_and_map()
        sent, queued, unmapped = self.make_order(), self.make_order(), self.make_order(team=self.amazon_fba)
        for order in (sent, queued, unmapped):
            self.pay_online(order)
        sent.kashflow_state = "sent"
        channel = self.env["kashflow.channel"].search([("team_id", "=", self.webshop.id)])
        self.assertEqual((channel.sent_count, channel.queued_count, channel.failed_count), (1, 1, 0))
        settings = self._settings()
        self.assertEqual((settings.kashflow_sent_count, settings.kashflow_queued_count,
                          settings.kashflow_held_count), (1, 1, 1))
        action = settings.action_kashflow_open_progress()
        self.assertEqual(action["res_model"], "sale.order")
