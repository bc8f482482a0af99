"""Failures injected into the SOAP endpoint at run time, to test how a caller copes with them.

- ``latency_ms``: added to every SOAP call.
- per operation, for the next ``count`` calls (default 1), one ``mode``:

  - ``http500``: answer HTTP 500 with IIS's error page (no SOAP envelope), as when the service behind
    KashFlow's web server fails; nothing is done.
  - ``timeout``: stall ``stall_seconds`` (default 60, past the caller's read timeout), then answer like
    ``http500``; nothing is done.
  - ``drop_after_commit``: do the work, then close the connection without any answer.
  - ``soap_fault``: answer with the SOAP fault ASMX sends when the web method fails with an unhandled error
    ("Server was unable to process request. ---> …"); nothing is done.
"""

import threading
from dataclasses import asdict, dataclass

MODES = ("http500", "timeout", "drop_after_commit", "soap_fault")
DEFAULT_STALL_SECONDS = 60.0


@dataclass
class FaultRule:
    mode: str
    remaining: int
    stall_seconds: float


class FaultPlan:
    """The current faults; safe to use from the server's threads."""

    def __init__(self, operations):
        self._operations = frozenset(operations)
        self._lock = threading.Lock()
        self._latency_ms = 0
        self._rules = {}

    def configure(self, settings):
        """Apply ``{"latency_ms": N}`` and/or a rule for one operation.

        A rule is ``{"operation": ..., "mode": ..., "count": N, "stall_seconds": S}`` and replaces the
        operation's previous rule. Raises ValueError for settings it does not understand.
        """
        unknown = set(settings) - {"latency_ms", "operation", "mode", "count", "stall_seconds"}
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
        stall_seconds = settings.get("stall_seconds", DEFAULT_STALL_SECONDS)
        if operation not in self._operations:
            raise ValueError(f"unknown operation: {operation}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if not isinstance(count, int) or count < 1:
            raise ValueError("count must be a whole number >= 1")
        if not isinstance(stall_seconds, (int, float)) or stall_seconds < 0:
            raise ValueError("stall_seconds must be a number >= 0")
        return FaultRule(mode, count, float(stall_seconds))

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
