"""What reserving, releasing, issuing and expiring do, as transactions on the inventory's tables.

Each function loads the reservation, decides with ``domain``, writes the stock movements through
``service.StockWork`` (which holds the SKU locks) and returns the :class:`~service.Outcome` to
publish. A command that cannot be carried out changes nothing and publishes a
``ReservationRejected``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import asyncpg

from actors.inventory import domain
from actors.inventory import reservation_store as rstore
from actors.inventory.messages import (
    Allocation,
    ExpireReservation,
    IssueStock,
    ReleaseStock,
    ReservationRejected,
    ReserveStock,
    StockIssued,
    StockReleased,
    StockReserved,
    StockShortage,
)
from actors.inventory.service import Outcome, StockWork, Timer, expiry_timer, reservation_key
from actors.inventory.settings import InventorySettings
from hub.errors import DomainError, NotFound

MAX_ID = 200


def rejected(
    reservation_id: str, command: Literal["reserve", "release", "issue"], why: DomainError | str
) -> Outcome:
    """An outcome that only says no."""
    out = Outcome()
    out.emit(ReservationRejected(reservation_id=reservation_id, command=command, reason=str(why)))
    return out


def check_id(reservation_id: str) -> None:
    """A reservation id: 1 to 200 characters."""
    if not reservation_id.strip() or len(reservation_id) > MAX_ID:
        raise DomainError(f"invalid reservation id {reservation_id[:40]!r}")


def shown(allocations: list[Allocation]) -> tuple[Allocation, ...]:
    """Allocations with their quantities as shown (``5`` rather than ``5.000``)."""
    return tuple(
        Allocation(sku=a.sku, warehouse=a.warehouse, quantity=domain.norm(a.quantity))
        for a in allocations
    )


async def find(conn: asyncpg.Connection, reservation_id: str) -> rstore.Reservation | None:
    """The reservation (locked until the transaction ends), or None."""
    await rstore.lock(conn, reservation_id)
    try:
        return await rstore.get(conn, reservation_id)
    except NotFound:
        return None


async def reserve(
    conn: asyncpg.Connection,
    msg: ReserveStock,
    *,
    author: str,
    settings: InventorySettings,
    now: datetime,
) -> Outcome:
    """Hold what the reservation lacks, by warehouse priority; report what is short."""
    rid = msg.reservation_id
    try:
        check_id(rid)
        asked = domain.check_lines((line.sku, line.quantity) for line in msg.lines)
        if msg.expires_at is not None and msg.expires_at <= now:
            raise DomainError(f"the hold would expire in the past ({msg.expires_at.isoformat()})")
    except DomainError as exc:
        return rejected(rid, "reserve", exc)
    before = await find(conn, rid)
    if before is not None and before.status != "open":
        return rejected(rid, "reserve", f"reservation {rid} is already {before.status}")
    requested = domain.merge_requests(rstore.requested_total(before), asked)
    work = await StockWork.open(conn, requested, settings, now)
    try:
        domain.check_lines(asked.items(), work.units())
    except DomainError as exc:
        return rejected(rid, "reserve", exc)
    expires = msg.expires_at or (before.expires_at if before else None)
    need = domain.missing(requested, rstore.served_total(before))
    if before and not need and requested == before.requested and expires == before.expires_at:
        return Outcome()  # asked again for what it already holds: nothing new
    allocations = domain.allocate(need, work.levels.values())
    await work.post(
        [
            domain.Movement(
                kind="reservation",
                sku=a.sku,
                warehouse=a.warehouse,
                quantity=a.quantity,
                reason=f"reserved for {rid}",
                author=author,
                reference=rid,
            )
            for a in allocations
        ]
    )
    await rstore.save(conn, rid, requested, expires, now)
    await rstore.change_lines(conn, rid, allocations, held=1)
    after = await rstore.get(conn, rid)
    out = reserved_outcome(after)
    if expires is not None and expires != (before.expires_at if before else None):
        out.timers.append(
            Timer(
                ExpireReservation(reservation_id=rid, expires_at=expires),
                expires,
                expiry_timer(rid),
                reservation_key(rid),
            )
        )
    out.extend(await work.finish())
    return out


def reserved_outcome(r: rstore.Reservation) -> Outcome:
    """``StockReserved`` with everything held, and ``StockShortage`` when something is short."""
    out = Outcome()
    short = domain.shortages(r.requested, r.served)
    out.emit(StockReserved(reservation_id=r.id, allocations=shown(r.held), complete=not short))
    if short:
        out.emit(StockShortage(reservation_id=r.id, shortages=tuple(short)))
    return out


async def release(
    conn: asyncpg.Connection,
    msg: ReleaseStock,
    *,
    author: str,
    settings: InventorySettings,
    now: datetime,
) -> Outcome:
    """Give back everything held and close the reservation (released twice: nothing new)."""
    rid, reason = msg.reservation_id, msg.reason.strip()
    try:
        check_id(rid)
        if not reason:
            raise DomainError("a release needs a reason")
    except DomainError as exc:
        return rejected(rid, "release", exc)
    before = await find(conn, rid)
    if before is not None and before.status == "released":
        return Outcome()
    if before is not None and before.status == "fulfilled":
        return rejected(rid, "release", f"reservation {rid} was shipped in full")
    held = before.held if before is not None else []
    work = await StockWork.open(conn, [a.sku for a in held], settings, now)
    await work.post(
        [
            domain.Movement(
                kind="release",
                sku=a.sku,
                warehouse=a.warehouse,
                quantity=-a.quantity,
                reason=reason,
                author=author,
                reference=rid,
            )
            for a in held
        ]
    )
    await rstore.change_lines(conn, rid, held, held=-1)
    await rstore.close(conn, rid, "released", reason, now)
    out = Outcome()
    out.emit(StockReleased(reservation_id=rid, lines=shown(held), reason=reason))
    if before is not None and before.expires_at is not None:
        out.cancels.append(expiry_timer(rid))
    out.extend(await work.finish())
    return out


async def expire(
    conn: asyncpg.Connection, msg: ExpireReservation, *, settings: InventorySettings, now: datetime
) -> Outcome:
    """Release a hold whose time ran out, unless it was closed or given a new time since."""
    r = await find(conn, msg.reservation_id)
    if r is None or r.status != "open" or r.expires_at != msg.expires_at:
        return Outcome()
    release_msg = ReleaseStock(reservation_id=r.id, reason="expired")
    return await release(conn, release_msg, author="system", settings=settings, now=now)


async def issue(
    conn: asyncpg.Connection,
    msg: IssueStock,
    *,
    author: str,
    settings: InventorySettings,
    now: datetime,
) -> Outcome:
    """Turn held stock into an issue for a shipment (the same shipment twice: nothing new)."""
    rid, sid = msg.reservation_id, msg.shipment_id
    r = await find(conn, rid)
    if r is None:
        return rejected(rid, "issue", f"no reservation {rid!r}")
    if await rstore.shipment_known(conn, rid, sid):
        return Outcome()
    try:
        if not sid.strip() or len(sid) > MAX_ID:
            raise DomainError(f"invalid shipment id {sid[:40]!r}")
        if r.status != "open":
            raise DomainError(f"reservation {rid} is {r.status}")
        work = await StockWork.open(conn, [a.sku for a in r.held], settings, now)
        plan = domain.plan_issue(r.held, work.priorities, msg.lines)
        if not plan:
            raise DomainError(f"reservation {rid} holds nothing to issue")
    except DomainError as exc:
        return rejected(rid, "issue", exc)
    await work.post(
        [
            domain.Movement(
                kind="issue",
                sku=a.sku,
                warehouse=a.warehouse,
                quantity=-a.quantity,
                reason=f"shipment {sid}",
                author=author,
                reference=rid,
            )
            for a in plan
        ]
    )
    await rstore.change_lines(conn, rid, plan, held=-1, issued=1)
    await rstore.record_shipment(conn, rid, sid, now)
    after = await rstore.get(conn, rid)
    fulfilled = not domain.missing(after.requested, after.issued)
    out = Outcome()
    out.emit(
        StockIssued(reservation_id=rid, shipment_id=sid, lines=shown(plan), fulfilled=fulfilled)
    )
    if fulfilled:
        await rstore.close(conn, rid, "fulfilled", f"shipment {sid}", now)
        if r.expires_at is not None:
            out.cancels.append(expiry_timer(rid))
    out.extend(await work.finish())
    return out
