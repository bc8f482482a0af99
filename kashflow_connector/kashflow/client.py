"""The KashFlow SOAP client: the only code in the project that knows SOAP.

It speaks KashFlow's legacy SOAP API (service ``KashFlowAPI``, namespace ``KashFlow``) through zeep and
the project's own WSDL (``wsdl/kashflow.wsdl``, the subset of KashFlow's contract the connector uses).

- Each KashFlow address gets one zeep client per process (the WSDL parsed once for it) and one service
  proxy, reused by every call, over one HTTP session that keeps its connections open. Connect and read
  timeouts are explicit.
- KashFlow reports business failures in-band (HTTP 200, ``Status`` ``NO`` and a ``StatusDetail`` text);
  they become typed errors (see ``exceptions.py``), as do network errors, timeouts and HTTP 5xx answers
  (``UnavailableError``, transient). An identifier of 0 is never taken for success.
- The password and the IP Authorisation Key live in private attributes. They are never put in an exception
  text, a log line or a repr; zeep's own debug log of the envelopes is masked (see ``log_filter.py``).
"""

import logging
import threading
from pathlib import Path

import requests
import requests.adapters
import zeep
import zeep.exceptions
import zeep.helpers
from zeep import xsd

from . import log_filter
from .exceptions import (
    AuthenticationError,
    IPNotAllowedError,
    KashFlowError,
    RejectedError,
    RequestError,
    UnavailableError,
)

_logger = logging.getLogger(__name__)

PRODUCTION_URL = "https://securedwebapp.com/api/service.asmx"
WSDL_PATH = Path(__file__).resolve().parent / "wsdl" / "kashflow.wsdl"
BINDING = "{KashFlow}KashFlowAPISoap"
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60
APP_NAME = "Odoo kashflow_connector"

# KashFlow's wording of its errors (API_FACTS.md, sections 1.3 and 1.4); matched case-insensitively.
_BAD_LOGIN_MARKERS = ("incorrect username or password", "invalid username", "invalid password", "not authorised",
                      "not authorized")
_IP_MARKER = "is not in the access list"
_NOT_FOUND_MARKERS = ("there is no customer", "no customer with", "there is no invoice", "no invoice with")

log_filter.install()


class _TimeoutAdapter(requests.adapters.HTTPAdapter):
    """An HTTP adapter that gives every request the endpoint's ``(connect, read)`` timeouts.

    Set on the session rather than passed with each call, so the timeouts hold whatever zeep passes on.
    """

    def __init__(self, timeout):
        super().__init__()
        self.timeout = timeout

    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


class _Endpoints:
    """One zeep client per KashFlow address (and timeouts) per process, each with its own HTTP session."""

    def __init__(self):
        self._lock = threading.Lock()
        self._clients = {}

    def get(self, url, timeout):
        """The zeep client and its service proxy for ``url``, built on first use."""
        key = (url, timeout)
        with self._lock:
            endpoint = self._clients.get(key)
            if endpoint is None:
                session = requests.Session()
                session.headers["User-Agent"] = APP_NAME
                adapter = _TimeoutAdapter(timeout)
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                transport = zeep.Transport(session=session)
                client = zeep.Client(str(WSDL_PATH), transport=transport, settings=zeep.Settings(strict=True))
                endpoint = self._clients[key] = (client, client.create_service(BINDING, url))
            return endpoint


_endpoints = _Endpoints()
# (url, username) pairs for which AutoAuthIP already ran in this process.
_ip_authorised = set()


