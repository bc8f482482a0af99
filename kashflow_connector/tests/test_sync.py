"""A paid order ends up in KashFlow (the sandbox) as one customer, one invoice and one payment."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import SANDBOX_PASSWORD, KashFlowCase


@tagged("post_install", "-at_install")
class TestPaidOrderToKashFlow(KashFlowCase):
    def setUp(self):
        super().setUp()
        self.download_and_map()

    def invoice_of(self, order):
        return next(invoice for invoice in self.state()["invoices"]
                    if invoice["InvoiceNumber"] == order.kashflow_invoice_number)

    # ------------------------------------------------------------------ the happy paths

    def test_online_payment_books_customer_invoice_and_payment(self):
        order = self.make_order()
        self.assertEqual(order.kashflow_state, "not_paid")
        self.pay_online(order)
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.kashflow_state, "queued")
        self.assertEqual(self.state()["invoices"], [], "nothing may reach KashFlow inside the payment")

        self.assertEqual(self.run_jobs(), 1)
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        state = self.state()
        self.assertEqual(len(state["customers"]), 1)
        self.assertEqual(len(state["invoices"]), 1)
        self.assertEqual(len(state["payments"]), 1)
        customer, invoice, payment = state["customers"][0], state["invoices"][0], state["payments"][0]
        self.assertEqual(customer["Name"], "Hannah Fletcher")
        self.assertEqual(customer["Email"], "hannah.fletcher@example.co.uk")
        self.assertEqual(customer["Postcode"], "LS1 4AB")
        self.assertEqual(invoice["CustomerReference"], order.name)
        self.assertEqual(invoice["InvoiceNumber"], order.kashflow_invoice_number)
        self.assertEqual(Decimal(invoice["NetAmount"]), Decimal("54.99"))  # 2 x 25.00 + 4.99
        self.assertEqual(Decimal(invoice["VATAmount"]), Decimal("11.00"))
        self.assertEqual(Decimal(invoice["NetAmount"]) + Decimal(invoice["VATAmount"]),
                         Decimal(str(order.amount_total)))
        self.assertEqual(payment["PayInvoice"], order.kashflow_invoice_number)
        self.assertEqual(Decimal(payment["PayAmount"]), Decimal("65.99"))
        self.assertEqual(order.kashflow_document_ids.filtered(lambda doc: doc.kind == "payment").kashflow_number,
                         payment["PayID"])
        binding = self.env["kashflow.customer"].search([("partner_id", "=", self.customer.id)])
        self.assertEqual(binding.kashflow_customer_id, customer["CustomerID"])
        self.assertIn(str(order.kashflow_invoice_number), order.message_ids[0].body)

    def test_paid_invoice_books_the_order(self):
        """The KashFlow invoice carries Odoo's invoice date (the tax point); the payment the day it was paid."""
        order = self.make_order()
        self.pay_by_invoice(order, payment_date="2026-11-02", invoice_date="2026-10-30")
        self.assertEqual(order.kashflow_state, "queued")
        self.assertEqual(str(order.kashflow_paid_date), "2026-11-02")
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        state = self.state()
        self.assertEqual(len(state["invoices"]), 1)
        self.assertEqual(len(state["payments"]), 1)
        self.assertTrue(state["invoices"][0]["InvoiceDate"].startswith("2026-10-30"))
        self.assertTrue(state["payments"][0]["PayDate"].startswith("2026-11-02"))

    def test_unpaid_order_is_never_sent(self):
        order = self.make_order()
        order.action_confirm()
        invoice = order._create_invoices()
        invoice.action_post()
        self.assertEqual(order.kashflow_state, "not_paid")
        self.assertFalse(self.kashflow_jobs())
        with self.assertRaises(UserError):
            order.action_kashflow_resend()
        self.assertEqual(self.state()["invoices"], [])

    def test_second_order_of_the_same_contact_reuses_the_customer(self):
        first, second = self.make_order(), self.make_order(lines=[(self.book, 1, 0.0)])
        self.pay_online(first)
        self.run_jobs()
        self.pay_online(second)
        self.run_jobs()
        state = self.state()
        self.assertEqual(len(state["customers"]), 1)
        self.assertEqual(len(state["invoices"]), 2)
        self.assertEqual({invoice["CustomerID"] for invoice in state["invoices"]},
                         {state["customers"][0]["CustomerID"]})

    def test_lines_delivery_discount_and_vat_rates(self):
        order = self.make_order(lines=[(self.board, 3, 10.0), (self.book, 2, 0.0), (self.shipping, 1, 0.0)])
        self.pay_online(order)
        self.run_jobs()
        invoice = self.invoice_of(order)
        lines = {line["Description"].split(" (")[0]: line for line in invoice["Lines"]}
        board = next(line for name, line in lines.items() if "Oak chopping board" in name)
        book = next(line for name, line in lines.items() if "cookbook" in name)
        self.assertEqual(Decimal(board["Rate"]), Decimal("22.50"))  # 25.00 less 10%
        self.assertIn("10% discount", board["Description"])
        self.assertEqual(Decimal(board["VatRate"]), Decimal("20"))
        self.assertEqual(Decimal(book["VatRate"]), Decimal("5"))
        self.assertEqual(Decimal(invoice["NetAmount"]), Decimal(str(order.amount_untaxed)))
        self.assertEqual(Decimal(invoice["VATAmount"]), Decimal(str(order.amount_tax)))

    def test_vat_off_sends_gross_lines_without_vat(self):
        self.company.kashflow_include_vat = False
        order = self.make_order()
        self.pay_online(order)
        self.run_jobs()
        invoice = self.invoice_of(order)
        self.assertEqual(Decimal(invoice["VATAmount"]), Decimal("0"))
        self.assertEqual(Decimal(invoice["NetAmount"]), Decimal(str(order.amount_total)))
        self.assertTrue(all(Decimal(line["VatAmount"]) == 0 for line in invoice["Lines"]))

    def test_foreign_currency_order(self):
        eur = self.setup_other_currency("EUR", rates=[("2020-01-01", 1.25)])
        order = self.make_order(currency=eur)
        self.pay_online(order)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        invoice = self.invoice_of(order)
        self.assertEqual(invoice["CurrencyCode"], "EUR")
        self.assertEqual(Decimal(invoice["ExchangeRate"]), Decimal("1.25"))
        self.assertEqual(Decimal(invoice["NetAmount"]) + Decimal(invoice["VATAmount"]),
                         Decimal(str(order.amount_total)))

    def test_currency_missing_in_kashflow_fails_clearly(self):
        jpy = self.setup_other_currency("JPY", rates=[("2020-01-01", 190.0)])
        order = self.make_order(currency=jpy)
        self.pay_online(order)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "failed")
        self.assertIn("JPY", order.kashflow_reason)
        self.assertEqual(self.state()["invoices"], [])

    def test_odd_input_goes_through_exactly(self):
        no_email = self.env["res.partner"].create({
            "name": "Zoë O'Brien & Sons <Ltd>", "street": "Flat 2, 5 Crème Street", "city": "Norwich",
            "zip": "NR1 1AA", "country_id": self.env.ref("base.uk").id,
        })
        dessert = self._create_product(name="Crème brûlée set — ramekins × 4 " + "extra long name " * 40,
                                       lst_price=19.99, taxes_id=[(6, 0, self.vat20.ids)])
        gift = self._create_product(name="Free gift wrap", lst_price=0.0, taxes_id=[(6, 0, self.vat20.ids)])
        promotion = self._create_product(name="Loyalty discount", lst_price=-5.00, type="service",
                                         taxes_id=[(6, 0, self.vat20.ids)])
        order = self.make_order(partner=no_email, lines=[(dessert, 3, 0.0), (gift, 1, 0.0), (promotion, 1, 0.0)])
        self.pay_online(order)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        invoice = self.invoice_of(order)
        self.assertEqual(Decimal(invoice["NetAmount"]), Decimal(str(order.amount_untaxed)))
        self.assertEqual(Decimal(invoice["VATAmount"]), Decimal(str(order.amount_tax)))
        rates = sorted(Decimal(line["Rate"]) for line in invoice["Lines"])
        self.assertEqual(rates, [Decimal("-5.00"), Decimal("0.00"), Decimal("19.99")])
        self.assertTrue(any("Crème brûlée" in line["Description"] for line in invoice["Lines"]))
        customer = self.state()["customers"][0]
        self.assertEqual(customer["Name"], "Zoë O'Brien & Sons <Ltd>")
        self.assertFalse(customer.get("Email"))

    # ------------------------------------------------------------------ changes and resends

    def test_address_change_updates_the_customer_not_the_orders(self):
        """A contact's new address is a customer change: one customer update, no order touched."""
        order = self.make_order()
        self.pay_online(order)
        self.run_jobs()
        number = order.kashflow_invoice_number
        self.customer.write({"street": "3 New Road", "zip": "LS2 9JT"})
        self.customer.write({"phone": "0113 496 0001"})  # a second edit queues nothing more
        self.assertEqual(order.kashflow_state, "sent")
        self.assertEqual(len(self.kashflow_jobs()), 1)
        self.sandbox.clear_calls()
        self.run_jobs()
        self.assertEqual(self.sandbox.call_counts(), {"GetCustomerByID": 1, "UpdateCustomer": 1})
        state = self.state()
        self.assertEqual(len(state["customers"]), 1)
        self.assertEqual(state["customers"][0]["Address1"], "3 New Road")
        self.assertEqual(state["customers"][0]["Postcode"], "LS2 9JT")
        self.assertEqual(state["customers"][0]["Telephone"], "0113 496 0001")

        order.action_kashflow_resend()
        order.action_kashflow_resend()  # a second click queues nothing more
        self.assertEqual(len(self.kashflow_jobs()), 1)
        self.sandbox.clear_calls()
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        self.assertEqual(order.kashflow_invoice_number, number)
        self.assertEqual(self.sandbox.call_counts(), {}, "KashFlow already holds all of it: nothing is sent")
        state = self.state()
        self.assertEqual(len(state["invoices"]), 1)
        self.assertEqual(len(state["customers"]), 1)
        self.assertEqual(len(state["payments"]), 1)

    def test_line_change_then_resend_replaces_lines_and_keeps_the_money_received(self):
        order = self.make_order()
        self.pay_online(order)
        self.run_jobs()
        # One board was out of stock: the order is cut to one board (no refund recorded in Odoo yet).
        order.order_line.filtered(lambda line: line.product_id == self.board).product_uom_qty = 1
        self.assertEqual(order.kashflow_state, "changed")
        order.action_kashflow_resend()
        self.run_jobs()
        invoice = self.invoice_of(order)
        self.assertEqual(Decimal(invoice["NetAmount"]) + Decimal(invoice["VATAmount"]), Decimal("35.99"))
        self.assertEqual(Decimal(invoice["UpdateCount"]), 1)
        payments = self.state()["payments"]
        self.assertEqual([Decimal(payment["PayAmount"]) for payment in payments], [Decimal("65.99")],
                         "KashFlow's payments are what Odoo received, not the order's new total")
        self.assertEqual(len(self.state()["invoices"]), 1)

    def test_unchanged_write_keeps_sent(self):
        order = self.make_order()
        self.pay_online(order)
        self.run_jobs()
        self.customer.write({"street": "12 Mill Lane"})
        order.write({"partner_shipping_id": self.customer.id})
        self.assertEqual(order.kashflow_state, "sent")

    # ------------------------------------------------------------------ failures and holds

    def test_bad_login_fails_in_plain_words_without_retry(self):
        self.company.kashflow_password = "wrong-password"
        order = self.make_order()
        self.pay_online(order)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "failed")
        self.assertIn("username or password", order.kashflow_reason)
        self.assertFalse(self.kashflow_jobs(), "a refused login is not retried")
        job = self.kashflow_jobs(states=("done",))
        for text in (order.kashflow_reason, order.message_ids[0].body, str(job.args), str(job.kwargs),
                     job.result or "", job.exc_info or ""):
            self.assertNotIn("wrong-password", text)
            self.assertNotIn(SANDBOX_PASSWORD, text)

        self.company.kashflow_password = SANDBOX_PASSWORD
        order.action_kashflow_resend()
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)

    def test_kashflow_down_is_retried_then_succeeds(self):
        order = self.make_order()
        self.pay_online(order)
        self.sandbox.set_faults(operation="InsertInvoice", mode="http500", count=1)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "queued")
        job = self.kashflow_jobs()
        self.assertEqual(job.retry, 1)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        self.assertEqual(len(self.state()["invoices"]), 1)

    def test_kashflow_asking_to_slow_down_pauses_every_job_of_the_company(self):
        """KashFlow's 429 with Retry-After, answered to one job, holds every job of the company until the pause ends:
        none calls KashFlow meanwhile, nor uses up an attempt; then all are sent."""
        orders = self.make_order(), self.make_order(lines=[(self.book, 1, 0.0)]), self.make_order()
        for order in orders:
            self.pay_online(order)
        self.sandbox.set_faults(operation="GetCustomerByEmail", mode="http429", count=1, retry_after=120)
        mark = self.sandbox.last_call()
        self.run_jobs()
        self.assertEqual(self.sandbox.call_counts(since=mark), Counter(GetCustomerByEmail=1),
                         "only the job KashFlow answered with 429 called it")
        jobs = self.kashflow_jobs()
        self.assertEqual(len(jobs), 3)
        self.assertEqual(jobs.mapped("retry"), [0, 0, 0], "waiting as KashFlow asked uses up no attempt")
        later = fields.Datetime.now() + timedelta(seconds=110)
        for job in jobs:
            self.assertGreater(job.eta, later, "every job waits for the pause KashFlow asked for")
        self.assertIn("KashFlow asked the connector to wait", " ".join(jobs.mapped("result")))
        self.assertGreater(self.env["res.config.settings"].create({}).kashflow_paused_until, later,
                           "Settings says until when KashFlow asked to wait")
        self.run_jobs()
        self.assertEqual(self.sandbox.call_counts(since=mark), Counter(GetCustomerByEmail=1),
                         "no job calls KashFlow before the pause ends")
        self.company.kashflow_paused_until = fields.Datetime.now() - timedelta(seconds=1)  # the two minutes passed
        self.assertFalse(self.env["res.config.settings"].create({}).kashflow_paused_until, "a pause over is not shown")
        self.run_jobs()
        self.assertEqual([order.kashflow_state for order in orders], ["sent"] * 3,
                         [order.kashflow_reason for order in orders])

    def test_kashflow_asking_to_slow_down_again_and_again_never_fails_the_order(self):
        """However often KashFlow answers 429, the job waits as asked and never gives up: KashFlow works, it wants
        fewer calls."""
        order = self.make_order()
        self.pay_online(order)
        self.kashflow_jobs().max_retries = 2
        self.sandbox.set_faults(operation="GetCustomerByEmail", mode="http429", count=5, retry_after=1)
        for _answer in range(5):
            self.run_jobs()
            self.assertEqual(order.kashflow_state, "queued", order.kashflow_reason)
            self.company.kashflow_paused_until = False  # the second KashFlow asked for has passed
        self.assertEqual(self.kashflow_jobs().retry, 0)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)

    def test_kashflow_down_for_good_fails_after_the_last_retry(self):
        order = self.make_order()
        self.pay_online(order)
        self.kashflow_jobs().max_retries = 2
        self.sandbox.set_faults(operation="GetCustomerByEmail", mode="http500", count=5)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "queued")
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "failed")
        self.assertEqual(order.kashflow_reason, "KashFlow is busy or down (HTTP 500 on GetCustomerByEmail). Gave up"
                                                " after 2 attempts; resend the order later.")
        self.assertFalse(self.kashflow_jobs(), "the order is failed, not left in the queue")

    def test_answer_lost_after_kashflow_did_the_work_never_duplicates(self):
        order = self.make_order()
        self.pay_online(order)
        self.run_jobs()  # the customer now exists: the next order goes through the look-up path
        second = self.make_order(lines=[(self.book, 1, 0.0)])
        self.pay_online(second)
        self.sandbox.set_faults(operation="InsertInvoice", mode="drop_after_commit", count=1)
        self.run_jobs()
        self.assertEqual(second.kashflow_state, "queued")
        self.sandbox.set_faults(operation="InsertInvoicePayment", mode="drop_after_commit", count=1)
        self.run_jobs()
        self.run_jobs()
        self.assertEqual(second.kashflow_state, "sent", second.kashflow_reason)
        state = self.state()
        self.assertEqual(len(state["invoices"]), 2)
        self.assertEqual(len(state["payments"]), 2)
        self.assertEqual(len(state["customers"]), 1)

    def test_unmapped_channel_holds_the_order_until_mapped(self):
        order = self.make_order(team=self.amazon_fba)
        self.pay_online(order)
        self.assertEqual(order.kashflow_state, "needs_mapping")
        self.assertIn("Amazon FBA", order.kashflow_reason)
        self.assertFalse(self.kashflow_jobs())
        channel = self.env["kashflow.channel"].search([("team_id", "=", self.amazon_fba.id)])
        self.assertEqual(channel.held_order_count, 1)
        self.download_and_map(teams=self.amazon_fba)
        self.assertEqual(order.kashflow_state, "queued")
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)

    def test_marketplace_fulfilled_orders_are_excluded_unless_asked_for(self):
        self.download_and_map(teams=self.env["crm.team"], fba_team=self.amazon_fba)
        order = self.make_order(team=self.amazon_fba)
        self.pay_online(order)
        self.assertEqual(order.kashflow_state, "excluded")
        self.company.kashflow_send_fba = True
        order.action_kashflow_resend()
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)

    def test_orders_paid_before_the_start_date_are_excluded(self):
        self.company.kashflow_start_date = "2999-01-01"
        order = self.make_order()
        self.pay_online(order)
        self.assertEqual(order.kashflow_state, "excluded")
        self.assertEqual(self.state()["invoices"], [])

    def test_backfill_catches_up_paid_orders_in_batches_and_never_twice(self):
        self.company.kashflow_enabled = False
        first, second = self.make_order(), self.make_order(lines=[(self.book, 1, 0.0)])
        self.pay_online(first)
        self.pay_by_invoice(second)
        unpaid = self.make_order()
        unpaid.action_confirm()
        before_start = self.make_order()
        self.pay_by_invoice(before_start, payment_date="2025-12-01")
        self.assertEqual((first | second | before_start).mapped("kashflow_state"), ["not_paid"] * 3)

        self.company.kashflow_enabled = True
        cron = self.env.ref("kashflow_connector.ir_cron_kashflow_backfill")
        cron, progress = cron._add_progress()
        backfill = self.env["sale.order"].with_context(ir_cron_progress_id=progress.id)._kashflow_backfill
        self.assertEqual(backfill(batch_size=1), 1)
        self.assertEqual((progress.done, progress.remaining), (3, 1),
                         "one looked at for a paid date, one excluded, one queued; one to go")
        self.assertEqual([backfill(batch_size=1) for _call in range(2)], [1, 0], "a batch of one per call")
        self.assertEqual(progress.remaining, 0)
        self.assertFalse(backfill(batch_size=1), "a second run queues nothing twice")
        self.assertEqual((first | second).mapped("kashflow_state"), ["queued", "queued"])
        self.assertEqual(before_start.kashflow_state, "excluded")
        self.assertIn("2026-01-01", before_start.kashflow_reason)
        self.assertEqual(unpaid.kashflow_state, "not_paid")
        self.assertEqual(len(self.kashflow_jobs()), 2)
        self.run_jobs()
        self.assertEqual((first | second).mapped("kashflow_state"), ["sent", "sent"])
        self.assertEqual(len(self.state()["invoices"]), 2)

    def test_a_company_switched_on_later_finds_its_orders_paid_before_installation(self):
        self.company.kashflow_enabled = False
        order = self.make_order()
        self.pay_online(order)
        self.env.flush_all()
        self.env.cr.execute("UPDATE sale_order SET kashflow_paid_date = NULL WHERE id = %s", [order.id])
        self.env.invalidate_all()  # as an order paid before the connector was installed is
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("kashflow_connector.discover_from", order.id)  # another company's look went past it
        self.company.kashflow_start_date = "2020-01-01"
        self.company.kashflow_enabled = True
        while self.env["sale.order"]._kashflow_backfill():
            pass
        self.assertEqual(order.kashflow_state, "queued")
        self.assertTrue(order.kashflow_paid_date)

    def test_switching_on_starts_from_today(self):
        company = self.setup_other_company(name="New Shop Ltd")["company"]
        company.kashflow_enabled = True
        self.assertEqual(company.kashflow_start_date, self.today())

    def test_authorised_but_not_captured_payment_is_not_paid(self):
        order = self.make_order()
        self.provider.support_manual_capture = "full_only"  # the provider authorises now and captures later
        transaction = self._create_transaction(
            flow="redirect", sale_order_ids=[order.id], amount=order.amount_total, currency_id=order.currency_id.id,
            partner_id=order.partner_id.id, reference=f"TX-{order.name}", state="authorized")
        transaction._post_process()
        self.assertEqual(order.state, "sale", "an authorised payment confirms the order")
        self.assertEqual(order.kashflow_state, "not_paid")
        with self.assertRaises(UserError):
            order.action_kashflow_resend()
        self.assertFalse(self.kashflow_jobs())

    def test_order_left_queued_without_a_job_goes_out_again(self):
        order = self.make_order()
        self.pay_online(order)
        self.kashflow_jobs().state = "cancelled"  # e.g. cancelled by hand in Job Queue
        self.assertEqual(order.kashflow_state, "queued")
        self.env["sale.order"]._kashflow_backfill()
        self.assertEqual(len(self.kashflow_jobs()), 1)
        self.env["sale.order"]._kashflow_backfill()
        self.assertEqual(len(self.kashflow_jobs()), 1, "a job that is waiting is not doubled")
        self.kashflow_jobs().state = "cancelled"
        order.action_kashflow_resend()
        self.assertEqual(len(self.kashflow_jobs()), 1)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        self.assertEqual(len(self.state()["invoices"]), 1)

    def test_mapping_undone_after_queueing_holds_the_order(self):
        order = self.make_order()
        self.pay_online(order)
        self.env["kashflow.channel"].search([("team_id", "=", self.webshop.id)]).bank_account_id = False
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "needs_mapping")
        self.assertIn("Bank Account", order.kashflow_reason)
        self.assertEqual(self.state()["invoices"], [])

    def test_resend_after_an_unrecorded_insert_finds_the_invoice(self):
        """KashFlow created the invoice, but the job died before Odoo recorded it; a later resend adopts it."""
        earlier = self.make_order(lines=[(self.book, 1, 0.0)])
        self.pay_online(earlier)
        self.run_jobs()  # the customer exists in KashFlow
        order = self.make_order()
        self.pay_online(order)
        self.sandbox.set_faults(operation="InsertInvoicePayment", mode="http500", count=1)
        self.kashflow_jobs().max_retries = 1  # the only try: it fails after the invoice was created
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "failed")
        self.assertEqual(order.kashflow_invoice_number, 0)
        order.action_kashflow_resend()
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        state = self.state()
        self.assertEqual(len(state["invoices"]), 2)
        self.assertEqual(len(state["payments"]), 2)

    # ------------------------------------------------------------------ look-ups

    def test_download_data_twice_duplicates_nothing(self):
        lookups = self.env["kashflow.lookup"].search([("company_id", "=", self.company.id)])
        channels = self.env["kashflow.channel"].search([("company_id", "=", self.company.id)])
        self.company._kashflow_download_data()
        self.assertEqual(self.env["kashflow.lookup"].search([("company_id", "=", self.company.id)]), lookups)
        self.assertEqual(self.env["kashflow.channel"].search([("company_id", "=", self.company.id)]), channels)
        kinds = set(lookups.mapped("kind"))
        self.assertEqual(kinds, {"payment_method", "bank_account", "customer_source", "nominal_code", "currency"})
        self.assertTrue(channels.filtered(lambda channel: channel.team_id == self.webshop).is_complete)
