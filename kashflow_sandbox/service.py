"""KashFlow's business rules for the operations of the project's WSDL.

:class:`KashFlowService` takes an operation's parameters as plain data (see :mod:`.soap`) and returns its
result parts. Like KashFlow, it never faults on a business problem: it answers ``Status`` "NO" with a
readable ``StatusDetail`` and leaves the ``…Result`` out, which the SOAP layer writes as 0 (or false).

Where KashFlow's behaviour is not known, the sandbox follows these assumptions:

- **Credit notes.** KashFlow has no credit-note call: a credit note is an invoice inserted with
  ``InsertInvoice`` whose lines have a negative ``Rate`` and ``VatAmount`` (and a positive ``Quantity``).
  The sandbox treats any invoice whose gross total (net + VAT) is below zero as a credit note; its
  ``NetAmount`` and ``VATAmount`` are negative, and it is ``Paid`` once its payments add up to that negative
  total.
- **applyCreditNoteToInvoice(InvoiceID, CreditNoteID)** takes the two documents' **InvoiceDBIDs**, as the
  parameter names say (which of DB ids or numbers KashFlow wants is unconfirmed; aypex-io/spree-kashflow passes
  numbers).
  As KashFlow's KB describes, it records a zero-sum pair of payments: −X on the credit note and +X on the
  invoice, where X is what is left of the credit note (minus its gross total, less what is already
  allocated to it). X is not capped at what the invoice still owes: applied to a paid invoice, the invoice
  shows more paid than its total until a refund (a negative payment) is recorded. Both payments are dated
  now, use the account's first payment method and first bank account, carry the PayNote "Credit note
  <number> applied to invoice <number>", and are marked ``"CreditNoteApplication": true`` in the stored
  record (seen in ``/_sandbox/state``, never sent over SOAP). Each is an ordinary payment afterwards:
  ``DeleteInvoicePayment`` removes only the one it names. The call is refused (Status NO) when either id is
  unknown, the credit note's total is not negative, the invoice's total is not positive, the two belong to
  different customers, or nothing is left to allocate (so a second application is refused, not doubled).
- **Payments** may be negative (a refund paid back to the customer); only a zero amount is refused.
  ``Paid`` is 1 when the payments add up to the gross total (at least the total for an invoice, at most the
  negative total for a credit note).
- **Reading by date.** ``GetInvoicesByDateRange`` and ``GetInvoicePaymentsByDateRange`` compare days, not
  instants: a document is in the range when the day of its ``InvoiceDate`` / ``PayDate`` (as it was sent, no
  time-zone shift) falls between the days of ``StartDate`` and ``EndDate``, both included. Payments come
  oldest first (by payment number), :data:`PAYMENTS_PAGE_SIZE` to a page, pages numbered from 1; a page past
  the end is empty, and a ``PageNumber`` below 1 is refused.
- **Field lengths.** KashFlow publishes none; the sandbox refuses (Status NO) a text longer than the table of
  :mod:`.limits` allows, in ``InsertCustomer``/``UpdateCustomer``, ``InsertInvoice``/``UpdateInvoice`` (header,
  delivery address and each line) and ``InsertInvoicePayment``, with a StatusDetail naming the field and the
  limit ("Customer Name is too long: 120 characters, at most 100 allowed"). Lengths count UTF-16 code units.
- **Deleting an invoice.** ``DeleteInvoice(InvoiceNumber)`` removes the invoice (or credit note), its lines
  and the payments recorded against it (what KashFlow does with an invoice's payments is unconfirmed), and
  answers ``DeleteInvoiceResult`` 1. The payment a credit note application left on the *other* document
  stays. An unknown number is refused (Status NO, "There is no invoice with that number").
- **Updates.** ``UpdateInvoice`` keeps the invoice's DB id and payments, replaces its lines, and the sandbox
  notes when (``Updated``) and how many times (``UpdateCount``) it was updated; ``Created``, ``Updated``,
  ``UpdateCount`` and ``CreditNote`` are sandbox-only fields of ``/_sandbox/state``, never sent over SOAP.
"""

import hmac
import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from . import limits, seed
from .soap import TypedValue