class KashFlowClient:
    """A KashFlow account at one address, seen as Python calls returning plain dicts and ints.

    :param username: the KashFlow login (or API user).
    :param password: its password (or KashFlow's "separate API password").
    :param url: the service address; KashFlow's production address by default, or another one (the sandbox).
    :param auto_auth_key: optional IP Authorisation Key: when set, ``AutoAuthIP`` is called before the first
        call from this process and again after an "IP not in the access list" answer.
    :param timeout: ``(connect, read)`` seconds.
    """

    def __init__(self, username, password, *, url=PRODUCTION_URL, auto_auth_key=None, app_name=APP_NAME,
                 timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)):
        if not username or not password:
            raise AuthenticationError("The KashFlow username and password are required.")
        self.username = username
        self.__password = password
        self.url = url or PRODUCTION_URL
        self.__auto_auth_key = auto_auth_key or None
        self.app_name = app_name
        self.timeout = tuple(timeout)

    def __repr__(self):
        return f"<KashFlowClient {self.username!r} at {self.url}>"

    # ------------------------------------------------------------------ the one gateway to KashFlow

    def _call(self, operation, **params):
        """Call one KashFlow operation and return its response element, or raise a typed error."""
        if self.__auto_auth_key and (self.url, self.username) not in _ip_authorised:
            self.authorise_ip()
        try:
            return self._send(operation, params)
        except IPNotAllowedError:
            if not self.__auto_auth_key:
                raise
            _logger.info("KashFlow refused this server's IP address; asking it to authorise the address.")
            self.authorise_ip()
            return self._send(operation, params)

    def _send(self, operation, params):
        method = getattr(_endpoints.get(self.url, self.timeout)[1], operation)
        try:
            response = method(UserName=self.username, Password=self.__password, **params)
        except requests.Timeout:
            raise UnavailableError(
                f"KashFlow did not answer within {self.timeout[1]} seconds ({operation}). It will be tried again.",
                detail=f"no answer within {self.timeout[1]} seconds", operation=operation) from None
        except requests.ConnectionError:
            raise UnavailableError(
                f"KashFlow could not be reached at {self.url} ({operation}): the connection failed. "
                "It will be tried again.", detail="the connection failed", operation=operation) from None
        except requests.RequestException as exc:  # a broken answer (e.g. cut short): the network, not the data
            raise UnavailableError(
                f"KashFlow's answer to {operation} was broken off ({type(exc).__name__}). It will be tried again.",
                detail="a broken answer", operation=operation) from None
        except zeep.exceptions.TransportError as exc:
            if exc.status_code >= 500 or exc.status_code == 429:
                raise UnavailableError(
                    f"KashFlow is busy or down (HTTP {exc.status_code} on {operation}). It will be tried again.",
                    detail=f"HTTP {exc.status_code}", operation=operation) from None
            raise RejectedError(
                f"KashFlow answered HTTP {exc.status_code} to {operation}. Check the KashFlow address in Settings.",
                operation=operation) from None
        except zeep.exceptions.Fault as exc:
            detail = self._scrub(exc.message or "")
            raise RequestError(
                f"KashFlow could not read the {operation} request: {detail}", detail=detail,
                operation=operation) from None
        except zeep.exceptions.ValidationError as exc:
            detail = self._scrub(str(exc))
            raise RequestError(
                f"The {operation} request does not fit KashFlow's contract: {detail}", detail=detail,
                operation=operation) from None
        except zeep.exceptions.XMLSyntaxError:
            raise UnavailableError(
                f"KashFlow sent an answer to {operation} that is not valid XML. It will be tried again.",
                detail="an answer that is not valid XML", operation=operation) from None
        status = (getattr(response, "Status", None) or "").strip().upper()
        detail = self._scrub((getattr(response, "StatusDetail", None) or "").strip())
        if status == "NO":
            raise self._error_for(operation, detail)
        if detail:
            _logger.debug("KashFlow %s: %s", operation, detail)
        return response

    def _error_for(self, operation, detail):
        lowered = detail.lower()
        if any(marker in lowered for marker in _BAD_LOGIN_MARKERS):
            return AuthenticationError(
                "KashFlow refused the username or password. Check them in Settings > KashFlow; if KashFlow's "
                "\"separate API password\" is on, use that password.", detail=detail, operation=operation)
        if _IP_MARKER in lowered:
            return IPNotAllowedError(
                f"KashFlow refused this server's IP address ({detail}). In KashFlow, add the address under "
                "API Settings > Restrict access to specific IP addresses, or enter the IP Authorisation Key "
                "in Settings > KashFlow.", detail=detail, operation=operation)
        return RejectedError(f"KashFlow rejected {operation}: {detail or 'no reason given'}", detail=detail,
                             operation=operation)

    def _scrub(self, text):
        """Remove the password and the IP Authorisation Key from a text KashFlow or zeep produced, should they
        ever appear there."""
        for secret in (self.__password, self.__auto_auth_key):
            if text and secret:
                text = text.replace(secret, "********")
        return text

    @staticmethod
    def is_not_found(error):
        """Whether a rejection only says that the customer or invoice asked for does not exist."""
        return any(marker in (error.detail or "").lower() for marker in _NOT_FOUND_MARKERS)

    @staticmethod
    def _identifier(value, operation, what):
        """KashFlow answers 0 when it did not create anything: never take that for an identifier."""
        if not value or int(value) <= 0:
            raise RejectedError(f"KashFlow returned no {what} for {operation}.", operation=operation)
        return int(value)

    @staticmethod
    def _plain(value):
        return zeep.helpers.serialize_object(value, target_cls=dict)

    # ------------------------------------------------------------------ access

    def authorise_ip(self):
        """Ask KashFlow to add this server's IP address to the account's access list (``AutoAuthIP``)."""
        if not self.__auto_auth_key:
            raise RequestError("No IP Authorisation Key is set in Settings > KashFlow.")
        self._send("AutoAuthIP", {"appName": self.app_name, "AutoAuthKey": self.__auto_auth_key})
        _ip_authorised.add((self.url, self.username))

    def check_connection(self):
        """A cheap call that proves the address, the login and the IP access; returns the home currency code."""
        currencies = self.currencies()
        home = next((c for c in currencies if c.get("isDefault") == 1), None)
        return home["CurrencyCode"] if home else None

    # ------------------------------------------------------------------ customers

    def get_customer_by_code(self, code):
        """The customer with this code, or None."""
        return self._get_customer("GetCustomer", CustomerCode=code)

    def get_customer_by_id(self, customer_id):
        """The customer with this KashFlow id, or None."""
        return self._get_customer("GetCustomerByID", CustomerID=customer_id)

    def get_customer_by_email(self, email):
        """The customer with this email address (KashFlow returns one), or None."""
        return self._get_customer("GetCustomerByEmail", CustomerEmail=email)

    def _get_customer(self, operation, **params):
        try:
            response = self._call(operation, **params)
        except RejectedError as exc:
            if self.is_not_found(exc):
                return None
            raise
        customer = getattr(response, f"{operation}Result", None)
        if customer is None or not customer.CustomerID:
            return None
        return self._plain(customer)

    def insert_customer(self, customer):
        """Create a customer (``CustomerID`` 0); returns the new KashFlow CustomerID."""
        response = self._call("InsertCustomer", custr=customer)
        return self._identifier(response.InsertCustomerResult, "InsertCustomer", "customer id")

    def update_customer(self, customer):
        """Update the customer identified by ``customer["CustomerID"]``."""
        self._call("UpdateCustomer", custr=customer)

    # ------------------------------------------------------------------ invoices

    def _invoice_element(self, invoice):
        """The invoice with its lines wrapped as KashFlow wants them: ``<anyType xsi:type="InvoiceLine">``."""
        client = _endpoints.get(self.url, self.timeout)[0]
        line_type = client.get_type("{KashFlow}InvoiceLine")
        array_type = client.get_type("{KashFlow}ArrayOfAnyType")
        element = dict(invoice)
        element["Lines"] = array_type(anyType=[xsd.AnyObject(line_type, line) for line in invoice.get("Lines", ())])
        return element

    def insert_invoice(self, invoice):
        """Create an invoice with its lines; returns its invoice number (KashFlow assigns it when 0 is sent)."""
        response = self._call("InsertInvoice", Inv=self._invoice_element(invoice))
        return self._identifier(response.InsertInvoiceResult, "InsertInvoice", "invoice number")

    def update_invoice(self, invoice):
        """Update the invoice with ``invoice["InvoiceNumber"]``: header updated, all lines replaced."""
        self._identifier(invoice.get("InvoiceNumber"), "UpdateInvoice", "invoice number to update")
        self._call("UpdateInvoice", Inv=self._invoice_element(invoice))

    def get_invoice(self, number):
        """The invoice with this number, its lines as a list of dicts under ``Lines``; or None."""
        try:
            response = self._call("GetInvoice", InvoiceNumber=number)
        except RejectedError as exc:
            if self.is_not_found(exc):
                return None
            raise
        invoice = response.GetInvoiceResult
        if invoice is None or not invoice.InvoiceDBID:
            return None
        return self._invoice_dict(invoice)

    def get_invoices_for_customer(self, customer_id):
        """Every invoice of a KashFlow customer, as dicts like ``get_invoice`` returns."""
        return [self._invoice_dict(invoice)
                for invoice in self._entries("GetInvoicesForCustomer", "Invoice", CustID=customer_id)]

    def _invoice_dict(self, invoice):
        lines = invoice.Lines.anyType if invoice.Lines is not None else None
        result = self._plain(invoice)
        result["Lines"] = [self._plain(getattr(line, "_value_1", line)) for line in lines or []]
        return result

    # ------------------------------------------------------------------ payments

    def insert_payment(self, payment):
        """Record a payment against ``payment["PayInvoice"]`` (an invoice number); returns the payment number."""
        response = self._call("InsertInvoicePayment", InvoicePayment=payment)
        return self._identifier(response.InsertInvoicePaymentResult, "InsertInvoicePayment", "payment number")

    def get_payments(self, invoice_number):
        """The payments recorded against an invoice number, as a list of dicts."""
        return self._items("GetInvoicePayment", "Payment", InvoiceNumber=invoice_number)

    def delete_payment(self, invoice_number, payment_number):
        """Delete one payment from an invoice."""
        self._call("DeleteInvoicePayment", InvoiceNumber=invoice_number, InvoicePaymentNumber=payment_number)

    # ------------------------------------------------------------------ look-ups

    def _entries(self, operation, item, **params):
        """The entries of the array ``operation`` returns (zeep gives None for an empty one)."""
        array = getattr(self._call(operation, **params), f"{operation}Result", None)
        return (getattr(array, item, None) if array is not None else None) or []

    def _items(self, operation, item, **params):
        """The same entries, as plain dicts."""
        return [self._plain(entry) for entry in self._entries(operation, item, **params)]

    def bank_accounts(self):
        """[{AccountID, AccountName, AccountCode}]"""
        return self._items("GetBankAccounts", "BankAccount")

    def payment_methods(self):
        """Invoice payment methods: [{MethodID, MethodName}]"""
        return self._items("GetInvPayMethods", "PaymentMethod")

    def customer_sources(self):
        """[{ID, Name, Description, Value}]"""
        return self._items("GetCustomerSources", "BasicDataset")

    def nominal_codes(self):
        """[{id, Code, Name, debit, credit, balance}]"""
        return self._items("GetNominalCodes", "NominalCode")

    def vat_rates(self):
        """[{ID, Name, Description, Value}], the rate in ``Value``."""
        return self._items("GetVATRates", "BasicDataset")

    def currencies(self):
        """[{CurrencyId, CurrencyCode, ExchangeRate, isDefault}]"""
        return self._items("GetCurrencies", "Currencies")


__all__ = [
    "KashFlowClient", "KashFlowError", "AuthenticationError", "IPNotAllowedError", "RejectedError",
    "RequestError", "UnavailableError", "PRODUCTION_URL",
]
