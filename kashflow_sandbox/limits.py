"""The field lengths the sandbox enforces, as KashFlow would: a longer text is refused with Status "NO".

KashFlow publishes no field lengths and its WSDL has no facets, so this table is
the project's own choice: conservative guesses, long enough for real names, addresses and numbers and short
enough that KashFlow is unlikely to refuse them. The connector keeps to the
same table (``FIELD_LIMITS`` in ``kashflow_connector/kashflow/documents.py``; the sandbox imports nothing of the
addon, and ``tests/test_field_limits.py`` checks that the two agree). Lengths count UTF-16 code units, as .NET
does (an emoji counts 2). Fields not listed are not limited.
"""

FIELD_LIMITS = {
    "Customer": {
        "Code": 20, "Name": 100, "Contact": 100, "Telephone": 50, "Mobile": 50, "Email": 255,
        "Address1": 100, "Address2": 100, "Address3": 100, "Address4": 100, "Postcode": 20,
        "CountryName": 100, "CountryCode": 2,
        "DeliveryAddress1": 100, "DeliveryAddress2": 100, "DeliveryAddress3": 100, "DeliveryAddress4": 100,
        "DeliveryPostcode": 20, "DeliveryCountryName": 100, "DeliveryCountryCode": 2, "VATNumber": 30,
    },
    "Invoice": {"CustomerReference": 100, "CurrencyCode": 3},
    "DeliveryAddress": {
        "Name": 100, "Line1": 100, "Line2": 100, "Line3": 100, "Line4": 100, "PostCode": 20, "CountryName": 100,
        "CountryCode": 2,
    },
    "InvoiceLine": {"Description": 500},
    "Payment": {"PayNote": 255},
}


def text_length(text):
    """The length of ``text`` as .NET counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def too_long(type_name, record, where=None):
    """The StatusDetail for the first text field of ``record`` (a KashFlow ``type_name``) longer than its
    limit, e.g. "Customer Name is too long: 120 characters, at most 100 allowed"; None when all fit.

    ``where`` names the record in the message (``type_name`` by default, "Line 3" for an invoice line).
    """
    for name, limit in FIELD_LIMITS[type_name].items():
        value = record.get(name)
        if isinstance(value, str) and text_length(value) > limit:
            return f"{where or type_name} {name} is too long: {text_length(value)} characters, at most {limit} allowed"
    return None
