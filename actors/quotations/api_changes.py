"""The quotations' command routes: create, reprice, send, accept, reject, convert.

Each change runs in one transaction with its audit entry, the messages it emits and the durable
timers it sets or cancels (written straight into the outbox and timers tables, as a handler's
``ctx.schedule`` would), through the same functions the quotations actor uses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
from aiohttp import web

from actors.pricing.messages import CartLine
from actors.quotations import drafts, lifecycle, queries, service, store
from actors.quotations.api_reads import quotation_owner
from actors.quotations.drafts import NewQuote
from actors.quotations.model import Quote, QuoteCustomer
from actors.quotations.service import Outcome, Refused
from actors.quotations.settings import current
from actors.quotations.views import ConvertBody, CreateBody, QuotationView, RejectBody
from hub.auth import Role
from hub.edge.api import Api, ApiError, Call, FieldError

changes = Api("quotations")
SELLERS = {Role.admin, Role.ops, Role.sales}
_encoder = msgspec.json.Encoder(decimal_format="string")
Change = Callable[[asyncpg.Connection, datetime], Awaitable[tuple[Quote, Outcome]]]


def location(quotation_id: str) -> str:
    """Where a quote is read."""
    return f"/api/v1/quotations/{quotation_id}"


async def _change(call: Call[Any, Any], change: Change) -> QuotationView:
    """Run one change in the call's transaction, publish its outcome, audit before and after."""
    quotation_id = call.param("quotation_id")
    call.audit(entity_id=quotation_id)
    try:
        async with call.transaction() as conn:
            before = await store.lock_status(conn, quotation_id)
            quote, outcome = await change(conn, datetime.now(UTC))
            await service.write_outcome(conn, outcome, actor=call.actor)
            call.audit(before=before, after={"status": quote.status, "version": quote.version})
            view = await queries.detail(
                conn, quote.id, for_customer=call.customer_scope is not None
            )
    except Refused as exc:
        raise ApiError(409, exc.code, str(exc)) from None
    return view


def _accepted(call: Call[Any, Any], view: QuotationView) -> web.Response:
    """202 with the quote as it stands and where to follow it (``Location``)."""
    body = {"success": True, "data": view, "error": None, "metadata": {}}
    return web.Response(
        body=_encoder.encode(body),
        status=202,
        content_type="application/json",
        headers={"Location": location(view.id), "X-Request-ID": call.request_id},
    )


@changes.post(
    "/api/v1/quotations",
    name="quotations.create",
    roles={*SELLERS, Role.b2b_customer},
    summary="Prepare a quotation",
    body=CreateBody,
    response=QuotationView,
    status=202,
    entity="quotation",
)
async def create(call: Call[CreateBody, None]) -> web.Response:
    """A draft is stored at once with its number (202, ``Location``) and priced in the
    background: ``pricing`` is ``pending``, then ``priced`` (lines, breakdown, totals) or
    ``failed`` (with the reason). A B2B customer asks for a quote for itself only, at its own
    tier and the standard validity, without a stock hold."""
    body = call.body
    customer = _own_customer(call, body)
    settings = current()
    new = NewQuote(
        customer=customer,
        lines=tuple(CartLine(sku=x.sku, quantity=x.quantity) for x in body.lines),
        language=body.language or settings.default_language,
        validity_days=body.validity_days or settings.validity_days,
        hold_stock=body.hold_stock,
        tier=body.tier,
        notes=body.notes,
    )
    async with call.transaction() as conn:
        quote, outcome = await drafts.create(conn, new, by=call.actor, now=datetime.now(UTC))
        await service.write_outcome(conn, outcome, actor=call.actor)
        call.audit(entity_id=quote.id, after={"number": quote.number, "lines": len(new.lines)})
        view = await queries.detail(conn, quote.id, for_customer=call.customer_scope is not None)
    return _accepted(call, view)


