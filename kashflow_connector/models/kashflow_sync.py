"""The queue job that books one order into KashFlow, and the journal that keeps what it did."""

import logging
from contextlib import contextmanager

import psycopg2

from odoo import SUPERUSER_ID, Command, api, fields, models
from odoo.exceptions import UserError
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY

from odoo.addons.queue_job.exception import RetryableJobError

from .. import const
from ..kashflow import documents, reconcile
from ..kashflow.booking import CustomerState, Journal, sync_order
from ..kashflow.documents import customer_code
from ..kashflow.exceptions import KashFlowError, UnavailableError
from ..kashflow.snapshot import CREDIT_NOTE, INVOICE, REPLACED, order_document_key, own_invoice_key
from ..kashflow.words import Phrase

_logger = logging.getLogger(__name__)


@contextmanager
def own_transaction(env, company_id=None):
    """A superuser environment on a cursor of its own, committed when the block ends: what is written there stays,
    whatever happens to the caller's transaction (in tests, a savepoint of the test's transaction). With
    ``company_id``, that company is the environment's (``env.company``, without reading the user's)."""
    with env.registry.cursor() as cr:
        yield api.Environment(cr, SUPERUSER_ID, {"allowed_company_ids": [company_id]} if company_id else {})


def words(env, value):
    """``value`` in the words of ``env``'s user, in their language: an error of the core (its ``phrase``), a
    ``words.Phrase`` (its fields worded too), or anything else as its text (an Odoo error is worded already)."""
    said = getattr(value, "phrase", value)
    if not isinstance(said, Phrase):
        return str(value)
    if not said.params:
        return env._(said.template)
    return env._(said.template, **{name: words(env, param) for name, param in said.params.items()})


def run_job_work(env, work, fail, *, company, gave_up=None, again=None):
    """The retry ladder of the connector's jobs, written once: ``work()``'s result, or what ``fail(words)`` returns
    (or raises) once the job cannot succeed as it stands.

    - KashFlow out of reach (``UnavailableError``): the job is retried later (``RetryableJobError``, after
      KashFlow's Retry-After when it gave one, which pauses every job of ``company``: ``_kashflow_pause``); on its
      last attempt (``gave_up``, a callable of the error giving the words, or None to leave the last attempt to
      queue_job), it fails with those words. KashFlow asking to slow down (HTTP 429) is no failure: the job waits
      as asked, using up no attempt, however often KashFlow asks;
    - KashFlow refusing, a document KashFlow cannot take, or a setting to put right (``KashFlowError``,
      ``DocumentError``, ``UserError``): it fails, with KashFlow's or the connector's words;
    - a concurrency error, or a job postponed on purpose: raised as it is, for queue_job's runner to retry;
    - anything else (a bug): logged with its traceback, and the job fails saying so, and what to do once it is
      fixed (``again``; by default, resend the order).
    """
    try:
        return work()
    except UnavailableError as error:
        if error.rate_limited:
            if error.retry_after:
                company._kashflow_pause(error.retry_after)
            raise RetryableJobError(words(env, error), seconds=error.retry_after or const.RATE_LIMITED_PAUSE,
                                    ignore_retry=True) from None
        if gave_up is not None:
            reason = gave_up(error)
            if reason:
                return fail(reason)
        pause = getattr(error, "retry_after", None)
        if pause:
            company._kashflow_pause(pause)
        raise RetryableJobError(words(env, error), **({"seconds": pause} if pause else {})) from None
    except (KashFlowError, documents.DocumentError, UserError) as error:
        return fail(words(env, error))
    except (psycopg2.Error, RetryableJobError):
        raise  # the job runner retries concurrency errors and postponed jobs
    except Exception as error:  # noqa: BLE001 - a job must never end as if it had succeeded because of a bug
        _logger.exception("Unexpected error in a KashFlow job")
        return fail(" ".join([env._("Unexpected error (%s); the details are in the server log.", type(error).__name__),
                              again or env._("Resend the order once it is fixed.")]))


def try_lock(cr, lock_class, key):
    """Whether the transaction of ``cr`` now holds the advisory lock ``(lock_class, key)``: two jobs never send
    one order at once, nor create one contact's customer twice.

    An advisory lock, not a row lock: people can go on editing the order while KashFlow is being talked to.
    """
    cr.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [lock_class, key])
    return cr.fetchone()[0]


