from collections import defaultdict
from decimal import Decimal

from odoo import Command, api, fields, models

from .. import const
from ..kashflow import documents, reconcile
from ..kashflow.booking import DocumentState
from ..kashflow.snapshot import Mapping


class KashflowDocument(models.Model):
    """One KashFlow invoice, credit note or payment, bound to the Odoo record it stands for (``key``, once in a
    company: an invoice or credit note, an amount a payment allocated, an order's own lines; see
    ``kashflow/snapshot.py``), and listed on every order it serves (``order_ids``). It is kept with the order whose
    job sent it first (``order_id``), or the next of its orders once that one is deleted.

    The queue job writes these records, each change in a transaction of its own, as it talks to KashFlow
    (``KashFlowJournal``, models/kashflow_sync.py): a record says what KashFlow holds, or may hold (``attempt_date``: an
    insert was sent and its answer not yet recorded), whatever happens to the job afterwards.
    """

    _name = "kashflow.document"
    _description = "KashFlow document"
    _order = "order_id, sequence, id"
    _rec_name = "display_name"
    _rec_names_search = ["reference"]  # searched by name: the order and Odoo document or payment it stands for

    order_id = fields.Many2one("sale.order", required=True, index=True, ondelete="cascade",
                               readonly=True)
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True,
                                 help="The company whose KashFlow account holds the document: its order's.")
    order_ids = fields.Many2many(
        "sale.order", "kashflow_document_sale_order_rel", "document_id", "order_id", string="Orders", readonly=True,
        help="The orders the document serves: its order's alone, or each order of an invoice made for several (and "
             "of the money allocated to it). Its record is kept with the order whose job sent it first.")
    key = fields.Char(required=True, readonly=True,
                      help="Which Odoo record the document stands for, one record per key in a company: 'move:<id>', "
                           "'order:<id>' (an order's own invoice), 'payment:<id>/move:<id>'... (kashflow/snapshot.py)")
    kind = fields.Selection(const.DOCUMENT_KINDS, required=True, readonly=True)
    sequence = fields.Integer(readonly=True)
    state = fields.Selection(const.DOCUMENT_STATES, compute="_compute_state", store=True, precompute=True)
    move_id = fields.Many2one("account.move", string="Odoo Document", readonly=True, index="btree_not_null",
                              ondelete="set null", help="The Odoo invoice or credit note it was built from.")
    reference = fields.Char(readonly=True, help="The order and Odoo document or payment it stands for.")
    date = fields.Date(readonly=True, help="Tax point of an invoice or credit note; date of a payment.")
    currency_id = fields.Many2one("res.currency", readonly=True)
    amount_net = fields.Monetary(string="Net", readonly=True)
    amount_vat = fields.Monetary(string="VAT", readonly=True)
    amount_total = fields.Monetary(string="Total", readonly=True,
                                   help="Gross total, negative for a credit note; a payment's amount, negative when "
                                        "paid back.")
    kashflow_number = fields.Integer(
        string="Number", readonly=True, aggregator=False,
        help="The KashFlow invoice number (also of a credit note) or payment number.")
    kashflow_dbid = fields.Integer(string="KashFlow InvoiceDBID", readonly=True, aggregator=False,
                                   help="KashFlow's internal id of an invoice or credit note.")
    kashflow_applied_invoice_number = fields.Integer(
        string="Applied to KashFlow Invoice", readonly=True, aggregator=False,
        help="The KashFlow invoice a payment is recorded against (KashFlow's PayInvoice), or a credit note is applied "
             "to.")
    fingerprint = fields.Char(readonly=True, help="A digest of what was last sent, to notice later changes.")
    attempt_date = fields.Date(
        readonly=True, help="Set before an insert is sent to KashFlow and cleared once its number is recorded: "
                            "while set, KashFlow may hold the document without Odoo knowing its number.")
    applied = fields.Boolean(readonly=True, help="A credit note applied to its invoice in KashFlow.")
    apply_attempt = fields.Boolean(readonly=True)
    removed = fields.Boolean(readonly=True, help="A payment deleted from KashFlow: Odoo no longer holds it.")
    kashflow_note = fields.Char(string="KashFlow Note", readonly=True,
                                help="The note (PayNote) a payment was sent to KashFlow with; the customer "
                                     "reference an invoice or credit note was inserted with.")
    sent_at = fields.Datetime(string="Last Sent", readonly=True)

    # What the reconciliation (``kashflow.reconciliation``) last found; what the VAT table shows.
    team_id = fields.Many2one(related="order_id.team_id", string="Channel", store=True, precompute=True)
    mismatch = fields.Boolean(readonly=True, index=True,
                              help="The last reconciliation found that KashFlow's copy differs from what Odoo holds.")
    mismatch_reason = fields.Text(string="Difference", readonly=True,
                                  help="How KashFlow's copy differs from what Odoo holds, as the last reconciliation "
                                       "found it.")
    mismatch_repair = fields.Char(readonly=True,
                                  help="What a resend does about the difference (reconcile.py's repair codes).")
    checked_at = fields.Datetime(string="Last Reconciled", readonly=True)
    check_result = fields.Selection(
        const.CHECK_RESULTS, string="Last Check", compute="_compute_check_result", store=True, precompute=True,
        help="What the last reconciliation found: KashFlow's copy matches Odoo, or differs (the reason says how); "
             "empty until a reconciliation checks it.")
    kashflow_amount_total = fields.Monetary(
        string="Total in KashFlow", readonly=True,
        help="The document's total (a payment's amount) as KashFlow held it when last sent or reconciled.")
    vat_ids = fields.One2many("kashflow.document.vat", "document_id", string="Net and VAT per Rate", readonly=True)
    # The overview's measures: the amounts in the company's currency, at Odoo's rate of the document's date (as
    # Odoo's Sales Analysis adds orders in several currencies); the fields above stay in the document's currency.
    company_currency_id = fields.Many2one(related="company_id.currency_id", string="Company Currency")
    amount_total_company = fields.Monetary(
        string="Total (Company Currency)", currency_field="company_currency_id",
        compute="_compute_amounts_company", store=True, precompute=True,
        help="The document's total in the company's currency, at Odoo's rate of the document's date.")
    kashflow_amount_total_company = fields.Monetary(
        string="Total in KashFlow (Company Currency)", currency_field="company_currency_id",
        compute="_compute_amounts_company", store=True, precompute=True,
        help="The total KashFlow held, in the company's currency at Odoo's rate of the document's date.")

    @api.depends("amount_total", "kashflow_amount_total", "currency_id", "date", "company_id.currency_id")
    def _compute_amounts_company(self):
        for document in self:
            company = document.company_id
            currency = document.currency_id or company.currency_id
            date = document.date or fields.Date.context_today(document)
            if not company:
                document.amount_total_company = document.kashflow_amount_total_company = 0.0
                continue
            document.amount_total_company = currency._convert(document.amount_total, company.currency_id,
                                                              company, date)
            document.kashflow_amount_total_company = currency._convert(document.kashflow_amount_total,
                                                                       company.currency_id, company, date)

    _sql_constraints = [
        ("key_unique", "unique(company_id, key)",
         "A company's KashFlow account holds each Odoo document once: one KashFlow document per Odoo record."),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        """A record serves its own order unless told which orders it serves (``order_ids``), and belongs to its
        order's company unless told."""
        for vals in vals_list:
            if "order_ids" not in vals and vals.get("order_id"):
                vals["order_ids"] = [Command.set([vals["order_id"]])]
            if "company_id" not in vals and vals.get("order_id"):
                vals["company_id"] = self.env["sale.order"].browse(vals["order_id"]).company_id.id
        return super().create(vals_list)

    @api.model
    def _kashflow_found_again(self, values):
        """The record of ``values["key"]`` in the company of ``values["order_id"]`` written with ``values`` when it
        exists (what the reconciliation found in KashFlow before: a copy deleted since, whose number now holds
        another copy), else a new record of ``values``."""
        order = self.env["sale.order"].browse(values["order_id"])
        record = self.search([("company_id", "=", order.company_id.id), ("key", "=", values["key"])], limit=1)
        if record:
            record.write(values)
            return record
        return self.create(values)

    @api.model
    def _kashflow_shared_records(self, company_id, move_ids, own_keys=()):
        """The records of the invoices and credit notes ``move_ids`` that serve several orders, and of the money
        allocated to them (keys ``move:<id>`` and ``<payment key>/move:<id>``), whichever order's job made them;
        one per key (the one that holds a KashFlow number, else the first), ``own_keys`` left out.

        A job that sends such a document keeps it in the record it finds here: KashFlow holds it once."""
        if not move_ids:
            return self.browse()
        keys = [f"move:{move_id}" for move_id in move_ids]
        domain = [("key", "in", keys)]
        for move_id in move_ids:
            domain = ["|", ("key", "=like", f"%/move:{move_id}"), *domain]
        records = self.search([("company_id", "=", company_id), ("key", "not in", list(own_keys)), *domain])
        chosen = {}
        for record in records.sorted(lambda record: (not record.kashflow_number, not record.attempt_date, record.id)):
            chosen.setdefault(record.key, record)
        return self.browse([record.id for record in chosen.values()])

    @api.depends("mismatch", "checked_at")
    def _compute_check_result(self):
        for document in self:
            document.check_result = "differs" if document.mismatch else "matches" if document.checked_at else False

    @api.depends("kashflow_number", "removed")
    def _compute_state(self):
        for document in self:
            document.state = "removed" if document.removed else "sent" if document.kashflow_number else "pending"

    @api.depends("kind", "kashflow_number")
    def _compute_display_name(self):
        labels = dict(self._fields["kind"]._description_selection(self.env))
        for document in self:
            number = document.kashflow_number or self.env._("(not yet in KashFlow)")
            document.display_name = f"{labels.get(document.kind, '')} {number}"

    def _kashflow_document_state(self):
        """This record as the booking engine's ``DocumentState`` (``kashflow/booking.py``)."""
        self.ensure_one()
        return DocumentState(
            key=self.key, kind=self.kind, number=self.kashflow_number, dbid=self.kashflow_dbid,
            invoice_number=self.kashflow_applied_invoice_number, fingerprint=self.fingerprint or "",
            attempt=self.attempt_date or None, applied=self.applied, apply_attempt=self.apply_attempt,
            removed=self.removed, note=self.kashflow_note or "")

    @api.model
    def _kashflow_document_state_values(self, state):
        """The field values of a ``DocumentState``."""
        return {
            "kashflow_number": state.number, "kashflow_dbid": state.dbid,
            "kashflow_applied_invoice_number": state.invoice_number, "fingerprint": state.fingerprint or False,
            "attempt_date": state.attempt or False, "applied": state.applied, "apply_attempt": state.apply_attempt,
            "removed": state.removed, "kashflow_note": state.note or False,
        }

    # ------------------------------------------------------------------ reconciliation and the VAT table

    @api.model
    def _kashflow_expected_lines(self, snapshot, key):
        """The ``InvoiceLine`` dicts the connector sends for the document ``key`` of ``snapshot`` (an
        ``OrderSnapshot``), or None when it cannot be represented (the job says why when it sends it)."""
        document = snapshot.document(key) if snapshot else None
        if document is None:
            return None
        try:
            return documents.invoice_document(snapshot, document, customer_id=0,
                                              mapping=Mapping(0, 0, 0, 0, 0))["Lines"]
        except documents.DocumentError:
            return None

    def _kashflow_sent(self, state, lines, odoo_by_rate):
        """The job recorded that KashFlow holds this document as sent (``state``, a ``DocumentState``, carries its
        number and fingerprint): its total in KashFlow and, for an invoice or credit note, its net and VAT per rate
        on both sides, are those sent: ``lines``, the ``InvoiceLine`` dicts sent (None for a payment, or a document
        that cannot be represented), and ``odoo_by_rate``, Odoo's side (``_kashflow_move_by_rate``), both worked out
        by the job from what it read of Odoo's books."""
        self.ensure_one()
        if not state.number or not state.fingerprint:
            return
        if state.kind == "payment":
            self.kashflow_amount_total = self.amount_total
            return
        if lines is None:
            return
        self._kashflow_write_vat(odoo_by_rate, lines)
        net_vat = reconcile.vat_by_rate(lines).values()
        self.kashflow_amount_total = float(sum((net + vat for net, vat in net_vat), 0))

    def _kashflow_odoo_by_rate(self, expected_lines):
        """``{rate: (net, VAT)}``: Odoo's side of this invoice or credit note in the *VAT by Month* table
        (``_kashflow_move_by_rate`` of the Odoo document it stands for)."""
        self.ensure_one()
        return self._kashflow_move_by_rate(self.move_id, expected_lines)

    @api.model
    def _kashflow_move_by_rate(self, move, expected_lines):
        """``{rate: (net, VAT)}``: Odoo's side of an invoice or credit note in the *VAT by Month* table, read from
        Odoo's books: the journal items of the posted Odoo document ``move`` (``_kashflow_books_by_rate``), nothing
        once that document is no longer posted; for a document of an order's own lines, which no Odoo document
        holds (``move`` empty), the order's figures as the connector sends them (``expected_lines``, KashFlow
        ``InvoiceLine`` dicts). Credit notes negative, in the document's currency."""
        if move:
            return self._kashflow_books_by_rate(move) if move.state == "posted" else {}
        return reconcile.vat_by_rate(expected_lines or [])

    @api.model
    def _kashflow_books_by_rate(self, move):
        """``{rate: (net, VAT)}`` of a posted invoice or credit note (``move``) as its journal items book it, in its
        currency, signed as a sale (a credit note negative), per KashFlow VAT rate (``reconcile.rate_key``; -1 for
        KashFlow's exempt rate): a product line's net at the rate of its VAT tax (exempt without one), a VAT tax
        line's amount as VAT at its rate, a tax that is not VAT (``account.tax.kashflow_treatment`` *charge*) as
        net without VAT, as the connector books it. Where the company's KashFlow account does not take VAT
        (``kashflow_include_vat`` off), all of it is net at 0%, as sent."""
        include_vat = move.company_id.kashflow_include_vat
        exempt, zero = reconcile.rate_key(documents.VAT_EXEMPT), reconcile.rate_key(0)
        totals = {}

        def add(rate, net=0.0, vat=0.0):
            old_net, old_vat = totals.get(rate, (Decimal(0), Decimal(0)))
            totals[rate] = (old_net + reconcile.money(net), old_vat + reconcile.money(vat))

        for line in move.line_ids:
            amount = -line.amount_currency  # a sale's income and VAT are credits
            if line.display_type == "product":
                vat_tax = line.tax_ids.filtered(lambda tax: tax.kashflow_treatment in ("vat", "exempt"))[:1]
                rate = reconcile.rate_key(vat_tax.amount) if vat_tax.kashflow_treatment == "vat" else exempt
                add(rate if include_vat else zero, net=amount)
            elif line.display_type == "tax" and line.tax_line_id:
                tax = line.tax_line_id
                if not include_vat:
                    add(zero, net=amount)
                elif tax.kashflow_treatment in ("vat", "exempt"):
                    add(reconcile.rate_key(tax.amount) if tax.kashflow_treatment == "vat" else exempt, vat=amount)
                else:
                    add(exempt, net=amount)
        return totals

    def _kashflow_write_vat(self, odoo, found_lines, found_date=None):
        """Net and VAT per rate: Odoo's (``odoo``, ``{rate: (net, VAT)}``: ``_kashflow_odoo_by_rate``; empty where
        Odoo holds nothing of it) at the document's tax point, beside KashFlow's (``found_lines``, the
        ``InvoiceLine`` dicts it holds; empty when it holds nothing) at KashFlow's date of it (``found_date``, a
        ``date``; the document's when None): an invoice redated in KashFlow counts in KashFlow's month there, as in
        KashFlow's VAT return, and in Odoo's month on Odoo's side. Rows that did not change are kept."""
        self.ensure_one()
        kashflow = reconcile.vat_by_rate(found_lines or [])
        odoo_date, kashflow_date = self.date, found_date or self.date
        wanted = defaultdict(lambda: dict.fromkeys(("odoo_net", "odoo_vat", "kashflow_net", "kashflow_vat"), 0.0))
        for rate, (net, vat) in odoo.items():
            row = wanted[odoo_date, float(rate)]
            row["odoo_net"], row["odoo_vat"] = float(net), float(vat)
        for rate, (net, vat) in kashflow.items():
            row = wanted[kashflow_date, float(rate)]
            row["kashflow_net"], row["kashflow_vat"] = float(net), float(vat)
        Vat = self.env["kashflow.document.vat"]
        existing = {(row.date, row.vat_rate): row for row in self.vat_ids}
        for (date, rate), values in wanted.items():
            row = existing.pop((date, rate), None)
            if row is None:
                Vat.create({**values, "document_id": self.id, "vat_rate": rate, "date": date})
            elif any(self.currency_id.compare_amounts(row[name], value) if self.currency_id else row[name] != value
                     for name, value in values.items()):
                row.write(values)
        if existing:
            Vat.browse([row.id for row in existing.values()]).unlink()

    def _kashflow_prepare_repair(self):
        """A resend of the documents' orders repairs what the reconciliation found different in KashFlow, where
        Odoo is right: the next job sends again what differs (``mismatch_repair``, reconcile.py's codes).

        - an invoice or credit note deleted in KashFlow is inserted anew (its number forgotten), and its payments
          recorded again on it; one that differs is updated (its fingerprint forgotten);
        - a payment that differs, or was deleted, is deleted (if still there) and recorded again;
        - a customer renamed in KashFlow gets Odoo's details again;
        - a payment added in KashFlow, or one Odoo no longer holds, is deleted by the job itself, as is what
          Odoo holds and KashFlow never got sent.

        The marks are cleared: the next reconciliation says whether anything still differs.
        """
        bindings = self.env["kashflow.customer"].sudo()
        for document in self.sudo():
            repairs = set((document.mismatch_repair or "").split())
            values = {"mismatch": False, "mismatch_reason": False, "mismatch_repair": False}
            if reconcile.REINSERT in repairs and document.kind != "payment":
                document.order_id.kashflow_document_ids.filtered(
                    lambda payment, number=document.kashflow_number: payment.kind == "payment"
                    and payment.kashflow_applied_invoice_number == number and not payment.removed,
                ).write({"fingerprint": False})
                values.update(kashflow_number=0, kashflow_dbid=0, fingerprint=False, attempt_date=False,
                              applied=False, apply_attempt=False)
            elif repairs & {reconcile.UPDATE, reconcile.REPLACE_PAYMENT, reconcile.REINSERT}:
                values["fingerprint"] = False
            if reconcile.CUSTOMER_UPDATE in repairs:
                partner = document.move_id.partner_id.commercial_partner_id \
                    or self.env["kashflow.accounting"]._customer(document.order_id)  # whom its Odoo document names
                bindings |= bindings.search([("company_id", "=", document.company_id.id),
                                             ("partner_id", "=", partner.id)])
            if document.key.startswith(reconcile.FOREIGN_PAYMENT) and self.search_count([
                    ("company_id", "=", document.company_id.id), ("kind", "=", "payment"), ("id", "!=", document.id),
                    ("kashflow_number", "=", document.kashflow_number), ("removed", "=", False)], limit=1):
                document.unlink()  # the connector's own payment after all (seen while a job recorded it)
                continue
            document.write(values)
        bindings.write({"fingerprint": False})
        self.env.flush_all()  # the job reads these records in a transaction of its own (KashFlowJournal.load)
