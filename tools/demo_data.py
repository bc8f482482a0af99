"""The demo of ``make demo``: a UK homeware shop selling on Amazon, eBay, Etsy and its own web shop.

``tools/devenv.py demo`` runs it with the demo's Odoo configuration file, whose database it works on:

``python3 tools/demo_data.py -c CONFIG build --sandbox-url URL --summary FILE``
    Creates the database as Odoo's database manager does (country United Kingdom, login admin / admin, no
    Odoo demo data), installs the connector and the UK chart of accounts, then loads the demo: sales
    channels, products, customers, the KashFlow settings pointed at the sandbox, *Download Data*, the channel
    mapping, and orders in different KashFlow states. The KashFlow jobs of the paid orders run at once, so that the
    demo starts with orders in KashFlow. :data:`LOADED_KEY` is written last, in the same transaction: a
    database without it is incomplete.
``python3 tools/demo_data.py -c CONFIG connect --sandbox-url URL --summary FILE``
    Points the company of a built demo database at the sandbox again (its port may have changed).
``python3 tools/demo_data.py -c CONFIG serve [ODOO OPTIONS]``
    Odoo's server, as ``odoo -c CONFIG`` runs it, but for a quiet shutdown (see :func:`serve`).

``build`` and ``connect`` also make the screens match README.md's walk-through (:func:`present`) and write,
as JSON in ``FILE``, what the welcome message names: the order awaiting payment and its invoice.
"""

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.modules.registry import Registry
from odoo.service import db
from odoo.tools import config

LOADED_KEY = "kashflow_connector.demo_loaded"  # an ir.config_parameter; tools/devenv.py looks for it
ADMIN_LOGIN = ADMIN_PASSWORD = "admin"
SANDBOX_USERNAME = SANDBOX_PASSWORD = "demo"
MODULES = ["kashflow_connector", "l10n_uk", "delivery"]  # delivery: carrier lines, booked to the delivery nominal

COMPANY = {
    "name": "Oak & Ember Homeware Ltd", "street": "Unit 4, Canal Wharf", "city": "Leeds", "zip": "LS11 5PS",
    "phone": "0113 496 0500", "email": "accounts@oakandember.example.co.uk",
}

# The UK chart's sales taxes.
STANDARD_RATE, ZERO_RATE = "ST11", "ST0"


class Product(NamedTuple):
    name: str
    code: str
    price: float
    tax: str


PRODUCTS = {
    "board": Product("Oak Chopping Board", "OAK-BOARD", 25.00, STANDARD_RATE),
    "mug": Product("Enamel Camping Mug", "MUG-ENAMEL", 8.50, STANDARD_RATE),
    "skillet": Product("Cast Iron Skillet 26 cm", "SKILLET-26", 34.99, STANDARD_RATE),
    "throw": Product("Merino Wool Throw", "THROW-MERINO", 59.00, STANDARD_RATE),
    "book": Product("The Hedgerow Kitchen (hardback cookbook)", "BOOK-HEDGEROW", 16.99, ZERO_RATE),
}
DELIVERY = Product("Royal Mail Tracked 48", "DEL-RM48", 3.95, STANDARD_RATE)

# Customers: in the UK, but for one in Japan, whose orders are priced in yen. Their orders are delivered to
# their own address; Hannah also has a workshop, the delivery address README.md's walk-through switches to.
CUSTOMERS = {
    "hannah": {"name": "Hannah Fletcher", "street": "12 Mill Lane", "city": "Leeds", "zip": "LS6 2AB",
               "country": "GB", "email": "hannah.fletcher@example.co.uk", "phone": "0113 496 0000",
               "other_addresses": ({"type": "delivery", "name": "Workshop", "street": "Unit 7, Aire Street Studios",
                                    "city": "Leeds", "zip": "LS1 4PR"},)},
    "oliver": {"name": "Oliver Bennett", "street": "4 Royal York Crescent", "city": "Bristol", "zip": "BS8 4JY",
               "country": "GB", "email": "oliver.bennett@example.co.uk", "phone": "0117 496 0123"},
    "priya": {"name": "Priya Shah", "street": "27 Wilmslow Road", "city": "Manchester", "zip": "M14 5TB",
              "country": "GB", "email": "priya.shah@example.co.uk", "phone": "0161 496 0456"},
    "gareth": {"name": "Gareth Davies", "street": "9 Heol y Coed", "city": "Cardiff", "zip": "CF14 6HP",
               "country": "GB", "email": "gareth.davies@example.co.uk", "phone": "029 2018 0789"},
    "eilidh": {"name": "Eilidh MacLeod", "street": "16 Marchmont Road", "city": "Edinburgh", "zip": "EH9 1HZ",
               "country": "GB", "email": "eilidh.macleod@example.co.uk", "phone": "0131 496 0321"},
    "yuki": {"name": "Yuki Tanaka", "street": "2-11-3 Kamimeguro", "city": "Meguro-ku, Tokyo", "zip": "153-0051",
             "country": "JP", "email": "yuki.tanaka@example.jp", "currency": "JPY"},
}
# Units of a foreign currency per pound, for the pricelists of the customers paying in it.
EXCHANGE_RATES = {"JPY": 190.0}


