"""Developer entry points: ``python3 tools/devenv.py test`` and ``demo`` (what ``make test`` and ``make demo`` run).

Both make sure PostgreSQL is there: the server the usual PG* environment variables name, if it answers and
accepts an Odoo user; else a private throwaway cluster (see :class:`PrivateCluster`: under ``.tmp/``, which
git ignores, or for a run as root in a folder PostgreSQL's user cannot enter, under the temporary folder).
They work from any folder the user can write, as root or not; what the machine lacks stops them with a
message that says what to install or change.

``test`` creates a throwaway database, installs the addon with its dependencies, runs every test (``tests/``
and the addon's Odoo tests, through pytest-odoo) and drops the database. It ends with pytest's summary line
(skipped tests listed with their reason) and pytest's exit status.

``demo`` starts a KashFlow sandbox and an Odoo serving the database ``kashflow_demo``: a UK company with the
connector set up, and orders in each KashFlow state (``tools/demo_data.py``), the paid ones already in the
sandbox. The database and the sandbox's account are kept for the next run; ``--reset`` starts over, and a
database an interrupted run left half-built is built again. Odoo listens on port 8069 and the sandbox on 8089
(``--odoo-port``, ``--sandbox-port``; a port that is taken stops the demo before it starts anything). It
prints where to log in and runs until Ctrl-C (or SIGTERM), which stops everything it started.

:class:`Balancer` is the load balancer the fault scenarios and the benchmarks put in front of two Odoo servers.
"""

import argparse
import itertools
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".tmp"
ODOO_DATA = WORK / "odoo-data"
ADDON = "kashflow_connector"
ODOO_GUIDE = "https://www.odoo.com/documentation/18.0/administration/on_premise/source.html"


def fail(message):
    print(f"devenv: {message}", file=sys.stderr)
    sys.exit(2)


def require_odoo():
    """Stop at once, with a pointer to Odoo's guide, when this Python cannot import Odoo 18."""
    try:
        import odoo.release  # noqa: PLC0415 - the point is to try the import here
    except ImportError:
        fail(f"{sys.executable} cannot import Odoo. Install Odoo 18 for this Python first, as Odoo's "
             f"installation guide says: {ODOO_GUIDE}")
    if odoo.release.version_info[:2] != (18, 0):
        fail(f"Odoo 18.0 is needed; {sys.executable} has Odoo {odoo.release.version}. See {ODOO_GUIDE}")
    return odoo


def addons_path(odoo):
    """The project folder plus the addons folders of the installed Odoo."""
    package = Path(odoo.__file__).resolve().parent
    paths = [ROOT, package / "addons", package.parent / "addons"]
    return ",".join(str(p) for p in paths if p.is_dir())


# ---------------------------------------------------------------------------- PostgreSQL

class Postgres:
    """Connection settings for a PostgreSQL server Odoo can use, started here if need be."""

    def __init__(self):
        self.host = os.environ.get("PGHOST", "")
        self.port = os.environ.get("PGPORT", "")
        self.user = os.environ.get("PGUSER", "")
        self.password = os.environ.get("PGPASSWORD", "")
        self.private = None

    def _connect(self, dbname="postgres"):
        import psycopg2  # noqa: PLC0415 - Odoo's dependency, present once Odoo is importable

        return psycopg2.connect(dbname=dbname, host=self.host or None, port=self.port or None,
                                user=self.user or None, password=self.password or None, connect_timeout=3)

    def _usable(self):
        try:
            with self._connect() as conn, conn.cursor() as cr:
                cr.execute("SELECT current_user, rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")
                user, can_create = cr.fetchone()
            conn.close()
        except Exception:  # noqa: BLE001 - any failure means: not usable, start our own
            return False
        if user == "postgres":
            print("devenv: the PostgreSQL server answers as 'postgres', which Odoo refuses; using a private cluster.")
            return False
        self.user = self.user or user
        return bool(can_create)

    def ensure(self):
        if self._usable():
            print(f"devenv: using the PostgreSQL server at {self.host or 'the default socket'} as {self.user}")
            return self
        self.private = PrivateCluster()
        self.private.start()
        self.host, self.port, self.user, self.password = str(self.private.socket_dir), self.private.port, "odoo", ""
        return self

    def environment(self):
        """The PG* variables that name this server, for a process that must use it (the tests' own Odoo server)."""
        return {name: value for name, value in (("PGHOST", self.host), ("PGPORT", self.port), ("PGUSER", self.user),
                                                ("PGPASSWORD", self.password)) if value}

    def execute(self, sql):
        conn = self._connect()
        conn.autocommit = True
        with conn.cursor() as cr:
            cr.execute(sql)
        conn.close()

    def fetch_value(self, sql, params=(), dbname="postgres"):
        """The first value of the first row ``sql`` returns in the database ``dbname``; None without a row."""
        conn = self._connect(dbname)
        try:
            with conn.cursor() as cr:
                cr.execute(sql, params)
                row = cr.fetchone()
        finally:
            conn.close()
        return row[0] if row else None

    def stop(self):
        if self.private:
            self.private.stop()