def _own_customer(call: Call[CreateBody, None], body: CreateBody) -> QuoteCustomer:
    own = call.customer_scope
    if own is None:
        return body.customer
    problems = [
        FieldError(field=name, message="set by the shop")
        for name, given in (
            ("hold_stock", body.hold_stock),
            ("tier", body.tier is not None),
            ("validity_days", body.validity_days is not None),
        )
        if given
    ]
    if body.customer.customer_id not in (None, own):
        problems.append(FieldError(field="customer.customer_id", message=f"use {own!r}"))
    if problems:
        raise ApiError(403, "forbidden", "a customer asks for its own quote only", details=problems)
    return msgspec.structs.replace(body.customer, customer_id=own)


@changes.post(
    "/api/v1/quotations/{quotation_id}/reprice",
    name="quotations.reprice",
    roles=SELLERS,
    summary="Price a draft again",
    response=QuotationView,
    status=202,
    entity="quotation",
)
async def reprice(call: Call[None, None]) -> web.Response:
    """After a pricing failure (a SKU fixed in the catalog) or a price change: the draft's
    pricing is ``pending`` again until the pricing engine answers."""
    quotation_id = call.param("quotation_id")
    view = await _change(call, lambda conn, now: drafts.reprice(conn, quotation_id, now=now))
    return _accepted(call, view)


@changes.post(
    "/api/v1/quotations/{quotation_id}/send",
    name="quotations.send",
    roles=SELLERS,
    summary="Send a priced draft to the customer",
    response=QuotationView,
    entity="quotation",
)
async def send(call: Call[None, None]) -> QuotationView:
    """The validity starts now: ``valid_until`` is the last valid day and ``expires_at`` the
    following midnight in Bucharest; the reminder is planned at ``remind_at``. With
    ``hold_stock``, the stock is held until the quote expires. Only a priced draft is sent."""
    quotation_id = call.param("quotation_id")
    days = current().remind_days_before
    return await _change(
        call,
        lambda conn, now: lifecycle.send(
            conn, quotation_id, by=call.actor, now=now, remind_days_before=days
        ),
    )


@changes.post(
    "/api/v1/quotations/{quotation_id}/accept",
    name="quotations.accept",
    roles={*SELLERS, Role.b2b_customer},
    summary="Accept a sent quotation",
    response=QuotationView,
    owner=quotation_owner,
    entity="quotation",
)
async def accept(call: Call[None, None]) -> QuotationView:
    """Until it expires; no reminder follows. A B2B customer accepts its own quotes."""
    quotation_id = call.param("quotation_id")
    return await _change(
        call, lambda conn, now: lifecycle.accept(conn, quotation_id, by=call.actor, now=now)
    )


@changes.post(
    "/api/v1/quotations/{quotation_id}/reject",
    name="quotations.reject",
    roles={*SELLERS, Role.b2b_customer},
    summary="Decline a sent quotation",
    body=RejectBody,
    response=QuotationView,
    owner=quotation_owner,
    entity="quotation",
)
async def reject(call: Call[RejectBody, None]) -> QuotationView:
    """Its timers are cancelled and any stock held for it is released. A B2B customer declines
    its own quotes."""
    quotation_id = call.param("quotation_id")
    reason = call.body.reason
    return await _change(
        call,
        lambda conn, now: lifecycle.reject(
            conn, quotation_id, by=call.actor, reason=reason, now=now
        ),
    )


@changes.post(
    "/api/v1/quotations/{quotation_id}/convert",
    name="quotations.convert",
    roles=SELLERS,
    summary="Turn an accepted quotation into an order",
    body=ConvertBody,
    response=QuotationView,
    entity="quotation",
)
async def convert(call: Call[ConvertBody, None]) -> QuotationView:
    """While it is valid: the order (``order_id``) is placed with the quoted lines at the quoted
    prices, billed to the quote's address unless ``billing`` says otherwise, and takes over the
    stock held for the quote. Follow it at ``/api/v1/orders/{order_id}``."""
    quotation_id = call.param("quotation_id")
    b = call.body
    terms = lifecycle.OrderTerms(
        payment_method=b.payment_method, billing=b.billing, shipping=b.shipping, note=b.note
    )
    return await _change(
        call,
        lambda conn, now: lifecycle.convert(conn, quotation_id, terms, by=call.actor, now=now),
    )
