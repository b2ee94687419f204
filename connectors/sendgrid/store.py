"""SQL of the SendGrid connector: ``sendgrid_deliveries`` (migrations/0012_sendgrid.sql).

Claims and outcomes are written on their own connection and committed at once (not in the
handler's transaction): the record of a request must survive whatever happens to the handler.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from connectors.sendgrid.messages import SendEmail

OPEN = ("sending", "waiting", "unknown")


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """One delivery_id's state."""

    delivery_id: str
    state: str
    request: bytes
    attempts: int
    next_at: datetime | None
    message_id: str | None
    reason: str | None
    status: int | None
    permanent: bool | None
    announced: bool
    created_at: datetime
    accepted_at: datetime | None

    def email(self) -> SendEmail:
        """The SendEmail this delivery sends."""
        return msgspec.json.decode(self.request, type=SendEmail)


def _row(record: asyncpg.Record | None) -> Delivery | None:
    return (
        None if record is None else Delivery(**{k: record[k] for k in Delivery.__struct_fields__})
    )


_COLUMNS = ", ".join(Delivery.__struct_fields__)


async def claim_new(conn: asyncpg.Connection, msg: SendEmail) -> bool:
    """Record a first request as in flight; False when the delivery_id is known already."""
    done = await conn.fetchval(
        "INSERT INTO sendgrid_deliveries (delivery_id, state, request, attempts) "
        "VALUES ($1, 'sending', $2, 1) ON CONFLICT (delivery_id) DO NOTHING RETURNING true",
        msg.delivery_id,
        msgspec.json.encode(msg),
    )
    return bool(done)


async def claim_again(conn: asyncpg.Connection, delivery_id: str, states: tuple[str, ...]) -> bool:
    """Move a delivery in one of ``states`` to in flight (one more request); False if not."""
    done = await conn.fetchval(
        "UPDATE sendgrid_deliveries SET state = 'sending', attempts = attempts + 1, "
        "next_at = NULL, updated_at = now() WHERE delivery_id = $1 AND state = ANY($2) "
        "RETURNING true",
        delivery_id,
        list(states),
    )
    return bool(done)


async def get(conn: asyncpg.Connection, delivery_id: str) -> Delivery | None:
    """The delivery, if known."""
    return _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM sendgrid_deliveries WHERE delivery_id = $1", delivery_id
        )
    )


async def accepted(
    conn: asyncpg.Connection, delivery_id: str, message_id: str, *, via: str, at: datetime
) -> Delivery | None:
    """SendGrid queued it (a 202, or an event proving it); None if it was final already."""
    return _row(
        await conn.fetchrow(
            "UPDATE sendgrid_deliveries SET state = 'accepted', message_id = $2, "
            "accepted_via = $3, accepted_at = $4, next_at = NULL, updated_at = now() "
            f"WHERE delivery_id = $1 AND state = ANY($5) RETURNING {_COLUMNS}",
            delivery_id,
            message_id,
            via,
            at,
            list(OPEN),
        )
    )


async def failed(
    conn: asyncpg.Connection, delivery_id: str, reason: str, status: int | None, *, permanent: bool
) -> None:
    """SendGrid refused it for good, or the connector gave up."""
    await conn.execute(
        "UPDATE sendgrid_deliveries SET state = 'failed', reason = $2, status = $3, "
        "permanent = $4, next_at = NULL, updated_at = now() "
        "WHERE delivery_id = $1 AND state = 'sending'",
        delivery_id,
        reason,
        status,
        permanent,
    )


async def later(
    conn: asyncpg.Connection,
    delivery_id: str,
    state: str,
    at: datetime,
    reason: str,
    status: int | None,
) -> None:
    """Not sent now: ``waiting`` (refused for now) or ``unknown`` (no answer), until ``at``."""
    await conn.execute(
        "UPDATE sendgrid_deliveries SET state = $2, next_at = $3, reason = $4, status = $5, "
        "updated_at = now() WHERE delivery_id = $1 AND state = 'sending'",
        delivery_id,
        state,
        at,
        reason,
        status,
    )


async def announce(conn: asyncpg.Connection, delivery_id: str) -> bool:
    """Mark the outcome as emitted (in the handler's transaction); False if it was already."""
    done = await conn.fetchval(
        "UPDATE sendgrid_deliveries SET announced = true "
        "WHERE delivery_id = $1 AND NOT announced RETURNING true",
        delivery_id,
    )
    return bool(done)
