"""Errors raised by the KashFlow client, typed by what the user has to do about them.

Every message is written for the person who reads it on an order or in Settings: it says what
happened and what to do. No message ever contains a credential.
"""


from .words import _lt, phrase, phrase_of


class KashFlowError(Exception):
    """Base class of every error the KashFlow client raises.

    ``transient`` tells the caller whether trying again later may succeed on its own.
    ``detail`` keeps KashFlow's own words (its ``StatusDetail`` or fault text) when there are some.
    ``phrase`` is the message as a ``words.Phrase`` (the Odoo layer translates it); ``message`` its English text.
    """

    transient = False

    def __init__(self, message, detail=None, operation=None):
        self.phrase = phrase_of(message)
        self.message = str(self.phrase)
        super().__init__(self.message)
        self.detail = detail
        self.operation = operation

    def __str__(self):
        return self.message


class AuthenticationError(KashFlowError):
    """KashFlow refused the username or password."""


class IPNotAllowedError(KashFlowError):
    """KashFlow refused the calling server's IP address (its API access list)."""


class RejectedError(KashFlowError):
    """KashFlow understood the request and refused it (a validation or business rule)."""


class AmbiguousError(KashFlowError):
    """After a lost answer, KashFlow holds more than one document that could be the one sent, and nothing tells
    which: the connector adopts none and sends nothing; the message names them and says what to do."""


class RequestError(KashFlowError):
    """The request could not be built or read: data the connector sends does not fit KashFlow's contract."""


class UnavailableError(KashFlowError):
    """KashFlow could not be reached or was busy: network error, timeout, HTTP 5xx or 429, an answer that is
    not KashFlow's (an empty one, a proxy's web page, broken XML), or a failure on KashFlow's side. Retry later.

    ``summary`` says what happened (``summary_phrase``, to translate); the message adds that it will be tried
    again (and the pause KashFlow asked for), which a caller that gives up says otherwise. ``retry_after`` is the
    pause KashFlow asked for (its ``Retry-After`` header, in whole seconds) when it asked for one, else None.
    ``rate_limited``: KashFlow answered HTTP 429, asking to slow down (it works, but wants fewer calls), rather
    than being out of reach.
    """

    transient = True

    def __init__(self, summary, detail=None, operation=None, retry_after=None, rate_limited=False):
        again = phrase(_lt("It will be tried again (KashFlow asked for a pause of %(seconds)s seconds)."),
                       seconds=retry_after) if retry_after else phrase(_lt("It will be tried again."))
        super().__init__(phrase("%(summary)s %(again)s", summary=phrase_of(summary), again=again), detail=detail,
                         operation=operation)
        self.summary_phrase = phrase_of(summary)
        self.summary = str(self.summary_phrase)
        self.retry_after = retry_after
        self.rate_limited = rate_limited
