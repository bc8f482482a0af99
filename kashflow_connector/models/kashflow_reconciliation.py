"""The reconciliation: KashFlow read back and compared, document by document, with what Odoo holds."""

import datetime
import logging
from collections import defaultdict
from decimal import Decimal

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from .. import const
from ..kashflow import reconcile
from ..kashflow.exceptions import KashFlowError
from ..kashflow.snapshot import CREDIT_NOTE
from .kashflow_reconciliation_window import ReconciliationWindow
from .kashflow_sync import words

_logger = logging.getLogger(__name__)


class KashflowReconciliation(models.Model):
    """One run of the reconciliation of a company's KashFlow account with Odoo, over a period of tax points.

    It reads KashFlow back by date (``GetInvoicesByDateRange``, ``GetInvoicePaymentsByDateRange`` page by page),
    every day of the period, a window of at most ``const.WINDOW_DOCUMENTS`` of the connector's documents and
    ``const.WINDOW_MAX_DAYS`` days at a time, and compares every invoice, credit note and payment the connector sent,
    dated in the period, with what the connector would send for it now (``kashflow.accounting``'s snapshot,
    ``documents.py``): so the cost in KashFlow calls and in memory follows the documents checked and the period's
    length, never the account's whole history. KashFlow is asked for one document alone
    only where the window does not explain it (a document not found by its date, an invoice paid otherwise than
    Odoo says). Each Odoo document is counted once: a second KashFlow copy of one the connector holds (found by
    its customer reference, or a second record of one Odoo document) is named; what Odoo's books hold of an order
    that KashFlow lacks (never sent, or its job failed) is named too, and counted on Odoo's side. Each difference
    marks the document (and its order, *Mismatch*) with the difference in words and what a resend does about it;
    a document found matching again is cleared.

    A daily scheduled action runs it over the last months (``_kashflow_default_period``); *Reconcile now* runs it
    at once in the background, and a run can be made over any period. Each run records when it ran, what it
    checked, what KashFlow calls it made and what it found.
    """

    _name = "kashflow.reconciliation"
    _description = "KashFlow reconciliation"
    _order = "id desc"

    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True,
                                 default=lambda self: self.env.company)
    date_from = fields.Date(string="From", required=True, help="First tax point (invoice or payment date) checked.")
    date_to = fields.Date(string="To", required=True, help="Last tax point checked.")
    state = fields.Selection(const.RUN_STATES, default="running", required=True, readonly=True)
    started_at = fields.Datetime(readonly=True)
    ended_at = fields.Datetime(readonly=True)
    next_date = fields.Date(readonly=True, help="The first day the run has still to check.")
    documents_total = fields.Integer(string="Documents to Check", readonly=True)
    documents_checked = fields.Integer(readonly=True)
    invoices_checked = fields.Integer(string="Invoices and Credit Notes Checked", readonly=True)
    payments_checked = fields.Integer(readonly=True)
    orders_checked = fields.Integer(readonly=True)
    orders_skipped = fields.Integer(readonly=True, help="Orders a job was sending while the run checked their "
                                                        "documents: the next run checks them.")
    kashflow_calls = fields.Integer(string="KashFlow Calls", readonly=True)
    mismatches_found = fields.Integer(string="Mismatches", readonly=True,
                                      help="Documents found to differ in KashFlow from what Odoo holds.")
    progress = fields.Float(compute="_compute_progress", help="Share of the documents checked, in per cent.")
    message = fields.Text(readonly=True)
    finding_ids = fields.One2many("kashflow.reconciliation.finding", "reconciliation_id", string="Findings",
                                  readonly=True)

    @api.depends("date_from", "date_to", "company_id")
    def _compute_display_name(self):
        for run in self:
            run.display_name = self.env._("Reconciliation %(start)s to %(end)s", start=run.date_from, end=run.date_to)

    @api.depends("documents_checked", "documents_total", "state")
    def _compute_progress(self):
        for run in self:
            if run.state != "running":
                run.progress = 100.0
            else:
                run.progress = min(99.0, 100.0 * run.documents_checked / run.documents_total) \
                    if run.documents_total else 0.0

    # ------------------------------------------------------------------ starting runs

    @api.model
    def _kashflow_default_period(self, company):
        """The daily run's period, ``(first day, last day)``: from the first day of the month
        ``const.DEFAULT_PERIOD_MONTHS`` months ago (whatever a business's VAT quarters, the last quarter ended is in it
        for a month after its end) to today, widened to the dates of every document sent since that day: an
        invoice sent now may carry an older tax point (paid late, back-filled), a payment a later date."""
        today = fields.Date.context_today(self.with_company(company))
        start = today.replace(day=1)
        for _month in range(const.DEFAULT_PERIOD_MONTHS):
            start = (start - datetime.timedelta(days=1)).replace(day=1)
        self.env.flush_all()
        first, last = self.env.execute_query(SQL(
            """SELECT min(date), max(date) FROM kashflow_document
                WHERE company_id = %s AND sent_at >= %s AND COALESCE(kashflow_number, 0) != 0""",
            company.id, start))[0]
        return min(start, first or start), max(today, last or today)

    @api.model
    def _kashflow_start(self, company, date_from=None, date_to=None):
        """A running reconciliation of ``company`` over the period (by default ``_kashflow_default_period``)."""
        default_from, default_to = self._kashflow_default_period(company)
        return self.sudo().create({"company_id": company.id, "date_from": date_from or default_from,
                                   "date_to": date_to or default_to})

    @api.model_create_multi
    def create(self, vals_list):
        """A new run starts at once, in the background (the scheduled action is triggered)."""
        runs = super().create(vals_list)
        for run in runs.sudo():  # what follows is the run's to record, not its creator's to write
            run.write({"started_at": fields.Datetime.now(), "next_date": run.date_from,
                       "documents_total": run._kashflow_count(run.date_from, run.date_to)})
        self.env.ref("kashflow_connector.ir_cron_kashflow_reconcile").sudo()._trigger()
        return runs

    @api.constrains("date_from", "date_to")
    def _check_period(self):
        for run in self:
            if run.date_from > run.date_to:
                raise ValidationError(self.env._("A reconciliation's period must end after it starts."))

    @api.model
    def action_kashflow_reconcile_now(self):
        """*Reconcile now*: a reconciliation of each of the user's companies with KashFlow on, over the default
        period, run at once in the background (the scheduled action, triggered). Returns a notification."""
        if not self.env.user.has_group("account.group_account_invoice"):
            raise AccessError(self.env._("Only invoicing users can reconcile KashFlow with Odoo."))
        companies = self.env.companies.filtered("kashflow_enabled")
        if not companies:
            raise UserError(self.env._("KashFlow is not switched on for %s (Settings > KashFlow).",
                                       ", ".join(self.env.companies.mapped("name"))))
        running = self.sudo().search([("company_id", "in", companies.ids), ("state", "=", "running")])
        for company in companies - running.company_id:
            self._kashflow_start(company)
        if running:
            self.env.ref("kashflow_connector.ir_cron_kashflow_reconcile").sudo()._trigger()  # go on with it now
        if running and not companies - running.company_id:  # nothing new started: say which run goes on
            title = self.env._("Reconciliation already running")
            message = self.env._(
                "%(runs)s is still running; it goes on now, and the KashFlow overview shows its progress. Click "
                "Reconcile now again once it is done to check the default period.",
                runs=", ".join(running.mapped("display_name")))
        else:
            title = self.env._("Reconciliation started")
            message = self.env._("KashFlow is being read back and compared with Odoo; the KashFlow overview shows "
                                 "the progress.")
        return {
            "type": "ir.actions.client", "tag": "display_notification",
            "params": {"type": "info", "sticky": False, "title": title, "message": message},
        }

    def action_kashflow_run_again(self):
        """Run the reconciliation of this one's company and period again, in the background."""
        if not self.env.user.has_group("account.group_account_invoice"):
            raise AccessError(self.env._("Only invoicing users can reconcile KashFlow with Odoo."))
        for run in self:
            self._kashflow_start(run.company_id, run.date_from, run.date_to)
        return True

    @api.model
    def _kashflow_cron(self):
        """Scheduled action: go on with a running reconciliation, one window at a time (the scheduler calls
        again while ``_notify_progress`` says work remains); with none running, start the daily ones."""
        runs = self.sudo().search([("state", "=", "running")], order="id")
        if not runs:
            recent = fields.Datetime.now() - datetime.timedelta(hours=20)
            for company in self.env["res.company"].sudo().search([("kashflow_enabled", "=", True)]):
                if not self.sudo().search_count([("company_id", "=", company.id), ("started_at", ">", recent)]):
                    runs |= self._kashflow_start(company)
        if not runs:
            return
        runs[:1]._kashflow_step()
        runs = runs.filtered(lambda run: run.state == "running")
        # the scheduler's tasks are windows: one read now, and at least one per day-range of const.WINDOW_MAX_DAYS left
        # (a window of days without documents is work done too: the scheduler must call again at once)
        self.env["ir.cron"]._notify_progress(done=1, remaining=sum(
            -(-((run.date_to - run.next_date).days + 1) // const.WINDOW_MAX_DAYS) for run in runs if run.next_date))

    def _kashflow_run(self):
        """Run these reconciliations to the end, here and now (tests, benchmarks, a shell)."""
        for run in self:
            while run._kashflow_step():
                pass
        return self

    # ------------------------------------------------------------------ the windows

    def _kashflow_document_query(self, start, end, select):
        """``SELECT {select}`` over the documents the run checks, dated from ``start`` to ``end``: those KashFlow
        holds, of orders in a checked state (not those a job is about to change)."""
        return SQL(
            """SELECT %s FROM kashflow_document d JOIN sale_order o ON o.id = d.order_id
                WHERE d.company_id = %s AND COALESCE(d.kashflow_number, 0) != 0 AND d.removed IS NOT TRUE
                  AND d.date BETWEEN %s AND %s AND o.kashflow_state IN %s""",
            select, self.company_id.id, start, end, const.CHECKED_STATES)

    def _kashflow_lacking_query(self, start, end, select):
        """``SELECT {select}`` over ``l`` (``order_id``, ``move_id``, ``date``): the posted invoices and credit notes
        dated from ``start`` to ``end`` of the paid orders of the company that KashFlow should hold but no job is
        about to send (``const.LACKING_STATES``: failed, waiting for a mapping), one row per order and document: what
        Odoo's books hold of them is on Odoo's side of the checks, and KashFlow lacks it."""
        return SQL(
            """SELECT %s FROM (
                   SELECT DISTINCT o.id AS order_id, m.id AS move_id, m.invoice_date AS date
                     FROM account_move m
                     JOIN account_move_line ml ON ml.move_id = m.id
                     JOIN sale_order_line_invoice_rel rel ON rel.invoice_line_id = ml.id
                     JOIN sale_order_line sl ON sl.id = rel.order_line_id
                     JOIN sale_order o ON o.id = sl.order_id
                    WHERE m.company_id = %s AND m.state = 'posted' AND m.move_type IN ('out_invoice', 'out_refund')
                      AND m.invoice_date BETWEEN %s AND %s AND o.kashflow_state IN %s
               ) l""",
            select, self.company_id.id, start, end, const.LACKING_STATES)

    def _kashflow_count(self, start, end):
        self.env.flush_all()
        return self.env.execute_query(self._kashflow_document_query(start, end, SQL("count(*)")))[0][0] \
            + self.env.execute_query(self._kashflow_lacking_query(start, end, SQL("count(*)")))[0][0]

    def _kashflow_window(self):
        """``(start, end)``: the next days to read back, from ``next_date``, or None when the period is done. Every
        day of the period is read, those without a document of the connector too (KashFlow may hold on them a copy
        of one of its documents, or a payment added by hand): as many days as hold at most ``const.WINDOW_DOCUMENTS``
        documents to check (one day at least, whatever it holds), ``const.WINDOW_MAX_DAYS`` at most."""
        start = self.next_date
        if not start or start > self.date_to:
            return None
        last = min(self.date_to, start + datetime.timedelta(days=const.WINDOW_MAX_DAYS - 1))
        counts = defaultdict(int)
        for query in (SQL("%s GROUP BY d.date", self._kashflow_document_query(start, last, SQL("d.date, count(*)"))),
                      SQL("%s GROUP BY l.date", self._kashflow_lacking_query(start, last, SQL("l.date, count(*)")))):
            for day, count in self.env.execute_query(query):
                counts[day] += count
        total = 0
        for day, count in sorted(counts.items()):
            if total and total + count > const.WINDOW_DOCUMENTS:
                return start, day - datetime.timedelta(days=1)
            total += count
        return start, last

    def _kashflow_step(self):
        """Reconcile the next window of the run; returns whether work remains."""
        self.ensure_one()
        if self.state != "running":
            return False
        self.env.flush_all()
        window = self._kashflow_window()
        if window is None:
            self._kashflow_finish()
            return False
        start, end = window
        company = self.company_id
        try:
            with self.env.cr.savepoint():
                client = company._kashflow_client()
                stats = ReconciliationWindow(self, client, start, end).check()
        except (KashFlowError, UserError) as error:
            self.write({"state": "failed", "ended_at": fields.Datetime.now(), "message": self.env._(
                "Stopped at %(day)s: %(error)s", day=start, error=words(self.env, error))})
            _logger.warning("KashFlow reconciliation %s of %s stopped: %s", self.id, company.name, error)
            return False
        except psycopg2.extensions.TransactionRollbackError:
            raise  # another transaction changed these records (or a deadlock): the scheduler runs the window again
        except Exception as error:  # noqa: BLE001 - a run must never stay *Running* because of a bug
            _logger.exception("KashFlow reconciliation %s of %s stopped", self.id, company.name)
            self.write({"state": "failed", "ended_at": fields.Datetime.now(), "message": self.env._(
                "Stopped at %(day)s by an unexpected error (%(error)s); the details are in the server log.",
                day=start, error=type(error).__name__)})
            return False
        next_date = end + datetime.timedelta(days=1)
        values = {name: self[name] + value for name, value in stats.items()}
        checked = values.get("documents_checked", self.documents_checked)
        self.write({
            **values,
            "next_date": next_date,
            # what the windows found beside the estimate (a copy in KashFlow, a payment added there, what KashFlow
            # lacks) is counted in as it is found: the documents to check are those checked and those ahead
            "documents_total": checked + (self._kashflow_count(next_date, self.date_to)
                                          if next_date <= self.date_to else 0),
        })
        self.env.flush_all()
        self.env.invalidate_all()  # memory stays flat: the window's records go
        if self.next_date > self.date_to:
            self._kashflow_finish()
            return False
        return True

    def _kashflow_finish(self):
        self.ensure_one()
        self.write({"state": "done", "ended_at": fields.Datetime.now(), "next_date": False,
                    "documents_total": self.documents_checked,
                    "message": self.env._(
                        "%(documents)s documents of %(orders)s orders checked with %(calls)s KashFlow calls; "
                        "documents that differ: %(mismatches)s.", documents=self.documents_checked,
                        orders=self.orders_checked, calls=self.kashflow_calls, mismatches=self.mismatches_found)})

    # ------------------------------------------------------------------ differences in words

    @api.model
    def _kashflow_document_label(self, kind, number, invoice_number=0, odoo_name="", on_credit_note=False):
        """How a difference names a KashFlow document: "KashFlow invoice 1042", with the Odoo document it stands
        for where there is one ("KashFlow invoice 1042 (INV/2026/00007)"), so that either number finds it; a
        payment with the invoice it is recorded against, or the credit note (``on_credit_note``)."""
        if kind == CREDIT_NOTE:
            label = self.env._("KashFlow credit note %s", number)
        elif kind == "payment" and on_credit_note:
            return self.env._("KashFlow payment %(number)s (credit note %(credit_note)s)", number=number,
                              credit_note=invoice_number)
        elif kind == "payment":
            return self.env._("KashFlow payment %(number)s (invoice %(invoice)s)", number=number,
                              invoice=invoice_number)
        else:
            label = self.env._("KashFlow invoice %s", number)
        return self.env._("%(label)s (%(odoo)s)", label=label, odoo=odoo_name) if odoo_name else label

    @api.model
    def _kashflow_words(self, label, difference):
        """One difference in the user's words: "KashFlow invoice 1042: VAT 20% is 16.67, Odoo says 16.66"."""
        sentence = self._kashflow_sentences().get(difference.code)
        if sentence is None:
            return self.env._("%(doc)s: %(error)s", doc=label, error=difference.detail)
        kashflow, odoo, detail = difference.kashflow, difference.odoo, difference.detail
        values = {"doc": label, "kashflow": self._kashflow_value(kashflow), "odoo": self._kashflow_value(odoo)}
        if difference.code == reconcile.LINE:
            values.update(number=detail[0], text=detail[1], kashflow=self._kashflow_line(kashflow),
                          odoo=self._kashflow_line(odoo))
        elif difference.code == reconcile.LINE_TEXT:
            values.update(number=detail, kashflow=kashflow, odoo=odoo)
        elif difference.code == reconcile.VAT:
            values["rate"] = self._kashflow_rate(detail) if detail is not None else ""
        elif difference.code == reconcile.PAYMENT_ADDED:
            values.update(invoice=detail["invoice"], number=detail["number"], date=detail["date"])
        elif difference.code == reconcile.DUPLICATE:
            values["holder"] = detail
        elif difference.code == reconcile.PAID and min(kashflow or 0, odoo or 0) < 0:  # a credit note's: its credit
            values.update(kashflow=self._kashflow_value(Decimal(0) - (kashflow or Decimal(0))),
                          odoo=self._kashflow_value(Decimal(0) - (odoo or Decimal(0))))
            sentence = self.env._("%(doc)s: %(kashflow)s of its credit used in KashFlow (applied to invoices or paid "
                                  "back), Odoo says %(odoo)s.")
        if isinstance(sentence, tuple):  # the first when there is no Odoo value, else the second
            sentence = sentence[0 if odoo is None else 1]
        return sentence % values

    def _kashflow_sentences(self):
        """The sentences of ``_kashflow_words``, by difference code, translated."""
        return {
            reconcile.DELETED: (self.env._("%(doc)s: deleted in KashFlow."),
                                self.env._("%(doc)s of %(odoo)s: deleted in KashFlow.")),
            reconcile.CUSTOMER: self.env._("%(doc)s: booked to another KashFlow customer (id %(kashflow)s); Odoo's "
                                           "customer is KashFlow customer %(odoo)s."),
            reconcile.CUSTOMER_NAME: self.env._("%(doc)s: the customer is named \u201c%(kashflow)s\u201d in KashFlow, "
                                                "Odoo says \u201c%(odoo)s\u201d."),
            reconcile.DATE: self.env._("%(doc)s: dated %(kashflow)s, Odoo says %(odoo)s."),
            reconcile.PAYMENT_DATE: self.env._("%(doc)s: dated %(kashflow)s, Odoo says %(odoo)s."),
            reconcile.CURRENCY: self.env._("%(doc)s: in %(kashflow)s, Odoo says %(odoo)s."),
            reconcile.LINE_COUNT: self.env._("%(doc)s: %(kashflow)s lines, Odoo says %(odoo)s."),
            reconcile.LINE: self.env._("%(doc)s: line %(number)s (%(text)s) is %(kashflow)s, Odoo says %(odoo)s."),
            reconcile.LINE_TEXT: self.env._("%(doc)s: line %(number)s reads \u201c%(kashflow)s\u201d in KashFlow, Odoo "
                                            "says \u201c%(odoo)s\u201d."),
            reconcile.NET: self.env._("%(doc)s: net %(kashflow)s, Odoo says %(odoo)s."),
            reconcile.VAT: self.env._("%(doc)s: VAT %(rate)s is %(kashflow)s, Odoo says %(odoo)s."),
            reconcile.TOTAL: self.env._("%(doc)s: total %(kashflow)s, Odoo says %(odoo)s."),
            reconcile.PAID: self.env._("%(doc)s: %(kashflow)s paid in KashFlow, Odoo says %(odoo)s."),
            reconcile.PAYMENT_INVOICE: self.env._(
                "%(doc)s: recorded against invoice %(kashflow)s, Odoo says invoice %(odoo)s."),
            reconcile.PAYMENT_AMOUNT: self.env._("%(doc)s: %(kashflow)s, Odoo says %(odoo)s."),
            reconcile.PAYMENT_ADDED: self.env._(
                "KashFlow invoice %(invoice)s: payment of %(kashflow)s added in KashFlow (payment %(number)s, "
                "%(date)s); Odoo holds no such payment."),
            reconcile.NOT_IN_KASHFLOW: self.env._("%(doc)s of %(odoo)s is in Odoo but not in KashFlow."),
            reconcile.NOT_IN_ODOO: self.env._("%(doc)s of %(kashflow)s is in KashFlow, but Odoo no longer holds it."),
            reconcile.DUPLICATE: self.env._(
                "%(doc)s holds Odoo's %(odoo)s again, which %(holder)s already holds: its sales and VAT count twice in "
                "KashFlow. Delete it in KashFlow; the connector keeps %(holder)s."),
        }

    @staticmethod
    def _kashflow_value(value):
        if isinstance(value, Decimal):
            return f"{value:,.2f}"
        return "" if value is None else str(value)

    def _kashflow_rate(self, rate):
        return self.env._("on exempt lines") if rate < 0 else f"{rate:g}%"  # 20% as HMRC writes it

    def _kashflow_line(self, figures):
        vat_rate = self.env._("exempt") if figures.vat_rate < 0 else f"{figures.vat_rate:g}%"
        rate, vat = f"{figures.rate:,.2f}", f"{figures.vat:,.2f}"  # no f-string inside _(): babel cannot read it
        return self.env._("%(quantity)s \u00d7 %(rate)s, VAT %(vat)s at %(vat_rate)s", quantity=figures.quantity,
                          rate=rate, vat=vat, vat_rate=vat_rate)
