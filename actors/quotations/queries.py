"""SQL of the quotations API's reads: the list (filters, keyset pages), one quote in full, and
the owner of a quote for the B2B check. Plain reads, no locks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from actors.pricing import domain as pricing
from actors.pricing.messages import PriceStep
from actors.quotations import domain, store
from actors.quotations.model import Line, Quote
from actors.quotations.views import (
    HeldView,
    HistoryView,
    LineView,
    QuotationQuery,
    QuotationSort,
    QuotationSummary,
    QuotationView,
)
from hub.edge.api import Sorting

QUOTATION_SORT = Sorting(QuotationSort, created_at="created_at")


async def list_quotes(
    conn: asyncpg.Connection,
    q: QuotationQuery,
    *,
    customer_scope: str | None,
    after: tuple[datetime, str] | None,
) -> list[QuotationSummary]:
    """One page (``q.limit + 1`` rows, to tell whether another follows) of matching quotes;
    a B2B caller's ``customer_scope`` wins over the ``customer_id`` filter."""
    args: list[Any] = [
        q.status,
        customer_scope if customer_scope is not None else q.customer_id,
        q.number,
        q.since,
        q.until,
    ]
    where = """
        WHERE ($1::text IS NULL OR status = $1)
          AND ($2::text IS NULL OR customer_id = $2)
          AND ($3::text IS NULL OR number = $3)
          AND ($4::timestamptz IS NULL OR created_at >= $4)
          AND ($5::timestamptz IS NULL OR created_at < $5)
    """
    if after is not None:
        args.extend(after)
        where += f" AND {QUOTATION_SORT.after(q.sort, len(args) - 1, len(args))}"
    args.append(q.limit + 1)
    rows = await conn.fetch(
        "SELECT id, number, status, pricing, customer_id, customer->>'name' AS customer_name, "
        "currency, gross, created_at, sent_at, valid_until, order_id FROM quotations"
        f" {where} {QUOTATION_SORT.order_by(q.sort)} LIMIT ${len(args)}",
        *args,
    )
    return [QuotationSummary(**dict(r)) for r in rows]


async def owner(conn: asyncpg.Connection, quotation_id: str) -> str | None:
    """The customer a quote is for (None: a prospect's, or no such quote)."""
    found: str | None = await conn.fetchval(
        "SELECT customer_id FROM quotations WHERE id = $1", quotation_id
    )
    return found


async def detail(
    conn: asyncpg.Connection, quotation_id: str, *, for_customer: bool = False
) -> QuotationView:
    """A quote in full (``for_customer``: its breakdown without the cost and margins);
    :class:`~hub.errors.NotFound` if there is none."""
    quote = await store.get(conn, quotation_id)
    lines = await store.lines(conn, quotation_id)
    moves = await store.history(conn, quotation_id)
    history = [HistoryView(**msgspec.structs.asdict(m)) for m in moves]
    return view(quote, lines, history, for_customer=for_customer)


def view(
    quote: Quote, lines: list[Line], history: list[HistoryView], *, for_customer: bool = False
) -> QuotationView:
    """The API's view of a quote (``for_customer``: see :func:`line_view`)."""
    return QuotationView(
        id=quote.id,
        number=quote.number,
        status=quote.status,
        allowed=list(domain.allowed_next(quote.status)),
        pricing=quote.pricing,
        pricing_error=quote.pricing_error,
        customer=quote.customer,
        lines=[line_view(x, for_customer=for_customer) for x in lines],
        totals=quote.totals if quote.pricing == "priced" else None,
        tier=quote.tier,
        priced_tier=quote.priced_tier,
        priced_on=quote.priced_on,
        language=quote.language,
        validity_days=quote.validity_days,
        sent_at=quote.sent_at,
        valid_until=quote.valid_until,
        expires_at=quote.expires_at,
        remind_at=quote.remind_at,
        reminded_at=quote.reminded_at,
        hold_stock=quote.hold_stock,
        hold_status=quote.hold_status,
        held=[HeldView(sku=h.sku, quantity=h.quantity) for h in quote.held or ()],
        order_id=quote.order_id,
        notes=quote.notes,
        created_by=quote.created_by,
        created_at=quote.created_at,
        updated_at=quote.updated_at,
        version=quote.version,
        history=history,
    )


def line_view(x: Line, *, for_customer: bool = False) -> LineView:
    """A line as the API shows it; ``for_customer``, its breakdown without the cost and
    margins (:func:`actors.pricing.domain.for_customer`)."""
    breakdown = None
    if x.breakdown is not None:
        steps = tuple(msgspec.convert(s, PriceStep) for s in x.breakdown)
        breakdown = list(pricing.for_customer(steps) if for_customer else steps)
    return LineView(
        line_no=x.line_no,
        sku=x.sku,
        name=x.name,
        unit=x.unit,
        quantity=x.quantity,
        unit_net=x.unit_net,
        line_net=x.line_net,
        vat_rate=x.vat_rate,
        line_vat=x.line_vat,
        line_gross=x.line_gross,
        breakdown=breakdown,
    )
