from odoo import api, fields, models

from ..kashflow.sync import DocumentState

DOCUMENT_KINDS = [
    ("invoice", "Invoice"),
    ("credit_note", "Credit note"),
    ("payment", "Payment"),
]
DOCUMENT_STATES = [
    ("pending", "To send"),
    ("sent", "Sent"),
    ("removed", "Deleted"),
]


class KashflowDocument(models.Model):
    """One KashFlow document of an order: its invoice, a credit note or a payment (a "binding" between the
    Odoo record it comes from and the KashFlow record).

    The queue job writes these records, each change in a transaction of its own, as it talks to KashFlow
    (``sale.order._kashflow_journal``): a record says what KashFlow holds, or may hold (``attempt_date``: an
    insert was sent and its answer not yet recorded), whatever happens to the job afterwards.
    """

    _name = "kashflow.document"
    _description = "KashFlow document of an order"
    _order = "order_id, sequence, id"
    _rec_name = "display_name"

    order_id = fields.Many2one("sale.order", required=True, index=True, ondelete="cascade",
                               readonly=True)
    company_id = fields.Many2one(related="order_id.company_id", store=True, index=True)
    key = fields.Char(required=True, readonly=True,
                      help="Which Odoo record the document comes from: 'order', 'move:<id>', 'payment:<id>'...")
    kind = fields.Selection(DOCUMENT_KINDS, required=True, readonly=True)
    sequence = fields.Integer(readonly=True)
    state = fields.Selection(DOCUMENT_STATES, compute="_compute_state", store=True)
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
    kashflow_invoice_number = fields.Integer(
        string="On KashFlow Invoice", readonly=True, aggregator=False,
        help="The KashFlow invoice a payment is recorded against.")
    fingerprint = fields.Char(readonly=True, help="A digest of what was last sent, to notice later changes.")
    attempt_date = fields.Date(
        readonly=True, help="Set before an insert is sent to KashFlow and cleared once its number is recorded: "
                            "while set, KashFlow may hold the document without Odoo knowing its number.")
    applied = fields.Boolean(readonly=True, help="A credit note applied to its invoice in KashFlow.")
    apply_attempt = fields.Boolean(readonly=True)
    removed = fields.Boolean(readonly=True, help="A payment deleted from KashFlow: Odoo no longer holds it.")
    kashflow_note = fields.Char(string="KashFlow Note", readonly=True,
                                help="The note (PayNote) a payment was sent to KashFlow with.")
    sent_at = fields.Datetime(string="Last Sent", readonly=True)

    _sql_constraints = [
        ("key_unique", "unique(order_id, key)", "An order has one KashFlow document per Odoo record."),
    ]

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

    def _kashflow_state(self):
        """This record as the sync engine's ``DocumentState``."""
        self.ensure_one()
        return DocumentState(
            key=self.key, kind=self.kind, number=self.kashflow_number, dbid=self.kashflow_dbid,
            invoice_number=self.kashflow_invoice_number, fingerprint=self.fingerprint or "",
            attempt=self.attempt_date or None, applied=self.applied, apply_attempt=self.apply_attempt,
            removed=self.removed, note=self.kashflow_note or "")

    @api.model
    def _kashflow_state_values(self, state):
        """The field values of a ``DocumentState``."""
        return {
            "kashflow_number": state.number, "kashflow_dbid": state.dbid,
            "kashflow_invoice_number": state.invoice_number, "fingerprint": state.fingerprint or False,
            "attempt_date": state.attempt or False, "applied": state.applied, "apply_attempt": state.apply_attempt,
            "removed": state.removed, "kashflow_note": state.note or False,
        }
