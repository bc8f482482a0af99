"""A neutral, frozen picture of a paid Odoo sale order: everything the KashFlow documents are built from.

The Odoo side fills these dataclasses from a ``sale.order`` and its commercial contact; ``documents.py``
turns them into KashFlow's ``Customer``, ``Invoice`` and ``Payment``. Nothing here knows Odoo or SOAP, so
both sides can be tested on their own. Money is ``decimal.Decimal`` in the order's currency, as Odoo
rounded it; never a float.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Address:
    """A postal address as Odoo holds it on a contact; ``country_code`` is ISO 3166-1 alpha-2."""

    street: str = ""
    street2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country_code: str = ""
    country_name: str = ""


@dataclass(frozen=True)
class CustomerSnapshot:
    """The Odoo commercial contact an order is invoiced to.

    ``code`` is the connector's KashFlow customer code for that contact (``documents.customer_code``).
    ``delivery_address`` is the order's delivery address, or ``None`` when the goods go to the invoice
    address.
    """

    code: str
    name: str
    contact_name: str = ""
    email: str = ""
    phone: str = ""
    mobile: str = ""
    vat: str = ""
    is_company: bool = False
    invoice_address: Address = field(default_factory=Address)
    delivery_address: Address | None = None


@dataclass(frozen=True)
class LineSnapshot:
    """One order line, with Odoo's own amounts in the order currency.

    ``kind`` is ``"product"``, ``"delivery"`` or ``"discount"``. ``price_subtotal`` is the net line total
    after the line's ``discount`` percentage, ``price_tax`` its VAT and ``price_total`` their sum.
    ``vat_rate`` is the VAT percentage (``Decimal("20")``), ``None`` for no VAT or exempt. Discount lines
    (a promotion, say) have negative amounts.
    """

    kind: str
    description: str
    quantity: Decimal
    price_unit: Decimal
    discount: Decimal
    price_subtotal: Decimal
    price_tax: Decimal
    price_total: Decimal
    vat_rate: Decimal | None
    product_code: str = ""


@dataclass(frozen=True)
class Mapping:
    """The KashFlow ids chosen for the order's sales channel."""

    payment_method_id: int
    bank_account_id: int
    source_id: int
    goods_nominal_id: int
    delivery_nominal_id: int


@dataclass(frozen=True)
class OrderSnapshot:
    """A paid sale order.

    ``exchange_rate`` is units of the order currency per one unit of the home currency (1 for the home
    currency). ``include_vat`` is off when the seller is not VAT-registered in KashFlow.
    ``currency_decimals`` is how many decimal places the order currency has.
    """

    name: str
    customer: CustomerSnapshot
    lines: tuple[LineSnapshot, ...]
    currency_code: str
    home_currency_code: str
    exchange_rate: Decimal
    date_paid: datetime.date
    amount_untaxed: Decimal
    amount_tax: Decimal
    amount_total: Decimal
    amount_paid: Decimal
    include_vat: bool
    currency_decimals: int = 2
