"""Developer entry points: ``python3 tools/devenv.py test`` (what ``make test`` runs).

``test`` makes sure PostgreSQL is there (the server the usual PG* environment variables name, if it
answers and accepts an Odoo user; else a private throwaway cluster under ``.tmp/``, which git ignores),
creates a throwaway database, installs the addon with its dependencies, runs every test (``tests/`` and
the addon's Odoo tests, through pytest-odoo) and drops the database. It ends with pytest's summary line
and pytest's exit status.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".tmp"
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
        self.private = PrivateCluster(WORK / "pg")
        self.private.start()
        self.host, self.port, self.user, self.password = str(self.private.socket_dir), "5432", "odoo", ""
        return self

    def execute(self, sql):
        conn = self._connect()
        conn.autocommit = True
        with conn.cursor() as cr:
            cr.execute(sql)
        conn.close()

    def stop(self):
        if self.private:
            self.private.stop()


def _pg_binary(name):
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    if not candidates:
        fail(f"PostgreSQL's {name} was not found: install the PostgreSQL server (Debian: apt-get install postgresql).")
    return str(candidates[0])


class PrivateCluster:
    """A throwaway PostgreSQL cluster listening on a Unix socket only, run as a non-root user."""

    def __init__(self, base):
        self.base = base
        self.data = base / "data"
        self.socket_dir = base / "run"
        self.log = base / "postgres.log"
        self.started_here = False
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args):
        subprocess.run([*self.as_user, *args], check=True, stdout=subprocess.DEVNULL)

    def start(self):
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            shutil.chown(self.base, "postgres")
            shutil.chown(self.socket_dir, "postgres")
        if not (self.data / "PG_VERSION").exists():
            print(f"devenv: creating a private PostgreSQL cluster in {self.data}")
            self._run(_pg_binary("initdb"), "-D", str(self.data), "-U", "odoo", "-A", "trust", "-E", "UTF8",
                      "--locale=C.UTF-8")
        if not (self.socket_dir / ".s.PGSQL.5432").exists():
            self.started_here = True
            self._run(_pg_binary("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "start", "-o",
                      f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off -c full_page_writes=off")
        print(f"devenv: private PostgreSQL cluster running (socket in {self.socket_dir})")

    def stop(self):
        """Stop the cluster if this run started it (another run may still be using one it found running)."""
        if self.started_here:
            self._run(_pg_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


# ---------------------------------------------------------------------------- Odoo

def write_config(path, pg, odoo, dbname, **extra):
    options = {
        "db_host": pg.host, "db_port": pg.port, "db_user": pg.user, "db_password": pg.password,
        "db_name": dbname, "dbfilter": f"^{dbname}$", "addons_path": addons_path(odoo),
        "data_dir": str(WORK / "odoo-data"), "without_demo": "all", "list_db": "False",
        **extra,
    }
    lines = ["[options]"] + [f"{key} = {value}" for key, value in options.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def odoo_command(config, *args):
    return [sys.executable, "-m", "odoo", "-c", str(config), *args]


def test(pytest_args):
    odoo = require_odoo()
    pg = Postgres().ensure()
    dbname = f"kashflow_test_{uuid.uuid4().hex[:8]}"
    config = write_config(WORK / "odoo-test.conf", pg, odoo, dbname)
    started = time.monotonic()
    try:
        print(f"devenv: installing {ADDON} and its dependencies into the throwaway database {dbname}")
        install = subprocess.run(
            odoo_command(config, "-d", dbname, "-i", ADDON, "--stop-after-init", "--log-level=warn"),
            check=False, cwd=ROOT)
        if install.returncode:
            fail(f"installing {ADDON} failed (exit {install.returncode}); see the log above")
        print(f"devenv: database ready in {time.monotonic() - started:.0f} s; running the tests")
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "tests", f"{ADDON}/tests", f"--odoo-config={config}",
             f"--odoo-database={dbname}", "--odoo-log-level=warn", "--odoo-http", *pytest_args], check=False, cwd=ROOT)
        return result.returncode
    finally:
        try:
            pg.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        finally:
            shutil.rmtree(WORK / "odoo-data" / "filestore" / dbname, ignore_errors=True)
            pg.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run_tests = commands.add_parser("test", help="run the whole test suite in a throwaway database")
    run_tests.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed on to pytest")
    args = parser.parse_args()
    if args.command == "test":
        sys.exit(test(args.pytest_args))


if __name__ == "__main__":
    main()
