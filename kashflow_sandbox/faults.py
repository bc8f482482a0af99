"""Failures injected into the SOAP endpoint at run time, to test how a caller copes with them.

- ``latency_ms``: added to every SOAP call.
- per operation, for the next ``count`` calls (default 1), one ``mode``:

  - ``http500``: answer HTTP 500 with IIS's error page (no SOAP envelope), as when the service behind
    KashFlow's web server fails; nothing is done.
  - ``http503``: answer HTTP 503 (Service Unavailable) with a short text, and a ``Retry-After`` header when
    the rule has a ``retry_after``; nothing is done.
  - ``http429``: answer HTTP 429 (Too Many Requests) with a ``Retry-After`` header of ``retry_after``
    (default :data:`DEFAULT_RETRY_AFTER` seconds); nothing is done. (KashFlow documents no rate limit; this
    plays one, or a proxy in front of it.)
  - ``timeout``: stall ``stall_seconds`` (default 60, past the caller's read timeout), then answer like
    ``http500``; nothing is done.
  - ``drop_after_commit``: do the work, then close the connection without any answer; with ``stall_seconds``,
    only after stalling that long (the work is done and recorded while the caller waits: a caller killed then
    never learns of it).
  - ``soap_fault``: answer with the SOAP fault ASMX sends when the web method fails with an unhandled error
    ("Server was unable to process request. ---> …"); nothing is done.
  - ``html_page``: answer HTTP 200 with an HTML page, as a proxy or captive portal between the caller and
    KashFlow does with its own error page; nothing is done.
  - ``empty_body``: answer HTTP 200 with an empty body; nothing is done.
  - ``malformed_xml``: answer HTTP 200, as XML, with the start of the operation's SOAP reply cut off in the
    middle of an element (not well-formed XML), as a proxy or a broken connection that truncates a body
    leaves it; nothing is done.

``retry_after`` is whole seconds (an int >= 0) or a text sent as it is (e.g. an HTTP date); it is accepted
for ``http429`` and ``http503`` only. Each call a mode answers is recorded with an outcome (see
:mod:`.calls`): the mode's name, except ``drop_after_commit`` (``dropped``) and ``soap_fault`` (``fault``).
"""

import threading
from dataclasses import asdict, dataclass

MODES = ("http500", "http503", "http429", "timeout", "drop_after_commit", "soap_fault", "html_page", "empty_body",
         "malformed_xml")
#: The outcome each mode's calls are recorded with.
OUTCOMES = {**{mode: mode for mode in MODES}, "drop_after_commit": "dropped", "soap_fault": "fault"}
DEFAULT_STALL_SECONDS = 60.0
DEFAULT_RETRY_AFTER = 30
_RETRY_AFTER_MODES = ("http429", "http503")


@dataclass
class FaultRule:
    mode: str
    remaining: int
    stall_seconds: float
    retry_after: object = None  # int seconds, a text, or None

    @property
    def outcome(self):
        return OUTCOMES[self.mode]


class FaultPlan:
    """The current faults; safe to use from the server's threads."""

    def __init__(self, operations):
        self._operations = frozenset(operations)
        self._lock = threading.Lock()
        self._latency_ms = 0
        self._rules = {}

    def configure(self, settings):
        """Apply ``{"latency_ms": N}`` and/or a rule for one operation.

        A rule is ``{"operation": ..., "mode": ..., "count": N, "stall_seconds": S, "retry_after": R}`` and
        replaces the operation's previous rule. Raises ValueError for settings it does not understand.
        """
        unknown = set(settings) - {"latency_ms", "operation", "mode", "count", "stall_seconds", "retry_after"}
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        latency_ms = settings.get("latency_ms")
        if latency_ms is not None and (not isinstance(latency_ms, (int, float)) or latency_ms < 0):
            raise ValueError("latency_ms must be a number >= 0")
        rule = self._rule(settings) if "operation" in settings else None
        with self._lock:
            if latency_ms is not None:
                self._latency_ms = latency_ms
            if rule is not None:
                self._rules[settings["operation"]] = rule

    def _rule(self, settings):
        operation, mode = settings["operation"], settings.get("mode")
        count = settings.get("count", 1)
        stall_seconds = settings.get("stall_seconds", 0 if mode == "drop_after_commit" else DEFAULT_STALL_SECONDS)
        retry_after = settings.get("retry_after", DEFAULT_RETRY_AFTER if mode == "http429" else None)
        if operation not in self._operations:
            raise ValueError(f"unknown operation: {operation}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if not isinstance(count, int) or count < 1:
            raise ValueError("count must be a whole number >= 1")
        if not isinstance(stall_seconds, (int, float)) or stall_seconds < 0:
            raise ValueError("stall_seconds must be a number >= 0")
        if retry_after is not None:
            if mode not in _RETRY_AFTER_MODES:
                raise ValueError(f"retry_after applies to {' and '.join(_RETRY_AFTER_MODES)} only")
            valid_seconds = isinstance(retry_after, int) and not isinstance(retry_after, bool) and retry_after >= 0
            if not (valid_seconds or (isinstance(retry_after, str) and retry_after.strip())):
                raise ValueError("retry_after must be whole seconds >= 0 or a text such as an HTTP date")
        return FaultRule(mode, count, float(stall_seconds), retry_after)

    def clear(self):
        with self._lock:
            self._latency_ms = 0
            self._rules.clear()

    @property
    def latency_seconds(self):
        return self._latency_ms / 1000

    def take(self, operation):
        """The fault to apply to this call of ``operation`` (using it up), or None."""
        with self._lock:
            rule = self._rules.get(operation)
            if rule is None:
                return None
            rule.remaining -= 1
            if rule.remaining == 0:
                del self._rules[operation]
            return rule

    def snapshot(self):
        with self._lock:
            return {"latency_ms": self._latency_ms,
                    "operations": {operation: asdict(rule) for operation, rule in self._rules.items()}}
