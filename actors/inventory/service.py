"""One change of stock inside one transaction, shared by the actor, the API and the seed:
lock the SKUs, post movements, then work out what to publish (``StockChanged`` only where a
figure changed, SKUs newly below their reorder point noted for the digest).

What to publish comes back as an :class:`Outcome`; the caller emits it its own way (a
handler's ``ctx``, an API call, a seed), so every path publishes through the outbox, in the
transaction that made the change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import asyncpg

from actors.inventory import domain, store
from actors.inventory.messages import SendLowStockDigest, StockChanged
from actors.inventory.settings import InventorySettings
from hub import outbox
from hub.messages import Command, Envelope, Event, encode

DIGEST_TIMER = "inventory:low-stock-digest"
DIGEST_KEY = "inventory:low-stock-digest"


def stock_key(sku: str) -> str:
    """The bus key of a SKU's stock events."""
    return f"stock:{sku}"


def reservation_key(reservation_id: str) -> str:
    """The bus key of a reservation's commands and events."""
    return f"reservation:{reservation_id}"


def receipt_key(receipt_id: str) -> str:
    """The bus key of a ``ReceiveStock`` and the events it causes."""
    return f"receipt:{receipt_id}"


def expiry_timer(reservation_id: str) -> str:
    """The name of a quote hold's expiry timer."""
    return f"inventory:expire:{reservation_id}"


@dataclass(frozen=True)
class Timer:
    """A durable timer to set."""

    message: Command
    at: datetime
    name: str
    key: str


@dataclass
class Outcome:
    """What a change publishes: events (with their keys), timers to set, timers to cancel, and
    notes worth a log line (the handler logs them with its message's ids)."""

    events: list[tuple[Event, str | None]] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def emit(self, event: Event, key: str | None = None) -> None:
        """Publish ``event`` (``key`` None: the key of the message being handled)."""
        self.events.append((event, key))

    def extend(self, other: Outcome) -> None:
        """Add another outcome's effects after this one's."""
        self.events.extend(other.events)
        self.timers.extend(other.timers)
        self.cancels.extend(other.cancels)
        self.notes.extend(other.notes)


class StockWork:
    """The SKUs a transaction changes, locked, with their stock and state."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        settings: InventorySettings,
        now: datetime,
        houses: list[store.Warehouse],
        states: dict[str, store.SkuState],
        levels: dict[tuple[str, str], domain.Level],
    ) -> None:
        self.conn = conn
        self.settings = settings
        self.now = now
        self.houses = houses
        self.states = states
        self.levels = levels

    @classmethod
    async def open(
        cls,
        conn: asyncpg.Connection,
        skus: Iterable[str],
        settings: InventorySettings,
        now: datetime,
    ) -> StockWork:
        """Lock ``skus`` (SKU rows, then stock rows, in SKU order) and load them."""
        wanted = sorted(set(skus))
        houses = await store.warehouses(conn)
        states = await store.lock_skus(conn, wanted)
        levels = await store.levels(conn, wanted, houses)
        return cls(conn, settings, now, houses, states, levels)

    @property
    def warehouse_codes(self) -> set[str]:
        """The known warehouse codes."""
        return {h.code for h in self.houses}

    @property
    def priorities(self) -> dict[str, int]:
        """Warehouse code → allocation priority."""
        return {h.code: h.priority for h in self.houses}

    def units(self) -> dict[str, str | None]:
        """The unit of each locked SKU, when the catalog has told us."""
        return {sku: s.unit for sku, s in self.states.items()}

    def level(self, sku: str, warehouse: str) -> domain.Level:
        """Stock of a locked SKU in one warehouse."""
        return self.levels[(sku, warehouse)]

    async def post(self, movements: Sequence[domain.Movement]) -> list[store.MovementRow]:
        """Apply movements (refused as a whole if any breaks a rule) and record them."""
        self.levels = domain.apply(self.levels, movements)
        return await store.post(self.conn, movements, self.now)

    async def set_settings(
        self, sku: str, reorder_point: Decimal | None, safety_buffer: Decimal | None
    ) -> None:
        """Change a locked SKU's reorder point and safety buffer."""
        await store.save_settings(self.conn, sku, reorder_point, safety_buffer, self.now)
        state = self.states[sku]
        state.reorder_point, state.safety_buffer = reorder_point, safety_buffer

    def buffer(self, state: store.SkuState) -> Decimal:
        """The SKU's safety buffer, or the default."""
        return (
            state.safety_buffer
            if state.safety_buffer is not None
            else self.settings.default_safety_buffer
        )

    def reorder_point(self, state: store.SkuState) -> Decimal | None:
        """The SKU's reorder point, or the default."""
        if state.reorder_point is not None:
            return state.reorder_point
        return self.settings.default_reorder_point

    async def finish(self) -> Outcome:
        """Publish the figures that changed and note SKUs that just fell low."""
        out = Outcome()
        available = domain.available(self.levels.values())
        fell_low: list[str] = []
        for sku, state in sorted(self.states.items()):
            now_available = domain.norm(available.get(sku, domain.ZERO))
            now_published = domain.norm(domain.published(now_available, self.buffer(state)))
            low = domain.is_low(now_available, self.reorder_point(state))
            changed = (now_available, now_published) != (state.available, state.published)
            if not changed and low == state.low:
                continue
            if low and not state.low:
                fell_low.append(sku)
            if changed:
                state.version += 1
                out.emit(
                    StockChanged(
                        sku=sku,
                        available=now_available,
                        published=now_published,
                        version=state.version,
                    ),
                    stock_key(sku),
                )
            state.available, state.published, state.low = now_available, now_published, low
            await store.save_state(self.conn, state, self.now)
        if fell_low:
            out.extend(await note_low(self.conn, fell_low, self.settings, self.now))
        return out


async def note_low(
    conn: asyncpg.Connection, skus: Sequence[str], settings: InventorySettings, now: datetime
) -> Outcome:
    """Note SKUs for the next digest; arm its timer unless it is armed."""
    out = Outcome()
    await store.note_low(conn, skus, now)
    interval = timedelta(seconds=settings.digest_interval)
    due = now + interval
    if await store.arm_digest(conn, due, stale_before=now - interval):
        out.timers.append(Timer(SendLowStockDigest(), due, DIGEST_TIMER, DIGEST_KEY))
    return out


async def write_outcome(conn: asyncpg.Connection, outcome: Outcome, *, actor: str) -> None:
    """Write an outcome into the outbox and timers table of ``conn``'s transaction, as
    ``actor`` (for the API routes and seeds, which have no handler context)."""
    items: list[outbox.Outgoing] = []
    for event, key in outcome.events:
        env = Envelope.new(event, key=key, actor=actor)
        items.append(outbox.Outgoing(env, encode(event)))
    for t in outcome.timers:
        env = Envelope.new(t.message, key=t.key, actor=actor, occurred_at=t.at)
        items.append(outbox.Outgoing(env, encode(t.message), timer_at=t.at, timer_name=t.name))
    if items:
        await outbox.write(conn, items)
    for name in outcome.cancels:
        await outbox.cancel_timer(conn, name)