class KashFlowJournal(Journal):
    """Keeps the states ``sync_order`` hands over: the order's ``kashflow.document`` records and its contact's
    ``kashflow.customer``, each write (``Journal.persist``) in a transaction of its own, committed at once.

    The job's own transaction never writes those records (two transactions writing one row would wait for
    each other), and reads them through such a transaction too: it sees what an earlier job left, even one
    that ended after this job's transaction began.
    """

    def __init__(self, company, partner, order=None):
        super().__init__()
        self.env = company.env
        self.company_id, self.partner_id = company.id, partner.id
        self.order_id, self.currency_id = (order.id, order.currency_id.id) if order else (False, False)
        self.values = {}
        self.record_ids = {}  # state key ("customer" for the contact's) -> id of its record, once known
        self.written = {}  # (model, record id) -> the values this journal last wrote to the record, committed
        self.unsaved = {}  # the same, written by the transaction of the current persist, not yet committed
        self.shared_keys = set()  # keys of the documents loaded from another order's records (shared documents)
        self.shared_moves = company.env["account.move"]  # the order's moves that serve other orders too
        self.snapshot = None
        self.sources = {}  # document key -> the Odoo invoice or credit note it stands for (empty: the order's lines)
        self.customer_partners = {}  # id() of the CustomerState of another customer than the order's -> its contact

    def describe(self, snapshot, sources):
        """Remember what each document stands for (its Odoo source, date and amounts), saved with its state."""
        self.snapshot, self.sources = snapshot, sources  # a document's net and VAT per rate, once KashFlow holds it
        for sequence, document in enumerate(snapshot.documents):
            sign = -1 if document.kind == CREDIT_NOTE else 1
            self.values[document.key] = {
                "order_ids": self._order_ids(document.key, sources[document.key]),
                "move_id": sources[document.key].id or False, "reference": document.reference,
                "date": document.date, "currency_id": self.currency_id, "sequence": sequence,
                "amount_net": sign * float(document.amount_net), "amount_vat": sign * float(document.amount_vat),
                "amount_total": sign * float(document.amount_total)}
        for sequence, payment in enumerate(snapshot.payments, start=len(snapshot.documents)):
            allocated = self.env["account.move"].browse(int(payment.key.split("/move:")[1])) \
                if payment.allocated_to else self.env["account.move"]
            self.values[payment.key] = {
                "order_ids": self._order_ids(payment.key, allocated),
                "reference": payment.reference, "date": payment.date, "currency_id": self.currency_id,
                "sequence": sequence, "amount_total": float(payment.amount), "amount_net": 0.0, "amount_vat": 0.0}

    def _order_ids(self, key, move):
        """The ``order_ids`` value of the record of ``key``: the orders of ``move`` when it is one this job shares with
        other orders (``shared_moves``, as ``load`` was given them), else this order."""
        orders = move._kashflow_orders() if key != own_invoice_key(self.order_id) and move \
            and move in self.shared_moves else None
        return [Command.set(orders.ids if orders else [self.order_id])]

    def load(self, shared_moves=None):
        """``(customer_state, document_states, bound_moves)`` as last saved: the ``CustomerState``, a
        ``DocumentState`` per document key, and the source moves of the documents KashFlow holds or may hold.

        The documents of ``shared_moves`` (invoices and credit notes that serve other orders too, and the money
        allocated to them) are loaded wherever another order's job recorded them: the caller holds their locks
        and, once it knows what its snapshot holds, keeps only those (``keep_shared``)."""
        self.shared_moves = shared_moves or self.env["account.move"]
        with own_transaction(self.env, self.company_id) as env:
            binding = env["kashflow.customer"].search(
                [("company_id", "=", self.company_id), ("partner_id", "=", self.partner_id)])
            records = env["kashflow.document"].search([("order_id", "=", self.order_id)]) if self.order_id \
                else env["kashflow.document"]
            records = self._without_foreign_payments_to_keep(records)
            if shared_moves:
                shared = env["kashflow.document"]._kashflow_shared_records(
                    self.company_id, shared_moves.ids, set(records.mapped("key")))
                self.shared_keys = set(shared.mapped("key"))
                records |= shared
            self.record_ids = {record.key: record.id for record in records}
            if binding:
                self.record_ids[const.CUSTOMER_KEY] = binding.id
            states = {record.key: record._kashflow_document_state() for record in records}
            bound = {record.key: self.env["account.move"].browse(record.move_id.id) for record in records
                     if record.kashflow_number or record.attempt_date}
            return binding._kashflow_customer_state(), states, bound

    def use_partner(self, partner):
        """The ``CustomerState`` of ``partner`` (the order's customer, once ``load`` knows what KashFlow holds),
        whose customer this journal now saves."""
        self.partner_id = partner.id
        self.record_ids.pop(const.CUSTOMER_KEY, None)
        return self.load_customer()

    def load_customer(self):
        """The contact's ``CustomerState`` as last saved (another job may have saved it since ``load``)."""
        with own_transaction(self.env, self.company_id) as env:
            binding = env["kashflow.customer"].search(
                [("company_id", "=", self.company_id), ("partner_id", "=", self.partner_id)])
            if binding:
                self.record_ids[const.CUSTOMER_KEY] = binding.id
            return binding._kashflow_customer_state()

    def other_customer(self, partner):
        """The ``CustomerState`` of ``partner``, the customer of some of the order's documents other than the order's
        own (``kashflow.accounting._other_customers``), as last saved; this journal saves it to that contact."""
        with own_transaction(self.env, self.company_id) as env:
            binding = env["kashflow.customer"].search(
                [("company_id", "=", self.company_id), ("partner_id", "=", partner.id)])
            if binding:
                self.record_ids[f"{const.CUSTOMER_KEY}:{partner.id}"] = binding.id
            state = binding._kashflow_customer_state()
        self.customer_partners[id(state)] = partner.id
        return state

    def keep_shared(self, states, snapshot):
        """Drop from ``states`` (as ``load`` returned them) the shared documents of other orders that ``snapshot``
        does not hold: this job neither sends nor deletes them (an invoice this order holds as its own, say)."""
        held = {document.key for document in snapshot.documents} | {payment.key for payment in snapshot.payments}
        for key in self.shared_keys - held:
            states.pop(key, None)
            self.record_ids.pop(key, None)
        self.shared_keys &= held

    def taken(self, key, kind, number):
        """Whether a record of another document than ``key`` (another order's, or another of this order's) holds the
        KashFlow invoice or credit note (``kind`` ``"invoice"``) or payment (``"payment"``) ``number``: a look-up
        after a lost answer must not adopt it (``booking.sync_order``). Payments found added in KashFlow, which the
        connector did not make, hold none."""
        kinds = ["payment"] if kind == "payment" else ["invoice", "credit_note"]
        own = self.record_ids.get(key)
        with own_transaction(self.env, self.company_id) as env:
            return bool(env["kashflow.document"].search_count([
                ("company_id", "=", self.company_id), ("kind", "in", kinds), ("kashflow_number", "=", number),
                ("removed", "=", False), ("key", "not like", f"{reconcile.FOREIGN_PAYMENT}%"),
                *([("id", "!=", own)] if own else [])], limit=1))

    @staticmethod
    def _without_foreign_payments_to_keep(records):
        """``records`` (``kashflow.document``) less the payments the reconciliation found added in KashFlow that
        the job must leave there: those still awaiting the user's decision (*Mismatch*: only a resend, which
        clears the mark, has them deleted; the payment may be real money recorded in KashFlow alone), and those
        that turned out to be the connector's own (a job recorded it while the reconciliation read KashFlow),
        whose records go."""
        foreign = records.filtered(lambda record: record.key.startswith(reconcile.FOREIGN_PAYMENT))
        if not foreign:
            return records
        own = set((records - foreign).filtered(lambda record: record.kind == "payment" and not record.removed)
                  .mapped("kashflow_number")) - {0}
        stale = foreign.filtered(lambda record: record.kashflow_number in own)
        stale.unlink()
        return records - foreign + (foreign - stale).filtered(lambda record: not record.mismatch)

    def persist(self, states):
        self.unsaved = {}
        with own_transaction(self.env, self.company_id) as env:
            now = fields.Datetime.now()
            for state in states:
                if isinstance(state, CustomerState):
                    Customer = env["kashflow.customer"]
                    partner_id = self.customer_partners.get(id(state), self.partner_id)
                    key = const.CUSTOMER_KEY if partner_id == self.partner_id else f"{const.CUSTOMER_KEY}:{partner_id}"
                    self._write(Customer, key, {**Customer._kashflow_customer_state_values(state), "sent_at": now},
                                {"company_id": self.company_id, "partner_id": partner_id})
                else:
                    Document = env["kashflow.document"]
                    record = self._write(Document, state.key, {
                        **Document._kashflow_document_state_values(state), **self.values.get(state.key, {}),
                        "sent_at": now}, {"order_id": self.order_id, "company_id": self.company_id, "key": state.key,
                                          "kind": state.kind})
                    record._kashflow_sent(state, *self._as_sent(state))
        for written, values in self.unsaved.items():  # committed now
            self.written[written] = {**self.written.get(written, {}), **values}

    def _as_sent(self, state):
        """``(lines, odoo_by_rate)`` of the document of ``state`` once KashFlow holds it as sent
        (``kashflow.document._kashflow_sent``): worked out in the job's environment, which has read the Odoo
        documents already, rather than read again in the journal's transaction; ``(None, {})`` for a payment."""
        if state.kind == "payment" or not (state.number and state.fingerprint) or state.key not in self.sources:
            return None, {}
        Document = self.env["kashflow.document"]
        lines = Document._kashflow_expected_lines(self.snapshot, state.key)
        return lines, Document._kashflow_move_by_rate(self.sources[state.key], lines) if lines is not None else {}

    def _write(self, model, key, values, new_values):
        """The record of ``key``, written (created the first time it is written); returned.

        Of a record this journal wrote before, only the values that changed since are written: a marker and the
        number that follows it differ in a few fields, and every field written has Odoo recompute what depends on
        it (the amounts in the company's currency, the VAT rows)."""
        if key in self.record_ids:
            record = model.browse(self.record_ids[key])
            written = self.written.get((model._name, record.id), {})
            changes = {name: value for name, value in values.items() if name not in written or written[name] != value}
            if changes:
                record.write(changes)
        else:
            record = model.create({**values, **new_values})
            self.record_ids[key] = record.id
        self.unsaved[model._name, record.id] = values
        return record


