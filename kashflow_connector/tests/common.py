"""What the addon's tests share: a KashFlow sandbox serving on loopback for the whole test class."""

import sys
from pathlib import Path

from odoo.tests import TransactionCase

PROJECT = Path(__file__).resolve().parents[2]
SANDBOX_USER = "odoo-tests"
SANDBOX_PASSWORD = "sandbox-Pa55word"


def sandbox_process():
    """A started ``SandboxProcess`` from the project's ``kashflow_sandbox`` package, or None if absent."""
    if not (PROJECT / "kashflow_sandbox").is_dir():
        return None
    if str(PROJECT) not in sys.path:
        sys.path.insert(0, str(PROJECT))
    from kashflow_sandbox.testing import SandboxProcess  # noqa: PLC0415 - found only beside the sources

    return SandboxProcess(username=SANDBOX_USER, password=SANDBOX_PASSWORD).start()


class KashFlowSandboxCase(TransactionCase):
    """A TransactionCase whose company is connected to a fresh KashFlow sandbox."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = sandbox_process()
        if cls.sandbox is None:
            cls.skipTest(cls, "the KashFlow sandbox ships with the project's sources, not with the addon alone")
        cls.addClassCleanup(cls.sandbox.stop)
        cls.company = cls.env.company
        cls.company.write({
            "kashflow_username": SANDBOX_USER,
            "kashflow_password": SANDBOX_PASSWORD,
            "kashflow_url": cls.sandbox.service_url,
        })

    def setUp(self):
        super().setUp()
        self.sandbox.reset()
        self.sandbox.clear_faults()
