"""The moves of a quote after pricing: send, accept, reject, expire, remind, convert.

Each locks the quote, checks the move with ``domain``, saves it with a history row and returns
the :class:`~actors.quotations.service.Outcome` to publish: the status event, the durable timers
set or cancelled, the stock hold asked for or given back, the reminder, the order.

Timers: sending sets ``quotation:<id>:expire`` at the expiry instant and
``quotation:<id>:remind`` at the reminder instant (when there is one). Accepting cancels the
reminder, rejecting cancels both, converting cancels the expiry, expiring cancels the reminder.
A timer that fires for a quote that moved on, or for another expiry instant, does nothing; one
that fires before its instant by this process's clock is set again for that instant.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from actors.inventory.messages import ReleaseStock, ReserveStock, StockLine
from actors.notifications.messages import NotifyCustomer
from actors.orders.messages import Address, Customer, PaymentMethod, PlaceOrder
from actors.orders.validation import placement_problems
from actors.pricing.messages import CartLine
from actors.quotations import domain, store
from actors.quotations.messages import ExpireQuotation, RemindQuotation
from actors.quotations.model import ACTIVE_HOLDS, Quote
from actors.quotations.service import (
    Outcome,
    Refused,
    Timer,
    expiry_timer,
    hold_id,
    move,
    quote_key,
    reminder_timer,
    reservation_key,
)
from hub.errors import DomainError, NotFound
from hub.ids import uuid7

SYSTEM = "system"
REMINDER_TEMPLATE = "quotation_expiring"


class OrderTerms(msgspec.Struct, frozen=True, kw_only=True):
    """What an order needs beyond the quote: how it is paid, where it goes."""

    payment_method: PaymentMethod
    billing: Address | None = None  # None: the address on the quote
    shipping: Address | None = None  # None: ship to the billing address
    note: str | None = None


async def send(
    conn: asyncpg.Connection, quotation_id: str, *, by: str, now: datetime, remind_days_before: int
) -> tuple[Quote, Outcome]:
    """Send a priced draft: its validity starts now; set its expiry and reminder timers, and
    hold its stock until expiry when the quote asks for it."""
    quote = await store.get(conn, quotation_id, lock=True)
    if quote.status == "draft" and quote.pricing != "priced":
        failed = f" (pricing failed: {quote.pricing_error})" if quote.pricing == "failed" else ""
        raise Refused(f"quotation {quote.number} is not priced yet{failed}")
    valid = domain.validity(now, quote.validity_days, remind_days_before)
    saved, event = await move(
        conn,
        quote,
        "sent",
        by=by,
        reason="sent to the customer",
        now=now,
        sent_at=now,
        sent_by=by,
        valid_until=valid.last_valid_day,
        expires_at=valid.expires_at,
        remind_at=valid.remind_at,
        hold_status="requested" if quote.hold_stock else "none",
    )
    out = Outcome()
    out.emit(event, quote_key(saved.id))
    out.timers.append(_expiry(saved, valid.expires_at))
    if valid.remind_at is not None:
        out.timers.append(_reminder(saved, valid.remind_at))
    if saved.hold_stock:
        lines = await store.lines(conn, saved.id)
        reserve = ReserveStock(
            reservation_id=hold_id(saved.id),
            lines=tuple(StockLine(sku=x.sku, quantity=x.quantity) for x in lines),
            expires_at=valid.expires_at,
        )
        out.emit(reserve, reservation_key(saved.id))
    return saved, out


async def accept(
    conn: asyncpg.Connection, quotation_id: str, *, by: str, now: datetime
) -> tuple[Quote, Outcome]:
    """The customer accepts a sent quote before it expires: no reminder any more."""
    quote = await store.get(conn, quotation_id, lock=True)
    _still_valid(quote, now)
    saved, event = await move(conn, quote, "accepted", by=by, reason="accepted", now=now)
    out = Outcome()
    out.emit(event, quote_key(saved.id))
    out.cancels.append(reminder_timer(saved.id))
    return saved, out


async def reject(
    conn: asyncpg.Connection, quotation_id: str, *, by: str, reason: str | None, now: datetime
) -> tuple[Quote, Outcome]:
    """The customer declines a sent quote: no timers any more, the stock held goes back."""
    quote = await store.get(conn, quotation_id, lock=True)
    saved, event = await move(
        conn,
        quote,
        "rejected",
        by=by,
        reason=reason or "rejected",
        now=now,
        **_release(quote),
    )
    out = Outcome()
    out.emit(event, quote_key(saved.id))
    out.cancels += [reminder_timer(saved.id), expiry_timer(saved.id)]
    _release_hold(out, quote, "quotation rejected")
    return saved, out


async def expire(conn: asyncpg.Connection, msg: ExpireQuotation, *, now: datetime) -> Outcome:
    """The expiry timer: a sent or accepted quote whose validity ended expires; its stock goes
    back and its reminder is cancelled. Anything else (moved on, another instant) is stale."""
    quote = await _timer_target(conn, msg.quotation_id, msg.expires_at)
    out = Outcome()
    if quote is None or quote.status not in domain.EXPIRABLE:
        return out
    if not domain.is_expired(now, msg.expires_at):
        out.timers.append(_expiry(quote, msg.expires_at))  # early by this clock: wait for it
        return out
    saved, event = await move(
        conn,
        quote,
        "expired",
        by=SYSTEM,
        reason=f"valid until {quote.valid_until}",
        now=now,
        **_release(quote),
    )
    out.emit(event, quote_key(saved.id))
    out.cancels.append(reminder_timer(saved.id))
    _release_hold(out, quote, "quotation expired")
    return out


async def remind(conn: asyncpg.Connection, msg: RemindQuotation, *, now: datetime) -> Outcome:
    """The reminder timer: tell the customer once, while the quote still awaits an answer."""
    quote = await _timer_target(conn, msg.quotation_id, msg.expires_at)
    out = Outcome()
    if quote is None or quote.reminded_at is not None or quote.remind_at is None:
        return out
    if domain.should_remind(quote.status) and now < quote.remind_at:
        out.timers.append(_reminder(quote, quote.remind_at))  # early by this clock: wait
        return out
    if not domain.reminder_due(quote.status, now, quote.remind_at, msg.expires_at):
        return out
    await store.save(conn, quote, msgspec.structs.replace(quote, reminded_at=now), now)
    out.emit(reminder(quote), quote_key(quote.id))
    return out


def reminder(quote: Quote) -> NotifyCustomer:
    """The notification of a quote about to expire (one per quote: its key dedupes it)."""
    c = quote.customer
    return NotifyCustomer(
        notification_key=f"quotation:{quote.id}:expiring",
        template=REMINDER_TEMPLATE,
        data={
            "quotation_id": quote.id,
            "number": quote.number,
            "customer_name": c.contact or c.name,
            "valid_until": quote.valid_until.isoformat() if quote.valid_until else None,
            "expires_at": quote.expires_at.isoformat() if quote.expires_at else None,
            "gross": str(quote.gross),
            "currency": quote.currency,
        },
        customer_id=quote.customer_id,
        email=c.email,
        phone=c.phone,
        language=quote.language,
    )


async def convert(
    conn: asyncpg.Connection, quotation_id: str, terms: OrderTerms, *, by: str, now: datetime
) -> tuple[Quote, Outcome]:
    """Turn an accepted, still valid quote into an order at the quoted prices: the order
    takes the stock held for the quote over; the quote no longer expires."""
    quote = await store.get(conn, quotation_id, lock=True)
    _still_valid(quote, now)
    if quote.status != "accepted":
        raise Refused(
            f"quotation {quote.number} is {quote.status}: only an accepted quote becomes an order"
        )
    lines = await store.lines(conn, quote.id)
    quoted = (x.quoted() for x in lines)
    domain.order_lines(quote.number, quote.status, now, _expires_at(quote), quoted)
    order_id = str(uuid7())
    holding = quote.hold_status in ACTIVE_HOLDS
    c = quote.customer
    order = PlaceOrder(
        order_id=order_id,
        source="quotation",
        customer=Customer(
            kind=c.kind,
            name=c.name,
            email=c.email,
            phone=c.phone,
            customer_id=c.customer_id,
            cui=c.cui,
            reg_com=c.reg_com,
        ),
        billing=terms.billing or c.address,
        shipping=terms.shipping,
        payment_method=terms.payment_method,
        lines=tuple(CartLine(sku=x.sku, quantity=x.quantity) for x in lines),
        priced=tuple(x.priced() for x in lines),
        quotation_id=quote.id,
        hold=hold_id(quote.id) if holding else None,
        note=terms.note,
    )
    problems = placement_problems(order)
    if problems:  # the order would be refused: say so now, the quote stays accepted
        raise DomainError(
            f"quotation {quote.number} cannot become an order: " + "; ".join(problems)
        )
    saved, event = await move(
        conn,
        quote,
        "converted",
        by=by,
        reason=f"order {order_id}",
        now=now,
        order_id=order_id,
        hold_status="taken_over" if holding else quote.hold_status,
    )
    out = Outcome()
    out.emit(order, f"order:{order_id}")
    out.emit(event, quote_key(saved.id))
    out.cancels += [expiry_timer(saved.id), reminder_timer(saved.id)]
    return saved, out


# --- helpers -----------------------------------------------------------------------------------


def _expiry(quote: Quote, at: datetime) -> Timer:
    return Timer(
        ExpireQuotation(quotation_id=quote.id, expires_at=at),
        at,
        expiry_timer(quote.id),
        quote_key(quote.id),
    )


def _reminder(quote: Quote, at: datetime) -> Timer:
    return Timer(
        RemindQuotation(quotation_id=quote.id, expires_at=_expires_at(quote)),
        at,
        reminder_timer(quote.id),
        quote_key(quote.id),
    )


def _expires_at(quote: Quote) -> datetime:
    if quote.expires_at is None:  # the table allows none once sent: a draft
        raise Refused(f"quotation {quote.number} has not been sent")
    return quote.expires_at


async def _timer_target(
    conn: asyncpg.Connection, quotation_id: str, expires_at: datetime
) -> Quote | None:
    """The quote a timer is about, locked; None when gone or sent for another expiry."""
    try:
        quote = await store.get(conn, quotation_id, lock=True)
    except NotFound:
        return None
    return quote if quote.expires_at == expires_at else None


def _still_valid(quote: Quote, now: datetime) -> None:
    """Accepting and converting end at the expiry instant, even before the timer has run."""
    if domain.should_expire(quote.status, now, quote.expires_at):
        raise Refused(f"quotation {quote.number} expired: it was valid until {quote.valid_until}")


def _release(quote: Quote) -> dict[str, object]:
    """The changes of a quote whose stock hold is given back."""
    if quote.hold_status in ACTIVE_HOLDS:
        return {"hold_status": "released", "held": []}
    return {}


def _release_hold(out: Outcome, quote: Quote, reason: str) -> None:
    if quote.hold_status in ACTIVE_HOLDS:
        out.emit(
            ReleaseStock(reservation_id=hold_id(quote.id), reason=reason),
            reservation_key(quote.id),
        )
