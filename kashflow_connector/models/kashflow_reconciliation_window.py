"""One window of a reconciliation (``kashflow.reconciliation``): KashFlow read back for some days and compared,
document by document, with what Odoo's books hold."""

import datetime
from collections import defaultdict
from decimal import Decimal

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tools import SQL, split_every

from .. import const
from ..kashflow import documents, reconcile
from ..kashflow.snapshot import CREDIT_NOTE, INVOICE
from .kashflow_sync import words


def _day_range(start, end):
    """The first and last instants of the days ``start`` to ``end``, as KashFlow's date ranges take them."""
    return (datetime.datetime.combine(start, datetime.time.min),
            datetime.datetime.combine(end, datetime.time(23, 59, 59)))


class ReconciliationWindow:
    """One window of a reconciliation: the connector's documents dated from ``start`` to ``end``, what KashFlow
    holds for those days, and their comparison. ``check()`` returns the run's counters to add."""

    def __init__(self, run, client, start, end):
        self.run, self.client, self.start, self.end = run, client, start, end
        self.env = run.env
        self.company = run.company_id
        self.Document = self.env["kashflow.document"].sudo()
        self.now = fields.Datetime.now()
        self.stats = defaultdict(int)
        self.invoices = {}  # number -> KashFlow invoice of the window (or read alone)
        self.payments = {}  # PayID -> KashFlow payment of the window (or read with its invoice)
        self.payments_read = set()  # invoices whose payments were read alone
        self.added = set()  # keys of the records made for payments added in KashFlow
        self.holders = {}  # move id -> the record that holds that Odoo document in KashFlow (``_holders``)

    # ------------------------------------------------------------------ reading

    def check(self):
        calls = self.client.calls
        ids = [row[0] for row in self.env.execute_query(
            self.run._kashflow_document_query(self.start, self.end, SQL("d.id")))]
        documents_ = self.Document.browse(ids)
        first, last = _day_range(self.start, self.end)
        self.invoices = {invoice["InvoiceNumber"]: invoice
                         for invoice in self.client.get_invoices_by_date_range(first, last)}
        window_payments = self.client.get_payments_by_date_range(first, last)
        self.payments = {payment["PayID"]: payment for payment in window_payments}
        foreign = self._unknown_payments(window_payments)
        copies = self._copies()
        self.holders = self._holders(documents_.filtered(lambda document: document.kind != "payment").move_id.ids)
        lacking = {row[0] for row in self.env.execute_query(
            self.run._kashflow_lacking_query(self.start, self.end, SQL("DISTINCT l.order_id")))}
        # every order a shared document serves says whether it differs, not only the one whose job recorded it
        served = documents_.order_ids.filtered(lambda order: order.kashflow_state in const.CHECKED_STATES)
        order_ids = sorted(set(documents_.order_id.ids) | set(served.ids) | set(foreign) | set(copies) | lacking)
        locked = set(self._lock(order_ids))
        self.stats["orders_skipped"] += len(order_ids) - len(locked)
        window_ids = set(ids)
        for batch in split_every(const.ORDER_BATCH, [order_id for order_id in order_ids if order_id in locked]):
            orders = self.env["sale.order"].sudo().browse(batch)
            every = self.Document.search([("order_id", "in", list(batch))])
            by_order = defaultdict(lambda: self.Document)
            for document in every:
                by_order[document.order_id.id] |= document
            # each order's customer is its invoices' (or invoice address's) commercial contact
            partners = (orders.partner_id | orders.partner_invoice_id | orders.invoice_ids.partner_id) \
                .commercial_partner_id
            bindings = self.env["kashflow.customer"].sudo().search([
                ("company_id", "=", self.company.id), ("partner_id", "in", partners.ids)])
            binding_of = {binding.partner_id: binding for binding in bindings}
            for order in orders:
                if order.id in lacking:
                    self._check_lacking(order, by_order[order.id])
                else:
                    self._check_order(order, by_order[order.id], window_ids, foreign.get(order.id, []), binding_of,
                                      copies.get(order.id, []))
            self.env.flush_all()
        # once every document is checked: an order's state follows all its documents, those it shares included
        for batch in split_every(const.ORDER_BATCH, [order_id for order_id in order_ids
                                               if order_id in locked and order_id not in lacking]):
            for order in self.env["sale.order"].sudo().browse(batch):
                self._set_order_state(order)
            self.env.flush_all()
        self.stats["orders_checked"] += len(locked)
        self.stats["kashflow_calls"] += self.client.calls - calls
        return dict(self.stats)

    def _lock(self, order_ids):
        """The orders whose advisory lock this transaction now holds (those a job is sending are left out)."""
        if not order_ids:
            return []
        return [row[0] for row in self.env.execute_query(SQL(
            "SELECT id FROM unnest(%s::int[]) AS id WHERE pg_try_advisory_xact_lock(%s, id)",
            order_ids, const.ADVISORY_LOCK_CLASS))]

    def _unknown_payments(self, payments):
        """``{order id: [payment]}``: payments of the window on the connector's invoices that the connector did not
        record (no document of the company has their number) -- candidates for "added in KashFlow"."""
        if not payments:
            return {}
        known = {row[0] for row in self.env.execute_query(SQL(
            "SELECT kashflow_number FROM kashflow_document WHERE company_id = %s AND kind = 'payment' "
            "AND kashflow_number = ANY(%s)", self.company.id, [payment["PayID"] for payment in payments]))}
        unknown = [payment for payment in payments if payment["PayID"] not in known]
        if not unknown:
            return {}
        owners = dict(self.env.execute_query(SQL(
            """SELECT d.kashflow_number, d.order_id FROM kashflow_document d JOIN sale_order o ON o.id = d.order_id
                WHERE d.company_id = %s AND d.kind IN ('invoice', 'credit_note') AND d.kashflow_number = ANY(%s)
                  AND o.kashflow_state IN %s""",
            self.company.id, list({payment["PayInvoice"] for payment in unknown}), const.CHECKED_STATES)))
        found = defaultdict(list)
        for payment in unknown:
            if payment["PayInvoice"] in owners:
                found[owners[payment["PayInvoice"]]].append(payment)
        return found

    def _holders(self, move_ids):
        """``{move id: record}``: the record that holds each of the Odoo documents ``move_ids`` in KashFlow, the
        first made (as ``kashflow.document._kashflow_shared_records`` chooses it); any other record of the same
        document with a KashFlow number holds it again (left by a version that booked an invoice of several orders
        once per order)."""
        if not move_ids:
            return {}
        holders = {}
        for record in self.Document.search([
                ("company_id", "=", self.company.id), ("move_id", "in", move_ids), ("kashflow_number", "!=", 0),
                ("kind", "!=", "payment"), ("removed", "=", False), ("key", "not like", f"{reconcile.COPY}%")],
                order="id"):
            holders.setdefault(record.move_id.id, record)
        return holders

    def _copies(self):
        """``{order id: [(KashFlow invoice, record)]}``: the invoices and credit notes of the window that no record
        holds but whose customer reference names a document the connector holds in KashFlow (``record``, as
        ``_holders_named`` finds it): a second copy of it in KashFlow (a double booking, or one made by hand), which
        counts its sales and VAT twice. KashFlow's other invoices (the bookkeeper's own sales) are none of the
        connector's."""
        if not self.invoices:
            return {}
        held = {row[0] for row in self.env.execute_query(SQL(
            "SELECT kashflow_number FROM kashflow_document WHERE company_id = %s AND kind != 'payment' "
            "AND kashflow_number = ANY(%s) AND removed IS NOT TRUE", self.company.id, list(self.invoices)))}
        unknown = [invoice for number, invoice in self.invoices.items()
                   if number not in held and invoice and (invoice.get("CustomerReference") or "").strip()]
        holder_of = self._holders_named(unknown)
        copies = defaultdict(list)
        for invoice in unknown:
            holder = holder_of.get(invoice["InvoiceNumber"])
            if holder:
                copies[holder.order_id.id].append((invoice, holder))
        return copies

    def _holders_named(self, invoices):
        """``{KashFlow invoice number: record}``: for each of ``invoices`` (KashFlow invoices or credit notes), the
        record of the connector's document in KashFlow that its customer reference names, if any:

        - the same reference as the connector sent (``INV/2026/00001 S00001``; an order's own lines: ``S00001``);
        - else the number of an Odoo invoice or credit note the connector holds (``INV/2026/00001``, as a
          bookkeeper types the number on the customer's copy), whatever else the reference says;
        - else the name of an order whose held document has the same total (a copy made from the order, not the
          invoice: ``S00001``, or ``Order S00001``).

        The first record made holds a document (``_holders``); a record found is never the invoice itself."""
        invoices = [invoice for invoice in invoices if (invoice.get("CustomerReference") or "").strip()]
        if not invoices:
            return {}
        references = {invoice["CustomerReference"].strip() for invoice in invoices}
        words = sorted({word for reference in references for word in reference.split()})
        domain = [("company_id", "=", self.company.id), ("kind", "!=", "payment"), ("kashflow_number", "!=", 0),
                  ("removed", "=", False), ("key", "not like", f"{reconcile.COPY}%")]
        named_orders = self.env["sale.order"].sudo().search([("company_id", "=", self.company.id),
                                                            ("name", "in", words)])
        records = self.Document.search(domain + [
            "|", "|", "|", "|", ("kashflow_note", "in", list(references)), ("reference", "in", list(references)),
            ("move_id.name", "in", words), ("order_id", "in", named_orders.ids),
            ("move_id", "in", named_orders.invoice_ids.ids)], order="id")
        by_reference, by_move_name, by_order_name = {}, {}, defaultdict(list)
        for record in records:
            for reference in {record.kashflow_note, record.reference} - {False}:
                by_reference.setdefault(reference.strip(), record)
            orders = record.order_id
            if record.move_id:
                by_move_name.setdefault(record.move_id.name, record)
                orders |= record.move_id._kashflow_orders()  # every order of a shared invoice names it
            for name in orders.mapped("name"):
                by_order_name[name].append(record)
        found = {}
        for invoice in invoices:
            reference = invoice["CustomerReference"].strip()
            total = abs(sum((net + vat for net, vat in reconcile.vat_by_rate(invoice.get("Lines") or []).values()),
                            Decimal(0)) if invoice.get("Lines") is not None
                        else reconcile.money(invoice.get("NetAmount")) + reconcile.money(invoice.get("VATAmount")))
            holder = by_reference.get(reference) or next(
                (by_move_name[word] for word in reference.split() if word in by_move_name), None) or next(
                (record for word in reference.split() for record in by_order_name.get(word, [])
                 if abs(reconcile.money(record.kashflow_amount_total or record.amount_total)) == total), None)
            if holder and holder.kashflow_number != invoice["InvoiceNumber"]:
                found[invoice["InvoiceNumber"]] = holder
        return found

    def _invoice(self, number):
        """KashFlow's invoice ``number``: from the window, else asked for alone (its date changed?); None if gone."""
        if number not in self.invoices:
            self.invoices[number] = self.client.get_invoice(number)
        return self.invoices[number]

    def _payments_of(self, invoice_number):
        """KashFlow's payments on an invoice, asked for alone (once per invoice and window); [] if it is gone."""
        if invoice_number not in self.payments_read:
            self.payments_read.add(invoice_number)
            if self._invoice(invoice_number) is None:
                return []
            for payment in self.client.get_payments(invoice_number):
                self.payments[payment["PayID"]] = payment
        return [payment for payment in self.payments.values() if payment["PayInvoice"] == invoice_number]

    def _payment(self, number, invoice_number):
        if number not in self.payments and invoice_number:
            self._payments_of(invoice_number)
        return self.payments.get(number)

    # ------------------------------------------------------------------ comparing

    def _check_order(self, order, order_documents, window_ids, foreign, binding_of, copies):  # noqa: PLR0917
        """Compare the order's documents of the window (and the unknown payments on its invoices, and KashFlow's
        second copies of its documents, ``copies``) with what the connector would send for them now; record what
        differs (``check`` then sets the order's state)."""
        shared = self.env["kashflow.accounting"]._shared_moves(order)
        held = order_documents | self.Document._kashflow_shared_records(  # those another order's job recorded
            self.company.id, shared.ids, set(order_documents.mapped("key")))
        bound = {document.key: document.move_id for document in held
                 if document.kashflow_number or document.attempt_date}
        run = self.run
        checked = order_documents.filtered(
            lambda document: document.id in window_ids
            # a payment found added in KashFlow, dated outside the period: checked with its order, to see it gone
            or (document.key.startswith(reconcile.FOREIGN_PAYMENT) and document.mismatch and not document.removed
                and not run.date_from <= document.date <= run.date_to))
        number_of = {document.key: document.kashflow_number for document in held}
        for invoice, holder in copies:
            self._copy_found(order, invoice, holder)
        try:
            snapshot, sources = order._kashflow_snapshot(bound)
            customer = self.env["kashflow.accounting"]._customer(order, bound)
        except UserError as error:
            for document in checked:
                self._record(document, [reconcile.Difference("error", detail=str(error))])
            return
        binding = binding_of.get(customer, self.env["kashflow.customer"])
        applications = self._applications(snapshot, held, number_of) + self._recorded_for_others(held)
        for document in checked:
            if document.kind == "payment":
                self._check_payment(snapshot, document, number_of)
            else:
                source = snapshot.document(document.key)
                own = binding_of.get(sources[document.key].partner_id.commercial_partner_id,
                                     self.env["kashflow.customer"]) \
                    if source is not None and source.customer_code else binding  # addressed to another customer
                self._check_invoice(snapshot, document, binding=own, number_of=number_of, applications=applications,
                                    order_documents=held)
        if foreign:
            self._payments_added(order, order_documents, foreign, applications=applications)
        if checked:  # what Odoo holds of the order that KashFlow lacks, whatever its date (a change lost in a job)
            self._not_sent(order, snapshot, held, sources)

    def _check_lacking(self, order, order_documents):
        """An order KashFlow should hold that no job is about to send (``LACKING_STATES``): what Odoo's books hold of
        it that KashFlow lacks (its posted invoices and credit notes, the money allocated to them) is named, and
        counted on Odoo's side of the VAT table; the order keeps its state, which says why it is not sent."""
        shared = self.env["kashflow.accounting"]._shared_moves(order)
        held = order_documents | self.Document._kashflow_shared_records(
            self.company.id, shared.ids, set(order_documents.mapped("key")))
        bound = {document.key: document.move_id for document in held
                 if document.kashflow_number or document.attempt_date}
        try:
            snapshot, sources = order._kashflow_snapshot(bound)
        except UserError:
            return  # the order says what stops it; nothing of it can be told apart before that is fixed
        self._not_sent(order, snapshot, held, sources, books_only=True)

    def _applications(self, snapshot, order_documents, number_of):
        """The payments KashFlow recorded when the connector applied credit notes to the invoices and credit notes
        the order's check reads (``order_documents``, whose KashFlow numbers ``number_of`` gives by key): ``(invoice
        number, amount)`` pairs, minus a credit note's total on it and plus it on its invoice. Those of the order's
        own credit notes, and those of other orders' credit notes applied to an invoice the order shares with them
        (a credit note for one order's lines on an invoice of several): KashFlow's application is on the shared
        invoice, whichever order's check reads it."""
        pairs = []
        for document in order_documents.filtered(lambda document: document.kind == CREDIT_NOTE and document.applied
                                                 and document.kashflow_number):
            credit_note = snapshot.document(document.key)
            total = reconcile.money(credit_note.amount_total if credit_note else -document.amount_total)
            target = number_of.get(credit_note.applies_to) if credit_note else document.order_id.kashflow_invoice_number
            if not target:
                continue  # applied to no invoice in Odoo's books: KashFlow's application shows as paid otherwise
            pairs += [(document.kashflow_number, -total), (target, total)]
        invoices = order_documents.filtered(lambda document: document.kind == INVOICE and document.kashflow_number)
        if invoices:
            reversed_moves = invoices.move_id
            for document in self.Document.search([
                    ("company_id", "=", self.company.id), ("kind", "=", CREDIT_NOTE), ("applied", "=", True),
                    ("kashflow_number", "!=", 0), ("removed", "=", False), ("id", "not in", order_documents.ids),
                    "|", ("kashflow_applied_invoice_number", "in", invoices.mapped("kashflow_number")),
                    "&", ("kashflow_applied_invoice_number", "=", 0),
                    ("move_id.reversed_entry_id", "in", reversed_moves.ids)]):
                # applied before the target was recorded with it (18.0.2.2): the invoice it reverses
                reverses = document.move_id.reversed_entry_id
                target = document.kashflow_applied_invoice_number or invoices.filtered(
                    lambda invoice, move=reverses: invoice.move_id == move)[:1].kashflow_number
                total = reconcile.money(-document.amount_total)
                pairs += [(document.kashflow_number, -total), (target, total)]
        return pairs

    def _recorded_for_others(self, order_documents):
        """The payments the connector recorded for other orders on the invoices and credit notes the order's check
        reads (``order_documents``): ``(invoice number, amount)`` pairs, as ``_applications`` gives them. An
        invoice of several orders carries money of orders its other documents are not the check's (the refund of
        a credit note for one of its orders' lines, say); each such payment is checked with its own order."""
        numbers = order_documents.filtered(lambda document: document.kind != "payment").mapped("kashflow_number")
        if not numbers:
            return []
        return [(record.kashflow_applied_invoice_number, reconcile.money(record.amount_total))
                for record in self.Document.search([
                    ("company_id", "=", self.company.id), ("kind", "=", "payment"), ("kashflow_number", "!=", 0),
                    ("removed", "=", False), ("kashflow_applied_invoice_number", "in", [n for n in numbers if n]),
                    ("id", "not in", order_documents.ids), ("key", "not like", f"{reconcile.FOREIGN_PAYMENT}%")])]

    def _check_invoice(self, snapshot, document, *, binding, number_of, applications, order_documents):
        self.stats["invoices_checked"] += 1
        self.stats["documents_checked"] += 1
        number = document.kashflow_number
        found = self._invoice(number)
        holder = self._holder_of(document)
        if holder is not None:  # KashFlow holds the Odoo document again: its figures are counted once, on the holder
            if document.key.startswith(reconcile.COPY) and not self._still_copy(found, holder):
                # deleted in KashFlow since (its number maybe another sale's now): all is well
                document._kashflow_write_vat({}, [])
                document.write({"removed": True, "mismatch": False, "mismatch_reason": False,
                                "mismatch_repair": False, "checked_at": self.now, "kashflow_amount_total": 0.0})
                return
            self._record(document, [self._duplicate(document, holder)] if found is not None else [], odoo={},
                         found_lines=(found or {}).get("Lines") or [], found=found is not None,
                         found_date=reconcile.day((found or {}).get("InvoiceDate")))
            return
        source = snapshot.document(document.key)
        if source is None:  # Odoo no longer holds what it was sent from: nothing a resend can do
            differences = [] if found is None else [reconcile.Difference(reconcile.NOT_IN_ODOO, reconcile.money(
                found.get("NetAmount")) + reconcile.money(found.get("VATAmount")))]
            self._record(document, differences, odoo=document._kashflow_odoo_by_rate([]),
                         found_lines=(found or {}).get("Lines") or [], found=found is not None,
                         found_date=reconcile.day((found or {}).get("InvoiceDate")))
            return
        try:
            expected = documents.invoice_document(
                snapshot, source, customer_id=binding.kashflow_customer_id or (found or {}).get("CustomerID") or 0,
                mapping=const.NO_MAPPING, invoice_number=number, invoice_id=document.kashflow_dbid)
        except documents.DocumentError as error:
            self._record(document, [reconcile.Difference("error", detail=words(self.env, error))])
            return
        paid = sum((payment.amount for payment in snapshot.payments if payment.invoice_key == document.key),
                   Decimal(0)) + sum((amount for target, amount in applications if target == number), Decimal(0))
        differences = reconcile.compare_invoice(expected, found, customer_name=expected["Customer"],
                                                expected_paid=paid)  # the name as sent: cut to KashFlow's field
        if any(difference.code == reconcile.PAID for difference in differences):
            differences = self._explain_paid(document, found, paid=paid, differences=differences,
                                              applications=applications, order_documents=order_documents)
        self._record(document, differences, odoo=document._kashflow_odoo_by_rate(expected["Lines"]),
                     found_lines=(found or {}).get("Lines") or [], found=found is not None,
                     found_date=reconcile.day((found or {}).get("InvoiceDate")))

    def _holder_of(self, document):
        """The record that holds in KashFlow the Odoo document that ``document`` (an invoice or credit note) holds
        again, or None when ``document`` is the one that holds it: the first made of the records of its move
        (``_holders``), or, for a copy found in KashFlow (``COPY``), the record whose reference it bears."""
        if document.key.startswith(reconcile.COPY):
            if document.move_id:
                return self.holders.get(document.move_id.id) or self._holders(document.move_id.ids).get(
                    document.move_id.id)
            return self._holders_named([{
                "InvoiceNumber": document.kashflow_number, "CustomerReference": document.reference or "",
                "NetAmount": document.kashflow_amount_total, "VATAmount": 0}]).get(document.kashflow_number)
        holder = self.holders.get(document.move_id.id) if document.move_id else None
        return holder if holder and holder != document else None

    def _still_copy(self, found, holder):
        """Whether ``found`` (what KashFlow holds now under a copy's number, or None) still names ``holder``'s
        document: KashFlow may give a deleted invoice's number to the next one, a sale of the bookkeeper's own."""
        if found is None:
            return False
        named = self._holders_named([found]).get(found["InvoiceNumber"])
        return bool(named) and (named.move_id == holder.move_id if holder.move_id else named == holder)

    def _duplicate(self, document, holder):
        """The difference of a KashFlow document that holds ``holder``'s Odoo document again."""
        name = holder.move_id.name or holder.reference or ""
        return reconcile.Difference(reconcile.DUPLICATE, odoo=name, detail=self.run._kashflow_document_label(
            holder.kind, holder.kashflow_number))

    def _copy_found(self, order, invoice, holder):
        """A record of ``invoice``, a second copy in KashFlow of ``holder``'s document: marked, its figures on
        KashFlow's side of the VAT table alone (Odoo counts the document once, on ``holder``)."""
        number = invoice["InvoiceNumber"]
        record = self.Document._kashflow_found_again({
            "order_id": order.id, "key": f"{reconcile.COPY}{number}", "kind": holder.kind, "removed": False,
            "move_id": holder.move_id.id, "kashflow_number": number, "kashflow_dbid": invoice.get("InvoiceDBID") or 0,
            "date": reconcile.day(invoice.get("InvoiceDate")) or holder.date, "currency_id": holder.currency_id.id,
            "reference": invoice["CustomerReference"], "amount_total": 0.0, "sequence": 1000,
            "order_ids": [Command.set(holder.order_ids.ids or order.ids)]})
        self.stats["invoices_checked"] += 1
        self.stats["documents_checked"] += 1
        self._record(record, [self._duplicate(record, holder)], odoo={}, found_lines=invoice.get("Lines") or [])

    def _explain_paid(self, document, found, *, paid, differences, applications, order_documents):
        """An invoice paid otherwise than Odoo says: its payments, read alone, name the payments added in KashFlow
        (those already found are said to differ on their own records); what they explain is not said twice."""
        number = document.kashflow_number
        payments = order_documents.filtered(lambda record: record.kind == "payment" and not record.removed)
        ours = set(payments.filtered(lambda record: not record.key.startswith(reconcile.FOREIGN_PAYMENT)).mapped(
            "kashflow_number"))
        found_before = set(payments.mapped("kashflow_number")) - ours
        others = [payment for payment in self._payments_of(number) if payment["PayID"] not in ours]
        added = reconcile.unexplained_payments([p for p in others if p["PayID"] not in found_before],
                                               [pair for pair in applications if pair[0] == number])
        if added:
            self._payments_added(document.order_id, order_documents, added, applications=applications, explained=True)
        explained = added + [payment for payment in others if payment["PayID"] in found_before]
        left = reconcile.money(found["AmountPaid"]) - sum((reconcile.money(p["PayAmount"]) for p in explained),
                                                          Decimal(0))
        if left == reconcile.money(paid):
            differences = [difference for difference in differences if difference.code != reconcile.PAID]
        return differences

    def _check_payment(self, snapshot, document, number_of):
        self.stats["payments_checked"] += 1
        self.stats["documents_checked"] += 1
        found = self._payment(document.kashflow_number, document.kashflow_applied_invoice_number)
        if document.key.startswith(reconcile.FOREIGN_PAYMENT):
            if found is None:  # removed in KashFlow since: nothing left to say
                document.write({"removed": True, "mismatch": False, "mismatch_reason": False,
                                "mismatch_repair": False, "checked_at": self.now})
                return
            self._record(document, [self._added(found)], amount=found["PayAmount"])
            return
        source = next((payment for payment in snapshot.payments if payment.key == document.key and payment.amount),
                      None)
        invoice_number = number_of.get(source.invoice_key) if source else 0
        expected = documents.payment_document(
            snapshot, source, invoice_number=invoice_number, mapping=const.NO_MAPPING) if invoice_number else None
        differences = reconcile.compare_payment(expected, found)
        self._record(document, differences, amount=found["PayAmount"] if found else 0)

    @staticmethod
    def _added(payment):
        return reconcile.Difference(reconcile.PAYMENT_ADDED, reconcile.money(payment["PayAmount"]), detail={
            "invoice": payment["PayInvoice"], "number": payment["PayID"], "date": reconcile.day(payment["PayDate"])},
            repair=reconcile.DELETE_PAYMENT)

    def _payments_added(self, order, order_documents, payments, *, applications, explained=False):
        """Payments on the order's invoices that neither Odoo nor the connector made: each gets a record of its
        own (a resend deletes it from KashFlow, as a payment Odoo does not hold)."""
        if not explained:
            payments = reconcile.unexplained_payments(payments, applications)
        existing = set(order_documents.mapped("key")) | self.added
        for payment in payments:
            key = f"{reconcile.FOREIGN_PAYMENT}{payment['PayID']}"
            if key in existing:
                continue
            existing.add(key)
            self.added.add(key)
            record = self.Document._kashflow_found_again({
                "order_id": order.id, "key": key, "kind": "payment", "kashflow_number": payment["PayID"],
                "removed": False,
                "kashflow_applied_invoice_number": payment["PayInvoice"], "date": reconcile.day(payment["PayDate"]),
                "currency_id": order.currency_id.id, "amount_total": float(reconcile.money(payment["PayAmount"])),
                "reference": payment.get("PayNote") or "", "sequence": 1000})
            self.stats["payments_checked"] += 1
            self.stats["documents_checked"] += 1
            self._record(record, [self._added(payment)], amount=payment["PayAmount"])

    def _not_sent(self, order, snapshot, order_documents, sources, *, books_only=False):
        """Documents and payments Odoo holds for the order that KashFlow was never sent (a change the connector
        missed): each gets a record, marked, that a resend sends; an invoice's or credit note's figures on Odoo's
        side of the VAT table (``sources``: the Odoo document of each key, as ``_snapshot`` gives them). With
        ``books_only``, only Odoo's posted invoices and credit notes and the money allocated to them."""
        sent = {document.key for document in order_documents if document.kashflow_number or document.attempt_date}
        known = {document.key: document for document in order_documents}
        keys = {item.key for item in snapshot.documents if sources.get(item.key) or not books_only}
        missing = [(item.key, item.kind, item.reference, item.date, item.amount_total * (-1 if item.kind == CREDIT_NOTE
                                                                                         else 1))
                   for item in snapshot.documents if item.key not in sent and item.key in keys]
        missing += [(item.key, "payment", item.reference, item.date, item.amount)
                    for item in snapshot.payments if item.amount and item.key not in sent and item.invoice_key in keys]
        for key, kind, reference, date, amount in missing:
            if key in known and known[key].mismatch and known[key].checked_at \
                    and known[key].checked_at >= self.run.started_at:
                continue  # already named by this run (the order has documents in more than one of its windows)
            move = sources.get(key) or self.env["account.move"]
            record = known.get(key) or self.Document.create({
                "order_id": order.id, "key": key, "kind": kind, "reference": reference, "date": date,
                "move_id": move.id, "currency_id": order.currency_id.id, "amount_total": float(amount),
                "sequence": 1000})
            difference = reconcile.Difference(reconcile.NOT_IN_KASHFLOW, odoo=reconcile.money(amount),
                                              repair=reconcile.SEND)
            odoo = None if kind == "payment" else record._kashflow_odoo_by_rate(
                self.Document._kashflow_expected_lines(snapshot, key) or [])
            self.stats["payments_checked" if kind == "payment" else "invoices_checked"] += 1
            self.stats["documents_checked"] += 1
            self._record(record, [difference], label=self._missing_label(kind, reference), odoo=odoo, found=False)

    def _missing_label(self, kind, reference):
        if kind == "invoice":
            return self.env._("Invoice %s", reference)
        if kind == CREDIT_NOTE:
            return self.env._("Credit note %s", reference)
        return self.env._("Payment %s", reference)

    # ------------------------------------------------------------------ recording

    def _record(self, document, differences, *, odoo=None, found_lines=None, found=True, amount=None, label=None,
                found_date=None):
        """Write what the check of ``document`` found: the difference in words and what a resend does, or that
        it matches; the VAT table's figures (``odoo``: Odoo's, ``{rate: (net, VAT)}``, beside ``found_lines``,
        KashFlow's lines, dated ``found_date`` in KashFlow); a finding on the run."""
        Run = self.run
        named = document.move_id.name if document.move_id and not document.key.startswith(reconcile.COPY) \
            and not any(difference.code == reconcile.DUPLICATE for difference in differences) else ""
        on_credit_note = bool(differences) and document.kind == "payment" and bool(self.Document.search_count([
            ("company_id", "=", document.company_id.id), ("kind", "=", CREDIT_NOTE),
            ("kashflow_number", "=", document.kashflow_applied_invoice_number)], limit=1))
        label = label or Run._kashflow_document_label(document.kind, document.kashflow_number,
                                                      document.kashflow_applied_invoice_number, odoo_name=named,
                                                      on_credit_note=on_credit_note)
        values = {"checked_at": self.now}
        if odoo is not None:
            document._kashflow_write_vat(odoo, found_lines if found else [], found_date=found_date)
            lines = found_lines if found else []
            values["kashflow_amount_total"] = float(sum(
                (net + vat for net, vat in reconcile.vat_by_rate(lines).values()), Decimal(0)))
        elif amount is not None:
            values["kashflow_amount_total"] = float(reconcile.money(amount))
        if differences:
            text = "\n".join(Run._kashflow_words(label, difference) for difference in differences)
            repairs = " ".join(sorted({difference.repair for difference in differences if difference.repair}))
            values.update(mismatch=True, mismatch_reason=text, mismatch_repair=repairs or False)
            self.stats["mismatches_found"] += 1
            self.env["kashflow.reconciliation.finding"].sudo().create({
                "reconciliation_id": Run.id, "document_id": document.id, "order_id": document.order_id.id,
                "message": text, "repairable": all(difference.repair for difference in differences)})
        elif document.mismatch:
            values.update(mismatch=False, mismatch_reason=False, mismatch_repair=False)
        document.write(values)

    def _set_order_state(self, order):
        """*Mismatch* while a document of the order differs in KashFlow; *Sent* again once none does."""
        mismatched = order.kashflow_document_ids.filtered("mismatch")
        if mismatched:
            reason = order._kashflow_mismatch_summary()
            if order.kashflow_state != "mismatch" or order.kashflow_reason != reason:
                first = order.kashflow_state != "mismatch"
                order.write({"kashflow_state": "mismatch", "kashflow_reason": reason})
                if first:
                    order._kashflow_log(self.env._("KashFlow differs from Odoo:"), reason)
        elif order.kashflow_state == "mismatch":
            order.write({"kashflow_state": "sent", "kashflow_reason": False})
            order._kashflow_log(self.env._("KashFlow matches Odoo again."))
