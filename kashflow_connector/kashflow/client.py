"""The KashFlow SOAP client: the only code in the project that knows SOAP.

It speaks KashFlow's legacy SOAP API (service ``KashFlowAPI``, namespace ``KashFlow``) through zeep and
the project's own WSDL (``wsdl/kashflow.wsdl``, the subset of KashFlow's contract the connector uses).

- Each KashFlow address gets one zeep client per process (the WSDL parsed once for it) and one service
  proxy, reused by every call, over one HTTP session that keeps its connections open. Connect and read
  timeouts are explicit.
- KashFlow reports business failures in-band (HTTP 200, ``Status`` ``NO`` and a ``StatusDetail`` text);
  they become typed errors (see ``exceptions.py``), as do network errors, timeouts and HTTP 5xx answers
  (``UnavailableError``, transient). An identifier of 0 is never taken for success. A SOAP fault is a
  ``RequestError`` when KashFlow could not read the request (``soap:Client``: "Server was unable to read
  request", the same request would fail again) and an ``UnavailableError`` when it read it and then failed
  itself (``soap:Server``: "Server was unable to process request").
- Every answer is looked at before zeep reads it (:class:`_Transport`): HTTP 429 and 503 become an
  ``UnavailableError`` carrying the ``Retry-After`` pause (``retry_after``, seconds, or None), as do an
  error page that is not a SOAP fault, an empty answer and a web page answered with HTTP 200 (a proxy's
  error page). The transport only notices; ``_send``, the one gateway, turns what it noticed into errors.
- dateTime parameters are sent as naive date-times: a ``date`` as midday of that day (no time-zone shift
  can move it to another day), a naive ``datetime`` as it is, an aware one in UK time.
- The password and the IP Authorisation Key live in private attributes. They are never put in an exception
  text, a log line or a repr; zeep's own debug log of the envelopes is masked (see ``log_filter.py``).
"""

import datetime
import email.utils
import logging
import math
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
from .words import _lt, phrase

_logger = logging.getLogger(__name__)

PRODUCTION_URL = "https://securedwebapp.com/api/service.asmx"
WSDL_PATH = Path(__file__).resolve().parent / "wsdl" / "kashflow.wsdl"
BINDING = "{KashFlow}KashFlowAPISoap"
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60
APP_NAME = "Odoo kashflow_connector"

# KashFlow's wording of its errors, as public KashFlow clients match it (Ed-IT's, Deskpro's, Net::KashFlow);
# matched case-insensitively.
_BAD_LOGIN_MARKERS = ("incorrect username or password", "invalid username", "invalid password", "not authorised",
                      "not authorized")
_IP_MARKER = "is not in the access list"
_NOT_FOUND_MARKERS = ("there is no customer", "no customer with", "there is no invoice", "no invoice with")
# Content types of a SOAP 1.1 (or 1.2) answer; an error answer of another type is a web server's or proxy's page.
_XML_MEDIA_TYPES = ("text/xml", "application/soap+xml", "application/xml")
_MIDDAY = datetime.time(12, 0)
# What an HTTP 200 answer held instead of a SOAP reply (see _Transport).
_EMPTY_ANSWER = "an empty answer"
_WEB_PAGE = "a web page"
_UK_TIME_ZONE = "Europe/London"

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


class _UnexpectedAnswer(Exception):
    """An HTTP answer that is not KashFlow's SOAP reply, noticed by :class:`_Transport` before zeep reads it.

    ``what`` describes a body that cannot be a SOAP reply to an HTTP 200 ("an empty answer", "a web page"),
    or is None for an HTTP error status. ``retry_after`` is the ``Retry-After`` pause in seconds, or None.
    """

    def __init__(self, status_code, what=None, retry_after=None):
        super().__init__(f"HTTP {status_code}" + (f", {what}" if what else ""))
        self.status_code = status_code
        self.what = what
        self.retry_after = retry_after


def _retry_after_seconds(value):
    """The pause a ``Retry-After`` header asks for, in whole seconds: it holds seconds or an HTTP date."""
    value = (value or "").strip()
    if value.isascii() and value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0, math.ceil((when - datetime.datetime.now(datetime.timezone.utc)).total_seconds()))


