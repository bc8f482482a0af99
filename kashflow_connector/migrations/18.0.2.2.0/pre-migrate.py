"""Settings a user may change are kept on upgrade (18.0.2.2): the records of the module's data that a user may edit
(its scheduled actions, job channel and job functions) are marked ``noupdate``, as their files now are, so that an
upgrade never switches a scheduled action back on nor resets what a user changed."""

from odoo.tools import SQL

USER_EDITABLE_MODELS = ("ir.cron", "queue.job.channel", "queue.job.function")


def migrate(cr, version):
    if not version:
        return
    cr.execute(SQL("UPDATE ir_model_data SET noupdate = true WHERE module = 'kashflow_connector' AND model IN %s",
                   USER_EDITABLE_MODELS))
