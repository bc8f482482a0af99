"""What Odoo's accounting holds for a sale order: the one place the connector learns it from.

Whether an order is paid and since when, what it invoiced and credited (lines with Odoo's own tax details,
under either tax rounding method), and the money received and paid back, with dates. The payment hooks, the
back-fill, Resend, change detection and the queue job all read it here.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

import pytz

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_repr

from .. import const
from ..kashflow.documents import FIELD_LIMITS, customer_code, text_length
from ..kashflow.snapshot import (
    CANCELLATION,
    CREDIT_NOTE,
    INVOICE,
    REPLACED,
    Address,
    InvoiceSnapshot,
    LineSnapshot,
    OrderSnapshot,
    PaymentSnapshot,
    key_role,
    order_document_key,
    own_invoice_key,
)


def _money(amount, currency):
    """An Odoo monetary float as the exact Decimal it stands for in ``currency``."""
    return Decimal(float_repr(currency.round(amount), currency.decimal_places))


def _net(base_line):
    """A rounded base line's untaxed amount, its share of the rounding difference included."""
    details = base_line["tax_details"]
    return details["total_excluded_currency"] + details["delta_total_excluded_currency"]


def address_snapshot(partner):
    """A contact's postal address as an ``Address``."""
    return Address(
        street=partner.street or "", street2=partner.street2 or "", city=partner.city or "",
        state=partner.state_id.name or "", zip=partner.zip or "", country_code=partner.country_id.code or "",
        country_name=partner.country_id.name or "",
    )


