"""After a lost answer, the connector looks for what KashFlow may have made: it never adopts a document another
order holds, and when KashFlow holds more than one it could be, it adopts none, sends nothing more and says so.

Marketplaces reuse order numbers across channels: two orders of one customer may both be EBAY-1001, on the same
day, for the same amount. Real Odoo, the sandbox over HTTP."""

from decimal import Decimal

from odoo.tests import tagged

from .common import KashFlowCase

D = Decimal


@tagged("post_install", "-at_install")
class TestLostAnswerLookups(KashFlowCase):
    def setUp(self):
        super().setUp()
        self.download_and_map()

    def twin_orders(self):
        """Two orders of the customer, both named EBAY-1001, for the same goods, paid by invoice the same day."""
        first = self.make_order(name="EBAY-1001")
        second = self.make_order(name="EBAY-1001")
        self.assertEqual(first.amount_total, second.amount_total)
        return first, second

    def run_until_done(self, rounds=6):
        for _round in range(rounds):
            if not self.run_jobs():
                break
        self.assertFalse(self.kashflow_jobs(), "no job is left waiting")

    def assertEachBoundToItsOwn(self, orders, invoices):
        """Each order is sent with an invoice of its own, and each of those invoices is paid in KashFlow as the
        order's Odoo invoice is (once, in full)."""
        state = self.state()
        numbers = orders.mapped("kashflow_invoice_number")
        self.assertEqual(orders.mapped("kashflow_state"), ["sent", "sent"])
        self.assertEqual(len(set(numbers)), 2, f"each order bound to its own KashFlow invoice, not {numbers}")
        self.assertEqual(sorted(invoice["InvoiceNumber"] for invoice in state["invoices"]), sorted(numbers),
                         "KashFlow holds the two invoices and nothing else")
        for order, invoice in zip(orders, invoices, strict=True):
            paid = [D(str(payment["PayAmount"])) for payment in state["payments"]
                    if payment["PayInvoice"] == order.kashflow_invoice_number]
            self.assertEqual(paid, [D(str(invoice.amount_total))], f"{order.name}'s invoice paid once, in full")

    def test_lost_invoice_answer_never_adopts_the_other_orders_invoice_of_the_same_name(self):
        """The first EBAY-1001 is sent; the second one's invoice reaches KashFlow but the answer is lost. Looking
        for it by its reference finds both invoices: the first order's is not adopted, the second's is; each is
        paid once."""
        first, second = self.twin_orders()
        first_invoice = self.pay_by_invoice(first)
        self.run_until_done()
        self.assertEqual(first.kashflow_state, "sent")
        second_invoice = self.pay_by_invoice(second)
        self.sandbox.set_faults(operation="InsertInvoice", mode="drop_after_commit", count=1)
        self.run_until_done()
        self.assertEqual(self.sandbox.call_counts(outcome="dropped"), {"InsertInvoice": 1}, "the answer was lost")
        self.assertEachBoundToItsOwn(first + second, first_invoice + second_invoice)

    def test_lost_payment_answer_never_adopts_the_other_orders_payment(self):
        """As above, with the second order's payment answer lost as well as its invoice's."""
        first, second = self.twin_orders()
        first_invoice = self.pay_by_invoice(first)
        self.run_until_done()
        second_invoice = self.pay_by_invoice(second)
        self.sandbox.set_faults(operation="InsertInvoice", mode="drop_after_commit", count=1)
        self.sandbox.set_faults(operation="InsertInvoicePayment", mode="drop_after_commit", count=1)
        self.run_until_done()
        self.assertEqual(self.sandbox.call_counts(outcome="dropped"),
                         {"InsertInvoice": 1, "InsertInvoicePayment": 1}, "both answers were lost")
        self.assertEachBoundToItsOwn(first + second, first_invoice + second_invoice)

    def test_two_invoices_that_could_be_the_one_sent_are_reported_and_none_is_adopted(self):
        """The answer to the order's invoice is lost, and KashFlow meanwhile holds a copy of it made there (same
        customer, date, reference and figures). The connector cannot tell which is Odoo's: it adopts neither,
        sends no third one, and the order says so, naming both."""
        order = self.make_order(name="EBAY-2002")
        self.pay_by_invoice(order)
        self.sandbox.set_faults(operation="InsertInvoice", mode="drop_after_commit", count=1)
        self.run_jobs()
        [sent] = self.state()["invoices"]
        client = self.company._kashflow_client()
        copy = client.get_invoice(sent["InvoiceNumber"])
        lines = [{**line, "LineID": 0} for line in copy["Lines"]]
        copy_number = client.insert_invoice({**copy, "InvoiceDBID": 0, "InvoiceNumber": 0, "Lines": lines})
        self.run_until_done()
        state = self.state()
        self.assertEqual(sorted(invoice["InvoiceNumber"] for invoice in state["invoices"]),
                         sorted([sent["InvoiceNumber"], copy_number]), "no third invoice")
        self.assertEqual(state["payments"], [], "no payment on either")
        self.assertEqual(order.kashflow_state, "failed")
        self.assertIn("could be it", order.kashflow_reason)
        self.assertIn(str(sent["InvoiceNumber"]), order.kashflow_reason)
        self.assertIn(str(copy_number), order.kashflow_reason)
        self.assertFalse(order.kashflow_document_ids.filtered("kashflow_number"), "nothing adopted")
