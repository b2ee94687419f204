"""What releasing, issuing and expiring do, as transactions on the inventory's tables, and
what every reservation command shares (reserving itself, with take-overs, is in
``reserving.py``).

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
    StockIssued,
    StockReleased,
)
from actors.inventory.service import Outcome, StockWork, expiry_timer
from actors.inventory.settings import InventorySettings
from hub.errors import DomainError, NotFound

MAX_ID = 200


def rejected(
    reservation_id: str,
    command: Literal["reserve", "release", "issue", "receive"],
    why: DomainError | str,
    key: str | None = None,
    shipment_id: str | None = None,
) -> Outcome:
    """An outcome that only says no."""
    out = Outcome()
    refusal = ReservationRejected(
        reservation_id=reservation_id, command=command, reason=str(why), shipment_id=shipment_id
    )
    out.emit(refusal, key)
    return out


def check_id(reservation_id: str, what: str = "reservation") -> None:
    """A reservation (or receipt) id: 1 to 200 characters."""
    if not reservation_id.strip() or len(reservation_id) > MAX_ID:
        raise DomainError(f"invalid {what} id {reservation_id[:40]!r}")


def shown(allocations: list[Allocation]) -> tuple[Allocation, ...]:
    """Allocations with their quantities as shown (``5`` rather than ``5.000``)."""
    return tuple(
        Allocation(sku=a.sku, warehouse=a.warehouse, quantity=domain.norm(a.quantity))
        for a in allocations
    )


async def find(conn: asyncpg.Connection, reservation_id: str) -> rstore.Reservation | None:
    """The reservation (locked until the transaction ends), or None."""
    await rstore.lock(conn, reservation_id)
    return await load(conn, reservation_id)


async def load(conn: asyncpg.Connection, reservation_id: str) -> rstore.Reservation | None:
    """The reservation, or None (lock it first)."""
    try:
        return await rstore.get(conn, reservation_id)
    except NotFound:
        return None


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
        return rejected(rid, "issue", f"no reservation {rid!r}", shipment_id=sid)
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
        return rejected(rid, "issue", exc, shipment_id=sid)
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