NO_SUCH_CUSTOMER_CODE = "There is no customer with that code"
NO_SUCH_CUSTOMER_ID = "There is no customer with that ID"
NO_SUCH_CUSTOMER_EMAIL = "There is no customer with that email address"
NO_SUCH_INVOICE = "There is no invoice with that number"
NO_SUCH_INVOICE_ID = "There is no invoice with that ID"
NO_SUCH_CREDIT_NOTE_ID = "There is no credit note with that ID"
NO_SUCH_PAYMENT = "There is no payment with that number"
BAD_LOGIN = "Incorrect username or password"
BAD_AUTO_AUTH_KEY = "The AutoAuth key is not valid"
CODE_NOT_UNIQUE = "Customer Code is not unique"
CODE_INVALID = "The customer code specified is invalid, please re-enter without any special characters"
INVOICE_NUMBER_IN_USE = "Invoice number is already in use"

_CODE_PATTERN = re.compile(r"[A-Za-z0-9]+")
_PENNY = Decimal("0.01")

#: Invoice header fields KashFlow works out itself; whatever the caller sends for them is ignored.
_DERIVED_INVOICE_FIELDS = (
    "Lines", "NetAmount", "VATAmount", "AmountPaid", "Paid", "Customer", "CustomerName")

#: What the sandbox keeps about an invoice or a payment beyond KashFlow's types: shown in its state, never
#: sent over SOAP.
_SANDBOX_INVOICE_FIELDS = ("Created", "Updated", "UpdateCount", "CreditNote")
_SANDBOX_PAYMENT_FIELDS = ("CreditNoteApplication",)

#: How many payments one page of GetInvoicePaymentsByDateRange holds.
PAYMENTS_PAGE_SIZE = 100

#: Look-up operations: the seeded list each returns and the element name of one item.
_LOOKUP_OPERATIONS = {
    "GetBankAccounts": ("bank_accounts", "BankAccount"),
    "GetInvPayMethods": ("payment_methods", "PaymentMethod"),
    "GetCustomerSources": ("customer_sources", "BasicDataset"),
    "GetNominalCodes": ("nominal_codes", "NominalCode"),
    "GetVATRates": ("vat_rates", "BasicDataset"),
    "GetCurrencies": ("currencies", "Currencies"),
}


class BusinessError(Exception):
    """A request KashFlow refuses: answered with Status "NO" and this message as StatusDetail."""


def _now():
    return datetime.now().replace(microsecond=0).isoformat()


def _money(value):
    return format(value, "f")


def _day(value):
    """The day (``YYYY-MM-DD``) of an ISO 8601 dateTime text, as it was written."""
    return (value or "0001-01-01")[:10]


def _sandbox_free(record, sandbox_fields):
    return {name: value for name, value in record.items() if name not in sandbox_fields}


def line_net(line):
    """A line's net amount: Rate times Quantity, rounded to the penny (half up)."""
    return (Decimal(line["Rate"]) * Decimal(line["Quantity"])).quantize(_PENNY, ROUND_HALF_UP)


