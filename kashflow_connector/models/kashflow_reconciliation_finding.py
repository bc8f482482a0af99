from odoo import fields, models


class KashflowReconciliationFinding(models.Model):
    """One document a reconciliation found to differ in KashFlow from what Odoo holds, with the difference in
    words: the run's report, kept when the document has since been repaired."""

    _name = "kashflow.reconciliation.finding"
    _description = "KashFlow reconciliation finding"
    _order = "reconciliation_id desc, id"
    _rec_name = "message"

    reconciliation_id = fields.Many2one("kashflow.reconciliation", required=True, index=True, ondelete="cascade",
                                        readonly=True)
    company_id = fields.Many2one(related="reconciliation_id.company_id", store=True, index=True)
    document_id = fields.Many2one("kashflow.document", index=True, ondelete="set null", readonly=True)
    order_id = fields.Many2one("sale.order", index=True, ondelete="cascade", readonly=True)
    team_id = fields.Many2one(related="order_id.team_id", string="Channel")
    kind = fields.Selection(related="document_id.kind")
    message = fields.Text(string="Difference", readonly=True)
    repairable = fields.Boolean(string="Resend Repairs It", readonly=True,
                                help="A resend of the order makes KashFlow hold what Odoo holds.")
    still_mismatched = fields.Boolean(related="document_id.mismatch", string="Still Different")
