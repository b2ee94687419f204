"""The ``invoicing`` actor: each request_id becomes at most one SmartBill document.

Every POST is preceded by a committed ``issuing`` row carrying the series' ``nextNumber``
(``expected_number``) and followed by a committed ``issued`` row; the row decides what a repeated
command, a redelivery or a timer does (docs/INVOICING.md):

- refused (:class:`SmartBillRejected`): ``DocumentFailed(parked=False)``;
- certainly not made (5xx, outage, 403 block, breaker open): back to ``intent``, a durable
  ``IssueAttempt`` timer with backoff;
- answer lost (:class:`OutcomeUnknown`) or a row found ``issuing`` (a crash): a timer after
  ``reconcile_after``, then :func:`reconcile`: issued → that number; absent → issue again;
  ambiguous → ``DocumentFailed(parked=True)``;
- issued: ``InvoiceIssued``/``ProformaIssued``/``CreditNoteIssued`` once (``announced``), then
  the PDF and ``NotifyCustomer`` once (``notified``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

import msgspec

from actors.invoicing import documents, payment_store, stock, stock_store, store
from actors.invoicing.messages import (
    CreditNoteIssued,
    DocumentFailed,
    DocumentKind,
    InvoiceIssued,
    IssueCreditNote,
    IssueInvoice,
    IssueProforma,
    ProformaIssued,
    StockDiscrepanciesFound,
)
from actors.invoicing.payments import PAYMENT_KEY, PAYMENT_TIMER, PaymentPoll, PollPayments
from actors.invoicing.settings import InvoicingSettings
from actors.invoicing.settings import load_settings as load_invoicing
from actors.invoicing.stock import STOCK_KEY, STOCK_TIMER, CompareStock
from actors.notifications.messages import Attachment, NotifyCustomer
from connectors.smartbill.client import SmartBillClient, build_client
from connectors.smartbill.errors import SmartBillRejected
from connectors.smartbill.reconcile import reconcile
from connectors.smartbill.settings import SmartBillSettings
from connectors.smartbill.settings import load_settings as load_smartbill
from connectors.smartbill.wire import DocumentResponse, Estimate, Invoice, Tax
from hub import outbox
from hub.actor import Actor, Context, handler
from hub.bootstrap import Resources
from hub.db import Database
from hub.errors import ConfigError, TransientError
from hub.messages import Command, Envelope, Message, encode
from hub.ratelimit import limiter_for
from hub.settings import env_name

log = logging.getLogger(__name__)

Request = IssueInvoice | IssueProforma | IssueCreditNote
_TYPES: dict[str, type[Request]] = {
    "invoice": IssueInvoice,
    "proforma": IssueProforma,
    "credit_note": IssueCreditNote,
}


class IssueAttempt(Command, tag="invoicing.IssueAttempt"):
    """Internal timer: issue a waiting request again, reconcile one whose answer was lost, or
    fetch an issued document's PDF for its email."""

    request_id: str


def backoff(base: float, cap: float, attempts: int, retry_after: float | None) -> float:
    """Seconds before the next try: doubling, capped, never sooner than SmartBill asked."""
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return float(max(delay, retry_after or 0.0))


# How long a document waits, at most, when its series holds another one in flight or in doubt
SERIES_WAIT_TIMER = 30.0  # a document queued for its series retries by itself after this


def timer_name(request_id: str) -> str:
    """The one durable timer of a request."""
    return f"invoicing:{request_id}"


