"""Reserving: hold what a reservation lacks by warehouse priority, after first taking over
another reservation's hold when asked to (a quote's hold, when the quote becomes an order).

A take-over is one transaction: both reservations' locks (in id order), then the SKU locks of
everything either of them touches. Per SKU, the giver's held stock moves to the taker up to
what the taker lacks, highest-priority warehouse first, as a release from the giver and a
reservation for the taker in the same warehouse: reserved stock never drops in between, so
nobody else can take it. What the giver held beyond that is released; the giver is closed
(``released``, "taken over by <taker>") and its expiry timer cancelled. The taker then reserves
what it still lacks by priority.

A giver that does not exist or is closed gives nothing (logged). An open giver past its expiry
(its timer not handled yet) is released as ``expired`` there and then, exactly as its timer
would, and the taker reserves by priority, that stock included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg

from actors.inventory import documents, domain
from actors.inventory import reservation_store as rstore
from actors.inventory.messages import (
    Allocation,
    ExpireReservation,
    ReserveStock,
    StockReleased,
    StockReserved,
    StockShortage,
)
from actors.inventory.reservations import check_id, load, rejected, shown
from actors.inventory.service import Outcome, StockWork, Timer, expiry_timer, reservation_key
from actors.inventory.settings import InventorySettings
from hub.errors import DomainError


@dataclass(frozen=True)
class Giver:
    """The open reservation a take-over takes from; ``expired`` if its time already ran out."""

    reservation: rstore.Reservation
    expired: bool


async def reserve(
    conn: asyncpg.Connection,
    msg: ReserveStock,
    *,
    author: str,
    settings: InventorySettings,
    now: datetime,
) -> Outcome:
    """Hold what the reservation lacks, first from the hold it takes over, then by warehouse
    priority; report what is short."""
    rid = msg.reservation_id
    try:
        asked = checked(msg, now)
    except DomainError as exc:
        return rejected(rid, "reserve", exc)
    await rstore.lock_all(conn, [rid] if msg.take_over is None else [rid, msg.take_over])
    before = await load(conn, rid)
    if before is not None and before.status != "open":
        return rejected(rid, "reserve", f"reservation {rid} is already {before.status}")
    out = Outcome()
    giver = await find_giver(conn, msg.take_over, rid, now, out)
    requested = domain.merge_requests(rstore.requested_total(before), asked)
    given = giver.reservation.held if giver else []
    work = await StockWork.open(conn, [*requested, *(a.sku for a in given)], settings, now)
    try:
        domain.check_lines(asked.items(), work.units())
    except DomainError as exc:
        return rejected(rid, "reserve", exc)
    expires = msg.expires_at or (before.expires_at if before else None)
    need = domain.missing(requested, rstore.served_total(before))
    unchanged = (
        before is not None
        and not need
        and (requested, expires)
        == (
            before.requested,
            before.expires_at,
        )
    )
    if unchanged and giver is None:
        return out  # asked again for what it already holds: nothing new
    moved = await hand_over(work, giver, rid, need, author, out) if giver else []
    more = domain.allocate(domain.missing(need, domain.per_sku(moved)), work.levels.values())
    await work.post([held_for(rid, a, author) for a in more])
    await rstore.save(conn, rid, requested, expires, now)
    await rstore.change_lines(conn, rid, [*moved, *more], held=1)
    if not unchanged:
        out.extend(reserved_outcome(await rstore.get(conn, rid)))
    if expires is not None and expires != (before.expires_at if before else None):
        expire = ExpireReservation(reservation_id=rid, expires_at=expires)
        out.timers.append(Timer(expire, expires, expiry_timer(rid), reservation_key(rid)))
    out.extend(await work.finish())
    return out


def checked(msg: ReserveStock, now: datetime) -> dict[str, Decimal]:
    """The quantities asked for per SKU, once the command is found valid."""
    check_id(msg.reservation_id)
    if msg.take_over is not None:
        check_id(msg.take_over)
        if msg.take_over == msg.reservation_id:
            raise DomainError(f"reservation {msg.reservation_id} cannot take itself over")
    asked = domain.check_lines((line.sku, line.quantity) for line in msg.lines)
    if msg.expires_at is not None and msg.expires_at <= now:
        raise DomainError(f"the hold would expire in the past ({msg.expires_at.isoformat()})")
    return asked


async def find_giver(
    conn: asyncpg.Connection, giver_id: str | None, taker: str, now: datetime, out: Outcome
) -> Giver | None:
    """The open reservation to take over (locked by the caller), or None, noting why not."""
    if giver_id is None:
        return None
    found = await load(conn, giver_id)
    if found is None or found.status != "open":
        state = "unknown" if found is None else found.status
        out.notes.append(f"{taker}: nothing to take over from {giver_id} ({state})")
        return None
    expired = found.expires_at is not None and found.expires_at <= now
    if expired:
        out.notes.append(f"{taker}: {giver_id} has expired; released, not taken over")
    return Giver(found, expired)


async def hand_over(
    work: StockWork,
    giver: Giver,
    taker: str,
    need: dict[str, Decimal],
    author: str,
    out: Outcome,
) -> list[Allocation]:
    """Move the giver's hold to ``taker`` up to ``need``, release the rest, close the giver;
    what moved, per SKU and warehouse."""
    g = giver.reservation
    moved: list[Allocation]
    if giver.expired:
        moved, surplus, reason, author = [], g.held, "expired", "system"
    else:
        moved, surplus = domain.split_hold(g.held, need, work.priorities)
        reason = f"taken over by {taker}"
    await work.post(
        documents.hand_over(g.id, taker, moved, surplus, surplus_reason=reason, author=author)
    )
    await rstore.change_lines(work.conn, g.id, g.held, held=-1)
    await rstore.close(work.conn, g.id, "released", reason, work.now)
    # Only the surplus went back to available stock; what moved is in the taker's StockReserved.
    released = StockReleased(reservation_id=g.id, lines=shown(surplus), reason=reason)
    out.emit(released, reservation_key(g.id))
    if g.expires_at is not None:
        out.cancels.append(expiry_timer(g.id))
    return moved


def held_for(rid: str, a: Allocation, author: str) -> domain.Movement:
    """The movement holding ``a`` for reservation ``rid``."""
    return domain.Movement(
        kind="reservation",
        sku=a.sku,
        warehouse=a.warehouse,
        quantity=a.quantity,
        reason=f"reserved for {rid}",
        author=author,
        reference=rid,
    )


def reserved_outcome(r: rstore.Reservation) -> Outcome:
    """``StockReserved`` with everything held, and ``StockShortage`` when something is short."""
    out = Outcome()
    short = domain.shortages(r.requested, r.served)
    out.emit(StockReserved(reservation_id=r.id, allocations=shown(r.held), complete=not short))
    if short:
        out.emit(StockShortage(reservation_id=r.id, shortages=tuple(short)))
    return out
