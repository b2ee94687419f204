"""SQL of the WooCommerce connector's customers and sync state (0015_woocommerce.sql):
``woo_customers`` (registered shop customers) and the one ``woo_sync`` row (the push window,
its failures, the reconcile poll's cursor)."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from hub.db import record_to

# --- customers ---------------------------------------------------------------------------------


async def save_customer(
    conn: asyncpg.Connection,
    *,
    shop_customer_id: int,
    hub_customer_id: str,
    tier: int | None,
    role: str,
    email: str,
    modified: datetime | None,
) -> None:
    """Keep a registered shop customer (the newest content wins)."""
    await conn.execute(
        """
        INSERT INTO woo_customers (shop_customer_id, hub_customer_id, tier, role, email,
                                   shop_modified)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (shop_customer_id) DO UPDATE SET
            hub_customer_id = EXCLUDED.hub_customer_id, tier = EXCLUDED.tier,
            role = EXCLUDED.role, email = EXCLUDED.email,
            shop_modified = EXCLUDED.shop_modified, updated_at = now()
        WHERE woo_customers.shop_modified IS NULL OR EXCLUDED.shop_modified IS NULL
           OR woo_customers.shop_modified <= EXCLUDED.shop_modified
        """,
        shop_customer_id,
        hub_customer_id,
        tier,
        role,
        email,
        modified,
    )


async def customer_id(conn: asyncpg.Connection, shop_customer_id: int) -> str | None:
    """The hub customer id of a shop customer seen in a webhook."""
    found: str | None = await conn.fetchval(
        "SELECT hub_customer_id FROM woo_customers WHERE shop_customer_id = $1", shop_customer_id
    )
    return found


# --- sync state ---------------------------------------------------------------------------------


class Sync(msgspec.Struct, frozen=True, kw_only=True):
    """The push window and the poll cursor."""

    push_due_at: datetime | None
    push_failures: int
    push_error: str | None
    poll_cursor: datetime | None
    polled_at: datetime | None
    poll_error: str | None


async def sync(conn: asyncpg.Connection) -> Sync:
    """The sync state."""
    row = await conn.fetchrow(
        f"SELECT {', '.join(Sync.__struct_fields__)} FROM woo_sync WHERE name = 'shop'"
    )
    result: Sync = record_to(Sync, row)
    return result


async def arm_push(conn: asyncpg.Connection, due: datetime, *, stale_before: datetime) -> bool:
    """Arm the push window unless it is armed (a due time long past counts as lost)."""
    done = await conn.fetchval(
        "UPDATE woo_sync SET push_due_at = $1 WHERE name = 'shop' "
        "AND (push_due_at IS NULL OR push_due_at < $2) RETURNING true",
        due,
        stale_before,
    )
    return bool(done)


async def rearm_push(conn: asyncpg.Connection, due: datetime) -> None:
    """Arm the push window for ``due`` whatever it was (a retry after a failure)."""
    await conn.execute("UPDATE woo_sync SET push_due_at = $1 WHERE name = 'shop'", due)


async def disarm_push(conn: asyncpg.Connection) -> None:
    """The window's push starts: changes from now on arm the next one."""
    await conn.execute("UPDATE woo_sync SET push_due_at = NULL WHERE name = 'shop'")


async def push_result(conn: asyncpg.Connection, error: str | None) -> int:
    """Note a push's outcome; returns the failures in a row (0 after a success)."""
    failures: int = await conn.fetchval(
        "UPDATE woo_sync SET push_failures = CASE WHEN $1::text IS NULL THEN 0 "
        "ELSE push_failures + 1 END, push_error = $1 WHERE name = 'shop' "
        "RETURNING push_failures",
        error,
    )
    return failures


async def polled(
    conn: asyncpg.Connection, *, cursor: datetime | None, at: datetime, error: str | None
) -> None:
    """Note a poll: the newest change it saw (never moved back), when, and how it failed."""
    await conn.execute(
        "UPDATE woo_sync SET poll_cursor = greatest(poll_cursor, $1), polled_at = $2, "
        "poll_error = $3 WHERE name = 'shop'",
        cursor,
        at,
        error,
    )