class KashflowSync(models.AbstractModel):
    """Sending an order to KashFlow: the work of its queue job (no table: a service)."""

    _name = "kashflow.sync"
    _description = "KashFlow: send an order"

    def _run(self, order):
        """Queue job: bring KashFlow in step with what Odoo's accounting holds for this order (customer, invoices,
        credit notes, payments), and record the outcome on the order.

        First, as the job starts: the order must be queued, the connector switched on (else the job waits, it
        does not fail), and the order still confirmed and paid, unless KashFlow already holds some of it (a
        cancellation or a refund is then booked there).

        Last, the outcome is written to the database before the job returns: when a change reached the order while
        the job ran (``sale.order._kashflow_note_change``), that write fails with a serialization error, and the job
        runs again at once, with the change, without using up one of its attempts (it made no error).
        """
        changed = self._changed_words()  # worded now: after a serialization error, the transaction reads nothing
        try:
            result = self._send_locked(order)
            self.env.flush_all()
        except psycopg2.Error as error:
            if error.pgcode not in PG_CONCURRENCY_ERRORS_TO_RETRY:
                raise
            raise RetryableJobError(changed, seconds=const.CHANGED_PAUSE, ignore_retry=True) from None
        return result

    def _send_locked(self, order):
        """``_run``'s work: the checks as the job starts, then ``_send`` under the order's lock."""
        order = order.sudo().with_company(order.company_id)
        if not order.company_id.kashflow_enabled:
            raise RetryableJobError(self.env._(
                "KashFlow is switched off for %s: the order waits until it is on again.", order.company_id.name),
                seconds=const.SWITCHED_OFF_PAUSE, ignore_retry=True)
        order.company_id._kashflow_hold_while_paused()
        if not try_lock(self.env.cr, const.ADVISORY_LOCK_CLASS, order.id):
            raise RetryableJobError(self.env._("Order %s is being sent by another job.", order.name),
                                    seconds=const.LOCKED_PAUSE, ignore_retry=True)
        if order.kashflow_state != "queued" and not self._cancelled_while_sent(order):
            return self.env._("Nothing to do: %(order)s is %(state)s.", order=order.name, state=order.kashflow_state)
        def gave_up(error):
            return self.env._("%(what)s Gave up after %(attempts)s attempts; resend the order later.",
                              what=words(self.env, error.summary_phrase), attempts=self._current_job().retry + 1) \
                if self._last_attempt() else None

        return run_job_work(self.env, lambda: self._send(order), lambda reason: self._fail(order, reason),
                            company=order.company_id, gave_up=gave_up)

    @staticmethod
    def _cancelled_while_sent(order):
        """Whether the order was marked cancelled (as never sent) while a run of this job was sending it: that run's
        end met the cancellation (a serialization error) and this run starts over; KashFlow holds, or may hold, what
        it sent, so the cancellation is booked there like any sent order's."""
        return order.kashflow_state == "cancelled" and bool(order.kashflow_document_ids.filtered(
            lambda document: document.kashflow_number or document.attempt_date))

    def _send(self, order):
        """The job's work once the order is locked: what KashFlow holds of it (its journal), what Odoo's accounting
        holds (its snapshot), then the conversation with KashFlow; the order says how it ended."""
        accounting = self.env["kashflow.accounting"]
        partner = accounting._customer(order)
        shared = accounting._shared_moves(order)
        for move in shared:  # one job at a time sends a document that serves several orders
            if not try_lock(self.env.cr, const.SHARED_LOCK_CLASS, move.id):
                raise RetryableJobError(self.env._(
                    "%(document)s, which order %(order)s shares with other orders, is being sent by another job.",
                    document=move.name, order=order.name), seconds=const.SHARED_LOCKED_PAUSE, ignore_retry=True)
        journal = KashFlowJournal(order.company_id, partner, order)
        customer, states, bound = journal.load(shared)
        if not bound and not order._kashflow_settlement()[0]:
            return self._not_sendable(order)
        channel = self._channel(order)
        if not channel.is_complete:  # the mapping was undone since the order was queued
            order._kashflow_route(self.env._("Sales channel no longer mapped."))
            return self._history(order, order.kashflow_reason)
        booked_to = accounting._customer(order, bound)  # an invoice reversed before it was sent is not booked
        if booked_to != partner:
            partner, customer = booked_to, journal.use_partner(booked_to)
        snapshot, sources = order._kashflow_snapshot(bound)
        journal.keep_shared(states, snapshot)
        self._check_currency(order, snapshot)
        journal.describe(snapshot, sources)
        if not customer.customer_id:
            self._lock_customer(partner)
            customer = journal.load_customer()  # the customer another job may have made since this one looked
        others = {}  # the customers of documents addressed to another than the order's, as the snapshot names them
        if snapshot.other_customers:
            prefix = order.company_id._kashflow_code_prefix()
            addressed = self.env["account.move"].union(*sources.values()).partner_id.commercial_partner_id
            contact_of = {customer_code(contact.id, prefix): contact for contact in addressed}
            for other in snapshot.other_customers:
                contact = contact_of[other.code]
                state = journal.other_customer(contact)
                if not state.customer_id:
                    self._lock_customer(contact)
                    state = journal.other_customer(contact)
                others[other.code] = (state, self.env["kashflow.customer"]._kashflow_adoptable(order.company_id,
                                                                                              contact))
        outcome = sync_order(
            order.company_id._kashflow_client(), snapshot, channel._kashflow_mapping(), customer, states, journal,
            adoptable=self.env["kashflow.customer"]._kashflow_adoptable(order.company_id, partner), taken=journal.taken,
            others=others)
        message, changed = self._outcome_message(order, outcome), self._changed_words()
        earlier = self._earlier_outcome()
        if earlier:  # an earlier run of this job sent it, and its end met a change: what both runs did
            message = earlier if not outcome.events else f"{earlier} {message}"
        order._kashflow_booked({"kashflow_sent_at": fields.Datetime.now(),
                                  "kashflow_invoice_number": states[self._main_key(order, snapshot, states)].number})
        try:
            self.env.flush_all()  # a change made while this run talked to KashFlow surfaces here
        except psycopg2.Error as error:
            if error.pgcode not in PG_CONCURRENCY_ERRORS_TO_RETRY:
                raise
            raise RetryableJobError(f"{changed} {message}", seconds=const.CHANGED_PAUSE, ignore_retry=True) from None
        order._kashflow_log(message)
        records = journal.record_ids
        return self._history(order, message, [records[key] for kind, key, _what, _number in outcome.events
                                              if kind != "customer" and key in records])

    def _lock_customer(self, partner):
        """Hold the lock of ``partner``'s KashFlow customer, which this job may create: one job at a time creates a
        contact's customer (``RetryableJobError`` while another does)."""
        if not try_lock(self.env.cr, const.CUSTOMER_LOCK_CLASS, partner.id):
            raise RetryableJobError(self.env._("Another order of %s is creating its KashFlow customer.", partner.name),
                                    seconds=const.LOCKED_PAUSE, ignore_retry=True)

    def _history(self, order, message, document_ids=()):
        """Record how the job ended in the order's lasting KashFlow history (``kashflow.history``); returns
        ``message``.

        In a transaction of its own, as the journal's: the documents it names were committed by the journal after
        this job's transaction began, which cannot refer to them. The job's outcome is known by then (its last
        write is flushed first: a change met there makes it run again, and that run records its own outcome)."""
        state = order.kashflow_state
        with own_transaction(self.env, order.company_id.id) as env:
            env["kashflow.history"].create({
                "order_id": order.id, "company_id": order.company_id.id, "kashflow_state": state, "message": message,
                "document_ids": [Command.set(env["kashflow.document"].browse(list(document_ids)).exists().ids)],
                "job_uuid": self.env.context.get("job_uuid") or False})
        return message

    def _changed_words(self):
        return self.env._("The order changed in Odoo while it was being sent: it is sent again with the change.")

    def _earlier_outcome(self):
        """What an earlier run of this job sent, when its end met a change made meanwhile (its result, as ``_send``
        left it), else ""."""
        result, words = self._current_job().result or "", self._changed_words()
        return result[len(words):].strip() if result.startswith(words) else ""

    @staticmethod
    def _main_key(order, snapshot, states):
        """The key of the invoice the order shows as its KashFlow invoice: its own (``order:<id>``), else (none, or
        its lines reversed since) the first invoice it shares with other orders."""
        own = own_invoice_key(order.id)
        if own in states and not snapshot.document(order_document_key(REPLACED, order.id)):
            return own
        return next((document.key for document in snapshot.documents
                     if document.kind == INVOICE and document.key != own), own)

    def _outcome_message(self, order, outcome):
        """What the job did, in the user's words: "KashFlow invoice 1042 created, payment 77 created."."""
        verbs = {"created": self.env._("created"), "updated": self.env._("updated"),
                 "found": self.env._("found (sent earlier)"), "applied": self.env._("applied to its invoice"),
                 "withdrawn": self.env._("no longer applied to its invoice"), "deleted": self.env._("deleted")}
        kinds = {"customer": self.env._("customer"), "invoice": self.env._("invoice"),
                 "credit_note": self.env._("credit note"), "payment": self.env._("payment")}
        parts = [f"{kinds[kind]} {number} {verbs[what]}" for kind, _key, what, number in outcome.events]
        if not parts:
            return self.env._("KashFlow already holds everything of this order: nothing sent.")
        return self.env._("KashFlow %s.", ", ".join(parts))

    def _not_sendable(self, order):
        """The order is no longer confirmed and paid, and nothing of it is in KashFlow: nothing is sent."""
        if order.state == "cancel":
            state = "cancelled"
            reason = self.env._("Cancelled in Odoo before it was sent to KashFlow: nothing was sent.")
        else:
            state, reason = "not_paid", self.env._(
                "No longer paid in full in Odoo (a payment was removed?): nothing was sent. It goes out once it "
                "is paid.")
        order.write({"kashflow_state": state, "kashflow_reason": reason})
        order._kashflow_log(reason)
        return self._history(order, reason)

    def _current_job(self):
        return self.env["queue.job"].sudo().search([("uuid", "=", self.env.context.get("job_uuid"))], limit=1)

    def _last_attempt(self):
        job = self._current_job()
        return bool(job) and job.max_retries and job.retry + 1 >= job.max_retries

    def _fail(self, order, reason):
        order.write({"kashflow_state": "failed", "kashflow_reason": reason})
        order._kashflow_log(self.env._("Could not be sent to KashFlow."), reason)
        return self._history(order, reason)

    def _channel(self, order):
        return self.env["kashflow.channel"].sudo().search(
            [("company_id", "=", order.company_id.id), ("team_id", "=", order.team_id.id)], limit=1)

    def _check_currency(self, order, snapshot):
        known = self.env["kashflow.lookup"].search(
            [("company_id", "=", order.company_id.id), ("kind", "=", "currency")]).mapped("code")
        missing = sorted({document.currency_code for document in snapshot.documents} - set(known))
        if known and missing:
            raise UserError(self.env._(
                "The KashFlow account has no currency %(currency)s (it has %(known)s). Add it in KashFlow under "
                "Settings > Currencies, click Download Data in Settings > KashFlow, then resend the order.",
                currency=", ".join(missing), known=", ".join(sorted(known))))