INSTALL_POSTGRES = ("install PostgreSQL's server programs (Debian, Ubuntu: apt-get install postgresql; Fedora: "
                    "dnf install postgresql-server), or point PGHOST, PGPORT, PGUSER and PGPASSWORD at a PostgreSQL "
                    "server whose user (not 'postgres') may create databases")


def _pg_binary(name):
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    if not candidates:
        fail(f"no PostgreSQL server answers and PostgreSQL's {name} was not found: {INSTALL_POSTGRES}.")
    return str(candidates[0])


class PrivateCluster:
    """A throwaway PostgreSQL cluster of this checkout, listening on a Unix socket only.

    PostgreSQL refuses to run as root: as root, the cluster belongs to the system user ``postgres``; otherwise
    to the user running this. Its data directory is ``.tmp/pg/data``, kept from one run to the next (the demo's
    database lives there), as long as that user can reach it. As root in a folder ``postgres`` cannot enter (a
    home folder of mode 0700, say), it is made instead in a new directory under the system's temporary folder,
    removed when the run ends. The socket is in a directory of its own under the temporary folder (a socket's
    path must be short, and reachable by the server), removed when the server stops.
    """

    SERVER_USER = "postgres"  # the system user PostgreSQL's packages run the server as

    def __init__(self):
        self.as_root = os.geteuid() == 0
        self.owner = self._owner()
        self.as_owner = ["runuser", "-u", self.owner.pw_name, "--"] if self.as_root else []
        self.base = self.data = self.log = self.socket_dir = None
        self.port = "5432"
        self.throwaway = False  # the whole cluster is removed by stop()
        self.started_here = False

    def _owner(self):
        """The account the server runs as (see the class), checked to be usable."""
        if not self.as_root:
            return pwd.getpwuid(os.geteuid())
        if not shutil.which("runuser"):
            fail("as root, the private PostgreSQL cluster is run as the user 'postgres' through runuser, which this "
                 "machine lacks: install it (Debian, Ubuntu: apt-get install util-linux), or run make as another "
                 "user than root")
        try:
            return pwd.getpwnam(self.SERVER_USER)
        except KeyError:
            fail("as root, the private PostgreSQL cluster is run as the system user 'postgres', which this machine "
                 "lacks: install PostgreSQL's server package, which creates it (Debian, Ubuntu: apt-get install "
                 "postgresql), or create it (useradd --system --user-group postgres), or run make as another user "
                 "than root")

    def _as_owner(self, *args, check=False, **options):
        """Run a program as the cluster's owner, from a folder it can enter (the current one may be private)."""
        return subprocess.run([*self.as_owner, *args], check=check, cwd="/", **options)

    def _run(self, *args, what):
        """Run a PostgreSQL program as the cluster's owner; stop with a plain message if it fails."""
        try:
            self._as_owner(*args, check=True, stdout=subprocess.DEVNULL)
        except subprocess.CalledProcessError as error:
            log = self.log.read_text(errors="replace").strip().splitlines()[-10:] if self.log.exists() else []
            fail("\n    ".join([f"{what} failed (exit {error.returncode}); see its message above.", *log]))

    def _can_use(self, path, write=True):
        """Whether the cluster's owner can enter ``path`` (every folder above it included) and, with ``write``,
        create files in it."""
        if not self.as_root:
            return os.access(path, os.W_OK | os.X_OK if write else os.X_OK)
        test = ["test", "-x", str(path), *(["-a", "-w", str(path)] if write else [])]
        return self._as_owner(*test).returncode == 0

    def _new_private_directory(self, prefix):
        """A new directory under the system's temporary folder that only the cluster's owner can use."""
        path = Path(tempfile.mkdtemp(prefix=prefix))  # mode 0700
        if self.as_root:
            os.chown(path, self.owner.pw_uid, self.owner.pw_gid)
        if not self._can_use(path):
            shutil.rmtree(path, ignore_errors=True)
            fail(f"the user {self.owner.pw_name!r} cannot enter the temporary folder {path.parent}, where the private "
                 "PostgreSQL cluster keeps its socket: point TMPDIR at a folder it can enter, e.g. TMPDIR=/tmp")
        return path

    def _place(self):
        """The cluster's directory, and whether it is a throwaway one (see the class)."""
        WORK.mkdir(parents=True, exist_ok=True)
        base = WORK / "pg"
        if not self.as_root or self._can_use(WORK, write=False):
            base.mkdir(exist_ok=True)
            if self.as_root and base.stat().st_uid != self.owner.pw_uid:
                os.chown(base, self.owner.pw_uid, self.owner.pw_gid)
            return base, False
        base = self._new_private_directory("kashflow-pg-")
        print(f"devenv: the user 'postgres', which runs PostgreSQL for root, cannot reach {WORK}: this run's "
              f"PostgreSQL cluster is in {base}, removed with its databases at the end (in a folder 'postgres' can "
              "reach, the cluster and the demo's database are kept from one run to the next)")
        return base, True

    def start(self):
        self.base, self.throwaway = self._place()
        self.data, self.log = self.base / "data", self.base / "postgres.log"
        if not (self.data / "PG_VERSION").exists():
            print(f"devenv: creating a private PostgreSQL cluster in {self.data}")
            self._run(_pg_binary("initdb"), "-D", str(self.data), "-U", "odoo", "-A", "trust", "-E", "UTF8",
                      "--locale=C.UTF-8", what="initdb")
        if self._running():
            self.socket_dir, self.port = self._socket_of_running_server()
        else:
            self.socket_dir = self._new_private_directory("kashflow-pg-socket-")
            self.started_here = True
            options = f"-k {shlex.quote(str(self.socket_dir))} -p {self.port} -c listen_addresses='' -c fsync=off " \
                      "-c full_page_writes=off"
            self._run(_pg_binary("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "start", "-o", options,
                      what="starting PostgreSQL (pg_ctl start)")
        print(f"devenv: private PostgreSQL cluster running (socket in {self.socket_dir})")

    def _running(self):
        """Whether the cluster's server is up (a socket file left by a killed server does not count)."""
        status = self._as_owner(_pg_binary("pg_ctl"), "-D", str(self.data), "status", stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        return status.returncode == 0

    def _socket_of_running_server(self):
        """The socket directory and port of the cluster's running server (another run started it)."""
        # postmaster.pid: PID, data directory, start time, port, socket directory, ...
        lines = (self.data / "postmaster.pid").read_text().splitlines()
        return Path(lines[4]), lines[3]

    def stop(self):
        """Stop the cluster if this run started it (another run may still be using one it found running), and
        remove what was for this run only."""
        if self.started_here and self._running():
            self._run(_pg_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop",
                      what="stopping PostgreSQL (pg_ctl stop)")
        if self.started_here and self.socket_dir:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
        if self.throwaway:
            shutil.rmtree(self.base, ignore_errors=True)


# ---------------------------------------------------------------------------- Odoo

def processes():
    """Linux's process table (``/proc``): ``{pid: stat}``, ``stat`` being the fields of ``/proc/<pid>/stat`` after
    the command name (``stat[1]`` the parent, ``stat[3]`` the session, ``stat[11:15]`` the CPU clock ticks of the
    process and of the children it reaped, ``stat[21]`` the resident pages). Processes that end meanwhile are left
    out."""
    table = {}
    for path in Path("/proc").glob("[0-9]*/stat"):
        try:
            table[int(path.parent.name)] = path.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
    return table


class Balancer:
    """A round-robin TCP load balancer on a free loopback port, in front of Odoo servers (``ports``), as nginx or
    HAProxy is in front of several machines: each connection goes to the next server, or to the one after it when
    that one does not answer (it is down). Only for the scenarios: it copies bytes, nothing more."""

    def __init__(self, ports):
        self.ports = list(ports)
        self._turn = itertools.count()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.connections = Counter()  # port -> connections sent to it
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _address = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._forward, args=(client,), daemon=True).start()

    def _forward(self, client):
        first = next(self._turn)
        for step in range(len(self.ports)):
            port = self.ports[(first + step) % len(self.ports)]
            try:
                upstream = socket.create_connection(("127.0.0.1", port), timeout=2)
            except OSError:
                continue
            self.connections[port] += 1
            upstream.settimeout(None)
            answers = threading.Thread(target=self._copy, args=(upstream, client), daemon=True)
            answers.start()
            self._copy(client, upstream)
            answers.join()
            upstream.close()
            break
        client.close()

    @staticmethod
    def _copy(source, target):
        with suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def close(self):
        self._listener.close()


def write_config(path, pg, odoo, dbname, sections=None, **extra):
    """Odoo's configuration file for ``dbname``: ``extra`` options, and ``sections`` such as ``queue_job``."""
    options = {
        "db_host": pg.host, "db_port": pg.port, "db_user": pg.user, "db_password": pg.password,
        "db_name": dbname, "dbfilter": f"^{dbname}$", "addons_path": addons_path(odoo),
        "data_dir": str(ODOO_DATA), "without_demo": "all", "list_db": "False",
        **extra,
    }
    blocks = ["\n".join([f"[{section}]", *(f"{key} = {value}" for key, value in values.items())])
              for section, values in {"options": options, **(sections or {})}.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join(blocks) + "\n")
    return path


def odoo_command(config, *args):
    """The command running Odoo's server with ``config`` and ``args``: this Python running Odoo's own launcher
    (``odoo_launcher``), as Odoo's guide runs it."""
    return [sys.executable, str(odoo_launcher()), "-c", str(config), *args]


# What a prefork server's websocket process (gevent) logs once it serves; a server whose log lacks it restarts that
# process over and over (see odoo_launcher and requirements-test.txt).
EVENTED_READY = "Evented Service (longpolling) running"


def odoo_launcher():
    """Odoo's launcher for this Python: the ``odoo`` script its installation puts beside the interpreter's scripts,
    or ``odoo-bin`` in a source checkout. Never ``python -m odoo``: a prefork server starts its gevent (websocket)
    process by running its own ``sys.argv[0]`` again, and ``odoo/__main__.py`` cannot run as a script, so that
    process would fail and be started again, over and over, taking a core."""
    odoo = require_odoo()
    candidates = (Path(sysconfig.get_path("scripts")) / "odoo", Path(odoo.__file__).resolve().parents[1] / "odoo-bin")
    launcher = next((path for path in candidates if path.is_file()), None)
    if launcher is None:
        fail(f"Odoo's launcher is neither {candidates[0]} nor {candidates[1]}; install Odoo 18 as Odoo's guide says: "
             f"{ODOO_GUIDE}")
    return launcher


def test(pytest_args):
    odoo = require_odoo()
    _warn_without_browser()
    pg = Postgres()
    try:
        pg.ensure()
        return _run_tests(pg, odoo, pytest_args)
    finally:
        pg.stop()


# tests/runner/ serves a database of its own from a real Odoo server; make test hands it a copy of its own.
RUNNER_DB_VARIABLE = "KASHFLOW_RUNNER_DB"


def _run_tests(pg, odoo, pytest_args):
    """Install the addon in a new database, run the tests, drop the database; pytest's exit status."""
    dbname = f"kashflow_test_{uuid.uuid4().hex[:8]}"
    runner_db = f"{dbname}_runner"
    config = write_config(WORK / "odoo-test.conf", pg, odoo, dbname)
    started = time.monotonic()
    try:
        print(f"devenv: installing {ADDON} and its dependencies into the throwaway database {dbname}")
        install = subprocess.run(
            odoo_command(config, "-d", dbname, "-i", ADDON, "--stop-after-init", "--log-level=warn"),
            check=False, cwd=ROOT)
        if install.returncode:
            fail(f"installing {ADDON} failed (exit {install.returncode}); see the log above")
        _copy_database(pg, dbname, runner_db)  # before the tests open the database, which a copy needs
        print(f"devenv: database ready in {time.monotonic() - started:.0f} s; running the tests")
        # -rs: the summary lists every skipped test with its reason (a missing browser, missing reference data).
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-rs", "tests", f"{ADDON}/tests", f"--odoo-config={config}",
             f"--odoo-database={dbname}", "--odoo-log-level=warn", "--odoo-http", *pytest_args], check=False, cwd=ROOT,
            env={**os.environ, **pg.environment(), RUNNER_DB_VARIABLE: runner_db})
        return result.returncode
    finally:
        for name in (runner_db, dbname):
            try:
                pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                shutil.rmtree(ODOO_DATA / "filestore" / name, ignore_errors=True)


