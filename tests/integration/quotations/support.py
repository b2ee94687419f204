"""Helpers of the quotations tests: a movable clock that moves the durable timers with it,
a recorder of what the quotations publish, a priced demo catalog, quotes made in one step."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from actors.inventory.messages import ReleaseStock, ReserveStock
from actors.notifications.messages import NotifyCustomer
from actors.orders.messages import Address, PlaceOrder
from actors.pricing.messages import CartLine
from actors.quotations import service, store
from actors.quotations.drafts import NewQuote
from actors.quotations.messages import QuotationStatusChanged
from actors.quotations.model import Quote, QuoteCustomer
from actors.quotations.service import Outcome
from hub.actor import Actor, Context, handler
from hub.bootstrap import Hub
from hub.messages import Envelope, Message, encode
from tests.integration.pricing.support import products, snapshot
from tests.support import eventually

QUOTATION_TABLES = (
    "quotations, quotation_lines, quotation_history, quotation_numbers, quotation_products"
)
ACTOR = "user:7"


class TimeMachine:
    """A clock for the quotations actor and service that runs with real time plus an offset,
    and moves the durable timers with it.

    Timers fire from PostgreSQL's ``now()`` (``due_at <= now()``), while the quotes' instants
    are on this clock. A timer written at a fake instant is *adopted* (:meth:`adopt`): moved to
    the real instant at which this clock will read that fake one; moving the clock
    (:meth:`advance`, :meth:`travel_to`) moves every adopted timer back by the same amount. So
    a timer fires exactly when this clock reaches its instant, as it would in production.
    Start it in the future: a timer written at a fake instant is then never due before it is
    adopted.
    """

    def __init__(self, start: datetime) -> None:
        self.offset = start - datetime.now(UTC)
        self._adopted: set[Any] = set()

    def now(self) -> datetime:
        """The fake time (it runs at the pace of real time)."""
        return datetime.now(UTC) + self.offset

    async def adopt(self, conn: asyncpg.Connection) -> int:
        """Move timers written since the last call from fake to real time; return how many."""
        rows = await conn.fetch("SELECT id, message_id FROM hub_timers")
        fresh = [r["id"] for r in rows if r["message_id"] not in self._adopted]
        if fresh:
            await conn.execute(
                "UPDATE hub_timers SET due_at = due_at - $2::interval WHERE id = ANY($1::bigint[])",
                fresh,
                self.offset,
            )
        self._adopted.update(r["message_id"] for r in rows)
        return len(fresh)

    async def advance(self, conn: asyncpg.Connection, delta: timedelta) -> None:
        """Move the clock forward by ``delta``; adopted timers come due ``delta`` sooner."""
        await self.adopt(conn)
        self.offset += delta
        await conn.execute("UPDATE hub_timers SET due_at = due_at - $1::interval", delta)

    async def travel_to(self, conn: asyncpg.Connection, instant: datetime) -> None:
        """Move the clock forward to ``instant``."""
        await self.advance(conn, instant - self.now())

    async def pending(self, conn: asyncpg.Connection) -> dict[str, datetime]:
        """The named timers not fired yet, by name, at their instants on this clock."""
        rows = await conn.fetch("SELECT name, message_id, due_at FROM hub_timers")
        return {
            r["name"]: r["due_at"] + self.offset
            if r["message_id"] in self._adopted
            else r["due_at"]
            for r in rows
            if r["name"] is not None
        }


Published = NotifyCustomer | QuotationStatusChanged | PlaceOrder | ReserveStock | ReleaseStock


class Recorder(Actor, name="quotations-recorder"):
    """Keeps what the quotations publish (each message once, by id), as the notifications,
    orders and inventory would receive it."""

    def __init__(self) -> None:
        self.seen: set[Any] = set()
        self.by_type: dict[type, list[Any]] = defaultdict(list)

    @handler
    async def record(self, msg: Published, ctx: Context) -> None:
        if ctx.envelope.message_id in self.seen:
            return
        self.seen.add(ctx.envelope.message_id)
        self.by_type[type(msg)].append(msg)

    def of(self, cls: type, **match: Any) -> list[Any]:
        """The messages of ``cls`` whose fields equal ``match``."""
        return [m for m in self.by_type[cls] if all(getattr(m, k) == v for k, v in match.items())]


async def clean(conn: asyncpg.Connection) -> None:
    """Empty the quotations' tables."""
    await conn.execute(f"TRUNCATE {QUOTATION_TABLES} RESTART IDENTITY CASCADE")


