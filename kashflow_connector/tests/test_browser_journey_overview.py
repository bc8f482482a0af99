"""The KashFlow overview in a real browser: it shows an order that differs in KashFlow, and its repair.

The tours of ``static/tests/tours/kashflow_overview.js`` drive headless Chromium against the test server, logged in
as the administrator; Python runs the jobs and the reconciliation between them, as the job runner and the scheduled
action would. The overview and the VAT table are saved as PNGs (``make screenshots`` renews the README's).

Where no Chrome or Chromium is installed, Odoo skips the test ("Chrome executable not found").
"""

from decimal import Decimal
from unittest.mock import patch

from odoo import Command
from odoo.tests import HttpCase, tagged

from .common import KashFlowCase
from .test_browser_journey import SCREENSHOTS, ScreenshotBrowser

OVERVIEW = "/odoo/action-kashflow_connector.sale_order_action_kashflow_overview"
VAT_BY_MONTH = "/odoo/action-kashflow_connector.kashflow_document_vat_action"


@tagged("post_install", "-at_install")
class TestBrowserJourneyOverview(KashFlowCase, HttpCase):
    browser_size = "1400x900"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.name = "Oak & Ash Ltd"
        cls.company.tax_exigibility = True  # the accounting fixtures' cash-basis tax needs it (see the journey)
        (cls.vat20 | cls.vat5).tax_group_id = cls.env["account.tax.group"].create(
            {"name": "VAT", "company_id": cls.company.id})
        cls.admin = cls.env.ref("base.user_admin").sudo()
        cls.admin.write({"company_ids": [Command.set(cls.company.ids)], "company_id": cls.company.id})
        uk = cls.env.ref("base.uk")
        cls.buyers = cls.env["res.partner"].create([
            {"name": name, "email": f"{name.split()[0].lower()}@example.co.uk", "street": street, "city": city,
             "zip": postcode, "country_id": uk.id}
            for name, street, city, postcode in (
                ("Oliver Bennett", "4 Station Road", "York", "YO1 6HT"),
                ("Priya Shah", "21 High Street", "Bristol", "BS1 2AW"),
                ("Tom Riley", "9 Quay Street", "Hull", "HU1 1AA"),
                ("Grace Okafor", "3 Park Row", "Leeds", "LS1 5HD"))])

    def run_tour(self, url_path, tour_name, screenshot=None):
        self.screenshot_path = SCREENSHOTS / screenshot if screenshot else None
        with patch("odoo.tests.common.ChromeBrowser", ScreenshotBrowser):
            self.start_tour(url_path, tour_name, login=self.admin.login)
        self.env.invalidate_all()

    def reconcile(self):
        return self.env["kashflow.reconciliation"]._kashflow_start(self.company)._kashflow_run()

    def test_the_overview_shows_a_mismatch_and_its_repair(self):
        self.download_and_map(teams=self.webshop)
        orders = []
        for buyer, lines in zip(self.buyers, ([(self.board, 2, 0.0), (self.shipping, 1, 0.0)],
                                              [(self.book, 3, 0.0), (self.shipping, 1, 0.0)],
                                              [(self.board, 1, 0.0), (self.book, 1, 0.0)],
                                              [(self.board, 4, 10.0)]), strict=True):
            order = self.make_order(partner=buyer, lines=lines, user_id=self.admin.id)
            self.pay_by_invoice(order)
            orders.append(order)
        held = self.make_order(partner=self.customer, team=self.ebay, user_id=self.admin.id)  # eBay is not mapped
        self.pay_online(held)
        self.run_jobs()
        self.assertEqual([order.kashflow_state for order in orders], ["sent"] * 4)
        self.assertEqual(held.kashflow_state, "needs_mapping")

        # Someone changes Oliver Bennett's invoice in KashFlow: the boards at 20.00 instead of 25.00.
        kashflow = self.company._kashflow_client()
        drifted = orders[0]
        invoice = kashflow.get_invoice(drifted.kashflow_invoice_number)
        invoice["Lines"][0].update(Rate=Decimal("20.00"), VatAmount=Decimal("8.00"))
        kashflow.update_invoice(invoice)
        self.assertEqual(self.reconcile().mismatches_found, 1)
        self.assertEqual(drifted.kashflow_state, "mismatch")

        self.run_tour(OVERVIEW, "kashflow_overview_mismatch", screenshot="kashflow_overview.png")
        self.run_tour(VAT_BY_MONTH, "kashflow_vat_difference", screenshot="kashflow_vat_by_month.png")
        self.run_tour(OVERVIEW, "kashflow_overview_resend")
        self.assertEqual(drifted.kashflow_state, "queued")
        self.assertEqual(self.run_jobs(), 1)
        self.assertEqual(drifted.kashflow_state, "sent", drifted.kashflow_reason)
        repaired = kashflow.get_invoice(drifted.kashflow_invoice_number)
        self.assertEqual((repaired["NetAmount"], repaired["VATAmount"]), (Decimal("54.99"), Decimal("11.00")))
        self.assertEqual(self.reconcile().mismatches_found, 0)
        self.run_tour(OVERVIEW, "kashflow_overview_repaired")