def _copy_database(pg, source, target):
    """A copy of the database ``source`` (nobody may be connected to it) and of its files, named ``target``."""
    pg.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
    if (ODOO_DATA / "filestore" / source).is_dir():
        shutil.copytree(ODOO_DATA / "filestore" / source, ODOO_DATA / "filestore" / target)


BROWSERS = ("google-chrome", "chromium", "chromium-browser", "google-chrome-stable")  # those Odoo's tests look for


def _warn_without_browser():
    """Say up front what to install when the browser test will be skipped for want of a browser."""
    if not any(shutil.which(name) for name in BROWSERS):
        print("devenv: no Chrome or Chromium found: the browser test will be skipped. Install Chromium to run it "
              "(Debian, Ubuntu: apt-get install chromium).")


# ---------------------------------------------------------------------------- demo

DEMO = WORK / "demo"
DEMO_DB = "kashflow_demo"
DEMO_CONFIG = DEMO / "odoo.conf"
DEMO_LOG = DEMO / "odoo.log"
DEMO_SUMMARY = DEMO / "summary.json"  # what demo_data.py tells the welcome message
SANDBOX_DATA = DEMO / "sandbox.sqlite3"
DEMO_DATA_SCRIPT = Path(__file__).with_name("demo_data.py")
ODOO_PORT = 8069
SANDBOX_PORT = 8089
ODOO_START_TIMEOUT = 120  # seconds
# queue_job's runner, in Odoo's threaded server: it performs two jobs at a time, one of them for KashFlow.
JOB_RUNNER = {"server_wide_modules": "base,web,queue_job", "workers": 0}
JOB_CHANNELS = {"queue_job": {"channels": "root:2,root.kashflow:1"}}
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def demo(reset, odoo_port, sandbox_port):
    """Run the demo until Ctrl-C or SIGTERM; whatever it started is stopped on the way out."""
    odoo = require_odoo()
    import demo_data  # beside this file; it imports Odoo, so only once Odoo is known to be there

    sys.stdout.reconfigure(line_buffering=True)
    # Before anything starts: a port that is taken stops the demo at once, with what to do about it.
    check_port(odoo_port, "Odoo", "ODOO_PORT", "--odoo-port")
    check_port(sandbox_port, "KashFlow sandbox", "SANDBOX_PORT", "--sandbox-port")
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, _interrupt)
    with ExitStack() as running:
        try:
            _serve_demo(odoo, demo_data, reset, running, ports=(odoo_port, sandbox_port))
        except KeyboardInterrupt:
            print("devenv: stopping the demo")
    print("devenv: the demo is stopped")