class Channel(NamedTuple):
    name: str
    mapping: tuple  # KashFlow payment method, bank account, customer source, goods and delivery nominal codes
    marketplace_fulfilled: bool = False


# The sales channels (Sales Teams). The web shop is Odoo's default team, so orders entered by hand are its
# orders; Etsy is new and not mapped yet.
WEB_SHOP = "web"
CHANNELS = {
    WEB_SHOP: Channel("Web shop", ("Card", "Current Account", "Web shop", "4000", "4900")),
    "amazon": Channel("Amazon UK", ("Amazon", "Amazon Seller Account", "Amazon", "4010", "4900")),
    "fba": Channel("Amazon FBA", ("Amazon", "Amazon Seller Account", "Amazon", "4010", "4900"),
                   marketplace_fulfilled=True),
    "ebay": Channel("eBay", ("eBay Managed Payments", "Current Account", "eBay", "4010", "4900")),
    "etsy": Channel("Etsy", ()),
}
# The mapping's columns, in the order of Channel.mapping, with the kind of KashFlow value each takes.
MAPPING_COLUMNS = (("payment_method_id", "payment_method"), ("bank_account_id", "bank_account"),
                   ("source_id", "customer_source"), ("goods_nominal_id", "nominal_code"),
                   ("delivery_nominal_id", "nominal_code"))


class Order(NamedTuple):
    channel: str
    customer: str
    lines: tuple  # (product key, quantity) pairs
    paid: bool = True  # else confirmed and invoiced, the invoice awaiting payment
    delivery: bool = True


ORDERS = (
    Order("web", "hannah", (("board", 2), ("mug", 4))),  # Sent
    Order("ebay", "oliver", (("skillet", 1), ("book", 1))),  # Sent
    Order("amazon", "priya", (("throw", 1),), paid=False),  # Not paid yet: pay it and watch it go
    Order("fba", "gareth", (("mug", 2), ("book", 1)), delivery=False),  # Excluded: Amazon fulfils it
    Order("web", "yuki", (("throw", 1), ("board", 1))),  # Failed: the KashFlow account has no yen
    Order("etsy", "eilidh", (("book", 2),)),  # Needs mapping
)


# ---------------------------------------------------------------------------- commands

def build(db_name, sandbox_url):
    """Create the demo database, install the modules and load the demo; what :func:`summary` says."""
    config["list_db"] = True  # database management on, as Odoo's own ``odoo-bin db`` command does
    db.exp_create_database(db_name, demo=False, lang="en_GB", user_password=ADMIN_PASSWORD, login=ADMIN_LOGIN,
                           country_code="GB")
    with environment(db_name) as env:
        env["ir.module.module"].search([("name", "in", MODULES)]).button_immediate_install()
    with environment(db_name) as env:
        load(env, sandbox_url)
        present(env)
        return summary(env)


def connect(db_name, sandbox_url):
    """Point the demo company at the sandbox's SOAP service; what :func:`summary` says."""
    with environment(db_name) as env:
        env.company.kashflow_url = sandbox_url
        present(env)  # a database built by an older version of this file gets them too
        return summary(env)


def present(env):
    """The screens README.md's walk-through describes: the administrator lands on Sales > Orders, and orders
    show their invoice and delivery addresses (Settings > Invoicing > Customer Addresses, which is off in a new
    database)."""
    admin = env.ref("base.user_admin")
    admin.action_id = env.ref("sale.action_orders").id  # a window action, set as the generic action it is
    if not admin.has_group("account.group_delivery_invoice_address"):
        env["res.config.settings"].create({"group_sale_delivery_address": True}).execute()