class InvoicingActor(Actor, name="invoicing"):
    """Issues invoices, proformas and stornos in SmartBill, each request at most once."""

    def __init__(
        self,
        settings: InvoicingSettings,
        smartbill: SmartBillSettings,
        db: Database,
        client: SmartBillClient,
    ) -> None:
        self.settings = settings
        self.smartbill = smartbill
        self.db = db
        self.client = client
        self._taxes: tuple[Tax, ...] | None = None
        self._series_locks: dict[str, asyncio.Lock] = {}

    # --- handlers -----------------------------------------------------------------------------

    @handler
    async def invoice(self, msg: IssueInvoice, ctx: Context) -> None:
        await self._start(ctx, msg, "invoice", documents.gross(msg.lines), msg.shipment_id)
        await self._wake_after(ctx, msg.request_id)

    @handler
    async def proforma(self, msg: IssueProforma, ctx: Context) -> None:
        await self._start(ctx, msg, "proforma", documents.gross(msg.lines), None)
        await self._wake_after(ctx, msg.request_id)

    @handler
    async def credit_note(self, msg: IssueCreditNote, ctx: Context) -> None:
        await self._start(ctx, msg, "credit_note", documents.gross(msg.lines), None)
        await self._wake_after(ctx, msg.request_id)

    @handler
    async def attempt(self, msg: IssueAttempt, ctx: Context) -> None:
        self._require()
        await self._follow_up(ctx, msg.request_id, retry=True)
        await self._wake_after(ctx, msg.request_id)

    @handler
    async def poll_payments(self, msg: PollPayments, ctx: Context) -> None:
        interval = self.settings.payment_poll_interval
        if interval is not None:
            at = ctx.now + timedelta(seconds=interval)
            ctx.schedule(PollPayments(), at=at, name=PAYMENT_TIMER, key=PAYMENT_KEY)
        self._require()
        poll = PaymentPoll(self.settings, self.client, ctx)
        seen, stopped = await poll.run()
        ctx.log.info("payment poll: %d documents, %d SmartBill calls", seen, poll.calls)
        if stopped:
            ctx.log.warning("payment poll stopped, the rest waits for the next: %s", stopped)

    @handler
    async def compare_stock(self, msg: CompareStock, ctx: Context) -> None:
        self._require()
        at = self.settings.stock_check_at
        try:
            found = await self.client.stocks(stock.business_day(ctx.now))
        except (TransientError, ConfigError, SmartBillRejected) as exc:
            retry = ctx.now + timedelta(seconds=self.settings.retry_max_backoff)
            ctx.log.warning("stock comparison failed, again at %s: %s", retry.isoformat(), exc)
            ctx.schedule(CompareStock(), at=retry, name=STOCK_TIMER, key=STOCK_KEY)
            return
        if at is not None:
            ctx.schedule(
                CompareStock(), at=stock.next_check(ctx.now, at), name=STOCK_TIMER, key=STOCK_KEY
            )
        mapping = self.settings.warehouse_map
        hub = await stock_store.on_hand(ctx.conn, sorted(set(mapping.values())))
        report = stock.compare(found, hub, mapping)
        day = stock.business_day(ctx.now)
        check_id = await stock_store.save(ctx.conn, day, ctx.now, report)
        counts = {k: report.count(k) for k in ("missing", "extra", "different")}
        ctx.log.info("stock comparison %s: %d compared, %s", day, report.compared, counts)
        if report.discrepancies or report.unmapped:
            ctx.emit(
                StockDiscrepanciesFound(
                    check_id=check_id,
                    on=day,
                    compared=report.compared,
                    unmapped=report.unmapped,
                    **counts,
                ),
                key=STOCK_KEY,
            )

    # --- flow ---------------------------------------------------------------------------------

    async def _start(
        self, ctx: Context, msg: Request, kind: str, gross: Decimal, shipment_id: str | None
    ) -> None:
        self._require()
        async with self.db.transaction() as conn:
            added = await store.add(
                conn,
                request_id=msg.request_id,
                order_id=msg.order_id,
                kind=kind,
                request=msgspec.json.encode(msg),
                gross=gross,
                shipment_id=shipment_id,
                invoice_request_id=getattr(msg, "invoice_request_id", None),
                watch=_watch(msg),
            )
            known = None if added else await store.get(conn, msg.request_id)
            other = None
            if not added and known is None and kind != "credit_note":
                other = await store.same_order(conn, msg.order_id, kind, shipment_id)
        if added:
            await self._issue(ctx, msg.request_id)
        elif known is not None:
            await self._follow_up(ctx, msg.request_id, retry=False)
        elif isinstance(msg, IssueCreditNote):  # the invoice is reversed (or being) already
            reason = f"invoice {msg.invoice_request_id} has a credit note already"
            ctx.log.warning("credit note %s refused: %s", msg.request_id, reason)
            ctx.emit(
                DocumentFailed(
                    request_id=msg.request_id,
                    order_id=msg.order_id,
                    document="credit_note",
                    reason=reason,
                ),
                key=f"order:{msg.order_id}",
            )
        elif other is not None and isinstance(msg, IssueInvoice) and other.origin == "smartbill":
            await self._claim(ctx, msg, other)
        else:  # the order's document exists under another request_id: never a second one
            ctx.log.warning(
                "%s %s not issued: order %s has it already as %s",
                kind,
                msg.request_id,
                msg.order_id,
                other.request_id if other else "?",
            )
            if other is not None:
                self._answer_with(ctx, msg, other)

    async def _claim(self, ctx: Context, msg: IssueInvoice, adopted: store.Document) -> None:
        """The order's invoice was made in SmartBill Cloud from its proforma and adopted by the
        payment poll: it becomes this request's (announced, emailed, reversible) document."""
        if adopted.request_id != payment_store.adopted_id(adopted.from_request_id or ""):
            self._answer_with(ctx, msg, adopted)  # claimed by another request_id already
            return
        async with self.db.transaction() as conn:
            claimed = await store.claim(
                conn, adopted.request_id, msg.request_id, msgspec.json.encode(msg)
            )
        ctx.log.info(
            "invoice %s answered by %s %s made in SmartBill from proforma %s",
            msg.request_id,
            adopted.series,
            adopted.number,
            adopted.from_request_id,
        )
        if claimed:
            await self._follow_up(ctx, msg.request_id, retry=False)

    def _answer_with(self, ctx: Context, msg: Request, other: store.Document) -> None:
        """A second request_id for a document the order has: told what the first got."""
        key = f"order:{msg.order_id}"
        if other.state == "issued" and other.kind == "invoice":
            ctx.emit(
                InvoiceIssued(
                    request_id=msg.request_id,
                    order_id=msg.order_id,
                    series=other.series or "",
                    number=other.number or "",
                    gross=other.gross,
                    issued_at=other.issued_at or ctx.now,
                ),
                key=key,
            )
        elif other.state == "issued" and other.kind == "proforma":
            ctx.emit(
                ProformaIssued(
                    request_id=msg.request_id,
                    order_id=msg.order_id,
                    series=other.series or "",
                    number=other.number or "",
                    gross=other.gross,
                    issued_at=other.issued_at or ctx.now,
                ),
                key=key,
            )
        elif other.state in ("failed", "parked"):
            kind: DocumentKind = other.kind  # type: ignore[assignment]
            ctx.emit(
                DocumentFailed(
                    request_id=msg.request_id,
                    order_id=msg.order_id,
                    document=kind,
                    reason=f"the order's {other.kind} {other.request_id} is {other.state}: "
                    f"{other.last_error or ''}",
                    parked=other.state == "parked",
                ),
                key=key,
            )

    async def _follow_up(self, ctx: Context, request_id: str, *, retry: bool) -> None:
        """A known request: announce its outcome, keep its timer, issue or reconcile it."""
        async with self.db.transaction() as conn:
            row = await store.get(conn, request_id)
        if row is None:
            return
        if row.state == "issued":
            await self._announce(ctx, row)
            await self._notify(ctx, row)
        elif row.state in ("failed", "parked"):
            await self._announce(ctx, row)
        elif row.state == "issuing":
            if retry:
                await self._reconcile(ctx, row)
            else:  # a POST was made and its answer never recorded (a crash, or in flight now)
                await self._later(ctx, row, "issuing", None, "no answer recorded")
        elif retry or row.next_at is None:
            await self._issue(ctx, request_id)
        else:  # the timer may have been lost with a failed handler: set it again
            self._timer(ctx, request_id, row)

    async def _issue(self, ctx: Context, request_id: str) -> None:
        """intent → (committed) issuing → POST → (committed) issued / failed / later."""
        async with self.db.transaction() as conn:
            row = await store.get(conn, request_id)
        if row is None or row.state != "intent":
            return
        request = msgspec.json.decode(row.request, type=_TYPES[row.kind])
        try:
            if isinstance(request, IssueCreditNote):
                await self._storno(ctx, row, request)
                return
            try:
                series, body = self._body(request, await self._tax_list(), ctx)
            except documents.DocumentProblem:
                self._taxes = None  # perhaps a rate changed since the list was read: read again
                series, body = self._body(request, await self._tax_list(), ctx)
        except documents.DocumentProblem as exc:
            await self._fail(ctx, row, str(exc), parked=False)
            return
        except (TransientError, ConfigError) as exc:
            await self._refused_for_now(ctx, row, exc)
            return
        except SmartBillRejected as exc:
            await self._fail(ctx, row, str(exc), parked=False)
            return
        if isinstance(request, IssueInvoice) and request.proforma_request_id:
            try:
                if await self._invoiced_in_smartbill(ctx, row, request.proforma_request_id):
                    return
            except (TransientError, ConfigError) as exc:
                await self._refused_for_now(ctx, row, exc)
                return
        lock = self._series_lock(series)
        if lock.locked():  # this process is issuing in the series: queue, free the handler
            await self._wait_for_series(ctx, row, series, "in flight here")
            return
        async with lock:
            if not await self._take_series(ctx, row, series, "f" if row.kind == "invoice" else "p"):
                return
            try:
                if isinstance(body, Invoice):
                    answer = await self.client.issue_invoice(body)
                else:
                    answer = await self.client.issue_estimate(body)
            except Exception as exc:  # every outcome is recorded below
                await self._after_error(ctx, row, exc)
                return
        await self._issued(ctx, request_id, answer)

    async def _invoiced_in_smartbill(
        self, ctx: Context, row: store.Document, proforma_request_id: str
    ) -> bool:
        """Before POSTing an invoice that follows a proforma: did the accountant make it in
        SmartBill Cloud already (since the last payment poll)? Then that one is the order's."""
        async with self.db.transaction() as conn:
            proforma = await store.get(conn, proforma_request_id)
        if proforma is None or proforma.state != "issued" or not proforma.series:
            return False
        try:
            made = await self.client.estimate_invoices(proforma.series, proforma.number or "")
        except SmartBillRejected as exc:  # the proforma is gone from SmartBill: issue ours
            ctx.log.warning("proforma %s: %s", proforma_request_id, exc)
            return False
        if not made:
            return False
        if len(made) > 1:
            names = ", ".join(f"{d.series}{d.number}" for d in made)
            reason = f"proforma {proforma.series}{proforma.number} has several invoices: {names}"
            await self._fail(ctx, row, reason, parked=True)
            return True
        [ref] = made
        status = await self.client.payment_status(ref.series, ref.number)
        total = status.invoice_total_amount
        gross = total if total is not None else row.gross
        async with self.db.transaction() as conn:
            done = await store.found_in_smartbill(
                conn, row.request_id, ref.series, ref.number, gross, ctx.now
            )
            await payment_store.polled(conn, proforma.request_id, ctx.now, watch="done")
        if done:
            ctx.log.info(
                "invoice %s: made in SmartBill from proforma %s as %s%s, not issued again",
                row.request_id,
                proforma_request_id,
                ref.series,
                ref.number,
            )
            await self._follow_up(ctx, row.request_id, retry=False)
        return True

    def _body(
        self, request: IssueInvoice | IssueProforma, taxes: tuple[Tax, ...], ctx: Context
    ) -> tuple[str, Invoice | Estimate]:
        if isinstance(request, IssueInvoice):
            series = self.smartbill.invoice_series
            return series, documents.invoice(request, taxes, series=series, now=ctx.now)
        series = self.smartbill.proforma_series
        return series, documents.estimate(
            request, taxes, series=series, now=ctx.now, due_days=self.settings.proforma_due_days
        )

    async def _storno(self, ctx: Context, row: store.Document, request: IssueCreditNote) -> None:
        """Reverse the referenced invoice (SmartBill reverses whole invoices only)."""
        async with self.db.transaction() as conn:
            original = await store.get(conn, request.invoice_request_id)
        if original is None or original.state in ("failed", "parked"):
            why = "unknown" if original is None else original.state
            await self._fail(
                ctx, row, f"invoice {request.invoice_request_id} is {why}", parked=False
            )
            return
        if original.state != "issued" or not original.series or not original.number:
            await self._later(
                ctx, row, "intent", self.settings.retry_backoff, "invoice not issued yet"
            )
            return
        if row.gross != original.gross:
            await self._fail(
                ctx,
                row,
                f"partial return ({row.gross} of {original.gross} RON): SmartBill reverses whole "
                f"invoices only; issue a negative invoice for {original.series} "
                f"{original.number} by hand",
                parked=True,
            )
            return
        series = original.series
        async with self._series_lock(series):
            if not await self._take_series(ctx, row, series, "f"):
                return
            try:
                answer = await self.client.reverse_invoice(
                    series, original.number, issue_date=documents.issue_date(ctx.now)
                )
            except Exception as exc:  # every outcome is recorded below
                await self._after_error(ctx, row, exc)
                return
        await self._issued(ctx, row.request_id, answer)

    async def _take_series(
        self, ctx: Context, row: store.Document, series: str, kind: Literal["f", "p"]
    ) -> bool:
        """Take the series (committed), then record its next number (committed) before the
        POST. False: nothing to send now (taken by another delivery, the series busy with a
        document in doubt, or the number unreadable: each has its follow-up)."""
        async with self.db.transaction() as conn:
            claimed = await store.claim_series(conn, row.request_id, series)
        if claimed is False:
            return False  # another delivery took it
        if isinstance(claimed, str):
            await self._wait_for_series(ctx, row, series, f"{claimed} is in flight or in doubt")
            return False
        try:
            expected = await self.client.next_number(series, kind)
        except SmartBillRejected as exc:
            await self._fail(ctx, row, str(exc), parked=False)
            return False
        except (TransientError, ConfigError) as exc:
            await self._refused_for_now(ctx, row, exc)  # back to intent: the series is free
            return False
        async with self.db.transaction() as conn:
            await store.expect(conn, row.request_id, expected)
        return True

    async def _after_error(self, ctx: Context, row: store.Document, exc: Exception) -> None:
        if isinstance(exc, SmartBillRejected):
            self._taxes = None  # a refusal may be a VAT pair changed since: read /tax again
            await self._fail(ctx, row, str(exc), parked=False)
        elif getattr(exc, "outcome_unknown", False):
            await self._later(ctx, row, "issuing", None, str(exc))
        elif isinstance(exc, (TransientError, ConfigError)):
            await self._refused_for_now(ctx, row, exc)
        else:  # not a typed answer: the POST may have been made
            await self._later(ctx, row, "issuing", None, f"unexpected: {exc!r}")

    async def _issued(self, ctx: Context, request_id: str, answer: DocumentResponse) -> None:
        async with self.db.transaction() as conn:
            row = await store.get(conn, request_id)
            assert row is not None and row.series is not None
            await store.issued(
                conn, request_id, answer.series or row.series, answer.number, ctx.now
            )
            row = await store.get(conn, request_id)
        assert row is not None
        ctx.log.info("%s %s issued: %s %s", row.kind, request_id, row.series, row.number)
        await ctx.cancel(timer_name(request_id))
        await self._announce(ctx, row)
        await self._notify(ctx, row)

    async def _reconcile(self, ctx: Context, row: store.Document) -> None:
        """A POST whose answer is unknown: read the series and decide."""
        if not row.series:
            await self._fail(ctx, row, "no series recorded before the request", parked=True)
            return
        if not row.expected_number:  # claimed, stopped before the POST (which needs it)
            async with self.db.transaction() as conn:
                await store.later(conn, row.request_id, "intent", ctx.now, "never sent")
            await self._issue(ctx, row.request_id)
            return
        total = row.gross if row.kind == "invoice" else None
        kind: Literal["invoice", "estimate"] = "estimate" if row.kind == "proforma" else "invoice"
        try:
            found = await reconcile(
                self.client, kind=kind, series=row.series, expected=row.expected_number, total=total
            )
        except SmartBillRejected as exc:
            await self._fail(ctx, row, f"reconciliation refused: {exc}", parked=True)
            return
        except (TransientError, ConfigError) as exc:
            delay = self._backoff(row.attempts, getattr(exc, "retry_after", None))
            await self._later(ctx, row, "issuing", delay, f"reconciliation: {exc}")
            return
        ctx.log.warning(
            "%s %s reconciled: %s (%s)", row.kind, row.request_id, found.state, found.reason
        )
        if found.state == "issued" and found.number:
            await self._issued(
                ctx, row.request_id, DocumentResponse(series=row.series, number=found.number)
            )
        elif found.state == "absent":
            async with self.db.transaction() as conn:
                await store.later(conn, row.request_id, "intent", ctx.now, "reconciled: absent")
            await self._issue(ctx, row.request_id)
        else:
            await self._fail(ctx, row, f"reconciliation ambiguous: {found.reason}", parked=True)

    # --- outcomes -----------------------------------------------------------------------------

    async def _refused_for_now(self, ctx: Context, row: store.Document, exc: Exception) -> None:
        delay = self._backoff(row.attempts + 1, getattr(exc, "retry_after", None))
        await self._later(ctx, row, "intent", delay, str(exc))

    def _backoff(self, attempts: int, retry_after: float | None) -> float:
        s = self.settings
        return backoff(s.retry_backoff, s.retry_max_backoff, attempts, retry_after)

    async def _later(
        self,
        ctx: Context,
        row: store.Document,
        state: str,
        delay: float | None,
        reason: str,
        *,
        level: int = logging.WARNING,
    ) -> None:
        seconds = self._reconcile_after() if delay is None else delay
        at = ctx.now + timedelta(seconds=seconds)
        async with self.db.transaction() as conn:
            await store.later(conn, row.request_id, state, at, reason)
        ctx.log.log(level, "%s %s %s until %s: %s", row.kind, row.request_id, state, at, reason)
        ctx.schedule(
            IssueAttempt(request_id=row.request_id), at=at, name=timer_name(row.request_id)
        )

    async def _wait_for_series(
        self, ctx: Context, row: store.Document, series: str, why: str
    ) -> None:
        """Queue the document behind the one holding ``series``: that one wakes the first in
        line when it frees the series (:meth:`_wake`); the timer is only a safety net (a
        waker that crashed), so waiters do not poll the series."""
        at = ctx.now + timedelta(seconds=SERIES_WAIT_TIMER)
        async with self.db.transaction() as conn:
            await store.wait_series(conn, row.request_id, series, at, f"series {series}: {why}")
        ctx.log.info("%s %s waits for series %s (%s)", row.kind, row.request_id, series, why)
        ctx.schedule(
            IssueAttempt(request_id=row.request_id), at=at, name=timer_name(row.request_id)
        )

    async def _wake_after(self, ctx: Context, request_id: str) -> None:
        """After handling a document: if it freed its series (issued, failed, or sent back
        to ``intent``), the document waiting longest for the series goes next (a message, not
        a timer: the hand-off takes milliseconds, not a timer poll)."""
        async with self.db.transaction() as conn:
            row = await store.get(conn, request_id)
            if row is None or not row.series or row.state == "issuing":
                return
            waiting = await store.next_waiting(conn, row.series)
        if waiting is not None:
            ctx.emit(
                IssueAttempt(request_id=waiting["request_id"]),
                key=f"order:{waiting['order_id']}",
            )

    def _timer(self, ctx: Context, request_id: str, row: store.Document) -> None:
        if row.next_at is not None:
            ctx.schedule(
                IssueAttempt(request_id=request_id), at=row.next_at, name=timer_name(request_id)
            )

    def _reconcile_after(self) -> float:
        return self.settings.reconcile_after or self.smartbill.timeout + 5.0

    async def _fail(self, ctx: Context, row: store.Document, reason: str, *, parked: bool) -> None:
        async with self.db.transaction() as conn:
            await store.final(conn, row.request_id, "parked" if parked else "failed", reason)
            current = await store.get(conn, row.request_id)
        ctx.log.warning(
            "%s %s %s: %s", row.kind, row.request_id, "parked" if parked else "failed", reason
        )
        if current is not None:
            await self._announce(ctx, current)

    async def _announce(self, ctx: Context, row: store.Document) -> None:
        """Emit the outcome once (marked in the handler's transaction, with the emit)."""
        if row.state not in ("issued", "failed", "parked"):
            return
        if not await store.announce(ctx.conn, row.request_id):
            return
        key = f"order:{row.order_id}"
        if row.state != "issued":
            kind: DocumentKind = row.kind  # type: ignore[assignment]
            ctx.emit(
                DocumentFailed(
                    request_id=row.request_id,
                    order_id=row.order_id,
                    document=kind,
                    reason=row.last_error or "",
                    parked=row.state == "parked",
                ),
                key=key,
            )
            return
        event = {"invoice": InvoiceIssued, "proforma": ProformaIssued}.get(
            row.kind, CreditNoteIssued
        )
        gross = -row.gross if row.kind == "credit_note" else row.gross
        ctx.emit(
            event(
                request_id=row.request_id,
                order_id=row.order_id,
                series=row.series or "",
                number=row.number or "",
                gross=gross,
                issued_at=row.issued_at or ctx.now,
            ),
            key=key,
        )

    async def _notify(self, ctx: Context, row: store.Document) -> None:
        """The document email with its PDF, asked for once (invoices and proformas)."""
        if row.kind == "credit_note" or row.notified or not row.series or not row.number:
            return
        request = msgspec.json.decode(row.request, type=_TYPES[row.kind])
        assert isinstance(request, IssueInvoice | IssueProforma)
        attachments: tuple[Attachment, ...] = ()
        try:
            if row.kind == "invoice":
                pdf = await self.client.invoice_pdf(row.series, row.number)
            else:
                pdf = await self.client.estimate_pdf(row.series, row.number)
        except SmartBillRejected as exc:  # the email goes without it: the document exists
            ctx.log.warning("%s %s: no PDF: %s", row.kind, row.request_id, exc)
        except (TransientError, ConfigError) as exc:
            delay = self._backoff(1, getattr(exc, "retry_after", None))
            at = ctx.now + timedelta(seconds=delay)
            # the handler's transaction: it may hold the row already (announce)
            await store.wait_notify(ctx.conn, row.request_id, at, f"pdf: {exc}")
            ctx.schedule(
                IssueAttempt(request_id=row.request_id), at=at, name=timer_name(row.request_id)
            )
            return
        else:
            name = "factura" if row.kind == "invoice" else "proforma"
            attachments = (
                Attachment(
                    filename=f"{name}-{row.series}{row.number}.pdf",
                    content_type="application/pdf",
                    content=pdf,
                ),
            )
        if not await store.notify(ctx.conn, row.request_id):
            return
        party = request.party
        issued = row.issued_at or ctx.now
        number = f"{row.series} {row.number}"
        proforma: dict[str, str] = {}
        if row.kind == "proforma":  # what its template says: number and due date
            due = documents.due_date(issued, self.settings.proforma_due_days)
            proforma = {"proforma_number": number, "due_date": due.isoformat()}
        ctx.emit(
            NotifyCustomer(
                notification_key=f"invoice:{row.request_id}",
                template="invoice_issued" if row.kind == "invoice" else "proforma_issued",
                data={
                    "order_id": row.order_id,
                    "order_number": request.order_number,
                    "invoice_number": number,
                    "issued_on": documents.issue_date(issued).isoformat(),
                    **proforma,
                    "customer_name": party.name,
                    "gross": str(row.gross),
                    "currency": request.currency,
                },
                customer_id=request.customer_id,
                email=party.email,
                phone=party.phone,
                attachments=attachments,
            ),
            key=f"order:{row.order_id}",
        )

    # --- plumbing -----------------------------------------------------------------------------

    def _require(self) -> None:
        """Messages wait (a transient error) while SmartBill is not configured."""
        s = self.smartbill
        for name, value in (
            ("username", s.username),
            ("token", s.token),
            ("cif", s.cif),
            ("invoice_series", s.invoice_series),
            ("proforma_series", s.proforma_series),
        ):
            if not value:
                raise TransientError(f"missing setting {env_name(name, 'smartbill')}")

    async def _tax_list(self) -> tuple[Tax, ...]:
        if self._taxes is None:
            self._taxes = await self.client.taxes()
        return self._taxes

    def _series_lock(self, series: str) -> asyncio.Lock:
        return self._series_locks.setdefault(series, asyncio.Lock())

    async def on_start(self) -> None:
        """Arm the payment poll and the daily stock comparison (durable timers, moved to their
        next time at every start), unless SmartBill is not configured."""
        try:
            self._require()
        except TransientError as exc:
            log.warning("invoicing: no payment poll, no stock comparison (%s)", exc)
            return
        now = datetime.now(UTC)
        timers: list[tuple[Message, datetime, str, str]] = []
        if self.settings.payment_poll_interval is not None:
            timers.append((PollPayments(), now, PAYMENT_TIMER, PAYMENT_KEY))
        if self.settings.stock_check_at is not None:
            at = stock.next_check(now, self.settings.stock_check_at)
            timers.append((CompareStock(), at, STOCK_TIMER, STOCK_KEY))
        items = [
            outbox.Outgoing(
                Envelope.new(m, key=key, occurred_at=at), encode(m), timer_at=at, timer_name=name
            )
            for m, at, name, key in timers
        ]
        if items:
            async with self.db.transaction() as conn:
                await outbox.write(conn, items)

    async def on_stop(self) -> None:
        await self.client.close()


def _watch(msg: Request) -> str:
    """Proformas (bank transfer) and cash-on-delivery invoices have their payments polled."""
    if isinstance(msg, IssueProforma):
        return "open"
    if isinstance(msg, IssueInvoice) and msg.payment_method == "cash_on_delivery":
        return "open"
    return "none"


def build(
    settings: InvoicingSettings, smartbill: SmartBillSettings, db: Database, client: SmartBillClient
) -> InvoicingActor:
    """The actor with its client (tests pass one wired to the simulator)."""
    return InvoicingActor(settings, smartbill, db, client)


def factory(resources: Resources) -> Actor:
    """The invoicing context with ``[invoicing]`` and ``[smartbill]`` (credentials may be unset:
    its handlers then wait with a transient error naming the missing variable)."""
    smartbill = load_smartbill()
    client = build_client(
        smartbill, limiter=limiter_for(resources.cache), metrics=resources.metrics
    )
    return build(load_invoicing(), smartbill, resources.db, client)