class _Transport(zeep.Transport):
    """zeep's transport, looking at each answer before zeep reads it.

    zeep keeps no headers in its errors and reads any HTTP error body that parses as XML as a SOAP fault
    ("Unknown fault occured"), so what only the HTTP layer knows is noticed here and raised as
    :class:`_UnexpectedAnswer`.
    """

    def post_xml(self, address, envelope, headers):
        response = super().post_xml(address, envelope, headers)
        status = response.status_code
        media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if status in (429, 503):
            raise _UnexpectedAnswer(status, retry_after=_retry_after_seconds(response.headers.get("Retry-After")))
        if status != 200 and media_type not in _XML_MEDIA_TYPES:
            raise _UnexpectedAnswer(status)  # a web server's or proxy's error page: no SOAP fault in it
        if status == 200 and not response.content.strip():
            raise _UnexpectedAnswer(status, _EMPTY_ANSWER)
        if status == 200 and media_type == "text/html":
            raise _UnexpectedAnswer(status, _WEB_PAGE)
        return response


def _kashflow_datetime(value):
    """A date or datetime as the naive datetime KashFlow's dateTime parameters take."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            from zoneinfo import ZoneInfo  # only needed for aware values

            value = value.astimezone(ZoneInfo(_UK_TIME_ZONE)).replace(tzinfo=None)
        return value
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, _MIDDAY)
    raise TypeError(f"a date or datetime is needed, not {type(value).__name__}")


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
                transport = _Transport(session=session)
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
            raise AuthenticationError(phrase(_lt("The KashFlow username and password are required.")))
        self.username = username
        self.__password = password
        self.url = url or PRODUCTION_URL
        self.__auto_auth_key = auto_auth_key or None
        self.app_name = app_name
        self.timeout = tuple(timeout)
        self.calls = 0  # SOAP requests this client sent (answered or not): what a reconciliation reports it cost

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
        self.calls += 1
        try:
            response = method(UserName=self.username, Password=self.__password, **params)
        except requests.Timeout:
            raise UnavailableError(
                phrase(_lt("KashFlow did not answer within %(seconds)s seconds (%(operation)s)."),
                       seconds=self.timeout[1], operation=operation),
                detail=f"no answer within {self.timeout[1]} seconds", operation=operation) from None
        except requests.ConnectionError:
            raise UnavailableError(
                phrase(_lt("KashFlow could not be reached at %(url)s (%(operation)s): the connection failed."),
                       url=self.url, operation=operation),
                detail="the connection failed", operation=operation) from None
        except requests.RequestException as exc:  # a broken answer (e.g. cut short): the network, not the data
            raise UnavailableError(
                phrase(_lt("KashFlow's answer to %(operation)s was broken off (%(error)s)."), operation=operation,
                       error=type(exc).__name__),
                detail="a broken answer", operation=operation) from None
        except _UnexpectedAnswer as answer:
            raise self._unexpected_answer_error(operation, answer) from None
        except zeep.exceptions.TransportError as exc:
            if exc.status_code == 200:  # an answer that is not XML at all
                raise UnavailableError(
                    phrase(_lt("KashFlow sent an answer to %(operation)s that is not valid XML."), operation=operation),
                    detail="an answer that is not valid XML", operation=operation) from None
            raise self._unexpected_answer_error(operation, _UnexpectedAnswer(exc.status_code)) from None
        except zeep.exceptions.Fault as exc:
            raise self._fault_error(operation, exc) from None
        except zeep.exceptions.ValidationError as exc:
            detail = self._scrub(str(exc))
            raise RequestError(
                phrase(_lt("The %(operation)s request does not fit KashFlow's contract: %(detail)s"),
                       operation=operation, detail=detail), detail=detail, operation=operation) from None
        except zeep.exceptions.XMLSyntaxError:
            raise UnavailableError(
                phrase(_lt("KashFlow sent an answer to %(operation)s that is not valid XML."), operation=operation),
                detail="an answer that is not valid XML", operation=operation) from None
        except zeep.exceptions.XMLParseError:  # XML, but not a SOAP envelope
            raise UnavailableError(
                phrase(_lt("KashFlow sent an answer to %(operation)s that is not a SOAP message."),
                       operation=operation),
                detail="an answer that is not a SOAP message", operation=operation) from None
        status = (getattr(response, "Status", None) or "").strip().upper()
        detail = self._scrub((getattr(response, "StatusDetail", None) or "").strip())
        if status == "NO":
            raise self._error_for(operation, detail)
        if detail:
            _logger.debug("KashFlow %s: %s", operation, detail)
        return response

    def _fault_error(self, operation, fault):
        """The typed error for a SOAP fault: KashFlow failed itself (``soap:Server``), or could not read the
        request (``soap:Client``)."""
        detail = self._scrub(fault.message or "")
        if (fault.code or "").rpartition(":")[2] == "Server":  # KashFlow read the request, then failed itself
            return UnavailableError(phrase(_lt("KashFlow failed while handling %(operation)s, an error on its side: "
                                               "%(detail)s"), operation=operation, detail=detail),
                                    detail=detail, operation=operation)
        return RequestError(phrase(_lt("KashFlow could not read the %(operation)s request: %(detail)s"),
                                   operation=operation, detail=detail), detail=detail, operation=operation)

    @staticmethod
    def _unexpected_answer_error(operation, answer):
        """The typed error for an HTTP answer that is not KashFlow's SOAP reply."""
        status, retry_after = answer.status_code, answer.retry_after
        if answer.what == _EMPTY_ANSWER:
            message = phrase(_lt("KashFlow sent an empty answer to %(operation)s; something between this server and "
                                 "KashFlow (a proxy or the network) may have failed."), operation=operation)
        elif answer.what == _WEB_PAGE:
            message = phrase(_lt("KashFlow's address answered %(operation)s with a web page instead of KashFlow's "
                                 "reply, probably the error page of a proxy between this server and KashFlow."),
                             operation=operation)
        elif status == 429:
            message = phrase(_lt("KashFlow asked to slow down (HTTP 429, too many requests, on %(operation)s)."),
                             operation=operation)
        elif status >= 500:
            message = phrase(_lt("KashFlow is busy or down (HTTP %(status)s on %(operation)s)."), status=status,
                             operation=operation)
        else:
            return RejectedError(
                phrase(_lt("KashFlow answered HTTP %(status)s to %(operation)s. Check the KashFlow address in "
                           "Settings."), status=status, operation=operation),
                detail=f"HTTP {status}", operation=operation)
        return UnavailableError(message, detail=answer.what or f"HTTP {status}", operation=operation,
                                retry_after=retry_after, rate_limited=status == 429 and not answer.what)

    def _error_for(self, operation, detail):
        lowered = detail.lower()
        if any(marker in lowered for marker in _BAD_LOGIN_MARKERS):
            return AuthenticationError(phrase(_lt(
                "KashFlow refused the username or password. Check them in Settings > KashFlow; if KashFlow's "
                "\"separate API password\" is on, use that password.")), detail=detail, operation=operation)
        if _IP_MARKER in lowered:
            return IPNotAllowedError(phrase(_lt(
                "KashFlow refused this server's IP address (%(detail)s). In KashFlow, add the address under API "
                "Settings > Restrict access to specific IP addresses, or enter the IP Authorisation Key in Settings > "
                "KashFlow."), detail=detail), detail=detail, operation=operation)
        return RejectedError(phrase(_lt("KashFlow rejected %(operation)s: %(detail)s"), operation=operation,
                                    detail=detail or phrase(_lt("no reason given"))),
                             detail=detail, operation=operation)

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
            raise RejectedError(phrase(_lt("KashFlow returned no %(what)s for %(operation)s."), what=what,
                                       operation=operation), operation=operation)
        return int(value)

    @staticmethod
    def _plain(value):
        return zeep.helpers.serialize_object(value, target_cls=dict)

    # ------------------------------------------------------------------ access

    def authorise_ip(self):
        """Ask KashFlow to add this server's IP address to the account's access list (``AutoAuthIP``)."""
        if not self.__auto_auth_key:
            raise RequestError(phrase(_lt("No IP Authorisation Key is set in Settings > KashFlow.")))
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

    def delete_invoice(self, number):
        """Delete the invoice (or credit note) with this number, with what KashFlow deletes along with it (the
        payments recorded against it, in the sandbox). Raises ``RejectedError`` when there is no such invoice."""
        self._identifier(number, "DeleteInvoice", "invoice number to delete")
        self._call("DeleteInvoice", InvoiceNumber=number)

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

    def get_invoice_by_id(self, dbid):
        """The invoice with this KashFlow InvoiceDBID, like ``get_invoice`` returns it; or None."""
        try:
            response = self._call("GetInvoiceByID", InvoiceID=dbid)
        except RejectedError as exc:
            if self.is_not_found(exc):
                return None
            raise
        invoice = response.GetInvoiceByIDResult
        if invoice is None or not invoice.InvoiceDBID:
            return None
        return self._invoice_dict(invoice)

    def get_invoices_by_date_range(self, start, end):
        """Every invoice (credit notes too) dated from ``start`` to ``end``, as dicts like ``get_invoice``
        returns.

        ``start`` and ``end`` are dates or datetimes (see the module's note on dates). The sandbox compares
        whole days, both included; if KashFlow compares instants, pass datetimes (e.g. 00:00 and 23:59:59)
        to be sure to cover whole days.
        """
        invoices = self._entries("GetInvoicesByDateRange", "Invoice", StartDate=_kashflow_datetime(start),
                                 EndDate=_kashflow_datetime(end))
        return [self._invoice_dict(invoice) for invoice in invoices]

    def apply_credit_note(self, invoice_dbid, credit_note_dbid):
        """Apply a credit note (an invoice with negative lines) to an invoice of the same customer.

        Both are KashFlow **InvoiceDBIDs** (``InvoiceDBID`` of ``get_invoice``), as the parameter names of
        ``applyCreditNoteToInvoice`` say: whether KashFlow wants DB ids or invoice numbers is unconfirmed, and
        ids are the sandbox's reading too. KashFlow then records a zero-sum pair of payments: minus what is
        left of the credit note on the credit note, plus the same on the invoice. Raises ``RejectedError`` if
        KashFlow refuses, e.g. when nothing is left of the credit note: after a lost answer, read the credit
        note (``get_invoice_by_id``) to see whether it was applied rather than relying on that refusal's words.
        """
        operation = "applyCreditNoteToInvoice"
        response = self._call(operation, InvoiceID=invoice_dbid, CreditNoteID=credit_note_dbid)
        if not getattr(response, f"{operation}Result", None):
            raise RejectedError(phrase(_lt(
                "KashFlow did not apply the credit note (KashFlow id %(credit_note)s) to the invoice (KashFlow id "
                "%(invoice)s) and gave no reason."), credit_note=credit_note_dbid, invoice=invoice_dbid),
                operation=operation)

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

    def get_payments_by_date_range(self, start, end):
        """Every invoice payment dated from ``start`` to ``end`` (dates or datetimes, as for
        ``get_invoices_by_date_range``), as a list of dicts, oldest first as KashFlow pages them.

        ``GetInvoicePaymentsByDateRange`` answers page by page (numbered from 1; the sandbox puts 100 on a
        page): pages are asked for until one comes back empty. A page that brings nothing new (a server that
        ignores the page number) ends the reading too, rather than looping.
        """
        params = {"StartDate": _kashflow_datetime(start), "EndDate": _kashflow_datetime(end)}
        payments, seen, page = [], set(), 1
        while True:
            entries = self._items("GetInvoicePaymentsByDateRange", "Payment", PageNumber=page, **params)
            new = [entry for entry in entries if entry["PayID"] not in seen]
            if not new:
                if entries:
                    _logger.warning("KashFlow repeated page %s of GetInvoicePaymentsByDateRange; reading stops.",
                                    page)
                return payments
            payments.extend(new)
            seen.update(entry["PayID"] for entry in new)
            page += 1

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
