"""The checks read Odoo's books: the *Odoo* side of the reconciliation and of *VAT by Month* comes from the posted
customer invoices and credit notes themselves (each once, Odoo's own net and tax per rate, in the month of their
date), independently of what the connector sent; KashFlow's side from what KashFlow holds. A document KashFlow holds
twice, one it lacks and one that differs are each named, in words, with the Odoo document's name; the figures per
month equal Odoo's own tax report (worked out here from the journal items) for the same documents.

Real Odoo, the sandbox over HTTP.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from odoo.tests import tagged

from .common import KashFlowCase

D = Decimal
CENT = D("0.01")
OCTOBER = datetime.date(2026, 10, 15)
NOVEMBER = datetime.date(2026, 11, 10)


def money(value):
    return D(str(value)).quantize(CENT)


@tagged("post_install", "-at_install")
class TestChecksReadOdoosBooks(KashFlowCase):
    def setUp(self):
        super().setUp()
        self.download_and_map()
        self.kashflow = self.company._kashflow_client()

    # ------------------------------------------------------------------ helpers

    def reconciled(self, date_from, date_to):
        """A reconciliation of the test company over the period, run to the end (``reconcile``), done."""
        run, _calls = self.reconcile(date_from, date_to)
        self.assertEqual(run.state, "done", run.message)
        return run

    def copy_in_kashflow(self, number, **changes):
        """A copy of KashFlow's invoice ``number`` inserted straight into KashFlow, as a double booking leaves it (or,
        with ``changes``, as a bookkeeper types it again: another date, another reference); returns its number."""
        invoice = self.kashflow.get_invoice(number)
        self.assertTrue(invoice, f"KashFlow holds invoice {number}")
        copy = {**invoice, **changes, "InvoiceNumber": 0, "InvoiceDBID": 0,
                "Lines": [{**line, "LineID": 0} for line in changes.get("Lines", invoice["Lines"])]}
        copy_number = self.kashflow.insert_invoice(copy)
        self.assertNotEqual(copy_number, number)
        return copy_number

    def shared_invoice(self):
        """Two orders of one customer invoiced together (*Create Invoices*) on 10 November, paid and sent: the
        orders, the Odoo invoice and its KashFlow number."""
        orders = self.make_order() | self.make_order()
        orders.action_confirm()
        invoice = orders._create_invoices()
        self.assertEqual(len(invoice), 1, "one invoice for both orders")
        invoice.invoice_date = NOVEMBER
        invoice.action_post()
        self.pay(invoice, date=NOVEMBER)
        self.run_jobs()
        self.run_jobs()
        self.assertEqual(orders.mapped("kashflow_state"), ["sent", "sent"], orders.mapped("kashflow_reason"))
        [number] = {order.kashflow_invoice_number for order in orders}
        return orders, invoice, number

    @staticmethod
    def journal_figures(moves):
        """Odoo's own tax report of ``moves`` (posted customer invoices and credit notes), from their journal
        items: ``{(month, rate): (net, VAT)}``, net the product lines' balance taxed at the rate, VAT the tax lines'
        balance of the rate, both with the customer's sign (credit notes negative)."""
        figures = defaultdict(lambda: [D(0), D(0)])
        moves = moves.filtered(lambda move: move.state == "posted" and move.move_type in ("out_invoice", "out_refund"))
        for move in moves:
            month = move.invoice_date.strftime("%Y-%m")
            for line in move.line_ids:
                if line.display_type == "tax":
                    figures[(month, float(line.tax_line_id.amount))][1] -= money(line.balance)
                elif line.display_type == "product":
                    for tax in line.tax_ids:
                        figures[(month, float(tax.amount))][0] -= money(line.balance)
        return {key: tuple(value) for key, value in figures.items() if any(value)}

    def vat_by_month(self, side="odoo", month=None):
        """The *VAT by Month* pivot's figures of one side in the company's currency: ``{(month, rate): (net,
        VAT)}`` (``month`` alone when given)."""
        rows = self.env["kashflow.document.vat"]._read_group(
            [("company_id", "=", self.company.id)], ["date:month", "vat_rate"],
            [f"{side}_net_company:sum", f"{side}_vat_company:sum"])
        figures = {}
        for day, rate, net, vat in rows:
            key = (day.strftime("%Y-%m") if day else None, float(rate))
            value = (money(round(net, 2)), money(round(vat, 2)))
            if any(value) and (month is None or key[0] == month):
                figures[key] = value
        return figures

    @staticmethod
    def of_month(figures, month):
        return {key: value for key, value in figures.items() if key[0] == month}

    @staticmethod
    def times(figures, factor):
        return {key: tuple(amount * factor for amount in value) for key, value in figures.items()}

    def findings_text(self, run, orders=None):
        """What the run found and what the documents say, in words, as one text."""
        documents = self.env["kashflow.document"].search([("company_id", "=", self.company.id)])
        texts = run.finding_ids.mapped("message") + [text for text in documents.mapped("mismatch_reason") if text]
        if orders is not None:
            texts += [text for text in orders.mapped("kashflow_reason") if text]
        return "\n".join(texts)

    # ------------------------------------------------------------------ the tests

    def test_vat_by_month_odoo_side_equals_odoos_journal_items(self):
        """Orders of two months, at 20% and 5%, one with a partial credit note: per month and rate, VAT by Month's
        Odoo columns are Odoo's own tax report of those documents, and KashFlow's the same (nothing differs)."""
        orders = self.sent_order(lines=[(self.board, 2, 0.0), (self.book, 3, 0.0)], invoice_date=OCTOBER)
        orders |= self.sent_order(lines=[(self.book, 4, 0.0), (self.shipping, 1, 0.0)], team=self.ebay,
                                  invoice_date=datetime.date(2026, 10, 31))
        refunded = self.sent_order(lines=[(self.board, 1, 0.0), (self.book, 1, 0.0)], invoice_date=NOVEMBER)
        orders |= refunded
        orders |= self.sent_order(lines=[(self.board, 3, 15.0), (self.book, 1, 0.0)],
                                  invoice_date=datetime.date(2026, 11, 20))
        credit_note = self.credit_note(refunded.invoice_ids, keep=self.book, date=datetime.date(2026, 11, 12))
        self.pay(credit_note, date=datetime.date(2026, 11, 12))
        self.run_jobs()
        self.assertEqual(refunded.kashflow_state, "sent", refunded.kashflow_reason)
        self.assertEqual(credit_note.invoice_date, datetime.date(2026, 11, 12))

        run = self.reconciled(datetime.date(2026, 10, 1), datetime.date(2026, 11, 30))
        self.assertEqual(run.mismatches_found, 0, run.finding_ids.mapped("message"))

        books = self.journal_figures(orders.invoice_ids)
        self.assertEqual(books, {
            # 2 boards 50.00 + delivery 4.99; VAT 10.00 + 1.00
            ("2026-10", 20.0): (D("54.99"), D("11.00")),
            # 3 cookbooks 26.97 (VAT 1.35) + 4 cookbooks 35.96 (VAT 1.80)
            ("2026-10", 5.0): (D("62.93"), D("3.15")),
            # a board 25.00 (VAT 5.00) + 3 boards less 15% 63.75 (VAT 12.75)
            ("2026-11", 20.0): (D("88.75"), D("17.75")),
            # a cookbook 8.99 (VAT 0.45) twice, one credited back
            ("2026-11", 5.0): (D("8.99"), D("0.45")),
        }, "Odoo's own tax report of the documents")
        self.assertEqual(self.vat_by_month("odoo"), books, "VAT by Month's Odoo side is Odoo's tax report")
        self.assertEqual(self.vat_by_month("kashflow"), books, "KashFlow holds the same: nothing differs")

    def test_an_invoice_kashflow_holds_twice_is_named(self):
        """A copy of an order's invoice in KashFlow (a double booking): the run names the Odoo invoice; Odoo's side
        counts it once, KashFlow's twice."""
        order = self.sent_order(invoice_date=NOVEMBER)  # 2 boards and delivery: 54.99 + 11.00 VAT
        [invoice] = order.invoice_ids
        number = order.kashflow_invoice_number
        copy_number = self.copy_in_kashflow(number)
        held = [entry for entry in self.state()["invoices"]
                if entry["CustomerReference"] == f"{invoice.name} {order.name}"]
        self.assertEqual(sorted(entry["InvoiceNumber"] for entry in held), sorted([number, copy_number]))

        run = self.reconciled(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
        self.assertGreaterEqual(run.mismatches_found, 1, "the invoice KashFlow holds twice is a difference")
        self.assertIn(invoice.name, self.findings_text(run, order), "named with the Odoo invoice's name")
        self.assertEqual(order.kashflow_state, "mismatch", order.kashflow_reason)

        books = self.journal_figures(invoice)
        self.assertEqual(books, {("2026-11", 20.0): (D("54.99"), D("11.00"))})
        self.assertEqual(self.vat_by_month("odoo", "2026-11"), books, "Odoo counts the invoice once")
        self.assertEqual(self.vat_by_month("kashflow", "2026-11"), self.times(books, 2),
                         "KashFlow's side is what it holds: the invoice twice")

    def test_a_copy_deleted_in_kashflow_is_cleared_and_the_bookkeepers_own_sales_are_not_named(self):
        """Once the bookkeeper deletes the copy in KashFlow, the next run finds the books agree again; a sale entered
        in KashFlow alone (another reference) is never the connector's to name."""
        order = self.sent_order(invoice_date=NOVEMBER)
        [invoice] = order.invoice_ids
        copy_number = self.copy_in_kashflow(order.kashflow_invoice_number)
        own_sale = self.kashflow.get_invoice(order.kashflow_invoice_number)
        own_sale.update(InvoiceNumber=0, InvoiceDBID=0, CustomerReference="Market stall, 7 November",
                        Lines=[{**line, "LineID": 0} for line in own_sale["Lines"]])
        self.kashflow.insert_invoice(own_sale)
        november = (datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
        run = self.reconciled(*november)
        self.assertEqual(run.mismatches_found, 1, run.finding_ids.mapped("message"))
        self.assertEqual(run.finding_ids.message,
                         f"KashFlow invoice {copy_number} holds Odoo's {invoice.name} again, which KashFlow invoice "
                         f"{order.kashflow_invoice_number} already holds: its sales and VAT count twice in KashFlow. "
                         "Delete it in KashFlow; the connector keeps KashFlow invoice "
                         f"{order.kashflow_invoice_number}.")
        [copy] = order.kashflow_document_ids.filtered(lambda document: document.kashflow_number == copy_number)
        self.assertEqual((copy.kind, copy.move_id, copy.amount_total, copy.check_result),
                         ("invoice", invoice, 0.0, "differs"))
        [holder] = order.kashflow_document_ids.filtered(lambda document: document.move_id == invoice) - copy
        self.assertEqual(holder.check_result, "matches")

        self.kashflow.delete_invoice(copy_number)
        run = self.reconciled(*november)
        self.assertEqual(run.mismatches_found, 0, run.finding_ids.mapped("message"))
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        self.assertEqual((copy.state, copy.mismatch), ("removed", False))
        books = self.journal_figures(invoice)
        self.assertEqual(self.vat_by_month("odoo", "2026-11"), books)
        self.assertEqual(self.vat_by_month("kashflow", "2026-11"), books, "the copy no longer counts")

    def test_a_copy_of_a_credit_note_is_named(self):
        """A second copy of a credit note in KashFlow (its reference names the Odoo credit note): named, and counted
        on KashFlow's side alone."""
        order = self.sent_order(invoice_date=NOVEMBER)
        credit_note = self.credit_note(order.invoice_ids, keep=self.shipping, date=NOVEMBER)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        [held] = order.kashflow_document_ids.filtered(lambda document: document.move_id == credit_note)
        copy_number = self.copy_in_kashflow(held.kashflow_number)
        run = self.reconciled(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
        self.assertEqual(run.mismatches_found, 1, run.finding_ids.mapped("message"))
        self.assertIn(f"KashFlow credit note {copy_number} holds Odoo's {credit_note.name} again",
                      run.finding_ids.message)
        [copy] = order.kashflow_document_ids.filtered(lambda document: document.kashflow_number == copy_number)
        self.assertEqual(copy.kind, "credit_note")
        books = self.journal_figures(order.invoice_ids | credit_note)
        self.assertEqual(self.vat_by_month("odoo", "2026-11"), books, "Odoo counts the credit note once")
        copied = self.journal_figures(credit_note)  # negative: a credit note
        self.assertEqual(self.vat_by_month("kashflow", "2026-11"),
                         {key: (net + copied[key][0], vat + copied[key][1]) for key, (net, vat) in books.items()},
                         "KashFlow's side counts the copy too")

    def test_a_copy_typed_again_on_another_day_is_named_whatever_its_reference_says(self):
        """A bookkeeper types an Odoo invoice into KashFlow again from the customer's copy: dated another day of the
        period, on which Odoo has no document, with the invoice's number alone as its reference; another copy made
        from the order (its name and total). Each is named, and counted on KashFlow's side in its own month."""
        order = self.sent_order(invoice_date=datetime.date(2026, 11, 3))  # 54.99 + 11.00 VAT
        [invoice] = order.invoice_ids
        number = order.kashflow_invoice_number
        by_number = self.copy_in_kashflow(number, InvoiceDate=datetime.datetime(2026, 11, 24),
                                          CustomerReference=invoice.name)
        by_order = self.copy_in_kashflow(number, InvoiceDate=datetime.datetime(2026, 12, 1),
                                         CustomerReference=f"Order {order.name}")
        other = self.copy_in_kashflow(number, InvoiceDate=datetime.datetime(2026, 11, 25),
                                      CustomerReference=f"{order.name} (market stall)",
                                      Lines=[{**line, "Quantity": D(1)} for line in self.kashflow.get_invoice(
                                          number)["Lines"]][:1])  # another sale: another total

        run = self.reconciled(datetime.date(2026, 11, 1), datetime.date(2026, 12, 31))
        text = "\n".join(run.finding_ids.mapped("message"))
        for copy_number in (by_number, by_order):
            self.assertIn(f"KashFlow invoice {copy_number} holds Odoo's {invoice.name} again, which KashFlow invoice "
                          f"{number} already holds", text)
        self.assertNotIn(f"KashFlow invoice {other} ", text, "a sale of its own (another total) is not a copy")
        self.assertEqual(run.mismatches_found, 2, text)
        self.assertEqual((run.documents_total, run.documents_checked), (run.documents_checked,
                                                                        run.invoices_checked + run.payments_checked))
        books = self.journal_figures(invoice)
        self.assertEqual(self.vat_by_month("odoo"), books, "Odoo counts the invoice once, in its month")
        self.assertEqual(self.vat_by_month("kashflow"), {
            **self.times(books, 2), ("2026-12", 20.0): books[("2026-11", 20.0)]},
            "KashFlow's side: the invoice and the copy of 24 November in November, the other copy in December")

    def test_a_copy_named_by_any_order_of_a_shared_invoice_and_a_reused_number(self):
        """One invoice of two orders; in KashFlow a copy of it referencing each order by name (the same total): both
        are named. Deleted, and the number of one given by KashFlow to a sale of the bookkeeper's own: that sale is
        not named, and the books agree again."""
        orders, invoice, number = self.shared_invoice()
        copies = [self.copy_in_kashflow(number, CustomerReference=order.name) for order in orders]
        november = (datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
        run = self.reconciled(*november)
        text = "\n".join(run.finding_ids.mapped("message"))
        for copy_number in copies:
            self.assertIn(f"KashFlow invoice {copy_number} holds Odoo's {invoice.name} again", text)
        self.assertEqual(run.mismatches_found, 2, text)
        self.assertEqual(orders.mapped("kashflow_state"), ["mismatch", "mismatch"], "each order of the invoice says so")
        for order in orders:
            self.assertIn(f"holds Odoo's {invoice.name} again", order.kashflow_reason)

        for copy_number in copies:
            self.kashflow.delete_invoice(copy_number)
        own_sale = self.kashflow.get_invoice(number)
        own_sale.update(InvoiceNumber=0, InvoiceDBID=0, CustomerReference="Craft fair cash sale",
                        Lines=[{**line, "LineID": 0} for line in own_sale["Lines"]])
        own_number = self.kashflow.insert_invoice(own_sale)
        self.assertIn(own_number, copies, "KashFlow gave the sale a deleted copy's number")
        run = self.reconciled(*november)
        self.assertEqual(run.mismatches_found, 0, f"the sale {own_number} is the bookkeeper's own: "
                                                  f"{run.finding_ids.mapped('message')}")
        self.assertEqual(orders.mapped("kashflow_state"), ["sent", "sent"], orders.mapped("kashflow_reason"))
        books = self.journal_figures(invoice)
        self.assertEqual(self.vat_by_month("kashflow", "2026-11"), books, "the copies no longer count")

    def test_an_invoice_redated_in_kashflow_counts_in_kashflows_month_there(self):
        """An invoice of 28 November redated in KashFlow to 2 December: the difference is named; VAT by Month shows
        Odoo's figures in November and KashFlow's in December, as each side's VAT return counts them."""
        order = self.sent_order(invoice_date=datetime.date(2026, 11, 28))
        [invoice] = order.invoice_ids
        held = self.kashflow.get_invoice(order.kashflow_invoice_number)
        held["InvoiceDate"] = datetime.datetime(2026, 12, 2)
        self.kashflow.update_invoice(held)

        run = self.reconciled(datetime.date(2026, 11, 1), datetime.date(2026, 12, 31))
        self.assertEqual(run.mismatches_found, 1, run.finding_ids.mapped("message"))
        self.assertIn(invoice.name, run.finding_ids.message)
        books = self.journal_figures(invoice)
        self.assertEqual(self.vat_by_month("odoo"), books)
        self.assertEqual(self.vat_by_month("kashflow"), {("2026-12", rate): value
                                                         for (_month, rate), value in books.items()})

    def test_a_shared_invoice_that_differs_marks_each_of_its_orders(self):
        """One invoice of two orders, redated in KashFlow: both orders say *Mismatch*, with the difference; once
        put back in KashFlow, both are *Sent* again."""
        orders, invoice, number = self.shared_invoice()
        held = self.kashflow.get_invoice(number)
        original = dict(held)
        held["InvoiceDate"] = datetime.datetime(2026, 11, 12)
        self.kashflow.update_invoice(held)
        november = (datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
        run = self.reconciled(*november)
        self.assertEqual(run.mismatches_found, 1, run.finding_ids.mapped("message"))
        self.assertEqual(orders.mapped("kashflow_state"), ["mismatch", "mismatch"])
        for order in orders:
            self.assertIn(f"KashFlow invoice {number} ({invoice.name})", order.kashflow_reason)
        self.kashflow.update_invoice(original)
        self.reconciled(*november)
        self.assertEqual(orders.mapped("kashflow_state"), ["sent", "sent"], orders.mapped("kashflow_reason"))

    def test_an_invoice_kashflow_lacks_is_named_and_counted_on_the_odoo_side(self):
        """An order whose job failed (its contact's email address is longer than KashFlow takes): nothing of it
        reached KashFlow. The run names its Odoo invoice as missing from KashFlow; VAT by Month's Odoo side counts
        it, KashFlow's does not."""
        sent = self.sent_order(invoice_date=NOVEMBER)  # 54.99 + 11.00 VAT
        buyer = self.env["res.partner"].create({"name": "Jane Smith", "email": "jane." * 50 + "smith@example.com",
                                                "country_id": self.env.ref("base.uk").id})
        lost = self.make_order(lines=[(self.board, 1, 0.0), (self.book, 2, 0.0)], partner=buyer)
        self.pay_by_invoice(lost, invoice_date=NOVEMBER, payment_date=NOVEMBER)
        self.run_jobs()
        self.assertEqual(lost.kashflow_state, "failed", lost.kashflow_reason)
        self.assertIn("KashFlow takes at most 255", lost.kashflow_reason)
        [lost_invoice] = lost.invoice_ids
        self.assertEqual([entry["CustomerReference"] for entry in self.state()["invoices"]],
                         [f"{sent.invoice_ids.name} {sent.name}"], "KashFlow holds the sent order's invoice alone")

        run = self.reconciled(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
        self.assertGreaterEqual(run.mismatches_found, 1, "the invoice KashFlow lacks is a difference")
        text = self.findings_text(run, lost)
        self.assertIn(lost_invoice.name, text, "named with the Odoo invoice's name")
        self.assertIn("not in KashFlow", text)
        self.assertEqual((run.documents_total, run.documents_checked), (run.documents_checked,
                                                                        run.invoices_checked + run.payments_checked),
                         "the documents to check are those checked, the lacking order's included")

        books = self.journal_figures(sent.invoice_ids | lost_invoice)
        self.assertEqual(books, {
            ("2026-11", 20.0): (D("79.99"), D("16.00")),  # 54.99 + a board 25.00; VAT 11.00 + 5.00
            ("2026-11", 5.0): (D("17.98"), D("0.90")),  # 2 cookbooks
        })
        self.assertEqual(self.vat_by_month("odoo", "2026-11"), books, "Odoo's side counts the invoice KashFlow lacks")
        self.assertEqual(self.vat_by_month("kashflow", "2026-11"), self.journal_figures(sent.invoice_ids),
                         "KashFlow's side lacks it")

    def test_legacy_three_records_of_one_invoice_count_once(self):
        """One invoice of three orders, booked once; then what a version before shared invoices left: two more
        copies in KashFlow and a record of each on the other orders. The run names the invoice as held more than
        once; VAT by Month's Odoo side counts the invoice once."""
        orders = self.env["sale.order"]
        for quantity in (1, 2, 3):
            orders |= self.make_order(lines=[(self.board, quantity, 0.0)])
        orders.action_confirm()
        self.env["sale.advance.payment.inv"].with_context(active_model="sale.order", active_ids=orders.ids).create(
            {"advance_payment_method": "delivered"}).create_invoices()
        invoice = orders.invoice_ids
        self.assertEqual(len(invoice), 1, "one invoice for the three orders")
        invoice.invoice_date = NOVEMBER
        invoice.action_post()
        self.pay(invoice, date=NOVEMBER)
        for _round in range(6):
            if not self.run_jobs():
                break
        self.assertEqual(orders.mapped("kashflow_state"), ["sent"] * 3, orders.mapped("kashflow_reason"))
        [held] = self.state()["invoices"]
        number = held["InvoiceNumber"]
        [record] = self.env["kashflow.document"].search([("key", "=", f"move:{invoice.id}")])

        # As the version before shared invoices left it: each other order sent the invoice again, as its own.
        copies = []
        for order in orders - record.order_id:
            copy_number = self.copy_in_kashflow(number)
            copies.append(copy_number)
            copy = self.kashflow.get_invoice(copy_number)
            self.env["kashflow.document"].sudo().create({
                "order_id": order.id, "key": f"order:{order.id}", "kind": "invoice", "move_id": invoice.id,
                "kashflow_number": copy_number, "kashflow_dbid": copy["InvoiceDBID"], "date": invoice.invoice_date,
                "currency_id": invoice.currency_id.id, "amount_total": invoice.amount_total,
                "reference": f"{invoice.name} {order.name}"})
        self.assertEqual(len(self.state()["invoices"]), 3)

        run = self.reconciled(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
        self.assertGreaterEqual(run.mismatches_found, 1, "the invoice KashFlow holds three times is a difference")
        text = self.findings_text(run, orders)
        self.assertIn(invoice.name, text, "named with the Odoo invoice's name")

        books = self.journal_figures(invoice)
        self.assertEqual(books, {("2026-11", 20.0): (D("150.00"), D("30.00"))}, "6 boards")
        self.assertEqual(self.vat_by_month("odoo", "2026-11"), books, "Odoo counts the invoice once")
        self.assertEqual(self.vat_by_month("kashflow", "2026-11"), self.times(books, 3),
                         "KashFlow's side is what it holds: the invoice three times")
