"""The shop the fault scenarios sell from, written into their database before Odoo's server starts.

``python3 tests/runner/shop_data.py -c CONFIG --sandbox-url URL --username USER --password PASSWORD --out FILE``

Works on the database of Odoo's configuration file ``CONFIG`` (one with the connector installed and nothing else
done), in one transaction: the company becomes a UK seller in pounds with 20% and 5% VAT, a web shop (a Sales
Team) and three products; the connector is switched on and pointed at the KashFlow sandbox at ``URL`` with that
login, *Download Data* is run and the web shop is mapped. The job functions' retry pattern is shortened to seconds
(:data:`RETRY_PATTERN`), so that a job retried with back-off is retried within the test. What the scenarios need to
know (record ids) is written as JSON to ``FILE``.

Odoo's own code only, as a seller's clicks would run it; nothing of the connector is patched.
"""

import argparse
import json
from pathlib import Path

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.modules.registry import Registry
from odoo.tools import config

COMPANY = {"name": "Harbour & Loom Ltd", "street": "3 Quayside", "city": "Whitby", "zip": "YO21 1DH",
           "email": "accounts@harbourandloom.example.co.uk"}
#: After N retries, the job waits that many seconds: the shape of the addon's own pattern (1: 60, 3: 300,
#: 5: 1800 seconds), in seconds, so that a long outage ends within the test.
RETRY_PATTERN = {1: 1, 2: 2, 3: 3}
JOB_FUNCTIONS = ("kashflow_connector.job_function_sale_order_kashflow_sync_job",
                 "kashflow_connector.job_function_kashflow_customer_job")
PRODUCTS = {
    "board": ("Oak chopping board", "OAK-BOARD", 25.00, "vat20", "consu"),
    "book": ("Children's cookbook", "BOOK-KIDS", 8.99, "vat5", "consu"),
    "delivery": ("Royal Mail Tracked 48", "DEL-RM48", 4.99, "vat20", "service"),
}


def load(env, sandbox_url, username, password):
    """The shop, in ``env``'s transaction; what the scenarios need to know."""
    company = env.company
    gbp = env.ref("base.GBP")
    gbp.active = True
    company.write({**COMPANY, "country_id": env.ref("base.uk").id, "currency_id": gbp.id})
    taxes = {
        "vat20": env["account.tax"].create({"name": "VAT 20%", "amount": 20, "amount_type": "percent",
                                            "type_tax_use": "sale", "company_id": company.id}),
        "vat5": env["account.tax"].create({"name": "VAT 5%", "amount": 5, "amount_type": "percent",
                                           "type_tax_use": "sale", "company_id": company.id}),
    }
    products = {
        key: env["product.product"].create({
            "name": name, "default_code": code, "list_price": price, "type": kind, "invoice_policy": "order",
            "taxes_id": [Command.set(taxes[tax].ids)]})
        for key, (name, code, price, tax, kind) in PRODUCTS.items()
    }
    team = env.ref("sales_team.team_sales_department")
    team.name = "Web shop"
    company.write({
        "kashflow_enabled": True, "kashflow_username": username, "kashflow_password": password,
        "kashflow_url": sandbox_url, "kashflow_include_vat": True,
        "kashflow_start_date": fields.Date.subtract(fields.Date.context_today(company), days=7),
    })
    company._kashflow_download_data()
    lookups = env["kashflow.lookup"].search([("company_id", "=", company.id)])

    def first(kind, code=None):
        return lookups.filtered(lambda lookup: lookup.kind == kind and code in (None, lookup.code))[:1]

    env["kashflow.channel"].search([("company_id", "=", company.id), ("team_id", "=", team.id)]).write({
        "payment_method_id": first("payment_method").id, "bank_account_id": first("bank_account").id,
        "source_id": first("customer_source").id, "goods_nominal_id": first("nominal_code", "4000").id,
        "delivery_nominal_id": first("nominal_code", "4900").id,
    })
    for xmlid in JOB_FUNCTIONS:
        env.ref(xmlid).retry_pattern = RETRY_PATTERN
    return {
        "company_id": company.id, "team_id": team.id, "products": {key: p.id for key, p in products.items()},
        "prices": {key: values[2] for key, values in PRODUCTS.items()},
        "backfill_cron_id": env.ref("kashflow_connector.ir_cron_kashflow_backfill").id,
        "resend_action_id": env.ref("kashflow_connector.sale_order_action_kashflow_resend").id,
        "retry_pattern": RETRY_PATTERN, "customer_code_prefix": company._kashflow_code_prefix(),
        "bank_journal_id": env["account.journal"].search(
            [("company_id", "=", company.id), ("type", "=", "bank")], limit=1).id,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", required=True, help="Odoo's configuration file; its db_name is used")
    parser.add_argument("--sandbox-url", required=True, help="the sandbox's SOAP service URL")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--out", required=True, type=Path, help="where to write, as JSON, what the scenarios need")
    args = parser.parse_args()
    config.parse_config(["-c", args.config], setup_logging=True)
    with Registry(config["db_name"]).cursor() as cr:
        shop = load(api.Environment(cr, SUPERUSER_ID, {}), args.sandbox_url, args.username, args.password)
    args.out.write_text(json.dumps(shop))


if __name__ == "__main__":
    main()
