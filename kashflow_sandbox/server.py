"""The sandbox's HTTP server.

- ``POST /api/service.asmx``: the SOAP 1.1 endpoint; ``GET /api/service.asmx?WSDL``: its WSDL.
- ``GET /``: an HTML page of what the account holds and the latest calls; ``GET /favicon.ico``: its icon.
- ``GET /_sandbox/state``: what the account holds, as JSON.
- ``GET|POST|DELETE /_sandbox/faults``: read, add or clear injected faults (see :mod:`.faults`).
- ``GET /_sandbox/calls[?since=<sequence>]``: the SOAP requests answered (after ``sequence``), as
  ``{"calls": [...], "last_sequence": N}`` (see :mod:`.calls`); ``DELETE /_sandbox/calls`` clears them.
- ``POST /_sandbox/reset``: back to the seeded account, with no recorded calls.
- ``GET|POST /_sandbox/config``: the IP allow-list, ``{"restrict_ips": bool, "allowed_ips": [...]}``.

Responses are HTTP/1.1 with keep-alive. The status line, headers and body are buffered and flushed
together (in one write when they fit the buffer), on a socket with TCP_NODELAY, so that a call never waits
on Nagle's algorithm and the caller's delayed ACK.
"""

import json
import logging
import socket
import sys
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import page, seed
from .calls import CallRecord
from .faults import FaultPlan
from .service import KashFlowService
from .soap import SoapContract, SoapFault, render_fault
from .store import Store

SERVICE_PATH = "/api/service.asmx"

_XML = "text/xml; charset=utf-8"
_HTML = "text/html; charset=utf-8"
_JSON = "application/json"
_TEXT = "text/plain; charset=utf-8"
_PROCESS_FAILED = "Server was unable to process request. ---> "
#: What IIS answers when the application behind it fails: no SOAP envelope, just a line of text.
_IIS_ERROR_PAGE = b"The page cannot be displayed because an internal server error has occurred."
#: What HTTP.sys answers when the application pool behind IIS is stopped or overloaded.
_IIS_UNAVAILABLE_PAGE = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
    b"<HTML><HEAD><TITLE>Service Unavailable</TITLE>\r\n"
    b'<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
    b"<BODY><h2>Service Unavailable</h2>\r\n<hr><p>HTTP Error 503. The service is unavailable.</p>\r\n"
    b"</BODY></HTML>\r\n")
_TOO_MANY_REQUESTS_PAGE = b"<html><body><h1>429 Too Many Requests</h1>Slow down and try again later.</body></html>"
#: A proxy's own error page, answered with HTTP 200 (as some proxies and captive portals do).
_PROXY_ERROR_PAGE = (
    b"<html>\r\n<head><title>Connection error</title></head>\r\n<body>\r\n"
    b"<center><h1>The upstream server could not be reached</h1></center>\r\n"
    b"<hr><center>proxy</center>\r\n</body>\r\n</html>\r\n")

_logger = logging.getLogger(__name__)


def _truncated_reply(operation):
    """The start of a SOAP reply to ``operation``, cut off in the middle of an element: not well-formed XML."""
    return (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/'
            f'envelope/"><soap:Body><{operation}Response xmlns="KashFlow"><Status>OK</Sta').encode()


def _named_operation(soap_action):
    """The operation a SOAPAction header names (``"KashFlow/GetInvoice"`` -> ``GetInvoice``), or None."""
    name = (soap_action or "").strip().strip('"').rsplit("/", 1)[-1]
    return name or None