def _interrupt(_signum, _frame):
    """Turn a stop signal into KeyboardInterrupt, once: the shutdown that follows is not interrupted in turn."""
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, signal.SIG_IGN)
    raise KeyboardInterrupt


def _serve_demo(odoo, demo_data, reset, running, ports):
    """Start PostgreSQL, the sandbox and Odoo (``running`` stops them), with the demo database; serve until stopped.

    ``ports``: Odoo's and the sandbox's."""
    started = time.monotonic()
    odoo_port, sandbox_port = ports
    pg = Postgres()
    running.callback(pg.stop)  # registered first: it also stops a cluster whose start was interrupted
    pg.ensure()
    build = _prepare_demo_database(pg, demo_data.LOADED_KEY, reset)
    sandbox = running.enter_context(_sandbox(demo_data, sandbox_port))
    config = write_config(DEMO_CONFIG, pg, odoo, DEMO_DB, sections=JOB_CHANNELS, logfile=DEMO_LOG,
                          http_interface="127.0.0.1", http_port=odoo_port, **JOB_RUNNER)
    if build:
        print(f"devenv: building the demo database {DEMO_DB}: UK company and chart of accounts, the connector, "
              "demo data (about a minute)")
    summary = _run_demo_data(config, "build" if build else "connect", sandbox.service_url)
    # A reused database gets the addon's current code (views, fields) before it is served.
    server = running.enter_context(_odoo_server(config, *(() if build else ("-u", ADDON))))
    odoo_url = f"http://127.0.0.1:{odoo_port}"
    _wait_until_answering(server, f"{odoo_url}/web/login")
    _print_welcome(odoo_url, sandbox.url, demo_data, summary, time.monotonic() - started)
    server.wait()
    fail(f"Odoo stopped by itself (exit {server.returncode}); see {DEMO_LOG}")


