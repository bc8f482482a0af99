"""What the addon's tests share: a UK company connected to a KashFlow sandbox serving on loopback.

The sandbox is the project's own KashFlow look-alike (``kashflow_sandbox``), started as a separate process
for the test class and reset before every test; everything goes over real HTTP. Jobs are real
``queue.job`` records, performed the way queue_job's runner performs them.

The registry is in Odoo's test mode (as for ``HttpCase``): the transactions of their own in which jobs keep
what they did (``own_transaction``, models/kashflow_sync.py) are savepoints of the test's transaction, seen by the test.
"""

import shutil
import sys
import tempfile
from pathlib import Path

from odoo import SUPERUSER_ID, Command, fields

from odoo.addons.account_payment.tests.common import AccountPaymentCommon
from odoo.addons.queue_job.exception import FailedJobError, RetryableJobError
from odoo.addons.queue_job.job import Job

PROJECT = Path(__file__).resolve().parents[2]
SANDBOX_USER = "odoo-tests"
SANDBOX_PASSWORD = "sandbox-Pa55word"


def start_sandbox():
    """A started sandbox process from the project's ``kashflow_sandbox`` package, or None where it is absent."""
    if not (PROJECT / "kashflow_sandbox").is_dir():
        return None
    if str(PROJECT) not in sys.path:
        sys.path.insert(0, str(PROJECT))
    from kashflow_sandbox.testing import SandboxProcess  # noqa: PLC0415 - found only beside the sources

    folder = Path(tempfile.mkdtemp(prefix="kashflow-sandbox-"))
    sandbox = SandboxProcess(folder / "kashflow.sqlite3", username=SANDBOX_USER, password=SANDBOX_PASSWORD)
    sandbox.start()
    sandbox.folder = folder
    return sandbox


def stop_sandbox(sandbox):
    sandbox.stop()
    shutil.rmtree(sandbox.folder, ignore_errors=True)


