"""SQL of the WooCommerce connector's shop orders (``woo_orders``, 0015_woocommerce.sql).

Functions take the connection to work on: the handler's transaction when the change goes with
the messages it emits, or a short transaction of its own (committed at once) around calls to
the shop, so the record of a call survives whatever happens to the handler.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from connectors.woocommerce.mapping import ShopLine
from hub.db import record_to


class OrderRow(msgspec.Struct, frozen=True, kw_only=True):
    """One shop order as the connector holds it."""

    shop_order_id: int
    order_id: str
    number: str
    state: str
    reason: str | None
    skus: list[str]
    shop_status: str
    shop_modified: datetime | None
    shop_order: bytes
    request: bytes | None
    shop_lines: Any
    check_no: int
    accept_totals: bool
    mismatch: str | None
    placed_at: datetime | None
    hub_number: str | None
    shop_cancelled_at: datetime | None
    status_wanted: str | None
    status_wanted_at: datetime | None
    status_pushed: str | None
    status_error: str | None
    status_refused: bool

    def lines(self) -> tuple[ShopLine, ...]:
        """The shop's lines of the order (as last mapped)."""
        return msgspec.convert(self.shop_lines or [], tuple[ShopLine, ...], strict=False)


_ORDER_COLUMNS = ", ".join(OrderRow.__struct_fields__)


def _order(record: asyncpg.Record | None) -> OrderRow | None:
    return None if record is None else record_to(OrderRow, record)


async def order(
    conn: asyncpg.Connection, shop_order_id: int, *, lock: bool = False
) -> OrderRow | None:
    """The shop order's row (locked for this transaction with ``lock``), if any."""
    suffix = " FOR UPDATE" if lock else ""
    return _order(
        await conn.fetchrow(
            f"SELECT {_ORDER_COLUMNS} FROM woo_orders WHERE shop_order_id = $1{suffix}",
            shop_order_id,
        )
    )


async def order_by_hub_id(conn: asyncpg.Connection, order_id: str) -> OrderRow | None:
    """The row of the hub's order ``order_id``, if it came from the shop."""
    return _order(
        await conn.fetchrow(
            f"SELECT {_ORDER_COLUMNS} FROM woo_orders WHERE order_id = $1", order_id
        )
    )


async def seen(
    conn: asyncpg.Connection,
    *,
    shop_order_id: int,
    order_id: str,
    number: str,
    status: str,
    modified: datetime | None,
    body: bytes,
    state: str,
) -> None:
    """Keep the shop's latest content of an order (a new row starts in ``state``)."""
    await conn.execute(
        """
        INSERT INTO woo_orders (shop_order_id, order_id, number, state, shop_status,
                                shop_modified, shop_order)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (shop_order_id) DO UPDATE SET
            number = EXCLUDED.number, shop_status = EXCLUDED.shop_status,
            shop_modified = EXCLUDED.shop_modified, shop_order = EXCLUDED.shop_order,
            updated_at = now()
        """,
        shop_order_id,
        order_id,
        number,
        state,
        status,
        modified,
        body,
    )


async def set_state(
    conn: asyncpg.Connection,
    shop_order_id: int,
    state: str,
    reason: str | None = None,
    skus: tuple[str, ...] = (),
) -> None:
    """Move the order to ``state`` (with the reason a person reads, for parked/rejected)."""
    await conn.execute(
        "UPDATE woo_orders SET state = $2, reason = $3, skus = $4, updated_at = now() "
        "WHERE shop_order_id = $1",
        shop_order_id,
        state,
        reason,
        list(skus),
    )


async def start_check(
    conn: asyncpg.Connection,
    shop_order_id: int,
    request: bytes,
    lines: tuple[ShopLine, ...],
    *,
    accept_totals: bool,
) -> int:
    """The order waits for the hub's pricing of its lines; returns the check's number."""
    net = sum((x.net for x in lines), Decimal(0))
    gross = net + sum((x.vat for x in lines), Decimal(0))
    check_no: int = await conn.fetchval(
        """
        UPDATE woo_orders SET state = 'checking', reason = NULL, skus = '{}', request = $2,
            shop_lines = $3, check_no = check_no + 1, accept_totals = accept_totals OR $4,
            shop_net = $5, shop_gross = $6, hub_net = NULL, hub_gross = NULL, mismatch = NULL,
            updated_at = now()
        WHERE shop_order_id = $1 RETURNING check_no
        """,
        shop_order_id,
        request,
        msgspec.to_builtins(lines),
        accept_totals,
        net,
        gross,
    )
    return check_no


