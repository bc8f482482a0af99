"""One Odoo invoice for several orders of a customer (Odoo's *Create Invoices* on a selection of orders) is one
KashFlow invoice, booked once whichever order's job runs first: Odoo's invoice number and its orders as its
reference, all its lines and figures, one KashFlow payment per Odoo payment with what Odoo allocated to it.
Real Odoo, the sandbox over HTTP."""

from decimal import Decimal

from odoo import Command
from odoo.tests import tagged

from .common import KashFlowCase

D = Decimal


@tagged("post_install", "-at_install")
class TestSharedInvoice(KashFlowCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.jam = cls._create_product(name="Strawberry jam", lst_price=8.50, taxes_id=[Command.set(cls.vat20.ids)])

    def setUp(self):
        super().setUp()
        self.download_and_map()

    # ------------------------------------------------------------------ helpers

    def three_orders(self):
        """Three orders of one customer: 1, 2 and 3 jars of jam (10.20, 20.40 and 30.60 with VAT)."""
        orders = self.env["sale.order"]
        for quantity in (1, 2, 3):
            orders |= self.make_order(lines=[(self.jam, quantity, 0.0)])
        self.assertEqual(orders.mapped("amount_total"), [10.20, 20.40, 30.60])
        return orders

    def invoice_together(self, orders):
        """The orders are confirmed, selected and invoiced with *Create Invoices* (one invoice per customer), and
        the invoice is posted."""
        orders.filtered(lambda order: order.state == "draft").action_confirm()
        self.env["sale.advance.payment.inv"].with_context(active_model="sale.order", active_ids=orders.ids).create(
            {"advance_payment_method": "delivered"}).create_invoices()
        invoice = orders.invoice_ids
        self.assertEqual(len(invoice), 1, "one invoice for the three orders")
        self.assertEqual(invoice.line_ids.sale_line_ids.order_id, orders)
        invoice.action_post()
        return invoice

    def references(self, state):
        return [document["CustomerReference"] for document in state["invoices"]]

    def shared_reference(self, invoice, orders):
        """What KashFlow's copy of a shared invoice is found by: the invoice's name, then its orders' names."""
        return " ".join([invoice.name, *sorted(orders.mapped("name"))])

    def totals(self, document):
        net, vat = D(str(document["NetAmount"])), D(str(document["VATAmount"]))
        return net, vat, net + vat

    def money_payments(self, state):
        """The sandbox's payments that moved money (not credit-note applications)."""
        return [payment for payment in state["payments"] if not payment.get("CreditNoteApplication")]

    def assertBookedOnce(self, invoice, orders, state):
        """KashFlow holds the shared invoice once, with all its lines and Odoo's figures; every order is sent with
        its number; the connector keeps one record of it. Returns KashFlow's copy."""
        shared = [document for document in state["invoices"]
                  if document["CustomerReference"].split(" ")[0] == invoice.name]
        self.assertEqual(len(shared), 1, f"the invoice of the orders booked once; KashFlow holds the invoices "
                                         f"{self.references(state)}")
        [document] = shared
        self.assertEqual(document["CustomerReference"], self.shared_reference(invoice, orders))
        self.assertFalse(document.get("CreditNote"))
        self.assertEqual(self.totals(document), (D("51.00"), D("10.20"), D("61.20")))
        self.assertEqual((D(str(invoice.amount_untaxed)), D(str(invoice.amount_tax))), (D("51.00"), D("10.20")))
        self.assertEqual(sorted((D(str(line["Quantity"])), D(str(line["Rate"])), D(str(line["VatAmount"])))
                                for line in document["Lines"]),
                         [(D(1), D("8.50"), D("1.70")), (D(2), D("8.50"), D("3.40")), (D(3), D("8.50"), D("5.10"))])
        for order in orders:
            self.assertEqual(order.kashflow_state, "sent", f"{order.name}: {order.kashflow_reason}")
            self.assertEqual(order.kashflow_invoice_number, document["InvoiceNumber"], order.name)
        record = self.env["kashflow.document"].search([("key", "=", f"move:{invoice.id}")])
        self.assertEqual(len(record), 1, "one record of the shared invoice, on one of its orders")
        self.assertIn(record.order_id, orders)
        self.assertEqual((record.kind, record.kashflow_number), ("invoice", document["InvoiceNumber"]))
        return document

    def assertPaidOnce(self, invoice, payment, number, state):
        """The Odoo payment of the shared invoice is one KashFlow payment on it, of 61.20, naming the invoice."""
        money = self.money_payments(state)
        self.assertEqual(len(money), 1, f"one payment; KashFlow holds {[p['PayAmount'] for p in money]}")
        [paid] = money
        self.assertEqual((paid["PayInvoice"], D(str(paid["PayAmount"]))), (number, D("61.20")))
        self.assertEqual(paid["PayNote"], f"Odoo invoice {invoice.name}, payment {payment.name}")

    # ------------------------------------------------------------------ booked once

    def test_three_orders_invoiced_together_are_one_kashflow_invoice_and_one_payment(self):
        """The seller selects three orders of Hannah's, invoices them together and registers her one payment of
        61.20: KashFlow gets one invoice of 51.00 + 10.20 VAT with the three lines, and one payment of 61.20; the
        three orders say Sent, with that invoice's number."""
        orders = self.three_orders()
        invoice = self.invoice_together(orders)
        self.assertEqual(invoice.amount_total, 61.20)
        payment = self.pay(invoice)
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual(orders.mapped("kashflow_state"), ["queued"] * 3)
        self.run_all_jobs()
        state = self.state()
        self.assertEqual(len(state["invoices"]), 1, f"KashFlow holds the invoices {self.references(state)}")
        document = self.assertBookedOnce(invoice, orders, state)
        self.assertPaidOnce(invoice, payment, document["InvoiceNumber"], state)
        self.assertEqual(len(state["customers"]), 1)
        self.assertEqual(document["CustomerID"], state["customers"][0]["CustomerID"])

    def test_whichever_orders_job_runs_first_books_the_whole_invoice(self):
        """The three orders' jobs run one at a time, the last order's first: its job books the whole invoice, and
        the other two find it there; KashFlow ends with one invoice and one payment all the same."""
        orders = self.three_orders()
        orders.action_confirm()
        invoice = orders._create_invoices()
        self.assertEqual(len(invoice), 1, "Odoo groups the orders of one customer in one invoice")
        invoice.action_post()
        payment = self.pay(invoice)
        first, second, third = orders
        self.assertEqual(self.run_jobs(third), 1)
        state = self.state()
        self.assertEqual(self.references(state), [self.shared_reference(invoice, orders)],
                         "the first job to run books the invoice with all its orders' lines")
        self.assertEqual(self.totals(state["invoices"][0])[2], D("61.20"))
        self.assertEqual(third.kashflow_state, "sent", third.kashflow_reason)
        for order in (second, first):
            self.run_jobs(order)
        self.run_all_jobs()
        state = self.state()
        self.assertEqual(len(state["invoices"]), 1, f"KashFlow holds the invoices {self.references(state)}")
        document = self.assertBookedOnce(invoice, orders, state)
        self.assertPaidOnce(invoice, payment, document["InvoiceNumber"], state)

    def test_each_payment_of_the_shared_invoice_is_a_payment_of_its_own(self):
        """Hannah pays the shared invoice in two goes, 40.00 then 21.20: KashFlow gets the one invoice and two
        payments on it, of 40.00 and 21.20, each naming the invoice and its Odoo payment."""
        orders = self.three_orders()
        invoice = self.invoice_together(orders)
        first = self.pay(invoice, amount=40.00)
        self.assertEqual(orders.mapped("kashflow_state"), ["not_paid"] * 3, "not paid in full yet")
        second = self.pay(invoice)
        self.assertEqual(second.amount, 21.20)
        self.run_all_jobs()
        state = self.state()
        self.assertEqual(len(state["invoices"]), 1, f"KashFlow holds the invoices {self.references(state)}")
        number = self.assertBookedOnce(invoice, orders, state)["InvoiceNumber"]
        self.assertEqual(sorted((paid["PayInvoice"], D(str(paid["PayAmount"])), paid["PayNote"])
                                for paid in self.money_payments(state)),
                         sorted([(number, D("40.00"), f"Odoo invoice {invoice.name}, payment {first.name}"),
                                 (number, D("21.20"), f"Odoo invoice {invoice.name}, payment {second.name}")]))

    def assertBookedOnceDespiteALostAnswer(self, operation):
        """KashFlow does ``operation`` for the first job, but its answer never reaches Odoo: the jobs are retried and
        find what it made; KashFlow holds one invoice and one payment all the same."""
        orders = self.three_orders()
        invoice = self.invoice_together(orders)
        payment = self.pay(invoice)
        self.sandbox.set_faults(operation=operation, mode="drop_after_commit", count=1)
        self.run_all_jobs()
        self.assertEqual(self.sandbox.call_counts(outcome="dropped"), {operation: 1}, "the answer was lost")
        state = self.state()
        self.assertEqual(len(state["invoices"]), 1, f"KashFlow holds the invoices {self.references(state)}")
        document = self.assertBookedOnce(invoice, orders, state)
        self.assertPaidOnce(invoice, payment, document["InvoiceNumber"], state)

    def test_invoice_booked_once_when_kashflows_answer_is_lost(self):
        """KashFlow creates the invoice but its answer is lost: no second invoice."""
        self.assertBookedOnceDespiteALostAnswer("InsertInvoice")

    def test_payment_recorded_once_when_kashflows_answer_is_lost(self):
        """KashFlow records the payment but its answer is lost: no second payment."""
        self.assertBookedOnceDespiteALostAnswer("InsertInvoicePayment")

    def test_resending_any_of_the_orders_sends_nothing(self):
        """After the shared invoice is in KashFlow, the seller clicks Resend on each of its orders: KashFlow
        already holds everything, so not one call is made, and the orders stay Sent."""
        orders = self.three_orders()
        invoice = self.invoice_together(orders)
        payment = self.pay(invoice)
        self.run_all_jobs()
        state = self.state()
        self.assertEqual(len(state["invoices"]), 1, f"KashFlow holds the invoices {self.references(state)}")
        number = self.assertBookedOnce(invoice, orders, state)["InvoiceNumber"]
        for order in orders:
            self.sandbox.clear_calls()
            order.action_kashflow_resend()
            self.assertTrue(self.kashflow_jobs(), f"resending {order.name} queues a job")
            self.run_all_jobs()
            self.assertEqual(self.sandbox.call_counts(), {}, f"resending {order.name}: nothing is sent")
            self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        state = self.state()
        self.assertEqual(len(state["invoices"]), 1)
        self.assertBookedOnce(invoice, orders, state)
        self.assertPaidOnce(invoice, payment, number, state)

    # ------------------------------------------------------------------ credit note and payout

    def test_credit_note_for_one_orders_lines_is_applied_to_the_shared_invoice(self):
        """The two jars of the second order come back: the seller posts a credit note of the shared invoice with
        that order's line only and refunds 20.40. KashFlow gets one credit note of 17.00 + 3.40 VAT, applied to
        the shared invoice, and the refund; the shared invoice and its payment stay as they were."""
        orders = self.three_orders()
        invoice = self.invoice_together(orders)
        payment = self.pay(invoice)
        self.run_all_jobs()
        state = self.state()
        self.assertEqual(len(state["invoices"]), 1, f"KashFlow holds the invoices {self.references(state)}")
        number = self.assertBookedOnce(invoice, orders, state)["InvoiceNumber"]

        returned = orders[1]
        wizard = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=invoice.ids).create(
                {"reason": "Returned", "journal_id": invoice.journal_id.id})
        credit_note = self.env["account.move"].browse(wizard.refund_moves()["res_id"])
        credit_note.write({"invoice_line_ids": [Command.unlink(line.id) for line in credit_note.invoice_line_ids
                                                if line.sale_line_ids.order_id != returned]})
        credit_note.action_post()
        self.assertEqual(credit_note.amount_total, 20.40)
        self.assertEqual(credit_note.invoice_line_ids.sale_line_ids.order_id, returned)
        self.pay(credit_note)  # the 20.40 refunded to Hannah
        self.run_all_jobs()

        state = self.state()
        self.assertEqual(len(state["invoices"]), 2, f"KashFlow holds the invoices {self.references(state)}")
        document = self.assertBookedOnce(invoice, orders, state)
        self.assertEqual(document["InvoiceNumber"], number)
        [kashflow_credit_note] = [document for document in state["invoices"] if document["InvoiceNumber"] != number]
        self.assertTrue(kashflow_credit_note["CreditNote"])
        self.assertEqual(self.totals(kashflow_credit_note), (D("-17.00"), D("-3.40"), D("-20.40")))
        [line] = kashflow_credit_note["Lines"]
        self.assertEqual((D(str(line["Quantity"])), D(str(line["Rate"])), D(str(line["VatAmount"]))),
                         (D(2), D("-8.50"), D("-3.40")))
        applications = [payment for payment in state["payments"] if payment.get("CreditNoteApplication")]
        self.assertEqual(sorted((payment["PayInvoice"], D(str(payment["PayAmount"]))) for payment in applications),
                         sorted([(number, D("20.40")), (kashflow_credit_note["InvoiceNumber"], D("-20.40"))]),
                         "the credit note is applied to the shared invoice, once")
        money = self.money_payments(state)
        self.assertEqual(sorted(D(str(paid["PayAmount"])) for paid in money), [D("-20.40"), D("61.20")],
                         "the payment and the refund, each once")
        [received] = [paid for paid in money if D(str(paid["PayAmount"])) > 0]
        self.assertEqual(received["PayInvoice"], number)
        self.assertEqual(received["PayNote"], f"Odoo invoice {invoice.name}, payment {payment.name}")
        self.assertEqual(orders.mapped("kashflow_state"), ["sent"] * 3, orders.mapped("kashflow_reason"))

        # The reconciliation reads the shared invoice with whichever order it checks: KashFlow's application of the
        # second order's credit note is the connector's own, never a payment added in KashFlow that a resend deletes.
        self.assertReconciled(orders)

    def test_one_payout_for_the_shared_invoice_and_two_others_is_one_payment_on_each(self):
        """Hannah pays the shared invoice and the invoices of two more orders (a board, 30.00; four jars, 40.80)
        with one transfer of 132.00, registered once on the three invoices: KashFlow gets three invoices and,
        on each, one payment of what Odoo allocated to it; nothing twice."""
        orders = self.three_orders()
        shared = self.invoice_together(orders)
        board_order = self.make_order(lines=[(self.board, 1, 0.0)])
        jam_order = self.make_order(lines=[(self.jam, 4, 0.0)])
        others = {}
        for order in (board_order, jam_order):
            order.action_confirm()
            others[order] = order._create_invoices()
            others[order].action_post()
        self.assertEqual([move.amount_total for move in others.values()], [30.00, 40.80])
        moves = shared | board_order.invoice_ids | jam_order.invoice_ids
        payout = self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=moves.ids).create({"group_payment": True})._create_payments()
        self.assertEqual((len(payout), payout.amount), (1, 132.00), "one payment for the three invoices")
        self.assertTrue(all(move.payment_state in ("paid", "in_payment") for move in moves), "all three are paid")
        self.run_all_jobs()

        state = self.state()
        self.assertEqual(len(state["invoices"]), 3, f"KashFlow holds the invoices {self.references(state)}")
        document = self.assertBookedOnce(shared, orders, state)
        numbers = {document["CustomerReference"]: document["InvoiceNumber"] for document in state["invoices"]}
        references = {order: f"{others[order].name} {order.name}" for order in others}
        self.assertEqual(set(numbers), {self.shared_reference(shared, orders), *references.values()})
        for order, total in ((board_order, D("30.00")), (jam_order, D("40.80"))):
            self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
            self.assertEqual(order.kashflow_invoice_number, numbers[references[order]])
            [own] = [document for document in state["invoices"] if document["CustomerReference"] == references[order]]
            self.assertEqual(self.totals(own)[2], total)
        money = self.money_payments(state)
        self.assertEqual(sorted((paid["PayInvoice"], D(str(paid["PayAmount"])), paid["PayNote"]) for paid in money),
                         sorted([
                             (document["InvoiceNumber"], D("61.20"),
                              f"Odoo invoice {shared.name}, payment {payout.name}"),
                             (numbers[references[board_order]], D("30.00"),
                              f"Odoo order {board_order.name}, payment {payout.name}"),
                             (numbers[references[jam_order]], D("40.80"),
                              f"Odoo order {jam_order.name}, payment {payout.name}"),
                         ]), "one payment per invoice, of what Odoo allocated to it")

    def test_every_order_of_the_invoice_lists_what_it_shares(self):
        """Each of the three orders' KashFlow tab lists the shared invoice and its payment: the same two records,
        kept once (counted once in the overview and VAT by Month), each saying which orders it serves."""
        orders = self.three_orders()
        invoice = self.invoice_together(orders)
        self.pay(invoice)
        self.run_all_jobs()
        shared = self.env["kashflow.document"].search([("key", "like", f"move:{invoice.id}")])
        self.assertEqual(sorted(shared.mapped("kind")), ["invoice", "payment"])
        self.assertEqual(shared.order_ids, orders)
        for order in orders:
            self.assertEqual(order.kashflow_document_ids, shared, order.name)
        self.assertEqual(self.env["kashflow.document"].search_count([("order_id", "in", orders.ids)]), 2,
                         "one record per KashFlow document")
        action = orders[2].action_kashflow_open_documents()
        self.assertEqual(self.env["kashflow.document"].search(action["domain"]), shared)

    def test_the_shared_invoice_outlives_the_order_it_was_kept_with(self):
        """The order whose job sent the shared invoice first is cancelled and deleted (Odoo allows it: the invoice
        stays posted): the records of the invoice and its payment stay, kept with another of its orders, and
        resending those inserts nothing: KashFlow still holds the invoice once, its reference now naming the orders
        that are left."""
        orders = self.three_orders()
        invoice = self.invoice_together(orders)
        payment = self.pay(invoice)
        self.run_all_jobs()
        shared = self.env["kashflow.document"].search([("key", "like", f"move:{invoice.id}")])
        first = shared.order_id
        self.assertEqual(len(first), 1, "kept with one order")
        first.with_context(disable_cancel_warning=True).action_cancel()
        self.run_all_jobs()
        first.unlink()
        self.assertEqual(shared.exists(), shared, "the invoice's records stay")
        self.assertEqual(shared.order_id, (orders - first)[:1])
        self.assertEqual(shared.order_ids, orders - first)
        self.sandbox.clear_calls()
        for order in orders - first:
            order.action_kashflow_resend()
            self.run_all_jobs()
            self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        self.assertEqual(self.sandbox.call_counts(), {"GetInvoice": 1, "UpdateInvoice": 1},
                         "the invoice's reference updated once; nothing inserted")
        state = self.state()
        number = self.assertBookedOnce(invoice, orders - first, state)["InvoiceNumber"]
        self.assertPaidOnce(invoice, payment, number, state)

    def test_an_order_sent_from_its_lines_then_invoiced_with_others_is_reversed_never_booked_twice(self):
        """The first order is paid online and sent from its lines (no invoice yet). Later it is invoiced together
        with two other orders of the customer, who pays the rest. KashFlow keeps the first order's invoice,
        reversed by a credit note applied to it (they make nothing), and holds the shared invoice once, paid by
        the online payment and the customer's payment: sales and VAT counted once, every order *Sent* with the
        shared invoice's number."""
        orders = self.three_orders()
        first = orders[0]
        transaction = self.pay_online(first)
        self.run_all_jobs()
        self.assertEqual(first.kashflow_state, "sent", first.kashflow_reason)
        [lines_invoice] = self.state()["invoices"]
        self.assertEqual(self.totals(lines_invoice), (D("8.50"), D("1.70"), D("10.20")))
        invoice = self.invoice_together(orders)
        self.assertEqual(invoice.amount_residual, 51.00, "the online payment paid the first order's part")
        payment = self.pay(invoice)
        self.run_all_jobs()
        state = self.state()
        self.assertEqual(orders.mapped("kashflow_state"), ["sent"] * 3, orders.mapped("kashflow_reason"))
        by_reference = {document["CustomerReference"]: document for document in state["invoices"]}
        shared = by_reference[self.shared_reference(invoice, orders)]
        reversal = by_reference[f"{first.name} replaced by {invoice.name}"]
        self.assertEqual(sorted(by_reference), sorted([first.name, self.shared_reference(invoice, orders),
                                                       f"{first.name} replaced by {invoice.name}"]))
        self.assertEqual(self.totals(shared), (D("51.00"), D("10.20"), D("61.20")))
        self.assertEqual(self.totals(reversal), (D("-8.50"), D("-1.70"), D("-10.20")))
        self.assertEqual(orders.mapped("kashflow_invoice_number"), [shared["InvoiceNumber"]] * 3)
        money = sorted((payment_["PayInvoice"], D(str(payment_["PayAmount"])))
                       for payment_ in self.money_payments(state))
        self.assertEqual(money, sorted([(shared["InvoiceNumber"], D("10.20")), (shared["InvoiceNumber"], D("51.00"))]),
                         f"the online payment ({transaction.payment_id.name}) and {payment.name} on the shared invoice")
        applications = [(payment_["PayInvoice"], D(str(payment_["PayAmount"]))) for payment_ in state["payments"]
                        if payment_.get("CreditNoteApplication")]
        self.assertEqual(sorted(applications), sorted([(lines_invoice["InvoiceNumber"], D("10.20")),
                                                       (reversal["InvoiceNumber"], D("-10.20"))]),
                         "the credit note applied to the first order's own invoice")
        self.sandbox.clear_calls()
        for order in orders:
            order.action_kashflow_resend()
        self.run_all_jobs()
        self.assertFalse(self.sandbox.call_counts(), "resending any of them sends nothing")
