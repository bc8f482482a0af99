"""The sandbox's home page: what the account holds, readable in a browser; and its favicon.

Each invoice shows its lines, its payments (negative ones too: refunds and credit-note applications), when
it was last updated and how many times; a credit note is labelled as one, with its applications. The page
ends with the last SOAP calls the sandbox answered (see ``GET /_sandbox/calls``).
"""

import json
import struct
from decimal import Decimal
from html import escape

from .service import line_net

#: How many of the latest SOAP calls the page lists.
RECENT_CALLS = 20

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.inner { margin: 0.25rem 0; font-size: 0.9rem; }
tr.details > td { background: #fafafa; padding: 0.25rem 0.6rem 0.6rem; }
div.details { display: flex; flex-wrap: wrap; gap: 0 2rem; }
div.details h3 { font-size: 0.85rem; margin: 0.4rem 0 0; color: #555; }
.muted { color: #777; } .paid { color: #1a7f37; } .unpaid { color: #b35900; } .refused { color: #b3261e; }
.badge { display: inline-block; padding: 0 0.4rem; border-radius: 0.6rem; font-size: 0.8rem;
         background: #e8f0fe; color: #1a4fa0; white-space: nowrap; }
.badge.credit { background: #fde7e9; color: #a1142a; }
tr.credit-note > td:first-child { border-left: 4px solid #a1142a; }
"""

_OUTCOME_CLASSES = {"ok": "paid", "no": "unpaid"}


def _cell(value, numeric=False):
    text = "" if value is None else escape(str(value))
    return f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>"


def _html_cell(html):
    return f"<td>{html}</td>"


def _table(headings, rows, css_class="", empty="None yet."):
    if not rows:
        return f'<p class="muted">{escape(empty)}</p>'
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
    return _table(["Description", "Qty", "Rate", "Net", "VAT %", "VAT", "Nominal"], rows, "inner", "No lines.")


def _payments(payments, methods, accounts):
    rows = []
    for p in payments:
        note = escape(p.get("PayNote") or "")
        if p.get("CreditNoteApplication"):
            note = f'<span class="badge credit">credit note</span> {note}'
        elif Decimal(p["PayAmount"]) < 0:
            note = f'<span class="badge">refund</span> {note}'
        rows.append([_cell(p["PayID"]), _cell(p.get("PayDate")), _cell(methods.get(p["PayMethod"], p["PayMethod"])),
                     _cell(accounts.get(p["PayAccount"], p["PayAccount"])), _cell(p["PayAmount"], True),
                     _html_cell(note)])
    return _table(["PayID", "Date", "Method", "Account", "Amount", "Note"], rows, "inner", "No payments.")


def _status(invoice):
    if invoice.get("CreditNote"):
        if invoice["Paid"]:
            return '<td class="paid">Fully applied</td>'
        return '<td class="unpaid">Applied in part</td>' if Decimal(invoice["AmountPaid"]) else (
            '<td class="unpaid">Not applied</td>')
    return '<td class="paid">Paid</td>' if invoice["Paid"] else '<td class="unpaid">Unpaid</td>'


def _updates(invoice):
    count = invoice.get("UpdateCount") or 0
    if not count:
        return f'<td>{escape(str(invoice.get("Created") or ""))}<br><span class="muted">never updated</span></td>'
    times = "1 update" if count == 1 else f"{count} updates"
    return f'<td>{escape(str(invoice.get("Updated") or ""))}<br><span class="muted">{times}</span></td>'


def _invoices(state):
    """One row per invoice, and under it a full-width row with its lines and its payments."""
    if not state["invoices"]:
        return '<p class="muted">None yet.</p>'
    nominals = {0: "Other", **{n["id"]: f'{n["Code"]} {n["Name"]}' for n in state["lookups"]["nominal_codes"]}}
    methods = _names(state["lookups"]["payment_methods"], "MethodID", "MethodName")
    accounts = _names(state["lookups"]["bank_accounts"], "AccountID", "AccountName")
    payments_by_invoice = {}
    for payment in state["payments"]:
        payments_by_invoice.setdefault(payment["PayInvoice"], []).append(payment)
    headings = ["Number", "Date", "Customer", "Reference", "Currency", "Net", "VAT", "Total", "Paid", "Status",
                "Updated"]
    rows = []
    for invoice in state["invoices"]:
        total = Decimal(invoice["NetAmount"]) + Decimal(invoice["VATAmount"])
        number = escape(str(invoice["InvoiceNumber"]))
        credit_note = invoice.get("CreditNote")
        kind = ' <span class="badge credit">Credit note</span>' if credit_note else ""
        cells = [_html_cell(f"{number}{kind}<br><span class=\"muted\">id {invoice['InvoiceDBID']}</span>"),
                 _cell(invoice.get("InvoiceDate")), _cell(invoice.get("CustomerName")),
                 _cell(invoice.get("CustomerReference")), _cell(invoice.get("CurrencyCode")),
                 _cell(invoice["NetAmount"], True), _cell(invoice["VATAmount"], True), _cell(total, True),
                 _cell(invoice["AmountPaid"], True), _status(invoice), _updates(invoice)]
        payments = _payments(payments_by_invoice.get(invoice["InvoiceNumber"], []), methods, accounts)
        details = (f'<td colspan="{len(headings)}"><div class="details">'
                   f"<div><h3>Lines</h3>{_lines(invoice['Lines'], nominals)}</div>"
                   f"<div><h3>Payments</h3>{payments}</div></div></td>")
        css_class = "credit-note" if credit_note else "invoice"
        rows.append(f'<tr class="{css_class}">{"".join(cells)}</tr><tr class="{css_class} details">{details}</tr>')
    head = "".join(f"<th>{escape(heading)}</th>" for heading in headings)
    return f'<table class="invoices"><tr>{head}</tr>{"".join(rows)}</table>'


def _access(state):
    access = state["access"]
    restriction = "on" if access["restrict_ips"] else "off"
    rows = [[_cell(entry["ip"]), _cell(entry["comment"])] for entry in access["allowed_ips"]]
    table = _table(["IP address", "Comment"], rows)
    return f"<p>IP restriction is <strong>{restriction}</strong>.</p>{table}"


def _calls(calls):
    rows = []
    for call in reversed(calls[-RECENT_CALLS:]):
        outcome = escape(call["outcome"])
        css_class = _OUTCOME_CLASSES.get(call["outcome"], "refused")
        rows.append([_cell(call["sequence"], True), _cell(call["time"]), _cell(call["operation"]),
                     f'<td class="{css_class}">{outcome}</td>', _cell(call.get("detail"))])
    return _table(["#", "Time", "Operation", "Outcome", "Detail"], rows)


def render(state, calls=()):
    """The HTML page of a :meth:`KashFlowService.state` snapshot (plus its ``faults``) and the recorded
    ``calls`` (oldest first; the latest :data:`RECENT_CALLS` are shown, newest first)."""
    faults = escape(json.dumps(state.get("faults", {})))
    return (
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>KashFlow sandbox</title>"
        f'<link rel="icon" href="/favicon.ico"><style>{_STYLE}</style></head><body><h1>KashFlow sandbox</h1>'
        f"<h2>Customers</h2>{_customers(state)}"
        f"<h2>Invoices and credit notes</h2>{_invoices(state)}"
        f"<h2>API access</h2>{_access(state)}"
        f'<h2>Injected faults</h2><p class="muted">{faults}</p>'
        f"<h2>Latest SOAP calls</h2>{_calls(list(calls))}"
        "</body></html>"
    )


# The favicon: a white "K" on KashFlow-ish teal, 16 x 16, drawn here so the sandbox ships no binary file.
_ICON_ROWS = (
    "................",
    ".tttttttttttttt.",
    ".tttttttttttttt.",
    ".ttwwttttttwwtt.",
    ".ttwwtttttwwttt.",
    ".ttwwttttwwtttt.",
    ".ttwwtttwwttttt.",
    ".ttwwwwwwtttttt.",
    ".ttwwwwwwtttttt.",
    ".ttwwtttwwttttt.",
    ".ttwwttttwwtttt.",
    ".ttwwtttttwwttt.",
    ".ttwwttttttwwtt.",
    ".tttttttttttttt.",
    ".tttttttttttttt.",
    "................",
)
_ICON_COLOURS = {".": (0, 0, 0, 0), "t": (0x8a, 0x7d, 0x00, 0xff), "w": (0xff, 0xff, 0xff, 0xff)}  # B, G, R, A


def _favicon():
    """A 16 x 16, 32-bit ICO file (one BMP image) of :data:`_ICON_ROWS`."""
    size = len(_ICON_ROWS)
    pixels = b"".join(bytes(_ICON_COLOURS[dot]) for row in reversed(_ICON_ROWS) for dot in row)  # bottom-up
    mask = bytes(size * 4)  # the AND mask: 1 bit a pixel, rows padded to 4 bytes; alpha does the work
    header = struct.pack("<IiiHHIIiiII", 40, size, size * 2, 1, 32, 0, len(pixels) + len(mask), 0, 0, 0, 0)
    image = header + pixels + mask
    directory = struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(image), 22)
    return directory + image


FAVICON = _favicon()
FAVICON_TYPE = "image/x-icon"
