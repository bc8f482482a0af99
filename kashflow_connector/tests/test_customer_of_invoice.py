"""The KashFlow customer is the one Odoo's invoice is addressed to: the commercial contact of the invoice's partner
(who owes the money in Odoo's receivable), or, for an order sent before it has an invoice, of its *Invoice
Address*; never the ordering contact for its own sake. Real Odoo, the sandbox over HTTP."""

from decimal import Decimal

from odoo.tests import tagged

from .common import KashFlowCase

D = Decimal


@tagged("post_install", "-at_install")
class TestCustomerOfInvoice(KashFlowCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        uk = cls.env.ref("base.uk")
        cls.builders = cls.env["res.partner"].create({
            "name": "Northwind Builders Ltd", "is_company": True, "vat": "GB123456782",
            "email": "accounts@northwind.example",
            "street": "1 Canal Wharf", "city": "Leeds", "zip": "LS11 5PS", "country_id": uk.id})
        # the site manager who places the orders: a contact of their own, not one of the company's
        cls.manager = cls.env["res.partner"].create({
            "name": "Sam Carter", "email": "sam.carter@example.co.uk", "street": "8 Hill Rise", "city": "York",
            "zip": "YO1 7HH", "country_id": uk.id})

    def setUp(self):
        super().setUp()
        self.download_and_map()

    def customer_of(self, document):
        [customer] = [customer for customer in self.state()["customers"]
                      if customer["CustomerID"] == document["CustomerID"]]
        return customer

    def documents_of(self, order):
        return [document for document in self.state()["invoices"]
                if order.name in document["CustomerReference"].split(" ")]

    def assertBookedTo(self, order, partner, count=1):
        """Every KashFlow document of ``order`` is booked to ``partner``'s KashFlow customer, and KashFlow holds
        no customer for the ordering contact."""
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        held = self.documents_of(order)
        self.assertEqual(len(held), count, [document["CustomerReference"] for document in held])
        for document in held:
            customer = self.customer_of(document)
            self.assertEqual(customer["Name"], partner.name, document["CustomerReference"])
        binding = self.env["kashflow.customer"].search([("partner_id", "=", partner.id)])
        self.assertEqual({document["CustomerID"] for document in held}, {binding.kashflow_customer_id})
        self.assertNotIn(self.manager.name, [customer["Name"] for customer in self.state()["customers"]],
                         "the ordering contact is no KashFlow customer")

    def test_an_order_invoiced_to_its_invoice_address_is_booked_to_that_company(self):
        order = self.make_order(partner=self.manager, partner_invoice_id=self.builders.id)
        invoice = self.pay_by_invoice(order)
        self.assertEqual(invoice.partner_id, self.builders, "Odoo invoices the Invoice Address")
        self.run_jobs()
        self.assertBookedTo(order, self.builders)
        [document] = self.documents_of(order)
        customer = self.customer_of(document)
        self.assertEqual((customer["VATNumber"], customer["Postcode"]), ("GB123456782", "LS11 5PS"))
        [payment] = [payment for payment in self.state()["payments"]
                     if payment["PayInvoice"] == document["InvoiceNumber"]]
        self.assertEqual(D(str(payment["PayAmount"])), D(str(invoice.amount_total)))

    def test_an_invoice_readdressed_in_odoo_before_posting_is_booked_to_its_partner(self):
        order = self.make_order(partner=self.manager)
        order.action_confirm()
        invoice = order._create_invoices()
        invoice.partner_id = self.builders  # the bookkeeper addresses the invoice to the company that pays
        invoice.action_post()
        self.pay(invoice)
        self.run_jobs()
        self.assertBookedTo(order, self.builders)

    def test_an_order_paid_online_is_booked_to_its_invoice_address(self):
        order = self.make_order(partner=self.manager, partner_invoice_id=self.builders.id)
        self.pay_online(order)
        self.run_jobs()
        self.assertBookedTo(order, self.builders)

    def test_sent_from_its_lines_then_invoiced_to_another_customer_moves_to_that_customer(self):
        """Paid online as the site manager's (their own invoice address), sent; then Odoo's invoice is addressed to
        the company: KashFlow's invoice (the same one, now Odoo's) and its payment go to the company's customer."""
        order = self.make_order(partner=self.manager)
        self.pay_online(order)
        self.run_jobs()
        [before] = self.documents_of(order)
        self.assertEqual(self.customer_of(before)["Name"], self.manager.name)
        invoice = order._create_invoices()
        invoice.partner_id = self.builders
        invoice.action_post()
        self.assertIn(invoice.payment_state, ("paid", "in_payment"), "the online payment is reconciled with it")
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        [after] = self.documents_of(order)
        self.assertEqual(after["InvoiceNumber"], before["InvoiceNumber"], "the same KashFlow invoice")
        self.assertEqual(self.customer_of(after)["Name"], self.builders.name)
        self.assertEqual(after["CustomerReference"], f"{invoice.name} {order.name}")

    def test_each_invoice_of_one_order_is_booked_to_the_customer_it_is_addressed_to(self):
        """An order invoiced in two: the first invoice to the site manager, the second to their company. Each
        KashFlow invoice goes to the customer its Odoo invoice is addressed to, with what it owes; a resend sends
        nothing; a credit note on the second is booked to the company too."""
        order = self.make_order(partner=self.manager, lines=[(self.board, 2, 0.0)])
        order.action_confirm()
        first = order._create_invoices()
        first.invoice_line_ids.quantity = 1
        first.action_post()
        self.pay(first)
        second = order._create_invoices()
        second.partner_id = self.builders
        second.action_post()
        self.pay(second, amount=second.amount_total - 10)  # 10.00 still owed by the company
        self.assertEqual(order.kashflow_state, "not_paid")
        self.pay(second)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        booked = {document["CustomerReference"].split(" ")[0]: document for document in self.state()["invoices"]}
        self.assertEqual({name: self.customer_of(document)["Name"] for name, document in booked.items()},
                         {first.name: self.manager.name, second.name: self.builders.name})
        for move in (first, second):
            paid = sum((D(str(payment["PayAmount"])) for payment in self.state()["payments"]
                        if payment["PayInvoice"] == booked[move.name]["InvoiceNumber"]), D(0))
            self.assertEqual(paid, D(str(move.amount_total)), f"{move.name} paid as in Odoo")
        bindings = self.env["kashflow.customer"].search([("partner_id", "in", (self.manager | self.builders).ids)])
        self.assertEqual(len(bindings), 2, "one KashFlow customer per commercial contact")

        mark = self.sandbox.last_call()
        order.action_kashflow_resend()
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        sent = {name for name in self.sandbox.call_counts(since=mark) if name.startswith(("Insert", "Update"))}
        self.assertFalse(sent, "nothing changed: nothing sent")

        credit_note = self.credit_note(second)
        self.pay(credit_note)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        [held] = [document for document in self.state()["invoices"]
                  if document["CustomerReference"].startswith(f"{credit_note.name} ")]
        self.assertEqual(self.customer_of(held)["Name"], self.builders.name, "the company's credit note")
        run, _calls = self.reconcile()
        self.assertEqual((run.state, run.mismatches_found), ("done", 0), run.finding_ids.mapped("message"))

    def test_a_shared_invoice_of_several_ordering_contacts_is_booked_to_its_partner(self):
        """Two site staff order for their company; one invoice to the company for both: one KashFlow invoice, to
        the company's customer."""
        clerk = self.env["res.partner"].create({"name": "Ann Lee", "email": "ann.lee@example.co.uk"})
        orders = self.make_order(partner=self.manager, partner_invoice_id=self.builders.id) \
            | self.make_order(partner=clerk, partner_invoice_id=self.builders.id, lines=[(self.book, 1, 0.0)])
        orders.action_confirm()
        self.env["sale.advance.payment.inv"].with_context(active_model="sale.order", active_ids=orders.ids).create(
            {"advance_payment_method": "delivered"}).create_invoices()
        invoice = orders.invoice_ids
        self.assertEqual((len(invoice), invoice.partner_id), (1, self.builders))
        invoice.action_post()
        self.pay(invoice)
        for _round in range(4):
            if not self.run_jobs():
                break
        for order in orders:
            self.assertBookedTo(order, self.builders)
        self.assertEqual(len(self.state()["invoices"]), 1)
        self.assertNotIn(clerk.name, [customer["Name"] for customer in self.state()["customers"]])