class KashFlowCase(AccountPaymentCommon):
    """A GBP company with 20% VAT, KashFlow switched on and pointed at a fresh sandbox, channels mapped."""

    chart_template = "generic_coa"

    @classmethod
    def setup_independent_company(cls, **kwargs):
        gbp = cls._enable_currency("GBP")
        return super().setup_independent_company(currency_id=gbp.id, country_id=cls.env.ref("base.uk").id,
                                                 **kwargs)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = start_sandbox()
        if cls.sandbox is None:
            cls.skipTest(cls, "the KashFlow sandbox ships with the project's sources, not with the addon alone")
        cls.addClassCleanup(stop_sandbox, cls.sandbox)
        if cls.registry.test_cr is None:
            cls.registry.enter_test_mode(cls.cr)
            cls.addClassCleanup(cls.registry.leave_test_mode)
        cls.company = cls.env.company
        cls.gbp = cls.company.currency_id
        cls.currency = cls.gbp  # what PaymentCommon's transactions are made in
        cls.company.write({
            "kashflow_enabled": True,
            "kashflow_username": SANDBOX_USER,
            "kashflow_password": SANDBOX_PASSWORD,
            "kashflow_url": cls.sandbox.service_url,
            "kashflow_include_vat": True,
            "kashflow_start_date": "2026-01-01",
        })
        cls.vat20 = cls.env["account.tax"].create({
            "name": "VAT 20%", "amount": 20, "amount_type": "percent", "type_tax_use": "sale",
            "company_id": cls.company.id,
        })
        cls.vat5 = cls.env["account.tax"].create({
            "name": "VAT 5%", "amount": 5, "amount_type": "percent", "type_tax_use": "sale",
            "company_id": cls.company.id,
        })
        cls.board = cls._create_product(name="Oak chopping board", lst_price=25.0, default_code="OAK-BOARD",
                                        taxes_id=[Command.set(cls.vat20.ids)])
        cls.book = cls._create_product(name="Children's cookbook", lst_price=8.99,
                                       taxes_id=[Command.set(cls.vat5.ids)])
        cls.shipping = cls._create_product(name="Royal Mail Tracked 48", lst_price=4.99, type="service",
                                           taxes_id=[Command.set(cls.vat20.ids)])
        cls.webshop = cls.env["crm.team"].create({"name": "Web shop", "company_id": cls.company.id})
        cls.amazon_fba = cls.env["crm.team"].create({"name": "Amazon FBA", "company_id": cls.company.id})
        cls.ebay = cls.env["crm.team"].create({"name": "eBay", "company_id": cls.company.id})
        cls.customer = cls.env["res.partner"].create({
            "name": "Hannah Fletcher", "email": "hannah.fletcher@example.co.uk", "phone": "0113 496 0000",
            "street": "12 Mill Lane", "city": "Leeds", "zip": "LS1 4AB", "country_id": cls.env.ref("base.uk").id,
        })

    def setUp(self):
        super().setUp()
        self.sandbox.reset()
        self.sandbox.clear_faults()

    # ------------------------------------------------------------------ helpers

    def download_and_map(self, teams=None, fba_team=None, company=None):
        """Download Data from the company's KashFlow and map the given channels with the first value of each kind
        (by default the test company, and its Web shop and eBay channels)."""
        company = company or self.company
        company._kashflow_download_data()
        lookups = self.env["kashflow.lookup"].search([("company_id", "=", company.id)])

        def first(kind, code=None):
            found = lookups.filtered(lambda lookup: lookup.kind == kind and (code is None or lookup.code == code))
            return found[:1]

        values = {
            "payment_method_id": first("payment_method").id,
            "bank_account_id": first("bank_account").id,
            "source_id": first("customer_source").id,
            "goods_nominal_id": first("nominal_code", "4000").id,
            "delivery_nominal_id": first("nominal_code", "4900").id,
        }
        channels = self.env["kashflow.channel"].search([("company_id", "=", company.id)])
        for team in teams if teams is not None else (self.webshop | self.ebay):
            channels.filtered(lambda channel, team=team: channel.team_id == team).write(values)
        if fba_team:
            channels.filtered(lambda channel: channel.team_id == fba_team).write(
                {**values, "marketplace_fulfilled": True})
        return values

    def make_order(self, lines=None, team=None, partner=None, currency=None, **values):
        lines = lines or [(self.board, 2, 0.0), (self.shipping, 1, 0.0)]
        order = self.env["sale.order"].create({
            "partner_id": (partner or self.customer).id,
            "team_id": (team or self.webshop).id,
            "company_id": self.company.id,
            **({"pricelist_id": self._pricelist(currency).id} if currency else {}),
            "order_line": [Command.create({"product_id": product.id, "product_uom_qty": qty, "discount": discount})
                           for product, qty, discount in lines],
            **values,
        })
        return order

    def _pricelist(self, currency):
        return self.env["product.pricelist"].create({"name": f"Prices in {currency.name}",
                                                     "currency_id": currency.id, "company_id": self.company.id})

    def pay_online(self, order):
        """The customer pays the order online: a payment transaction reaches *done*."""
        transaction = self._create_transaction(
            flow="redirect", sale_order_ids=[order.id], amount=order.amount_total, currency_id=order.currency_id.id,
            partner_id=order.partner_id.id, reference=f"TX-{order.name}", state="done")
        transaction._post_process()
        return transaction

    def pay_by_invoice(self, order, payment_date=None, invoice_date=None):
        """The order is confirmed and invoiced (dated ``invoice_date``), and the invoice is paid in full (on
        ``payment_date``)."""
        if order.state != "sale":
            order.action_confirm()
        invoice = order._create_invoices()
        if invoice_date:
            invoice.invoice_date = invoice_date
        invoice.action_post()
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids,
        ).create({"payment_date": payment_date} if payment_date else {})._create_payments()
        return invoice

    def credit_note(self, invoice, keep=None, date=None, **line_values):
        """A credit note of ``invoice`` (Odoo's *Credit Note* button), with only the lines of the products in
        ``keep`` (all when None), those lines given ``line_values``, posted."""
        wizard = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=invoice.ids).create({
                "reason": "Returned", "journal_id": invoice.journal_id.id, **({"date": date} if date else {})})
        credit_note = self.env["account.move"].browse(wizard.refund_moves()["res_id"])
        if keep is not None:
            credit_note.write({"invoice_line_ids": [Command.unlink(line.id) for line in credit_note.invoice_line_ids
                                                    if line.product_id not in keep]})
        if line_values:
            credit_note.invoice_line_ids.write(line_values)
        credit_note.action_post()
        return credit_note

    def pay(self, move, amount=None, date=None):
        """Register a payment of ``move`` (a refund, for a credit note), of ``amount`` or what is due."""
        values = {**({"amount": amount} if amount is not None else {}), **({"payment_date": date} if date else {})}
        return self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=move.ids).create(values)._create_payments()

    def kashflow_jobs(self, states=("pending",)):
        return self.env["queue.job"].sudo().search([("channel", "=", "root.kashflow"), ("state", "in", list(states))])

    def run_all_jobs(self, rounds=6):
        """Perform the KashFlow jobs, again while some are left (retried after a lost answer, say)."""
        for _round in range(rounds):
            if not self.run_jobs():
                break
        self.assertFalse(self.kashflow_jobs(), "no job is left waiting")

    def assertReconciled(self, orders):
        """A reconciliation finds KashFlow as the connector booked it (no difference, whichever order's check reads a
        document), and a resend of every order then sends nothing (nothing deleted, nothing sent again)."""
        run, _calls = self.reconcile()
        self.assertEqual((run.state, run.mismatches_found), ("done", 0), run.finding_ids.mapped("message"))
        self.assertEqual(orders.mapped("kashflow_state"), ["sent"] * len(orders), orders.mapped("kashflow_reason"))
        mark = self.sandbox.last_call()
        for order in orders:
            order.action_kashflow_resend()
        self.run_all_jobs()
        self.assertFalse(self.sandbox.call_counts(since=mark), "a resend after the reconciliation sends nothing")

    def run_jobs(self, orders=None):
        """Perform the pending KashFlow jobs (of ``orders`` only, when given) as queue_job's runner does; return how
        many ran.

        A job that asks to be retried (``RetryableJobError``) is postponed. (The runner would also roll its
        transaction back; the connector's jobs write nothing in theirs before they ask, and what they keep in
        transactions of their own stays either way.)
        """
        records = self.kashflow_jobs()
        if orders is not None:
            keys = {order._kashflow_identity_key() for order in orders}
            records = records.filtered(lambda record: record.identity_key in keys)
        for record in records:
            job = Job.load(self.env(user=SUPERUSER_ID), record.uuid)
            job.set_started()
            job.store()
            try:
                job.perform()
            except RetryableJobError as error:
                job.postpone(result=str(error), seconds=error.seconds)
                job.set_pending(reset_retry=False)
                job.store()
                continue
            except FailedJobError as error:
                job.set_failed(exc_name=type(error).__name__, exc_message=str(error))
                job.store()
                continue
            job.set_done()
            job.store()
        self.env.invalidate_all()
        return len(records)

    def state(self):
        return self.sandbox.state()

    def sent_order(self, lines=None, team=None, invoice_date=None):
        """An order invoiced (on ``invoice_date``), paid and sent to KashFlow."""
        order = self.make_order(lines=lines, team=team)
        self.pay_by_invoice(order, invoice_date=invoice_date, payment_date=invoice_date)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        return order

    def reconcile(self, date_from=None, date_to=None):
        """A reconciliation of the test company, run to the end; returns it and the SOAP calls it made."""
        mark = self.sandbox.last_call()
        run = self.env["kashflow.reconciliation"]._kashflow_start(self.company, date_from, date_to)._kashflow_run()
        self.env.invalidate_all()
        return run, self.sandbox.call_counts(since=mark)

    def today(self):
        return fields.Date.context_today(self.company)
