"""Proving the books match: KashFlow read back and compared with Odoo, in real Odoo, against the sandbox over HTTP.

Drift is made in the sandbox the only way anyone can change KashFlow, through its SOAP API (a line's amount changed,
an invoice deleted, a payment added, a customer renamed): the reconciliation finds it, names it in words, marks the
document and its order *Mismatch*, and a resend repairs it where Odoo is right. The calls it makes are counted from
the sandbox's own record, and the overview's figures are checked against sums worked out here from the sandbox's
``/_sandbox/state``.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .. import const
from .common import KashFlowCase

D = Decimal
READS = {"GetInvoicesByDateRange", "GetInvoicePaymentsByDateRange"}


@tagged("post_install", "-at_install")
class TestReconciliation(KashFlowCase):
    def setUp(self):
        super().setUp()
        self.download_and_map()
        self.kashflow = self.company._kashflow_client()

    # ------------------------------------------------------------------ helpers

    def resend(self, order):
        order.action_kashflow_resend()
        self.assertEqual(order.kashflow_state, "queued")
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)

    def invoice_of(self, order):
        return self.kashflow.get_invoice(order.kashflow_invoice_number)

    def assertMismatch(self, order, *phrases):
        self.assertEqual(order.kashflow_state, "mismatch", order.kashflow_reason)
        reasons = "\n".join(order.kashflow_document_ids.filtered("mismatch").mapped("mismatch_reason"))
        for phrase in phrases:
            self.assertIn(phrase, reasons)
        self.assertIn(reasons.splitlines()[0], order.kashflow_reason)
        self.assertTrue(any("KashFlow differs from Odoo" in body for body in order.message_ids.mapped("body")))

    def assertClean(self, order=None):
        run, calls = self.reconcile()
        self.assertEqual((run.state, run.mismatches_found), ("done", 0), run.finding_ids.mapped("message"))
        if order:
            self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
            self.assertFalse(order.kashflow_document_ids.filtered("mismatch"))
        return run, calls

    # ------------------------------------------------------------------ a clean account

    def test_a_clean_account_reconciles_with_no_mismatch_and_reads_only_by_date(self):
        self.sent_order()
        self.sent_order(lines=[(self.board, 1, 10.0), (self.book, 3, 0.0)], team=self.ebay)
        refunded = self.sent_order(lines=[(self.board, 1, 0.0), (self.book, 1, 0.0)])
        self.pay(self.credit_note(refunded.invoice_ids, keep=self.book))
        self.run_jobs()
        self.assertEqual(refunded.kashflow_state, "sent", refunded.kashflow_reason)

        run, calls = self.assertClean(refunded)
        sent = self.env["kashflow.document"].search([("company_id", "=", self.company.id), ("state", "=", "sent")])
        self.assertEqual(len(sent), 8, "3 invoices, a credit note, 3 payments and a refund")
        self.assertEqual((run.documents_checked, run.invoices_checked, run.payments_checked, run.orders_checked),
                         (8, 4, 4, 3))
        self.assertEqual(set(calls), READS, "read back by date only: no document asked for alone")
        days = (run.date_to - run.date_from).days + 1  # every day of the period, a window of 31 days at most
        self.assertEqual(calls["GetInvoicesByDateRange"], -(-days // const.WINDOW_MAX_DAYS))
        self.assertEqual(run.kashflow_calls, sum(calls.values()))
        self.assertTrue(all(document.checked_at for document in sent))
        self.assertIn("8 documents of 3 orders checked", run.message)
        found = self.env["kashflow.document"].name_search(refunded.name)  # as a search box or a Many2one field does
        self.assertEqual({self.env["kashflow.document"].browse(id_).order_id for id_, _name in found}, {refunded})

    # ------------------------------------------------------------------ drift, named and repaired

    def test_a_line_changed_in_kashflow_is_named_and_repaired_by_resend(self):
        order = self.sent_order()  # 2 boards at 25.00 and delivery at 4.99, VAT 20%
        invoice = self.invoice_of(order)
        invoice["Lines"][0]["Rate"] = D("20.00")
        invoice["Lines"][0]["VatAmount"] = D("8.00")
        self.kashflow.update_invoice(invoice)

        run, _calls = self.reconcile()
        number = order.kashflow_invoice_number
        named = f"KashFlow invoice {number} ({order.invoice_ids.name})"  # KashFlow's number and Odoo's
        self.assertMismatch(
            order,
            f"{named}: line 1 ([OAK-BOARD] Oak chopping board) is 2 × 20.00, VAT 8.00 at 20%, "
            "Odoo says 2 × 25.00, VAT 10.00 at 20%.",
            f"{named}: net 44.99, Odoo says 54.99.",
            f"{named}: VAT 20% is 9.00, Odoo says 11.00.",
            f"{named}: total 53.99, Odoo says 65.99.",
        )
        self.assertIn("Resend repairs it", order.kashflow_reason)
        [finding] = run.finding_ids
        self.assertEqual((finding.order_id, finding.document_id.kind), (order, "invoice"))
        [vat] = finding.document_id.vat_ids
        self.assertEqual((vat.vat_label, vat.odoo_vat, vat.kashflow_vat, vat.vat_difference), ("20%", 11.0, 9.0, -2.0))

        self.resend(order)
        invoice = self.invoice_of(order)
        self.assertEqual((invoice["NetAmount"], invoice["VATAmount"]), (D("54.99"), D("11.00")))
        self.assertEqual(order.kashflow_invoice_number, number, "updated, not duplicated")
        self.assertClean(order)

    def test_a_line_description_changed_in_kashflow_is_named_and_repaired_by_resend(self):
        order = self.sent_order()
        invoice = self.invoice_of(order)
        sent = invoice["Lines"][0]["Description"]
        invoice["Lines"][0]["Description"] = "Chopping board (sample)"
        self.kashflow.update_invoice(invoice)
        self.reconcile()
        self.assertMismatch(order, f"line 1 reads “Chopping board (sample)” in KashFlow, Odoo says “{sent}”.")
        self.resend(order)
        self.assertEqual(self.invoice_of(order)["Lines"][0]["Description"], sent)
        self.assertClean(order)

    def test_a_deleted_invoice_is_named_and_inserted_again_by_resend(self):
        order = self.sent_order()
        number = order.kashflow_invoice_number
        self.kashflow.delete_invoice(number)

        _run, calls = self.reconcile()
        self.assertMismatch(order, f"KashFlow invoice {number} ({order.invoice_ids.name}): deleted in KashFlow.",
                            f"(invoice {number}) of 65.99: deleted in KashFlow.")
        self.assertEqual(calls["GetInvoice"], 1, "the invoice missing from its day is asked for alone, once")

        self.resend(order)
        state = self.state()
        [invoice] = state["invoices"]  # inserted again (the sandbox numbers it as KashFlow does: the highest + 1)
        self.assertEqual((invoice["CustomerReference"], invoice["UpdateCount"]),
                         (f"{order.invoice_ids.name} {order.name}", 0))
        self.assertEqual(order.kashflow_invoice_number, invoice["InvoiceNumber"])
        self.assertEqual([(payment["PayInvoice"], D(payment["PayAmount"])) for payment in state["payments"]],
                         [(invoice["InvoiceNumber"], D("65.99"))])
        self.assertClean(order)

    def test_a_name_longer_than_kashflow_takes_is_no_difference(self):
        buyer = self.env["res.partner"].create({
            "name": "The Worshipful Company of Chartered Accountants and Associated Bookkeepers of the City of Bath "
                    "and North East Somerset", "country_id": self.env.ref("base.uk").id})
        order = self.make_order(partner=buyer)
        self.pay_by_invoice(order)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        self.assertClean(order)

    def test_an_invoice_deleted_with_a_credit_note_applied_gets_it_applied_again(self):
        order = self.sent_order(lines=[(self.board, 1, 0.0), (self.book, 1, 0.0)])
        self.pay(self.credit_note(order.invoice_ids, keep=self.book))
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        self.kashflow.delete_invoice(order.kashflow_invoice_number)
        self.reconcile()
        self.assertMismatch(order, "deleted in KashFlow")
        self.resend(order)
        invoice = self.invoice_of(order)
        applications = [payment for payment in self.kashflow.get_payments(invoice["InvoiceNumber"])
                        if D(payment["PayAmount"]) > 0 and "redit" in (payment.get("PayNote") or "")]
        self.assertEqual(len(applications), 1, "the credit note applied to the invoice made anew")
        self.assertClean(order)

    def test_payments_added_in_kashflow_are_named_and_deleted_by_resend(self):
        order = self.sent_order()
        number = order.kashflow_invoice_number
        mapping = self.env["kashflow.channel"].search([("team_id", "=", self.webshop.id)])._kashflow_mapping()

        def add(amount, day):
            return self.kashflow.insert_payment({
                "PayID": 0, "PayInvoice": number, "PayDate": datetime.datetime.combine(day, datetime.time(12)),
                "PayNote": "Received by hand", "PayMethod": mapping.payment_method_id,
                "PayAccount": mapping.bank_account_id, "PayAmount": D(amount)})

        today = self.today()
        recent = add("12.00", today)
        old = add("3.50", datetime.date(2025, 6, 30))  # dated long before the period: the invoice's paid total tells

        _run, calls = self.reconcile()
        self.assertMismatch(
            order, f"KashFlow invoice {number}: payment of 12.00 added in KashFlow (payment {recent}, {today}); "
                   "Odoo holds no such payment.",
            f"payment of 3.50 added in KashFlow (payment {old}, 2025-06-30)")
        self.assertEqual(calls["GetInvoicePayment"], 1, "the invoice's payments asked for once, to name them")
        added = order.kashflow_document_ids.filtered(lambda document: document.key.startswith("kashflow:"))
        self.assertEqual(sorted(added.mapped("kashflow_number")), sorted([recent, old]))

        # The bookkeeper deletes the older one in KashFlow: it is no longer said to differ, even dated so long ago.
        self.kashflow.delete_payment(number, old)
        self.reconcile()
        self.assertMismatch(order, f"payment of 12.00 added in KashFlow (payment {recent}, {today})")
        self.assertEqual(added.filtered(lambda document: document.kashflow_number == old).state, "removed")

        order._kashflow_accounting_changed()  # a job for another reason: the added payment awaits the user's word
        self.run_jobs()
        self.assertIn(recent, [payment["PayID"] for payment in self.state()["payments"]])
        self.assertMismatch(order, f"payment of 12.00 added in KashFlow (payment {recent}, {today})")

        self.resend(order)
        self.assertEqual([D(payment["PayAmount"]) for payment in self.state()["payments"]], [D("65.99")])
        self.assertEqual(set(added.mapped("state")), {"removed"})
        self.assertClean(order)

    def test_a_credit_note_and_refund_kashflow_never_got_are_named_and_sent_by_resend(self):
        """A change KashFlow never got (made here with the connector switched off, as a lost job would leave it): a
        credit note for one item and its refund, the next month. The order still says *Sent*; the next
        reconciliation of the order's month says what Odoo holds and KashFlow lacks, in words, and Resend sends it."""
        order = self.sent_order(invoice_date=datetime.date(2026, 10, 15))
        [invoice] = order.invoice_ids
        self.company.kashflow_enabled = False
        credit_note = self.credit_note(invoice, keep=self.board, quantity=1, date=datetime.date(2026, 11, 3))
        refund = self.pay(credit_note, date=datetime.date(2026, 11, 3))
        self.company.kashflow_enabled = True
        self.assertEqual(order.kashflow_state, "sent")
        self.reconcile(datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))
        refund_amount = f"{-credit_note.amount_total:.2f}"
        self.assertMismatch(order, f"Credit note {credit_note.name} {order.name} of {refund_amount} is in Odoo but "
                                   "not in KashFlow", f"Payment {refund.name} of {refund_amount} is in Odoo but not in "
                                                      "KashFlow")
        self.resend(order)
        state = self.state()
        self.assertEqual(len(state["invoices"]), 2, "the invoice and the credit note")
        self.assertIn(D(refund_amount), [D(str(payment["PayAmount"])) for payment in state["payments"]])
        self.assertClean(order)

    def test_the_connectors_own_payment_taken_for_an_added_one_is_never_deleted(self):
        order = self.sent_order()
        [payment] = order.kashflow_document_ids.filtered(lambda document: document.kind == "payment")
        # What a reconciliation records when it reads KashFlow just before a job's record of the payment is committed.
        self.env["kashflow.document"].create({
            "order_id": order.id, "key": f"kashflow:{payment.kashflow_number}", "kind": "payment",
            "kashflow_number": payment.kashflow_number,
            "kashflow_applied_invoice_number": order.kashflow_invoice_number})
        order._kashflow_accounting_changed()
        self.run_jobs()
        self.assertEqual([item["PayID"] for item in self.state()["payments"]], [payment.kashflow_number])
        self.assertEqual(order.kashflow_document_ids.mapped("key"), [f"order:{order.id}", payment.key])
        self.assertClean(order)

    def test_a_payment_redated_in_kashflow_is_not_doubled_by_resend(self):
        order = self.sent_order()
        number = order.kashflow_invoice_number
        [payment] = self.kashflow.get_payments(number)
        self.kashflow.delete_payment(number, payment["PayID"])  # the bookkeeper "re-dates" it: deleted, entered again
        self.kashflow.insert_payment({**payment, "PayID": 0, "PayDate": datetime.datetime(2026, 1, 5, 12)})
        self.reconcile()
        self.assertEqual(order.kashflow_state, "mismatch")
        self.resend(order)
        payments = self.kashflow.get_payments(number)
        self.assertEqual([D(item["PayAmount"]) for item in payments], [D("65.99")], "once, as Odoo has it")
        self.assertClean(order)

    def test_a_customer_renamed_in_kashflow_is_named_and_renamed_back_by_resend(self):
        order = self.sent_order()
        [customer] = self.state()["customers"]
        current = self.kashflow.get_customer_by_id(customer["CustomerID"])
        self.kashflow.update_customer({**current, "Name": "H. Fletcher (do not use)"})

        self.reconcile()
        self.assertMismatch(order, "the customer is named “H. Fletcher (do not use)” in KashFlow, Odoo says "
                                   "“Hannah Fletcher”.")
        self.resend(order)
        [customer] = self.state()["customers"]
        self.assertEqual(customer["Name"], "Hannah Fletcher")
        self.assertClean(order)

    def test_a_difference_corrected_in_kashflow_clears_the_mismatch(self):
        order = self.sent_order()
        original = self.invoice_of(order)
        changed = {**original, "Lines": [dict(line) for line in original["Lines"]]}
        changed["Lines"][1]["VatAmount"] = D("0.99")
        self.kashflow.update_invoice(changed)
        self.reconcile()
        self.assertMismatch(order, "VAT 20% is 10.99, Odoo says 11.00.")

        self.kashflow.update_invoice(original)  # the bookkeeper puts it back
        self.assertClean(order)
        self.assertIn("KashFlow matches Odoo again", order.message_ids[0].body)

    def test_an_order_a_job_is_about_to_change_is_left_out(self):
        order = self.sent_order()
        self.kashflow.delete_invoice(order.kashflow_invoice_number)
        order.action_kashflow_resend()  # queued: its job will bring KashFlow in step
        run, calls = self.reconcile()
        self.assertEqual((run.documents_total, run.documents_checked, run.mismatches_found), (0, 0, 0))
        self.assertLessEqual(set(calls), READS, "KashFlow read by date only (for copies), the order left alone")
        self.assertEqual(order.kashflow_state, "queued")

    def test_a_job_after_an_accounting_change_leaves_the_order_mismatched(self):
        order = self.sent_order()
        self.kashflow.delete_invoice(order.kashflow_invoice_number)
        self.reconcile()
        self.assertEqual(order.kashflow_state, "mismatch")
        order._kashflow_accounting_changed()  # e.g. a payment registered again in Odoo: the job sends what changed
        self.run_jobs()
        self.assertMismatch(order, "deleted in KashFlow")

    # ------------------------------------------------------------------ cost

    def test_calls_grow_with_the_days_read_not_with_the_documents(self):
        days = [datetime.date(2026, 11, day) for day in (2, 3, 9, 10)]
        for day in days:
            for _order in range(3):
                self.sent_order(invoice_date=day)
        run, calls = self.reconcile(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
        self.assertEqual(run.documents_checked, 24)
        self.assertEqual(set(calls), READS)
        # One window (fewer than 500 documents in 31 days): one invoice read, one page of payments and the empty one.
        self.assertEqual(dict(calls), {"GetInvoicesByDateRange": 1, "GetInvoicePaymentsByDateRange": 2})

        self.patch(const, "WINDOW_DOCUMENTS", 6)
        run, calls = self.reconcile(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
        self.assertEqual(run.documents_checked, 24)
        self.assertEqual(calls["GetInvoicesByDateRange"], 4, "one window per day of 6 documents")
        self.assertEqual(run.kashflow_calls, sum(calls.values()))

    def test_the_scheduled_action_and_reconcile_now(self):
        order = self.sent_order()
        self.kashflow.delete_invoice(order.kashflow_invoice_number)
        Run = self.env["kashflow.reconciliation"]
        cron = self.env.ref("kashflow_connector.ir_cron_kashflow_reconcile")
        progress = self.env["ir.cron.progress"].create({"cron_id": cron.id})
        # the daily run starts, and checks its first window: a month without documents
        Run.with_context(ir_cron_progress_id=progress.id)._kashflow_cron()
        run = Run.search([("company_id", "=", self.company.id)])
        self.assertEqual(len(run), 1)
        self.assertEqual(run.date_to, self.today())
        self.assertLessEqual(run.date_from, self.today() - datetime.timedelta(days=92))
        self.assertEqual((run.state, run.documents_checked), ("running", 0))
        self.assertTrue(progress.done and progress.remaining,
                        "the scheduler is told work was done and more remains: it calls again at once")
        while run.state == "running":
            Run.with_context(ir_cron_progress_id=progress.id)._kashflow_cron()
        self.assertEqual(progress.remaining, 0, "all done: the scheduler waits for tomorrow")
        self.assertEqual((run.state, run.documents_checked, run.mismatches_found), ("done", 2, 2))
        Run._kashflow_cron()
        self.assertEqual(Run.search_count([("company_id", "=", self.company.id)]), 1, "once a day")

        notification = Run.action_kashflow_reconcile_now()
        self.assertEqual(notification["tag"], "display_notification")
        self.assertEqual(notification["params"]["title"], "Reconciliation started")
        self.assertEqual(Run.search_count([("company_id", "=", self.company.id), ("state", "=", "running")]), 1)
        data = self.env["sale.order"].kashflow_overview_data()
        self.assertTrue(data["reconciliation"]["running"])
        self.assertEqual({tile["state"]: tile["count"] for tile in data["states"]}["mismatch"], 1)
        again = Run.action_kashflow_reconcile_now()  # clicked again while it runs: no second run, and it says so
        self.assertEqual(again["params"]["title"], "Reconciliation already running")
        self.assertEqual(Run.search_count([("company_id", "=", self.company.id), ("state", "=", "running")]), 1)

    def test_the_daily_period_covers_every_document_sent_whatever_its_date(self):
        old = self.today() - datetime.timedelta(days=400)  # invoiced more than a year ago, paid and sent today
        late = self.make_order()
        self.pay_by_invoice(late, invoice_date=old)
        self.run_jobs()
        self.assertEqual(late.kashflow_state, "sent", late.kashflow_reason)
        self.kashflow.delete_invoice(late.kashflow_invoice_number)
        date_from, date_to = self.env["kashflow.reconciliation"]._kashflow_default_period(self.company)
        self.assertEqual((date_from, date_to), (old, self.today()))
        run, _calls = self.reconcile()
        self.assertEqual((run.documents_checked, run.mismatches_found), (2, 2))
        self.assertMismatch(late, "deleted in KashFlow")

    def test_the_order_says_what_a_resend_repairs_and_what_it_does_not(self):
        order = self.sent_order()
        invoice, payment = order.kashflow_document_ids.sorted("sequence")
        invoice.write({"mismatch": True, "mismatch_reason": "KashFlow invoice: net 1.00, Odoo says 2.00.",
                       "mismatch_repair": "update"})
        payment.write({"mismatch": True, "mismatch_reason": "KashFlow payment: dated 2026-01-01.",
                       "mismatch_repair": False})
        self.assertIn("(and 1 more difference) Resend repairs 1 of the 2 documents that differ; correct the others",
                      order._kashflow_mismatch_summary())
        payment.mismatch_repair = "payment"
        self.assertTrue(order._kashflow_mismatch_summary().endswith("Resend repairs it."))
        invoice.mismatch_repair = payment.mismatch_repair = False
        self.assertIn("Correct it in KashFlow or in Odoo", order._kashflow_mismatch_summary())

    def test_who_may_reconcile(self):
        salesman = new_test_user(self.env, "kf_seller", groups="sales_team.group_sale_salesman",
                                 company_id=self.company.id)
        bookkeeper = new_test_user(self.env, "kf_bookkeeper", groups="account.group_account_invoice,"
                                   "sales_team.group_sale_salesman", company_id=self.company.id)
        Run = self.env["kashflow.reconciliation"]
        self.assertFalse(self.env["sale.order"].with_user(salesman).kashflow_overview_data()["can_reconcile"])
        with self.assertRaises(AccessError):
            Run.with_user(salesman).action_kashflow_reconcile_now()
        Run.with_user(bookkeeper).action_kashflow_reconcile_now()
        self.assertEqual(Run.with_user(bookkeeper).search_count([]), 1)
        quarter = Run.with_user(bookkeeper).create({"date_from": "2026-07-01", "date_to": "2026-09-30"})  # New
        self.assertEqual((quarter.state, quarter.next_date.isoformat()), ("running", "2026-07-01"))
        with self.assertRaises(AccessError):
            Run.with_user(salesman).create({"date_from": "2026-07-01", "date_to": "2026-09-30"})

    # ------------------------------------------------------------------ the overview's figures

    def test_the_overview_equals_sums_worked_out_from_the_sandbox(self):
        self.company.kashflow_start_date = "2026-09-01"
        orders = [
            self.sent_order(invoice_date=datetime.date(2026, 10, 15)),
            self.sent_order(lines=[(self.book, 4, 0.0), (self.shipping, 1, 0.0)], team=self.ebay,
                            invoice_date=datetime.date(2026, 10, 31)),
            self.sent_order(lines=[(self.board, 3, 15.0), (self.book, 1, 0.0)]),
            self.sent_order(lines=[(self.book, 2, 0.0)], team=self.ebay),
        ]
        returned = orders[2].invoice_ids
        wizard = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=returned.ids).create({"reason": "Returned",
                                                                          "journal_id": returned.journal_id.id})
        self.env["account.move"].browse(wizard.refund_moves()["res_id"]).action_post()
        self.run_jobs()
        drifted = orders[3]
        invoice = self.invoice_of(drifted)
        invoice["Lines"][0]["VatAmount"] = D("0.80")  # 2 cookbooks: VAT 0.90 in Odoo
        self.kashflow.update_invoice(invoice)
        self.reconcile()
        self.assertEqual(drifted.kashflow_state, "mismatch")

        # Worked out here from the sandbox's state: net and VAT per month and rate, and totals per channel.
        state = self.state()
        kashflow = defaultdict(lambda: [D(0), D(0)])
        totals_by_channel = defaultdict(D)
        channel_of = {order.name: order.team_id.name for order in self.env["sale.order"].search([])}
        for entry in state["invoices"]:
            month = entry["InvoiceDate"][:7]
            for line in entry["Lines"]:
                rate = D(str(line["VatRate"])).normalize()
                net = (D(str(line["Rate"])) * D(str(line["Quantity"]))).quantize(D("0.01"))
                kashflow[(month, rate)][0] += net
                kashflow[(month, rate)][1] += D(str(line["VatAmount"]))
            [name] = set(entry["CustomerReference"].split(" ")) & set(channel_of)
            totals_by_channel[channel_of[name]] += \
                D(entry["NetAmount"]) + D(entry["VATAmount"])

        Vat = self.env["kashflow.document.vat"]
        rows = Vat._read_group([("company_id", "=", self.company.id)], ["date:month", "vat_rate"],
                               ["kashflow_net:sum", "kashflow_vat:sum", "odoo_net:sum", "odoo_vat:sum",
                                "vat_difference:sum"])
        overview = {(month.strftime("%Y-%m"), D(str(rate)).normalize()): [D(str(round(net, 2))), D(str(round(vat, 2)))]
                    for month, rate, net, vat, _odoo_net, _odoo_vat, _difference in rows}
        self.assertEqual(overview, dict(kashflow))
        self.assertEqual(len({month for month, _rate in overview}), 2, "October and November")
        differences = {(month.strftime("%Y-%m"), rate): round(difference, 2)
                       for month, rate, _net, _vat, _odoo_net, _odoo_vat, difference in rows if difference}
        self.assertEqual(differences, {(self.today().strftime("%Y-%m"), 5.0): -0.1})

        documents = self.env["kashflow.document"]._read_group(
            [("company_id", "=", self.company.id), ("kind", "in", ("invoice", "credit_note")), ("state", "=", "sent")],
            ["team_id"], ["kashflow_amount_total:sum"])
        self.assertEqual({team.name: D(str(round(total, 2))) for team, total in documents},
                         dict(totals_by_channel))

        payments = sum(D(str(payment["PayAmount"])) for payment in state["payments"]
                       if not payment.get("CreditNoteApplication"))
        paid = self.env["kashflow.document"]._read_group(
            [("company_id", "=", self.company.id), ("kind", "=", "payment"), ("state", "=", "sent")],
            [], ["kashflow_amount_total:sum"])[0][0]
        self.assertEqual(D(str(round(paid, 2))), payments)

        data = self.env["sale.order"].kashflow_overview_data()
        by_state = {tile["state"]: tile["count"] for tile in data["states"]}
        self.assertEqual((by_state["sent"], by_state["mismatch"]), (3, 1))
        self.assertEqual(data["backfill"]["progress"], 100)
        self.assertFalse(data["reconciliation"]["running"])
        self.assertIn("documents that differ: 1.", data["reconciliation"]["last_message"])
