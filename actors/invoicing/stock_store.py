"""SQL of the stock comparison: the hub's on hand, and the discrepancy report
(``invoicing_stock_checks``, ``invoicing_stock_discrepancies``, migration 0017).

The hub's figures are read from the inventory's ``inventory_stock`` (docs/INVENTORY.md): a
read-only snapshot of one table, which a daily report can afford instead of a message round trip.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import asyncpg
import msgspec

from actors.invoicing.stock import Discrepancy, Report


class Check(msgspec.Struct, frozen=True, kw_only=True):
    """One stored comparison and its discrepancies."""

    id: int
    on_date: date
    checked_at: datetime
    compared: int
    missing: int
    extra: int
    different: int
    unmapped: tuple[str, ...]
    discrepancies: tuple[Discrepancy, ...] = ()


async def on_hand(
    conn: asyncpg.Connection, warehouses: list[str]
) -> dict[tuple[str, str], Decimal]:
    """(SKU, warehouse code) → on hand, for these warehouses."""
    rows = await conn.fetch(
        "SELECT sku, warehouse, on_hand FROM inventory_stock WHERE warehouse = ANY($1)",
        warehouses,
    )
    return {(r["sku"], r["warehouse"]): r["on_hand"] for r in rows}


async def save(conn: asyncpg.Connection, on: date, at: datetime, report: Report) -> int:
    """Store the day's report (a second comparison the same day replaces it); its id."""
    await conn.execute("DELETE FROM invoicing_stock_checks WHERE on_date = $1", on)
    check_id: int = await conn.fetchval(
        "INSERT INTO invoicing_stock_checks (on_date, checked_at, compared, missing, extra, "
        "different, unmapped) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        on,
        at,
        report.compared,
        report.count("missing"),
        report.count("extra"),
        report.count("different"),
        list(report.unmapped),
    )
    await conn.executemany(
        "INSERT INTO invoicing_stock_discrepancies (check_id, sku, warehouse, "
        "smartbill_warehouse, kind, hub_quantity, smartbill_quantity) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [
            (
                check_id,
                d.sku,
                d.warehouse,
                d.smartbill_warehouse,
                d.kind,
                d.hub_quantity,
                d.smartbill_quantity,
            )
            for d in report.discrepancies
        ],
    )
    return check_id


async def latest(conn: asyncpg.Connection) -> Check | None:
    """The most recent comparison with its discrepancies, or None."""
    head = await conn.fetchrow(
        "SELECT id, on_date, checked_at, compared, missing, extra, different, unmapped "
        "FROM invoicing_stock_checks ORDER BY on_date DESC, id DESC LIMIT 1"
    )
    if head is None:
        return None
    rows = await conn.fetch(
        "SELECT sku, warehouse, smartbill_warehouse, kind, hub_quantity, smartbill_quantity "
        "FROM invoicing_stock_discrepancies WHERE check_id = $1 ORDER BY kind, sku, warehouse",
        head["id"],
    )
    return Check(
        **{k: head[k] for k in head.keys() if k != "unmapped"},  # noqa: SIM118 (a Record)
        unmapped=tuple(head["unmapped"]),
        discrepancies=tuple(Discrepancy(**dict(r)) for r in rows),
    )
