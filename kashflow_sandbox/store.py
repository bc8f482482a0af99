"""SQLite persistence of the sandbox's KashFlow account.

Records are kept as JSON documents (money as exact decimal strings, dates as ISO 8601 strings), with the
keys KashFlow looks them up by in their own columns or, for keys added later (an invoice's DB id, the days
of invoices and payments), in expression indexes over the JSON, so data files of earlier versions still
open. One lock serialises every transaction, so the store
can be shared by the threads of the HTTP server.
"""

import json
import sqlite3
import threading
from contextlib import contextmanager

from . import seed

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, next_value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS lookups (
    kind TEXT NOT NULL, position INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (kind, position));
CREATE TABLE IF NOT EXISTS customers (
    customer_id INTEGER PRIMARY KEY, code TEXT NOT NULL COLLATE NOCASE UNIQUE, email TEXT COLLATE NOCASE,
    data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS customers_by_email ON customers (email, customer_id);
CREATE TABLE IF NOT EXISTS invoices (
    invoice_number INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS invoices_by_customer ON invoices (customer_id, invoice_number);
CREATE TABLE IF NOT EXISTS invoice_lines (
    line_id INTEGER PRIMARY KEY, invoice_number INTEGER NOT NULL, position INTEGER NOT NULL,
    data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS invoice_lines_by_invoice ON invoice_lines (invoice_number, position);
CREATE TABLE IF NOT EXISTS payments (pay_id INTEGER PRIMARY KEY, invoice_number INTEGER NOT NULL,
    data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS payments_by_invoice ON payments (invoice_number, pay_id);
CREATE INDEX IF NOT EXISTS invoices_by_dbid ON invoices (json_extract(data, '$.InvoiceDBID'));
CREATE INDEX IF NOT EXISTS invoices_by_day ON invoices (substr(json_extract(data, '$.InvoiceDate'), 1, 10));
CREATE INDEX IF NOT EXISTS payments_by_day ON payments (substr(json_extract(data, '$.PayDate'), 1, 10), pay_id);
CREATE TABLE IF NOT EXISTS allowed_ips (ip TEXT PRIMARY KEY, comment TEXT NOT NULL);
"""

_ACCOUNT_TABLES = ("customers", "invoices", "invoice_lines", "payments", "allowed_ips")


def _dump(record):
    return json.dumps(record, separators=(",", ":"))


def _load(row):
    return json.loads(row[0]) if row else None


class Store:
    """The account's customers, invoices, payments, IP allow-list and look-ups in one SQLite file.

    Every method except :meth:`transaction` and :meth:`close` must be called inside a transaction.
    """

    def __init__(self, path):
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.executescript(_SCHEMA)
        with self.transaction():
            if self._meta("seeded") is None:
                self._seed()

    def close(self):
        with self._lock:
            self._connection.close()

    @contextmanager
    def transaction(self):
        """Hold the store's lock for one atomic unit of work; roll back if it raises."""
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def _execute(self, sql, parameters=()):
        return self._connection.execute(sql, parameters)

    def _meta(self, key):
        row = self._execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key, value):
        self._execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def _seed(self):
        for kind, records in seed.LOOKUPS.items():
            for position, record in enumerate(records):
                self._execute("INSERT INTO lookups (kind, position, data) VALUES (?, ?, ?)",
                              (kind, position, _dump(record)))
        self._reset_account()
        self._set_meta("seeded", "1")

    def _reset_account(self):
        for table in _ACCOUNT_TABLES:
            self._execute(f"DELETE FROM {table}")
        self._execute("DELETE FROM counters")
        self._connection.executemany("INSERT INTO counters (name, next_value) VALUES (?, ?)",
                                     seed.FIRST_IDS.items())
        self._set_meta("restrict_ips", "0")

    def reset(self):
        """Forget every customer, invoice, payment and allowed IP; restart the id sequences."""
        self._reset_account()

    def next_id(self, sequence):
        """Take the next value of an id sequence named in :data:`seed.FIRST_IDS`."""
        (value,) = self._execute("SELECT next_value FROM counters WHERE name = ?", (sequence,)).fetchone()
        self._execute("UPDATE counters SET next_value = ? WHERE name = ?", (value + 1, sequence))
        return value

    # Look-ups

    def lookup(self, kind):
        """The seeded records of one look-up list (a key of :data:`seed.LOOKUPS`)."""
        rows = self._execute("SELECT data FROM lookups WHERE kind = ? ORDER BY position", (kind,))
        return [json.loads(data) for (data,) in rows]

    def lookups(self):
        return {kind: self.lookup(kind) for kind in seed.LOOKUPS}

    # Customers

    def customer_by_id(self, customer_id):
        return _load(self._execute("SELECT data FROM customers WHERE customer_id = ?",
                                   (customer_id,)).fetchone())

    def customer_by_code(self, code):
        """The customer with this code, compared case-insensitively."""
        return _load(self._execute("SELECT data FROM customers WHERE code = ?", (code,)).fetchone())

    def customer_by_email(self, email):
        """The oldest customer with this email address, compared case-insensitively."""
        return _load(self._execute("SELECT data FROM customers WHERE email = ? ORDER BY customer_id LIMIT 1",
                                   (email,)).fetchone())

    def save_customer(self, customer):
        """Insert or replace a customer record, keyed by its ``CustomerID``."""
        self._execute("INSERT OR REPLACE INTO customers (customer_id, code, email, data) VALUES (?, ?, ?, ?)",
                      (customer["CustomerID"], customer["Code"], customer.get("Email"), _dump(customer)))

    def customers(self):
        rows = self._execute("SELECT data FROM customers ORDER BY customer_id")
        return [json.loads(data) for (data,) in rows]

    # Invoices

    def invoice(self, number):
        """The invoice header with this number (without lines), or None."""
        row = self._execute("SELECT data FROM invoices WHERE invoice_number = ?", (number,)).fetchone()
        return _load(row)

    def invoice_by_id(self, invoice_id):
        """The invoice header with this InvoiceDBID (without lines), or None."""
        row = self._execute("SELECT data FROM invoices WHERE json_extract(data, '$.InvoiceDBID') = ?",
                            (invoice_id,)).fetchone()
        return _load(row)

    def invoices_dated(self, first_day, last_day):
        """The invoice headers whose InvoiceDate falls on a day from ``first_day`` to ``last_day``
        (``YYYY-MM-DD``, both included), by number."""
        rows = self._execute("SELECT data FROM invoices WHERE substr(json_extract(data, '$.InvoiceDate'), 1, 10) "
                             "BETWEEN ? AND ? ORDER BY invoice_number", (first_day, last_day))
        return [json.loads(data) for (data,) in rows]

    def invoice_lines(self, number):
        rows = self._execute("SELECT data FROM invoice_lines WHERE invoice_number = ? ORDER BY position",
                             (number,))
        return [json.loads(data) for (data,) in rows]

    def highest_invoice_number(self):
        return self._execute("SELECT COALESCE(MAX(invoice_number), 0) FROM invoices").fetchone()[0]

    def save_invoice(self, header, lines):
        """Insert or replace an invoice header, replacing all its lines with ``lines``."""
        number = header["InvoiceNumber"]
        self._execute("INSERT OR REPLACE INTO invoices (invoice_number, customer_id, data) VALUES (?, ?, ?)",
                      (number, header["CustomerID"], _dump(header)))
        self._execute("DELETE FROM invoice_lines WHERE invoice_number = ?", (number,))
        self._connection.executemany(
            "INSERT INTO invoice_lines (line_id, invoice_number, position, data) VALUES (?, ?, ?, ?)",
            [(line["LineID"], number, position, _dump(line)) for position, line in enumerate(lines)])

    def delete_invoice(self, number):
        """Forget an invoice, its lines and the payments recorded against it."""
        for table in ("payments", "invoice_lines", "invoices"):
            self._execute(f"DELETE FROM {table} WHERE invoice_number = ?", (number,))

    def invoices(self, customer_id=None):
        """All invoice headers, or those of one customer, by number."""
        if customer_id is None:
            rows = self._execute("SELECT data FROM invoices ORDER BY invoice_number")
        else:
            rows = self._execute("SELECT data FROM invoices WHERE customer_id = ? ORDER BY invoice_number",
                                 (customer_id,))
        return [json.loads(data) for (data,) in rows]

    # Payments

    def payment(self, pay_id):
        return _load(self._execute("SELECT data FROM payments WHERE pay_id = ?", (pay_id,)).fetchone())

    def payments(self, invoice_number=None):
        """All payments, or those of one invoice, oldest first."""
        if invoice_number is None:
            rows = self._execute("SELECT data FROM payments ORDER BY pay_id")
        else:
            rows = self._execute("SELECT data FROM payments WHERE invoice_number = ? ORDER BY pay_id",
                                 (invoice_number,))
        return [json.loads(data) for (data,) in rows]

    def payments_dated(self, first_day, last_day, limit, offset):
        """At most ``limit`` payments dated from ``first_day`` to ``last_day`` (both included), oldest first,
        skipping the first ``offset``."""
        rows = self._execute("SELECT data FROM payments WHERE substr(json_extract(data, '$.PayDate'), 1, 10) "
                             "BETWEEN ? AND ? ORDER BY pay_id LIMIT ? OFFSET ?", (first_day, last_day, limit, offset))
        return [json.loads(data) for (data,) in rows]

    def save_payment(self, payment):
        self._execute("INSERT INTO payments (pay_id, invoice_number, data) VALUES (?, ?, ?)",
                      (payment["PayID"], payment["PayInvoice"], _dump(payment)))

    def delete_payment(self, pay_id):
        self._execute("DELETE FROM payments WHERE pay_id = ?", (pay_id,))

    # IP allow-list

    def restrict_ips(self):
        return self._meta("restrict_ips") == "1"

    def allowed_ips(self):
        """The allow-list as ``{"ip": ..., "comment": ...}`` entries."""
        rows = self._execute("SELECT ip, comment FROM allowed_ips ORDER BY ip")
        return [{"ip": ip, "comment": comment} for ip, comment in rows]

    def is_ip_allowed(self, ip):
        return self._execute("SELECT 1 FROM allowed_ips WHERE ip = ?", (ip,)).fetchone() is not None

    def allow_ip(self, ip, comment):
        self._execute("INSERT OR REPLACE INTO allowed_ips (ip, comment) VALUES (?, ?)", (ip, comment))

    def set_access(self, restrict_ips=None, allowed_ips=None):
        """Turn the restriction on or off and/or replace the allow-list (``None`` leaves it as it is)."""
        if restrict_ips is not None:
            self._set_meta("restrict_ips", "1" if restrict_ips else "0")
        if allowed_ips is not None:
            self._execute("DELETE FROM allowed_ips")
            for ip in allowed_ips:
                self.allow_ip(ip, "")