class SandboxServer(ThreadingHTTPServer):
    """A KashFlow look-alike on one address, keeping its account in the SQLite file ``data_path``."""

    daemon_threads = True

    def __init__(self, address, data_path, *, username=seed.DEFAULT_USERNAME, password=seed.DEFAULT_PASSWORD,
                 auto_auth_key=seed.DEFAULT_AUTO_AUTH_KEY, verbose=False):
        self.contract = SoapContract()
        self.store = Store(data_path)
        self.service = KashFlowService(self.store, username, password, auto_auth_key)
        missing = sorted(set(self.contract.operations) - set(self.service.operations))
        if missing:
            raise RuntimeError(f"operations of the WSDL without an implementation: {', '.join(missing)}")
        self.faults = FaultPlan(self.contract.operations)
        self.calls = CallRecord()
        self.verbose = verbose
        super().__init__(address, SandboxRequestHandler)

    @property
    def base_url(self):
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def server_close(self):
        super().server_close()
        self.store.close()

    def handle_error(self, request, client_address):
        # A caller that went away (timed out, or a dropped connection) is expected here, not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SandboxRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "KashFlowSandbox/1.0"
    wbufsize = -1  # buffered: a response leaves in one flush

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)

    # Routing

    def do_GET(self):
        path, query = self._target()
        if path == SERVICE_PATH and query.lower() == "wsdl":
            host = self.headers.get("Host") or self.server.base_url.removeprefix("http://")
            self._send(HTTPStatus.OK, self.server.contract.wsdl(f"http://{host}{SERVICE_PATH}"), _XML)
        elif path == "/":
            calls = self.server.calls.latest(page.RECENT_CALLS)
            self._send(HTTPStatus.OK, page.render(self._state(), calls).encode(), _HTML)
        elif path == "/favicon.ico":
            self._send(HTTPStatus.OK, page.FAVICON, page.FAVICON_TYPE)
        elif path == "/_sandbox/calls":
            self._send_calls(query)
        elif path == "/_sandbox/state":
            self._send_json(HTTPStatus.OK, self._state())
        elif path == "/_sandbox/faults":
            self._send_json(HTTPStatus.OK, self.server.faults.snapshot())
        elif path == "/_sandbox/config":
            self._send_json(HTTPStatus.OK, self.server.service.access())
        else:
            self._not_found()

    def do_POST(self):
        path, _query = self._target()
        body = self._read_body()
        if path == SERVICE_PATH:
            self._soap(body)
        elif path == "/_sandbox/faults":
            self._control(body, self._configure_faults)
        elif path == "/_sandbox/reset":
            self.server.service.reset()
            self.server.calls.clear()
            self._send_json(HTTPStatus.OK, {"reset": True})
        elif path == "/_sandbox/config":
            self._control(body, self._configure_access)
        else:
            self._not_found()

    def do_DELETE(self):
        path, _query = self._target()
        self._read_body()
        if path == "/_sandbox/faults":
            self.server.faults.clear()
            self._send_json(HTTPStatus.OK, self.server.faults.snapshot())
        elif path == "/_sandbox/calls":
            self.server.calls.clear()
            self._send_calls("")
        else:
            self._not_found()

    # SOAP

    def _soap(self, body):
        """Answer one SOAP request, recording it (see :mod:`.calls`) before the answer leaves."""
        server = self.server
        received = server.calls.now()
        soap_action = self.headers.get("SOAPAction")
        try:
            operation, params = server.contract.parse_request(body, soap_action)
        except SoapFault as fault:
            self._record(_named_operation(soap_action), "fault", fault.message, received)
            self._send_fault(fault)
            return
        if server.faults.latency_seconds:
            time.sleep(server.faults.latency_seconds)
        fault = server.faults.take(operation)
        if fault is not None and fault.mode != "drop_after_commit":
            self._answer_fault(operation, fault, received)
            return
        try:
            result = server.service.call(operation, params, self.client_address[0])
            response = server.contract.render_response(operation, result)
        except Exception as exc:  # a defect of the sandbox: answer like ASMX does with an unhandled error
            _logger.exception("%s failed", operation)
            failure = SoapFault("Server", f"{_PROCESS_FAILED}{exc}")
            self._record(operation, "fault", failure.message, received)
            self._send_fault(failure)
            return
        status, detail = result["Status"], result["StatusDetail"]
        if fault is not None:  # drop_after_commit: the work is committed; the caller never hears back
            outcome = f"Status {status}: {detail}" if detail else f"Status {status}"
            self._record(operation, fault.outcome, f"{outcome}; the answer was dropped", received)
            time.sleep(fault.stall_seconds)  # 0 unless asked: the caller waits for an answer that never comes
            self.close_connection = True
            return
        self._record(operation, "ok" if status == "OK" else "no", detail, received)
        if server.verbose:
            self.log_message("%s -> %s %s", operation, status, detail)
        self._send(HTTPStatus.OK, response, _XML)

    def _answer_fault(self, operation, fault, received):
        """Record and answer a call as an injected fault that stops it says (nothing is done)."""
        if fault.mode == "soap_fault":
            failure = SoapFault("Server", f"{_PROCESS_FAILED}Object reference not set to an instance of an object.")
            self._record(operation, fault.outcome, failure.message, received)
            self._send_fault(failure)
            return
        self._record(operation, fault.outcome, None, received)
        retry_after = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
        if fault.mode == "timeout":
            time.sleep(fault.stall_seconds)
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, _IIS_ERROR_PAGE, _HTML)
        elif fault.mode == "http500":
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, _IIS_ERROR_PAGE, _HTML)
        elif fault.mode == "http503":
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, _IIS_UNAVAILABLE_PAGE, _HTML, retry_after)
        elif fault.mode == "http429":
            self._send(HTTPStatus.TOO_MANY_REQUESTS, _TOO_MANY_REQUESTS_PAGE, _HTML, retry_after)
        elif fault.mode == "html_page":
            self._send(HTTPStatus.OK, _PROXY_ERROR_PAGE, _HTML)
        elif fault.mode == "empty_body":
            self._send(HTTPStatus.OK, b"", _XML)
        elif fault.mode == "malformed_xml":
            self._send(HTTPStatus.OK, _truncated_reply(operation), _XML)
        else:
            raise AssertionError(f"unhandled fault mode {fault.mode}")

    def _record(self, operation, outcome, detail, received):
        self.server.calls.add(operation, outcome, detail, received)

    def _send_fault(self, fault):
        if self.server.verbose:
            self.log_message("SOAP fault: %s", fault.message)
        self._send(HTTPStatus.INTERNAL_SERVER_ERROR, render_fault(fault), _XML)

    # Control API

    def _control(self, body, action):
        try:
            settings = json.loads(body or b"{}")
            result = action(settings) if isinstance(settings, dict) else None
        except ValueError as exc:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            return
        if result is None:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "the body must be a JSON object"})
        else:
            self._send_json(HTTPStatus.OK, result)

    def _configure_faults(self, settings):
        self.server.faults.configure(settings)
        return self.server.faults.snapshot()

    def _configure_access(self, settings):
        unknown = set(settings) - {"restrict_ips", "allowed_ips"}
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        restrict_ips, allowed_ips = settings.get("restrict_ips"), settings.get("allowed_ips")
        if restrict_ips is not None and not isinstance(restrict_ips, bool):
            raise ValueError("restrict_ips must be true or false")
        if allowed_ips is not None and not (
                isinstance(allowed_ips, list) and all(isinstance(ip, str) for ip in allowed_ips)):
            raise ValueError("allowed_ips must be a list of IP addresses")
        return self.server.service.configure_access(restrict_ips, allowed_ips)

    def _send_calls(self, query):
        since = parse_qs(query).get("since", ["0"])[-1]
        try:
            since = int(since)
        except ValueError:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "since must be a whole number"})
            return
        calls, last_sequence = self.server.calls.since(since)
        self._send_json(HTTPStatus.OK, {"calls": calls, "last_sequence": last_sequence})

    def _state(self):
        return {**self.server.service.state(), "faults": self.server.faults.snapshot()}

    # HTTP plumbing

    def _target(self):
        target = urlsplit(self.path)
        return target.path.lower().rstrip("/") or "/", target.query

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _not_found(self):
        self._send(HTTPStatus.NOT_FOUND, b"Not found\n", _TEXT)

    def _send_json(self, status, data):
        self._send(status, json.dumps(data, indent=2).encode(), _JSON)

    def _send(self, status, body, content_type, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