def summary(env):
    """What the welcome message names: the first demo order whose invoice awaits payment, and that invoice
    (None once every order is paid)."""
    order = env["sale.order"].search(
        [("invoice_ids", "any", [("state", "=", "posted"), ("payment_state", "=", "not_paid")])], order="id", limit=1)
    invoice = order.invoice_ids.filtered(lambda move: move.payment_state == "not_paid")[:1]
    return {"order_to_pay": order.name or None, "customer_to_pay": order.partner_id.name or None,
            "invoice_to_pay": invoice.name or None}


def serve(odoo_options):
    """Run Odoo's server with ``odoo_options``, letting its cron threads end quietly when it stops.

    On its way out, Odoo's threaded server closes every database connection while its cron threads (daemon
    threads) still wait on theirs; one that wakes before the process is gone dies on the closed connection, and
    its traceback lands in the demo's log ("connection already closed"; odoo/odoo#96146, a limit Odoo keeps for
    its development server). Nothing is lost then: the process is ending. Here such an error, once the server
    has been asked to stop, just ends the thread.
    """
    import psycopg2

    from odoo import cli
    from odoo.service import server

    cron_thread = server.ThreadedServer.cron_thread

    def quiet_cron_thread(self, number):
        try:
            cron_thread(self, number)
        except (psycopg2.Error, OSError):  # poll() on the closed connection, or select() on its closed socket
            if not self.quit_signals_received:
                raise

    server.ThreadedServer.cron_thread = quiet_cron_thread
    sys.argv = ["odoo", *odoo_options]
    cli.main()


@contextmanager
def environment(db_name):
    """A superuser environment on ``db_name``, committed when the block ends without an error."""
    with Registry(db_name).cursor() as cr:
        yield api.Environment(cr, SUPERUSER_ID, {})


# ---------------------------------------------------------------------------- the demo

class Catalogue(NamedTuple):
    """What the orders are made of, by the keys ORDERS uses."""

    teams: dict
    products: dict
    customers: dict
    carrier: object


def load(env, sandbox_url):
    """Everything the demo shows, from the company to the orders, in one transaction; then the KashFlow jobs
    the payments queued, each in a transaction of its own, as queue_job's runner runs them."""
    company = env.company
    company.write(COMPANY)
    taxes = {code: env["account.chart.template"].ref(code) for code in (STANDARD_RATE, ZERO_RATE)}
    catalogue = Catalogue(
        teams=create_channels(env),
        products={key: create_product(env, product, taxes) for key, product in PRODUCTS.items()},
        customers={key: create_customer(env, **values) for key, values in CUSTOMERS.items()},
        carrier=create_carrier(env, taxes),
    )
    set_up_kashflow(company, sandbox_url)
    map_channels(env, company, catalogue.teams)
    for order in ORDERS:
        place_order(env, order, catalogue)
    perform_kashflow_jobs(env)
    env["ir.config_parameter"].set_param(LOADED_KEY, fields.Datetime.to_string(fields.Datetime.now()))


def create_product(env, product, taxes, **values):
    """A product for sale at ``product.price`` plus its VAT; ``values`` adds or overrides fields."""
    return env["product.product"].create({
        "name": product.name, "default_code": product.code, "list_price": product.price, "type": "consu",
        "invoice_policy": "order", "taxes_id": [Command.set(taxes[product.tax].ids)], **values,
    })


def create_carrier(env, taxes):
    """The shop's delivery method: a fixed price, charged on a delivery line."""
    product = create_product(env, DELIVERY, taxes, type="service", sale_ok=False)
    return env["delivery.carrier"].create({"name": DELIVERY.name, "product_id": product.id, "delivery_type": "fixed"})


def create_customer(env, country, currency=None, other_addresses=(), **values):
    """A customer in ``country`` (its code), with ``other_addresses`` in the same country; one paying in a
    foreign ``currency`` gets a pricelist in it."""
    values["country_id"] = env["res.country"].search([("code", "=", country)]).id
    values["child_ids"] = [Command.create({**address, "country_id": values["country_id"]})
                           for address in other_addresses]
    if currency:
        values["property_product_pricelist"] = foreign_pricelist(env, currency).id
    return env["res.partner"].create(values)


def foreign_pricelist(env, currency_code):
    """A pricelist in ``currency_code``, which gets activated, with its exchange rate of today."""
    currency = env["res.currency"].with_context(active_test=False).search([("name", "=", currency_code)])
    currency.active = True
    env["res.currency.rate"].create({"currency_id": currency.id, "company_id": env.company.id,
                                     "rate": EXCHANGE_RATES[currency_code]})
    return env["product.pricelist"].create({"name": f"Prices in {currency_code}", "currency_id": currency.id})


