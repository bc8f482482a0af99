"""Run a sandbox in a subprocess, for tests and benchmarks.

Example::

    with SandboxProcess(tmp_path / "kashflow.sqlite3", username="tester", password="secret") as sandbox:
        client = zeep.Client(sandbox.wsdl_url)
        sandbox.set_faults(operation="InsertInvoice", mode="http500")
        ...
        mark = sandbox.last_call()
        ...  # send one order
        assert sandbox.call_counts(since=mark) == {"GetCustomer": 1, "InsertCustomer": 1, ...}
"""

import os
import queue
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import requests

from . import seed

_REPOSITORY = Path(__file__).resolve().parent.parent
_READY = "KashFlow sandbox listening on "


class SandboxError(RuntimeError):
    """The sandbox process did not start, or a control request failed."""


class SandboxProcess:
    """A ``python -m kashflow_sandbox`` subprocess on a loopback port, with its control API.

    The first start listens on ``port``, or on a free port if it is 0; :meth:`restart` reuses that port and the
    data file, so the URLs stay valid.
    """

    def __init__(self, data_path, *, username=seed.DEFAULT_USERNAME, password=seed.DEFAULT_PASSWORD,
                 auto_auth_key=seed.DEFAULT_AUTO_AUTH_KEY, startup_timeout=20.0, port=0):
        self.data_path = Path(data_path).resolve()
        self.username = username
        self.password = password
        self.auto_auth_key = auto_auth_key
        self.startup_timeout = startup_timeout
        self.url = None
        self._port = port
        self._process = None
        self._session = requests.Session()

    @property
    def service_url(self):
        return f"{self.url}/api/service.asmx"

    @property
    def pid(self):
        """The process id of the running sandbox (None when stopped): what a benchmark reads its CPU time from."""
        return self._process.pid if self._process is not None else None

    @property
    def wsdl_url(self):
        return f"{self.service_url}?WSDL"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def start(self):
        """Start the process and wait until it listens; returns self."""
        if self._process is not None:
            raise SandboxError("the sandbox is already running")
        command = [sys.executable, "-m", "kashflow_sandbox", "--host", "127.0.0.1", "--port", str(self._port),
                   "--data", str(self.data_path), "--username", self.username, "--password", self.password,
                   "--auto-auth-key", self.auto_auth_key]
        python_path = [str(_REPOSITORY), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(python_path)}
        self._process = subprocess.Popen(command, cwd=_REPOSITORY, env=env, stdout=subprocess.PIPE, text=True)
        line = self._ready_line()
        if not line.startswith(_READY):
            self.stop()
            raise SandboxError(f"the sandbox did not start (it printed {line!r})")
        self.url = line.removeprefix(_READY).strip().rstrip("/")
        self._port = int(self.url.rsplit(":", 1)[1])
        return self

    def _ready_line(self):
        lines = queue.Queue()
        threading.Thread(target=lambda: lines.put(self._process.stdout.readline()), daemon=True).start()
        try:
            return lines.get(timeout=self.startup_timeout)
        except queue.Empty:
            self.stop()
            raise SandboxError(f"the sandbox did not start within {self.startup_timeout} s") from None

    def stop(self):
        """Stop the process (the data file stays)."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
        self._session.close()

    def restart(self):
        """Stop and start again on the same port and data file."""
        self.stop()
        return self.start()

    # Control API

    def _request(self, method, path, payload=None, params=None):
        response = self._session.request(method, f"{self.url}{path}", json=payload, params=params, timeout=10)
        if not response.ok:
            raise SandboxError(f"{method} {path} failed: {response.status_code} {response.text}")
        return response.json()

    def state(self):
        """Customers, invoices (with lines and totals), payments, access settings, look-ups and faults."""
        return self._request("GET", "/_sandbox/state")

    def reset(self):
        """Back to the seeded account: no customers, invoices, payments, allowed IPs or recorded calls."""
        return self._request("POST", "/_sandbox/reset")

    def set_faults(self, **settings):
        """Add faults; see :mod:`kashflow_sandbox.faults`.

        E.g. ``set_faults(latency_ms=50)``, or
        ``set_faults(operation="InsertInvoice", mode="timeout", count=1, stall_seconds=2)``.
        """
        return self._request("POST", "/_sandbox/faults", settings)

    def clear_faults(self):
        return self._request("DELETE", "/_sandbox/faults")

    def calls(self, since=0):
        """The SOAP requests the sandbox answered after sequence ``since``, oldest first: dicts with
        ``sequence``, ``operation``, ``time``, ``outcome`` and ``detail`` (see :mod:`kashflow_sandbox.calls`)."""
        return self._request("GET", "/_sandbox/calls", params={"since": since})["calls"]

    def last_call(self):
        """The sequence of the last request recorded so far (0 if none): a mark for ``since``."""
        # Asking for the calls after a sequence not yet reached brings back no calls, only the last sequence.
        return self._request("GET", "/_sandbox/calls", params={"since": 2**62})["last_sequence"]

    def clear_calls(self):
        """Forget the recorded calls (their sequence keeps counting)."""
        self._request("DELETE", "/_sandbox/calls")

    def call_counts(self, since=0, outcome=None):
        """How many requests each operation got after ``since`` (only those with ``outcome``, if given), as a
        Counter: ``call_counts()["InsertInvoice"]`` is 0 for an operation never called."""
        return Counter(call["operation"] for call in self.calls(since)
                       if outcome is None or call["outcome"] == outcome)

    def configure(self, **settings):
        """E.g. ``configure(restrict_ips=True, allowed_ips=["10.0.0.1"])``."""
        return self._request("POST", "/_sandbox/config", settings)