async def priced(
    conn: asyncpg.Connection,
    shop_order_id: int,
    hub_net: Decimal,
    hub_gross: Decimal,
    mismatch: str | None,
) -> None:
    """Keep the hub's figures, and the difference when there is one."""
    await conn.execute(
        "UPDATE woo_orders SET hub_net = $2, hub_gross = $3, mismatch = $4, updated_at = now() "
        "WHERE shop_order_id = $1",
        shop_order_id,
        hub_net,
        hub_gross,
        mismatch,
    )


async def placed(conn: asyncpg.Connection, shop_order_id: int, at: datetime) -> None:
    """PlaceOrder was emitted (in this transaction)."""
    await conn.execute(
        "UPDATE woo_orders SET state = 'placed', reason = NULL, skus = '{}', placed_at = $2, "
        "updated_at = now() WHERE shop_order_id = $1",
        shop_order_id,
        at,
    )


async def hub_number(conn: asyncpg.Connection, order_id: str, number: str) -> None:
    """The orders context placed the order under ``number``."""
    await conn.execute(
        "UPDATE woo_orders SET hub_number = $2, updated_at = now() WHERE order_id = $1",
        order_id,
        number,
    )


async def rejected(conn: asyncpg.Connection, order_id: str, reason: str) -> OrderRow | None:
    """The orders context refused a placed order; None if it is not one of the shop's."""
    return _order(
        await conn.fetchrow(
            "UPDATE woo_orders SET state = 'rejected', reason = $2, updated_at = now() "
            f"WHERE order_id = $1 AND state = 'placed' RETURNING {_ORDER_COLUMNS}",
            order_id,
            reason,
        )
    )


async def shop_cancelled(conn: asyncpg.Connection, shop_order_id: int, at: datetime) -> bool:
    """Note the shop's cancellation of a placed order; False if it was noted already."""
    done = await conn.fetchval(
        "UPDATE woo_orders SET shop_cancelled_at = $2, updated_at = now() "
        "WHERE shop_order_id = $1 AND shop_cancelled_at IS NULL RETURNING true",
        shop_order_id,
        at,
    )
    return bool(done)


# --- hub → shop status ---------------------------------------------------------------------------


async def want_status(
    conn: asyncpg.Connection, order_id: str, status: str, at: datetime
) -> OrderRow | None:
    """The hub wants the shop to show ``status`` (unless a newer change wanted another)."""
    return _order(
        await conn.fetchrow(
            "UPDATE woo_orders SET status_wanted = $2, status_wanted_at = $3, "
            "status_refused = status_refused AND status_wanted IS NOT DISTINCT FROM $2, "
            "updated_at = now() "
            "WHERE order_id = $1 AND (status_wanted_at IS NULL OR status_wanted_at <= $3) "
            f"RETURNING {_ORDER_COLUMNS}",
            order_id,
            status,
            at,
        )
    )


async def status_pushed(conn: asyncpg.Connection, shop_order_id: int, status: str) -> None:
    """The shop confirmed it shows ``status``."""
    await conn.execute(
        "UPDATE woo_orders SET status_pushed = $2, status_error = NULL, status_refused = false, "
        "updated_at = now() WHERE shop_order_id = $1",
        shop_order_id,
        status,
    )


async def status_failed(
    conn: asyncpg.Connection, shop_order_id: int, error: str, *, refused: bool
) -> None:
    """The shop could not take the status push (``refused``: and never will, as it is)."""
    await conn.execute(
        "UPDATE woo_orders SET status_error = $2, status_refused = $3, updated_at = now() "
        "WHERE shop_order_id = $1",
        shop_order_id,
        error[:1000],
        refused,
    )


async def statuses_due(conn: asyncpg.Connection, before: datetime, limit: int = 100) -> list[int]:
    """Shop orders whose wanted status the shop has not confirmed since before ``before``."""
    rows = await conn.fetch(
        "SELECT shop_order_id FROM woo_orders WHERE status_wanted IS DISTINCT FROM status_pushed "
        "AND status_wanted IS NOT NULL AND NOT status_refused AND status_wanted_at < $1 "
        "ORDER BY status_wanted_at LIMIT $2",
        before,
        limit,
    )
    return [r["shop_order_id"] for r in rows]
