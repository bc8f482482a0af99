"""KashFlow's books equal Odoo's accounting through an order's whole life: Odoo's own tax figures (under both
rounding methods), taxes that are not VAT, the money actually received, cancellations, credit notes and refunds,
re-invoicing, dates, free orders and text XML cannot carry. Real Odoo, the sandbox over HTTP."""

from decimal import Decimal

from odoo import Command
from odoo.tests import tagged

from ..kashflow.snapshot import key_role, order_document_key
from .common import KashFlowCase

D = Decimal


@tagged("post_install", "-at_install")
class TestOrderLife(KashFlowCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kettle = cls._create_product(name="Stainless kettle", lst_price=60.0, taxes_id=[Command.set(cls.vat20.ids)])
        cls.filter = cls._create_product(name="Kettle filter", lst_price=12.0, taxes_id=[Command.set(cls.vat20.ids)])
        cls.soap = cls._create_product(name="Olive soap", lst_price=2.99, taxes_id=[Command.set(cls.vat20.ids)])
        cls.fee = cls.env["account.tax"].create({
            "name": "Recycling fee", "amount": 1.0, "amount_type": "fixed", "type_tax_use": "sale",
            "company_id": cls.company.id})
        cls.blender = cls._create_product(name="Blender", lst_price=25.0,
                                          taxes_id=[Command.set((cls.vat20 | cls.fee).ids)])

    def setUp(self):
        super().setUp()
        self.mapping = self.download_and_map()

    # ------------------------------------------------------------------ helpers

    def documents_of(self, order):
        """The sandbox's invoices and credit notes of an order (their customer reference names it)."""
        return [invoice for invoice in self.state()["invoices"]
                if order.name in invoice["CustomerReference"].split(" ")]

    def totals(self, invoice):
        return D(invoice["NetAmount"]), D(invoice["VATAmount"]), D(invoice["NetAmount"]) + D(invoice["VATAmount"])

    def money_payments(self, order):
        """The sandbox's payments of the order's documents that moved money (not credit-note applications)."""
        numbers = {invoice["InvoiceNumber"] for invoice in self.documents_of(order)}
        return [payment for payment in self.state()["payments"]
                if payment["PayInvoice"] in numbers and not payment.get("CreditNoteApplication")]

    def cents(self, amount):
        """An Odoo float amount as the Decimal of pennies it stands for."""
        return D(str(round(amount, 2))).quantize(D("0.01"))

    def odoo_figures(self, order, move=None):
        """``(net, VAT, gross)`` of a posted invoice or credit note (``move``), else of the order's own lines, as
        KashFlow books them: taxes that are not VAT (a fixed fee) are lines of their own without VAT, so in the
        net; a credit note negative."""
        if move:
            sign = 1 if move.move_type == "out_invoice" else -1
            untaxed, tax, total = move.amount_untaxed, move.amount_tax, move.amount_total
            charges = sum(-line.amount_currency * sign for line in move.line_ids
                          if line.tax_line_id and line.tax_line_id._kashflow_treatment() not in ("vat", "exempt"))
        else:
            sign, untaxed, tax, total = 1, order.amount_untaxed, order.amount_tax, order.amount_total
            charges = sum(tax_data["amount"] for line in order.order_line.filtered(lambda line: not line.display_type)
                          for tax_data in line.tax_id.compute_all(
                              line.price_unit * (1 - line.discount / 100), order.currency_id, line.product_uom_qty,
                              line.product_id, order.partner_id)["taxes"]
                          if self.env["account.tax"].browse(tax_data["id"])._kashflow_treatment()
                          not in ("vat", "exempt"))
        return tuple(sign * self.cents(amount) for amount in (untaxed + charges, tax - charges, total))

    def assertBooksMatch(self, order):
        """KashFlow's books equal Odoo's for the order, document by document and in total, to the penny (Odoo's
        figures computed here on their own, the connector's records, ``kashflow.document``, pairing them):

        - each KashFlow invoice and credit note of the customer stands for exactly one Odoo record (a record of the
          connector holds its number); those of the order exist in KashFlow, and nothing else names the order;
        - each posted invoice and credit note of the order has exactly one KashFlow document, with its net, VAT
          and gross (negative for a credit note), named after it; only an invoice reversed in full by a credit note
          before either was sent is left out, with that credit note;
        - the order's own lines are booked (as the order holds them) only while it has no invoice in KashFlow; a
          cancellation then adds a credit note of the same;
        - KashFlow's invoices less its credit notes equal Odoo's invoiced less credited amount;
        - each KashFlow payment that moved money stands for one Odoo payment, statement line or online payment,
          none twice; what KashFlow holds of each Odoo payment is its amount (negative when paid back), and in
          total Odoo's money received less paid back."""
        self.env.invalidate_all()
        state = self.state()
        held = {document["InvoiceNumber"]: document for document in state["invoices"]}
        documents = self.assertDocumentsBound(order, held)
        moves = order.invoice_ids.filtered(lambda move: move.state == "posted")
        self.assertMovesBooked(order, moves, documents, held)
        self.assertOwnLinesBooked(order, moves, documents, held)
        if moves:
            invoiced = sum(move.amount_total * (1 if move.move_type == "out_invoice" else -1) for move in moves)
        else:
            invoiced = 0.0 if order.state == "cancel" else order.amount_total
        kashflow = sum((self.totals(held[number])[2] for number in set(documents.mapped("kashflow_number"))), D(0))
        self.assertEqual(kashflow, self.cents(invoiced), "invoiced less credited")
        self.assertMoneyBooked(order, moves, documents, state)

    def assertDocumentsBound(self, order, held):
        """Each KashFlow invoice and credit note of the order's customer (``held``, by number) stands for one Odoo
        record; those of the order's records exist in KashFlow, and no other names the order. Returns the order's
        records of the invoices and credit notes KashFlow holds."""
        records = order.kashflow_document_ids
        customer = self.env["kashflow.customer"].search([
            ("company_id", "=", order.company_id.id),
            ("partner_id", "=", order.partner_id.commercial_partner_id.id)]).kashflow_customer_id
        bound = self.env["kashflow.document"].search([
            ("company_id", "=", order.company_id.id), ("kind", "in", ("invoice", "credit_note")),
            ("kashflow_number", "!=", 0)])
        for number, document in held.items():
            if document["CustomerID"] == customer:
                binding = bound.filtered(lambda record, number=number: record.kashflow_number == number)
                self.assertEqual(len(binding), 1, f"KashFlow {number} ({document['CustomerReference']}) stands for "
                                                  f"one Odoo record; records: {binding.mapped('key')}")
        documents = records.filtered(lambda record: record.kind != "payment" and record.kashflow_number)
        for record in documents:
            self.assertIn(record.kashflow_number, held, f"KashFlow holds {record.key}, as the connector recorded")
            self.assertEqual(held[record.kashflow_number]["CustomerID"], customer)
        self.assertLessEqual({document["InvoiceNumber"] for document in self.documents_of(order)},
                             set(documents.mapped("kashflow_number")), "what names the order stands for its records")
        return documents

    def assertMovesBooked(self, order, moves, documents, held):
        """Each posted invoice and credit note of the order (``moves``) has one KashFlow document, with its
        figures, named after it; but an invoice reversed in full before it was sent, with its credit note."""
        booked = documents.mapped("move_id")
        for move in moves:
            binding = documents.filtered(lambda record, move=move: record.move_id == move)
            if not binding:
                pair = move if move.move_type == "out_invoice" else move.reversed_entry_id
                pair |= moves.filtered(lambda other, pair=pair: other.reversed_entry_id == pair)
                self.assertTrue(pair.filtered(lambda invoice: invoice.move_type == "out_invoice"
                                              and invoice.payment_state == "reversed") and not pair & booked,
                                f"{move.name} ({move.amount_total}) has no KashFlow document")
                continue
            self.assertEqual(len(binding), 1, f"{move.name} is booked once in KashFlow")
            self.assertEqual(binding.kind, "invoice" if move.move_type == "out_invoice" else "credit_note")
            self.assertIn(binding.key, (f"move:{move.id}", f"order:{order.id}"),
                          "keyed by the Odoo document, or by the order whose lines it was sent from first")
            document = held[binding.kashflow_number]
            self.assertEqual(self.totals(document), self.odoo_figures(order, move),
                             f"{move.name}: KashFlow {binding.kashflow_number}'s net, VAT and gross")
            self.assertEqual(document["CustomerReference"],
                             " ".join([move.name, *sorted(move._kashflow_orders().mapped("name"))]),
                             "Odoo's number of the document, then its orders")

    def assertOwnLinesBooked(self, order, moves, documents, held):
        """The order's own lines are booked, with the order's figures, while it has no invoice of its own in
        KashFlow (``_snapshot``); a cancellation, or invoices shared with other orders that replace them, add a
        credit note of the same. An order without invoice, cancelled before it was sent, has nothing booked."""
        booked = documents.mapped("move_id")
        own = {key_role(record.key): record for record in documents - documents.filtered("move_id")}
        self.assertLessEqual(set(own), {"order", "cancel", "replaced"}, "the documents of the order's own lines")
        for role, record in own.items():
            self.assertEqual(record.key, order_document_key(role, order.id), "keyed by its role and its order")
        if "order" in own:
            self.assertFalse(documents.filtered(lambda record: record.move_id.move_type == "out_invoice"
                                                and len(record.move_id._kashflow_orders()) == 1),
                             "the order's lines, or its own invoice: not both")
            self.assertEqual(self.totals(held[own["order"].kashflow_number]), self.odoo_figures(order),
                             "the order's invoice from its lines: the order's figures")
            self.assertEqual(held[own["order"].kashflow_number]["CustomerReference"], order.name)
        elif not booked:
            self.assertEqual(order.state, "cancel", "an order without invoice is booked from its lines")
            self.assertFalse(documents, "cancelled before it was sent: nothing booked")
        for key in ("cancel", "replaced"):
            if key in own:
                self.assertIn("order", own, f"{key}: a credit note of the order's lines")
                figures = self.totals(held[own["order"].kashflow_number])
                self.assertEqual(self.totals(held[own[key].kashflow_number]), tuple(-amount for amount in figures))
        if "order" in own and not moves and order.state == "cancel" and not order.currency_id.is_zero(
                order.amount_total):
            self.assertIn("cancel", own, "an order cancelled after it was sent gets a credit note")
        self.assertEqual("replaced" in own, "order" in own and bool(booked.filtered(
            lambda move: move.move_type == "out_invoice")), "the lines reversed once shared invoices replace them")

    def assertMoneyBooked(self, order, moves, documents, state):
        """Each KashFlow payment of the order's documents that moved money stands for one Odoo payment, statement
        line or online payment (a ``payment`` record of the order, not removed), none booked twice; KashFlow holds
        each Odoo payment's amount (negative when paid back), and in total the money received less paid back."""
        records = order.kashflow_document_ids
        numbers = set(documents.mapped("kashflow_number"))
        # a credit note's application is no money: KashFlow's own, or the connector's pair for a credit spent in parts
        money = {payment["PayID"]: payment for payment in state["payments"]
                 if payment["PayInvoice"] in numbers and not payment.get("CreditNoteApplication")
                 and not (payment.get("PayNote") or "").startswith("Odoo credit note ")}
        receipts = self.env["kashflow.document"].search([
            ("company_id", "=", order.company_id.id), ("kind", "=", "payment"), ("removed", "=", False),
            ("kashflow_number", "!=", 0), ("key", "not like", "credit:%")])
        in_kashflow = {}  # Odoo payment, statement line or transaction -> what KashFlow holds of it
        keys = set()
        for number, payment in money.items():
            binding = receipts.filtered(lambda record, number=number: record.kashflow_number == number)
            self.assertEqual(len(binding), 1, f"KashFlow payment {number} ({payment['PayAmount']}) stands for one "
                                              f"Odoo payment; records: {binding.mapped('key')}")
            self.assertIn(binding, records, f"payment {number} is the order's")
            self.assertEqual(binding.kashflow_applied_invoice_number, payment["PayInvoice"])
            kind, _colon, ident = binding.key.split("/")[0].partition(":")
            self.assertIn(kind, ("payment", "line", "transaction"), f"payment {number} ({binding.key}) is Odoo's")
            source = self.env[{"payment": "account.payment", "line": "account.bank.statement.line",
                               "transaction": "payment.transaction"}[kind]].browse(int(ident)).exists()
            self.assertTrue(source, f"payment {number}: Odoo's {binding.key} exists")
            if kind == "transaction" and source.payment_id:
                source = source.payment_id
            self.assertNotIn((binding.key, source), keys)
            keys.add((binding.key, source))
            in_kashflow[source] = in_kashflow.get(source, D(0)) + D(str(payment["PayAmount"]))
        for key, source in keys:
            self.assertFalse([other for other, again in keys if again == source and other != key
                              and "/move:" not in key + other], f"{source} booked once ({key})")
        for record in receipts & records:
            self.assertIn(record.kashflow_number, money, f"KashFlow holds {record.key}, as the connector recorded")
        payments = moves._get_reconciled_payments() | order.transaction_ids.payment_id
        received = {payment: self.cents(payment.amount * (1 if payment.payment_type == "inbound" else -1))
                    for payment in payments if payment.state in ("in_process", "paid")}
        self.assertEqual({source: amount for source, amount in in_kashflow.items()
                          if source._name == "account.payment"},
                         {payment: amount for payment, amount in received.items() if amount},
                         "each Odoo payment: its money, in KashFlow")
        self.assertEqual(sum(in_kashflow.values(), D(0)), self.cents(sum(received.values(), D(0))),
                         "money received less paid back")

    # ------------------------------------------------------------------ 1. Odoo's tax engine, both roundings

    def test_round_globally_sends_odoos_figures(self):
        self.company.tax_calculation_rounding_method = "round_globally"
        order = self.make_order(lines=[(self.soap, 1, 0.0)] * 3)
        self.assertEqual((order.amount_untaxed, order.amount_tax, order.amount_total), (8.97, 1.79, 10.76))
        self.pay_online(order)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        [invoice] = self.documents_of(order)
        self.assertEqual(self.totals(invoice), (D("8.97"), D("1.79"), D("10.76")))
        self.assertEqual(sorted(D(line["VatAmount"]) for line in invoice["Lines"]), [D("0.59"), D("0.60"), D("0.60")],
                         "the penny of rounding goes to one line, as Odoo's engine dispatches it")
        self.assertBooksMatch(order)

    def test_round_globally_through_the_invoice_and_with_mixed_rates(self):
        self.company.tax_calculation_rounding_method = "round_globally"
        order = self.make_order(lines=[(self.soap, 3, 0.0), (self.soap, 1, 0.0), (self.book, 1, 0.0),
                                       (self.book, 3, 0.0), (self.shipping, 1, 0.0)])
        self.pay_by_invoice(order)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        [invoice] = self.documents_of(order)
        move = order.invoice_ids
        self.assertEqual(self.totals(invoice), (D(str(move.amount_untaxed)), D(str(move.amount_tax)),
                                                D(str(move.amount_total))))
        for tax in (self.vat20, self.vat5):  # VAT per rate: Odoo's tax journal items, as the VAT return reads them
            lines = [line for line in invoice["Lines"] if D(line["VatRate"]) == D(str(tax.amount))]
            odoo = -sum(move.line_ids.filtered(lambda line, tax=tax: line.tax_line_id == tax).mapped("balance"))
            self.assertEqual(sum(D(line["VatAmount"]) for line in lines), D(str(round(odoo, 2))).quantize(D("0.01")))
        self.assertBooksMatch(order)

    def test_round_per_line_keeps_each_lines_vat(self):
        order = self.make_order(lines=[(self.soap, 1, 0.0)] * 3)
        self.assertEqual(order.amount_tax, 1.80)
        self.pay_online(order)
        self.run_jobs()
        [invoice] = self.documents_of(order)
        self.assertEqual(self.totals(invoice), (D("8.97"), D("1.80"), D("10.77")))

    def test_a_posted_invoice_keeps_its_figures_when_the_rounding_method_changes(self):
        included = self.env["account.tax"].create({
            "name": "VAT 20% included", "amount": 20, "amount_type": "percent", "type_tax_use": "sale",
            "price_include_override": "tax_included", "company_id": self.company.id})
        cloth = self._create_product(name="Dish cloth", lst_price=0.99, taxes_id=[Command.set(included.ids)])
        for posted_under, paid_under in (("round_globally", "round_per_line"), ("round_per_line", "round_globally")):
            with self.subTest(posted_under=posted_under):
                self.company.tax_calculation_rounding_method = posted_under
                order = self.make_order(lines=[(cloth, 1, 0.0)] * 9 + [(self.soap, 3, 0.0)])
                order.action_confirm()
                move = order._create_invoices()
                move.action_post()
                figures = (D(str(move.amount_untaxed)), D(str(move.amount_tax)), D(str(move.amount_total)))
                self.company.tax_calculation_rounding_method = paid_under  # changed in Settings before payment
                self.pay(move)
                self.run_jobs()
                self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
                [invoice] = self.documents_of(order)
                self.assertEqual(self.totals(invoice), figures, "the posted invoice's figures, as Odoo rounded them")
                self.assertBooksMatch(order)

    def test_an_order_paid_online_keeps_its_figures_when_the_rounding_method_changes(self):
        included = self.env["account.tax"].create({
            "name": "VAT 20% included", "amount": 20, "amount_type": "percent", "type_tax_use": "sale",
            "price_include_override": "tax_included", "company_id": self.company.id})
        cloth = self._create_product(name="Dish cloth", lst_price=0.99, taxes_id=[Command.set(included.ids)])
        self.company.tax_calculation_rounding_method = "round_globally"
        order = self.make_order(lines=[(cloth, 1, 0.0)] * 9 + [(self.soap, 3, 0.0)])
        figures = (D(str(order.amount_untaxed)), D(str(order.amount_tax)), D(str(order.amount_total)))
        self.company.tax_calculation_rounding_method = "round_per_line"  # changed before the payment came in
        self.pay_online(order)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        [invoice] = self.documents_of(order)
        self.assertEqual(self.totals(invoice), figures, "what the order holds, and what the customer was charged")
        self.company.tax_calculation_rounding_method = "round_globally"
        order.action_kashflow_resend()
        self.run_jobs()
        self.assertEqual(self.totals(self.documents_of(order)[0]), figures)

    # ------------------------------------------------------------------ 2. taxes that are not VAT

    def test_fixed_fee_is_a_line_of_its_own_without_vat(self):
        charges = self.env["kashflow.lookup"].search([("kind", "=", "nominal_code"), ("code", "=", "4905")])
        self.env["kashflow.channel"].search([("team_id", "=", self.webshop.id)]).charge_nominal_id = charges
        order = self.make_order(lines=[(self.blender, 1, 0.0)])
        self.assertEqual(order.amount_total, 31.0)
        self.pay_online(order)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        [invoice] = self.documents_of(order)
        self.assertEqual(self.totals(invoice), (D("26.00"), D("5.00"), D("31.00")))
        blender = next(line for line in invoice["Lines"] if "Blender" in line["Description"])
        fee = next(line for line in invoice["Lines"] if line["Description"] == "Recycling fee")
        self.assertEqual((D(blender["Rate"]), D(blender["VatRate"]), D(blender["VatAmount"])),
                         (D("25.00"), D("20"), D("5.00")))
        self.assertEqual((D(fee["Rate"]), D(fee["VatRate"]), D(fee["VatAmount"])), (D("1.00"), D("-1"), D("0")))
        self.assertEqual(fee["ChargeType"], charges.kashflow_id)
        self.assertBooksMatch(order)

    def test_a_tax_kashflow_cannot_represent_is_refused_by_name(self):
        self.fee.kashflow_treatment = "vat"  # someone says the fixed fee is VAT: KashFlow has no rate for it
        order = self.make_order(lines=[(self.blender, 2, 0.0)])
        self.pay_online(order)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "failed")
        self.assertIn("Recycling fee", order.kashflow_reason)
        self.assertEqual(self.state()["invoices"], [], "nothing is half-sent")

        self.fee.kashflow_treatment = "charge"
        order.action_kashflow_resend()
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        self.assertEqual(self.totals(self.documents_of(order)[0]), (D("52.00"), D("10.00"), D("62.00")))

    def test_two_vat_taxes_on_one_line_are_refused_by_name(self):
        order = self.make_order(lines=[(self.board, 1, 0.0)])
        order.order_line.tax_id = self.vat20 | self.vat5
        self.pay_online(order)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "failed")
        self.assertIn("VAT 20%", order.kashflow_reason)
        self.assertIn("VAT 5%", order.kashflow_reason)
        self.assertEqual(self.state()["customers"], [])

    def test_editing_a_sent_order_into_what_kashflow_cannot_take_is_never_refused(self):
        order = self.make_order(lines=[(self.board, 1, 0.0)])
        self.pay_online(order)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        order.order_line.tax_id = self.vat20 | self.vat5  # the seller's edit goes through
        self.assertEqual(order.kashflow_state, "changed")
        self.assertIn("several VAT taxes", order.kashflow_reason, "and the order says what KashFlow cannot take")
        order.action_kashflow_resend()
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "failed")
        self.assertIn("several VAT taxes", order.kashflow_reason)

    # ------------------------------------------------------------------ 3. the money received

    def test_payments_are_the_money_received_not_the_invoice_total(self):
        bread_maker = self._create_product(name="Bread maker", lst_price=100.0, taxes_id=[Command.set(self.vat20.ids)])
        order = self.make_order(lines=[(bread_maker, 1, 0.0)])  # 120.00 with VAT
        order.action_confirm()
        invoice = order._create_invoices()
        invoice.invoice_date = "2026-11-20"
        invoice.action_post()
        credit_note = self.credit_note(invoice, date="2026-11-22", quantity=1, price_unit=25.0)  # 30.00 goodwill
        self.assertEqual(credit_note.amount_total, 30.0)
        self.assertEqual(invoice.amount_residual, 90.0, "Odoo settles the invoice with its credit note when posted")
        self.pay(invoice, date="2026-11-24")
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual(order.kashflow_state, "queued")
        self.run_jobs()
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        documents = self.documents_of(order)
        self.assertEqual(sorted(self.totals(document)[2] for document in documents), [D("-30.00"), D("120.00")])
        [payment] = self.money_payments(order)
        self.assertEqual(D(str(payment["PayAmount"])), D("90.00"))
        self.assertTrue(payment["PayDate"].startswith("2026-11-24"))
        self.assertBooksMatch(order)

    def money(self, order):
        return sum((D(str(payment["PayAmount"])) for payment in self.money_payments(order)), D(0))

    def test_a_payment_taken_back_in_odoo_after_it_was_sent_is_deleted_from_kashflow(self):
        for how in ("unreconciled", "cancelled"):
            with self.subTest(how=how):
                order = self.make_order(lines=[(self.kettle, 1, 0.0)])  # 72.00
                invoice = self.pay_by_invoice(order)
                self.run_jobs()
                self.assertEqual(self.money(order), D("72.00"))
                payment = invoice._get_reconciled_payments()
                if how == "unreconciled":
                    invoice.line_ids.remove_move_reconcile()
                else:
                    payment.action_draft()
                    payment.action_cancel()
                self.assertEqual(order.kashflow_state, "queued", "no resend needed: the job goes by itself")
                self.run_jobs()
                self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
                self.assertEqual(self.money(order), D("0.00"))
                self.assertBooksMatch(order)

    def test_an_overpayment_paid_back_or_spent_on_another_order_is_counted_once(self):
        order = self.make_order(lines=[(self.kettle, 1, 0.0)])  # 72.00
        order.action_confirm()
        invoice = order._create_invoices()
        invoice.action_post()
        self.env["account.payment.register"].with_context(active_model="account.move", active_ids=invoice.ids).create(
            {"amount": 100.0, "payment_difference_handling": "open"})._create_payments()
        self.run_jobs()
        self.assertEqual(self.money(order), D("100.00"), "28.00 paid in excess, on the order's invoice")

        other = self.make_order(lines=[(self.filter, 1, 0.0)])  # 14.40, paid with 14.40 of the 28.00 left
        other.action_confirm()
        second = other._create_invoices()
        second.action_post()
        rest = invoice._get_reconciled_payments().move_id.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable" and not line.reconciled)
        second.js_assign_outstanding_line(rest.id)
        self.run_jobs()
        self.assertEqual(other.kashflow_state, "sent", other.kashflow_reason)
        self.assertEqual((self.money(order), self.money(other)), (D("85.60"), D("14.40")),
                         "the 100.00 received counted once: the 13.60 the customer keeps as credit stays with it")

        refund = self.env["account.payment"].create({
            "payment_type": "outbound", "partner_type": "customer", "partner_id": order.partner_id.id,
            "amount": 13.60, "journal_id": invoice._get_reconciled_payments().journal_id.id})
        refund.action_post()
        (rest | refund.move_id.line_ids).filtered(
            lambda line: line.account_id.account_type == "asset_receivable" and not line.reconciled).reconcile()
        self.run_jobs()
        self.assertEqual((self.money(order), self.money(other)), (D("72.00"), D("14.40")))
        self.assertEqual(sorted(D(str(payment["PayAmount"])) for payment in self.money_payments(order)),
                         [D("-13.60"), D("85.60")], "the money paid back is a payment of its own, on its own date")

    def test_an_invoice_reset_to_draft_after_it_was_sent_is_reported(self):
        order = self.make_order(lines=[(self.kettle, 1, 0.0)])
        invoice = self.pay_by_invoice(order)
        self.run_jobs()
        invoice.button_draft()
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "failed")
        self.assertIn("is no longer posted in Odoo", order.kashflow_reason)
        invoice.action_post()
        self.pay(invoice)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        self.assertEqual(len(self.documents_of(order)), 1, "the same KashFlow invoice")
        self.assertBooksMatch(order)

    def test_a_write_off_is_not_money(self):
        order = self.make_order(lines=[(self.kettle, 1, 0.0)])  # 72.00
        order.action_confirm()
        invoice = order._create_invoices()
        invoice.action_post()
        self.env["account.payment.register"].with_context(active_model="account.move", active_ids=invoice.ids).create({
            "amount": 70.0, "payment_difference_handling": "reconcile",
            "writeoff_account_id": self.company_data["default_account_expense"].id,
            "writeoff_label": "Bank charges"})._create_payments()
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        [payment] = self.money_payments(order)
        self.assertEqual(D(str(payment["PayAmount"])), D("70.00"))
        self.assertBooksMatch(order)

    def test_a_write_off_in_a_bank_reconciliation_is_not_money(self):
        order = self.make_order(lines=[(self.kettle, 1, 0.0)])  # 72.00, of which 70.00 reach the bank
        order.action_confirm()
        invoice = order._create_invoices()
        invoice.action_post()
        bank = self.company_data["default_journal_bank"]
        line = self.env["account.bank.statement.line"].create({
            "journal_id": bank.id, "amount": 70.0, "payment_ref": order.name, "partner_id": order.partner_id.id})
        receivable = invoice.line_ids.filtered(lambda item: item.account_id.account_type == "asset_receivable")
        suspense = line.move_id.line_ids.filtered(lambda item: item.account_id == bank.suspense_account_id)
        line.move_id.with_context(skip_readonly_check=True).write({"line_ids": [  # as the bank reconciliation does
            Command.update(suspense.id, {"account_id": receivable.account_id.id, "balance": -72.0,
                                         "amount_currency": -72.0, "name": invoice.name}),
            Command.create({"account_id": self.company_data["default_account_expense"].id, "balance": 2.0,
                            "amount_currency": 2.0, "name": "Bank charges", "partner_id": order.partner_id.id})]})
        (line.move_id.line_ids.filtered(lambda item: item.account_id == receivable.account_id) | receivable).reconcile()
        self.assertEqual(invoice.payment_state, "paid")
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        [payment] = self.money_payments(order)
        self.assertEqual(D(str(payment["PayAmount"])), D("70.00"), "the 2.00 written off is no money received")

    # ------------------------------------------------------------------ 4. cancelled orders

    def test_cancelled_before_its_job_runs_sends_nothing(self):
        order = self.make_order()
        self.pay_online(order)
        self.assertEqual(order.kashflow_state, "queued")
        order.with_context(disable_cancel_warning=True).action_cancel()
        self.assertEqual(order.kashflow_state, "cancelled")
        self.assertIn("Cancelled", order.kashflow_reason)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "cancelled")
        self.assertEqual(self.state()["invoices"], [])
        self.assertEqual(self.state()["customers"], [])

    def test_held_for_mapping_then_cancelled_is_never_released(self):
        order = self.make_order(team=self.amazon_fba)
        self.pay_online(order)
        self.assertEqual(order.kashflow_state, "needs_mapping")
        order.with_context(disable_cancel_warning=True).action_cancel()
        self.assertEqual(order.kashflow_state, "cancelled")
        self.download_and_map(teams=self.amazon_fba)
        self.assertEqual(order.kashflow_state, "cancelled")
        self.assertFalse(self.kashflow_jobs())

    def test_no_longer_paid_when_the_job_runs_sends_nothing(self):
        order = self.make_order()
        invoice = self.pay_by_invoice(order)
        self.assertEqual(order.kashflow_state, "queued")
        invoice.line_ids.remove_move_reconcile()  # the payment was a mistake
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "not_paid")
        self.assertIn("No longer paid", order.kashflow_reason)
        self.assertEqual(self.state()["invoices"], [])

    def test_cancelled_after_it_was_sent_gets_a_credit_note(self):
        order = self.make_order()  # paid online, never invoiced in Odoo: KashFlow's invoice is the order's
        self.pay_online(order)
        self.run_jobs()
        number = order.kashflow_invoice_number
        order.with_context(disable_cancel_warning=True).action_cancel()
        self.assertEqual(order.kashflow_state, "queued")
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        invoice, credit_note = sorted(self.documents_of(order), key=lambda document: document["InvoiceNumber"])
        self.assertEqual(invoice["InvoiceNumber"], number)
        self.assertEqual(self.totals(credit_note), (D("-54.99"), D("-11.00"), D("-65.99")))
        self.assertTrue(credit_note["CreditNote"])
        applications = [payment for payment in self.state()["payments"] if payment.get("CreditNoteApplication")]
        self.assertEqual(sorted(D(str(payment["PayAmount"])) for payment in applications), [D("-65.99"), D("65.99")])
        self.assertIn("credit note", order.message_ids[0].body)
        self.assertBooksMatch(order)

    # ------------------------------------------------------------------ 5. credit notes and refunds

    def returned_filter(self, faults=()):
        order = self.make_order(lines=[(self.kettle, 1, 0.0), (self.filter, 1, 0.0)])
        invoice = self.pay_by_invoice(order)
        self.run_jobs()
        self.assertEqual(self.totals(self.documents_of(order)[0])[2], D("86.40"))
        credit_note = self.credit_note(invoice, keep=self.filter)
        self.assertEqual(credit_note.amount_total, 14.40)
        self.assertEqual(order.kashflow_state, "queued", "a posted credit note goes to KashFlow by itself")
        self.pay(credit_note)  # the 14.40 refunded to the customer
        for fault in faults:
            self.sandbox.set_faults(**fault)
        for _attempt in range(4):
            self.run_jobs()
        return order, credit_note

    def assertFilterReturned(self, order):
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        invoice, credit_note = sorted(self.documents_of(order), key=lambda document: document["InvoiceNumber"])
        self.assertEqual(self.totals(invoice), (D("72.00"), D("14.40"), D("86.40")))
        self.assertEqual(self.totals(credit_note), (D("-12.00"), D("-2.40"), D("-14.40")))
        [line] = credit_note["Lines"]
        self.assertEqual((D(line["Quantity"]), D(line["Rate"]), D(line["VatAmount"])), (D(1), D("-12.00"), D("-2.40")))
        state = self.state()
        applications = [payment for payment in state["payments"] if payment.get("CreditNoteApplication")]
        self.assertEqual(sorted((payment["PayInvoice"], D(str(payment["PayAmount"]))) for payment in applications),
                         sorted([(invoice["InvoiceNumber"], D("14.40")), (credit_note["InvoiceNumber"], D("-14.40"))]))
        money = sorted(D(str(payment["PayAmount"])) for payment in self.money_payments(order))
        self.assertEqual(money, [D("-14.40"), D("86.40")], "the refund is recorded, once")
        self.assertEqual(len(state["invoices"]), 2)
        self.assertBooksMatch(order)
        kinds = order.kashflow_document_ids.filtered(lambda document: document.state == "sent").mapped("kind")
        self.assertEqual(sorted(kinds), ["credit_note", "invoice", "payment", "payment"])

    def test_returned_item_gets_a_credit_note_applied_and_the_refund_recorded(self):
        order, _credit_note = self.returned_filter()
        self.assertFilterReturned(order)

    def test_credit_note_exactly_once_when_answers_are_lost(self):
        order, _credit_note = self.returned_filter(faults=[
            {"operation": "InsertInvoice", "mode": "drop_after_commit"},
            {"operation": "applyCreditNoteToInvoice", "mode": "drop_after_commit"},
            {"operation": "InsertInvoicePayment", "mode": "drop_after_commit"},
        ])
        self.assertFilterReturned(order)

    def test_several_partial_credit_notes(self):
        order = self.make_order(lines=[(self.kettle, 1, 0.0), (self.filter, 3, 0.0)])  # 72 + 43.20
        invoice = self.pay_by_invoice(order)
        self.run_jobs()
        first = self.credit_note(invoice, keep=self.filter, quantity=1)
        second = self.credit_note(invoice, keep=self.filter, quantity=2)
        self.run_jobs()
        self.pay(first)
        self.pay(second)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        totals = sorted(self.totals(document)[2] for document in self.documents_of(order))
        self.assertEqual(totals, [D("-28.80"), D("-14.40"), D("115.20")])
        self.assertBooksMatch(order)

    # ------------------------------------------------------------------ 6. re-invoiced after a full credit note

    def test_reinvoiced_after_a_full_credit_note_is_sent_once_with_the_final_figures(self):
        order = self.make_order(lines=[(self.kettle, 1, 0.0)])
        order.action_confirm()
        first = order._create_invoices()
        first.action_post()
        wizard = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=first.ids).create({"reason": "Wrong price",
                                                                      "journal_id": first.journal_id.id})
        second = self.env["account.move"].browse(wizard.modify_moves()["res_id"])  # full credit note, new draft
        self.assertEqual(first.payment_state, "reversed")
        second.invoice_line_ids.price_unit = 55.0
        second.action_post()
        self.assertEqual(order.kashflow_state, "not_paid")
        self.pay(second)
        self.assertEqual(order.kashflow_state, "queued")
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        [invoice] = self.documents_of(order)
        self.assertEqual(self.totals(invoice), (D("55.00"), D("11.00"), D("66.00")))
        self.assertBooksMatch(order)

    # ------------------------------------------------------------------ 7. dates

    def test_backfill_picks_by_paid_date_and_dates_by_invoice_and_payment(self):
        self.company.write({"kashflow_enabled": False})
        order = self.make_order(date_order="2026-11-26 10:00:00")
        self.pay_by_invoice(order, payment_date="2026-11-29", invoice_date="2026-11-29")
        self.assertEqual(order.kashflow_state, "not_paid")
        self.company.write({"kashflow_enabled": True, "kashflow_start_date": "2026-11-28"})
        self.env["sale.order"]._kashflow_backfill()
        self.assertEqual(order.kashflow_state, "queued")
        self.run_jobs()
        [invoice] = self.documents_of(order)
        self.assertTrue(invoice["InvoiceDate"].startswith("2026-11-29"))
        self.assertTrue(self.money_payments(order)[0]["PayDate"].startswith("2026-11-29"))

    def test_resend_of_an_order_paid_before_the_start_date_excludes_it(self):
        self.company.write({"kashflow_enabled": False})
        order = self.make_order()
        self.pay_by_invoice(order, payment_date="2025-12-15")
        self.company.write({"kashflow_enabled": True})
        order.action_kashflow_resend()
        self.assertEqual(order.kashflow_state, "excluded")
        self.assertIn("2025-12-15", order.kashflow_reason)
        self.assertFalse(self.kashflow_jobs())

    def test_foreign_invoice_carries_the_rate_of_its_invoice_date(self):
        eur = self.setup_other_currency("EUR", rates=[("2026-01-01", 1.10), ("2026-11-20", 1.20)])
        order = self.make_order(currency=eur, lines=[(self.kettle, 1, 0.0)])
        self.pay_by_invoice(order, payment_date="2026-11-25", invoice_date="2026-10-15")
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        [invoice] = self.documents_of(order)
        self.assertTrue(invoice["InvoiceDate"].startswith("2026-10-15"))
        self.assertEqual(D(invoice["ExchangeRate"]), D("1.1"))
        self.assertBooksMatch(order)

    # ------------------------------------------------------------------ 8. free orders

    def test_free_order_is_sent_without_a_payment(self):
        order = self.make_order(lines=[(self.board, 1, 100.0)])
        self.assertEqual(order.amount_total, 0.0)
        order.action_confirm()
        self.assertEqual(order.kashflow_state, "queued", "nothing to pay: paid on confirmation")
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        [invoice] = self.documents_of(order)
        self.assertEqual(self.totals(invoice), (D("0.00"), D("0.00"), D("0.00")))
        self.assertEqual(self.state()["payments"], [])
        order.action_kashflow_resend()
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        self.assertEqual(len(self.state()["invoices"]), 1)
        order._action_cancel()  # cancelled after it was sent: nothing to reverse
        self.run_jobs()
        self.assertNotEqual(order.kashflow_state, "failed", order.kashflow_reason)
        self.assertEqual(len(self.state()["invoices"]), 1, "no credit note of 0.00")

    # ------------------------------------------------------------------ 9. characters XML cannot carry

    def test_control_characters_are_dropped_wherever_text_goes(self):
        napkins = self._create_product(name="Linen napkin\x0bset of 4", lst_price=18.0,
                                       taxes_id=[Command.set(self.vat20.ids)])
        buyer = self.env["res.partner"].create({
            "name": "Aoife\x01 Byrne", "email": "aoife@example.ie", "street": "2 Quay\x0c Street",
            "city": "Belfast\x1f", "zip": "BT1 1AA", "country_id": self.env.ref("base.uk").id})
        order = self.make_order(partner=buyer, lines=[(napkins, 2, 0.0)], client_order_ref="PO\x07 77")
        self.pay_online(order)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        [invoice] = self.documents_of(order)
        self.assertTrue(invoice["Lines"][0]["Description"].startswith("Linen napkin set of 4"))
        customer = self.state()["customers"][0]
        self.assertEqual((customer["Name"], customer["Address1"], customer["Address3"]),
                         ("Aoife Byrne", "2 Quay Street", "Belfast"))

    def test_the_kashflow_invoice_carries_odoos_number_and_each_line_said_once(self):
        """The number on the customer's copy (INV/...) finds the invoice in KashFlow, and its credit note's too; a
        line reads as Odoo's invoice line, without the repeat Odoo's label makes of a carrier's product name (the
        order line says "Royal Mail Tracked 48", Odoo's invoice line "[DEL-RM48] Royal Mail Tracked 48 Royal Mail
        Tracked 48") or of a product whose sales description is its name."""
        carrier = self._create_product(name="Royal Mail Tracked 48", default_code="DEL-RM48", lst_price=4.99,
                                       type="service", taxes_id=[Command.set(self.vat20.ids)])
        mug = self._create_product(name="Stoneware mug", default_code="MUG-1", description_sale="Stoneware mug",
                                   lst_price=9.0, taxes_id=[Command.set(self.vat20.ids)])
        order = self.make_order(lines=[(mug, 2, 0.0)])
        order.order_line = [
            Command.create({"product_id": mug.id, "name": "Stoneware mug - seconds (chipped)", "product_uom_qty": 1,
                            "price_unit": 6.0}),
            Command.create({"product_id": carrier.id, "name": "Royal Mail Tracked 48", "product_uom_qty": 1}),
            # the carrier's line when its product has a sales description (Odoo's Delivery app)
            Command.create({"product_id": carrier.id, "name": "Royal Mail Tracked 48: Signed for, 2 days",
                            "product_uom_qty": 1}),
        ]
        invoice = self.pay_by_invoice(order)
        self.assertEqual(invoice.invoice_line_ids.mapped("name"), [
            "[MUG-1] Stoneware mug\nStoneware mug", "[MUG-1] Stoneware mug Stoneware mug - seconds (chipped)",
            "[DEL-RM48] Royal Mail Tracked 48 Royal Mail Tracked 48",
            "[DEL-RM48] Royal Mail Tracked 48 Royal Mail Tracked 48: Signed for, 2 days"])
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        [booked] = self.documents_of(order)
        self.assertEqual(booked["CustomerReference"], f"{invoice.name} {order.name}")
        self.assertEqual([line["Description"] for line in booked["Lines"]], [
            "[MUG-1] Stoneware mug", "[MUG-1] Stoneware mug - seconds (chipped)", "[DEL-RM48] Royal Mail Tracked 48",
            "[DEL-RM48] Royal Mail Tracked 48: Signed for, 2 days"])

        credit_note = self.credit_note(invoice, keep=mug)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        [credited] = [document for document in self.documents_of(order) if document.get("CreditNote")]
        self.assertEqual(credited["CustomerReference"], f"{credit_note.name} {order.name}")
        self.assertBooksMatch(order)

    # ------------------------------------------------------------------ invoiced by Odoo after or with the payment

    def test_automatic_invoice_on_online_payment_books_one_invoice(self):
        self.env["ir.config_parameter"].sudo().set_param("sale.automatic_invoice", True)
        order = self.make_order()
        self.pay_online(order)
        self.assertEqual(len(order.invoice_ids), 1, "Odoo invoiced the order as it was paid")
        self.run_jobs()
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        [invoice] = self.documents_of(order)
        self.assertEqual(self.totals(invoice), (D("54.99"), D("11.00"), D("65.99")))
        self.assertEqual(len(self.money_payments(order)), 1)
        self.assertBooksMatch(order)

    def test_invoiced_in_odoo_after_it_was_sent_updates_the_same_invoice(self):
        order = self.make_order()
        self.pay_online(order)
        self.run_jobs()
        number = order.kashflow_invoice_number
        invoice = order._create_invoices()
        invoice.invoice_date = "2026-11-27"
        invoice.action_post()
        self.assertEqual(order.kashflow_state, "queued", "a posted invoice of a sent order goes to KashFlow")
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        [kashflow_invoice] = self.documents_of(order)
        self.assertEqual(kashflow_invoice["InvoiceNumber"], number, "the order's invoice, not a second one")
        self.assertTrue(kashflow_invoice["InvoiceDate"].startswith("2026-11-27"), "now dated as Odoo's invoice")
        self.assertEqual(len(self.money_payments(order)), 1)
        self.assertBooksMatch(order)

    def test_cancelled_order_whose_posted_invoice_stays_goes_to_kashflow(self):
        order = self.make_order(team=self.amazon_fba)  # its channel is not mapped yet: the order waits
        invoice = self.pay_by_invoice(order)
        self.assertEqual(order.kashflow_state, "needs_mapping")
        order.with_context(disable_cancel_warning=True).action_cancel()
        self.assertEqual(invoice.state, "posted", "cancelling the order leaves its invoice in Odoo's books")
        self.assertEqual(order.kashflow_state, "needs_mapping")
        self.assertIn("posted invoices stay in Odoo's books", order.message_ids[0].body)
        self.download_and_map(teams=self.amazon_fba)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        [kashflow_invoice] = self.documents_of(order)
        self.assertEqual(self.totals(kashflow_invoice), (D("54.99"), D("11.00"), D("65.99")))
        self.assertBooksMatch(order)

    def test_reinvoiced_after_it_was_sent_keeps_all_the_money_received(self):
        order = self.make_order(lines=[(self.filter, 2, 0.0), (self.filter, 1, 0.0)])  # 3 x 12.00: 43.20
        first = self.pay_by_invoice(order)
        self.run_jobs()
        payment_line = first._get_reconciled_payments().move_id.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable")
        first.line_ids.remove_move_reconcile()  # the payment taken off the invoice, which is then reversed
        wizard = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=first.ids).create({"reason": "Too much charged",
                                                                      "journal_id": first.journal_id.id})
        second = self.env["account.move"].browse(wizard.modify_moves()["res_id"])
        second.invoice_line_ids.price_unit = 10.0  # 3 x 10.00: 36.00
        second.action_post()
        second.js_assign_outstanding_line(payment_line.id)  # the 43.20 received pays the new 36.00 invoice
        self.assertEqual(second.payment_state, "paid")
        order._kashflow_accounting_changed()
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        money = sum((D(str(payment["PayAmount"])) for payment in self.money_payments(order)), D(0))
        self.assertEqual(money, D("43.20"), "the bank got 43.20: 7.20 stays paid in excess, as in Odoo")
        self.assertBooksMatch(order)
