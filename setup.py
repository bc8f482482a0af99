"""Packaging: ``python3 setup.py bdist_wheel`` (or ``pip wheel .``) builds odoo-addon-kashflow_connector.

The wheel installs the addon into Odoo's ``odoo/addons`` namespace, as the OCA's addon wheels do, so that
``pip install`` of it into an Odoo 18 environment makes *KashFlow Connector* installable from Apps. Its
version is the manifest's.
"""

import ast
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent
ADDON = "kashflow_connector"
MANIFEST = ast.literal_eval((HERE / ADDON / "__manifest__.py").read_text())

packages = sorted(
    "odoo.addons." + ".".join(path.parent.relative_to(HERE).parts)
    for path in (HERE / ADDON).rglob("__init__.py")
)

setup(
    name=f"odoo-addon-{ADDON}",
    version=MANIFEST["version"],
    description=MANIFEST["summary"],
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="LGPL-3.0-or-later",
    author=MANIFEST["author"],
    url=MANIFEST["website"],
    python_requires=">=3.10",
    install_requires=[
        "odoo>=18.0a,<18.1dev",
        "odoo-addon-queue_job>=18.0.3.1.2,<18.1dev",
        *MANIFEST["external_dependencies"]["python"],
    ],
    packages=packages,
    package_dir={f"odoo.addons.{ADDON}": ADDON},
    package_data={f"odoo.addons.{ADDON}": [
        "README.rst", "i18n/*.pot", "i18n/*.po", "security/*", "data/*.xml", "data/*.sql", "views/*.xml",
        "static/description/*", "static/src/**/*", "static/tests/**/*", "kashflow/wsdl/*.wsdl",
    ]},
    classifiers=[
        "Programming Language :: Python",
        "Framework :: Odoo",
        "Framework :: Odoo :: 18.0",
        "License :: OSI Approved :: GNU Lesser General Public License v3 or later (LGPLv3+)",
    ],
    zip_safe=False,
)