def create_channels(env):
    """The Sales Teams of the channels, by key; the web shop's is Odoo's default team, renamed."""
    web_shop = env.ref("sales_team.team_sales_department")
    web_shop.name = CHANNELS[WEB_SHOP].name
    return {key: web_shop if key == WEB_SHOP else env["crm.team"].create({"name": channel.name})
            for key, channel in CHANNELS.items()}


def set_up_kashflow(company, sandbox_url):
    """Settings > KashFlow as a seller fills it in, then *Download Data*."""
    company.write({
        "kashflow_enabled": True,
        "kashflow_username": SANDBOX_USERNAME,
        "kashflow_password": SANDBOX_PASSWORD,
        "kashflow_url": sandbox_url,
        "kashflow_start_date": fields.Date.subtract(fields.Date.context_today(company), months=1),
        "kashflow_include_vat": True,
        "kashflow_send_fba": False,
    })
    company._kashflow_download_data()


def map_channels(env, company, teams):
    """Fill in the channel mapping Download Data listed, but for the channels left unmapped."""
    lookups = env["kashflow.lookup"].search([("company_id", "=", company.id)])
    rows = env["kashflow.channel"].search([("company_id", "=", company.id)])
    for key, channel in CHANNELS.items():
        if not channel.mapping:
            continue
        values = {column: kashflow_value(lookups, kind, wanted).id
                  for (column, kind), wanted in zip(MAPPING_COLUMNS, channel.mapping, strict=True)}
        row = rows.filtered(lambda row, team=teams[key]: row.team_id == team)
        row.write({**values, "marketplace_fulfilled": channel.marketplace_fulfilled})


def kashflow_value(lookups, kind, wanted):
    """The downloaded KashFlow value of ``kind`` whose name or code is ``wanted``."""
    return lookups.filtered(lambda lookup: lookup.kind == kind and wanted in (lookup.name, lookup.code)).ensure_one()


def place_order(env, order, catalogue):
    """A sale order, confirmed and invoiced; paid the way orders get paid in Odoo: a payment of its invoice."""
    customer = catalogue.customers[order.customer]
    sale = env["sale.order"].create({
        "partner_id": customer.id,
        "partner_shipping_id": customer.id,  # the customer's own address, not one of their others (see CUSTOMERS)
        "team_id": catalogue.teams[order.channel].id,
        "user_id": env.ref("base.user_admin").id,  # the demo's salesperson: the administrator, who logs in
        "order_line": [Command.create({"product_id": catalogue.products[product].id, "product_uom_qty": quantity})
                       for product, quantity in order.lines],
    })
    if order.delivery:
        carrier = catalogue.carrier
        sale.set_delivery_line(carrier, carrier.rate_shipment(sale)["price"])
    sale.action_confirm()
    invoice = sale._create_invoices()
    invoice.action_post()
    if order.paid:
        env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids).create({})._create_payments()


def perform_kashflow_jobs(env):
    """Perform the KashFlow jobs the payments queued, oldest first, as queue_job's runner would: once what queued
    them is committed, each in a transaction of its own (a job keeps what it did in transactions of its own,
    which must see the orders and contacts it writes about)."""
    # Importable once Odoo has set its addons path up.
    from odoo.addons.kashflow_connector.const import JOB_CHANNEL
    from odoo.addons.queue_job.job import Job

    env.cr.commit()  # a tool building a database, not business code
    for record in env["queue.job"].search([("channel", "=", JOB_CHANNEL), ("state", "=", "pending")], order="id"):
        job = Job.load(env, record.uuid)
        job.set_started()
        job.perform()
        job.set_done()
        job.store()
        env.cr.commit()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", required=True, help="Odoo's configuration file; its db_name is used")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("build", "create the demo database"), ("connect", "point a built one at the sandbox")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--sandbox-url", required=True, help="the sandbox's SOAP service URL")
        command.add_argument("--summary", required=True, type=Path,
                             help="where to write, as JSON, what the welcome message names")
    commands.add_parser("serve", help="Odoo's server; other arguments are Odoo's options")
    args, odoo_options = parser.parse_known_args()
    if args.command == "serve":
        serve(["-c", args.config, *odoo_options])
        return
    if odoo_options:
        parser.error(f"unrecognised arguments: {' '.join(odoo_options)}")
    config.parse_config(["-c", args.config], setup_logging=True)
    run = build if args.command == "build" else connect
    args.summary.write_text(json.dumps(run(config["db_name"], args.sandbox_url)))


if __name__ == "__main__":
    main()
