"""The sandbox's home page: what the account holds, readable in a browser."""

import json
from decimal import Decimal
from html import escape

from .service import line_net

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.lines { margin: 0.25rem 0; font-size: 0.9rem; }
.muted { color: #777; } .paid { color: #1a7f37; } .unpaid { color: #b35900; }
"""


def _cell(value, numeric=False):
    text = "" if value is None else escape(str(value))
    return f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>"


def _table(headings, rows, css_class=""):
    if not rows:
        return '<p class="muted">None yet.</p>'
    head = "".join(f"<th>{escape(heading)}</th>" for heading in headings)
    body = "".join(f"<tr>{''.join(row)}</tr>" for row in rows)
    opening = f'<table class="{css_class}">' if css_class else "<table>"
    return f"{opening}<tr>{head}</tr>{body}</table>"


def _names(records, key, name):
    return {record[key]: record[name] for record in records}


def _customers(state):
    rows = [[_cell(c["CustomerID"]), _cell(c["Code"]), _cell(c.get("Name")), _cell(c.get("Email")),
             _cell(c.get("Postcode")), _cell(c.get("Created"))] for c in state["customers"]]
    return _table(["ID", "Code", "Name", "Email", "Postcode", "Created"], rows)


def _lines(lines, nominals):
    rows = [[_cell(line.get("Description")), _cell(line["Quantity"], True), _cell(line["Rate"], True),
             _cell(line_net(line), True), _cell(line["VatRate"], True), _cell(line["VatAmount"], True),
             _cell(nominals.get(line["ChargeType"], line["ChargeType"]))] for line in lines]
    return _table(["Description", "Qty", "Rate", "Net", "VAT %", "VAT", "Nominal"], rows, "lines")


def _invoices(state):
    nominals = {n["id"]: f'{n["Code"]} {n["Name"]}' for n in state["lookups"]["nominal_codes"]}
    rows = []
    for invoice in state["invoices"]:
        total = Decimal(invoice["NetAmount"]) + Decimal(invoice["VATAmount"])
        status = '<td class="paid">Paid</td>' if invoice["Paid"] else '<td class="unpaid">Unpaid</td>'
        lines = f"<td>{_lines(invoice['Lines'], nominals)}</td>"
        rows.append([_cell(invoice["InvoiceNumber"]), _cell(invoice.get("InvoiceDate")),
                     _cell(invoice.get("CustomerName")), _cell(invoice.get("CustomerReference")),
                     _cell(invoice.get("CurrencyCode")), _cell(invoice["NetAmount"], True),
                     _cell(invoice["VATAmount"], True), _cell(total, True),
                     _cell(invoice["AmountPaid"], True), status, lines])
    return _table(["Number", "Date", "Customer", "Reference", "Currency", "Net", "VAT", "Total", "Paid",
                   "Status", "Lines"], rows)


def _payments(state):
    methods = _names(state["lookups"]["payment_methods"], "MethodID", "MethodName")
    accounts = _names(state["lookups"]["bank_accounts"], "AccountID", "AccountName")
    rows = [[_cell(p["PayID"]), _cell(p["PayInvoice"]), _cell(p.get("PayDate")),
             _cell(methods.get(p["PayMethod"], p["PayMethod"])),
             _cell(accounts.get(p["PayAccount"], p["PayAccount"])), _cell(p["PayAmount"], True),
             _cell(p.get("PayNote"))] for p in state["payments"]]
    return _table(["PayID", "Invoice", "Date", "Method", "Account", "Amount", "Note"], rows)


def _access(state):
    access = state["access"]
    restriction = "on" if access["restrict_ips"] else "off"
    rows = [[_cell(entry["ip"]), _cell(entry["comment"])] for entry in access["allowed_ips"]]
    table = _table(["IP address", "Comment"], rows)
    return f"<p>IP restriction is <strong>{restriction}</strong>.</p>{table}"


def render(state):
    """The HTML page of a :meth:`KashFlowService.state` snapshot (plus its ``faults``)."""
    faults = escape(json.dumps(state.get("faults", {})))
    return (
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>KashFlow sandbox</title>"
        f"<style>{_STYLE}</style></head><body><h1>KashFlow sandbox</h1>"
        f"<h2>Customers</h2>{_customers(state)}"
        f"<h2>Invoices</h2>{_invoices(state)}"
        f"<h2>Payments</h2>{_payments(state)}"
        f"<h2>API access</h2>{_access(state)}"
        f'<h2>Injected faults</h2><p class="muted">{faults}</p>'
        "</body></html>"
    )
