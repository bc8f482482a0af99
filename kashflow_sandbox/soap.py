"""KashFlow's SOAP 1.1 contract, loaded from the project's WSDL with zeep, seen from the server side.

:class:`SoapContract` turns a request envelope into the operation name and its parameters, and an
operation's result into a response envelope; zeep does the XML work both ways, so the sandbox reads and
writes exactly the messages the WSDL describes. Values cross this boundary as plain, JSON-ready data:
dicts for complex values, decimal strings for money, ISO 8601 strings for dates, and :class:`TypedValue`
for the content of an untyped ``anyType`` element (an ``<anyType xsi:type="InvoiceLine">`` line).

Like ASMX, the reader is lenient about what the contract leaves to the server (missing or unknown
elements; a required value-type element that is missing takes .NET's default: 0, false,
``0001-01-01T00:00:00``), but a document it cannot read becomes a :class:`SoapFault`.
"""

import contextlib
import copy
import logging
import threading
from pathlib import Path
from typing import NamedTuple

import zeep
from lxml import etree
from zeep.transports import Transport
from zeep.wsdl import Document
from zeep.xsd import AnyObject, CompoundValue
from zeep.xsd.types.any import AnyType
from zeep.xsd.types.simple import AnySimpleType

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WSDL_SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"

#: The project's WSDL, located relative to this package (importing kashflow_connector would import Odoo).
WSDL_PATH = Path(__file__).resolve().parent.parent / "kashflow_connector/kashflow/wsdl/kashflow.wsdl"

#: What .NET puts in a value-type field the request left out.
_DOTNET_DEFAULTS = {
    "int": 0, "integer": 0, "decimal": "0", "boolean": False, "dateTime": "0001-01-01T00:00:00"}

_READ_FAILED = "Server was unable to read request. ---> "
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)


class SoapFault(Exception):
    """A request the service cannot handle: answered with HTTP 500 and a SOAP 1.1 Fault.

    ``code`` is the local part of the fault code: ``Client`` (the request is at fault) or ``Server``.
    """

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class TypedValue(NamedTuple):
    """The content of an ``anyType`` element that names its type with ``xsi:type``."""

    type_name: str
    value: dict


class _ConversionErrors(logging.Filter):
    """Catches the value conversions zeep gives up on while the current thread parses a request.

    zeep logs (and swallows) a text it cannot convert, such as ``abc`` in an ``xsd:int``, and carries on
    with ``None``; ASMX rejects such a document instead. This filter hides those records from the log
    and hands them to the parser.
    """

    def __init__(self):
        super().__init__()
        self._local = threading.local()

    @contextlib.contextmanager
    def collect(self):
        self._local.errors = errors = []
        try:
            yield errors
        finally:
            del self._local.errors

    def filter(self, record):
        errors = getattr(self._local, "errors", None)
        if errors is None:
            return True
        errors.append(record.exc_info[1] if record.exc_info else record.getMessage())
        return False


_CONVERSION_ERRORS = _ConversionErrors()
logging.getLogger("zeep.xsd.types.simple").addFilter(_CONVERSION_ERRORS)


def _dotnet_default(element):
    """The value ASMX gives a required, non-nillable simple element that is absent (None otherwise)."""
    if element.min_occurs and not element.nillable and isinstance(element.type, AnySimpleType):
        return _DOTNET_DEFAULTS.get(element.type.qname.localname)
    return None


def _plain_value(value, xsd_type):
    """A JSON-ready copy of one value zeep parsed for ``xsd_type``."""
    if type(xsd_type) is AnyType:  # untyped element: only an xsi:type-d complex value carries meaning
        if isinstance(value, CompoundValue):
            return TypedValue(value._xsd_type.qname.localname, _plain_value(value, value._xsd_type))
        return None
    if isinstance(value, CompoundValue):
        return {name: _plain_field(getattr(value, name), element) for name, element in xsd_type.elements}
    if value is None or isinstance(value, (str, int)):
        return value
    return xsd_type.xmlvalue(value)  # Decimal, datetime: their exact XML text


def _plain_field(value, element):
    if element.max_occurs != 1:
        return [_plain_value(item, element.type) for item in value or []]
    if value is None:
        return _dotnet_default(element)
    return _plain_value(value, element.type)


def _unreadable(reason):
    return SoapFault("Client", f"{_READ_FAILED}There is an error in XML document. ---> {reason}")


