from odoo import fields, models

from .. import const


class KashflowHistory(models.Model):
    """One entry of an order's KashFlow history: when its job ran, where the order stood with KashFlow after it,
    and what it did there, in words, with the KashFlow documents it sent or found.

    The connector's own record, kept as long as the order: queue_job deletes done jobs after a while, and a
    bookkeeper reading last quarter's orders before a VAT return still finds what happened to each. Written by the
    order's job as it ends (``kashflow.sync``); never by hand. The job itself stays one click away while it exists.
    """

    _name = "kashflow.history"
    _description = "KashFlow history of an order"
    _order = "date desc, id desc"
    _rec_name = "message"

    order_id = fields.Many2one("sale.order", required=True, index=True, ondelete="cascade", readonly=True)
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True,
                                 help="The order's company, given by the job that writes the entry.")
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True, help="When the job ended.")
    kashflow_state = fields.Selection(const.KASHFLOW_STATES, string="Status", readonly=True,
                                      help="Where the order stood with KashFlow after the job.")
    message = fields.Text(string="What Happened", readonly=True)
    document_ids = fields.Many2many(
        "kashflow.document", "kashflow_history_document_rel", "history_id", "document_id", string="Documents",
        readonly=True, help="The KashFlow documents the job sent or found.")
    job_uuid = fields.Char(string="Job", readonly=True, index=True, help="The queue job that ran, while it exists.")

    def action_open_job(self):
        """The queue job of this entry, while queue_job keeps it."""
        self.ensure_one()
        job = self.env["queue.job"].search([("uuid", "=", self.job_uuid)], limit=1) if self.job_uuid else None
        if not job:
            return {"type": "ir.actions.client", "tag": "display_notification", "params": {
                "type": "info",
                "message": self.env._("The job has been cleaned up since; this entry is what remains.")}}
        return {"type": "ir.actions.act_window", "res_model": "queue.job", "res_id": job.id, "view_mode": "form",
                "views": [(False, "form")]}