async def send(hub: Hub, message: Message, *, key: str | None = None) -> Envelope:
    """Publish ``message`` on the hub's bus."""
    env = Envelope.new(message, key=key, actor=ACTOR)
    await hub.bus.publish(env, encode(message))
    return env


async def priced_catalog(hub: Hub, conn: asyncpg.Connection) -> None:
    """Two strips and a bulb known to pricing and to the quotations (names), with prices."""
    await send(
        hub,
        products(
            snapshot("STRIP-1"),  # 10.00 * 1.35 = 13.50 a metre
            snapshot("STRIP-2", cost="20.00"),
            snapshot("BULB-1", category="becuri-led", unit="piece", cost="4.00", margin="0.50"),
        ),
    )
    await eventually(
        lambda: conn.fetchval(
            "SELECT (SELECT count(*) FROM pricing_list_prices) = 3 "
            "AND (SELECT count(*) FROM quotation_products) = 3"
        ),
        what="the demo catalog priced and named",
    )


def customer(**kw: Any) -> QuoteCustomer:
    """A company customer in Cluj (override any field)."""
    fields: dict[str, Any] = {
        "kind": "company",
        "name": "Lumina Design SRL",
        "contact": "Ioana Popescu",
        "email": "ioana@lumina.ro",
        "phone": "+40 744 000 111",
        "customer_id": "C-42",
        "cui": "RO18547290",
        "reg_com": "J12/345/2019",
        "address": Address(
            name="Lumina Design SRL",
            street="Str. Fabricii nr. 3",
            city="Cluj-Napoca",
            county="Cluj",
        ),
    }
    fields.update(kw)
    return QuoteCustomer(**fields)


def new_quote(*lines: tuple[str, str], **kw: Any) -> NewQuote:
    """A quote of ``(sku, quantity)`` lines for :func:`customer`, 15 days, in Romanian."""
    fields: dict[str, Any] = {
        "customer": customer(),
        "lines": tuple(CartLine(sku=s, quantity=Decimal(q)) for s, q in lines),
        "language": "ro",
        "validity_days": 15,
    }
    fields.update(kw)
    return NewQuote(**fields)


Change = Callable[[asyncpg.Connection], Awaitable[tuple[Quote, Outcome] | Outcome]]


async def change(conn: asyncpg.Connection, run: Change, tm: TimeMachine | None = None) -> Any:
    """Run one change as an API route does (its outcome written in its transaction), adopt
    the timers it set; return what the change returned."""
    async with conn.transaction():
        result = await run(conn)
        outcome = result[1] if isinstance(result, tuple) else result
        await service.write_outcome(conn, outcome, actor=ACTOR)
        if tm is not None:
            await tm.adopt(conn)
    return result


async def priced_quote(conn: asyncpg.Connection, quotation_id: str) -> Quote:
    """The quote once the pricing engine's answer is kept."""
    await eventually(
        lambda: conn.fetchval(
            "SELECT pricing <> 'pending' FROM quotations WHERE id = $1", quotation_id
        ),
        what=f"quotation {quotation_id} priced",
    )
    return await store.get(conn, quotation_id)


async def history(conn: asyncpg.Connection, quotation_id: str) -> list[tuple[Any, ...]]:
    """``(from, to, by)`` of every move of a quote."""
    rows = await conn.fetch(
        "SELECT from_status, to_status, by FROM quotation_history WHERE quotation_id = $1 "
        "ORDER BY id",
        quotation_id,
    )
    return [tuple(r) for r in rows]