def render_fault(fault):
    """The SOAP 1.1 envelope of a :class:`SoapFault`, as ASMX writes it."""
    envelope = etree.Element(etree.QName(SOAP_ENV_NS, "Envelope"), nsmap={"soap": SOAP_ENV_NS})
    body = etree.SubElement(envelope, etree.QName(SOAP_ENV_NS, "Body"))
    soap_fault = etree.SubElement(body, etree.QName(SOAP_ENV_NS, "Fault"))
    etree.SubElement(soap_fault, "faultcode").text = f"soap:{fault.code}"
    etree.SubElement(soap_fault, "faultstring").text = fault.message
    etree.SubElement(soap_fault, "detail")
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


class SoapContract:
    """The operations of one SOAP 1.1 binding of a WSDL, for a server that implements them."""

    def __init__(self, wsdl_path=WSDL_PATH):
        self._wsdl = etree.parse(str(wsdl_path))
        self._document = Document(str(wsdl_path), Transport(), settings=zeep.Settings(strict=False))
        service = next(iter(self._document.services.values()))
        self._binding = next(iter(service.ports.values())).binding
        self._namespace = self._binding.name.namespace  # the WSDL's target namespace, "KashFlow"
        self.operations = tuple(self._binding.port_type.operations)
        operations = [self._binding.get(name) for name in self.operations]
        self._by_action = {operation.soapaction: operation for operation in operations}
        self._by_element = {operation.input.body.qname: operation for operation in operations}

    def wsdl(self, service_url):
        """The WSDL document with the service address set to ``service_url``."""
        document = copy.deepcopy(self._wsdl)
        for address in document.iter(etree.QName(WSDL_SOAP_NS, "address").text):
            address.set("location", service_url)
        return etree.tostring(document, xml_declaration=True, encoding="utf-8")

    def parse_request(self, payload, soap_action=None):
        """Read a request envelope: ``(operation name, parameters as a plain dict)``.

        The operation comes from the SOAPAction (quotes optional) or, without one, from the name of the
        body's first element. Raises :class:`SoapFault` for anything that is not a readable request.
        """
        request = self._request_element(payload)
        operation = self._operation(request, (soap_action or "").strip().strip('"'))
        element = operation.input.body
        with _CONVERSION_ERRORS.collect() as errors:
            try:
                value = element.parse(request, self._document.types)
            except Exception as exc:  # anything zeep raises here means the body cannot be deserialised
                raise _unreadable(exc) from exc
        if errors:
            raise _unreadable(errors[0])
        return operation.name, _plain_value(value, element.type)

    @staticmethod
    def _request_element(payload):
        try:
            envelope = etree.fromstring(payload, _XML_PARSER)
        except etree.XMLSyntaxError as exc:
            raise _unreadable(exc) from exc
        if envelope.tag != etree.QName(SOAP_ENV_NS, "Envelope"):
            raise SoapFault("Client", f"{_READ_FAILED}The root element is not a SOAP 1.1 Envelope.")
        body = envelope.find(etree.QName(SOAP_ENV_NS, "Body").text)
        if body is None or len(body) == 0:
            raise SoapFault("Client", f"{_READ_FAILED}The SOAP message has no body content.")
        return body[0]

    def _operation(self, request, soap_action):
        if soap_action:
            operation = self._by_action.get(soap_action)
            if operation is None:
                raise SoapFault("Client", f"Server did not recognize the value of HTTP Header SOAPAction: "
                                          f"{soap_action}.")
        else:
            operation = self._by_element.get(etree.QName(request))
            if operation is None:
                raise SoapFault("Client", f"Server did not recognize the request element {request.tag}.")
        if etree.QName(request) != operation.input.body.qname:
            raise SoapFault("Client", f"{_READ_FAILED}The body element {request.tag} does not match the "
                                      f"SOAPAction {operation.soapaction}.")
        return operation

    def render_response(self, operation_name, result):
        """The response envelope of an operation, from its result parts as plain data.

        A required value-type part that ``result`` leaves out (an operation's ``…Result`` after a
        rejection) is written with .NET's default, as ASMX does.
        """
        operation = self._binding.get(operation_name)
        parts = {}
        for name, element in operation.output.body.type.elements:
            value = result.get(name)
            parts[name] = _dotnet_default(element) if value is None else self._zeep_value(value)
        message = operation.output.serialize(**parts)
        return etree.tostring(message.content, xml_declaration=True, encoding="utf-8")

    def _zeep_value(self, value):
        if isinstance(value, TypedValue):
            xsd_type = self._document.types.get_type(etree.QName(self._namespace, value.type_name))
            return AnyObject(xsd_type, self._zeep_value(value.value))
        if isinstance(value, dict):
            return {name: self._zeep_value(item) for name, item in value.items()}
        if isinstance(value, list):
            return [self._zeep_value(item) for item in value]
        return value
