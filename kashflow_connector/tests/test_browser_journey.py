"""The user's journey in a real browser: connect to KashFlow, map a channel, sell, pay, change the order, resend.

The tours of ``static/tests/tours/kashflow_journey.js`` drive headless Chromium against the test server, logged
in as the administrator. Between them, Python does what nobody clicks: it runs the queued jobs (queue_job's
runner does not run in tests) and checks what Odoo and the sandbox hold. The last screen of some tours is saved
as a PNG in ``.tmp/screenshots/``, or in the folder ``KASHFLOW_SCREENSHOTS`` names: ``make screenshots`` renews
the README's pictures in ``docs/screenshots/``.

Where no Chrome or Chromium is installed, Odoo skips the test ("Chrome executable not found").
"""

import base64
import os
from pathlib import Path
from unittest.mock import patch

from odoo import Command
from odoo.tests import HttpCase, tagged
from odoo.tests.common import ChromeBrowser

from .common import PROJECT, KashFlowCase

SCREENSHOTS = Path(os.environ.get("KASHFLOW_SCREENSHOTS") or PROJECT / ".tmp" / "screenshots")


class ScreenshotBrowser(ChromeBrowser):
    """Odoo's headless Chromium, which also saves the page as a PNG once a tour has succeeded, before closing.

    The file is the test case's ``screenshot_path``, if it has one.
    """

    def _wait_code_ok(self, code, timeout, error_checker=None):
        result = super()._wait_code_ok(code, timeout, error_checker=error_checker)
        path = getattr(self.test_case, "screenshot_path", None)
        if path:
            shot = self._websocket_request("Page.captureScreenshot", params={"format": "png"}, timeout=30)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(base64.b64decode(shot["data"]))
        return result


@tagged("post_install", "-at_install")
class TestBrowserJourney(KashFlowCase, HttpCase):
    browser_size = "1400x900"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        uk = cls.env.ref("base.uk")
        cls.company.name = "Oak & Ash Ltd"  # a seller's name in the screenshots
        # The accounting test fixtures include a cash-basis tax, which a company can only have with cash basis on
        # (else the settings form opens with an error about it).
        cls.company.tax_exigibility = True
        # Order totals say "VAT" rather than the name of the chart of accounts' default tax group.
        (cls.vat20 | cls.vat5).tax_group_id = cls.env["account.tax.group"].create(
            {"name": "VAT", "company_id": cls.company.id})
        # As Settings > Sales > Customer Addresses does: orders show their invoice and delivery addresses.
        cls.env.ref("base.group_user").sudo().implied_ids = [
            Command.link(cls.env.ref("account.group_delivery_invoice_address").id)]
        # The administrator works in the test company only.
        cls.admin = cls.env.ref("base.user_admin").sudo()
        cls.admin.write({"company_ids": [Command.set(cls.company.ids)], "company_id": cls.company.id})
        cls.workshop = cls.env["res.partner"].create({
            "parent_id": cls.customer.id, "type": "delivery", "name": "Workshop",
            "street": "7 Canal Wharf", "city": "Leeds", "zip": "LS11 5PS", "country_id": uk.id,
        })
        cls.bennett, cls.shah = cls.env["res.partner"].create([
            {"name": "Oliver Bennett", "email": "oliver.bennett@example.co.uk", "street": "4 Station Road",
             "city": "York", "zip": "YO1 6HT", "country_id": uk.id},
            {"name": "Priya Shah", "email": "priya.shah@example.co.uk", "street": "21 High Street",
             "city": "Bristol", "zip": "BS1 2AW", "country_id": uk.id},
        ])

    def run_tour(self, url_path, tour_name, screenshot=None):
        """Run a tour as the administrator; with ``screenshot``, save its last screen as that file's name."""
        self.screenshot_path = SCREENSHOTS / screenshot if screenshot else None
        with patch("odoo.tests.common.ChromeBrowser", ScreenshotBrowser):
            self.start_tour(url_path, tour_name, login=self.admin.login)
        self.env.invalidate_all()  # the browser's requests changed records behind this test's cache

    def order_invoices(self, order):
        return [invoice for invoice in self.state()["invoices"]
                if order.name in invoice["CustomerReference"].split(" ")]

    def test_connect_map_sell_change_and_resend(self):
        # 1. Settings > KashFlow: test the connection, download the account's data, map the Web shop channel.
        self.run_tour("/odoo/settings", "kashflow_connect", screenshot="settings.png")
        self.run_tour("/odoo/settings", "kashflow_map_channel", screenshot="channel_mapping.png")
        channel = self.env["kashflow.channel"].search([("company_id", "=", self.company.id),
                                                       ("team_id", "=", self.webshop.id)])
        self.assertTrue(channel.is_complete)
        self.assertEqual(channel.goods_nominal_id.code, "4000")
        self.assertEqual(channel.delivery_nominal_id.code, "4900")

        # 2. A Web shop quotation is confirmed, invoiced, and its invoice paid, with the standard buttons.
        order = self.make_order(user_id=self.admin.id, partner_shipping_id=self.customer.id)
        self.run_tour(f"/odoo/sales/{order.id}", "kashflow_confirm_and_pay")
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.kashflow_state, "queued", order.kashflow_reason)

        # 3. The job queue sends it; the order shows it.
        self.assertEqual(self.run_jobs(), 1)
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        number = order.kashflow_invoice_number
        [invoice] = self.order_invoices(order)
        self.assertFalse(invoice["UseCustomDeliveryAddress"], "delivered to the invoice address")
        self.run_tour(f"/odoo/orders/{order.id}", "kashflow_order_sent", screenshot="order_sent.png")

        # The order list, with an order of the unmapped eBay channel, paid, and an order not paid yet.
        self.pay_online(self.make_order(partner=self.bennett, team=self.ebay, user_id=self.admin.id))
        self.make_order(partner=self.shah, lines=[(self.book, 3, 0.0)], user_id=self.admin.id).action_confirm()
        self.run_tour("/odoo/orders", "kashflow_order_list", screenshot="order_list.png")

        # 4. The parcel goes to the customer's workshop instead: the order changed since it was sent; resend it.
        self.run_tour(f"/odoo/orders/{order.id}", "kashflow_change_and_resend")
        self.assertEqual(order.partner_shipping_id, self.workshop)
        self.assertEqual(order.kashflow_state, "queued", order.kashflow_reason)
        self.assertEqual(self.run_jobs(), 1)
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        self.assertEqual(order.kashflow_invoice_number, number)
        self.run_tour(f"/odoo/orders/{order.id}", "kashflow_order_resent")

        # KashFlow holds the one invoice, updated with the new delivery address, and its one payment.
        state = self.state()
        self.assertEqual(len(state["invoices"]), 1)
        [invoice] = self.order_invoices(order)
        self.assertEqual(invoice["InvoiceNumber"], number)
        self.assertTrue(invoice["UseCustomDeliveryAddress"])
        self.assertEqual(invoice["DeliveryAddress"]["Line1"], "7 Canal Wharf")
        self.assertEqual(invoice["DeliveryAddress"]["PostCode"], "LS11 5PS")
        self.assertEqual([payment["PayInvoice"] for payment in state["payments"]], [number])

        # 5. The filter comes back: a credit note is posted and refunded in Odoo; KashFlow gets a credit note, applied
        # to the invoice, and the refund. The order's KashFlow tab lists its documents.
        self.pay(self.credit_note(order.invoice_ids, keep=self.shipping))
        self.assertEqual(order.kashflow_state, "queued")
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        self.run_tour(f"/odoo/orders/{order.id}", "kashflow_credit_note", screenshot="order_documents.png")
