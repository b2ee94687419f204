"""SmartBill's answers mapped to typed errors: permanent refusals vs. transient trouble."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from connectors.smartbill.errors import (
    AlreadyReversed,
    DocumentNotFound,
    InvalidDocument,
    OutcomeUnknown,
    SmartBillAuthError,
    SmartBillBlocked,
    SmartBillRejected,
    UnknownSeries,
    rejection,
)
from hub.errors import PermanentError, TransientError
from hub.http import HttpResult, PartnerUnavailable


def answer(status: int, body: bytes) -> HttpResult:
    return HttpResult(status, CIMultiDictProxy(CIMultiDict()), body)


def fault(text: str, key: str = "Fault") -> bytes:
    return b'{"%s":{"errorText":"%s","message":"","number":""}}' % (key.encode(), text.encode())


@pytest.mark.parametrize(
    ("status", "body", "kind", "text"),
    [
        (400, fault("Client invalid!"), SmartBillRejected, "Client invalid!"),
        (
            400,
            fault("Factura cu seria si numarul LDX0099 nu a fost gasita!"),
            DocumentNotFound,
            "Factura cu seria si numarul LDX0099 nu a fost gasita!",
        ),
        (400, fault("Factura nu a fost gasita!", key="fault"), DocumentNotFound, None),
        (400, fault("Proforma cu seria si numarul P1 nu a fost gasita!"), DocumentNotFound, None),
        (400, fault("Factura este deja stornata."), AlreadyReversed, None),
        (
            400,
            fault("Seria nu a fost gasita! Folositi o serie creata in contul de cloud."),
            UnknownSeries,
            None,
        ),
        (
            400,
            fault("Cota tva a produsului X nu a fost gasita pe server!"),
            SmartBillRejected,  # "nu a fost gasita", yet not a missing document
            None,
        ),
        (401, b"<html><h1>HTTP Status 401 - Unauthorized</h1></html>", SmartBillAuthError, None),
        (404, b"blocked by a rule", SmartBillRejected, "blocked by a rule"),
        (415, b"", SmartBillRejected, "HTTP 415"),
    ],
)
def test_refusals_are_typed_and_carry_the_error_text(
    status: int, body: bytes, kind: type[SmartBillRejected], text: str | None
) -> None:
    error = rejection(answer(status, body), operation="invoice")

    assert type(error) is kind and isinstance(error, PermanentError)
    assert error.status == status and error.operation == "invoice"
    if text is not None:
        assert error.error_text == text


def test_an_invalid_document_lists_its_problems_and_was_not_sent() -> None:
    error = InvalidDocument(["client is required", "products must hold at least one line"])
    assert error.status is None and "not sent" in str(error)
    assert error.problems == ("client is required", "products must hold at least one line")


def test_unknown_outcomes_and_blocks_are_transient_partner_failures() -> None:
    lost = OutcomeUnknown("TimeoutError", operation="invoice", series="LDX")
    blocked = SmartBillBlocked("HTTP 403", status=403, retry_after=600.0)

    assert isinstance(lost, PartnerUnavailable) and isinstance(lost, TransientError)
    assert lost.outcome_unknown and lost.series == "LDX" and lost.number is None
    assert isinstance(blocked, PartnerUnavailable) and blocked.retry_after == 600.0
    assert not blocked.outcome_unknown
