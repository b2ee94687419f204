"""What every change of a quote shares: the names of its keys and timers, the outcome of a
change and the two ways to publish it, finding a quote by a ``quote:<id>`` request, and moving
a quote from one status to another with its history row and event.

A change locks the quote, decides with ``domain``, writes the change, and returns an
:class:`Outcome`: the messages to publish, the durable timers to set and the ones to cancel.
The caller publishes it its own way: a handler through its ``ctx`` (:func:`publish`), an API
route straight into the outbox and timers tables of its transaction (:func:`write_outcome`),
so every path publishes in the transaction that made the change. Times come from the caller
(``now``), never from a clock read here.

The changes themselves: ``drafts`` (create, price), ``lifecycle`` (send, accept, reject,
expire, remind, convert), ``holds`` (the inventory's answers about the stock hold).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
import msgspec

from actors.quotations import domain, store
from actors.quotations.messages import QuotationStatusChanged
from actors.quotations.model import HistoryEntry, Quote
from hub import outbox
from hub.actor import Context
from hub.errors import DomainError, NotFound
from hub.messages import Envelope, Message, encode

HOLD_PREFIX = "quote:"


class Refused(DomainError):
    """The quote's status does not allow this now (an API answers 409)."""

    code = "invalid_transition"


def quote_key(quotation_id: str) -> str:
    """The bus key of a quote's messages."""
    return f"quotation:{quotation_id}"


def expiry_timer(quotation_id: str) -> str:
    """The name of a quote's expiry timer."""
    return f"quotation:{quotation_id}:expire"


def reminder_timer(quotation_id: str) -> str:
    """The name of a quote's reminder timer."""
    return f"quotation:{quotation_id}:remind"


def hold_id(quotation_id: str) -> str:
    """The quote's pricing request id and stock reservation id: ``quote:<id>``."""
    return f"{HOLD_PREFIX}{quotation_id}"


def reservation_key(quotation_id: str) -> str:
    """The bus key the inventory gives the commands of one reservation."""
    return f"reservation:{hold_id(quotation_id)}"


@dataclass(frozen=True)
class Timer:
    """A durable timer to set (scheduling an existing name moves it)."""

    message: Message
    at: datetime
    name: str
    key: str


@dataclass
class Outcome:
    """What a change publishes: messages (with their keys), timers to set, timers to cancel."""

    messages: list[tuple[Message, str]] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)

    def emit(self, message: Message, key: str) -> None:
        """Publish ``message`` with the commit."""
        self.messages.append((message, key))


async def publish(ctx: Context, outcome: Outcome) -> None:
    """Emit an outcome from a handler, in its transaction."""
    for message, key in outcome.messages:
        ctx.emit(message, key=key)
    for t in outcome.timers:
        ctx.schedule(t.message, at=t.at, name=t.name, key=t.key)
    for name in outcome.cancels:
        await ctx.cancel(name)


async def write_outcome(conn: asyncpg.Connection, outcome: Outcome, *, actor: str) -> None:
    """Write an outcome into the outbox and timers of ``conn``'s transaction, as ``actor``
    (the API routes: they have no handler context, and timers are rows like any message)."""
    items: list[outbox.Outgoing] = []
    for message, key in outcome.messages:
        env = Envelope.new(message, key=key, actor=actor)
        items.append(outbox.Outgoing(env, encode(message)))
    for t in outcome.timers:
        env = Envelope.new(t.message, key=t.key, actor=actor, occurred_at=t.at)
        items.append(outbox.Outgoing(env, encode(t.message), timer_at=t.at, timer_name=t.name))
    if items:
        await outbox.write(conn, items)
    for name in outcome.cancels:
        await outbox.cancel_timer(conn, name)


async def by_request_id(conn: asyncpg.Connection, request_id: str) -> Quote | None:
    """The quote of a ``quote:<id>`` request or reservation, locked; None for anything else."""
    if not request_id.startswith(HOLD_PREFIX):
        return None
    try:
        return await store.get(conn, request_id.removeprefix(HOLD_PREFIX), lock=True)
    except NotFound:
        return None


# --- moves -------------------------------------------------------------------------------------


async def move(
    conn: asyncpg.Connection,
    quote: Quote,
    to: domain.Status,
    *,
    by: str,
    reason: str,
    now: datetime,
    **changes: object,
) -> tuple[Quote, QuotationStatusChanged]:
    """Move a locked quote to ``to`` (refused unless the domain allows it), with ``changes``;
    record the move and return the quote as saved and the event saying so."""
    try:
        target = domain.transition(quote.number, quote.status, to)
    except DomainError as exc:
        raise Refused(str(exc)) from None
    after = msgspec.structs.replace(quote, status=target, **changes)
    saved = await store.save(conn, quote, after, now)
    entry = HistoryEntry(from_status=quote.status, to_status=target, at=now, by=by, reason=reason)
    await store.add_history(conn, quote.id, entry)
    event = QuotationStatusChanged(
        quotation_id=saved.id,
        number=saved.number,
        customer_id=saved.customer_id,
        from_status=quote.status,
        to_status=target,
        at=now,
        by=by,
        valid_until=saved.valid_until,
        totals=saved.totals,
        order_id=saved.order_id,
    )
    return saved, event
