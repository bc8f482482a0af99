"""What the fault scenarios run against: a real Odoo server with queue_job's job runner, the KashFlow sandbox and a
shop selling through them; and the check that ends each scenario (KashFlow holds everything exactly once).

- **The database** has the connector installed and nothing else. ``make test`` copies its own freshly installed
  database for these tests before its Odoo tests open it, and names the copy in ``KASHFLOW_RUNNER_DB``; without it
  (``make test-faults``, or pytest run by hand) one is made here by installing the addon (about a minute) and
  dropped at the end. ``shop_data.py`` then makes it a UK shop connected to the sandbox.
- **Odoo** is run by its own launcher (``devenv.odoo_launcher``) as in production (:data:`SERVER_OPTIONS`): prefork
  workers, queue_job's runner loaded server-wide, channels ``root:4,root.kashflow:4``, on free loopback ports; its log
  is kept in ``.tmp/runner/``. Jobs run in its HTTP workers, where a scenario may kill one (SIGKILL).
- **The scenarios** act as the shop's administrator over JSON-RPC (:class:`Rpc`, :class:`Shop`), as the browser
  does: confirm, invoice and pay orders, post credit notes, click *Resend*, run the back-fill. Then they wait
  (polling, with a deadline) for the orders' KashFlow state and for the job queue to be quiet, and check what
  KashFlow holds (:func:`check_books`). They read the jobs through Odoo, what KashFlow holds and every call it
  answered through the sandbox's control API.

:data:`TALLY` counts, over the session, the faults injected, the workers killed, the bad inputs tried, and the
duplicates, lost orders and secrets found; ``conftest.py`` prints it at the end.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import psycopg2
import requests
from psycopg2 import sql

ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT / "tools", ROOT, ROOT / "kashflow_connector"):  # devenv; the sandbox; the addon's plain Python
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import devenv  # noqa: E402 - tools/ is on the path only from here

from kashflow.documents import customer_code  # noqa: E402
from kashflow_sandbox.testing import SandboxProcess  # noqa: E402

RUNNER_DB_VARIABLE = "KASHFLOW_RUNNER_DB"
WORK = devenv.WORK / "runner"
SHOP_DATA_SCRIPT = Path(__file__).with_name("shop_data.py")
KASHFLOW_CHANNEL = "root.kashflow"
CHANNELS = "root:4,root.kashflow:4"
#: Odoo as in production: prefork workers (a job runs in one; six leave room for four jobs and the test's calls),
#: queue_job's runner in its own process, no cron worker (the scenarios run the back-fill by hand).
SERVER_OPTIONS = {"server_wide_modules": "base,web,queue_job", "workers": 6, "max_cron_threads": 0,
                  "limit_time_real": 300, "limit_time_cpu": 300, "log_level": "info"}
START_TIMEOUT = 120
SANDBOX_USERNAME = "harbour-loom"
SANDBOX_PASSWORD = "Harbour-L00m-api-Pa55"
WRONG_PASSWORD = "Wrong-L00m-Pa55-typo"
ADMIN_LOGIN = ADMIN_PASSWORD = "admin"  # the database's administrator, as Odoo installs it
LIVE_JOB_STATES = ("wait_dependencies", "pending", "enqueued", "started")
#: The outcomes the sandbox records for calls a fault answered (see kashflow_sandbox/calls.py).
FAULT_OUTCOMES = ("dropped", "http500", "http503", "http429", "timeout", "fault", "html_page", "empty_body")
DEFAULT_LINES = (("board", 2), ("delivery", 1))
#: What a job postponed by another job's lock on its order or contact says (kashflow_sync.py, kashflow_customer.py).
LOCKED_WORDS = ("is being sent by another job", "is creating its KashFlow customer", "Another job is sending")


def free_port():
    """A TCP port of the loopback interface nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_alive(pid):
    """Whether the process ``pid`` still exists (a worker killed with SIGKILL is gone once reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Watcher:
    """Looks at something every ``interval`` seconds in a thread of its own while a scenario runs (``with``):
    subclasses say what in ``look``; ``stop`` ends it early."""

    interval = 0.05

    def __init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _watch(self):
        while not self._stop.is_set():
            self.look()
            time.sleep(self.interval)

    def look(self):
        """One look (subclasses)."""


def wait_until(condition, *, timeout, what, interval=0.25, describe=None):
    """``condition()``'s first true value, polled every ``interval`` seconds; an AssertionError naming ``what``
    (and ``describe()``, what there is instead) when ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s" + (f"; {describe()}" if describe else ""))
        time.sleep(interval)


