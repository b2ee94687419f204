"""The quotations' read routes: the list (filters, cursor pages), one quote in full, its PDF.

A B2B customer sees only its own quotes: the list is scoped to it, and another customer's
quote answers exactly like a missing one (404).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from actors.quotations import document, pdf_view, queries, store
from actors.quotations.settings import current
from actors.quotations.views import PdfQuery, QuotationQuery, QuotationSummary, QuotationView
from hub.auth import Role
from hub.edge.api import Api, ApiError, Call, Page, decode_cursor, encode_cursor
from hub.edge.keys import PDF
from hub.pdf import RenderTimeout

reads = Api("quotations")
# Sales and operations; the warehouse reads quotes for the stock they hold; service keys of
# the shop's systems; a B2B customer its own. Marketing has no business with negotiated prices.
READERS = {Role.admin, Role.ops, Role.sales, Role.warehouse, Role.service, Role.b2b_customer}
# A render holds one of the pool's few workers for about a second, and a queue that times out
# tears the pool down under everyone's documents: per caller, 30 a minute, 10 at once.
PDF_RATE = (30, 10)


async def quotation_owner(call: Call[Any, Any]) -> str | None:
    """The customer the quote in the path is for (the edge compares it with a B2B caller's)."""
    async with call.db.pool.acquire() as conn:
        return await queries.owner(conn, call.param("quotation_id"))


@reads.get(
    "/api/v1/quotations",
    name="quotations.list",
    roles=READERS,
    summary="List quotations",
    query=QuotationQuery,
    response=list[QuotationSummary],
)
async def list_quotations(call: Call[None, QuotationQuery]) -> Page[QuotationSummary]:
    """Newest first by default; filter by status, customer, number and creation time
    (``since`` inclusive, ``until`` exclusive). A B2B customer gets only its own quotes."""
    q = call.query
    after = decode_cursor(q.cursor, datetime, str) if q.cursor else None
    async with call.db.pool.acquire() as conn:
        rows = await queries.list_quotes(
            conn,
            q,
            customer_scope=call.customer_scope,
            after=(after[0], after[1]) if after else None,
        )
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    return Page(rows, encode_cursor(rows[-1].created_at, rows[-1].id) if more else None)


@reads.get(
    "/api/v1/quotations/{quotation_id}",
    name="quotations.get",
    roles=READERS,
    summary="Show a quotation in full",
    response=QuotationView,
    owner=quotation_owner,
    entity="quotation",
)
async def get_quotation(call: Call[None, None]) -> QuotationView:
    """Customer, lines with their price breakdown, totals, validity and reminder, the stock
    hold, the history of its statuses (who, when, why) and the statuses it may move to. A B2B
    customer's breakdown shows no cost or margin."""
    for_customer = call.customer_scope is not None
    async with call.db.pool.acquire() as conn:
        return await queries.detail(conn, call.param("quotation_id"), for_customer=for_customer)


@reads.get(
    "/api/v1/quotations/{quotation_id}/pdf",
    name="quotations.pdf",
    roles=READERS,
    summary="The quotation as a PDF",
    query=PdfQuery,
    owner=quotation_owner,
    rate=PDF_RATE,
    entity="quotation",
    raw=True,
)
async def quotation_pdf(call: Call[None, PdfQuery]) -> web.Response:
    """``application/pdf``, as an attachment named after the quote's number; ``lang`` ``ro`` or
    ``en`` (default: the quote's language). A draft prints as if sent today."""
    async with call.db.pool.acquire() as conn:
        quote = await store.get(conn, call.param("quotation_id"))
        lines = await store.lines(conn, quote.id)
    if quote.pricing != "priced":
        raise ApiError(409, "not_priced", f"quotation {quote.number} is not priced yet")
    doc = pdf_view.document(
        quote, lines, current(), now=datetime.now(UTC), language=call.query.lang
    )
    try:
        pdf = await document.render_pdf(call.request.app[PDF], doc)
    except RenderTimeout:
        raise ApiError(
            503,
            "pdf_busy",
            "the PDF took too long to print; try again",
            headers={"Retry-After": "5"},
        ) from None
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{quote.number}.pdf"',
            "X-Request-ID": call.request_id,
        },
    )
