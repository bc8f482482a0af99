import re

from odoo import api, fields, models

from odoo.addons.queue_job.exception import FailedJobError, RetryableJobError

from .. import const
from ..kashflow.booking import CustomerState, sync_customer
from .kashflow_sync import KashFlowJournal, own_transaction, run_job_work, try_lock


class KashflowCustomer(models.Model):
    """The KashFlow customer of one Odoo commercial contact in one company's KashFlow account.

    Written by the queue jobs, each change in a transaction of its own (see ``kashflow.document``).
    """

    _name = "kashflow.customer"
    _description = "KashFlow customer of a contact"
    _order = "company_id, partner_id"
    _rec_name = "partner_id"

    partner_id = fields.Many2one("res.partner", string="Contact", required=True, index=True, ondelete="cascade",
                                 readonly=True, help="The commercial contact (company, or person on their own).")
    company_id = fields.Many2one("res.company", required=True, index=True, ondelete="cascade", readonly=True)
    kashflow_customer_id = fields.Integer(string="KashFlow CustomerID", readonly=True, index=True, aggregator=False)
    code = fields.Char(string="KashFlow Customer Code", readonly=True,
                       help="The customer's code in KashFlow (kept as it is there, also when a bookkeeper chose it).")
    fingerprint = fields.Char(readonly=True, help="A digest of the contact's details as last sent to KashFlow.")
    attempt = fields.Boolean(readonly=True, help="An insert was sent to KashFlow and its answer not recorded.")
    sent_at = fields.Datetime(string="Last Sent", readonly=True)

    _sql_constraints = [
        ("partner_unique", "unique(company_id, partner_id)", "A contact has one KashFlow customer per company."),
    ]

    def _kashflow_customer_state(self):
        return CustomerState(customer_id=self.kashflow_customer_id, code=self.code or "",
                             fingerprint=self.fingerprint or "", attempt=self.attempt) if self \
            else CustomerState()

    @api.model
    def _kashflow_customer_state_values(self, state):
        return {"kashflow_customer_id": state.customer_id, "code": state.code or False,
                "fingerprint": state.fingerprint or False, "attempt": state.attempt}

    @api.model
    def _kashflow_adoptable(self, company, partner):
        """A test for ``sync_order``: whether a KashFlow customer found by email may become ``partner``'s.

        Not when another contact of the company already owns it: it is bound to another contact, or its code
        is the connector's code of another contact (that contact's insert whose answer was lost).
        """
        prefix = company._kashflow_code_prefix()
        own_code = re.compile(rf"{re.escape(prefix)}(\d+)", re.IGNORECASE)

        def adoptable(found):
            match = own_code.fullmatch(found.get("Code") or "")
            if match and int(match.group(1)) != partner.id:
                return False
            return not self.sudo().search_count([
                ("company_id", "=", company.id), ("kashflow_customer_id", "=", found["CustomerID"]),
                ("partner_id", "!=", partner.id)], limit=1)

        return adoptable

    def _kashflow_identity_key(self):
        self.ensure_one()
        return const.CUSTOMER_JOB_IDENTITY.format(self.id)

    def _kashflow_enqueue(self):
        for binding in self:
            binding.with_delay(
                channel=const.JOB_CHANNEL, identity_key=binding._kashflow_identity_key(),
                max_retries=const.JOB_MAX_RETRIES,
                description=self.env._("Update %s in KashFlow", binding.partner_id.display_name),
            )._kashflow_customer_job()

    def _kashflow_customer_job(self):
        """Queue job: send the contact's details to its KashFlow customer, if what the connector owns of them
        changed since they were last sent (only those fields change in KashFlow).

        KashFlow out of reach: retried later, as an order's job. KashFlow refusing the update (or details it cannot
        take): the job fails (``FailedJobError``), and the contact's chatter says why and what to do; saving the
        contact corrected queues the update again, as does the contact's next order."""
        self.ensure_one()
        company, partner = self.company_id, self.partner_id
        if not company.kashflow_enabled:
            raise RetryableJobError(self.env._("KashFlow is switched off for %s: the update waits.", company.name),
                                    seconds=const.SWITCHED_OFF_PAUSE, ignore_retry=True)
        company._kashflow_hold_while_paused()
        if not try_lock(self.env.cr, const.CUSTOMER_LOCK_CLASS, partner.id):
            raise RetryableJobError(self.env._("Another job is sending %s to KashFlow.", partner.name),
                                    seconds=const.LOCKED_PAUSE, ignore_retry=True)
        journal = KashFlowJournal(company, partner)
        state, _documents, _bound = journal.load()
        if not state.customer_id:
            return self.env._("%s is not in KashFlow yet: its next order sends it.", partner.name)
        before = state.fingerprint

        def fail(reason):
            self._kashflow_failed(reason)
            raise FailedJobError(reason)

        try:
            run_job_work(self.env, lambda: sync_customer(
                company._kashflow_client(), partner._kashflow_customer_snapshot(company), state, journal), fail,
                company=company, again=self.env._("Save the contact again once it is fixed."))
        finally:
            journal.flush()
        if state.fingerprint == before:
            return self.env._("Nothing changed in what KashFlow holds of %s.", partner.name)
        return self.env._("KashFlow customer %(number)s updated from %(contact)s.", number=state.customer_id,
                          contact=partner.name)

    def _kashflow_failed(self, reason):
        """Say on the contact why KashFlow did not take its update: in a transaction of its own, which stays when the
        job's ends with the failure."""
        self.ensure_one()
        with own_transaction(self.env) as env:
            partner = env["res.partner"].browse(self.partner_id.id)
            partner._message_log(body=env._(
                "KashFlow customer %(number)s was not updated: %(reason)s Correct the contact and save it: the update "
                "is sent again (its next order sends it too).", number=self.kashflow_customer_id, reason=reason),
                author_id=env.ref("base.partner_root").id)