# ---------------------------------------------------------------------------- the tally of the session


@dataclass
class Tally:
    """What the session's scenarios did and found (printed by ``conftest.py`` at the end)."""

    faults: Counter = field(default_factory=Counter)  # calls a fault answered, by the sandbox's outcome
    kills: Counter = field(default_factory=Counter)  # workers killed in a call, by "before"/"after" KashFlow's work
    bad_inputs: Counter = field(default_factory=Counter)
    servers_killed: int = 0  # whole Odoo servers killed (SIGKILL of all their processes) while sending
    orders: set = field(default_factory=set)  # the orders checked at the end of a scenario
    duplicates: int = 0
    lost: int = 0
    secrets: int = 0

    def add_calls(self, calls):
        self.faults.update(call["outcome"] for call in calls if call["outcome"] in FAULT_OUTCOMES)

    def lines(self):
        faults = ", ".join(f"{kind} {count}" for kind, count in sorted(self.faults.items())) or "none"
        kills = ", ".join(f"{when} KashFlow's work {count}" for when, count in sorted(self.kills.items())) or "none"
        bad = ", ".join(f"{kind} {count}" for kind, count in sorted(self.bad_inputs.items())) or "none"
        return [
            f"faults injected: {sum(self.faults.values())} ({faults})",
            f"workers killed (SIGKILL) in a call: {sum(self.kills.values())} ({kills})",
            f"bad inputs tried: {sum(self.bad_inputs.values())} ({bad})",
            f"Odoo servers killed (all their processes, SIGKILL) while sending: {self.servers_killed}",
            f"orders checked: {len(self.orders)}; duplicates found: {self.duplicates}; orders lost: {self.lost}; "
            f"secrets found: {self.secrets}",
        ]


TALLY = Tally()


# ---------------------------------------------------------------------------- PostgreSQL, the database


def connect(pg, dbname):
    """A connection of our own to ``dbname`` (autocommit)."""
    connection = psycopg2.connect(dbname=dbname, host=pg.host or None, port=pg.port or None, user=pg.user or None,
                                  password=pg.password or None)
    connection.autocommit = True
    return connection


@contextmanager
def runner_database(pg, odoo):
    """The name of a database with the connector installed and nothing else, for this session only."""
    given = os.environ.get(RUNNER_DB_VARIABLE)
    if given:
        yield given  # make test's copy: make test drops it
        return
    dbname = f"kashflow_runner_{uuid.uuid4().hex[:8]}"
    config = devenv.write_config(WORK / f"{dbname}-install.conf", pg, odoo, dbname)
    try:
        install = subprocess.run(
            devenv.odoo_command(config, "-d", dbname, "-i", devenv.ADDON, "--stop-after-init", "--log-level=warn"),
            cwd=ROOT, check=False, capture_output=True, text=True)
        if install.returncode:
            raise RuntimeError(f"installing {devenv.ADDON} into {dbname} failed:\n{install.stdout}{install.stderr}")
        yield dbname
    finally:
        pg.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        shutil.rmtree(devenv.ODOO_DATA / "filestore" / dbname, ignore_errors=True)
        config.unlink(missing_ok=True)


def load_shop(pg, odoo, dbname, sandbox):
    """Make the database the shop of ``shop_data.py``, connected to ``sandbox``; what it says about it."""
    config = devenv.write_config(WORK / f"{dbname}-data.conf", pg, odoo, dbname)
    out = WORK / f"{dbname}-shop.json"
    result = subprocess.run(
        [sys.executable, str(SHOP_DATA_SCRIPT), "-c", str(config), "--sandbox-url", sandbox.service_url,
         "--username", SANDBOX_USERNAME, "--password", SANDBOX_PASSWORD, "--out", str(out)],
        cwd=ROOT, check=False, capture_output=True, text=True)
    config.unlink(missing_ok=True)
    if result.returncode:
        raise RuntimeError(f"shop_data.py failed:\n{result.stdout}{result.stderr}")
    shop = json.loads(out.read_text())
    out.unlink()
    shop["retry_pattern"] = {int(retries): seconds for retries, seconds in shop["retry_pattern"].items()}
    return shop