def _print_welcome(odoo_url, sandbox_url, demo_data, summary, seconds):
    """Where to look, how to log in, and what to try first."""
    order, customer, invoice = summary["order_to_pay"], summary["customer_to_pay"], summary["invoice_to_pay"]
    if order:
        first_step = (f"{order} ({customer}) is not paid yet. Open it, click its Invoices button, then Pay on its\n"
                      f"    invoice {invoice}, and Create Payment: within seconds {order} is Sent, and its invoice is\n"
                      "    on the sandbox's page.")
    else:
        first_step = "Every demo order is paid by now (make demo RESET=1 starts over)."
    print(f"""
devenv: the KashFlow demo is ready ({seconds:.0f} s)

    Odoo              {odoo_url}    login {demo_data.ADMIN_LOGIN}, password {demo_data.ADMIN_PASSWORD}
    KashFlow sandbox  {sandbox_url}/    what the KashFlow account holds: customers, invoices, payments

    Odoo opens on Sales > Orders, where each order shows its KashFlow state.
    {first_step}
    README.md, "Trying the demo", shows what else to try.

    Odoo's log: {_shown(DEMO_LOG)}. Ctrl-C stops the demo.
""")


def _shown(path):
    """``path`` relative to the current folder where it is below it, else in full."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _prepare_demo_database(pg, loaded_key, reset):
    """Whether the demo must be built; what a reset or an unfinished build left is dropped first."""
    state = _demo_state(pg, loaded_key)
    if state == "ready" and not reset:
        print(f"devenv: reusing the demo database {DEMO_DB} (make demo RESET=1 starts over)")
        return False
    if reset:
        print(f"devenv: starting over: dropping the database {DEMO_DB} and the sandbox's account")
    elif state == "incomplete":
        print(f"devenv: the demo database {DEMO_DB} or the sandbox's account is incomplete (an interrupted run?): "
              "building them again")
    pg.execute(f'DROP DATABASE IF EXISTS "{DEMO_DB}" WITH (FORCE)')
    shutil.rmtree(ODOO_DATA / "filestore" / DEMO_DB, ignore_errors=True)
    for path in DEMO.glob(f"{SANDBOX_DATA.name}*"):  # with SQLite's -wal and -shm files
        path.unlink()
    return True


def _demo_state(pg, loaded_key):
    """``ready`` when the demo database has the addon and all the demo data, and the sandbox's account is there;
    else ``incomplete`` or ``missing``."""
    from psycopg2.errors import UndefinedTable  # Odoo's dependency, present once Odoo is importable

    if not pg.fetch_value("SELECT 1 FROM pg_database WHERE datname = %s", [DEMO_DB]):
        return "missing"
    try:
        loaded = pg.fetch_value(
            "SELECT 1 FROM ir_module_module m, ir_config_parameter p"
            " WHERE m.name = %s AND m.state = 'installed' AND p.key = %s", [ADDON, loaded_key], dbname=DEMO_DB)
    except UndefinedTable:  # the database is there, Odoo's tables are not yet
        return "incomplete"
    return "ready" if loaded and SANDBOX_DATA.exists() else "incomplete"


def _sandbox(demo_data, port):
    """The demo's KashFlow sandbox on ``port`` (entering the context starts it)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from kashflow_sandbox.testing import SandboxProcess  # a package beside tools/, not an installed one

    DEMO.mkdir(parents=True, exist_ok=True)
    return SandboxProcess(SANDBOX_DATA, username=demo_data.SANDBOX_USERNAME, password=demo_data.SANDBOX_PASSWORD,
                          port=port)


