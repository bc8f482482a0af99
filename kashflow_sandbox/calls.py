"""The record of every SOAP request the sandbox answered, for tests that count KashFlow calls.

One record per request received on the SOAP endpoint (never the control API or the WSDL), written before
its answer leaves, so a caller that has its answer (or gave up waiting for it) always finds the record:

``{"sequence": 7, "operation": "InsertInvoice", "time": "2026-11-20T12:00:01.234", "outcome": "ok",
"detail": null}``

- ``sequence`` counts from 1 and keeps counting when the record is cleared (``since`` stays meaningful);
  it starts again at 1 when the process restarts, since the record is kept in memory only.
- ``time`` is the sandbox's local time when the request was received, ISO 8601 to the millisecond.
- ``operation`` is the operation's name; for a request that could not be read, the name its SOAPAction gives,
  or ``null``.
- ``outcome`` and ``detail``:

  - ``ok`` (Status OK; ``detail`` is null) and ``no`` (Status NO; ``detail`` is the StatusDetail);
  - ``fault``: answered with a SOAP fault (an unreadable request, the ``soap_fault`` mode, or a defect of
    the sandbox); ``detail`` is the faultstring;
  - the fault modes of :mod:`.faults` that stop a request: ``http500``, ``http503``, ``http429``,
    ``timeout``, ``html_page``, ``empty_body`` (``detail`` is null; nothing was done); and ``dropped``
    (``drop_after_commit``), whose ``detail`` says what the work came to (e.g. "Status OK; the answer was
    dropped").

At most :data:`MAX_RECORDS` records are kept; past that, the oldest go first.
"""

import threading
from collections import deque
from datetime import datetime

MAX_RECORDS = 100_000


class CallRecord:
    """The calls answered so far; safe to use from the server's threads."""

    def __init__(self, max_records=MAX_RECORDS):
        self._lock = threading.Lock()
        self._records = deque(maxlen=max_records)
        self._last_sequence = 0

    @staticmethod
    def now():
        """The time to record for a request received now."""
        return datetime.now().isoformat(timespec="milliseconds")

    def add(self, operation, outcome, detail=None, received=None):
        """Record one answered request; returns its record."""
        with self._lock:
            self._last_sequence += 1
            record = {"sequence": self._last_sequence, "operation": operation, "time": received or self.now(),
                      "outcome": outcome, "detail": detail or None}
            self._records.append(record)
            return dict(record)

    def since(self, sequence=0):
        """The records after ``sequence``, oldest first, and the last sequence handed out."""
        with self._lock:
            return [dict(record) for record in self._records if record["sequence"] > sequence], self._last_sequence

    def latest(self, count):
        """The last ``count`` records, oldest first."""
        with self._lock:
            return [dict(record) for record in list(self._records)[-count:]] if count > 0 else []

    def clear(self):
        with self._lock:
            self._records.clear()
