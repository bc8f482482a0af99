"""The overview's pivots and graphs add orders and documents in several currencies in the company's currency."""

from decimal import Decimal as D

from .common import KashFlowCase

RATE = 1.25  # euros to the pound, Odoo's rate since 2020


def pennies(amount):
    return D(str(amount)).quantize(D("0.01"))


def in_pounds(amount):
    return (D(str(amount)) / D(str(RATE))).quantize(D("0.01"))


class TestOverviewCurrency(KashFlowCase):

    def setUp(self):
        super().setUp()
        self.download_and_map()
        self.eur = self.setup_other_currency("EUR", rates=[("2020-01-01", RATE)])
        self.in_gbp = self.make_order()
        self.in_eur = self.make_order(currency=self.eur, lines=[(self.board, 3, 0.0), (self.book, 1, 0.0)])
        for order in (self.in_gbp, self.in_eur):
            self.pay_by_invoice(order)
        self.run_jobs()
        for order in (self.in_gbp, self.in_eur):
            self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        self.assertEqual(self.in_eur.currency_id, self.eur)
        self.domain = [("company_id", "=", self.company.id)]

    def test_orders_are_added_in_the_company_currency(self):
        expected = pennies(self.in_gbp.amount_total) + in_pounds(self.in_eur.amount_total)
        self.assertEqual(pennies(self.in_eur.kashflow_amount_total_company), in_pounds(self.in_eur.amount_total))
        self.assertEqual(pennies(self.in_gbp.kashflow_amount_total_company), pennies(self.in_gbp.amount_total))
        [(team, total)] = self.env["sale.order"]._read_group(
            self.domain + [("id", "in", (self.in_gbp | self.in_eur).ids)], ["team_id"],
            ["kashflow_amount_total_company:sum"])
        self.assertEqual((team, pennies(total)), (self.webshop, expected))
        # Grouped by currency, each currency's own total.
        by_currency = self.env["sale.order"]._read_group(
            self.domain + [("id", "in", (self.in_gbp | self.in_eur).ids)], ["currency_id"], ["amount_total:sum"])
        self.assertEqual({currency.name: pennies(total) for currency, total in by_currency},
                         {"GBP": pennies(self.in_gbp.amount_total), "EUR": pennies(self.in_eur.amount_total)})

    def test_documents_are_added_in_the_company_currency(self):
        Document = self.env["kashflow.document"]
        for kind in ("invoice", "payment"):
            domain = self.domain + [("kind", "=", kind), ("state", "=", "sent")]
            documents = Document.search(domain)
            self.assertEqual(documents.currency_id, self.gbp | self.eur, kind)
            expected = sum((pennies(doc.amount_total) if doc.currency_id == self.gbp else in_pounds(doc.amount_total)
                            for doc in documents), D(0))
            expected_kashflow = sum((pennies(doc.kashflow_amount_total) if doc.currency_id == self.gbp
                                     else in_pounds(doc.kashflow_amount_total) for doc in documents), D(0))
            self.assertEqual(expected, pennies(self.in_gbp.amount_total) + in_pounds(self.in_eur.amount_total))
            [(team, total, kashflow_total)] = Document._read_group(
                domain, ["team_id"], ["amount_total_company:sum", "kashflow_amount_total_company:sum"])
            self.assertEqual((team, pennies(total), pennies(kashflow_total)),
                             (self.webshop, expected, expected_kashflow), kind)
            by_currency = Document._read_group(domain, ["currency_id"], ["amount_total:sum"])
            self.assertEqual({currency.name: pennies(total) for currency, total in by_currency},
                             {"GBP": pennies(self.in_gbp.amount_total), "EUR": pennies(self.in_eur.amount_total)},
                             kind)

    def test_vat_rows_are_added_in_the_company_currency(self):
        Vat = self.env["kashflow.document.vat"]
        rows = Vat.search(self.domain)
        self.assertEqual(rows.currency_id, self.gbp | self.eur)
        expected = {}
        for field in ("odoo_net", "odoo_vat", "kashflow_net", "kashflow_vat"):
            expected[field] = sum((pennies(row[field]) if row.currency_id == self.gbp else in_pounds(row[field])
                                   for row in rows), D(0))
        self.assertEqual(expected["odoo_net"] + expected["odoo_vat"],
                         pennies(self.in_gbp.amount_total) + in_pounds(self.in_eur.amount_total))
        measures = [f"{field}_company:sum" for field in expected] + ["net_difference_company:sum",
                                                                     "vat_difference_company:sum"]
        [(team, *totals)] = Vat._read_group(self.domain, ["team_id"], measures)
        self.assertEqual(team, self.webshop)
        self.assertEqual(dict(zip(expected, map(pennies, totals[:4]), strict=True)), expected)
        self.assertEqual([pennies(total) for total in totals[4:]], [expected["kashflow_net"] - expected["odoo_net"],
                                                                     expected["kashflow_vat"] - expected["odoo_vat"]])
        by_currency = Vat._read_group(self.domain, ["currency_id"], ["odoo_net:sum", "odoo_vat:sum"])
        self.assertEqual({currency.name: pennies(net + vat) for currency, net, vat in by_currency},
                         {"GBP": pennies(self.in_gbp.amount_total), "EUR": pennies(self.in_eur.amount_total)})
