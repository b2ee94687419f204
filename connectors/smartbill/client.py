"""Typed client of the SmartBill Cloud REST API (``https://ws.smartbill.ro/SBORO/api``).

One method per call the hub makes (docs/SMARTBILL.md). Failures (:mod:`.errors`, sent by
:mod:`.transport`):

- **Reads** (GET) are repeated on 5xx and timeouts (``attempts``); they change nothing.
- **Writes** (POST, PUT, DELETE) are sent once. SmartBill has no idempotency key, so a timeout
  or a dropped connection after sending raises :class:`~connectors.smartbill.errors.OutcomeUnknown`
  (a 502/504 from a gateway too): the caller reconciles (``next_number``, ``invoice_exists``,
  :mod:`connectors.smartbill.reconcile`) before anything is sent again.
- **403** is SmartBill's rate-limit block (30 calls in 10 s exceeded: 10 minutes). The breaker is
  held open for ``block_seconds`` so no call extends or wastes the block, and
  :class:`~connectors.smartbill.errors.SmartBillBlocked` carries ``retry_after``.
- **X-RateLimit-Remaining: 0** (someone else, e.g. a shop plugin, shares the account's budget):
  the next call waits for ``X-RateLimit-Reset`` instead of being the 31st.
- Bodies are checked first (:mod:`connectors.smartbill.rules`); a refusal names every problem.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import aiohttp
import msgspec

from connectors.smartbill.errors import (
    AlreadyReversed,
    DocumentNotFound,
    InvalidDocument,
    OutcomeUnknown,
    SmartBillAuthError,
    SmartBillBlocked,
    SmartBillRejected,
    SmartBillUnavailable,
    UnknownSeries,
    rejection,
)
from connectors.smartbill.rules import problems
from connectors.smartbill.settings import SmartBillSettings, check_limits
from connectors.smartbill.transport import JSON, Transport
from connectors.smartbill.wire import (
    Document,
    DocumentRef,
    DocumentResponse,
    Estimate,
    EstimateInvoices,
    Invoice,
    PaymentStatus,
    Reverse,
    Series,
    SeriesList,
    SeriesType,
    StockList,
    Tax,
    TaxList,
    WarehouseStock,
    encode,
    unwrap,
)
from hub.breaker import Breaker
from hub.errors import ConfigError
from hub.http import HttpResult, Outbound
from hub.ratelimit import MemoryRateLimiter, RateLimiter
from hub.settings import Secret, env_name
from hub.telemetry import Metrics

log = logging.getLogger(__name__)

PDF = "application/octet-stream, " + JSON


class SmartBillClient:
    """The SmartBill calls the hub makes (see the module docstring for failures)."""

    def __init__(
        self,
        outbound: Outbound,
        *,
        username: str,
        token: Secret | None,
        cif: str,
        invoice_series: str = "",
        proforma_series: str = "",
        block_seconds: float = 600.0,
        max_pause: float = 10.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.transport = Transport(
            outbound,
            username=username,
            token=token,
            block_seconds=block_seconds,
            max_pause=max_pause,
            clock=clock,
            sleep=sleep,
        )
        self.outbound = outbound
        self.cif = cif
        self.invoice_series = invoice_series
        self.proforma_series = proforma_series

    # --- documents ------------------------------------------------------------------------

    async def issue_invoice(self, invoice: Invoice) -> DocumentResponse:
        """``POST /invoice``: its series and number (none for a draft)."""
        body = self._complete(invoice, self.invoice_series, "invoice_series")
        return await self._issue("/invoice", "invoice", body)

    async def issue_estimate(self, estimate: Estimate) -> DocumentResponse:
        """``POST /estimate``: the proforma's series and number."""
        body = self._complete(estimate, self.proforma_series, "proforma_series")
        return await self._issue("/estimate", "estimate", body)

    async def reverse_invoice(
        self, series: str, number: str, *, issue_date: date | None = None
    ) -> DocumentResponse:
        """``POST /invoice/reverse``: the storno invoice (a new number in ``series``)."""
        body = Reverse(
            company_vat_code=self._cif(), series_name=series, number=number, issue_date=issue_date
        )
        result = await self.transport.send(
            "POST", "/invoice/reverse", "reverse", body=encode(body), series=series, number=number
        )
        return self._issued(result, "reverse", series)

    async def cancel_invoice(self, series: str, number: str) -> str:
        """``PUT /invoice/cancel``: SmartBill's message."""
        return await self._act("PUT", "/invoice/cancel", "cancel invoice", series, number)

    async def restore_invoice(self, series: str, number: str) -> str:
        """``PUT /invoice/restore`` (a cancelled invoice): SmartBill's message."""
        return await self._act("PUT", "/invoice/restore", "restore invoice", series, number)

    async def delete_invoice(self, series: str, number: str) -> str:
        """``DELETE /invoice``: only the last invoice of its series; its number is reused."""
        return await self._act("DELETE", "/invoice", "delete invoice", series, number)

    async def cancel_estimate(self, series: str, number: str) -> str:
        """``PUT /estimate/cancel``: SmartBill's message."""
        return await self._act("PUT", "/estimate/cancel", "cancel estimate", series, number)

    async def restore_estimate(self, series: str, number: str) -> str:
        """``PUT /estimate/restore``: SmartBill's message."""
        return await self._act("PUT", "/estimate/restore", "restore estimate", series, number)

    async def delete_estimate(self, series: str, number: str) -> str:
        """``DELETE /estimate``: SmartBill's message."""
        return await self._act("DELETE", "/estimate", "delete estimate", series, number)

    # --- reads ----------------------------------------------------------------------------

    async def invoice_pdf(self, series: str, number: str) -> bytes:
        """``GET /invoice/pdf``: the PDF bytes."""
        return await self._pdf("/invoice/pdf", "invoice pdf", series, number)

    async def estimate_pdf(self, series: str, number: str) -> bytes:
        """``GET /estimate/pdf``: the PDF bytes."""
        return await self._pdf("/estimate/pdf", "estimate pdf", series, number)

    async def payment_status(self, series: str, number: str) -> PaymentStatus:
        """``GET /invoice/paymentstatus``: total, paid and unpaid amounts."""
        result = await self.transport.send(
            "GET", "/invoice/paymentstatus", "payment status", params=self._ref(series, number)
        )
        status = self.transport.read(result, PaymentStatus, "payment status")
        if status.error_text:
            raise rejection(result, operation="payment status")
        return status

    async def estimate_invoices(self, series: str, number: str) -> tuple[DocumentRef, ...]:
        """``GET /estimate/invoices``: the invoices made from proforma ``series`` ``number``
        (empty when it was never invoiced; :class:`DocumentNotFound` when it does not exist)."""
        operation = "estimate invoices"
        try:
            result = await self.transport.send(
                "GET", "/estimate/invoices", operation, params=self._ref(series, number)
            )
        except SmartBillRejected as exc:
            if _not_invoiced(exc.error_text):  # should SmartBill answer it as a 400
                return ()
            raise
        answer = self.transport.read(result, EstimateInvoices, operation)
        if answer.invoices:
            return answer.invoices
        if answer.error_text and not _not_invoiced(answer.error_text):
            raise rejection(result, operation=operation)
        return ()

    async def series(self, kind: SeriesType | None = None) -> tuple[Series, ...]:
        """``GET /series``: the account's series (of one type) with their next numbers."""
        params = {"cif": self._cif(), **({"type": kind} if kind else {})}
        result = await self.transport.send("GET", "/series", "series", params=params)
        return self.transport.read(result, SeriesList, "series").list

    async def next_number(self, series: str, kind: SeriesType | None = None) -> str:
        """The number the next document of ``series`` will get (``"0117"``)."""
        for entry in await self.series(kind):
            if entry.name == series:
                return entry.next_number
        raise UnknownSeries(
            200, f"series {series!r} is not defined in SmartBill", operation="series"
        )

    async def taxes(self) -> tuple[Tax, ...]:
        """``GET /tax``: the VAT rates (name and percentage pairs) of the account."""
        result = await self.transport.send("GET", "/tax", "taxes", params={"cif": self._cif()})
        return self.transport.read(result, TaxList, "taxes").taxes

    async def stocks(
        self,
        on: date,
        *,
        warehouse: str | None = None,
        product_name: str | None = None,
        product_code: str | None = None,
    ) -> tuple[WarehouseStock, ...]:
        """``GET /stocks`` on date ``on``: per warehouse, its products and quantities."""
        params = {"cif": self._cif(), "date": on.isoformat()}
        for key, value in (
            ("warehouseName", warehouse),
            ("productName", product_name),
            ("productCode", product_code),
        ):
            if value:
                params[key] = value
        result = await self.transport.send("GET", "/stocks", "stocks", params=params)
        return self.transport.read(result, StockList, "stocks").list

    # --- reconciliation primitives --------------------------------------------------------

    async def invoice_exists(self, series: str, number: str) -> bool:
        """Whether invoice ``series`` ``number`` exists (asks its payment status)."""
        try:
            await self.payment_status(series, number)
        except DocumentNotFound:
            return False
        return True

    async def estimate_exists(self, series: str, number: str) -> bool:
        """Whether proforma ``series`` ``number`` exists (asks for its PDF: there is no lighter
        read of a proforma)."""
        try:
            await self.estimate_pdf(series, number)
        except DocumentNotFound:
            return False
        return True

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.transport.close()

    # --- plumbing -------------------------------------------------------------------------

    def _complete(self, document: Document, series: str, setting: str) -> Any:
        series = document.series_name or series
        if not series:
            raise ConfigError(
                f"missing setting {env_name(setting, 'smartbill')}: the document names no series"
            )
        return msgspec.structs.replace(
            document, company_vat_code=document.company_vat_code or self._cif(), series_name=series
        )

    async def _issue(self, path: str, operation: str, document: Document) -> DocumentResponse:
        found = problems(document)
        if found:
            raise InvalidDocument(found, operation=operation)
        result = await self.transport.send(
            "POST", path, operation, body=encode(document), series=document.series_name
        )
        return self._issued(result, operation, document.series_name)

    def _issued(self, result: HttpResult, operation: str, series: str) -> DocumentResponse:
        answer = self._written(result, operation, series)
        if answer.error_text:
            if not answer.number:
                raise rejection(result, operation=operation)
            log.warning(
                "smartbill %s %s%s issued with a warning: %s",
                operation,
                answer.series,
                answer.number,
                answer.error_text,
            )
        return answer

    async def _act(self, method: str, path: str, operation: str, series: str, number: str) -> str:
        result = await self.transport.send(
            method, path, operation, params=self._ref(series, number), series=series, number=number
        )
        answer = self._written(result, operation, series, number)
        if answer.error_text:
            raise rejection(result, operation=operation)
        return answer.message or ""

    def _written(
        self, result: HttpResult, operation: str, series: str, number: str | None = None
    ) -> DocumentResponse:
        try:
            return unwrap(result.body, DocumentResponse)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            # a 2xx to a write that we cannot read: SmartBill may well have done it
            raise OutcomeUnknown(
                f"unreadable answer: {exc}", operation=operation, series=series, number=number
            ) from exc

    async def _pdf(self, path: str, operation: str, series: str, number: str) -> bytes:
        result = await self.transport.send(
            "GET", path, operation, params=self._ref(series, number), accept=PDF
        )
        if result.body.startswith(b"%PDF"):
            return result.body
        raise rejection(result, operation=operation)

    def _cif(self) -> str:
        if not self.cif:
            raise ConfigError(f"missing setting {env_name('cif', 'smartbill')}")
        return self.cif

    def _ref(self, series: str, number: str) -> dict[str, str]:
        # "seriesname" as in SmartBill's Postman collection (the spec also writes seriesName)
        return {"cif": self._cif(), "seriesname": series, "number": number}


