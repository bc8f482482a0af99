"""Benchmarks: ``make bench``. They print figures, assert nothing, and write them all as tables to
``docs/benchmarks.md`` (overwritten by each run).

Without Odoo, against the KashFlow sandbox over loopback:

- the WSDL parse (once per process and endpoint), ours and, where the reference copy is at hand, KashFlow's;
- one InsertInvoice with 5 lines through the client, against posting the same envelope with requests and
  parsing the answer with lxml (what zeep adds over a bare round trip);
- a whole order (customer, invoice, payment) through ``booking.sync_order``, new customers and returning ones;
- the memory a batch of orders takes (tracemalloc peak).

Then, in a process of its own, the benchmarks inside Odoo (``tools/bench_odoo.py``: calls per order by case,
the payment hook's cost, a contact edit, the back-fill through queue_job's runner and its memory).
``--no-odoo`` runs only the first ones (and writes no file).

Figures from one run are comparable with each other (same machine, same moment); compare ratios, not
absolute times, across runs.
"""

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

import requests
from bench_report import Table, load
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "kashflow_connector")]

import zeep  # noqa: E402

from kashflow import client as client_module  # noqa: E402
from kashflow import documents  # noqa: E402
from kashflow.booking import CustomerState, sync_order  # noqa: E402
from kashflow.client import KashFlowClient  # noqa: E402
from kashflow.snapshot import (  # noqa: E402
    INVOICE,
    Address,
    CustomerSnapshot,
    InvoiceSnapshot,
    LineSnapshot,
    Mapping,
    OrderSnapshot,
    PaymentSnapshot,
)
from kashflow_sandbox.testing import SandboxProcess  # noqa: E402

REFERENCE_WSDL = ROOT.parent / "shared" / "kashflow" / "KashFlow-2017.wsdl"
RESULTS = ROOT / "docs" / "benchmarks.md"
ROUNDS = 200
PAID = datetime.date(2026, 11, 20)


