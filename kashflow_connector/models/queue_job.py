from odoo import fields, models


class QueueJob(models.Model):
    _inherit = "queue.job"

    # Indexed: every job queued with an identity key (each order's, each contact's) first looks for a waiting job
    # with the same key; without an index that look-up reads every job ever kept, and queuing slows as they grow.
    identity_key = fields.Char(index="btree_not_null")
