"""KashFlow holds Odoo's accounting documents one for one: one KashFlow invoice per posted Odoo customer invoice
(same lines, net, VAT, total and date), one credit note per posted Odoo credit note (applied to its invoice), one
KashFlow payment per amount an Odoo payment allocates to an invoice; nothing twice, nothing missing; every order
sent. Orders invoiced in several goes (a down payment, then the rest), paid by one payment for two invoices,
credited and invoiced again with another order, paid online before they have an invoice. Real Odoo, the sandbox
over HTTP."""

from decimal import Decimal

from odoo.tests import tagged

from .common import KashFlowCase

D = Decimal


def money(value):
    return D(str(value)).quantize(D("0.01"))


@tagged("post_install", "-at_install")
class TestOrderDocuments(KashFlowCase):
    def setUp(self):
        super().setUp()
        self.download_and_map()

    # ------------------------------------------------------------------ helpers

    def invoice_with_wizard(self, orders, method, **values):
        """*Create Invoices* on ``orders`` with ``method`` (``percentage``: a down payment; ``delivered``: what is
        left, less the down payments); the new invoice, posted."""
        orders.filtered(lambda order: order.state == "draft").action_confirm()
        before = orders.invoice_ids
        self.env["sale.advance.payment.inv"].with_context(active_model="sale.order", active_ids=orders.ids).create(
            {"advance_payment_method": method, **values}).create_invoices()
        invoice = orders.invoice_ids - before
        self.assertEqual(len(invoice), 1, "one new invoice")
        invoice.action_post()
        return invoice

    def posted_moves(self, orders):
        return orders.invoice_ids.filtered(lambda move: move.state == "posted").sorted("id")

    def odoo_lines(self, move):
        """Odoo's product lines of ``move``: (net, VAT), signed as KashFlow holds them (negative on a credit
        note)."""
        sign = -1 if move.move_type == "out_refund" else 1
        return sorted((money(sign * line.price_subtotal), money(sign * (line.price_total - line.price_subtotal)))
                      for line in move.invoice_line_ids if line.display_type == "product")

    def kashflow_lines(self, document):
        return sorted(((D(str(line["Rate"])) * D(str(line["Quantity"]))).quantize(D("0.01")),
                       money(line["VatAmount"])) for line in document["Lines"])

    def describe(self, state):
        return {
            "invoices": [(document["InvoiceNumber"], document["CustomerReference"], document["NetAmount"],
                          document["VATAmount"], str(document.get("InvoiceDate"))[:10]) for document in
                         state["invoices"]],
            "payments": [(payment["PayInvoice"], payment["PayAmount"], payment.get("PayNote"),
                          bool(payment.get("CreditNoteApplication"))) for payment in state["payments"]],
        }

    def match(self, document, moves, orders):
        """The Odoo move a KashFlow document is the copy of: the one named in its reference, else (a reference that
        is an order's name alone) the order's first posted invoice that serves it alone."""
        words = document["CustomerReference"].split(" ")
        named = moves.filtered(lambda move: move.name in words)
        if named:
            return named
        order = orders.filtered(lambda order: order.name == document["CustomerReference"])
        if order:
            own = moves.filtered(lambda move: move.move_type == "out_invoice"
                                 and move.line_ids.sale_line_ids.order_id == order)
            return own[:1]
        return moves.browse()

    def expected_allocations(self, moves):
        """What each Odoo payment allocates to each invoice (positive) or credit note (negative), as
        (move, payment, amount); and each credit note's application to an invoice, as (invoice, credit note,
        amount)."""
        money_allocations, applications = [], []
        for move in moves:
            receivable = move.line_ids.filtered(lambda line: line.account_id.account_type == "asset_receivable")
            if move.move_type == "out_invoice":
                partials = receivable.matched_credit_ids
                for partial in partials:
                    counterpart = partial.credit_move_id
                    if counterpart.move_id.move_type == "out_refund":
                        applications.append((move, counterpart.move_id, money(partial.amount)))
                    else:
                        money_allocations.append((move, counterpart.payment_id or counterpart.move_id,
                                                  money(partial.amount)))
            else:
                for partial in receivable.matched_debit_ids:
                    counterpart = partial.debit_move_id
                    if counterpart.move_id.move_type != "out_invoice":
                        money_allocations.append((move, counterpart.payment_id or counterpart.move_id,
                                                  -money(partial.amount)))
        return money_allocations, applications

    @staticmethod
    def is_application(payment):
        """Whether a KashFlow payment is half of a credit note's application: KashFlow's own, or the connector's
        pair for a credit spent in parts (its note names both Odoo documents)."""
        return bool(payment.get("CreditNoteApplication")) or (payment.get("PayNote") or "").startswith(
            "Odoo credit note ")

    def assertKashFlowHoldsOdoo(self, orders, extra_moves=None, check_state=True):
        """KashFlow's invoices, credit notes and payments are Odoo's posted ones for ``orders``, one for one."""
        state = self.state()
        picture = self.describe(state)
        moves = self.posted_moves(orders) | (extra_moves or self.env["account.move"])
        self.assertEqual(len(state["invoices"]), len(moves),
                         f"one KashFlow document per posted Odoo move {moves.mapped('name')}; KashFlow holds "
                         f"{picture}")
        number_of = {}
        for document in state["invoices"]:
            move = self.match(document, moves, orders)
            self.assertEqual(len(move), 1, f"{document['CustomerReference']} is the copy of one Odoo move "
                                           f"{moves.mapped('name')}; KashFlow holds {picture}")
            self.assertNotIn(move, number_of, f"{move.name} is in KashFlow once; KashFlow holds {picture}")
            number_of[move] = document["InvoiceNumber"]
            sign = -1 if move.move_type == "out_refund" else 1
            figures = (money(document["NetAmount"]), money(document["VATAmount"]),
                       money(document["NetAmount"]) + money(document["VATAmount"]), str(document["InvoiceDate"])[:10])
            self.assertEqual(figures, (money(sign * move.amount_untaxed), money(sign * move.amount_tax),
                                       money(sign * move.amount_total), str(move.invoice_date)),
                             f"{document['CustomerReference']} has {move.name}'s net, VAT, total and date")
            self.assertEqual(self.kashflow_lines(document), self.odoo_lines(move),
                             f"{document['CustomerReference']} has {move.name}'s lines")
            self.assertEqual(bool(document.get("CreditNote")), move.move_type == "out_refund")
        self.assertEqual(set(number_of), set(moves), f"every posted move is in KashFlow; KashFlow holds {picture}")

        allocations, applications = self.expected_allocations(moves)
        kashflow_money = sorted((payment["PayInvoice"], money(payment["PayAmount"]))
                                for payment in state["payments"] if not self.is_application(payment))
        self.assertEqual(kashflow_money, sorted((number_of[move], amount) for move, _payment, amount in allocations),
                         f"one KashFlow payment per amount an Odoo payment allocates "
                         f"{[(move.name, payment.name, amount) for move, payment, amount in allocations]}; "
                         f"KashFlow holds {picture}")
        expected_applications = []  # a credit note is applied where Odoo reconciled it, for the amount Odoo did
        for invoice, credit_note, amount in applications:
            expected_applications += [(number_of[invoice], amount), (number_of[credit_note], -amount)]
        kashflow_applications = sorted((payment["PayInvoice"], money(payment["PayAmount"]))
                                       for payment in state["payments"] if self.is_application(payment))
        self.assertEqual(kashflow_applications, sorted(expected_applications),
                         f"each credit note applied where Odoo reconciled it, once; KashFlow holds {picture}")
        if check_state:
            self.assertEqual(orders.mapped("kashflow_state"), ["sent"] * len(orders),
                             orders.mapped("kashflow_reason"))
            self.assertReconciled(orders)
        return state, number_of

    # ------------------------------------------------------------------ cases

    def test_down_payment_then_final_invoice_each_paid(self):
        """An order invoiced in two goes: a 50% down payment, posted and paid, then the final invoice (less the down
        payment), posted and paid: KashFlow holds both invoices as Odoo has them, and two payments."""
        order = self.make_order()
        order.action_confirm()
        down_payment = self.invoice_with_wizard(order, "percentage", amount=50)
        self.assertAlmostEqual(down_payment.amount_total, order.amount_total / 2, delta=0.01)
        first = self.pay(down_payment)
        self.run_all_jobs()
        # (the order is not paid in full yet: whether KashFlow holds the down payment invoice already is not asked
        # here; it is checked once the order is invoiced and paid in full)
        final = self.invoice_with_wizard(order, "delivered")
        self.assertAlmostEqual(final.amount_total, order.amount_total - down_payment.amount_total, delta=0.001,
                               msg="the down payment is deducted")
        second = self.pay(final)
        self.run_all_jobs()
        self.assertEqual(self.posted_moves(order), down_payment | final)
        state, _numbers = self.assertKashFlowHoldsOdoo(order)
        self.assertEqual(len(state["invoices"]), 2)
        self.assertEqual(len([p for p in state["payments"] if not p.get("CreditNoteApplication")]), 2,
                         f"{first.name} and {second.name}")

    def test_down_payment_and_final_invoice_paid_by_one_payment(self):
        """The same order's two invoices (down payment, then the rest) paid by one payment registered on both:
        KashFlow holds the two invoices and one payment on each, of what Odoo allocated to it."""
        order = self.make_order()
        order.action_confirm()
        down_payment = self.invoice_with_wizard(order, "percentage", amount=50)
        final = self.invoice_with_wizard(order, "delivered")
        moves = down_payment | final
        payment = self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=moves.ids).create({"group_payment": True})._create_payments()
        self.assertEqual((len(payment), payment.amount), (1, order.amount_total), "one payment for both")
        self.assertTrue(all(move.payment_state in ("paid", "in_payment") for move in moves))
        self.run_all_jobs()
        state, numbers = self.assertKashFlowHoldsOdoo(order)
        self.assertEqual(sorted((p["PayInvoice"], money(p["PayAmount"])) for p in state["payments"]),
                         sorted([(numbers[down_payment], money(down_payment.amount_total)),
                                 (numbers[final], money(final.amount_total))]))

    def test_credited_invoice_then_invoiced_again_with_another_order(self):
        """An order invoiced, paid and sent; its invoice fully credited (the credit note left open: the customer's
        credit); then the order invoiced again together with a second order of the customer, in one invoice, posted
        and paid: KashFlow holds the first invoice, its credit note applied to none, as in Odoo, and the shared
        invoice once; the payments as Odoo allocated them."""
        first = self.make_order()
        invoice = self.pay_by_invoice(first)
        self.run_all_jobs()
        self.assertEqual(first.kashflow_state, "sent", first.kashflow_reason)
        credit_note = self.credit_note(invoice)
        self.run_all_jobs()
        second = self.make_order(lines=[(self.book, 2, 0.0)])
        orders = first | second
        shared = self.invoice_with_wizard(orders, "delivered")
        self.assertEqual(shared.line_ids.sale_line_ids.order_id, orders, "one invoice for both orders")
        self.pay(shared)
        self.run_all_jobs()
        self.assertEqual(self.posted_moves(orders), invoice | credit_note | shared)
        state, numbers = self.assertKashFlowHoldsOdoo(orders)
        self.assertEqual(len(state["invoices"]), 3)
        [document] = [d for d in state["invoices"] if d["InvoiceNumber"] == numbers[shared]]
        self.assertEqual(document["CustomerReference"].split(" ")[0], shared.name)
        self.assertEqual(second.kashflow_invoice_number, numbers[shared])

    def test_paid_online_and_sent_then_invoiced_alone(self):
        """An order paid online and sent from its lines before it has an invoice, then invoiced alone (the online
        payment reconciled with the invoice as Odoo does): KashFlow holds one invoice equal to Odoo's, one
        payment."""
        order = self.make_order()
        transaction = self.pay_online(order)
        self.run_all_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        self.assertEqual(len(self.state()["invoices"]), 1)
        invoice = order._create_invoices()
        invoice.action_post()
        self.assertIn(invoice.payment_state, ("paid", "in_payment"),
                      f"Odoo reconciles the online payment {transaction.payment_id.name} with the invoice")
        self.run_all_jobs()
        state, numbers = self.assertKashFlowHoldsOdoo(order)
        self.assertEqual(len(state["invoices"]), 1)
        self.assertEqual(state["invoices"][0]["CustomerReference"], f"{invoice.name} {order.name}",
                         "the invoice from the order's lines became Odoo's invoice, its number with it")
        self.assertEqual([(p["PayInvoice"], money(p["PayAmount"])) for p in state["payments"]],
                         [(numbers[invoice], money(invoice.amount_total))])

    # ------------------------------------------------------------------ where a credit goes

    def paid_in_kashflow(self, state, number):
        """What KashFlow holds paid on its invoice or credit note ``number``: money and credit-note applications."""
        return sum((money(payment["PayAmount"]) for payment in state["payments"] if payment["PayInvoice"] == number),
                   D(0))

    def test_a_credit_note_odoo_leaves_as_the_customers_credit_is_applied_to_no_invoice(self):
        """A credit note on a paid invoice, nothing refunded yet: in Odoo the invoice stays paid and the credit note
        open, the customer's credit. KashFlow the same: the invoice paid once (never paid twice over by the credit
        note), the credit note applied to none. Once the money is paid back, it is applied and the refund booked:
        both settled, as in Odoo."""
        order = self.make_order()
        invoice = self.pay_by_invoice(order)
        self.run_all_jobs()
        credit_note = self.credit_note(invoice, keep=self.shipping)
        self.assertEqual((invoice.payment_state in ("paid", "in_payment"), credit_note.payment_state),
                         (True, "not_paid"), "Odoo: the invoice paid, the credit note open")
        self.run_all_jobs()
        state = self.state()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        booked = {document["CustomerReference"].split(" ")[0]: document["InvoiceNumber"]
                  for document in state["invoices"]}
        self.assertEqual(self.paid_in_kashflow(state, booked[invoice.name]), money(invoice.amount_total),
                         "the invoice paid once, as in Odoo")
        self.assertEqual(self.paid_in_kashflow(state, booked[credit_note.name]), D(0),
                         "the credit note applied to none: the customer's credit")
        self.assertFalse([payment for payment in state["payments"] if payment.get("CreditNoteApplication")])

        refund = self.pay(credit_note)  # the credit paid back
        self.run_all_jobs()
        state = self.state()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        self.assertEqual(self.paid_in_kashflow(state, booked[invoice.name]), money(invoice.amount_total),
                         "the invoice still paid once")
        self.assertEqual(self.paid_in_kashflow(state, booked[credit_note.name]), -money(credit_note.amount_total),
                         "the credit note settled")
        self.assertIn(refund.name, " ".join(payment.get("PayNote") or "" for payment in state["payments"]))

    def test_a_credit_note_spent_on_the_orders_next_invoice_is_applied_to_that_invoice(self):
        """The customer's credit (a credit note on the paid down payment invoice) is added to the order's final
        invoice (*Add* on its outstanding credits), the rest paid: in KashFlow the credit note is applied to the
        final invoice, and each invoice is paid as Odoo's is."""
        order = self.make_order()
        order.action_confirm()
        down_payment = self.invoice_with_wizard(order, "percentage", amount=50)
        self.pay(down_payment)
        credit_note = self.credit_note(down_payment, price_unit=down_payment.invoice_line_ids.price_unit / 4)
        self.assertEqual(credit_note.payment_state, "not_paid")
        final = self.invoice_with_wizard(order, "delivered")
        credit_line = credit_note.line_ids.filtered(lambda line: line.account_id.account_type == "asset_receivable")
        final.js_assign_outstanding_line(credit_line.id)
        self.assertEqual(credit_note.payment_state, "paid", "the credit is spent on the final invoice")
        self.pay(final)
        self.run_all_jobs()
        state = self.state()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        booked = {document["CustomerReference"].split(" ")[0]: document["InvoiceNumber"]
                  for document in state["invoices"]}
        applications = sorted((payment["PayInvoice"], money(payment["PayAmount"])) for payment in state["payments"]
                              if payment.get("CreditNoteApplication"))
        self.assertEqual(applications, sorted([(booked[final.name], money(credit_note.amount_total)),
                                               (booked[credit_note.name], -money(credit_note.amount_total))]),
                         "applied to the invoice Odoo settled with it")
        for move in (down_payment, final):
            self.assertEqual(self.paid_in_kashflow(state, booked[move.name]), money(move.amount_total),
                             f"{move.name} paid as in Odoo")

    def credit_line(self, credit_note):
        return credit_note.line_ids.filtered(lambda line: line.account_id.account_type == "asset_receivable")

    def test_an_invoice_settled_only_by_the_customers_credit_is_booked(self):
        """An order invoiced and paid, its invoice credited in full (the credit left open), then invoiced again and
        the credit spent on the new invoice: Odoo calls the new invoice *Reversed* (only a credit note settled it),
        yet it is a sale: KashFlow holds it, paid by the credit note applied to it."""
        order = self.make_order()
        first = self.pay_by_invoice(order)
        self.run_all_jobs()
        credit_note = self.credit_note(first)
        self.run_all_jobs()
        second = order._create_invoices()
        second.action_post()
        second.js_assign_outstanding_line(self.credit_line(credit_note).id)
        self.assertEqual((second.payment_state, credit_note.payment_state), ("reversed", "paid"))
        self.run_all_jobs()
        state = self.state()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        booked = {document["CustomerReference"].split(" ")[0]: document["InvoiceNumber"]
                  for document in state["invoices"]}
        self.assertEqual(set(booked), {first.name, credit_note.name, second.name})
        self.assertEqual(self.paid_in_kashflow(state, booked[first.name]), money(first.amount_total))
        self.assertEqual(self.paid_in_kashflow(state, booked[second.name]), money(second.amount_total),
                         "paid by the credit note, as in Odoo")
        self.assertEqual(self.paid_in_kashflow(state, booked[credit_note.name]), -money(credit_note.amount_total))

    def test_an_order_whose_invoice_another_orders_credit_settled_is_paid_and_booked(self):
        """The customer's credit from one order (a credit note left open) settles the invoice of their next order:
        that order is paid (Odoo says *Reversed* of its invoice, and runs no paid hook) and its invoice is booked."""
        first = self.make_order()
        self.pay_by_invoice(first)
        credit_note = self.credit_note(first.invoice_ids)
        self.run_all_jobs()
        second = self.make_order()
        second.action_confirm()
        invoice = second._create_invoices()
        invoice.action_post()
        self.assertEqual(second.kashflow_state, "not_paid")
        invoice.js_assign_outstanding_line(self.credit_line(credit_note).id)
        self.assertEqual(invoice.payment_state, "reversed")
        self.assertEqual(second.kashflow_state, "queued", "paid by the customer's credit")
        self.run_all_jobs()
        self.assertEqual(second.kashflow_state, "sent", second.kashflow_reason)
        [booked] = [document for document in self.state()["invoices"]
                    if document["CustomerReference"] == f"{invoice.name} {second.name}"]
        self.assertEqual((money(booked["NetAmount"]), money(booked["VATAmount"])),
                         (money(invoice.amount_untaxed), money(invoice.amount_tax)))
        self.assertBalancesAsOdoo(first.invoice_ids | invoice)

    def assertBalancesAsOdoo(self, moves):
        """Each KashFlow invoice and credit note is paid as far as Odoo's is (its total less what it still owes:
        ``amount_residual``), and booked to the customer Odoo's is addressed to."""
        state = self.state()
        customers = {customer["CustomerID"]: customer for customer in state["customers"]}
        booked = {document["CustomerReference"].split(" ")[0]: document for document in state["invoices"]}
        for move in moves.filtered(lambda move: move.state == "posted"):
            sign = -1 if move.move_type == "out_refund" else 1
            document = booked[move.name]
            self.assertEqual(self.paid_in_kashflow(state, document["InvoiceNumber"]),
                             sign * (money(move.amount_total) - money(move.amount_residual)),
                             f"{move.name} is paid in KashFlow as in Odoo ({move.payment_state}); KashFlow holds "
                             f"{self.describe(state)}")
            self.assertEqual(customers[document["CustomerID"]]["Name"], move.partner_id.commercial_partner_id.name)

    def test_a_credit_spent_in_parts_on_another_orders_invoice_follows_odoo(self):
        """The customer's credit from one order (a credit note for the delivery, left open) is spent on their next
        order's invoice (*Add* on its outstanding credits; the rest paid), then taken off it, then spent on a third
        order's invoice: KashFlow books each application where Odoo reconciled it, for the amount Odoo did, and
        follows Odoo when it is undone and made elsewhere; every invoice and credit note is paid as far as Odoo's,
        and booked to Odoo's customer."""
        first = self.make_order()
        self.pay_by_invoice(first)
        credit_note = self.credit_note(first.invoice_ids, keep=self.shipping)  # the delivery credited
        self.run_all_jobs()
        second = self.make_order(lines=[(self.board, 1, 0.0)])  # a board, more than the credit
        second.action_confirm()
        invoice = second._create_invoices()
        invoice.action_post()
        invoice.js_assign_outstanding_line(self.credit_line(credit_note).id)  # the whole credit spent on it
        self.assertEqual((credit_note.payment_state, invoice.payment_state), ("paid", "partial"))
        self.pay(invoice)  # the rest paid
        self.run_all_jobs()
        self.assertEqual(second.kashflow_state, "sent", second.kashflow_reason)
        moves = first.invoice_ids | invoice
        self.assertKashFlowHoldsOdoo(first | second)
        self.assertBalancesAsOdoo(moves)

        # the application undone in Odoo: the credit is the customer's again, the invoice owes what it covered
        invoice.js_remove_outstanding_partial(self.credit_line(credit_note).matched_debit_ids.id)
        self.assertEqual((credit_note.payment_state, invoice.payment_state), ("not_paid", "partial"))
        self.run_all_jobs()
        self.assertBalancesAsOdoo(moves)
        self.assertKashFlowHoldsOdoo(first | second, check_state=False)

        # and spent on a third order's invoice instead
        third = self.make_order(lines=[(self.board, 1, 0.0)])
        third.action_confirm()
        other = third._create_invoices()
        other.action_post()
        other.js_assign_outstanding_line(self.credit_line(credit_note).id)
        self.assertEqual(credit_note.payment_state, "paid")
        self.pay(other)
        self.run_all_jobs()
        self.assertBalancesAsOdoo(moves | other)
        self.assertKashFlowHoldsOdoo(first | second | third, check_state=False)
        run, _calls = self.reconcile()
        self.assertEqual((run.state, run.mismatches_found), ("done", 0), run.finding_ids.mapped("message"))

        # in KashFlow, the credit note's application taken off the third order's invoice: named as owing more
        state = self.state()
        [number] = [document["InvoiceNumber"] for document in state["invoices"]
                    if document["CustomerReference"].startswith(f"{other.name} ")]
        [side] = [payment for payment in state["payments"] if payment["PayInvoice"] == number
                  and (payment.get("PayNote") or "").startswith("Odoo credit note ")]
        self.company._kashflow_client().delete_payment(number, side["PayID"])
        run, _calls = self.reconcile()
        self.assertEqual(third.kashflow_state, "mismatch")
        self.assertIn(f"KashFlow invoice {number} ({other.name})", third.kashflow_reason)

        # and its other half, on the credit note: named on the credit note's order, as a payment on a credit note
        [credit_number] = [document["InvoiceNumber"] for document in state["invoices"]
                           if document["CustomerReference"].startswith(f"{credit_note.name} ")]
        [half] = [payment for payment in state["payments"] if payment["PayInvoice"] == credit_number
                  and payment["PayNote"] == side["PayNote"]]
        self.company._kashflow_client().delete_payment(credit_number, half["PayID"])
        self.reconcile()
        self.assertEqual(first.kashflow_state, "mismatch")
        reasons = "\n".join(first.kashflow_document_ids.filtered("mismatch").mapped("mismatch_reason"))
        self.assertIn(f"KashFlow payment {half['PayID']} (credit note {credit_number})", reasons)
        self.assertIn(f"KashFlow credit note {credit_number} ({credit_note.name}): 0.00 of its credit used in KashFlow "
                      f"(applied to invoices or paid back), Odoo says {money(credit_note.amount_total)}.", reasons)

    def test_a_credit_spent_on_another_orders_invoice_is_booked_once_when_answers_are_lost(self):
        """The two halves of a credit's application are payments like any other: KashFlow's answer to each insert
        lost after it did the work, the jobs run again and find them; each is in KashFlow once."""
        first = self.make_order()
        self.pay_by_invoice(first)
        credit_note = self.credit_note(first.invoice_ids, keep=self.shipping)
        self.run_all_jobs()
        second = self.make_order(lines=[(self.board, 1, 0.0)])
        second.action_confirm()
        invoice = second._create_invoices()
        invoice.action_post()
        invoice.js_assign_outstanding_line(self.credit_line(credit_note).id)
        self.pay(invoice)
        mark = self.sandbox.last_call()
        self.sandbox.set_faults(operation="InsertInvoicePayment", mode="drop_after_commit", count=3)
        self.run_all_jobs(rounds=10)
        self.assertEqual(self.sandbox.call_counts(since=mark, outcome="dropped")["InsertInvoicePayment"], 3,
                         "three answers lost after KashFlow recorded the payment")
        self.assertEqual((first | second).mapped("kashflow_state"), ["sent", "sent"],
                         (first | second).mapped("kashflow_reason"))
        self.assertKashFlowHoldsOdoo(first | second)
        self.assertBalancesAsOdoo(first.invoice_ids | invoice)

    def test_a_credit_note_applied_whole_is_withdrawn_when_odoo_undoes_it(self):
        """A credit note applied whole to the order's next invoice (KashFlow's own application), then the
        reconciliation undone in Odoo: the application is taken off KashFlow, the invoice owes again and the
        credit note is the customer's credit, as in Odoo."""
        order = self.make_order()
        order.action_confirm()
        down_payment = self.invoice_with_wizard(order, "percentage", amount=50)
        self.pay(down_payment)
        credit_note = self.credit_note(down_payment, price_unit=down_payment.invoice_line_ids.price_unit / 4)
        final = self.invoice_with_wizard(order, "delivered")
        final.js_assign_outstanding_line(self.credit_line(credit_note).id)
        self.pay(final)
        self.run_all_jobs()
        moves = order.invoice_ids
        self.assertBalancesAsOdoo(moves)
        self.assertTrue([payment for payment in self.state()["payments"] if payment.get("CreditNoteApplication")])

        final.js_remove_outstanding_partial(self.credit_line(credit_note).matched_debit_ids.id)
        self.assertEqual((credit_note.payment_state, final.payment_state), ("not_paid", "partial"))
        self.run_all_jobs()
        self.assertBalancesAsOdoo(moves)
        self.assertFalse([payment for payment in self.state()["payments"] if payment.get("CreditNoteApplication")],
                         "KashFlow's application withdrawn")