class KashFlowService:
    """The sandbox account's API: authentication, IP allow-list and the operations' rules."""

    def __init__(self, store, username=seed.DEFAULT_USERNAME, password=seed.DEFAULT_PASSWORD,
                 auto_auth_key=seed.DEFAULT_AUTO_AUTH_KEY):
        self._store = store
        self._username = username
        self._password = password
        self._auto_auth_key = auto_auth_key
        self._handlers = {
            "GetCustomer": self._get_customer,
            "GetCustomerByID": self._get_customer_by_id,
            "GetCustomerByEmail": self._get_customer_by_email,
            "InsertCustomer": self._insert_customer,
            "UpdateCustomer": self._update_customer,
            "GetInvoice": self._get_invoice,
            "GetInvoiceByID": self._get_invoice_by_id,
            "GetInvoicesForCustomer": self._get_invoices_for_customer,
            "GetInvoicesByDateRange": self._get_invoices_by_date_range,
            "InsertInvoice": self._insert_invoice,
            "UpdateInvoice": self._update_invoice,
            "DeleteInvoice": self._delete_invoice,
            "applyCreditNoteToInvoice": self._apply_credit_note,
            "InsertInvoicePayment": self._insert_invoice_payment,
            "GetInvoicePayment": self._get_invoice_payment,
            "GetInvoicePaymentsByDateRange": self._get_invoice_payments_by_date_range,
            "DeleteInvoicePayment": self._delete_invoice_payment,
        }
        for operation, (kind, item_name) in _LOOKUP_OPERATIONS.items():
            self._handlers[operation] = partial(self._lookup, operation, kind, item_name)

    @property
    def operations(self):
        """The names of the operations this service implements."""
        return ("AutoAuthIP", *self._handlers)

    def call(self, operation, params, client_ip):
        """Run one operation for a caller at ``client_ip``; returns the response parts as plain data."""
        try:
            with self._store.transaction():
                self._check_credentials(params)
                if operation == "AutoAuthIP":
                    result = self._auto_auth_ip(params, client_ip)
                else:
                    self._check_ip(client_ip)
                    result = self._handlers[operation](params)
        except BusinessError as error:
            return {"Status": "NO", "StatusDetail": str(error)}
        return {**result, "Status": "OK", "StatusDetail": ""}

    # Access

    def _check_credentials(self, params):
        username_ok = hmac.compare_digest((params.get("UserName") or "").encode(), self._username.encode())
        password_ok = hmac.compare_digest((params.get("Password") or "").encode(), self._password.encode())
        if not (username_ok and password_ok):
            raise BusinessError(BAD_LOGIN)

    def _check_ip(self, client_ip):
        if self._store.restrict_ips() and not self._store.is_ip_allowed(client_ip):
            raise BusinessError(f"The IP address of {client_ip} is not in the access list")

    def _auto_auth_ip(self, params, client_ip):
        if not hmac.compare_digest((params.get("AutoAuthKey") or "").encode(), self._auto_auth_key.encode()):
            raise BusinessError(BAD_AUTO_AUTH_KEY)
        self._store.allow_ip(client_ip, params.get("appName") or "")
        return {"AutoAuthIPResult": 1}

    # Customers

    def _get_customer(self, params):
        customer = self._store.customer_by_code((params.get("CustomerCode") or "").strip())
        if customer is None:
            raise BusinessError(NO_SUCH_CUSTOMER_CODE)
        return {"GetCustomerResult": customer}

    def _get_customer_by_id(self, params):
        customer = self._store.customer_by_id(params["CustomerID"])
        if customer is None:
            raise BusinessError(NO_SUCH_CUSTOMER_ID)
        return {"GetCustomerByIDResult": customer}

    def _get_customer_by_email(self, params):
        customer = self._store.customer_by_email((params.get("CustomerEmail") or "").strip())
        if customer is None:
            raise BusinessError(NO_SUCH_CUSTOMER_EMAIL)
        return {"GetCustomerByEmailResult": customer}

    def _insert_customer(self, params):
        customer = self._required(params, "custr", "customer")
        self._check_lengths("Customer", customer)
        code = (customer.get("Code") or "").strip()
        if code:
            self._check_code(code)
        else:
            code = self._free_customer_code()
        now = _now()
        record = {**customer, "CustomerID": self._store.next_id("customer"), "Code": code,
                  "Created": now, "Updated": now}
        self._store.save_customer(record)
        return {"InsertCustomerResult": record["CustomerID"]}

    def _update_customer(self, params):
        customer = self._required(params, "custr", "customer")
        self._check_lengths("Customer", customer)
        existing = self._store.customer_by_id(customer["CustomerID"])
        if existing is None:
            raise BusinessError(NO_SUCH_CUSTOMER_ID)
        code = (customer.get("Code") or "").strip() or existing["Code"]
        if code.lower() != existing["Code"].lower():
            self._check_code(code)
        record = {**customer, "Code": code, "Created": existing["Created"], "Updated": _now()}
        self._store.save_customer(record)
        return {"UpdateCustomerResult": "1"}

    def _check_code(self, code):
        if not _CODE_PATTERN.fullmatch(code):
            raise BusinessError(CODE_INVALID)
        if self._store.customer_by_code(code) is not None:
            raise BusinessError(CODE_NOT_UNIQUE)

    def _free_customer_code(self):
        while True:
            code = f"CUST{self._store.next_id('customer_code'):04d}"
            if self._store.customer_by_code(code) is None:
                return code

    # Invoices

    def _get_invoice(self, params):
        return {"GetInvoiceResult": self._invoice_message(self._invoice_view(params["InvoiceNumber"]))}

    def _get_invoice_by_id(self, params):
        header = self._store.invoice_by_id(params["InvoiceID"])
        if header is None:
            raise BusinessError(NO_SUCH_INVOICE_ID)
        return {"GetInvoiceByIDResult": self._invoice_message(self._view_of(header))}

    def _get_invoices_for_customer(self, params):
        customer_id = params["CustID"]
        if self._store.customer_by_id(customer_id) is None:
            raise BusinessError(NO_SUCH_CUSTOMER_ID)
        invoices = [self._invoice_message(self._view_of(header)) for header in self._store.invoices(customer_id)]
        return {"GetInvoicesForCustomerResult": {"Invoice": invoices}}

    def _get_invoices_by_date_range(self, params):
        headers = self._store.invoices_dated(_day(params["StartDate"]), _day(params["EndDate"]))
        invoices = [self._invoice_message(self._view_of(header)) for header in headers]
        return {"GetInvoicesByDateRangeResult": {"Invoice": invoices}}

    @staticmethod
    def _invoice_message(view):
        """An invoice view as the SOAP answer carries it: lines as ``<anyType xsi:type="InvoiceLine">``, no
        sandbox-only fields."""
        invoice = _sandbox_free(view, _SANDBOX_INVOICE_FIELDS)
        invoice["Lines"] = {"anyType": [TypedValue("InvoiceLine", line) for line in view["Lines"]]}
        return invoice

    def _insert_invoice(self, params):
        invoice = self._required(params, "Inv", "invoice")
        number = invoice["InvoiceNumber"]
        if number < 0:
            raise BusinessError("Invoice number must be a positive whole number")
        if number == 0:
            number = self._store.highest_invoice_number() + 1
        elif self._store.invoice(number) is not None:
            raise BusinessError(INVOICE_NUMBER_IN_USE)
        header, lines = self._validated_invoice(invoice)
        now = _now()
        self._save_invoice({**header, "InvoiceDBID": self._store.next_id("invoice"), "InvoiceNumber": number,
                            "Created": now, "Updated": now, "UpdateCount": 0}, lines)
        return {"InsertInvoiceResult": number}

    def _update_invoice(self, params):
        invoice = self._required(params, "Inv", "invoice")
        existing = self._store.invoice(invoice["InvoiceNumber"])
        if existing is None:
            raise BusinessError(NO_SUCH_INVOICE)
        header, lines = self._validated_invoice(invoice)
        self._save_invoice({**header, "InvoiceDBID": existing["InvoiceDBID"], "Created": existing.get("Created"),
                            "Updated": _now(), "UpdateCount": existing.get("UpdateCount", 0) + 1}, lines)
        return {}

    def _delete_invoice(self, params):
        number = params["InvoiceNumber"]
        if self._store.invoice(number) is None:
            raise BusinessError(NO_SUCH_INVOICE)
        self._store.delete_invoice(number)
        return {"DeleteInvoiceResult": 1}

    def _validated_invoice(self, invoice):
        """The header to keep and the lines of an invoice sent to Insert/UpdateInvoice, once checked."""
        if self._store.customer_by_id(invoice["CustomerID"]) is None:
            raise BusinessError(NO_SUCH_CUSTOMER_ID)
        self._check_lengths("Invoice", invoice)
        if invoice.get("DeliveryAddress"):
            self._check_lengths("DeliveryAddress", invoice["DeliveryAddress"], "Invoice DeliveryAddress")
        currency = (invoice.get("CurrencyCode") or seed.HOME_CURRENCY).strip().upper()
        if currency not in {entry["CurrencyCode"] for entry in self._store.lookup("currencies")}:
            raise BusinessError(f"The currency code {currency} is not set up in this account")
        nominal_ids = {nominal["id"] for nominal in self._store.lookup("nominal_codes")}
        items = (invoice.get("Lines") or {}).get("anyType") or []
        lines = [self._validated_line(item, position, nominal_ids) for position, item in enumerate(items, 1)]
        header = {name: value for name, value in invoice.items() if name not in _DERIVED_INVOICE_FIELDS}
        return {**header, "CurrencyCode": currency}, lines

    @staticmethod
    def _validated_line(item, position, nominal_ids):
        if not isinstance(item, TypedValue) or item.type_name != "InvoiceLine":
            raise BusinessError(f"Line {position} is not an InvoiceLine")
        line = item.value
        KashFlowService._check_lengths("InvoiceLine", line, f"Line {line['Sort'] or position}")
        charge_type = line["ChargeType"]
        if charge_type != 0 and charge_type not in nominal_ids:
            raise BusinessError(f"Invalid ChargeType {charge_type} on line {line['Sort'] or position}")
        return line

    def _save_invoice(self, header, lines):
        lines = [{**line, "LineID": self._store.next_id("invoice_line")} for line in lines]
        self._store.save_invoice(header, lines)

    def _invoice_view(self, number):
        """The invoice with this number as KashFlow returns it (see :meth:`_view_of`)."""
        header = self._store.invoice(number)
        if header is None:
            raise BusinessError(NO_SUCH_INVOICE)
        return self._view_of(header)

    def _view_of(self, header):
        """An invoice as KashFlow returns it: header, lines, totals and what has been paid; plus the
        sandbox-only fields (``Created``, ``Updated``, ``UpdateCount``, ``CreditNote``)."""
        number = header["InvoiceNumber"]
        lines = self._store.invoice_lines(number)
        net = sum((line_net(line) for line in lines), Decimal("0.00"))
        vat = sum((Decimal(line["VatAmount"]) for line in lines), Decimal("0.00"))
        gross = net + vat
        paid = sum((Decimal(payment["PayAmount"]) for payment in self._store.payments(number)), Decimal("0.00"))
        customer = self._store.customer_by_id(header["CustomerID"]) or {}
        return {**header, "Customer": customer.get("Name"), "CustomerName": customer.get("Name"),
                "Lines": lines, "NetAmount": _money(net), "VATAmount": _money(vat), "AmountPaid": _money(paid),
                "Paid": int(paid >= gross if gross >= 0 else paid <= gross),
                "Created": header.get("Created"), "Updated": header.get("Updated"),
                "UpdateCount": header.get("UpdateCount", 0), "CreditNote": gross < 0}

    @staticmethod
    def _gross(view):
        return Decimal(view["NetAmount"]) + Decimal(view["VATAmount"])

    def _apply_credit_note(self, params):
        invoice_header = self._store.invoice_by_id(params["InvoiceID"])
        if invoice_header is None:
            raise BusinessError(NO_SUCH_INVOICE_ID)
        credit_header = self._store.invoice_by_id(params["CreditNoteID"])
        if credit_header is None:
            raise BusinessError(NO_SUCH_CREDIT_NOTE_ID)
        invoice, credit_note = self._view_of(invoice_header), self._view_of(credit_header)
        invoice_number, credit_number = invoice["InvoiceNumber"], credit_note["InvoiceNumber"]
        if self._gross(credit_note) >= 0:
            raise BusinessError(f"Invoice {credit_number} is not a credit note")
        if self._gross(invoice) <= 0:
            raise BusinessError(f"Invoice {invoice_number} has no positive total to apply a credit note to")
        if credit_note["CustomerID"] != invoice["CustomerID"]:
            raise BusinessError("The credit note and the invoice belong to different customers")
        left = Decimal(credit_note["AmountPaid"]) - self._gross(credit_note)
        if left <= 0:
            raise BusinessError(f"Credit note {credit_number} has already been fully applied")
        pair = {"PayDate": _now(), "PayNote": f"Credit note {credit_number} applied to invoice {invoice_number}",
                "PayMethod": self._store.lookup("payment_methods")[0]["MethodID"],
                "PayAccount": self._store.lookup("bank_accounts")[0]["AccountID"], "CreditNoteApplication": True}
        for number, amount in ((credit_number, -left), (invoice_number, left)):
            self._store.save_payment({"PayID": self._store.next_id("payment"), "PayInvoice": number, **pair,
                                      "PayAmount": _money(amount)})
        return {"applyCreditNoteToInvoiceResult": True}

    # Payments

    def _insert_invoice_payment(self, params):
        payment = self._required(params, "InvoicePayment", "payment")
        self._check_lengths("Payment", payment)
        if self._store.invoice(payment["PayInvoice"]) is None:
            raise BusinessError(NO_SUCH_INVOICE)
        if payment["PayMethod"] not in {entry["MethodID"] for entry in self._store.lookup("payment_methods")}:
            raise BusinessError("There is no payment method with that ID")
        if payment["PayAccount"] not in {entry["AccountID"] for entry in self._store.lookup("bank_accounts")}:
            raise BusinessError("There is no bank account with that ID")
        if Decimal(payment["PayAmount"]) == 0:
            raise BusinessError("Payment amount must not be zero")
        record = {**payment, "PayID": self._store.next_id("payment")}
        self._store.save_payment(record)
        return {"InsertInvoicePaymentResult": record["PayID"]}

    def _get_invoice_payment(self, params):
        number = params["InvoiceNumber"]
        if self._store.invoice(number) is None:
            raise BusinessError(NO_SUCH_INVOICE)
        return {"GetInvoicePaymentResult": self._payments_message(self._store.payments(number))}

    def _get_invoice_payments_by_date_range(self, params):
        page = params["PageNumber"]
        if page < 1:
            raise BusinessError("PageNumber must be 1 or more")
        payments = self._store.payments_dated(_day(params["StartDate"]), _day(params["EndDate"]),
                                              limit=PAYMENTS_PAGE_SIZE, offset=(page - 1) * PAYMENTS_PAGE_SIZE)
        return {"GetInvoicePaymentsByDateRangeResult": self._payments_message(payments)}

    @staticmethod
    def _payments_message(payments):
        return {"Payment": [_sandbox_free(payment, _SANDBOX_PAYMENT_FIELDS) for payment in payments]}

    def _delete_invoice_payment(self, params):
        # KashFlow's 2017 contract sends only InvoicePaymentNumber; InvoiceNumber (2026) is then 0.
        number = params.get("InvoiceNumber") or 0
        if number and self._store.invoice(number) is None:
            raise BusinessError(NO_SUCH_INVOICE)
        payment = self._store.payment(params["InvoicePaymentNumber"])
        if payment is None or (number and payment["PayInvoice"] != number):
            raise BusinessError(NO_SUCH_PAYMENT)
        self._store.delete_payment(payment["PayID"])
        return {}

    # Look-ups

    def _lookup(self, operation, kind, item_name, params):
        return {f"{operation}Result": {item_name: self._store.lookup(kind)}}

    @staticmethod
    def _check_lengths(type_name, record, where=None):
        detail = limits.too_long(type_name, record, where)
        if detail:
            raise BusinessError(detail)

    @staticmethod
    def _required(params, name, what):
        value = params.get(name)
        if value is None:
            raise BusinessError(f"No {what} details were supplied")
        return value

    # The sandbox's control API

    def state(self):
        """Everything the account holds, as plain JSON-ready data."""
        with self._store.transaction():
            return {
                "customers": self._store.customers(),
                "invoices": [self._view_of(header) for header in self._store.invoices()],
                "payments": self._store.payments(),
                "access": self._access_settings(),
                "lookups": self._store.lookups(),
            }

    def reset(self):
        """Back to the seeded account: no customers, invoices, payments or allowed IPs."""
        with self._store.transaction():
            self._store.reset()

    def configure_access(self, restrict_ips=None, allowed_ips=None):
        """Set the IP restriction and/or replace the allow-list; returns the resulting settings."""
        with self._store.transaction():
            self._store.set_access(restrict_ips, allowed_ips)
            return self._access_settings()

    def access(self):
        """The IP restriction setting and the allow-list."""
        with self._store.transaction():
            return self._access_settings()

    def _access_settings(self):
        return {"restrict_ips": self._store.restrict_ips(), "allowed_ips": self._store.allowed_ips()}