def start_sandbox(folder):
    return SandboxProcess(folder / "kashflow.sqlite3", username=SANDBOX_USERNAME, password=SANDBOX_PASSWORD).start()


# ---------------------------------------------------------------------------- Odoo's server


def _parent_of(pid):
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^PPid:\s+(\d+)", status, re.MULTILINE)
    return int(found[1]) if found else None


class OdooServer:
    """Odoo's server on ``dbname`` (see the module's note), in a session of its own; :meth:`stop` ends it.

    ``name`` tells the servers of one database apart (their folders); ``queue_job`` adds to the ``[queue_job]``
    section (``host`` and ``port``: where its job runner sends the jobs, its own HTTP port by default)."""

    def __init__(self, pg, odoo, dbname, name=None, queue_job=None):
        self.pg, self.odoo, self.dbname = pg, odoo, dbname
        self.folder = WORK / (f"{dbname}-{name}" if name else dbname)
        self.log = self.folder / "odoo.log"
        self.queue_job = {"channels": CHANNELS, **(queue_job or {})}
        self.process = self.port = self.config = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, port=None):
        """Start the server, on ``port`` if given (a server started again keeps its address), else a free one."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or self.port or free_port()
        self.config = devenv.write_config(
            self.folder / "odoo.conf", self.pg, self.odoo, self.dbname, sections={"queue_job": self.queue_job},
            http_interface="127.0.0.1", http_port=self.port, gevent_port=free_port(), logfile=self.log,
            **SERVER_OPTIONS)
        evented = self._logged(devenv.EVENTED_READY)
        with (self.folder / "odoo.out").open("a") as out:  # what Odoo prints outside its log
            self.process = subprocess.Popen(devenv.odoo_command(self.config), cwd=ROOT, start_new_session=True,
                                            stdout=out, stderr=subprocess.STDOUT)
        wait_until(self._answers, timeout=START_TIMEOUT, what=f"Odoo answering at {self.url} (log: {self.log})")
        # A websocket process that fails at start is started again and again, taking a core from the jobs.
        wait_until(lambda: self._logged(devenv.EVENTED_READY) > evented, timeout=START_TIMEOUT,
                   what=f"Odoo's websocket process (gevent) serving (log: {self.log}; its errors: "
                        f"{self.folder / 'odoo.out'})")
        return self

    def _logged(self, text):
        """How many times the server's log says ``text`` (the log is kept across restarts)."""
        return self.log.read_text(errors="replace").count(text) if self.log.exists() else 0

    def _answers(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"Odoo stopped while starting (exit {self.process.returncode}); see {self.log}")
        try:
            return requests.get(f"{self.url}/web/health", timeout=2).ok
        except requests.RequestException:
            return False

    def workers(self):
        """The PIDs of the server's worker processes (HTTP workers, the job runner, the gevent server)."""
        return {int(entry.name) for entry in Path("/proc").iterdir()
                if entry.name.isdigit() and _parent_of(int(entry.name)) == self.process.pid}

    def kill_worker(self, pid):
        """SIGKILL the worker ``pid``, after making sure it is one of this server's (nothing else is touched)."""
        if pid not in self.workers():
            raise AssertionError(f"process {pid} is not a worker of the Odoo server {self.process.pid}")
        os.kill(pid, signal.SIGKILL)

    def warm_up(self, rpc):
        """Have every worker answer a call first: a worker's first request builds what it keeps for the next
        ones (a second or more), which the scenarios' timings need not include."""
        threads = [threading.Thread(target=rpc, args=("res.partner", "search_count", []))
                   for _worker in range(2 * SERVER_OPTIONS["workers"])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def kill(self):
        """SIGKILL the server and every process of its session (its workers, its job runner) at once, as when the
        machine it runs on dies."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        wait_until(lambda: not any(process_alive(pid) and self._runs_our_config(pid) for pid in self._session()),
                   timeout=10, what=f"the processes of the Odoo server {self.process.pid} gone")

    def _session(self):
        """The PIDs of the processes in the server's session (it started one of its own)."""
        return [pid for pid, stat in devenv.processes().items() if int(stat[3]) == self.process.pid]

    def stop(self):
        """Stop the server: gracefully (SIGTERM), or, after a few seconds, by killing it and its workers."""
        if self.process is None or self.process.poll() is not None:
            return
        workers = self.workers()
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for pid in workers:  # a worker outlives its master only for a moment; not a second time
            if self._runs_our_config(pid):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def _runs_our_config(self, pid):
        try:
            return str(self.config).encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False

    def log_text(self):
        return "\n".join(path.read_text(errors="replace") for path in (self.log, self.folder / "odoo.out")
                         if path.exists())


# ---------------------------------------------------------------------------- JSON-RPC


class RpcError(Exception):
    """Odoo answered a call with an error (its message, as the user would see it)."""


class Rpc:
    """Odoo's external API (``/jsonrpc``) as one user; usable from several threads at once."""

    def __init__(self, url, dbname, login, password):
        self.endpoint = f"{url}/jsonrpc"
        self.dbname, self.password = dbname, password
        self._local = threading.local()
        self.uid = self._call("common", "login", dbname, login, password)
        if not self.uid:
            raise RpcError(f"Odoo refused the login {login!r}")

    def _call(self, service, method, *args):
        session = getattr(self._local, "session", None) or requests.Session()
        self._local.session = session
        params = {"service": service, "method": method, "args": args}
        response = session.post(self.endpoint, timeout=300,
                                json={"jsonrpc": "2.0", "method": "call", "id": 1, "params": params})
        response.raise_for_status()
        answer = response.json()
        if "error" in answer:
            error = answer["error"].get("data") or {}
            raise RpcError(error.get("message") or answer["error"].get("message"))
        return answer.get("result")  # Odoo leaves it out for None

    def __call__(self, model, method, *args, **kwargs):
        """``model.method(*args, **kwargs)``, as ``execute_kw`` runs it (in a transaction of its own)."""
        return self._call("object", "execute_kw", self.dbname, self.uid, self.password, model, method, list(args),
                          kwargs)


# ---------------------------------------------------------------------------- the shop


class Shop:
    """The shop's administrator at work, over JSON-RPC; and what the scenarios look at."""

    def __init__(self, rpc, data, sandbox, pg, dbname):
        self.rpc, self.data, self.sandbox, self.pg, self.dbname = rpc, data, sandbox, pg, dbname

    # ------------------------------------------------------------------ selling

    def contact(self, name, **values):
        """A new customer (a commercial contact of its own), with a unique email address."""
        slug = re.sub(r"[^a-z]+", ".", name.lower()).strip(".")
        return self.rpc("res.partner", "create", {
            "name": name, "email": f"{slug}.{uuid.uuid4().hex[:6]}@example.co.uk", "phone": "01947 600 100",
            "street": "1 Church Street", "city": "Whitby", "zip": "YO22 4AE",
            "country_id": self._country("GB"), **values})

    def _country(self, code):
        return self.rpc("res.country", "search", [("code", "=", code)], limit=1)[0]

    def order(self, contact, lines=DEFAULT_LINES):
        """A confirmed sale order of the web shop."""
        order = self.rpc("sale.order", "create", {
            "partner_id": contact, "team_id": self.data["team_id"],
            "order_line": [(0, 0, {"product_id": self.data["products"][key], "product_uom_qty": quantity})
                           for key, quantity in lines]})
        self.rpc("sale.order", "action_confirm", [order])
        return order

    def invoice(self, order):
        """The order's invoice, created and posted as the *Create Invoice* button does."""
        context = {"active_model": "sale.order", "active_ids": [order], "active_id": order}
        wizard = self.rpc("sale.advance.payment.inv", "create", {"advance_payment_method": "delivered"},
                          context=context)
        self.rpc("sale.advance.payment.inv", "create_invoices", [wizard], context=context)
        drafts = self.rpc("account.move", "search", [("line_ids.sale_line_ids.order_id", "=", order),
                                                     ("state", "=", "draft")])
        self.rpc("account.move", "action_post", drafts)
        return drafts[0]

    def pay(self, moves, **values):
        """Register the payment of ``moves`` (invoices; credit notes: a refund) with the *Pay* button, one payment
        each; the ids of the payments."""
        moves = moves if isinstance(moves, list) else [moves]
        context = {"active_model": "account.move", "active_ids": moves}
        before = set(self.rpc("account.payment", "search", []))
        wizard = self.rpc("account.payment.register", "create", {"group_payment": False, **values}, context=context)
        self.rpc("account.payment.register", "action_create_payments", [wizard], context=context)
        return sorted(set(self.rpc("account.payment", "search", [])) - before)

    def sell(self, contact, lines=DEFAULT_LINES, paid=True):
        """A confirmed and invoiced order, paid (by default); ``(order, invoice)``."""
        order = self.order(contact, lines)
        invoice = self.invoice(order)
        if paid:
            self.pay(invoice)
        return order, invoice

    def credit_note(self, invoice, quantity=None):
        """A credit note of ``invoice`` (the *Credit Note* button), of ``quantity`` of its first line only when
        given, posted."""
        context = {"active_model": "account.move", "active_ids": [invoice]}
        wizard = self.rpc("account.move.reversal", "create",
                          {"reason": "Returned", "journal_id": self._journal(invoice)}, context=context)
        credit_note = self.rpc("account.move.reversal", "refund_moves", [wizard], context=context)["res_id"]
        if quantity is not None:
            lines = self.rpc("account.move", "read", [credit_note], ["invoice_line_ids"])[0]["invoice_line_ids"]
            self.rpc("account.move", "write", [credit_note], {"invoice_line_ids": [
                (1, lines[0], {"quantity": quantity}), *[(2, line, 0) for line in lines[1:]]]})
        self.rpc("account.move", "action_post", [credit_note])
        return credit_note

    def _journal(self, move):
        return self.rpc("account.move", "read", [move], ["journal_id"])[0]["journal_id"][0]

    def cancel_payment(self, payment):
        """A payment entered by mistake: reset to draft and cancelled (Odoo no longer holds it)."""
        self.rpc("account.payment", "action_draft", [payment])
        self.rpc("account.payment", "action_cancel", [payment])

    def resend(self, orders):
        """*Resend to KashFlow* on the orders (the button, or the list's action on several)."""
        return self.rpc("sale.order", "action_kashflow_resend", list(orders))

    def resend_from_list(self, orders):
        """The orders selected in the list, then *Actions › Resend to KashFlow*: one click for all of them."""
        context = {"active_model": "sale.order", "active_ids": list(orders)}
        return self.rpc("ir.actions.server", "run", [self.data["resend_action_id"]], context=context)

    def run_backfill(self):
        """*Run Manually* on the back-fill's scheduled action."""
        return self.rpc("ir.cron", "method_direct_trigger", [self.data["backfill_cron_id"]])

    def set_kashflow(self, **values):
        """Settings > KashFlow of the company, e.g. ``set_kashflow(kashflow_password=...)``."""
        self.rpc("res.company", "write", [self.data["company_id"]], values)

    def set_read_timeout(self, seconds):
        """How long a KashFlow call waits for its answer (system parameter; None: the default)."""
        self.rpc("ir.config_parameter", "set_param", "kashflow_connector.read_timeout",
                 str(seconds) if seconds else False)

    # ------------------------------------------------------------------ looking

    def orders(self, orders):
        return self.rpc("sale.order", "read", list(orders), [
            "name", "kashflow_state", "kashflow_reason", "kashflow_invoice_number", "partner_id", "invoice_ids"])

    def jobs(self, domain=(), fields=("id", "uuid", "state", "retry", "max_retries", "worker_pid", "identity_key",
                                       "method_name", "result", "exc_info", "date_started", "date_done", "eta")):
        return self.rpc("queue.job", "search_read", [("channel", "=", KASHFLOW_CHANNEL), *domain], list(fields),
                        order="id")

    def order_jobs(self, order, states=None):
        domain = [("identity_key", "=", f"kashflow_connector:sale.order:{order}")]
        return self.jobs(domain + ([("state", "in", list(states))] if states else []))

    def live_jobs(self):
        return self.jobs([("state", "in", list(LIVE_JOB_STATES))])

    def wait_for(self, orders, states=("sent",), timeout=120, hurry=False):
        """Wait until every order is in one of ``states`` and no KashFlow job is waiting or running; their
        records. With ``hurry``, a job that waits because another job held its order or contact (half a minute)
        is started at once (:meth:`hurry_locked`)."""
        orders = list(orders)

        def settled():
            if hurry:
                self.hurry_locked()
            records = self.orders(orders)
            if all(record["kashflow_state"] in states for record in records) and not self.live_jobs():
                return records
            return None

        def now():
            return (f"orders {[(r['name'], r['kashflow_state'], r['kashflow_reason']) for r in self.orders(orders)]}, "
                    f"live jobs {[(j['state'], j['identity_key'], j['retry'], j['result']) for j in self.live_jobs()]}")

        return wait_until(settled, timeout=timeout, interval=0.3, what=f"orders {orders} {'/'.join(states)}",
                          describe=now)

    def hurry_locked(self):
        """Jobs postponed because another job held their order or contact wait half a minute (the addon's
        LOCKED_PAUSE) before they find that nothing is left to do: set them to start now (their ``eta``), as
        *Set to Now* would. Which jobs were hurried."""
        waiting = [job for job in self.jobs([("state", "=", "pending"), ("eta", "!=", False)])
                   if any(words in (job["result"] or "") for words in LOCKED_WORDS)]
        if waiting:
            now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
            self.rpc("queue.job", "write", [job["id"] for job in waiting], {"eta": now})
        return waiting

    def wait_quiet(self, timeout=120):
        """Wait until no KashFlow job is waiting or running."""
        wait_until(lambda: not self.live_jobs(), timeout=timeout, interval=0.3, what="the KashFlow jobs done",
                   describe=lambda: str(self.live_jobs()))

    def code_of(self, contact):
        return customer_code(contact, self.data["customer_code_prefix"])

    # ------------------------------------------------------------------ the database, directly

    def query(self, statement, params=()):
        """Rows of ``statement`` run on a connection of our own (what Odoo's API does not show: locks, waits)."""
        with closing(connect(self.pg, self.dbname)) as connection, connection.cursor() as cr:
            cr.execute(statement, params or None)
            return cr.fetchall() if cr.description else []

    def nudge_runner(self):
        """What every change of a job does: notify queue_job's runner, which then looks for dead jobs at once
        (otherwise it does at its next wake-up, within a minute)."""
        self.query("SELECT pg_notify('queue_job', 'nudge')")


# ---------------------------------------------------------------------------- what KashFlow holds


def _money(value):
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _odoo_document(move, lines, credit):
    """An Odoo invoice or credit note as ``(net, VAT, ((line net, line VAT), ...))``, a credit note negative."""
    sign = -1 if credit else 1
    return (_money(sign * move["amount_untaxed"]), _money(sign * move["amount_tax"]),
            tuple(sorted((sign * net, sign * vat) for net, vat in lines)))


def _kashflow_document(document):
    """A KashFlow invoice or credit note (negative) as ``(net, VAT, ((line net, line VAT), ...))``."""
    return (_money(document["NetAmount"]), _money(document["VATAmount"]), tuple(sorted(
        (_money(Decimal(str(line["Rate"])) * Decimal(str(line["Quantity"]))), _money(line["VatAmount"]))
        for line in document["Lines"])))


def check_books(shop, orders, tally=TALLY):
    """The end of every scenario: each order *Sent*, and KashFlow holding, exactly once and with Odoo's figures,
    one customer per contact (with its details), one invoice per posted Odoo invoice and one credit note per posted
    Odoo credit note (totals, and each line's net and VAT), and the money Odoo received less what it paid back,
    payment by payment.

    Counts duplicates and lost orders in ``tally`` before asserting; returns the orders' records."""
    state = shop.sandbox.state()
    records = shop.orders(orders)
    tally.orders.update(record["id"] for record in records)
    problems, duplicates = [], 0
    lost = [(r["name"], r["kashflow_state"], r["kashflow_reason"]) for r in records if r["kashflow_state"] != "sent"]
    move_ids = sorted({move for record in records for move in record["invoice_ids"]})
    moves = {move["id"]: move for move in shop.rpc("account.move", "read", move_ids, [
        "name", "move_type", "state", "amount_untaxed", "amount_tax"])}
    lines = defaultdict(list)  # Odoo's (net, VAT) lines of each move
    for line in shop.rpc("account.move.line", "search_read", [("move_id", "in", move_ids),
                                                             ("display_type", "=", "product")],
                         ["move_id", "price_subtotal", "price_total"]):
        lines[line["move_id"][0]].append((_money(line["price_subtotal"]),
                                          _money(line["price_total"] - line["price_subtotal"])))
    for record in records:
        documents = [d for d in state["invoices"] if record["name"] in d["CustomerReference"].split(" ")]
        for kind, credit in (("out_invoice", False), ("out_refund", True)):
            odoo = sorted(_odoo_document(move, lines[move["id"]], credit)
                          for move in map(moves.get, record["invoice_ids"])
                          if move["move_type"] == kind and move["state"] == "posted")
            kashflow = sorted(_kashflow_document(document) for document in documents
                              if bool(document.get("CreditNote")) == credit)
            duplicates += max(0, len(kashflow) - len(odoo))
            if kashflow != odoo:
                problems.append(f"{record['name']}: KashFlow's {kind}s (net, VAT, lines) {kashflow}, Odoo's {odoo}")
        invoices = [d["InvoiceNumber"] for d in documents if not d.get("CreditNote")]
        if record["kashflow_state"] == "sent" and record["kashflow_invoice_number"] not in invoices:
            problems.append(f"{record['name']} says KashFlow invoice {record['kashflow_invoice_number']}, KashFlow "
                            f"holds {invoices}")
    contacts = sorted({record["partner_id"][0] for record in records})
    partners = {p["id"]: p for p in shop.rpc("res.partner", "read", contacts, ["name", "email", "phone"])}
    for contact in contacts:
        code, partner = shop.code_of(contact), partners[contact]
        customers = [c for c in state["customers"] if c["Code"] == code or c["Email"] == partner["email"]]
        duplicates += max(0, len(customers) - 1)
        if len(customers) != 1:
            problems.append(f"contact {partner['name']} ({code}): {len(customers)} KashFlow customers")
            continue
        [customer] = customers
        held = (customer["Name"], customer["Email"], customer["Telephone"])
        if held != (partner["name"], partner["email"], partner["phone"]):
            problems.append(f"contact {partner['name']}: KashFlow holds {held}")
        numbers = {d["InvoiceNumber"] for d in state["invoices"] if d["CustomerID"] == customer["CustomerID"]}
        money = [p for p in state["payments"] if p["PayInvoice"] in numbers and not p.get("CreditNoteApplication")]
        notes = Counter(p["PayNote"] for p in money)
        duplicates += sum(count - 1 for count in notes.values())
        received = shop.rpc("account.payment", "search_read", [
            ("partner_id", "=", contact), ("state", "in", ["in_process", "paid"])], ["amount", "payment_type"])
        odoo_money = sorted(_money(p["amount"] if p["payment_type"] == "inbound" else -p["amount"]) for p in received)
        kashflow_money = sorted(_money(p["PayAmount"]) for p in money)
        if kashflow_money != odoo_money:
            problems.append(f"contact {partner['name']}: KashFlow's payments {kashflow_money}, Odoo's {odoo_money}")
    tally.duplicates += duplicates
    tally.lost += len(lost)
    assert not lost, f"orders not sent: {lost}"
    assert not problems, "\n".join(problems)
    return records


def secrets_found(shop, server, secrets):
    """Where the ``secrets`` appear outside the company's settings: Odoo's log, the jobs (arguments, results,
    errors), the chatter, the orders, the connector's records, and what the sandbox recorded of its calls; a
    Counter of the places."""
    found = Counter()
    log = server.log_text()
    found["Odoo's log"] = sum(log.count(secret) for secret in secrets)
    patterns = [f"%{secret}%" for secret in secrets]
    for table in ("queue_job", "mail_message", "sale_order", "kashflow_document", "kashflow_customer"):
        [(count,)] = shop.query(sql.SQL("SELECT count(*) FROM {} t WHERE t::text LIKE ANY(%s)").format(
            sql.Identifier(table)), [patterns])
        found[table] = count
    found["sandbox's call record"] = sum(str(call).count(secret) for call in shop.sandbox.calls()
                                         for secret in secrets)
    return +found