def timed(function, rounds):
    """Median and 90th percentile, in milliseconds, of ``rounds`` calls."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9)]


def an_order(number, customer_number):
    """A paid order of four lines and delivery with 20% VAT (102.00), for customer ``customer_number``."""
    customer = CustomerSnapshot(
        code=documents.customer_code(customer_number), name=f"Customer {customer_number}",
        email=f"customer{customer_number}@example.co.uk",
        invoice_address=Address(street="1 High Street", city="York", zip="YO1 7HH", country_code="GB",
                                country_name="United Kingdom"))
    lines = tuple(
        LineSnapshot("product", f"Item {index}", Decimal("2"), Decimal("10.00"), Decimal("0"), Decimal("20.00"),
                     Decimal("4.00"), Decimal("20")) for index in range(4)
    ) + (LineSnapshot("delivery", "Delivery", Decimal("1"), Decimal("5.00"), Decimal("0"), Decimal("5.00"),
                      Decimal("1.00"), Decimal("20")),)
    name = f"S{number:05d}"
    invoice = InvoiceSnapshot(
        key="order", kind=INVOICE, reference=name, date=PAID, lines=lines, currency_code="GBP",
        exchange_rate=Decimal(1), amount_net=Decimal("85.00"), amount_vat=Decimal("17.00"),
        amount_total=Decimal("102.00"))
    payment = PaymentSnapshot(key=f"payment:{number}", invoice_key="order", amount=Decimal("102.00"), date=PAID,
                              reference=f"PBNK1/2026/{number:05d}")
    return OrderSnapshot(name=name, customer=customer, home_currency_code="GBP", include_vat=True,
                         documents=(invoice,), payments=(payment,))


def bench_wsdl():
    table = Table("WSDL parse (once per process and endpoint)", ["", "median", "p90"])
    table.add("project WSDL (the operations the connector uses)",
              *_ms(timed(lambda: zeep.Client(str(client_module.WSDL_PATH)), 10)))
    if REFERENCE_WSDL.exists():
        table.add("KashFlow's 2017 WSDL (all 164 operations)", *_ms(timed(lambda: zeep.Client(str(REFERENCE_WSDL)), 5)))
    return table


def _ms(figures):
    return [f"{figure:.2f} ms" for figure in figures]


def bench_insert_invoice(kf, password, mapping, customer_id):
    table = Table(f"InsertInvoice with 5 lines, {ROUNDS} calls each", ["", "median", "p90"])
    order = an_order(1, 1)
    invoice = documents.invoice_document(order, order.documents[0], customer_id=customer_id, mapping=mapping)
    zeep_median, zeep_p90 = timed(lambda: kf.insert_invoice(invoice), ROUNDS)
    table.add("through the client (zeep)", *_ms((zeep_median, zeep_p90)))

    zeep_client, service = client_module._endpoints.get(kf.url, kf.timeout)
    element = kf._invoice_element(invoice)
    envelope = etree.tostring(zeep_client.create_message(
        service, "InsertInvoice", UserName=kf.username, Password=password, Inv=element))
    session = requests.Session()
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"KashFlow/InsertInvoice"'}

    def bare():
        answer = session.post(kf.url, data=envelope, headers=headers, timeout=(10, 60))
        etree.fromstring(answer.content).findtext(".//{KashFlow}InsertInvoiceResult")

    bare_median, bare_p90 = timed(bare, ROUNDS)
    table.add("same envelope posted with requests, answer parsed with lxml", *_ms((bare_median, bare_p90)))
    table.add("ratio client / bare round trip", f"{zeep_median / bare_median:.2f}", "")
    return table


def bench_orders(kf, mapping, sandbox):
    rounds = ROUNDS // 2
    table = Table(f"Whole orders through sync_order (customer, invoice, payment), {rounds} orders each",
                  ["", "median", "p90", "KashFlow calls per order"])
    counter = iter(range(10_000, 100_000))
    returning = CustomerState()  # kept across orders, as the Odoo side keeps the contact's binding
    sync_order(kf, an_order(next(counter), 7), mapping, returning, {})
    for label, state in (("new customer each time", CustomerState), ("returning customer", lambda: returning)):
        mark = sandbox.last_call()
        if label.startswith("new"):
            figures = timed(lambda state=state: sync_order(
                kf, an_order(next(counter), next(counter)), mapping, state(), {}), rounds)
        else:
            figures = timed(lambda state=state: sync_order(kf, an_order(next(counter), 7), mapping, state(), {}),
                            rounds)
        table.add(label, *_ms(figures), f"{len(sandbox.calls(since=mark)) / rounds:.1f}")
    table.note("the returning customer gains an invoice each round: its cost stays flat as its history grows")
    return table


def bench_memory(kf, mapping):
    tracemalloc.start()
    for number in range(50):
        sync_order(kf, an_order(200_000 + number, 200_000 + number), mapping, CustomerState(), {})
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    table = Table("Memory of sync_order", ["", "peak (tracemalloc)"])
    table.add("50 orders, one after the other", f"{peak / 1024:.0f} KiB")
    return table


def plain_benchmarks():
    """The benchmarks without Odoo, each table printed as it is done."""
    with tempfile.TemporaryDirectory() as folder, \
            SandboxProcess(Path(folder) / "bench.sqlite3", username="bench", password="bench-pass") as sandbox:
        kf = KashFlowClient("bench", "bench-pass", url=sandbox.service_url)
        methods, accounts = kf.payment_methods(), kf.bank_accounts()
        nominals = {nominal["Code"]: nominal["id"] for nominal in kf.nominal_codes()}
        mapping = Mapping(methods[0]["MethodID"], accounts[0]["AccountID"], 0, nominals[4000], nominals[4900])
        customer_id = kf.insert_customer(documents.customer_document(
            an_order(1, 1).customer, source_id=0, now=datetime.datetime(2026, 11, 20, 12)))
        print(f"kashflow_connector benchmarks, Python {sys.version.split()[0]}, sandbox at {sandbox.url}")
        tables = []
        for step in (bench_wsdl, lambda: bench_insert_invoice(kf, "bench-pass", mapping, customer_id),
                     lambda: bench_orders(kf, mapping, sandbox), lambda: bench_memory(kf, mapping)):
            tables.append(step())
            print(tables[-1].text())
        return tables


def odoo_benchmarks():
    """``tools/bench_odoo.py`` in a process of its own (it loads Odoo); its tables, or a note of its failure."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "tables.json"
        result = subprocess.run([sys.executable, str(Path(__file__).with_name("bench_odoo.py")), "--json",
                                 str(output)], check=False, cwd=ROOT)
        tables = load(output) if output.exists() else []
        if result.returncode:
            failed = Table("Benchmarks inside Odoo", [""])
            failed.add(f"tools/bench_odoo.py failed (exit {result.returncode}); see its output")
            tables.append(failed)
        return tables, result.returncode


def write_results(plain, odoo, started, load_before):
    """``docs/benchmarks.md``: every table of this run, and where and when it ran."""
    seconds = time.monotonic() - started
    try:
        from odoo import release  # noqa: PLC0415 - only for its version, when Odoo is there
        odoo_version = f", Odoo {release.version}"
    except ImportError:
        odoo_version = ""
    header = [
        "# Benchmarks",
        "",
        f"Written by `make bench` ({Path(__file__).relative_to(ROOT)} and tools/bench_odoo.py) on "
        f"{datetime.datetime.now():%Y-%m-%d %H:%M}, in {seconds / 60:.1f} minutes; each run overwrites this file.",
        f"Machine: {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, Python "
        f"{platform.python_version()}{odoo_version}; load average {load_before:.1f} before the run, "
        f"{os.getloadavg()[0]:.1f} after (other work shared the machine: times vary, counts do not).",
        "",
        "Figures from one run compare with each other; compare ratios, not absolute times, across runs. SQL "
        "queries and KashFlow calls are counts: they do not depend on the machine.",
        "",
    ]
    sections = ["## Without Odoo: the client and sync_order against the sandbox", ""]
    sections += [table.markdown() for table in plain]
    sections += ["## Inside Odoo: the connector's jobs, hooks and back-fill", ""]
    sections += [table.markdown() for table in odoo]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(header + sections))
    print(f"bench: {len(plain) + len(odoo)} tables written to {RESULTS.relative_to(ROOT)} ({seconds:.0f} s in all)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-odoo", action="store_true", help="only the benchmarks that need no Odoo")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    started, load_before = time.monotonic(), os.getloadavg()[0]
    plain = plain_benchmarks()
    if args.no_odoo:
        return
    odoo, status = odoo_benchmarks()
    write_results(plain, odoo, started, load_before)
    sys.exit(status)


if __name__ == "__main__":
    main()
