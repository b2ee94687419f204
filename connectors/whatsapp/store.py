"""SQL of the WhatsApp connector: ``whatsapp_deliveries`` (migrations/0013_whatsapp.sql).

Claims and outcomes are written on their own connection and committed at once (not in the
handler's transaction): the record that a request was made must survive whatever happens to
the handler, or a redelivered command would send the message again.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from connectors.whatsapp.messages import SendWhatsApp


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """One delivery_id's state."""

    delivery_id: str
    state: str
    request: bytes
    attempts: int
    next_at: datetime | None
    wamid: str | None
    wa_id: str | None
    reason: str | None
    code: int | None
    detail: str | None
    permanent: bool | None
    announced: bool
    created_at: datetime
    updated_at: datetime
    accepted_at: datetime | None

    def command(self) -> SendWhatsApp:
        """The SendWhatsApp this delivery sends."""
        return msgspec.json.decode(self.request, type=SendWhatsApp)


_COLUMNS = ", ".join(Delivery.__struct_fields__)


def _row(record: asyncpg.Record | None) -> Delivery | None:
    return (
        None if record is None else Delivery(**{k: record[k] for k in Delivery.__struct_fields__})
    )


async def claim_new(conn: asyncpg.Connection, msg: SendWhatsApp) -> bool:
    """Record a first request as in flight; False when the delivery_id is known already."""
    done = await conn.fetchval(
        "INSERT INTO whatsapp_deliveries (delivery_id, state, request, attempts) "
        "VALUES ($1, 'sending', $2, 1) ON CONFLICT (delivery_id) DO NOTHING RETURNING true",
        msg.delivery_id,
        msgspec.json.encode(msg),
    )
    return bool(done)


async def claim_waiting(conn: asyncpg.Connection, delivery_id: str) -> bool:
    """Move a waiting delivery to in flight (one more request); False if it is not waiting."""
    done = await conn.fetchval(
        "UPDATE whatsapp_deliveries SET state = 'sending', attempts = attempts + 1, "
        "next_at = NULL, updated_at = now() WHERE delivery_id = $1 AND state = 'waiting' "
        "RETURNING true",
        delivery_id,
    )
    return bool(done)


async def get(conn: asyncpg.Connection, delivery_id: str) -> Delivery | None:
    """The delivery, if known."""
    return _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM whatsapp_deliveries WHERE delivery_id = $1", delivery_id
        )
    )


async def accepted(
    conn: asyncpg.Connection, delivery_id: str, wamid: str, wa_id: str, at: datetime
) -> None:
    """Meta accepted the in-flight request."""
    await conn.execute(
        "UPDATE whatsapp_deliveries SET state = 'accepted', wamid = $2, wa_id = $3, "
        "accepted_at = $4, next_at = NULL, updated_at = now() "
        "WHERE delivery_id = $1 AND state = 'sending'",
        delivery_id,
        wamid,
        wa_id,
        at,
    )


async def failed(
    conn: asyncpg.Connection,
    delivery_id: str,
    *,
    reason: str,
    code: int | None,
    detail: str,
    permanent: bool,
) -> None:
    """Final failure: refused for good, outcome unknown, or given up."""
    await conn.execute(
        "UPDATE whatsapp_deliveries SET state = 'failed', reason = $2, code = $3, detail = $4, "
        "permanent = $5, next_at = NULL, updated_at = now() "
        "WHERE delivery_id = $1 AND state IN ('sending', 'waiting')",
        delivery_id,
        reason,
        code,
        detail,
        permanent,
    )


async def waiting(
    conn: asyncpg.Connection,
    delivery_id: str,
    at: datetime,
    *,
    reason: str,
    code: int | None,
    detail: str,
) -> None:
    """Certainly not sent now (refused for now): try again at ``at``."""
    await conn.execute(
        "UPDATE whatsapp_deliveries SET state = 'waiting', next_at = $2, reason = $3, code = $4, "
        "detail = $5, updated_at = now() WHERE delivery_id = $1 AND state = 'sending'",
        delivery_id,
        at,
        reason,
        code,
        detail,
    )


async def announce(conn: asyncpg.Connection, delivery_id: str) -> bool:
    """Mark the outcome as emitted (in the handler's transaction); False if it was already."""
    done = await conn.fetchval(
        "UPDATE whatsapp_deliveries SET announced = true "
        "WHERE delivery_id = $1 AND NOT announced RETURNING true",
        delivery_id,
    )
    return bool(done)
