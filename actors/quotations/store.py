"""SQL of the quotations' writes: numbers, quotes and their lines, history, product names.

Every change of a quote first locks its row (:func:`get` with ``lock=True``), so the API and
the actor's handlers (pricing answers, timers, stock holds) change one quote one at a time,
whatever bus key their messages carry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import asyncpg
import msgspec

from actors.catalog.messages import ProductSnapshot
from actors.quotations.model import HistoryEntry, Line, Quote, Unit
from hub.db import record_to
from hub.errors import NotFound

QUOTE_COLUMNS = (
    "id, number, customer_id, customer, status, pricing, pricing_error, tier, priced_tier, "
    "priced_on, currency, net, vat, gross, language, validity_days, sent_at, sent_by, "
    "valid_until, expires_at, remind_at, reminded_at, hold_stock, hold_status, held, order_id, "
    "notes, created_by, created_at, updated_at, version"
)
LINE_COLUMNS = (
    "line_no, sku, name, unit, quantity, unit_net, line_net, vat_rate, line_vat, line_gross, "
    "breakdown"
)
# What a change may set (id, number, customer, lines and creation never change).
MUTABLE = (
    "status",
    "pricing",
    "pricing_error",
    "priced_tier",
    "priced_on",
    "net",
    "vat",
    "gross",
    "sent_at",
    "sent_by",
    "valid_until",
    "expires_at",
    "remind_at",
    "reminded_at",
    "hold_status",
    "held",
    "order_id",
)


async def next_number(conn: asyncpg.Connection, year: int) -> int:
    """The next sequence number of ``year`` (its counter row stays locked until commit, so
    numbers are handed out without gaps or repeats)."""
    seq: int = await conn.fetchval(
        "INSERT INTO quotation_numbers AS n (year, last) VALUES ($1, 1) "
        "ON CONFLICT (year) DO UPDATE SET last = n.last + 1 RETURNING last",
        year,
    )
    return seq


async def insert(conn: asyncpg.Connection, quote: Quote, lines: Sequence[Line]) -> None:
    """Store a new quote and the lines asked for."""
    await conn.execute(
        f"INSERT INTO quotations ({QUOTE_COLUMNS}) VALUES ({_params(len(_names(QUOTE_COLUMNS)))})",
        *(getattr(quote, c) for c in _names(QUOTE_COLUMNS)),
    )
    await _insert_lines(conn, quote.id, lines)


async def get(conn: asyncpg.Connection, quotation_id: str, *, lock: bool = False) -> Quote:
    """A quote (locked until the transaction ends with ``lock``); :class:`NotFound` if none."""
    row = await conn.fetchrow(
        f"SELECT {QUOTE_COLUMNS} FROM quotations WHERE id = $1" + (" FOR UPDATE" if lock else ""),
        quotation_id,
    )
    if row is None:
        raise NotFound(f"no quotation {quotation_id!r}")
    quote: Quote = record_to(Quote, row)
    return quote


async def lock_status(conn: asyncpg.Connection, quotation_id: str) -> dict[str, object]:
    """Lock a quote and return its status and version (for an audit's "before")."""
    row = await conn.fetchrow(
        "SELECT status, version FROM quotations WHERE id = $1 FOR UPDATE", quotation_id
    )
    if row is None:
        raise NotFound(f"no quotation {quotation_id!r}")
    return dict(row)


async def save(conn: asyncpg.Connection, before: Quote, after: Quote, at: datetime) -> Quote:
    """Write what changed from ``before`` to ``after``; the version grows by one."""
    changed = [c for c in MUTABLE if getattr(before, c) != getattr(after, c)]
    sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(changed, start=3))
    row = await conn.fetchrow(
        f"UPDATE quotations SET {sets + ', ' if sets else ''}updated_at = $2, "
        f"version = version + 1 WHERE id = $1 RETURNING {QUOTE_COLUMNS}",
        before.id,
        at,
        *(getattr(after, c) for c in changed),
    )
    saved: Quote = record_to(Quote, row)
    return saved


async def lines(conn: asyncpg.Connection, quotation_id: str) -> list[Line]:
    """A quote's lines, in order."""
    rows = await conn.fetch(
        f"SELECT {LINE_COLUMNS} FROM quotation_lines WHERE quotation_id = $1 ORDER BY line_no",
        quotation_id,
    )
    return [record_to(Line, r) for r in rows]


async def replace_lines(conn: asyncpg.Connection, quotation_id: str, new: Sequence[Line]) -> None:
    """Put the priced lines in place of the lines asked for."""
    await conn.execute("DELETE FROM quotation_lines WHERE quotation_id = $1", quotation_id)
    await _insert_lines(conn, quotation_id, new)


async def add_history(conn: asyncpg.Connection, quotation_id: str, entry: HistoryEntry) -> None:
    """Record one move."""
    await conn.execute(
        "INSERT INTO quotation_history (quotation_id, from_status, to_status, at, by, reason) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        quotation_id,
        entry.from_status,
        entry.to_status,
        entry.at,
        entry.by,
        entry.reason,
    )


async def history(conn: asyncpg.Connection, quotation_id: str) -> list[HistoryEntry]:
    """A quote's moves, oldest first."""
    rows = await conn.fetch(
        "SELECT from_status, to_status, at, by, reason FROM quotation_history "
        "WHERE quotation_id = $1 ORDER BY id",
        quotation_id,
    )
    return [record_to(HistoryEntry, r) for r in rows]


class Product(msgspec.Struct, frozen=True, kw_only=True):
    """A product's name and unit, as the catalog last said."""

    sku: str
    name: str
    unit: Unit


async def products(conn: asyncpg.Connection, skus: Iterable[str]) -> dict[str, Product]:
    """The known products among ``skus``."""
    rows = await conn.fetch(
        "SELECT sku, name, unit FROM quotation_products WHERE sku = ANY($1::text[])", list(skus)
    )
    return {r["sku"]: record_to(Product, r) for r in rows}


async def apply_catalog(conn: asyncpg.Connection, snapshots: Iterable[ProductSnapshot]) -> int:
    """Keep each product's name and unit, unless a newer version is already known."""
    newest: dict[str, ProductSnapshot] = {}
    for p in snapshots:
        if p.sku not in newest or newest[p.sku].version < p.version:
            newest[p.sku] = p
    ordered = [newest[sku] for sku in sorted(newest)]
    if not ordered:
        return 0
    done = await conn.fetch(
        "INSERT INTO quotation_products AS p (sku, name, unit, version) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) "
        "ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, unit = EXCLUDED.unit, "
        "version = EXCLUDED.version WHERE p.version < EXCLUDED.version RETURNING sku",
        [p.sku for p in ordered],
        [p.name for p in ordered],
        [p.unit for p in ordered],
        [p.version for p in ordered],
    )
    return len(done)


async def _insert_lines(conn: asyncpg.Connection, quotation_id: str, rows: Sequence[Line]) -> None:
    await conn.executemany(
        f"INSERT INTO quotation_lines (quotation_id, {LINE_COLUMNS}) "
        f"VALUES ({_params(1 + len(_names(LINE_COLUMNS)))})",
        [(quotation_id, *(getattr(x, c) for c in _names(LINE_COLUMNS))) for x in rows],
    )


def _names(columns: str) -> list[str]:
    return [c.strip() for c in columns.split(",")]


def _params(n: int) -> str:
    return ", ".join(f"${i}" for i in range(1, n + 1))
