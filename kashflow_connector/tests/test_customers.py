"""One KashFlow customer per buyer, never another's; the bookkeeper's data left alone; a cost per order that does
not grow with history (KashFlow calls counted from the sandbox's own record of them)."""

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import KashFlowCase


@tagged("post_install", "-at_install")
class TestCustomers(KashFlowCase):
    def setUp(self):
        super().setUp()
        self.download_and_map()
        uk = self.env.ref("base.uk").id
        self.ayesha = self.env["res.partner"].create({
            "name": "Ayesha Khan", "email": "home@khanfamily.example", "street": "4 Manor Row", "city": "Bradford",
            "zip": "BD1 4PB", "country_id": uk})
        self.bilal = self.env["res.partner"].create({
            "name": "Bilal Khan", "email": "home@khanfamily.example", "street": "9 Granby Street",
            "city": "Leicester", "zip": "LE1 6FB", "country_id": uk})

    def send(self, partner=None, lines=None):
        order = self.make_order(partner=partner, lines=lines)
        self.pay_online(order)
        self.sandbox.clear_calls()
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        return order, self.sandbox.call_counts()

    def kashflow_customer(self, name):
        return next(customer for customer in self.state()["customers"] if customer["Name"] == name)

    # ------------------------------------------------------------------ whose customer

    def test_a_shared_email_never_hands_one_buyers_customer_to_another(self):
        first, _calls = self.send(self.ayesha)
        second, _calls = self.send(self.bilal)
        customers = self.state()["customers"]
        self.assertEqual(sorted(customer["Name"] for customer in customers), ["Ayesha Khan", "Bilal Khan"])
        self.assertEqual(self.kashflow_customer("Ayesha Khan")["Address3"], "Bradford")
        self.assertEqual(self.kashflow_customer("Bilal Khan")["Address3"], "Leicester")
        invoices = {invoice["CustomerReference"]: invoice["CustomerID"] for invoice in self.state()["invoices"]}
        self.assertEqual(invoices[first.name], self.kashflow_customer("Ayesha Khan")["CustomerID"])
        self.assertEqual(invoices[second.name], self.kashflow_customer("Bilal Khan")["CustomerID"])

    def test_a_customer_the_bookkeeper_made_is_adopted_by_email(self):
        client = self.company._kashflow_client()
        existing = client.insert_customer({
            "CustomerID": 0, "Code": "HANNAH1", "Name": "Mrs H Fletcher", "Email": "hannah.fletcher@example.co.uk",
            "EC": 0, "OutsideEC": 0, "Source": 0, "Discount": 0, "ShowDiscount": False, "PaymentTerms": 30,
            **{f"CheckBox{number}": 0 for number in range(1, 21)}, "Created": "2026-01-05T12:00:00",
            "Updated": "2026-01-05T12:00:00", "CurrencyID": 0})
        self.send()
        [customer] = self.state()["customers"]
        self.assertEqual((customer["CustomerID"], customer["Code"]), (existing, "HANNAH1"))
        self.assertEqual(customer["Name"], "Hannah Fletcher")
        self.assertEqual(customer["PaymentTerms"], 30, "the bookkeeper's payment terms stay")

    # ------------------------------------------------------------------ the bookkeeper's data

    def test_only_what_the_connector_owns_is_ever_changed(self):
        self.send()
        client = self.company._kashflow_client()
        [customer] = self.state()["customers"]
        kept = client.get_customer_by_id(customer["CustomerID"])
        kept.update({"PaymentTerms": 14, "Discount": 5, "ShowDiscount": True, "CheckBox3": 1, "Notes": "Trade",
                     "Source": 0})
        client.update_customer(kept)  # the bookkeeper at work in KashFlow

        _order, calls = self.send()
        self.assertNotIn("UpdateCustomer", calls, "nothing of the contact changed: the customer is not sent")

        self.customer.write({"street": "3 New Road", "phone": "0113 496 0001"})
        self.sandbox.clear_calls()
        self.run_jobs()
        self.assertEqual(self.sandbox.call_counts(), {"GetCustomerByID": 1, "UpdateCustomer": 1})
        [customer] = self.state()["customers"]
        self.assertEqual((customer["Address1"], customer["Telephone"]), ("3 New Road", "0113 496 0001"))
        self.assertEqual((customer["PaymentTerms"], customer["Discount"], customer["ShowDiscount"],
                          customer["CheckBox3"], customer["Notes"]), (14, "5", True, 1, "Trade"))

    # ------------------------------------------------------------------ calls per order

    def test_calls_per_order_at_the_floor(self):
        _order, calls = self.send()
        self.assertEqual(calls, {"GetCustomerByEmail": 1, "InsertCustomer": 1, "InsertInvoice": 1,
                                 "InsertInvoicePayment": 1}, "new customer: 3, and the one look-up by email")
        order, calls = self.send()
        self.assertEqual(calls, {"InsertInvoice": 1, "InsertInvoicePayment": 1}, "returning customer: 2")
        for _history in range(5):
            self.send()
        _order, calls = self.send()
        self.assertEqual(calls, {"InsertInvoice": 1, "InsertInvoicePayment": 1}, "flat as history grows")
        order.action_kashflow_resend()
        self.sandbox.clear_calls()
        self.run_jobs()
        self.assertEqual(self.sandbox.call_counts(), {}, "resend of an order KashFlow holds as it is: nothing")
        no_email = self.env["res.partner"].create({"name": "Cash Buyer"})
        _order, calls = self.send(no_email)
        self.assertEqual(calls, {"InsertCustomer": 1, "InsertInvoice": 1, "InsertInvoicePayment": 1})

    def test_a_lost_invoice_is_looked_for_only_around_its_own_attempt(self):
        for _history in range(3):
            self.send()
        order = self.make_order()
        self.pay_online(order)
        self.sandbox.set_faults(operation="InsertInvoice", mode="drop_after_commit")
        self.sandbox.clear_calls()
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "queued")
        main = order.kashflow_document_ids.filtered(lambda document: document.key == f"order:{order.id}")
        self.assertTrue(main.attempt_date, "the attempt was recorded before the insert, and kept")
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        calls = self.sandbox.call_counts()
        self.assertEqual(calls["GetInvoicesByDateRange"], 1)
        self.assertNotIn("GetInvoicesForCustomer", calls)
        self.assertEqual(calls["InsertInvoice"], 1, "found, not inserted again")
        self.assertEqual(len([invoice for invoice in self.state()["invoices"]
                              if invoice["CustomerReference"] == order.name]), 1)

    # ------------------------------------------------------------------ a contact edit

    def test_a_contact_edit_costs_the_same_whatever_its_orders(self):
        self.send()
        self.customer.write({"phone": "0113 496 0099"})  # the first edit warms the caches
        queries = []
        for more in (3, 30):
            orders = self.env["sale.order"].browse([self.make_order().id for _index in range(more)])
            orders.write({"state": "sale", "kashflow_state": "sent"})
            self.env["queue.job"].sudo().search([]).unlink()
            self.env.flush_all()
            with _Counter(self.env.cr) as counter:
                self.customer.write({"phone": f"0113 496 00{more}"})
                self.env.flush_all()
            queries.append(counter.count)
            self.assertEqual(len(self.kashflow_jobs()), 1, "one customer update queued")
        self.assertEqual(queries[0], queries[1], "a contact with ten times the orders costs no more")
        self.assertFalse(self.env["sale.order"].search_count([("kashflow_state", "=", "changed")]))

    def test_a_contact_update_kashflow_cannot_take_fails_on_the_contact_and_is_sent_once_corrected(self):
        """The update of a contact whose new email KashFlow cannot take fails, where the user looks: the job is
        *Failed* (never *Done* with the error as its result), the contact's chatter says why and what to do; saving
        the contact corrected sends the update."""
        self.send(self.ayesha)
        number = self.kashflow_customer("Ayesha Khan")["CustomerID"]
        too_long = "ayesha." * 40 + "khan@example.com"
        self.ayesha.email = too_long
        [job] = self.kashflow_jobs()
        self.run_jobs()
        job.invalidate_recordset()
        self.assertEqual(job.state, "failed")
        self.assertIn("KashFlow takes at most 255", job.exc_info or job.exc_message)
        note = self.ayesha.message_ids[:1].body
        self.assertIn(f"KashFlow customer {number} was not updated:", note)
        self.assertIn("Correct the contact and save it", note)
        self.assertEqual(self.kashflow_customer("Ayesha Khan")["Email"], "home@khanfamily.example", "unchanged")

        self.ayesha.email = "ayesha.khan@example.com"
        self.run_jobs()
        self.assertEqual(self.kashflow_customer("Ayesha Khan")["Email"], "ayesha.khan@example.com")
        self.assertEqual(self.env["queue.job"].sudo().search([("state", "=", "done")], order="id desc", limit=1)
                         .result, f"KashFlow customer {number} updated from Ayesha Khan.")

    # ------------------------------------------------------------------ settings

    def test_customer_codes_carry_a_prefix_of_the_database(self):
        prefix = self.company.kashflow_customer_prefix
        self.assertRegex(prefix, r"^OD[0-9A-Z]{1,6}K$")
        self.send()
        self.assertEqual(self.state()["customers"][0]["Code"], f"{prefix}{self.customer.id}")
        self.company.kashflow_customer_prefix = "SHOPB"
        self.send(self.env["res.partner"].create({"name": "No Email Ltd", "is_company": True}))
        self.assertIn("SHOPB", [customer["Code"][:5] for customer in self.state()["customers"]])
        with self.assertRaises(ValidationError):
            self.company.kashflow_customer_prefix = "SHOP-1"

    def test_a_switched_off_connector_holds_queued_orders_without_failing_them(self):
        order = self.make_order()
        self.pay_online(order)
        self.company.kashflow_enabled = False
        self.run_jobs()
        job = self.kashflow_jobs()
        self.assertEqual((order.kashflow_state, job.retry), ("queued", 0), "waiting, not failing")
        self.assertIn("switched off", job.result)
        self.assertEqual(self.state()["invoices"], [])
        self.company.kashflow_enabled = True
        job.eta = False
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)


class _Counter:
    """Counts the SQL queries a cursor runs inside the block."""

    def __init__(self, cr):
        self.cr = cr
        self.count = 0

    def __enter__(self):
        self.start = self.cr.sql_log_count
        return self

    def __exit__(self, *exc_info):
        self.count = self.cr.sql_log_count - self.start
