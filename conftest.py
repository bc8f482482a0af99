"""pytest set-up for the whole project.

pytest-odoo imports Odoo's test framework before it switches Odoo's test mode on, and Odoo logs an ERROR
when its test framework is imported outside test mode. Importing it here first, in test mode, keeps that
false alarm out of the test output. Nothing happens where Odoo is not installed (``tests/`` needs no Odoo).
"""

try:
    from odoo.tools import config as _odoo_config
except ImportError:
    _odoo_config = None

if _odoo_config is not None:
    _test_enable = _odoo_config["test_enable"]
    _odoo_config["test_enable"] = True
    import odoo.tests  # noqa: F401

    _odoo_config["test_enable"] = _test_enable
