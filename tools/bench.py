"""Benchmarks against the KashFlow sandbox over loopback: ``make bench``. They print figures; they assert nothing.

- the WSDL parse (once per process and endpoint), ours and, where the reference copy is at hand, KashFlow's;
- one InsertInvoice with 5 lines through the client, against posting the same envelope with requests and
  parsing the answer with lxml (what zeep adds over a bare round trip);
- a whole order (customer, invoice, payment) through ``sync.sync_order``, new customers and returning ones;
- the memory a batch of orders takes (tracemalloc peak).

Figures from one run are comparable with each other (same machine, same moment); compare ratios, not
absolute times, across runs.
"""

import datetime
import statistics
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

import requests
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "kashflow_connector")]

import zeep  # noqa: E402

from kashflow import client as client_module  # noqa: E402
from kashflow import documents  # noqa: E402
from kashflow.client import KashFlowClient  # noqa: E402
from kashflow.snapshot import Address, CustomerSnapshot, LineSnapshot, Mapping, OrderSnapshot  # noqa: E402
from kashflow.sync import sync_order  # noqa: E402
from kashflow_sandbox.testing import SandboxProcess  # noqa: E402

REFERENCE_WSDL = ROOT.parent / "shared" / "kashflow" / "KashFlow-2017.wsdl"
ROUNDS = 200
NAME_WIDTH = 62  # the longest name of a figure, so that the figures line up in columns


def timed(function, rounds):
    """Median and 90th percentile, in milliseconds, of ``rounds`` calls."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9)]


def report(name, median, p90, unit="ms"):
    print(f"  {name:<{NAME_WIDTH}} median {median:8.2f} {unit}   p90 {p90:8.2f} {unit}")


def an_order(number, customer_number):
    customer = CustomerSnapshot(
        code=documents.customer_code(customer_number), name=f"Customer {customer_number}",
        email=f"customer{customer_number}@example.co.uk",
        invoice_address=Address(street="1 High Street", city="York", zip="YO1 7HH", country_code="GB",
                                country_name="United Kingdom"))
    lines = tuple(
        LineSnapshot("product", f"Item {index}", Decimal("2"), Decimal("10.00"), Decimal("0"), Decimal("20.00"),
                     Decimal("4.00"), Decimal("24.00"), Decimal("20")) for index in range(4)
    ) + (LineSnapshot("delivery", "Delivery", Decimal("1"), Decimal("5.00"), Decimal("0"), Decimal("5.00"),
                      Decimal("1.00"), Decimal("6.00"), Decimal("20")),)
    return OrderSnapshot(
        name=f"S{number:05d}", customer=customer, lines=lines, currency_code="GBP", home_currency_code="GBP",
        exchange_rate=Decimal("1"), date_paid=datetime.date(2026, 11, 20), amount_untaxed=Decimal("85.00"),
        amount_tax=Decimal("17.00"), amount_total=Decimal("102.00"), amount_paid=Decimal("102.00"),
        include_vat=True)


def bench_wsdl():
    print("WSDL parse (once per process and endpoint)")
    report("project WSDL (the operations the connector uses)",
           *timed(lambda: zeep.Client(str(client_module.WSDL_PATH)), 10))
    if REFERENCE_WSDL.exists():
        report("KashFlow's 2017 WSDL (all 164 operations)", *timed(lambda: zeep.Client(str(REFERENCE_WSDL)), 5))


def bench_insert_invoice(kf, password, mapping, customer_id):
    print(f"InsertInvoice with 5 lines, {ROUNDS} calls each")
    invoice = documents.invoice_document(an_order(1, 1), customer_id=customer_id, mapping=mapping)
    zeep_median, zeep_p90 = timed(lambda: kf.insert_invoice(invoice), ROUNDS)
    report("through the client (zeep)", zeep_median, zeep_p90)

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
    report("same envelope posted with requests, answer parsed with lxml", bare_median, bare_p90)
    print(f"  ratio client / bare round trip: {zeep_median / bare_median:.2f}")


def bench_orders(kf, mapping):
    print(f"Whole orders through sync_order (customer, invoice, payment), {ROUNDS // 2} orders each")
    counter = iter(range(10_000, 100_000))
    report("new customer each time (7 calls)",
           *timed(lambda: sync_order(kf, an_order(next(counter), next(counter)), mapping), ROUNDS // 2))
    report("returning customer, invoices looked up by reference (7 calls)",
           *timed(lambda: sync_order(kf, an_order(next(counter), 7), mapping), ROUNDS // 2))
    print("  (the returning customer gains an invoice each round: the last rounds search 100 invoices)")


def bench_memory(kf, mapping):
    tracemalloc.start()
    for number in range(50):
        sync_order(kf, an_order(200_000 + number, 200_000 + number), mapping)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"Memory: peak {peak / 1024:.0f} KiB traced while syncing 50 orders")


def main():
    with tempfile.TemporaryDirectory() as folder, \
            SandboxProcess(Path(folder) / "bench.sqlite3", username="bench", password="bench-pass") as sandbox:
        kf = KashFlowClient("bench", "bench-pass", url=sandbox.service_url)
        methods, accounts = kf.payment_methods(), kf.bank_accounts()
        nominals = {nominal["Code"]: nominal["id"] for nominal in kf.nominal_codes()}
        mapping = Mapping(methods[0]["MethodID"], accounts[0]["AccountID"], 0, nominals[4000], nominals[4900])
        customer_id = kf.insert_customer(documents.customer_document(
            an_order(1, 1).customer, source_id=0, now=datetime.datetime(2026, 11, 20, 12)))
        print(f"kashflow_connector benchmarks, Python {sys.version.split()[0]}, sandbox at {sandbox.url}")
        bench_wsdl()
        bench_insert_invoice(kf, "bench-pass", mapping, customer_id)
        bench_orders(kf, mapping)
        bench_memory(kf, mapping)


if __name__ == "__main__":
    main()
