"""The constants of the connector's Odoo side, in one place (as Odoo's payment providers keep theirs): selections,
job and lock identifiers, batch sizes and pauses, the fields whose change matters to KashFlow."""

from .kashflow.snapshot import Mapping

# ---------------------------------------------------------------------------- orders and their jobs

KASHFLOW_STATES = [
    ("not_paid", "Not paid yet"),
    ("queued", "Queued"),
    ("sent", "Sent"),
    ("changed", "Changed since sent"),
    ("needs_mapping", "Needs mapping"),
    ("failed", "Failed"),
    ("mismatch", "Mismatch"),
    ("excluded", "Excluded"),
    ("cancelled", "Cancelled"),
]
JOB_CHANNEL = "root.kashflow"
JOB_IDENTITY_PREFIX = "kashflow_connector:sale.order:"  # then the order's id: one waiting job per order
JOB_MAX_RETRIES = 8
BACKFILL_BATCH = 500
# Order fields whose change alters the invoice KashFlow holds for an order sent from its own lines.
ORDER_CONTENT_FIELDS = {"partner_id", "partner_shipping_id", "order_line", "currency_id"}
LINE_CONTENT_FIELDS = {"product_id", "name", "product_uom_qty", "price_unit", "discount", "tax_id",
                       "price_subtotal", "price_total"}
# States in which KashFlow holds (or is about to hold) something of the order: accounting changes follow.
IN_KASHFLOW_STATES = ("sent", "changed", "failed", "mismatch")
# How urgently an order's KashFlow state asks for someone's attention (1 first): the overview lists orders so.
ATTENTION = {"mismatch": 1, "failed": 2, "needs_mapping": 3, "changed": 4, "queued": 5, "not_paid": 6, "sent": 7,
             "excluded": 8, "cancelled": 9}
# The states the overview's dashboard counts, most urgent first.
DASHBOARD_STATES = ("mismatch", "failed", "needs_mapping", "changed", "queued", "sent")
DEFAULT_TIMEZONE = "Europe/London"

# ---------------------------------------------------------------------------- contacts and their KashFlow customers

# Contact fields that end up on the KashFlow customer.
PARTNER_CONTENT_FIELDS = {"name", "email", "phone", "mobile", "street", "street2", "city", "zip", "state_id",
                          "country_id", "vat", "parent_id", "is_company", "company_name", "type"}
CUSTOMER_JOB_IDENTITY = "kashflow_connector:kashflow.customer:{}"

# ---------------------------------------------------------------------------- the queue job: locks and pauses

ADVISORY_LOCK_CLASS = 0x4B46  # "KF": the first key of the advisory locks the connector takes on orders
CUSTOMER_LOCK_CLASS = 0x4B43  # "KC": ... on contacts, while their KashFlow customer may be created
SHARED_LOCK_CLASS = 0x4B44  # "KD": ... and on invoices and credit notes that serve several orders, while sent
SWITCHED_OFF_PAUSE = 3600
LOCKED_PAUSE = 30
CHANGED_PAUSE = 1  # the change that made a job's end fail is committed already: the job runs again at once
RATE_LIMITED_PAUSE = 60  # seconds a job waits after KashFlow's 429 when KashFlow did not say how long
SHARED_LOCKED_PAUSE = 5  # another order's job sends the shared invoice in about the time of its calls: seconds
CUSTOMER_KEY = "customer"  # the contact's customer among the journal's records

# ---------------------------------------------------------------------------- KashFlow documents

DOCUMENT_KINDS = [
    ("invoice", "Invoice"),
    ("credit_note", "Credit note"),
    ("payment", "Payment"),
]
DOCUMENT_STATES = [
    ("pending", "To send"),
    ("sent", "Sent"),
    ("removed", "Deleted"),
]
CHECK_RESULTS = [
    ("matches", "Matches"),
    ("differs", "Differs"),
]

# ---------------------------------------------------------------------------- the company's KashFlow account

# System parameter: how many seconds a KashFlow call may wait for its answer (default READ_TIMEOUT). A slow link to
# KashFlow may need more; the tests that stall the sandbox past it use less.
READ_TIMEOUT_PARAMETER = "kashflow_connector.read_timeout"
LOOKUP_KINDS = [
    ("payment_method", "Payment method"),
    ("bank_account", "Bank account"),
    ("customer_source", "Customer source"),
    ("nominal_code", "Nominal code"),
    ("currency", "Currency"),
]
INCOME_CODES = range(4000, 5000)
"""KashFlow's UK chart of accounts keeps sales (income) nominal codes in 4000-4999; GetNominalCodes gives no type."""
KASHFLOW_TREATMENTS = [
    ("vat", "VAT"),
    ("exempt", "VAT exempt"),
    ("charge", "Separate line without VAT"),
]

# ---------------------------------------------------------------------------- the reconciliation

WINDOW_DOCUMENTS = 500  # documents read back from KashFlow at a time (more only when one day holds more)
WINDOW_MAX_DAYS = 31  # days read back at a time at most, however few documents they hold
DEFAULT_PERIOD_MONTHS = 4  # the daily run's period, in whole months before the current one
RUN_STATES = [("running", "Running"), ("done", "Done"), ("failed", "Failed")]
CHECKED_STATES = ("sent", "mismatch")  # orders KashFlow holds and no job is about to change
LACKING_STATES = ("failed", "needs_mapping")  # orders KashFlow should hold, that no job is about to send
ORDER_BATCH = 100  # orders whose records are read together
# Compared fields of KashFlow that the connector sends as it decides (nominal codes, payment methods and bank
# accounts come from the channel's mapping, which the seller may change later): a zero mapping will do.
NO_MAPPING = Mapping(0, 0, 0, 0, 0)