class KashflowAccounting(models.AbstractModel):
    """What Odoo's accounting holds for a sale order, as the connector reads it (no table: a service)."""

    _name = "kashflow.accounting"
    _description = "KashFlow: what Odoo's accounting holds for an order"

    # ------------------------------------------------------------------ paid, and when

    def _moves(self, order):
        """The order's posted customer invoices and credit notes, oldest first."""
        order.ensure_one()
        return order.invoice_ids.filtered(lambda move: move.state == "posted").sorted(
            lambda move: (move.invoice_date or move.date, move.id))

    def _settlement(self, order):
        """``(paid, paid_date)``: whether the order is confirmed and settled, and the day it became so.

        - An unconfirmed order is not paid; nor is a cancelled one, unless it keeps posted invoices: cancelling an
          order leaves them in Odoo's books, and so they are judged as below.
        - An order with nothing to pay (total 0) is paid on the day it was confirmed.
        - An order with posted invoices (leaving out those their own credit notes reversed in full:
          ``_cancelled_by_credit_note``) is paid when each of them is settled (Odoo's *Paid* or *In Payment*: by
          payments, by credit notes, or both; or *Reversed*: by another invoice's credit note, a customer's credit
          spent on it) and nothing is left to invoice (Odoo's invoice status, or invoices covering the order's
          total); on the day of the latest payment reconciled with them.
        - Otherwise, when its captured online payments, less refunds, cover its total; on the day of the
          latest.
        """
        order.ensure_one()
        if order.state not in ("sale", "cancel"):
            return False, None
        currency = order.currency_id
        invoices = self._moves(order).filtered(
            lambda move: move.move_type == "out_invoice" and not self._cancelled_by_credit_note(move))
        if order.state == "cancel" and not invoices:
            return False, None
        if order.state == "sale" and currency.is_zero(order.amount_total):
            return True, self._local_date(order.company_id, order.date_order) if order.date_order else None
        if invoices:
            paid = all(move.payment_state in ("paid", "in_payment", "reversed") for move in invoices) and (
                order.state == "cancel" or order.invoice_status in ("invoiced", "upselling")
                or currency.compare_amounts(sum(invoices.mapped("amount_total")), order.amount_total) >= 0)
            dates = [day for day in (move._kashflow_paid_date() for move in invoices) if day]
            return paid, (max(dates) if paid and dates else None)
        transactions = self._captured_transactions(order)
        if currency.compare_amounts(sum(transactions.mapped("amount")), order.amount_total) < 0:
            return False, None
        dates = [self._local_date(order.company_id, tx.last_state_change)
                 for tx in transactions if tx.last_state_change]
        return True, max(dates) if dates else None

    def _captured_transactions(self, order):
        """Online payments of the order that moved money: captured (not merely authorised) ones and refunds
        (whose amount Odoo keeps negative), in the order's currency."""
        return order.transaction_ids.filtered(
            lambda tx: tx.state == "done" and tx.operation != "validation" and tx.currency_id == order.currency_id)

    def _local_date(self, company, moment):
        """The calendar day of a UTC ``moment`` where ``company`` is (UK time unless its address says otherwise)."""
        zone = pytz.timezone(company.partner_id.tz or const.DEFAULT_TIMEZONE)
        return pytz.utc.localize(moment).astimezone(zone).date()

    # ------------------------------------------------------------------ the documents

    def _shared_moves(self, order):
        """The order's posted customer invoices and credit notes that serve other orders too (one invoice made for
        several orders with *Create Invoices*, say): each is booked once in KashFlow, whichever order is sent."""
        return self._moves(order).filtered(lambda move: len(move._kashflow_orders()) > 1)

    def _snapshot(self, order, bound_moves=None):
        """The order as Odoo's accounting holds it, as KashFlow will see it: an ``OrderSnapshot`` and, per
        document key, the Odoo invoice or credit note it comes from (an ``account.move``, empty for the order's
        own lines).

        ``bound_moves`` maps the keys of documents KashFlow already holds (or may hold) to the moves they were
        built from; such documents keep their source. The rules (see ``snapshot.py`` for the keys):

        - the order's invoice (``order:<id>``, ``own_invoice_key``): its first posted invoice that serves it alone,
          or its lines while it has no invoice at all; an invoice KashFlow holds as the order's (bound before
          invoices were shared) stays so;
        - every further posted invoice: an invoice of its own; one that serves several orders (``_shared_moves``)
          is built from the Odoo invoice alone, the same in each of them;
        - every posted credit note: a credit note, applied to the invoice it reverses (else the order's);
        - an invoice reversed in full by a credit note before either reached KashFlow is left out with that
          credit note: together they are nothing;
        - an order cancelled after its own lines were sent gets a credit note reversing them;
        - money received and paid back: ``_payments``;
        - the customer: the commercial contact its invoice is addressed to (``_customer``); a document addressed to
          another customer is booked to that one (``InvoiceSnapshot.customer_code``, ``_other_customers``).

        Raises ``UserError`` naming the tax when a line carries a tax the connector cannot represent, and when the
        invoice KashFlow holds as the order's is no longer posted in Odoo and nothing replaces it.
        """
        order.ensure_one()
        bound_moves = bound_moves or {}
        own_key = own_invoice_key(order.id)
        moves = self._booked_moves(order, bound_moves)
        customer = self._customer(order, bound_moves, moves=moves)
        invoices = moves.filtered(lambda move: move.move_type == "out_invoice")
        shared = self._shared_moves(order) & moves

        main = bound_moves.get(own_key)
        if main and main.state != "posted" and not invoices and order.state != "cancel" \
                and not self._captured_transactions(order):
            raise UserError(self.env._(
                "Order %(order)s: its invoice %(invoice)s, which KashFlow holds, is no longer posted in Odoo (reset "
                "to draft or cancelled), and the order has no other invoice. Post it again, or cancel the order "
                "(KashFlow then gets a credit note for it), then resend the order.",
                order=order.name, invoice=main.name or main.id))
        replaced = False
        if main:  # KashFlow holds a posted invoice as the order's own: it stays the order's
            if main not in invoices:
                main = invoices[:1]
            shared -= main
        else:
            main = (invoices - shared)[:1]
            # KashFlow holds the order's own lines, and its invoices are all shared with other orders: those lines
            # stay in KashFlow, reversed by a credit note, and the shared invoices are booked as they are
            replaced = own_key in bound_moves and not main and bool(invoices)
        sources = {own_key: main} if main or replaced or not invoices else {}
        for move in invoices - main:
            sources[f"move:{move.id}"] = move
        key_of = {move: key for key, move in sources.items() if move}
        main_key = own_key if main or not invoices else f"move:{invoices[0].id}"
        documents = [self._document(order, key, INVOICE, move, customer=customer, shared=move in shared)
                     for key, move in sources.items()]
        if replaced:
            key = order_document_key(REPLACED, order.id)
            sources[key] = self.env["account.move"]
            documents.append(self._document(order, key, CREDIT_NOTE, None, own_key, customer=customer,
                                            replaced_by=invoices[0]))
        credit = {}  # what each credit note's credit settles (``_credit_use``), worked out once
        for move in moves.filtered(lambda move: move.move_type == "out_refund"):
            key = f"move:{move.id}"
            sources[key] = move
            documents.append(self._document(
                order, key, CREDIT_NOTE, move, self._credit_target(move, key_of, main_key, credit), customer=customer,
                shared=move in shared))
            # money reconciled with the credit note goes where KashFlow books it: on the invoice it is applied to
            # (KashFlow's own application), on itself when its credit is spent in parts (``_credit_spent``)
            key_of[move] = documents[-1].applies_to or (key if self._credit_spent(move, credit) else key_of.get(
                move.reversed_entry_id, main_key))
        if order.state == "cancel" and not main and not replaced and own_key in bound_moves \
                and not order.currency_id.is_zero(order.amount_total):  # a free order has nothing to reverse
            key = order_document_key(CANCELLATION, order.id)
            sources[key] = self.env["account.move"]
            documents.append(self._document(order, key, CREDIT_NOTE, None, own_key, customer=customer))
        snapshot = OrderSnapshot(
            name=order.name,
            customer=customer._kashflow_customer_snapshot(order.company_id),
            other_customers=tuple(partner._kashflow_customer_snapshot(order.company_id)
                                  for partner in self._other_customers(order, moves, customer)),
            home_currency_code=order.company_id.currency_id.name,
            include_vat=order.company_id.kashflow_include_vat,
            documents=tuple(documents),
            payments=self._payments(order, key_of, shared, main_key, credit=credit),
            currency_decimals=order.currency_id.decimal_places,
        )
        return snapshot, sources

    def _credit_target(self, move, key_of, main_key, known=None):
        """The key of the invoice a credit note (``move``) is applied to in KashFlow with KashFlow's own application
        (``applyCreditNoteToInvoice``, which applies the whole credit to one invoice), where Odoo settled it: the
        invoice of its orders that its whole credit settles (``_credit_applied_whole``); the invoice it reverses
        (else the order's, ``main_key``) when money alone settled it (a refund paid back), as KashFlow then books
        the application and the refund on that invoice; "" (applied to none) while nothing settled it (the
        customer's credit, as in Odoo), or when its credit is spent in parts (``_credit_spent``: booked as
        ``_credit_payments``). ``key_of``: the keys of this order's invoices; ``known`` as ``_credit_use`` takes it."""
        applications, whole = self._credit_use(move, known)
        if whole:
            return key_of.get(whole, "")
        if applications or not any(
                not partial["is_exchange"] for partial in move._get_all_reconciled_invoice_partials()):
            return ""
        return key_of.get(move.reversed_entry_id, main_key)

    @api.model
    def _credit_applications(self, credit_note):
        """``[(invoice, amount)]``: the customer invoices Odoo reconciled a credit note (``credit_note``, an
        ``account.move``) with, and the credit it spent on each, in the credit note's currency (one entry per
        reconciliation; exchange differences left out)."""
        return [(partial["aml"].move_id, partial["amount"])
                for partial in credit_note._get_all_reconciled_invoice_partials()
                if not partial["is_exchange"] and partial["aml"].move_id.move_type == "out_invoice"]

    @api.model
    def _credit_use(self, credit_note, known=None):
        """``(applications, whole)`` of a credit note: where Odoo spent its credit (``_credit_applications``) and
        the invoice its whole credit settles (``_credit_applied_whole``), each read once: taken from ``known`` (a
        dict, filled as they are worked out) when given."""
        if known is not None and credit_note in known:
            return known[credit_note]
        applications = self._credit_applications(credit_note)
        use = (applications, self._credit_applied_whole(credit_note, applications))
        if known is not None:
            known[credit_note] = use
        return use

    @api.model
    def _credit_applied_whole(self, credit_note, applications):
        """The invoice a credit note's whole credit settles, applied to it in KashFlow by KashFlow's own application,
        or an empty recordset: so it is when Odoo reconciled the credit note with one invoice alone (``applications``,
        as ``_credit_applications`` gives them), for its whole amount, and that invoice serves every order the credit
        note serves (so that every order's job books it alike)."""
        invoices = self.env["account.move"].union(*(invoice for invoice, _amount in applications))
        if len(invoices) != 1 or credit_note.currency_id.compare_amounts(
                sum(amount for _invoice, amount in applications), credit_note.amount_total):
            return self.env["account.move"]
        return invoices if credit_note._kashflow_orders() <= invoices._kashflow_orders() else invoices.browse()

    @api.model
    def _credit_spent(self, credit_note, known=None):
        """Whether a credit note's credit is spent in parts: Odoo reconciled it with invoices otherwise than
        ``_credit_applied_whole`` (on several invoices, for part of it, or on another order's invoice). KashFlow's
        own application cannot say so (it applies a credit note's whole credit to one invoice): each application is
        booked as the zero-sum pair of payments KashFlow's application records (``_credit_payments``). ``known`` as
        ``_credit_use`` takes it."""
        applications, whole = self._credit_use(credit_note, known)
        return bool(applications) and not whole

    def _credit_payments(self, moves, key_of, known=None):
        """``{key: values}`` (as ``_payments`` builds them): the credit spent in parts (``_credit_spent``) of the
        credit notes among ``moves`` (this order's documents), and spent on the invoices among them, each
        application booked as KashFlow books a credit note's application, a zero-sum pair of payments dated as the
        later of the two documents: what it took off the credit note (negative, on the credit note) and what it
        paid of the invoice (positive, on the invoice). Each half goes with the order of the document it is on
        (both with this order when both are its), keyed by the application and the document
        (``credit:<credit note id>.<invoice id>/move:<id>``); both notes name the two Odoo documents. ``known`` as
        ``_credit_use`` takes it."""
        payments = {}

        def add(credit_note, invoice, amount, on, sign):
            key = f"credit:{credit_note.id}.{invoice.id}/move:{on.id}"
            values = payments.setdefault(key, {
                "amount": 0.0, "invoice_key": key_of[on], "date": max(credit_note.invoice_date, invoice.invoice_date),
                "reference": invoice.name, "source": credit_note, "credit_note": credit_note.name})
            values["amount"] += sign * amount

        for move in moves:
            if move.move_type == "out_refund" and self._credit_spent(move, known):
                for invoice, amount in self._credit_use(move, known)[0]:
                    add(move, invoice, amount, move, -1)
            elif move.move_type == "out_invoice":
                for partial in move._get_all_reconciled_invoice_partials():
                    credit_note = partial["aml"].move_id
                    if not partial["is_exchange"] and credit_note.move_type == "out_refund" \
                            and self._credit_spent(credit_note, known):
                        add(credit_note, move, partial["amount"], move, 1)
        return payments

    @api.model
    def _cancelled_by_credit_note(self, invoice):
        """Whether a posted customer invoice was reversed in full by its own credit notes (Odoo's *Reversed*, and
        nothing but credit notes of it settled it): together they are nothing. Odoo says *Reversed* too of an
        invoice settled by another invoice's credit note (a customer's credit spent on it): that one is a sale,
        and paid."""
        if invoice.payment_state != "reversed":
            return False
        settled_by = {partial["aml"].move_id for partial in invoice._get_all_reconciled_invoice_partials()
                      if not partial["is_exchange"]}
        return bool(settled_by) and all(move.move_type == "out_refund" and move.reversed_entry_id == invoice
                                        for move in settled_by)

    def _booked_moves(self, order, bound_moves=None):
        """The order's posted invoices and credit notes that KashFlow holds or is to hold (oldest first): all but an
        invoice reversed in full by a credit note before either reached KashFlow, with that credit note (together
        they are nothing). ``bound_moves`` as ``_snapshot`` takes it."""
        bound = self.env["account.move"].union(*bound_moves.values()) if bound_moves else self.env["account.move"]
        moves = self._moves(order)
        reversed_invoices = moves.filtered(
            lambda move: move.move_type == "out_invoice" and self._cancelled_by_credit_note(move) and move not in bound)
        skipped = reversed_invoices | moves.filtered(
            lambda move: move.move_type == "out_refund" and move.reversed_entry_id in reversed_invoices
            and move not in bound)
        return moves - skipped

    def _customer(self, order, bound_moves=None, *, moves=None):
        """The commercial contact that is the order's customer in KashFlow (``res.partner``): the one its Odoo
        invoice is addressed to (whose receivable holds the money owed): the invoice KashFlow holds as the order's,
        else its first invoice (``moves``, by default ``_booked_moves``), else its first credit note; while it has
        none, its *Invoice Address*'s. Never the ordering contact for its own sake (a site manager ordering for
        their company: the company is the customer). A later document addressed to another customer is booked to
        that one (``_other_customers``): what is already right stays."""
        moves = self._booked_moves(order, bound_moves) if moves is None else moves
        main = (bound_moves or {}).get(own_invoice_key(order.id))
        first = main if main and main in moves else moves.sorted(
            lambda move: (move.move_type != "out_invoice", move.invoice_date or datetime.date.max, move.id))[:1]
        return first.partner_id.commercial_partner_id or (order.partner_invoice_id or order.partner_id) \
            .commercial_partner_id

    @api.model
    def _other_customers(self, order, moves, customer):
        """The commercial contacts other than the order's ``customer`` that some of its booked ``moves`` (its
        invoices and credit notes) are addressed to: each such document is booked to its own customer."""
        return moves.partner_id.commercial_partner_id - customer

    def _move_reference(self, order, move):
        """The KashFlow customer reference of an invoice or credit note: Odoo's number of it, then the names of the
        orders it serves (``INV/2026/00001 S00001 S00002``), as many as KashFlow's field holds, then how many more.
        The number on the customer's copy finds it in KashFlow; the same in every order's snapshot of it."""
        names = sorted(set((move._kashflow_orders() | order).mapped("name")))
        limit = FIELD_LIMITS["Invoice"]["CustomerReference"]
        reference = move.name
        for index, name in enumerate(names):
            left = len(names) - index - 1
            longer = f"{reference} {name}"
            if text_length(longer + (f" +{left} more" if left else "")) > limit:
                return f"{reference} +{len(names) - index} more"
            reference = longer
        return reference

    def _document(self, order, key, kind, move, applies_to="", *, customer, shared=False, replaced_by=None):
        """One ``InvoiceSnapshot``: from ``move`` (a posted invoice or credit note), or from the order's own lines
        (``move`` empty or None; for a cancellation, dated the day the order was cancelled). A move's reference is
        its number and its orders' names (``_move_reference``); a ``shared`` move (one that serves several orders)
        is described by itself alone: its delivery address is its own, not the order's. The credit note that
        reverses the order's own lines (``REPLACED``) is dated and named after the invoice that replaced them
        (``replaced_by``)."""
        if move:
            base_lines = self._move_base_lines(move)
            currency, date = move.currency_id, move.invoice_date
            rate = move.invoice_currency_rate or 1.0
            reference = self._move_reference(order, move)
            total = move.amount_total
        else:
            base_lines = self._order_base_lines(order)
            currency = order.currency_id
            # the customer reference KashFlow keeps (and finds the document by): the same whoever sends it, in
            # KashFlow's own language, never the sending user's
            if key_role(key) == CANCELLATION:
                date = order.kashflow_cancelled_on or fields.Date.context_today(order)
                reference = f"{order.name} cancelled"
            elif key_role(key) == REPLACED:
                date = replaced_by.invoice_date
                reference = f"{order.name} replaced by {replaced_by.name}"
            else:
                date = order.kashflow_paid_date or fields.Date.context_today(order)
                reference = order.name
            rate = self.env["res.currency"]._get_conversion_rate(
                order.company_id.currency_id, currency, order.company_id, date)
            total = order.amount_total
        lines, vat = self._lines(order, base_lines, currency)
        total = _money(total, currency)
        # the customer Odoo addresses the document to (whose receivable holds what it owes), the order's or another
        addressed_to = move.partner_id.commercial_partner_id if move else customer
        # where the goods go is the order's to say, invoiced or not; the shared invoice's own, for all its orders
        delivery = (move.partner_shipping_id or move.partner_id) if shared else order.partner_shipping_id
        if delivery == addressed_to.browse(addressed_to.address_get(["invoice"])["invoice"]):
            delivery = None  # goods go to the customer's own address: the invoice names no other
        return InvoiceSnapshot(
            key=key, kind=kind, reference=reference, date=date, lines=lines, currency_code=currency.name,
            exchange_rate=Decimal(float_repr(rate, 6)), amount_net=total - vat, amount_vat=vat, amount_total=total,
            delivery_address=address_snapshot(delivery) if delivery else None, applies_to=applies_to,
            customer_code="" if addressed_to == customer else customer_code(
                addressed_to.id, order.company_id._kashflow_code_prefix()))

    def _move_base_lines(self, move):
        """The base lines of a posted invoice or credit note (``move``) with Odoo's tax details, as Odoo rounded
        them when it posted it: its VAT from its tax journal items (``_get_rounded_base_and_tax_lines``), each
        line's untaxed amount the one its journal item books (``_rounded_as_stored``)."""
        def build(method):
            base_lines, tax_lines = move._get_rounded_base_and_tax_lines()
            if method != move.company_id.tax_calculation_rounding_method:
                self._round(base_lines, move.company_id, method, tax_lines=tax_lines)
            return base_lines

        def stored(base_lines):  # each product line's net as its journal item books it, signed as a sale
            sign, currency = move.direction_sign, move.currency_id
            return all(
                not currency.compare_amounts(_net(base_line), sign * base_line["record"].amount_currency)
                for base_line in base_lines
                if base_line["record"]._name == "account.move.line" and base_line["record"].display_type == "product")
        return self._rounded_as_stored(move.company_id, build, stored)

    def _order_base_lines(self, order):
        """The base lines of the order's own lines with Odoo's tax details, the untaxed amount and taxes in all
        those the order stores (``_rounded_as_stored``)."""
        def build(method):
            base_lines = [line._prepare_base_line_for_taxes_computation()
                          for line in order.order_line.filtered(lambda line: not line.display_type)]
            self._round(base_lines, order.company_id, method)
            return base_lines

        def stored(base_lines):
            tax = sum(data["tax_amount_currency"] for line in base_lines for data in line["tax_details"]["taxes_data"])
            return not order.currency_id.compare_amounts(sum(map(_net, base_lines)), order.amount_untaxed) \
                and not order.currency_id.compare_amounts(tax, order.amount_tax)
        return self._rounded_as_stored(order.company_id, build, stored)

    def _rounded_as_stored(self, company, build, stored):
        """``build(method)``'s base lines under the tax rounding method that gives what Odoo stored for them
        (``stored(base_lines)``): the company's, or the other one where only that one does. The company's method
        may have changed since Odoo computed them (*Round per Line* to *Round Globally*, say): a posted invoice or
        a paid order keeps its figures. With neither, the company's (the job then says what does not add up)."""
        current = company.tax_calculation_rounding_method
        first = build(current)
        if stored(first):
            return first
        other = build("round_globally" if current == "round_per_line" else "round_per_line")
        return other if stored(other) else first

    def _round(self, base_lines, company, method, tax_lines=None):
        """Odoo's tax details added to ``base_lines`` under the rounding ``method``, and rounded (the VAT of
        ``tax_lines``, a posted move's tax journal items, kept)."""
        AccountTax = self.env["account.tax"]
        for base_line in base_lines:
            AccountTax._add_tax_details_in_base_line(base_line, company, rounding_method=method)
        AccountTax._round_base_lines_tax_details(base_lines, company, tax_lines=tax_lines)

    def _lines(self, order, base_lines, currency):
        """The ``LineSnapshot``s of base lines that Odoo's tax engine has rounded (``_round_base_lines_tax_details``),
        and their VAT in total.

        A line's net and VAT are those the engine dispatched (under *Round Globally* the rounding difference
        goes to some lines). A line whose VAT tax is exempt (``account.tax._kashflow_treatment``) has no VAT rate
        (KashFlow's exempt rate). A tax that is not VAT becomes a line of its own, one per tax, without VAT. A
        line with two VAT taxes, or a tax the connector cannot represent, is refused with a message that names
        it.
        """
        lines, charges, vat_total = [], defaultdict(float), Decimal(0)
        for base_line in base_lines:
            record, details = base_line["record"], base_line["tax_details"]
            net = _net(base_line)
            vat_taxes, vat = self.env["account.tax"], 0.0
            for tax_data in details["taxes_data"]:
                tax = tax_data["tax"]
                treatment = tax._kashflow_treatment()
                if treatment in ("vat", "exempt"):
                    vat_taxes |= tax
                    vat += tax_data["tax_amount_currency"]
                else:
                    charges[tax] += tax_data["tax_amount_currency"]
            description = self._line_description(record)
            if len(vat_taxes) > 1:
                raise UserError(self.env._(
                    "Order %(order)s: the line %(line)s carries several VAT taxes (%(taxes)s); a KashFlow line has "
                    "one VAT rate. Give the line one VAT tax (set the others' KashFlow treatment to a separate "
                    "charge in Invoicing > Configuration > Taxes if they are not VAT), then resend the order.",
                    order=order.name, line=description, taxes=", ".join(vat_taxes.mapped("name"))))
            line_vat = _money(vat, currency)
            vat_total += line_vat
            lines.append(LineSnapshot(
                kind=self._line_kind(record, net),
                description=description or "",
                quantity=Decimal(float_repr(base_line["quantity"], 6)),
                price_unit=Decimal(float_repr(base_line["price_unit"], 6)),
                discount=Decimal(float_repr(base_line["discount"], 2)),
                net=_money(net, currency),
                vat=line_vat,
                vat_rate=Decimal(float_repr(vat_taxes.amount, 4))
                if vat_taxes.kashflow_treatment == "vat" else None,
                product_code=base_line["product_id"].default_code or "",
            ))
        for tax, raw_amount in charges.items():
            amount = _money(raw_amount, currency)
            if amount:
                lines.append(LineSnapshot(
                    kind="charge", description=tax.invoice_label or tax.name, quantity=Decimal(1),
                    price_unit=amount, discount=Decimal(0), net=amount, vat=Decimal(0), vat_rate=None))
        return tuple(lines), vat_total

    def _line_description(self, record):
        """The text of an invoice or order line (``record``) as Odoo's document shows it, each piece said once.

        Odoo labels an invoice line with the product's name followed by the order line's own description, unless
        the description already names it (``account.move.line._get_journal_items_full_name``): a carrier's
        delivery line then reads "[DEL-RM48] Royal Mail Tracked 48 Royal Mail Tracked 48", or "... Royal Mail
        Tracked 48: Signed for" with the carrier's description. The description's repeat of the product's name is
        dropped ("[DEL-RM48] Royal Mail Tracked 48: Signed for"), and so is a line of text that an earlier one
        already says (a product whose sales description is its name)."""
        text = (record.name or "") if "name" in record._fields else ""
        product = record.product_id if "product_id" in record._fields else None
        label, name = (product.display_name or "", product.name or "") if product else ("", "")
        pieces = []
        for line in text.splitlines():
            piece = line.strip()
            rest = piece[len(label):].strip() if label and piece.startswith(label) else ""
            if rest and f" {rest} " in f" {label} ":
                piece = label  # the description is (a part of) the product's name
            elif rest and name and rest.startswith(name) and not rest[len(name):len(name) + 1].isalnum():
                piece = label + rest[len(name):]  # the description begins with the product's name
            if piece and not any(f" {piece} " in f" {earlier} " for earlier in pieces):
                pieces.append(piece)
        return "\n".join(pieces)

    def _line_kind(self, record, net):
        """``delivery`` for a delivery line (Odoo's *Delivery* app), ``discount`` for a negative one, else
        ``product``."""
        order_lines = record if record._name == "sale.order.line" else record.sale_line_ids \
            if "sale_line_ids" in record._fields else self.env["sale.order.line"]
        if "is_delivery" in order_lines._fields and any(order_lines.mapped("is_delivery")):
            return "delivery"
        return "discount" if net < 0 else "product"

    # ------------------------------------------------------------------ money received

    def _payments(self, order, invoice_key_of, shared, main_key, *, credit=None):
        """The money received for the order (positive) and paid back (negative), one ``PaymentSnapshot`` per Odoo
        payment, bank statement line or online transaction and the order (key ``<payment key>/order:<id>``), each on
        the KashFlow invoice ``invoice_key_of[move]`` of the invoice or credit note it is reconciled with (else the
        order's invoice, ``main_key``), dated when it was received.

        Only money counts: a credit note reconciled with an invoice is no payment (KashFlow applies the credit
        note instead; a credit spent in parts is booked as KashFlow books an application, ``_credit_payments``),
        nor is a write-off (of a payment that settled an invoice with a write-off, only what
        reached the bank counts), nor an exchange difference. Online payments reconciled with no invoice of the
        order (paid online, not invoiced yet) count as they were captured. A payment reconciled with this order's
        documents only counts whole: what it left unallocated (the customer paid more than is now invoiced, after
        a re-invoicing, say) was received all the same, and stays on the order's invoice as paid in excess.

        Money allocated to a ``shared`` invoice or credit note (one that serves several orders) is that document's,
        not the order's, and money allocated to several of the order's documents (one payment for its down payment
        invoice and its final one) is each document's: one payment per allocation (key ``<payment key>/move:<id>``),
        for what the Odoo payment allocated to that document alone, named after it (``allocated_to``); its
        unallocated rest and what was paid back of it go with it when that document is the first the payment paid.
        So every order of a shared document gives it the same payments, and KashFlow holds them once; and each
        KashFlow invoice is paid as Odoo's is. ``credit``: what the snapshot worked out of its credit notes
        (``_credit_use``).
        """
        shared = shared or self.env["account.move"]
        allocations = self._allocations(invoice_key_of)
        # money allocated to several of the order's documents (one payment for its two invoices), or to a shared
        # one, is kept per allocation: a KashFlow payment on each invoice, for what Odoo allocated to it
        moves_of = defaultdict(set)
        for source, move, _amount, _reference in allocations:
            moves_of[source].add(move)
        split_sources = {source for source, moves in moves_of.items() if len(moves) > 1}
        received = {}
        for source, move, amount, reference in allocations:
            each = move in shared or source in split_sources
            base = f"payment:{source.id}" if source._name == "account.payment" else f"line:{source.id}"
            key = self._allocation_key(base, order, move, each)
            if key in received:
                received[key]["amount"] += amount
            else:
                received[key] = {"amount": amount, "invoice_key": invoice_key_of[move], "date": source.date,
                                 "reference": reference, "source": source,
                                 "allocated_to": self._allocated_to(move, each)}
        sources = set(moves_of)
        for source in sources:
            first, rest, paid_back = self._unallocated(source, invoice_key_of, order.currency_id)
            if not first:
                continue
            each = first in shared or source in split_sources
            values = received.get(self._allocation_key(f"payment:{source.id}", order, first, each))
            if values is None:
                continue
            values["amount"] += rest
            for refund, amount in paid_back:
                received.setdefault(self._allocation_key(f"payment:{refund.id}", order, first, each), {
                    "amount": 0.0, "invoice_key": values["invoice_key"], "date": refund.date,
                    "reference": refund.name, "source": refund, "allocated_to": values["allocated_to"]},
                )["amount"] -= amount
        received.update(self._credit_payments([move for move in invoice_key_of if move], invoice_key_of, credit))
        for tx in self._captured_transactions(order):
            key = self._allocation_key(f"payment:{tx.payment_id.id}" if tx.payment_id else f"transaction:{tx.id}",
                                       order, None, each=False)
            if tx.payment_id in sources or key in received or tx.payment_id.state in ("canceled", "rejected"):
                continue
            received[key] = {"amount": tx.amount, "invoice_key": main_key,
                             "date": tx.payment_id.date or self._local_date(order.company_id, tx.last_state_change),
                             "reference": tx.payment_id.name or tx.reference}
        currency = order.currency_id
        return tuple(
            PaymentSnapshot(key=key, invoice_key=values["invoice_key"], amount=_money(values["amount"], currency),
                            date=values["date"], reference=values["reference"],
                            allocated_to=values.get("allocated_to", ""), credit_note=values.get("credit_note", ""))
            for key, values in sorted(received.items(), key=lambda item: (item[1]["date"], item[0]))
            if not currency.is_zero(values["amount"]))

    def _allocations(self, moves):
        """``[(source, move, amount, reference)]``: the money each Odoo payment or bank statement line (``source``)
        allocated to each of ``moves`` (invoices and credit notes), signed as money received (what was paid back
        against a credit note negative), only what reached the bank (``_cash_share``); one entry per
        reconciliation, exchange differences left out. A credit note reconciled with an invoice is no money."""
        allocations = []
        for move in moves:
            sign = 1 if move.move_type == "out_invoice" else -1
            for partial in move._get_all_reconciled_invoice_partials():
                if partial["is_exchange"]:
                    continue
                counterpart = partial["aml"].move_id
                source = counterpart.origin_payment_id or counterpart.statement_line_id
                if source:
                    allocations.append((source, move, sign * partial["amount"] * self._cash_share(source),
                                        source.name or counterpart.name))
        return allocations

    @staticmethod
    def _allocation_key(key, order, move, each):
        """The key of the money ``key`` (``payment:<id>``, ``line:<id>``, ``transaction:<id>``) allocated to
        ``move``: what it brought ``order`` (``payment:<id>/order:<id>``; one payment may pay the invoices of several
        orders, a marketplace payout), or, kept per allocation (``each``: on a shared move, or a payment of several
        of the order's documents), that allocation (``payment:<id>/move:<id>``)."""
        return f"{key}/move:{move.id}" if each else f"{key}/order:{order.id}"

    def _allocated_to(self, move, each):
        """What a payment's note names of the move it was allocated to (``invoice INV/2026/00001``) when its money
        is kept per allocation (``each``), or "" for the order's payment as a whole."""
        if not each:
            return ""
        kind = "invoice" if move.move_type == "out_invoice" else "credit note"  # KashFlow's note, not Odoo's UI
        return f"{kind} {move.name}"

    def _unallocated(self, source, moves, currency):
        """``(first, rest, paid_back)`` of a payment (``account.payment``) whose first invoice (by date, ``first``)
        is one of ``moves`` (this order's): ``rest``, what it settled of no invoice, was received all the same (a
        customer's payment in excess, kept as the customer's credit) and counts with it, as money received;
        ``paid_back`` is ``[(payment, amount)]``, the payments that paid part of it back to the customer (``amount``
        positive). Of any other payment, or one in another currency, ``(None, 0.0, [])``: its rest belongs to
        another order."""
        if source._name != "account.payment" or source.currency_id != currency or not source.reconciled_invoice_ids:
            return None, 0.0, []
        first = source.reconciled_invoice_ids.sorted(lambda move: (move.invoice_date or move.date, move.id))[:1]
        if first not in moves:
            return None, 0.0, []
        receivable = source.move_id.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable")
        rest, paid_back = -sum(receivable.mapped("amount_residual_currency")), []
        for line in receivable:
            for partial in line.matched_debit_ids | line.matched_credit_ids:
                other = partial.debit_move_id if partial.credit_move_id == line else partial.credit_move_id
                refund = other.move_id.origin_payment_id
                if refund and refund.payment_type == "outbound":
                    amount = partial.credit_amount_currency if partial.credit_move_id == line \
                        else partial.debit_amount_currency
                    rest += amount
                    paid_back.append((refund, amount))
        return first, rest, paid_back

    def _cash_share(self, source):
        """The share of what an Odoo payment or statement line settles that is money: what reached (or left)
        the bank over what it reconciled, e.g. 0.95 for 95.00 received and 5.00 written off."""
        if source._name == "account.payment" and len(source.move_id.line_ids) <= 2:
            return 1.0  # its liquidity line and its counterpart alone: no write-off, all of it is money
        if source._name == "account.bank.statement.line":  # its lines: liquidity, suspense, and the others
            liquidity, _suspense, others = source._seek_for_lines()
            counterpart = others.filtered(lambda line: line.account_id.account_type == "asset_receivable")
        else:  # a payment's: liquidity, counterpart, write-off
            liquidity, counterpart, _writeoff = source._seek_for_lines()
        settled = abs(sum(counterpart.mapped("amount_currency")))
        cash = abs(sum(liquidity.mapped("amount_currency")))
        return cash / settled if settled and cash < settled else 1.0
