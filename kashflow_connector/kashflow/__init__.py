"""Plain-Python KashFlow code: the SOAP client, the documents it sends, the order snapshot.

Nothing in this package imports Odoo, so it can be tested and reused on its own.
"""
