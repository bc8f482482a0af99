"""KashFlow's business rules for the operations of the project's WSDL.

:class:`KashFlowService` takes an operation's parameters as plain data (see :mod:`.soap`) and returns its
result parts. Like KashFlow, it never faults on a business problem: it answers ``Status`` "NO" with a
readable ``StatusDetail`` and leaves the ``…Result`` out, which the SOAP layer writes as 0.
"""

import hmac
import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from . import seed
from .soap import TypedValue

NO_SUCH_CUSTOMER_CODE = "There is no customer with that code"
NO_SUCH_CUSTOMER_ID = "There is no customer with that ID"
NO_SUCH_CUSTOMER_EMAIL = "There is no customer with that email address"
NO_SUCH_INVOICE = "There is no invoice with that number"
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
            "GetInvoicesForCustomer": self._get_invoices_for_customer,
            "InsertInvoice": self._insert_invoice,
            "UpdateInvoice": self._update_invoice,
            "InsertInvoicePayment": self._insert_invoice_payment,
            "GetInvoicePayment": self._get_invoice_payment,
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
        return {"GetInvoiceResult": self._invoice_message(params["InvoiceNumber"])}

    def _get_invoices_for_customer(self, params):
        customer_id = params["CustID"]
        if self._store.customer_by_id(customer_id) is None:
            raise BusinessError(NO_SUCH_CUSTOMER_ID)
        numbers = [header["InvoiceNumber"] for header in self._store.invoices(customer_id)]
        return {"GetInvoicesForCustomerResult": {"Invoice": [self._invoice_message(n) for n in numbers]}}

    def _invoice_message(self, number):
        """An invoice as the SOAP answer carries it: lines as ``<anyType xsi:type="InvoiceLine">``."""
        invoice = self._invoice_view(number)
        invoice["Lines"] = {"anyType": [TypedValue("InvoiceLine", line) for line in invoice["Lines"]]}
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
        self._save_invoice({**header, "InvoiceDBID": self._store.next_id("invoice"), "InvoiceNumber": number},
                           lines)
        return {"InsertInvoiceResult": number}

    def _update_invoice(self, params):
        invoice = self._required(params, "Inv", "invoice")
        existing = self._store.invoice(invoice["InvoiceNumber"])
        if existing is None:
            raise BusinessError(NO_SUCH_INVOICE)
        header, lines = self._validated_invoice(invoice)
        self._save_invoice({**header, "InvoiceDBID": existing["InvoiceDBID"]}, lines)
        return {}

    def _validated_invoice(self, invoice):
        """The header to keep and the lines of an invoice sent to Insert/UpdateInvoice, once checked."""
        if self._store.customer_by_id(invoice["CustomerID"]) is None:
            raise BusinessError(NO_SUCH_CUSTOMER_ID)
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
        charge_type = line["ChargeType"]
        if charge_type != 0 and charge_type not in nominal_ids:
            raise BusinessError(f"Invalid ChargeType {charge_type} on line {line['Sort'] or position}")
        return line

    def _save_invoice(self, header, lines):
        lines = [{**line, "LineID": self._store.next_id("invoice_line")} for line in lines]
        self._store.save_invoice(header, lines)

    def _invoice_view(self, number):
        """An invoice as KashFlow returns it: header, lines, totals and what has been paid."""
        header = self._store.invoice(number)
        if header is None:
            raise BusinessError(NO_SUCH_INVOICE)
        lines = self._store.invoice_lines(number)
        net = sum((line_net(line) for line in lines), Decimal("0.00"))
        vat = sum((Decimal(line["VatAmount"]) for line in lines), Decimal("0.00"))
        payments = self._store.payments(number)
        paid = sum((Decimal(payment["PayAmount"]) for payment in payments), Decimal("0.00"))
        customer = self._store.customer_by_id(header["CustomerID"]) or {}
        return {**header, "Customer": customer.get("Name"), "CustomerName": customer.get("Name"),
                "Lines": lines, "NetAmount": _money(net), "VATAmount": _money(vat),
                "AmountPaid": _money(paid), "Paid": int(paid >= net + vat)}

    # Payments

    def _insert_invoice_payment(self, params):
        payment = self._required(params, "InvoicePayment", "payment")
        if self._store.invoice(payment["PayInvoice"]) is None:
            raise BusinessError(NO_SUCH_INVOICE)
        if payment["PayMethod"] not in {entry["MethodID"] for entry in self._store.lookup("payment_methods")}:
            raise BusinessError("There is no payment method with that ID")
        if payment["PayAccount"] not in {entry["AccountID"] for entry in self._store.lookup("bank_accounts")}:
            raise BusinessError("There is no bank account with that ID")
        if Decimal(payment["PayAmount"]) <= 0:
            raise BusinessError("Payment amount must be greater than zero")
        record = {**payment, "PayID": self._store.next_id("payment")}
        self._store.save_payment(record)
        return {"InsertInvoicePaymentResult": record["PayID"]}

    def _get_invoice_payment(self, params):
        number = params["InvoiceNumber"]
        if self._store.invoice(number) is None:
            raise BusinessError(NO_SUCH_INVOICE)
        return {"GetInvoicePaymentResult": {"Payment": self._store.payments(number)}}

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
                "invoices": [self._invoice_view(entry["InvoiceNumber"]) for entry in self._store.invoices()],
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
