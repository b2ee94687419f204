"""SmartBill's answers as typed errors (docs/SMARTBILL.md, "Errors").

Two families, matching the hub's error tree:

- :class:`SmartBillRejected` (a ``PermanentError``): SmartBill answered and said no: 400 with
  its ``errorText`` (a validation or business rule), 401 (user, token or CIF), 404/410
  (internal rules), 405, 415; also :class:`InvalidDocument`, refused before sending. The same
  request will never succeed.
- :class:`SmartBillUnavailable` (a ``PartnerUnavailable``, so a ``TransientError``): no useful
  answer. 5xx, timeouts, connection errors; :class:`SmartBillBlocked` for the 403 rate-limit
  block (``retry_after``); :class:`OutcomeUnknown` when a request that changes something was sent
  and its answer lost, so SmartBill may have done it: reconcile before repeating it.

The breaker's own :class:`hub.breaker.BreakerOpen` (also transient, with ``retry_after``) passes
through unchanged: the call was not made.
"""

from __future__ import annotations

from connectors.smartbill.wire import error_text
from hub.errors import PermanentError
from hub.http import HttpResult, PartnerUnavailable

PARTNER = "smartbill"
BLOCKED_TEXT = "Utilizatorul a fost blocat pentru ca s-a depasit limita maxima de apeluri permise."


class SmartBillRejected(PermanentError):
    """SmartBill refused the request (``status`` None: refused here, before sending)."""

    def __init__(self, status: int | None, error_text: str, *, operation: str = "") -> None:
        where = f" {operation}" if operation else ""
        shown = f"HTTP {status}" if status is not None else "not sent"
        super().__init__(f"SmartBill refused{where} ({shown}): {error_text}")
        self.status = status
        self.error_text = error_text
        self.operation = operation


class SmartBillAuthError(SmartBillRejected):
    """401: wrong username or token, or the CIF is not a company of this account."""


class DocumentNotFound(SmartBillRejected):
    """400 "Factura/Proforma ... nu a fost gasita!": no document with that series and number."""


class AlreadyReversed(SmartBillRejected):
    """400 "Factura este deja stornata.": the invoice already has a storno."""


class UnknownSeries(SmartBillRejected):
    """The series is not defined in SmartBill Cloud (or not of that document type)."""


class InvalidDocument(SmartBillRejected):
    """The body breaks a rule SmartBill would refuse it for; nothing was sent."""

    def __init__(self, problems: list[str], *, operation: str = "") -> None:
        super().__init__(None, "; ".join(problems), operation=operation)
        self.problems = tuple(problems)


class SmartBillUnavailable(PartnerUnavailable):
    """No useful answer (5xx, timeout, connection): try again later."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        outcome_unknown: bool = False,
        retry_after: float | None = None,
        operation: str = "",
    ) -> None:
        super().__init__(
            PARTNER,
            f"{operation}: {reason}" if operation else reason,
            status=status,
            outcome_unknown=outcome_unknown,
            retry_after=retry_after,
        )
        self.operation = operation


class SmartBillBlocked(SmartBillUnavailable):
    """403: SmartBill blocked the account for exceeding 30 calls in 10 s (10 minutes)."""


class OutcomeUnknown(SmartBillUnavailable):
    """A request that creates or changes a document went out and no answer came back.

    SmartBill has no idempotency key: the document may exist. ``series`` (and ``number`` for
    an action on an existing document) say where to look; never repeat the request before
    reconciling (:mod:`connectors.smartbill.reconcile`).
    """

    def __init__(
        self,
        reason: str,
        *,
        operation: str,
        series: str,
        number: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(reason, status=status, outcome_unknown=True, operation=operation)
        self.series = series
        self.number = number


def _text(result: HttpResult) -> str:
    text = error_text(result.body)
    if text:
        return text
    raw = result.body[:300].decode("utf-8", "replace").strip()
    return raw or f"HTTP {result.status}"


def _not_found(text: str) -> bool:
    lowered = text.lower()
    return lowered.startswith(("factura", "proforma")) and "nu a fost gasit" in lowered


def rejection(result: HttpResult, *, operation: str = "") -> SmartBillRejected:
    """The typed error of a refusal (4xx, or a 200 carrying an ``errorText``)."""
    text = _text(result)
    if result.status == 401:
        return SmartBillAuthError(
            401, f"user, token or CIF not accepted ({text[:120]})", operation=operation
        )
    if _not_found(text):
        return DocumentNotFound(result.status, text, operation=operation)
    if "deja stornata" in text.lower():
        return AlreadyReversed(result.status, text, operation=operation)
    if text.lower().startswith(("seria nu a fost gasita", "serie inexistenta")):
        return UnknownSeries(result.status, text, operation=operation)
    return SmartBillRejected(result.status, text, operation=operation)
