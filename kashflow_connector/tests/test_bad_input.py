"""Bad input: each goes to KashFlow correctly, or the order fails with a message that says what to fix; never
silently, and never half-sent. Real Odoo, the sandbox over HTTP.

Text of any script and length, contacts without email or address, odd lines (free, negative, fractional, a
tenth of a penny, a thousand of them), prices including VAT, mixed VAT rates under an order-wide discount,
customers in Northern Ireland, the EU and the rest of the world, currencies KashFlow lacks or whose rate moved,
and answers that are not KashFlow's.
"""

from decimal import Decimal

from odoo import Command
from odoo.tests import tagged

from .common import KashFlowCase

D = Decimal
# XML's own characters, accents, CJK, right-to-left scripts, emoji (one joined from three).
EXOTIC = "Zoë & Søn <Ltd> \"quoted\" 'single' 株式会社テスト شركة الاختبار חברת בדיקה 🦊 👩\u200d👩\u200d👧"


@tagged("post_install", "-at_install")
class TestBadInput(KashFlowCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uk = cls.env.ref("base.uk")
        cls.vat0 = cls.env["account.tax"].create({
            "name": "Zero rated", "amount": 0, "amount_type": "percent", "type_tax_use": "sale",
            "company_id": cls.company.id})
        cls.exempt = cls.env["account.tax"].create({
            "name": "Exempt", "amount": 0, "amount_type": "percent", "type_tax_use": "sale",
            "company_id": cls.company.id})
        cls.vat20_included = cls.env["account.tax"].create({
            "name": "VAT 20% included", "amount": 20, "amount_type": "percent", "type_tax_use": "sale",
            "price_include_override": "tax_included", "company_id": cls.company.id})
        cls.kettle = cls._create_product(name="Stainless kettle", lst_price=60.0,
                                         taxes_id=[Command.set(cls.vat20.ids)])

    def setUp(self):
        super().setUp()
        self.mapping = self.download_and_map()

    # ------------------------------------------------------------------ helpers

    def send(self, order):
        """Pay ``order`` online and run the KashFlow jobs; returns the order."""
        self.pay_online(order)
        self.run_jobs()
        return order

    def assertSent(self, order):
        self.assertEqual((order.kashflow_state, order.kashflow_reason), ("sent", False))

    def invoice_of(self, order):
        [invoice] = [invoice for invoice in self.state()["invoices"]
                     if order.name in invoice["CustomerReference"].split(" ")]
        return invoice

    def customer_of(self, partner):
        binding = self.env["kashflow.customer"].search([("partner_id", "=", partner.commercial_partner_id.id)])
        [customer] = [customer for customer in self.state()["customers"]
                      if customer["CustomerID"] == binding.kashflow_customer_id]
        return customer

    def totals(self, invoice):
        return D(invoice["NetAmount"]), D(invoice["VATAmount"]), D(invoice["NetAmount"]) + D(invoice["VATAmount"])

    def odoo_totals(self, order):
        return tuple(D(str(amount)).quantize(D("0.01"))
                     for amount in (order.amount_untaxed, order.amount_tax, order.amount_total))

    def line_figures(self, invoice):
        """Each KashFlow line as (Quantity, Rate, VatRate, VatAmount, Description)."""
        return [(D(line["Quantity"]), D(line["Rate"]), D(line["VatRate"]), D(line["VatAmount"]), line["Description"])
                for line in invoice["Lines"]]

    def contact(self, name, **values):
        return self.env["res.partner"].create({"name": name, **values})

    # ------------------------------------------------------------------ 1. text of any script and length

    def test_names_addresses_and_descriptions_of_any_script_go_as_they_are(self):
        buyer = self.contact(EXOTIC, email="zoe@example.com", street="東京都千代田区1-1 & <Suite 5>",
                             street2="شارع الملك فهد", city="Tel Aviv-Yafo תל אביב", zip="SW1A 1AA",
                             country_id=self.uk.id)
        teapot = self._create_product(name=f"Teapot {EXOTIC}", lst_price=30.0, taxes_id=[Command.set(self.vat20.ids)])
        order = self.send(self.make_order(partner=buyer, lines=[(teapot, 1, 0.0)]))

        self.assertSent(order)
        customer = self.customer_of(buyer)
        self.assertEqual((customer["Name"], customer["Contact"], customer["Email"]),
                         (EXOTIC, EXOTIC, "zoe@example.com"))
        self.assertEqual((customer["Address1"], customer["Address2"], customer["Address3"]),
                         ("東京都千代田区1-1 & <Suite 5>", "شارع الملك فهد", "Tel Aviv-Yafo תל אביב"))
        invoice = self.invoice_of(order)
        self.assertEqual(self.line_figures(invoice),
                         [(D(1), D("30.00"), D(20), D("6.00"), f"Teapot {EXOTIC}")])

    def test_text_longer_than_kashflow_takes_is_cut_to_its_field(self):
        long_name = "The Very Long Named Artisan Cheese and Charcuterie Emporium of the Yorkshire Dales " * 2
        buyer = self.contact(long_name, is_company=True, email="orders@cheese.example",
                             street="Unit 7, The Old Granary Business Park, Station Road Industrial Estate, " * 2,
                             city="Llanfairpwllgwyngyll" * 6, zip="LL61 5UJ", country_id=self.uk.id)
        board = self._create_product(name="Hand-made oak chopping board " * 25, lst_price=25.0,
                                     taxes_id=[Command.set(self.vat20.ids)])
        order = self.send(self.make_order(partner=buyer, lines=[(board, 3, 10.0)]))

        self.assertSent(order)
        customer = self.customer_of(buyer)
        self.assertEqual(customer["Name"], "The Very Long Named Artisan Cheese and Charcuterie Emporium of the"
                                           " Yorkshire Dales The Very Long Na…")
        self.assertEqual(customer["Address1"], "Unit 7, The Old Granary Business Park, Station Road Industrial"
                                               " Estate, Unit 7, The Old Granary Busi…")
        self.assertEqual(customer["Address3"], "Llanfairpwllgwyngyll" * 4 + "Llanfairpwllgwyngyl…")
        [line] = self.invoice_of(order)["Lines"]
        self.assertEqual(len(line["Description"]), 500)
        self.assertEqual(line["Description"],
                         "Hand-made oak chopping board " * 16 + "Hand-made oak choppi… (10% discount)")
        self.assertEqual((D(line["Quantity"]), D(line["Rate"]), D(line["VatAmount"])), (D(3), D("22.50"), D("13.50")))

    def test_an_email_address_longer_than_kashflow_takes_fails_the_order_until_it_is_corrected(self):
        buyer = self.contact("Jane Smith", email="jane." * 50 + "smith@example.com", country_id=self.uk.id)
        order = self.send(self.make_order(partner=buyer))

        self.assertEqual(order.kashflow_state, "failed")
        self.assertEqual(order.kashflow_reason, (
            "The email address of the contact Jane Smith is 267 characters long (jane.jane.jane.jane.jane.jane.jane.ja"
            "ne…); KashFlow takes at most 255. Correct it on the contact in Odoo, then send the order to KashFlow"
            " again."))
        self.assertEqual((self.state()["customers"], self.state()["invoices"]), ([], []), "nothing is half-sent")

        buyer.email = "jane.smith@example.com"
        order.action_kashflow_resend()
        self.run_jobs()
        self.assertSent(order)
        self.assertEqual(self.customer_of(buyer)["Email"], "jane.smith@example.com")

    def test_a_contact_edited_to_a_value_kashflow_cannot_take_leaves_its_customer_as_it_was_and_says_why(self):
        buyer = self.contact("Jane Smith", email="jane@example.com", phone="0113 496 0000", country_id=self.uk.id)
        self.send(self.make_order(partner=buyer))
        buyer.phone = "+44 113 496 0000 (evenings) or +44 113 496 0001 (day)"
        [job] = self.kashflow_jobs()
        self.run_jobs()

        reason = ("The phone number of the contact Jane Smith is 53 characters long (+44 113 496 0000 (evenings) or +44"
                  " 113…); KashFlow takes at most 50. Correct it on the contact in Odoo, then send the order to "
                  "KashFlow again.")
        self.assertEqual((job.state, job.exc_message), ("failed", reason), "a failure, never a job done")
        self.assertIn(reason, buyer.message_ids[:1].body, "the contact says why")
        self.assertEqual(self.customer_of(buyer)["Telephone"], "0113 496 0000")
        order = self.send(self.make_order(partner=buyer))
        self.assertEqual((order.kashflow_state, order.kashflow_reason), ("failed", reason), "its next order says so")

    def test_an_order_reference_longer_than_kashflow_takes_fails_the_order_until_it_is_shortened(self):
        order = self.make_order()
        order.name = "WEBSHOP-UK-" + "0" * 95 + "42"
        self.send(order)

        self.assertEqual(order.kashflow_state, "failed")
        self.assertEqual(order.kashflow_reason, (
            f"The reference of order WEBSHOP-UK-{'0' * 28}… is 108 characters long (WEBSHOP-UK-{'0' * 28}…);"
            " KashFlow takes at most 100. Give the order a shorter Order Reference in Odoo, then send it to KashFlow"
            " again."))
        self.assertEqual(self.state()["invoices"], [])

        order.name = "WEBSHOP-UK-42"
        order.action_kashflow_resend()
        self.run_jobs()
        self.assertSent(order)
        self.assertEqual(self.totals(self.invoice_of(order)), (D("54.99"), D("11.00"), D("65.99")))

    # ------------------------------------------------------------------ 2. contacts

    def test_a_contact_without_email_is_created_without_looking_for_one(self):
        buyer = self.contact("Gareth Davies", street="3 Harbour Road", city="Swansea", zip="SA1 1AA",
                             country_id=self.uk.id)
        mark = self.sandbox.last_call()
        order = self.send(self.make_order(partner=buyer))

        self.assertSent(order)
        customer = self.customer_of(buyer)
        self.assertNotIn("Email", {name for name, value in customer.items() if value})
        self.assertEqual(self.sandbox.call_counts(since=mark),
                         {"InsertCustomer": 1, "InsertInvoice": 1, "InsertInvoicePayment": 1})

    def test_a_contact_without_address_is_a_domestic_customer_without_one(self):
        buyer = self.contact("Priya Shah", email="priya@example.co.uk")
        order = self.send(self.make_order(partner=buyer))

        self.assertSent(order)
        customer = self.customer_of(buyer)
        self.assertEqual({name: customer.get(name) for name in (
            "Name", "Contact", "Email", "Address1", "Address2", "Address3", "Address4", "Postcode", "CountryCode",
            "EC", "OutsideEC", "CustHasDeliveryAddress")}, {
            "Name": "Priya Shah", "Contact": "Priya Shah", "Email": "priya@example.co.uk", "Address1": None,
            "Address2": None, "Address3": None, "Address4": None, "Postcode": None, "CountryCode": None, "EC": 0,
            "OutsideEC": 0, "CustHasDeliveryAddress": 0})
        invoice = self.invoice_of(order)
        self.assertFalse(invoice["UseCustomDeliveryAddress"])
        self.assertEqual(self.totals(invoice), (D("54.99"), D("11.00"), D("65.99")))

    def test_a_company_with_a_person_as_its_invoice_address(self):
        company = self.contact("Acme Trading Ltd", is_company=True, email="office@acme.example",
                               street="1 Factory Lane", city="Sheffield", zip="S1 2AA", country_id=self.uk.id,
                               vat="GB123456789")
        jane = self.contact("Jane Doe", parent_id=company.id, type="invoice", email="accounts@acme.example",
                            street="PO Box 77", city="Sheffield", zip="S1 9ZZ", country_id=self.uk.id)
        order = self.make_order(partner=company)
        self.assertEqual(order.partner_invoice_id, jane)
        self.send(order)

        self.assertSent(order)
        customer = self.customer_of(company)
        self.assertEqual({name: customer.get(name) for name in (
            "Name", "Contact", "Email", "Address1", "Address3", "Postcode", "VATNumber", "EC", "OutsideEC",
            "CustHasDeliveryAddress", "DeliveryAddress1", "DeliveryPostcode")}, {
            "Name": "Acme Trading Ltd", "Contact": "Jane Doe", "Email": "accounts@acme.example",
            "Address1": "PO Box 77", "Address3": "Sheffield", "Postcode": "S1 9ZZ", "VATNumber": "GB123456789",
            "EC": 0, "OutsideEC": 0, "CustHasDeliveryAddress": 1, "DeliveryAddress1": "1 Factory Lane",
            "DeliveryPostcode": "S1 2AA"})
        invoice = self.invoice_of(order)
        self.assertTrue(invoice["UseCustomDeliveryAddress"], "invoiced to the PO box, delivered to the factory")
        self.assertEqual(invoice["DeliveryAddress"], {
            "Name": "Acme Trading Ltd", "Line1": "1 Factory Lane", "Line2": None, "Line3": "Sheffield", "Line4": None,
            "PostCode": "S1 2AA", "CountryName": "United Kingdom", "CountryCode": "GB"})

    # ------------------------------------------------------------------ 3. odd lines

    def test_free_negative_returned_and_fractional_lines(self):
        fabric = self._create_product(name="Linen fabric (metre)", lst_price=3.99,
                                      taxes_id=[Command.set(self.vat20.ids)])
        order = self.make_order(lines=[(self.board, 2, 0.0), (self.kettle, 1, 0.0), (self.kettle, 1, 0.0),
                                       (self.board, -1, 0.0), (fabric, 2.5, 0.0)])
        gift, goodwill = order.order_line[1:3]
        gift.write({"name": "Free gift: kettle", "price_unit": 0.0})
        goodwill.write({"name": "Goodwill for a late delivery", "price_unit": -5.0})
        self.assertEqual(self.odoo_totals(order), (D("29.98"), D("6.00"), D("35.98")))
        self.send(order)

        self.assertSent(order)
        invoice = self.invoice_of(order)
        self.assertEqual(self.line_figures(invoice), [
            (D(2), D("25.00"), D(20), D("10.00"), "[OAK-BOARD] Oak chopping board"),
            (D(1), D("0.00"), D(20), D("0.00"), "Free gift: kettle"),
            (D(1), D("-5.00"), D(20), D("-1.00"), "Goodwill for a late delivery"),
            (D(1), D("-25.00"), D(20), D("-5.00"), "[OAK-BOARD] Oak chopping board"),
            (D(1), D("9.98"), D(20), D("2.00"), "Linen fabric (metre) (2.5 × 3.99)"),
        ])
        self.assertEqual(self.totals(invoice), self.odoo_totals(order))
        [payment] = self.state()["payments"]
        self.assertEqual(D(payment["PayAmount"]), D("35.98"))

    def test_a_unit_price_of_a_tenth_of_a_penny(self):
        self.env.ref("product.decimal_price").digits = 3
        screw = self._create_product(name="Brass screw", lst_price=0.001, taxes_id=[Command.set(self.vat20.ids)])
        order = self.make_order(lines=[(screw, 1000, 0.0), (screw, 7, 0.0)])
        self.assertEqual(order.order_line.mapped("price_unit"), [0.001, 0.001])
        self.assertEqual(self.odoo_totals(order), (D("1.01"), D("0.20"), D("1.21")))
        self.send(order)

        self.assertSent(order)
        invoice = self.invoice_of(order)
        self.assertEqual(self.line_figures(invoice), [
            (D(1), D("1.00"), D(20), D("0.20"), "Brass screw (1000 × 0.001)"),
            (D(1), D("0.01"), D(20), D("0.00"), "Brass screw (7 × 0.001)"),
        ])
        self.assertEqual(self.totals(invoice), (D("1.01"), D("0.20"), D("1.21")))

    def test_a_thousand_line_order(self):
        lines = [(self.board if number % 2 else self.book, number % 3 + 1, 0.0) for number in range(1000)]
        order = self.make_order(lines=lines)
        self.send(order)  # about 1.5 s for the job against the sandbox (speed is make bench's to measure)

        self.assertSent(order)
        invoice = self.invoice_of(order)
        self.assertEqual(len(invoice["Lines"]), 1000)
        self.assertEqual([line["Sort"] for line in invoice["Lines"]], list(range(1, 1001)))
        self.assertEqual(self.totals(invoice), self.odoo_totals(order))
        self.assertEqual(self.totals(invoice), (D("33965.00"), D("5445.00"), D("39410.00")))
        [payment] = self.state()["payments"]
        self.assertEqual(D(payment["PayAmount"]), D("39410.00"))

    # ------------------------------------------------------------------ 4. prices with VAT, mixed rates, discounts

    def test_prices_including_vat_from_a_price_list(self):
        towel = self._create_product(name="Tea towel", lst_price=24.99, taxes_id=[Command.set(self.vat20_included.ids)])
        shop_prices = self.env["product.pricelist"].create({
            "name": "Shop prices (VAT included)", "currency_id": self.gbp.id, "company_id": self.company.id,
            "item_ids": [Command.create({"applied_on": "1_product", "product_tmpl_id": towel.product_tmpl_id.id,
                                         "compute_price": "fixed", "fixed_price": 19.99})]})
        order = self.make_order(lines=[(towel, 3, 0.0), (towel, 1, 0.0)], pricelist_id=shop_prices.id)
        self.assertEqual(order.order_line.mapped("price_unit"), [19.99, 19.99])
        self.assertEqual(self.odoo_totals(order), (D("66.63"), D("13.33"), D("79.96")))
        self.send(order)

        self.assertSent(order)
        invoice = self.invoice_of(order)
        self.assertEqual(self.line_figures(invoice), [
            (D(1), D("49.97"), D(20), D("10.00"), "Tea towel (3 × 16.6567)"),
            (D(1), D("16.66"), D(20), D("3.33"), "Tea towel"),
        ])
        self.assertEqual(self.totals(invoice), (D("66.63"), D("13.33"), D("79.96")))

    def test_mixed_vat_rates_zero_rated_and_exempt_lines_with_an_order_wide_discount(self):
        self.assertEqual(self.exempt.kashflow_treatment, "exempt", "the UK chart's 0% Exempt is KashFlow's exempt")
        atlas = self._create_product(name="Road atlas", lst_price=12.0, taxes_id=[Command.set(self.vat0.ids)])
        lesson = self._create_product(name="Cookery lesson", lst_price=40.0, taxes_id=[Command.set(self.exempt.ids)])
        stamps = self._create_product(name="Postage stamps", lst_price=6.80, taxes_id=[Command.clear()])
        order = self.make_order(lines=[(self.board, 2, 0.0), (self.book, 1, 0.0), (atlas, 1, 0.0), (lesson, 1, 0.0),
                                       (stamps, 1, 0.0)])
        self.env["sale.order.discount"].create({
            "sale_order_id": order.id, "discount_type": "so_discount", "discount_percentage": 0.1,
        }).action_apply_discount()
        self.assertEqual(len(order.order_line), 10, "Odoo's global discount: one line per set of taxes")
        self.assertEqual(self.odoo_totals(order), (D("106.01"), D("9.40"), D("115.41")))
        self.send(order)

        self.assertSent(order)
        invoice = self.invoice_of(order)
        figures = sorted((rate, amount, vat) for _quantity, amount, rate, vat, _text in self.line_figures(invoice))
        self.assertEqual(figures, [
            (D(-1), D("-4.00"), D(0)),
            (D(-1), D("-0.68"), D(0)),
            (D(-1), D("6.80"), D(0)),
            (D(-1), D("40.00"), D(0)),
            (D(0), D("-1.20"), D(0)),
            (D(0), D("12.00"), D(0)),
            (D(5), D("-0.90"), D("-0.05")),
            (D(5), D("8.99"), D("0.45")),
            (D(20), D("-5.00"), D("-1.00")),
            (D(20), D("25.00"), D("10.00")),
        ])
        self.assertEqual(self.totals(invoice), (D("106.01"), D("9.40"), D("115.41")))
        for rate, tax in ((D(20), self.vat20), (D(5), self.vat5)):  # VAT per rate as Odoo's tax totals have it
            odoo = sum(line.price_tax for line in order.order_line if line.tax_id == tax)
            self.assertEqual(sum(D(line["VatAmount"]) for line in invoice["Lines"] if D(line["VatRate"]) == rate),
                             D(str(round(odoo, 2))).quantize(D("0.01")))

    # ------------------------------------------------------------------ 5. where the customer is

    def test_customers_in_northern_ireland_the_eu_and_the_rest_of_the_world(self):
        country = self.env.ref
        buyers = {
            "Northern Ireland, XI VAT number": self.contact(
                "Aoife Byrne Ltd", is_company=True, vat="XI123456789", street="2 Quay Street", city="Belfast",
                zip="BT1 1AA", country_id=self.uk.id),
            "Isle of Man": self.contact("Manx Crafts", street="1 Athol Street", city="Douglas", zip="IM1 1AA",
                                        country_id=country("base.im").id),
            "EU, VAT number": self.contact("Brennan Teoranta", is_company=True, vat="IE6388047V",
                                           street="1 Grafton Street", city="Dublin", zip="D02 X285",
                                           country_id=country("base.ie").id),
            "EU, consumer": self.contact("Élodie Martin", street="5 rue de Rivoli", city="Paris", zip="75001",
                                         country_id=country("base.fr").id),
            "Greece, VAT number": self.contact("Papadopoulos AE", is_company=True, vat="EL094014201",
                                               street="Ermou 10", city="Athens", zip="105 63",
                                               country_id=country("base.gr").id),
            "rest of the world, VAT number": self.contact("Alpenglück AG", is_company=True,
                                                          vat="CHE-123.456.789 MWST", street="Bahnhofstrasse 1",
                                                          city="Zürich", zip="8001", country_id=country("base.ch").id),
            "rest of the world, consumer": self.contact("Yuki Tanaka", street="1-1 Chiyoda", city="Tokyo",
                                                        zip="100-0001", country_id=country("base.jp").id),
        }
        orders = {where: self.make_order(partner=buyer) for where, buyer in buyers.items()}
        for order in orders.values():
            self.pay_online(order)
        self.run_jobs()

        for order in orders.values():
            self.assertSent(order)
        booked = {where: (self.customer_of(buyer)["CountryCode"], self.customer_of(buyer)["EC"],
                          self.customer_of(buyer)["OutsideEC"]) for where, buyer in buyers.items()}
        self.assertEqual(booked, {
            "Northern Ireland, XI VAT number": ("GB", 0, 0),
            "Isle of Man": ("IM", 0, 0),
            "EU, VAT number": ("IE", 1, 0),
            "EU, consumer": ("FR", 0, 0),
            "Greece, VAT number": ("EL", 1, 0),
            "rest of the world, VAT number": ("CH", 0, 1),
            "rest of the world, consumer": ("JP", 0, 0),
        })
        for order in orders.values():  # the VAT of each line is Odoo's, wherever the customer is
            self.assertEqual(self.totals(self.invoice_of(order)), (D("54.99"), D("11.00"), D("65.99")))

    def test_a_seller_in_northern_ireland_cannot_book_an_eu_vat_registered_customer_through_kashflows_old_fields(self):
        self.company.partner_id.write({"street": "10 Linenhall Street", "city": "Belfast", "zip": "BT2 8BG",
                                       "country_id": self.uk.id})
        business = self.contact("Müller GmbH", is_company=True, vat="DE123456789", street="Hauptstraße 5",
                                city="Berlin", zip="10115", country_id=self.env.ref("base.de").id)
        consumer = self.contact("Élodie Martin", street="5 rue de Rivoli", city="Paris", zip="75001",
                                country_id=self.env.ref("base.fr").id)
        refused = self.send(self.make_order(partner=business))
        sent = self.send(self.make_order(partner=consumer))

        self.assertEqual(refused.kashflow_state, "failed")
        self.assertEqual(refused.kashflow_reason, (
            "Müller GmbH is VAT-registered in the EU (DE123456789) and your company is in Northern Ireland: KashFlow"
            " books such a customer with the trade border type NIEU, which the KashFlow calls the connector uses"
            " cannot set. Book this order in KashFlow by hand; the connector has sent nothing of it."))
        self.assertSent(sent)
        [customer] = self.state()["customers"]
        self.assertEqual((customer["Name"], customer["EC"], customer["OutsideEC"]), ("Élodie Martin", 0, 0))
        self.assertEqual([invoice["CustomerReference"] for invoice in self.state()["invoices"]], [sent.name])

    # ------------------------------------------------------------------ 6. currencies

    def test_an_order_in_a_currency_the_kashflow_account_lacks(self):
        yen = self.setup_other_currency("JPY", rates=[("2026-01-01", 190.0)])
        order = self.send(self.make_order(currency=yen, lines=[(self.kettle, 1, 0.0)]))

        self.assertEqual(order.kashflow_state, "failed")
        self.assertEqual(order.kashflow_reason, (
            "The KashFlow account has no currency JPY (it has EUR, GBP, USD). Add it in KashFlow under Settings >"
            " Currencies, click Download Data in Settings > KashFlow, then resend the order."))
        self.assertEqual((self.state()["customers"], self.state()["invoices"]), ([], []))

        # Download Data said yen was there (KashFlow's list changed since): KashFlow's own refusal is shown.
        self.env["kashflow.lookup"].create({"company_id": self.company.id, "kind": "currency", "kashflow_id": 9,
                                            "code": "JPY", "name": "JPY"})
        order.action_kashflow_resend()
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "failed")
        self.assertEqual(order.kashflow_reason,
                         "KashFlow rejected InsertInvoice: The currency code JPY is not set up in this account")
        self.assertEqual(self.state()["invoices"], [], "no invoice in a currency KashFlow does not have")

    def test_a_rate_that_changed_between_order_invoice_and_payment(self):
        eur = self.setup_other_currency("EUR", rates=[("2026-01-01", 1.10), ("2026-06-01", 1.20),
                                                      ("2026-09-01", 1.30)])
        invoiced = self.make_order(currency=eur, lines=[(self.kettle, 1, 0.0)], date_order="2026-05-15 10:00:00")
        self.pay_by_invoice(invoiced, invoice_date="2026-07-01", payment_date="2026-10-01")
        paid_online = self.make_order(currency=eur, lines=[(self.kettle, 1, 0.0)], date_order="2026-05-15 10:00:00")
        self.assertEqual((invoiced.amount_total, paid_online.amount_total), (79.2, 79.2), "priced at 1.10")
        self.send(paid_online)

        self.assertSent(invoiced)
        self.assertSent(paid_online)
        by_invoice = self.invoice_of(invoiced)
        self.assertEqual((by_invoice["CurrencyCode"], D(by_invoice["ExchangeRate"]), by_invoice["InvoiceDate"][:10]),
                         ("EUR", D("1.2"), "2026-07-01"), "the rate of the invoice's date, its tax point")
        online = self.invoice_of(paid_online)
        self.assertEqual((online["CurrencyCode"], D(online["ExchangeRate"]), online["InvoiceDate"][:10]),
                         ("EUR", D("1.3"), str(self.today())), "no invoice: the rate of the day it was paid")
        for invoice in (by_invoice, online):
            self.assertEqual(self.totals(invoice), (D("66.00"), D("13.20"), D("79.20")), "in euros, as Odoo has it")
            self.assertEqual({line["ValuesInCurrency"] for line in invoice["Lines"]}, {1})
            self.assertEqual(invoice["Paid"], 1)
        payments = {payment["PayInvoice"]: payment for payment in self.state()["payments"]}
        self.assertEqual((D(payments[by_invoice["InvoiceNumber"]]["PayAmount"]),
                          payments[by_invoice["InvoiceNumber"]]["PayDate"][:10]), (D("79.20"), "2026-10-01"))

    # ------------------------------------------------------------------ 7. answers that are not KashFlow's

    def test_an_answer_that_is_not_kashflows_is_retried_and_the_order_then_sent_once(self):
        expected = {
            "html_page": "KashFlow's address answered InsertInvoice with a web page instead of KashFlow's reply,"
                         " probably the error page of a proxy between this server and KashFlow. It will be tried"
                         " again.",
            "empty_body": "KashFlow sent an empty answer to InsertInvoice; something between this server and KashFlow"
                          " (a proxy or the network) may have failed. It will be tried again.",
            "malformed_xml": "KashFlow sent an answer to InsertInvoice that is not valid XML. It will be tried again.",
            "http500": "KashFlow is busy or down (HTTP 500 on InsertInvoice). It will be tried again.",
            "soap_fault": "KashFlow failed while handling InsertInvoice, an error on its side: Server was unable to"
                          " process request. ---> Object reference not set to an instance of an object. It will be"
                          " tried again.",
        }
        for mode, message in expected.items():
            with self.subTest(mode=mode):
                order = self.make_order()
                self.pay_online(order)
                self.sandbox.set_faults(operation="InsertInvoice", mode=mode)
                self.run_jobs()
                self.assertEqual(order.kashflow_state, "queued")
                self.assertEqual(self.kashflow_jobs().result, message)
                self.run_jobs()
                self.assertSent(order)
                self.assertEqual(self.totals(self.invoice_of(order)), (D("54.99"), D("11.00"), D("65.99")))
        self.assertEqual(len(self.state()["invoices"]), len(expected), "one invoice per order, none twice")
        self.assertEqual(len(self.state()["customers"]), 1)

    def test_a_proxy_page_that_does_not_go_away_fails_the_order_in_plain_words_until_it_is_resent(self):
        order = self.make_order()
        self.pay_online(order)
        self.kashflow_jobs().max_retries = 3
        self.sandbox.set_faults(operation="GetCustomerByEmail", mode="html_page", count=10)
        for _attempt in range(3):
            self.run_jobs()

        self.assertEqual(order.kashflow_state, "failed")
        self.assertEqual(order.kashflow_reason, (
            "KashFlow's address answered GetCustomerByEmail with a web page instead of KashFlow's reply, probably the"
            " error page of a proxy between this server and KashFlow. Gave up after 3 attempts; resend the order"
            " later."))
        self.assertEqual(self.state()["customers"], [])

        self.sandbox.clear_faults()
        order.action_kashflow_resend()
        self.run_jobs()
        self.assertSent(order)