def _not_invoiced(text: str) -> bool:
    # "Proforma cu seria si numarul X nu a fost facturata." (spec of GET /estimate/invoices)
    return "nu a fost facturata" in text.lower()


def build_client(
    settings: SmartBillSettings,
    *,
    limiter: RateLimiter | None = None,
    breaker: Breaker | None = None,
    session: aiohttp.ClientSession | None = None,
    metrics: Metrics | None = None,
) -> SmartBillClient:
    """The client with its breaker and rate limit (an in-process limiter when none is given:
    never call SmartBill unlimited)."""
    check_limits(settings)
    breaker = breaker or Breaker(
        "smartbill",
        fail_max=settings.breaker_fail_max,
        reset_timeout=settings.breaker_reset_timeout,
        metrics=metrics,
    )
    outbound = Outbound(
        "smartbill",
        base_url=settings.base_url,
        breaker=breaker,
        timeout=settings.timeout,
        limiter=limiter or MemoryRateLimiter(),
        per_second=settings.per_second,
        burst=settings.burst,
        attempts=settings.attempts,
        backoff=settings.backoff,
        max_backoff=settings.max_backoff,
        session=session,
        metrics=metrics,
    )
    return SmartBillClient(
        outbound,
        username=settings.username,
        token=settings.token,
        cif=settings.cif,
        invoice_series=settings.invoice_series,
        proforma_series=settings.proforma_series,
        block_seconds=settings.block_seconds,
        max_pause=settings.limit_window,
    )


__all__ = [
    "AlreadyReversed",
    "DocumentNotFound",
    "InvalidDocument",
    "OutcomeUnknown",
    "SmartBillAuthError",
    "SmartBillBlocked",
    "SmartBillClient",
    "SmartBillRejected",
    "SmartBillUnavailable",
    "UnknownSeries",
    "build_client",
]
