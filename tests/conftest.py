"""Fixtures shared by the project's tests: a KashFlow sandbox running in a subprocess, and KashFlow's real WSDLs."""

import os
import sys
from pathlib import Path

import pytest

# The repository root (for kashflow_sandbox) and the addon's directory: its plain-Python package is imported
# as `kashflow`, since the addon's own __init__ imports Odoo.
REPOSITORY = Path(__file__).resolve().parent.parent
for path in (REPOSITORY, REPOSITORY / "kashflow_connector"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

SANDBOX_USERNAME = "tester"
SANDBOX_PASSWORD = "s3cret-pass"

#: Where the copies of KashFlow's real WSDLs (KashFlow-2017.wsdl, KashFlow-2026.wsdl) are: reference data kept
#: outside the project, in shared/kashflow/ beside the checkout, or in the folder this environment variable names.
REFERENCE_WSDL_VARIABLE = "KASHFLOW_REFERENCE_WSDL_DIR"
REFERENCE_WSDL_DIRECTORY = Path(os.environ.get(REFERENCE_WSDL_VARIABLE) or REPOSITORY.parent / "shared" / "kashflow")


@pytest.fixture(scope="session")
def kashflow_wsdl():
    """``kashflow_wsdl(year)``: the path of KashFlow's real WSDL of that year (2017 or 2026). Where it is missing,
    the test is skipped, and pytest's summary says where the file was looked for."""

    def path(year):
        found = REFERENCE_WSDL_DIRECTORY / f"KashFlow-{year}.wsdl"
        if not found.is_file():
            pytest.skip(f"KashFlow's reference WSDL {found.name} is not in {REFERENCE_WSDL_DIRECTORY}; put the copies "
                        f"in shared/kashflow/ beside the checkout, or name their folder in {REFERENCE_WSDL_VARIABLE}")
        return found

    return path


@pytest.fixture(scope="session")
def sandbox_process(tmp_path_factory):
    """One sandbox for the whole session, with its data file in a temporary directory."""
    from kashflow_sandbox.testing import SandboxProcess

    data_path = tmp_path_factory.mktemp("kashflow-sandbox") / "kashflow.sqlite3"
    with SandboxProcess(data_path, username=SANDBOX_USERNAME, password=SANDBOX_PASSWORD) as process:
        yield process


@pytest.fixture
def sandbox(sandbox_process):
    """The session's sandbox, back to its seeded account with no faults."""
    sandbox_process.clear_faults()
    sandbox_process.reset()
    return sandbox_process


# These tests need no Odoo. When pytest-odoo is installed it adds session fixtures that load an Odoo registry;
# the same names here keep them from running for this folder (the addon's own tests still get them).
@pytest.fixture(scope="session", autouse=True)
def load_registry():
    yield


@pytest.fixture(scope="session", autouse=True)
def load_http():
    yield


@pytest.fixture(scope="module", autouse=True)
def enable_odoo_test_flag():
    yield
