"""Keep KashFlow credentials out of the logs.

zeep writes every SOAP envelope it sends to the ``zeep.transports`` logger at debug level, and every
KashFlow request carries ``<Password>`` (and, for ``AutoAuthIP``, ``<AutoAuthKey>``) in clear. The filter
installed here masks those elements in any record of zeep's loggers, whatever level is switched on.
"""

import logging
import re

_SECRET_ELEMENTS = re.compile(
    r"(<(?:[\w.-]+:)?(?:Password|AutoAuthKey)\b[^>]*>)(.*?)(</(?:[\w.-]+:)?(?:Password|AutoAuthKey)>)",
    re.DOTALL,
)
_LOGGERS = ("zeep", "zeep.transports", "zeep.wsdl.bindings.soap")


def mask(text):
    """``text`` with the content of every Password and AutoAuthKey element replaced by asterisks."""
    return _SECRET_ELEMENTS.sub(r"\1********\3", text)


class SecretMaskingFilter(logging.Filter):
    """Rewrites a log record so that no KashFlow credential it contains is written anywhere."""

    def filter(self, record):
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


_filter = SecretMaskingFilter()


def install():
    """Attach the filter to zeep's loggers (idempotent)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _filter not in logger.filters:
            logger.addFilter(_filter)
