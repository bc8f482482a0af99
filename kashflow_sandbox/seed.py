"""The seeded KashFlow account: demo credentials, first ids and the look-up lists of a small UK web shop.

The look-ups are written into a new data file once and never changed afterwards. Each record carries the
fields of its KashFlow type (``BankAccount``, ``PaymentMethod``, ``BasicDataset``, ``NominalCode``,
``Currencies``); money and rates are decimal strings.
"""

DEFAULT_USERNAME = "demo"
DEFAULT_PASSWORD = "demo"
DEFAULT_AUTO_AUTH_KEY = "5A3C19E0-7B24-4D8F-A61C-2E9B0F47D8C3"

HOME_CURRENCY = "GBP"

#: First value handed out by each id sequence, chosen to look like ids of a real, established account.
FIRST_IDS = {
    "customer": 10001,
    "customer_code": 1,
    "invoice": 2400001,
    "invoice_line": 9100001,
    "payment": 50001,
}

BANK_ACCOUNTS = [
    {"AccountID": 101, "AccountName": "Current Account", "AccountCode": 1200},
    {"AccountID": 102, "AccountName": "Savings Account", "AccountCode": 1210},
    {"AccountID": 103, "AccountName": "PayPal", "AccountCode": 1220},
    {"AccountID": 104, "AccountName": "Amazon Seller Account", "AccountCode": 1230},
]

PAYMENT_METHODS = [
    {"MethodID": 1, "MethodName": "Bank transfer"},
    {"MethodID": 2, "MethodName": "Card"},
    {"MethodID": 3, "MethodName": "PayPal"},
    {"MethodID": 4, "MethodName": "Amazon"},
    {"MethodID": 5, "MethodName": "eBay Managed Payments"},
    {"MethodID": 6, "MethodName": "Cash"},
]

CUSTOMER_SOURCES = [
    {"ID": 1, "Name": "Web shop", "Description": "Orders from the online shop", "Value": "0"},
    {"ID": 2, "Name": "Amazon", "Description": "Amazon marketplace orders", "Value": "0"},
    {"ID": 3, "Name": "eBay", "Description": "eBay marketplace orders", "Value": "0"},
    {"ID": 4, "Name": "Referral", "Description": "Recommended by an existing customer", "Value": "0"},
]


def _nominal(nominal_id, code, name):
    return {"id": nominal_id, "Code": code, "Name": name,
            "debit": "0.00", "credit": "0.00", "balance": "0.00"}


NOMINAL_CODES = [
    _nominal(3101, 1200, "Bank Current Account"),
    _nominal(3102, 1210, "Bank Savings Account"),
    _nominal(3103, 1220, "PayPal"),
    _nominal(3104, 1230, "Amazon Seller Account"),
    _nominal(3110, 2200, "VAT Liability"),
    _nominal(3201, 4000, "Sales - Goods"),
    _nominal(3202, 4010, "Sales - Marketplace"),
    _nominal(3203, 4900, "Carriage/Delivery charges"),
    _nominal(3204, 4905, "Other sales"),
    _nominal(3301, 5000, "Cost of sales - Goods"),
    _nominal(3401, 7500, "Postage and carriage"),
]

VAT_RATES = [
    {"ID": 1, "Name": "Standard 20%", "Description": "Standard rate", "Value": "20"},
    {"ID": 2, "Name": "Reduced 5%", "Description": "Reduced rate", "Value": "5"},
    {"ID": 3, "Name": "Zero 0%", "Description": "Zero rate", "Value": "0"},
    {"ID": 4, "Name": "Exempt", "Description": "Exempt / not applicable", "Value": "-1"},
]

CURRENCIES = [
    {"CurrencyId": 1, "CurrencyCode": "GBP", "ExchangeRate": "1", "isDefault": 1},
    {"CurrencyId": 2, "CurrencyCode": "EUR", "ExchangeRate": "1.1650", "isDefault": 0},
    {"CurrencyId": 3, "CurrencyCode": "USD", "ExchangeRate": "1.2710", "isDefault": 0},
]

LOOKUPS = {
    "bank_accounts": BANK_ACCOUNTS,
    "payment_methods": PAYMENT_METHODS,
    "customer_sources": CUSTOMER_SOURCES,
    "nominal_codes": NOMINAL_CODES,
    "vat_rates": VAT_RATES,
    "currencies": CURRENCIES,
}
