"""Errors raised by the KashFlow client, typed by what the user has to do about them.

Every message is written for the person who reads it on an order or in Settings: it says what
happened and what to do. No message ever contains a credential.
"""


class KashFlowError(Exception):
    """Base class of every error the KashFlow client raises.

    ``transient`` tells the caller whether trying again later may succeed on its own.
    ``detail`` keeps KashFlow's own words (its ``StatusDetail`` or fault text) when there are some.
    """

    transient = False

    def __init__(self, message, detail=None, operation=None):
        super().__init__(message)
        self.message = message
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


class RequestError(KashFlowError):
    """The request could not be built or read: data the connector sends does not fit KashFlow's contract."""


class UnavailableError(KashFlowError):
    """KashFlow could not be reached or was busy: network error, timeout, HTTP 5xx or 429, or an answer that
    is not KashFlow's (an empty one, a proxy's web page). Retry later.

    ``retry_after`` is the pause KashFlow asked for (its ``Retry-After`` header, in whole seconds) when it
    asked for one, else None.
    """

    transient = True
    #: How the client's messages say that the call will be tried again (their last sentence).
    RETRY_PROMISE = "It will be tried again"

    def __init__(self, message, detail=None, operation=None, retry_after=None):
        super().__init__(message, detail=detail, operation=operation)
        self.retry_after = retry_after

    def given_up(self):
        """The message without its promise of another try, for a caller that makes no more."""
        return self.message.partition(self.RETRY_PROMISE)[0].strip() or self.message
