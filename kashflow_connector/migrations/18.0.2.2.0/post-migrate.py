"""An order's KashFlow history becomes the connector's own record (``kashflow.history``, 18.0.2.2): what the order
jobs that queue_job still keeps said as they ended (done or failed) is carried over, so that the history an order
showed before the upgrade is still there once queue_job cleans those jobs up."""

import logging

from odoo.tools import SQL

_logger = logging.getLogger(__name__)

ORDER_JOB_PREFIX = "kashflow_connector:sale.order:"  # then the order's id (sale_order.JOB_IDENTITY_PREFIX)


def migrate(cr, version):
    if not version:
        return
    cr.execute(SQL(
        """INSERT INTO kashflow_history (order_id, company_id, date, message, job_uuid, create_uid, write_uid,
                                         create_date, write_date)
           SELECT o.id, o.company_id, COALESCE(j.date_done, j.date_created), COALESCE(j.result, j.exc_message),
                  j.uuid, 1, 1, now(), now()
             FROM queue_job j
             JOIN sale_order o ON o.id = substring(j.identity_key FROM %(start)s)::int
            WHERE j.identity_key LIKE %(prefix)s AND j.state IN ('done', 'failed')
              AND substring(j.identity_key FROM %(start)s) ~ '^[0-9]+$'
              AND NOT EXISTS (SELECT 1 FROM kashflow_history h WHERE h.job_uuid = j.uuid)""",
        start=len(ORDER_JOB_PREFIX) + 1, prefix=f"{ORDER_JOB_PREFIX}%"))
    _logger.info("KashFlow: %s history entries carried over from the order jobs", cr.rowcount)
