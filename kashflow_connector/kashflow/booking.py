"""Book one paid order into KashFlow: its customer, invoices, credit notes and payments, each exactly once.

``sync_order`` is the whole conversation with KashFlow for one order. It brings KashFlow in step with what
Odoo's accounting holds (an ``OrderSnapshot``), starting from what earlier runs recorded of each KashFlow
document (a ``DocumentState`` per document key, a ``CustomerState`` for the contact). Running it again after
any failure (a timeout, an answer lost after KashFlow did the work, a worker killed half-way) converges on
one customer per contact and one KashFlow document per document key, and it sends nothing that KashFlow
already holds:

- every document is built, and its totals checked, before anything is sent;
- a state is saved through the ``journal`` as soon as it changes: before an insert (its ``attempt`` marker,
  which says that KashFlow may hold the document even if no number was recorded) and after each call. The
  caller must make those saves durable at once (a transaction of their own), so that a run that dies
  half-way leaves behind what it did;
- a document is looked for in KashFlow only when its marker says an earlier insert may have reached
  KashFlow, and then within a bounded range (the invoices of its own date, the payments of its own invoice),
  never the customer's whole history;
- a document whose fingerprint (``documents.document_fingerprint``) is the one recorded is not sent again;
  the customer is sent only when what the connector owns of it changed (``documents.customer_fingerprint``),
  and then only those fields change in KashFlow.

Credit notes are applied to the invoice they name (``applyCreditNoteToInvoice``, once), and the application is
withdrawn when Odoo no longer makes it; a credit spent in parts comes as zero-sum pairs of payments, as KashFlow
records an application. Money received and paid back is recorded against the invoices as positive and negative
payments. A payment Odoo no longer holds
is deleted from KashFlow; one whose amount or date changed is replaced.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from . import documents
from .exceptions import AmbiguousError, RejectedError
from .snapshot import CREDIT_NOTE, InvoiceSnapshot, Mapping, OrderSnapshot, PaymentSnapshot
from .words import _lt, phrase

PAYMENT = "payment"


@dataclass
class CustomerState:
    """What is known of the contact's KashFlow customer: its id and code, the fingerprint of what was last
    sent, and whether an insert may have reached KashFlow without its answer (``attempt``)."""

    customer_id: int = 0
    code: str = ""
    fingerprint: str = ""
    attempt: bool = False


@dataclass
class DocumentState:
    """What is known of one KashFlow document of the order.

    ``kind`` is ``"invoice"``, ``"credit_note"`` or ``"payment"``. ``number`` is the KashFlow invoice or
    payment number (0: none yet), ``dbid`` an invoice's ``InvoiceDBID`` once known, ``invoice_number`` the
    invoice a payment is recorded against, or a credit note applied to. ``attempt`` is the marker of an insert
    that may have reached KashFlow: the date the document was sent with (an invoice's ``InvoiceDate``, a
    payment's ``PayDate``). ``applied`` tells whether a credit note was applied to its invoice, ``apply_attempt``
    whether an application may have reached KashFlow. ``removed`` marks a payment deleted from KashFlow because
    Odoo no longer holds it. ``note`` is the ``PayNote`` a payment was sent with (with ``invoice_number``, set
    before its insert: what finds it again after a lost answer), or the ``CustomerReference`` an invoice or
    credit note was inserted with (what finds it, even when Odoo's document has been renamed since).
    """

    key: str
    kind: str
    number: int = 0
    dbid: int = 0
    invoice_number: int = 0
    fingerprint: str = ""
    attempt: datetime.date | None = None
    applied: bool = False
    apply_attempt: bool = False
    removed: bool = False
    note: str = ""


@dataclass
class Outcome:
    """What this run changed in KashFlow, as ``(kind, key, what, number)`` events (``what``: ``created``,
    ``updated``, ``found``, ``applied``, ``withdrawn``, ``deleted``), and whether the customer was created."""

    events: list = field(default_factory=list)
    customer_created: bool = False

    def add(self, kind, key, what, number):
        self.events.append((kind, key, what, number))


class Journal:
    """Where ``sync_order`` keeps each state it changes (a ``CustomerState`` or ``DocumentState``).

    ``save`` notes a change. ``mark`` makes a state durable at once, with every change noted before it: the
    marker of an insert (or an application) must be durable before the call that may create something in
    KashFlow. ``flush`` writes what is noted; ``sync_order`` flushes before it returns or raises. So a run
    writes once per call that may create something, plus once at the end, and a run that dies between two
    writes loses no more than what the markers let the next run find again. Subclasses implement ``persist``.
    """

    def __init__(self):
        self._pending = {}

    def save(self, state):
        """Note that ``state`` changed."""
        self._pending.pop(id(state), None)  # kept in the order of their last change
        self._pending[id(state)] = state

    def mark(self, state):
        """Note that ``state`` changed, and make it and every noted change durable now."""
        self.save(state)
        self.flush()

    def flush(self):
        """Make every noted change durable now."""
        if self._pending:
            states = list(self._pending.values())
            self._pending.clear()
            self.persist(states)

    def persist(self, states):
        """Make ``states`` durable, together (in one transaction of their own, say). The default keeps nothing."""


def sync_order(  # noqa: PLR0917 - the job passes the journal by position
    client,
    order: OrderSnapshot,
    mapping: Mapping,
    customer: CustomerState,
    states: dict,
    journal: Journal | None = None,
    *,
    adoptable: Callable[[dict], bool] = lambda found: True,
    taken: Callable[[str, str, int], bool] = lambda key, kind, number: False,
    now: datetime.datetime | None = None,
    others: dict | None = None,
) -> Outcome:
    """Bring KashFlow in step with ``order``; ``customer`` and ``states`` (document key -> ``DocumentState``,
    missing keys are added) are updated in place and saved through ``journal`` as they change.

    ``adoptable(found)`` says whether a KashFlow customer found by the contact's email may become this
    contact's (it must not be another contact's). ``others`` gives, for each of ``order.other_customers`` (by
    code), its ``(CustomerState, adoptable)``: the customers of documents addressed to another customer.
    ``taken(key, kind, number)`` says whether the KashFlow invoice (``kind`` ``"invoice"``, credit notes too) or
    payment (``"payment"``) ``number`` is already held for another document than ``key`` (another order's, say, of
    the same name): a look-up after a lost answer never adopts it. Raises ``documents.DocumentError`` before any
    call when a document cannot be represented exactly, and the client's typed errors when KashFlow refuses or
    cannot be reached: the states then hold what was done before.
    """
    journal = journal or Journal()
    try:
        return _sync_order(client, order, mapping, customer=customer, states=states, journal=journal,
                           adoptable=adoptable, taken=taken, now=now, others=others or {})
    finally:
        journal.flush()


def _sync_order(client, order, mapping, *, customer, states, journal, adoptable, taken, now, others):
    now = now or datetime.datetime.now().replace(microsecond=0)
    outcome = Outcome()
    for document in order.documents:  # every document checked before the first call
        documents.invoice_document(order, document, customer_id=0, mapping=mapping)
    for payment in order.payments:
        documents.payment_note(order, payment)
    customer_ids = {order.customer.code: sync_customer(
        client, order.customer, customer, journal, source_id=mapping.source_id, adoptable=adoptable, now=now,
        outcome=outcome)}
    for other in order.other_customers:  # documents Odoo addressed to another customer than the order's
        state, other_adoptable = others[other.code]
        customer_ids[other.code] = sync_customer(client, other, state, journal, source_id=mapping.source_id,
                                                 adoptable=other_adoptable, now=now, outcome=outcome)
    for document in order.documents:
        state = _state(states, document.key, document.kind)
        _sync_document(client, order, document, mapping, customer_id=customer_ids[order.customer_of(document).code],
                       state=state, journal=journal, outcome=outcome, taken=taken)
    inserted = {key for _kind, key, what, _number in outcome.events if what in ("created", "found")}
    for document in order.documents:
        if document.kind != CREDIT_NOTE:
            continue
        target = order.document(document.applies_to) if document.applies_to else None
        if document.applies_to and target is None:
            raise ValueError(f"Credit note {document.key} applies to {document.applies_to!r}, not a document.")
        credit_note = states[document.key]
        made_anew = target is not None and target.key in inserted  # its invoice was deleted in KashFlow
        if credit_note.applied and credit_note.number and not made_anew and (
                target is None or not document.amount_total
                or credit_note.invoice_number not in (0, states[target.key].number)):
            # Odoo no longer settles that invoice with it (reconciliation undone, moved, or spent in parts)
            _withdraw_application(client, credit_note, states, journal, outcome)
        if target is None or not document.amount_total:  # the customer's credit, or spent in parts (payments)
            continue
        if made_anew and credit_note.applied:
            _unapply_credit_note(client, credit_note, journal)  # its invoice made anew: applied to the new one
        _apply_credit_note(client, credit_note, states[target.key], journal, outcome)
    _sync_payments(client, order, mapping, states, journal=journal, outcome=outcome, taken=taken)
    return outcome


def _state(states, key, kind):
    if key not in states:
        states[key] = DocumentState(key=key, kind=kind)
    return states[key]


# ---------------------------------------------------------------------------- the customer


def sync_customer(client, snapshot, state, journal=None, *, source_id=0, adoptable=lambda found: True, now=None,
                  outcome=None):
    """The contact's KashFlow customer (``snapshot``, a ``CustomerSnapshot``), created, found or brought up to
    date from ``state`` (a ``CustomerState``, updated in place and saved through ``journal``); returns its
    CustomerID. ``source_id`` is the KashFlow customer source of a new customer.

    Known customer: nothing is sent while its fingerprint is unchanged; else only the connector's fields
    are changed. Unknown: the customer an earlier insert may have left (by the connector's code, only after
    such an attempt), else the one with the contact's email if ``adoptable``, else a new one.
    """
    journal = journal or Journal()
    now = now or datetime.datetime.now().replace(microsecond=0)
    outcome = outcome if outcome is not None else Outcome()
    fingerprint = documents.customer_fingerprint(snapshot)
    if state.customer_id:
        if state.fingerprint == fingerprint:
            return state.customer_id
        current = client.get_customer_by_id(state.customer_id)
        if current is not None:
            client.update_customer(documents.customer_update(current, snapshot))
            state.fingerprint = fingerprint
            journal.save(state)
            outcome.add("customer", "customer", "updated", state.customer_id)
            return state.customer_id
        state.customer_id, state.code = 0, ""  # deleted in KashFlow since: find it again or create it anew
    found = client.get_customer_by_code(snapshot.code) if state.attempt else None
    if found is None and documents.clean_text(snapshot.email):
        candidate = client.get_customer_by_email(documents.clean_text(snapshot.email))
        found = candidate if candidate is not None and adoptable(candidate) else None
    if found is None:
        state.attempt = True
        journal.mark(state)
        document = documents.customer_document(snapshot, source_id=source_id, now=now)
        try:
            customer_id = client.insert_customer(document)
        except RejectedError as error:
            # Another job created this contact's customer a moment ago (two of its orders sent at once).
            found = client.get_customer_by_code(snapshot.code) if "not unique" in (error.detail or "") else None
            if found is None:
                raise
        else:
            state.customer_id, state.code, state.fingerprint, state.attempt = (
                customer_id, document["Code"], fingerprint, False)
            journal.save(state)
            outcome.customer_created = True
            outcome.add("customer", "customer", "created", customer_id)
            return customer_id
    # Found: it becomes the contact's, keeping the code it has (a bookkeeper may have chosen it).
    client.update_customer(documents.customer_update(found, snapshot))
    state.customer_id, state.code, state.fingerprint, state.attempt = (
        found["CustomerID"], found["Code"], fingerprint, False)
    journal.save(state)
    outcome.add("customer", "customer", "found", state.customer_id)
    return state.customer_id


# ---------------------------------------------------------------------------- invoices and credit notes


def _sync_document(client, order, document, mapping, *, customer_id, state, journal, outcome, taken):
    """Insert or update one invoice or credit note, unless KashFlow already holds what Odoo says."""
    fingerprint = documents.document_fingerprint(order, document)
    if state.number and state.fingerprint == fingerprint:
        return
    if not state.number and state.attempt:
        sent = documents.invoice_document(order, document, customer_id=customer_id, mapping=mapping) \
            if state.fingerprint == fingerprint else None  # what the attempt sent, when Odoo changed nothing since
        found = _find_lost_invoice(client, order, document, customer_id, state, sent=sent, taken=taken)
        if found is not None:
            state.number, state.dbid, state.attempt = found["InvoiceNumber"], found["InvoiceDBID"], None
            journal.save(state)
            outcome.add(document.kind, document.key, "found", state.number)
            if state.fingerprint == fingerprint:
                return  # it holds what the attempt sent, which is what Odoo says now
    if state.number:
        if not state.dbid:
            current = client.get_invoice(state.number)
            if current is None:
                _forget_deleted(order, document, state, journal)
            state.dbid = current["InvoiceDBID"]
        body = documents.invoice_document(order, document, customer_id=customer_id, mapping=mapping,
                                          invoice_number=state.number, invoice_id=state.dbid)
        try:
            client.update_invoice(body)
        except RejectedError as error:
            if client.is_not_found(error):
                _forget_deleted(order, document, state, journal)
            raise
        state.fingerprint = fingerprint
        journal.save(state)
        outcome.add(document.kind, document.key, "updated", state.number)
        return
    body = documents.invoice_document(order, document, customer_id=customer_id, mapping=mapping)
    # what the attempt sends, should it be found: its date, its reference and the fingerprint of all of it
    state.attempt, state.note, state.fingerprint = document.date, body["CustomerReference"], fingerprint
    journal.mark(state)
    state.number = client.insert_invoice(body)
    state.fingerprint, state.attempt = fingerprint, None
    journal.save(state)
    outcome.add(document.kind, document.key, "created", state.number)


def _find_lost_invoice(client, order: OrderSnapshot, document: InvoiceSnapshot, customer_id, state, *, sent, taken):
    """The invoice an earlier insert of ``document`` (``state``, its marker) left in KashFlow without its answer, or
    None: among the invoices of the date it was sent with, the one of this customer with this reference that no
    other document holds (two orders may bear one name: marketplaces reuse order numbers) and, when ``sent`` (the
    ``Invoice`` the attempt sent) is known, with its totals. More than one such invoice: ``AmbiguousError``, and
    none is adopted.

    The range runs from midnight to the day's last second: KashFlow may compare instants, or keep an
    invoice's date without the time it was sent with, and a range of midday to midday would then miss it."""
    reference = state.note or documents.invoice_reference(order, document)  # as sent (markers of 18.0.2.0: as now)
    start = datetime.datetime.combine(state.attempt, datetime.time.min)
    end = datetime.datetime.combine(state.attempt, datetime.time(23, 59, 59))
    found = [invoice for invoice in client.get_invoices_by_date_range(start, end)
             if invoice.get("CustomerID") == customer_id and invoice.get("CustomerReference") == reference
             and not taken(state.key, "invoice", invoice["InvoiceNumber"])
             and (sent is None or not invoice.get("Lines")
                  or documents.kashflow_totals(invoice) == documents.kashflow_totals(sent))]
    if len(found) > 1:
        numbers = ", ".join(str(invoice["InvoiceNumber"]) for invoice in found)
        template = _lt(
            "KashFlow did not answer when the connector sent %(reference)s of order %(order)s, and it now holds "
            "%(count)s credit notes that could be it (%(numbers)s: same customer, date, reference and totals). The "
            "connector adopted none and sent nothing more. Delete in KashFlow the one that is not this order's, then "
            "resend the order.") if document.kind == CREDIT_NOTE else _lt(
            "KashFlow did not answer when the connector sent %(reference)s of order %(order)s, and it now holds "
            "%(count)s invoices that could be it (%(numbers)s: same customer, date, reference and totals). The "
            "connector adopted none and sent nothing more. Delete in KashFlow the one that is not this order's, then "
            "resend the order.")
        raise AmbiguousError(phrase(template, reference=reference, order=order.name, count=len(found),
                                    numbers=numbers))
    return found[0] if found else None


def _forget_deleted(order, document, state, journal):
    """The document is no longer in KashFlow (deleted there): forget its number, so that the next run creates it
    again, and say so. Nothing is created now: a bookkeeper may have deleted it on purpose."""
    number = state.number
    state.number, state.dbid, state.fingerprint, state.applied = 0, 0, "", False
    journal.save(state)
    template = _lt("Credit note %(number)s of order %(order)s is no longer in KashFlow (deleted there?). Resend the "
                   "order to create it again, or restore it in KashFlow.") if document.kind == CREDIT_NOTE else _lt(
        "Invoice %(number)s of order %(order)s is no longer in KashFlow (deleted there?). Resend the order to create "
        "it again, or restore it in KashFlow.")
    raise RejectedError(phrase(template, number=number, order=order.name))


def _unapply_credit_note(client, credit_note, journal):
    """Take a credit note's application off it when the invoice it was applied to is gone from KashFlow (deleted
    there, and made anew): its own side of the application (a negative payment on it) is deleted, so that it can
    be applied to the new invoice."""
    for payment in client.get_payments(credit_note.number):
        if Decimal(str(payment["PayAmount"])) < 0:
            client.delete_payment(credit_note.number, payment["PayID"])
    credit_note.applied, credit_note.apply_attempt = False, False
    journal.mark(credit_note)


def _withdraw_application(client, credit_note, states, journal, outcome):
    """Take off KashFlow a credit note's application that Odoo no longer makes: the zero-sum pair of payments it
    left (the negative one on the credit note and the positive one of the same amount on the invoice it was
    applied to, ``credit_note.invoice_number``; for an application recorded before that number was kept, the
    first of the order's invoices that holds such a payment). Payments the connector recorded itself are never
    taken. Afterwards the credit note is the customer's credit again, as in Odoo, until applied anew."""
    ours = {state.number for state in states.values() if state.kind == PAYMENT and state.number}
    amount = Decimal(0)
    for payment in client.get_payments(credit_note.number):
        if Decimal(str(payment["PayAmount"])) < 0 and payment["PayID"] not in ours:
            client.delete_payment(credit_note.number, payment["PayID"])
            amount -= Decimal(str(payment["PayAmount"]))
    invoices = [credit_note.invoice_number] if credit_note.invoice_number else [
        state.number for state in states.values() if state.kind == "invoice" and state.number]
    for number in invoices if amount else ():
        try:
            held = client.get_payments(number)
        except RejectedError as error:
            if not client.is_not_found(error):
                raise
            continue  # that invoice is gone from KashFlow, and its side of the application with it
        side = next((payment for payment in held
                     if Decimal(str(payment["PayAmount"])) == amount and payment["PayID"] not in ours), None)
        if side is not None:
            client.delete_payment(number, side["PayID"])
            break
    credit_note.applied, credit_note.apply_attempt, credit_note.invoice_number = False, False, 0
    journal.mark(credit_note)
    outcome.add(CREDIT_NOTE, credit_note.key, "withdrawn", credit_note.number)


def _apply_credit_note(client, credit_note, invoice, journal, outcome):
    """Apply a credit note to its invoice in KashFlow, once: KashFlow then records a zero-sum pair of
    payments, the note's negative one and the invoice's positive one."""
    if credit_note.applied:
        return
    for state in (invoice, credit_note):
        if not state.dbid:
            current = client.get_invoice(state.number)
            if current is None:
                raise RejectedError(phrase(_lt(
                    "KashFlow invoice %(number)s is no longer there (deleted?); the credit note cannot be applied to "
                    "it."), number=state.number))
            state.dbid = current["InvoiceDBID"]
            journal.save(state)
    if credit_note.apply_attempt and any(Decimal(str(payment["PayAmount"])) < 0
                                         for payment in client.get_payments(credit_note.number)):
        credit_note.applied, credit_note.apply_attempt = True, False  # the earlier application got there
    else:
        credit_note.apply_attempt = True
        journal.mark(credit_note)
        client.apply_credit_note(invoice.dbid, credit_note.dbid)
        credit_note.applied, credit_note.apply_attempt = True, False
    credit_note.invoice_number = invoice.number
    journal.save(credit_note)
    outcome.add(CREDIT_NOTE, credit_note.key, "applied", credit_note.number)


# ---------------------------------------------------------------------------- payments


def _sync_payments(client, order, mapping, states, *, journal, outcome, taken):
    """Make each invoice carry exactly the order's payments: Odoo's new ones recorded, changed ones replaced,
    and those Odoo no longer holds deleted (also one whose insert may have reached KashFlow unanswered)."""
    wanted = {payment.key for payment in order.payments if payment.amount}
    for state in list(states.values()):
        if state.kind != PAYMENT or state.key in wanted or state.removed:
            continue
        if not state.number and state.attempt:
            found = _find_lost_payment(client, state, taken)
            if found is not None:
                state.number = found["PayID"]
            else:
                state.attempt = None
                journal.save(state)
        if state.number:
            _delete_payment(client, state, journal, outcome)
    for payment in order.payments:
        if payment.amount:
            invoice = states[payment.invoice_key]
            _sync_payment(client, order, payment, mapping, invoice_number=invoice.number,
                          state=_state(states, payment.key, PAYMENT), journal=journal, outcome=outcome, taken=taken)


def _sync_payment(client, order, payment: PaymentSnapshot, mapping, *, invoice_number, state, journal, outcome,
                  taken):
    fingerprint = documents.payment_fingerprint(payment)
    if state.number and not state.removed and state.fingerprint == fingerprint \
            and state.invoice_number == invoice_number:
        return
    body = documents.payment_document(order, payment, invoice_number=invoice_number, mapping=mapping)
    if not state.number and state.attempt:
        found = _find_lost_payment(client, state, taken)
        if found is not None and found["PayInvoice"] == invoice_number \
                and Decimal(str(found["PayAmount"])) == body["PayAmount"] and found["PayNote"] == body["PayNote"]:
            _record_payment(state, found["PayID"], invoice_number, fingerprint, journal)
            outcome.add(PAYMENT, payment.key, "found", state.number)
            return
        if found is not None:
            state.number = found["PayID"]  # an earlier version of this payment: replaced below
    if state.number and not state.removed:
        repair = not state.fingerprint  # a repair asked for (a resend after a reconciliation), not a change
        _delete_payment(client, state, journal, outcome)  # its amount, date or invoice changed: replace it
        for copy in client.get_payments(invoice_number) if repair else ():  # a copy made in KashFlow (re-dated)
            if copy.get("PayNote") == body["PayNote"]:
                client.delete_payment(invoice_number, copy["PayID"])
                outcome.add(PAYMENT, payment.key, "deleted", copy["PayID"])
    state.attempt, state.removed, state.invoice_number, state.note = (
        payment.date, False, invoice_number, body["PayNote"])
    journal.mark(state)
    number = client.insert_payment(body)
    _record_payment(state, number, invoice_number, fingerprint, journal)
    outcome.add(PAYMENT, payment.key, "created", number)


def _find_lost_payment(client, state, taken):
    """The payment an insert of ``state`` left in KashFlow without its answer, or None: on the invoice it was
    sent against, the one with the note it was sent with that no other document holds (``taken``). Several such
    payments: ``AmbiguousError``, and none is adopted."""
    if not state.invoice_number or not state.note:
        return None
    found = [existing for existing in client.get_payments(state.invoice_number)
             if existing.get("PayNote") == state.note and not taken(state.key, PAYMENT, existing["PayID"])]
    if len(found) > 1:
        raise AmbiguousError(phrase(_lt(
            "KashFlow did not answer when the connector recorded the payment '%(note)s' on invoice %(invoice)s, and "
            "the invoice now holds %(count)s payments with that note (%(numbers)s). The connector adopted none and "
            "sent nothing more. Delete in KashFlow the one that is not Odoo's, then resend the order."),
            note=state.note, invoice=state.invoice_number, count=len(found),
            numbers=", ".join(str(payment["PayID"]) for payment in found)))
    return found[0] if found else None


def _record_payment(state, number, invoice_number, fingerprint, journal):
    state.number, state.invoice_number, state.fingerprint, state.attempt, state.removed = (
        number, invoice_number, fingerprint, None, False)
    journal.save(state)


def _delete_payment(client, state, journal, outcome):
    try:
        client.delete_payment(state.invoice_number, state.number)
    except RejectedError as error:
        if "no payment" not in (error.detail or "").lower() and not client.is_not_found(error):
            raise  # gone already (an earlier delete whose answer was lost, or a bookkeeper) is what we want
    outcome.add(PAYMENT, state.key, "deleted", state.number)
    state.number, state.fingerprint, state.removed = 0, "", True
    journal.save(state)
