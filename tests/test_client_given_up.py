"""A transient KashFlow error says it will be tried again; once its caller gives up, its message no longer does.

A *Failed* order used to read "KashFlow is busy or down (HTTP 500 on …). It will be tried again. Gave up after
repeated attempts; resend the order later.": the order is not tried again by itself."""

import socket

import pytest

from kashflow.client import KashFlowClient
from kashflow.exceptions import UnavailableError


def _client(sandbox, **options):
    return KashFlowClient(sandbox.username, sandbox.password, url=sandbox.service_url, **options)


@pytest.mark.parametrize(("fault", "words"), [
    ({"mode": "http500"}, "KashFlow is busy or down (HTTP 500 on GetCurrencies)."),
    ({"mode": "http503", "retry_after": 7}, "KashFlow is busy or down (HTTP 503 on GetCurrencies)."),
    ({"mode": "http429", "retry_after": 7}, "KashFlow asked to slow down (HTTP 429, too many requests"),
    ({"mode": "html_page"}, "probably the error page of a proxy between this server and KashFlow."),
    ({"mode": "empty_body"}, "(a proxy or the network) may have failed."),
    ({"mode": "drop_after_commit"}, "KashFlow could not be reached at"),
    ({"mode": "timeout", "stall_seconds": 2}, "KashFlow did not answer within 0.3 seconds (GetCurrencies)."),
])
def test_a_transient_error_given_up_keeps_what_happened_and_drops_the_promise(sandbox, fault, words):
    sandbox.set_faults(operation="GetCurrencies", count=1, **fault)
    with pytest.raises(UnavailableError) as caught:
        _client(sandbox, timeout=(2, 0.3)).currencies()
    error = caught.value
    assert "It will be tried again" in error.message
    assert words in error.summary
    assert "tried again" not in error.summary
    assert error.message.startswith(error.summary)


def test_kashflow_unreachable_given_up():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UnavailableError) as caught:
        KashFlowClient("user", "pass", url=f"http://127.0.0.1:{port}/api/service.asmx", timeout=(1, 1)).currencies()
    assert caught.value.summary == (f"KashFlow could not be reached at http://127.0.0.1:{port}/api/service.asmx "
                                       "(GetCurrencies): the connection failed.")
