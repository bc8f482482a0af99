"""The upgrade from 18.0.1 (KashFlow numbers kept on orders and contacts) to one record per KashFlow document:
what KashFlow already holds is never sent twice, nor deleted and sent again."""

import importlib.util
from pathlib import Path

from odoo.tests import tagged
from odoo.tools import sql

from .common import KashFlowCase

MIGRATION = Path(__file__).parents[1] / "migrations" / "18.0.2.0.0" / "post-migrate.py"
MIGRATION_2_1 = Path(__file__).parents[1] / "migrations" / "18.0.2.1.0" / "post-migrate.py"
MIGRATION_2_2 = Path(__file__).parents[1] / "migrations" / "18.0.2.2.0" / "post-migrate.py"
MIGRATION_2_3 = Path(__file__).parents[1] / "migrations" / "18.0.2.3.0" / "pre-migrate.py"


def _migration(path=MIGRATION):
    spec = importlib.util.spec_from_file_location(f"kashflow_post_migrate_{path.parent.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("post_install", "-at_install")
class TestMigration(KashFlowCase):
    def setUp(self):
        super().setUp()
        self.download_and_map()
        # The columns 18.0.1 kept (dropped with the test's transaction).
        self.env.cr.execute("""
            ALTER TABLE res_partner ADD COLUMN kashflow_customer_id jsonb, ADD COLUMN kashflow_customer_code jsonb;
            ALTER TABLE sale_order ADD COLUMN kashflow_invoice_id int, ADD COLUMN kashflow_payment_number int""")

    def as_18_0_1_left_it(self, order):
        """Forget the records of ``order`` and of its contact, and keep their KashFlow numbers where 18.0.1 did."""
        invoice = order.kashflow_document_ids.filtered(lambda document: document.kind == "invoice")
        payment = order.kashflow_document_ids.filtered(lambda document: document.kind == "payment")
        customer = self.env["kashflow.customer"].search([("partner_id", "=", order.partner_id.id)])
        self.env.cr.execute("""
            UPDATE res_partner SET kashflow_customer_id = jsonb_build_object(%(company)s::text, %(customer)s),
                                   kashflow_customer_code = jsonb_build_object(%(company)s::text, %(code)s)
             WHERE id = %(partner)s""", {"company": self.company.id, "customer": customer.kashflow_customer_id,
                                        "code": customer.code, "partner": order.partner_id.id})
        self.env.cr.execute(
            "UPDATE sale_order SET kashflow_invoice_id = %s, kashflow_payment_number = %s WHERE id = %s",
            (invoice.kashflow_dbid, payment.kashflow_number, order.id))
        numbers = (customer.kashflow_customer_id, invoice.kashflow_number, payment.kashflow_number)
        (invoice | payment).unlink()
        customer.unlink()
        self.env.flush_all()
        self.env.invalidate_all()
        return numbers

    def test_what_kashflow_holds_is_kept_after_the_upgrade(self):
        order = self.make_order()
        self.pay_by_invoice(order)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        customer_number, invoice_number, payment_number = self.as_18_0_1_left_it(order)

        _migration().migrate(self.env.cr, "18.0.1.0.0")
        self.env.invalidate_all()
        [customer] = self.env["kashflow.customer"].search([("partner_id", "=", order.partner_id.id)])
        self.assertEqual(customer.kashflow_customer_id, customer_number)
        self.assertEqual(sorted(order.kashflow_document_ids.mapped("kashflow_number")),
                         sorted([invoice_number, payment_number]))

        self.sandbox.clear_calls()
        order.action_kashflow_resend()
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        calls = self.sandbox.call_counts()
        inserts = {"InsertInvoice", "InsertCustomer", "InsertInvoicePayment", "DeleteInvoicePayment"}
        self.assertFalse(inserts & set(calls), f"nothing inserted twice, the payment kept: {dict(calls)}")
        self.assertEqual([payment["PayID"] for payment in self.state()["payments"]], [payment_number])
        self.assertEqual(len(self.state()["invoices"]), 1)

    def test_every_order_lists_its_documents_after_the_upgrade_to_shared_documents(self):
        """18.0.2.0 kept each document with its order alone: after the upgrade each order's KashFlow tab lists the same
        documents, and a resend sends nothing."""
        order = self.make_order()
        self.pay_by_invoice(order)
        self.run_jobs()
        documents = order.kashflow_document_ids
        self.assertEqual(len(documents), 2, "the invoice and the payment")
        self.env.flush_all()
        self.env.cr.execute("DELETE FROM kashflow_document_sale_order_rel WHERE order_id = %s", [order.id])
        self.env.invalidate_all()
        self.assertFalse(order.kashflow_document_ids, "as 18.0.2.0 left it: no record lists the orders it serves")

        _migration(MIGRATION_2_1).migrate(self.env.cr, "18.0.2.0.0")
        self.env.invalidate_all()
        self.assertEqual(order.kashflow_document_ids, documents)
        self.assertEqual(documents.order_ids, order)
        self.sandbox.clear_calls()
        order.action_kashflow_resend()
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        self.assertFalse(self.sandbox.call_counts(), "nothing sent")

    def test_the_history_the_jobs_kept_is_carried_over_and_outlasts_them(self):
        """Before 18.0.2.2 an order's KashFlow history was its queue jobs: the upgrade carries what they said into the
        connector's own record, which stays when queue_job cleans the jobs up."""
        order = self.make_order()
        self.pay_by_invoice(order)
        self.run_jobs()
        [job] = self.env["queue.job"].sudo().search([("identity_key", "=", order._kashflow_identity_key())])
        self.assertEqual(job.state, "done")
        self.env["kashflow.history"].search([("order_id", "=", order.id)]).unlink()  # as 18.0.2.1 had none
        self.env.flush_all()

        _migration(MIGRATION_2_2).migrate(self.env.cr, "18.0.2.1.0")
        self.env.invalidate_all()
        [entry] = self.env["kashflow.history"].search([("order_id", "=", order.id)])
        self.assertEqual((entry.message, entry.job_uuid, entry.company_id), (job.result, job.uuid, order.company_id))
        _migration(MIGRATION_2_2).migrate(self.env.cr, "18.0.2.1.0")
        self.assertEqual(self.env["kashflow.history"].search_count([("order_id", "=", order.id)]), 1, "once")

        job.unlink()  # queue_job's clean-up of done jobs
        action = order.action_kashflow_open_history()
        self.assertEqual(self.env[action["res_model"]].search(action["domain"]), entry, "the history outlasts the job")
        self.assertEqual(entry.action_open_job()["tag"], "display_notification")

    # ------------------------------------------------------------------ 18.0.2.3: one record per key in a company

    def as_18_0_2_2_left_it(self):
        """The records as 18.0.2.2 keyed them, within their order: an order's own invoice ``order`` (and ``cancel``,
        ``replaced``), the money it received ``payment:<id>``; the table unique on ``(order_id, key)``."""
        self.env.flush_all()
        self.env.cr.execute("""
            ALTER TABLE kashflow_document DROP CONSTRAINT kashflow_document_key_unique;
            ALTER TABLE kashflow_document ADD CONSTRAINT kashflow_document_key_unique UNIQUE (order_id, key);
            UPDATE kashflow_document SET key = split_part(key, ':', 1) WHERE key ~ '^(order|cancel|replaced):[0-9]+$';
            UPDATE kashflow_document SET key = split_part(key, '/', 1) WHERE key ~ '/order:[0-9]+$';
            ALTER TABLE kashflow_document RENAME COLUMN kashflow_applied_invoice_number TO kashflow_invoice_number;
            ALTER TABLE kashflow_customer RENAME COLUMN kashflow_customer_id TO kashflow_number;
            UPDATE ir_model_fields SET name = 'kashflow_invoice_number'
             WHERE model = 'kashflow.document' AND name = 'kashflow_applied_invoice_number';
            UPDATE ir_model_fields SET name = 'kashflow_number'
             WHERE model = 'kashflow.customer' AND name = 'kashflow_customer_id'""")
        self.env.invalidate_all()

    def test_every_record_is_keyed_once_in_its_company_after_the_upgrade(self):
        """Two orders invoiced alone and paid by one payout (each held its own ``order`` and ``payment:<id>``), and a
        shared invoice that a version before 18.0.2.1 also booked as the second order's own document: after the
        upgrade every key names its order, the duplicate is a copy marked as a difference, the constraint on
        ``(company_id, key)`` is in the database, and a resend of every order sends nothing."""
        alone = self.make_order() | self.make_order()
        alone.action_confirm()
        invoices = alone._create_invoices(grouped=True)
        self.assertEqual(len(invoices), 2, "an invoice per order")
        invoices.action_post()
        payout = self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoices.ids).create({"group_payment": True})._create_payments()
        self.assertEqual(len(payout), 1, "one payment for both invoices")
        together = self.make_order() | self.make_order()
        together.action_confirm()
        shared = together._create_invoices()
        self.assertEqual(len(shared), 1, "one invoice for both orders")
        shared.action_post()
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=shared.ids).create({})._create_payments()
        self.run_jobs()
        for order in alone | together:
            self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        [shared_record] = self.env["kashflow.document"].search([("key", "=", f"move:{shared.id}")])
        second = together - shared_record.order_id
        kashflow = self.company._kashflow_client()
        copy = kashflow.get_invoice(shared_record.kashflow_number)
        copy_number = kashflow.insert_invoice({**copy, "InvoiceNumber": 0, "InvoiceDBID": 0,
                                                    "Lines": [{**line, "LineID": 0} for line in copy["Lines"]]})
        self.as_18_0_2_2_left_it()
        self.env.cr.execute("""
            INSERT INTO kashflow_document (order_id, company_id, key, kind, move_id, kashflow_number, sequence,
                                           create_uid, write_uid, create_date, write_date)
            VALUES (%s, %s, %s, 'invoice', %s, %s, 0, 1, 1, now(), now())""",
                            [second.id, self.company.id, f"move:{shared.id}", shared.id, copy_number])
        self.env.cr.execute("SELECT key FROM kashflow_document WHERE order_id IN %s", [tuple(alone.ids)])
        self.assertEqual(sorted(key.split(":")[0] for [key] in self.env.cr.fetchall()),
                         ["order", "order", "payment", "payment"], "as 18.0.2.2 left them")
        binding = self.env["kashflow.customer"].search([("partner_id", "=", alone[0].partner_id.id)])
        self.env.cr.execute("SELECT kashflow_number FROM kashflow_customer WHERE id = %s", [binding.id])
        [[customer_id]] = self.env.cr.fetchall()
        self.assertTrue(customer_id)

        _migration(MIGRATION_2_3).migrate(self.env.cr, "18.0.2.2.0")
        Document = self.env["kashflow.document"]
        Document._add_sql_constraints()  # as an upgrade does once the module's models are loaded
        self.assertEqual(sql.constraint_definition(self.env.cr, Document._table, "kashflow_document_key_unique"),
                         "unique(company_id, key)", "the constraint is in the database")
        self.env.invalidate_all()
        for order in alone:
            self.assertEqual(sorted(order.kashflow_document_ids.mapped("key")),
                             sorted([f"order:{order.id}", f"payment:{payout.id}/order:{order.id}"]))
        [again] = Document.search([("kashflow_number", "=", copy_number)])
        self.assertEqual((again.key, again.order_id, again.mismatch), (f"copy:{copy_number}", second, True))
        self.assertIn("Delete it in KashFlow", again.mismatch_reason)
        self.assertEqual(Document.search([("key", "=", f"move:{shared.id}")]), shared_record, "the one jobs use")
        self.assertEqual(binding.kashflow_customer_id, customer_id, "the CustomerID kept under its new name")
        for order in alone:
            [payment] = order.kashflow_document_ids.filtered(lambda record: record.kind == "payment")
            self.assertEqual(payment.kashflow_applied_invoice_number, order.kashflow_invoice_number)
        self.env.cr.execute("""SELECT model, name FROM ir_model_fields
                                WHERE name IN ('kashflow_invoice_number', 'kashflow_applied_invoice_number',
                                               'kashflow_number', 'kashflow_customer_id')
                                  AND model IN ('kashflow.document', 'kashflow.customer') ORDER BY model, name""")
        self.assertEqual(self.env.cr.fetchall(), [("kashflow.customer", "kashflow_customer_id"),
                                                  ("kashflow.document", "kashflow_applied_invoice_number"),
                                                  ("kashflow.document", "kashflow_number")])

        self.sandbox.clear_calls()
        for order in alone | together:
            order.action_kashflow_resend()
        self.run_jobs()
        for order in alone | together:
            self.assertEqual(order.kashflow_state, "sent", order.kashflow_reason)
        self.assertFalse(self.sandbox.call_counts(), "nothing sent again")