def check_port(port, server, make_variable, option):
    """Stop, saying what to do, unless a server can listen on ``port`` of the loopback interface."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            return
        except OSError as error:
            reason = error.strerror
    holder = _listener(port)
    fail(f"port {port}, where the demo's {server} listens, is taken ({holder or reason}). Stop what holds it "
         f"(another demo still running?{'' if holder else f' ss -ltnp sport=:{port} names it'}), or choose another "
         f"port: make demo {make_variable}={port + 1}   (or: python3 tools/devenv.py demo {option} {port + 1})")


def _listener(port):
    """The program listening on TCP ``port``, as ``ss`` names it; None where that cannot be told."""
    if not shutil.which("ss"):
        return None
    found = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=False).stdout
    program = re.search(r'users:\(\("([^"]+)",pid=(\d+)', found)
    return f"by {program[1]}, process {program[2]}" if program else None


def _run_demo_data(config, command, sandbox_url):
    """Run ``tools/demo_data.py COMMAND`` against the demo database, in a session of its own (so that Ctrl-C
    reaches it only through this process, which then kills it); what it tells the welcome message."""
    result = subprocess.run([sys.executable, str(DEMO_DATA_SCRIPT), "-c", str(config), command,
                             "--sandbox-url", sandbox_url, "--summary", str(DEMO_SUMMARY)],
                            check=False, cwd=ROOT, start_new_session=True)
    if result.returncode:
        fail(f"{DEMO_DATA_SCRIPT.name} {command} failed (exit {result.returncode}); see the lines above and "
             f"{DEMO_LOG}")
    return json.loads(DEMO_SUMMARY.read_text())


@contextmanager
def _odoo_server(config, *options):
    """Odoo serving the demo, with queue_job's runner, in a session of its own; stopped when the context ends.

    It is Odoo's own server, started by ``demo_data.py serve`` so that it stops without a traceback. What Odoo
    prints outside its logging (a crash before its logging is set up, say) goes to its log too.
    """
    command = [sys.executable, str(DEMO_DATA_SCRIPT), "-c", str(config), "serve", *options]
    with DEMO_LOG.open("a") as log:
        process = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()  # Odoo shuts down gracefully on SIGTERM
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_answering(server, url):
    """Return once ``url`` answers; fail if the server stops first or does not answer in time."""
    deadline = time.monotonic() + ODOO_START_TIMEOUT
    while server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            if time.monotonic() > deadline:
                fail(f"Odoo did not answer at {url} within {ODOO_START_TIMEOUT} s; see {DEMO_LOG}")
            time.sleep(0.5)
    fail(f"Odoo stopped while starting (exit {server.returncode}); see {DEMO_LOG}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("test", help="run the whole test suite in a throwaway database; other arguments go to pytest")
    run_demo = commands.add_parser("demo", help="run Odoo with the connector, demo data and a KashFlow sandbox")
    run_demo.add_argument("--reset", action="store_true",
                          help="drop the demo database and the sandbox's account first, and build them again")
    run_demo.add_argument("--odoo-port", type=int, default=ODOO_PORT, help="Odoo's port (default: %(default)s)")
    run_demo.add_argument("--sandbox-port", type=int, default=SANDBOX_PORT,
                          help="the KashFlow sandbox's port (default: %(default)s)")
    args, pytest_args = parser.parse_known_args()
    if args.command == "test":
        sys.exit(test(pytest_args))
    if pytest_args:
        parser.error(f"unrecognised arguments: {' '.join(pytest_args)}")
    demo(args.reset, args.odoo_port, args.sandbox_port)


if __name__ == "__main__":
    main()
