"""The dead-letter store: messages that failed for good, kept with their error for operations.

``cypher-hub dlq list | show | replay | discard`` and the ops API use these functions. Replaying
puts the message back into the outbox addressed to the one actor that failed it, with the same
``message_id`` (so the inbox still guarantees one effect) and ``attempt`` reset to 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg
import msgspec

from hub.bus import envelope_from_json, envelope_to_json
from hub.db import storable
from hub.errors import DomainError, NotFound
from hub.messages import Envelope
from hub.outbox import Outgoing, write

Reason = Literal["permanent", "exhausted", "redelivered"]
Status = Literal["dead", "replayed", "discarded"]


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """One dead-lettered message."""

    id: int
    actor: str
    message_id: UUID | None
    type: str | None
    reason: Reason
    error: str
    traceback: str | None
    attempts: int
    status: Status
    failed_at: datetime
    resolved_at: datetime | None
    envelope: dict[str, Any] | None = None
    headers: dict[str, Any] = {}
    body: bytes = b""


_COLUMNS = (
    "id, actor, message_id, type, reason, error, traceback, attempts, status, failed_at, "
    "resolved_at, envelope, headers, body"
)


async def record(
    conn: asyncpg.Connection,
    *,
    actor: str,
    envelope: Envelope | None,
    headers: dict[str, Any],
    body: bytes,
    reason: Reason,
    error: str,
    traceback: str | None,
    attempts: int,
) -> None:
    """Store a dead letter (once per actor and message while it is unresolved)."""
    await conn.execute(
        """
        INSERT INTO hub_dead_letters
            (actor, message_id, type, envelope, headers, body, reason, error, traceback, attempts)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (actor, message_id) WHERE status = 'dead' DO NOTHING
        """,
        actor,
        envelope.message_id if envelope else None,
        storable(envelope.type if envelope else _header_text(headers.get("type"))),
        storable(envelope_to_json(envelope)) if envelope else None,
        storable(msgspec.to_builtins(headers, str_keys=True, enc_hook=str)),
        body,
        reason,
        storable(error[:4000]),
        storable(traceback),
        attempts,
    )


def _header_text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


async def list_dead(
    conn: asyncpg.Connection,
    *,
    status: Status | None = "dead",
    actor: str | None = None,
    limit: int = 50,
    after_id: int = 0,
) -> list[DeadLetter]:
    """Dead letters in id order, filtered by status and actor."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM hub_dead_letters "
        "WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR actor = $2) "
        "AND id > $3 ORDER BY id LIMIT $4",
        status,
        actor,
        after_id,
        limit,
    )
    return [msgspec.convert(dict(r), DeadLetter) for r in rows]


async def get(conn: asyncpg.Connection, dead_id: int) -> DeadLetter:
    """One dead letter; :class:`NotFound` if there is none with that id."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM hub_dead_letters WHERE id = $1", dead_id)
    if row is None:
        raise NotFound(f"no dead letter {dead_id}")
    return msgspec.convert(dict(row), DeadLetter)


async def replay(conn: asyncpg.Connection, ids: Iterable[int]) -> list[int]:
    """Queue dead letters for redelivery to their actor (in the caller's transaction)."""
    done: list[int] = []
    for dead_id in ids:
        row = await conn.fetchrow(
            "SELECT id, actor, envelope, body, status FROM hub_dead_letters WHERE id = $1 "
            "FOR UPDATE",
            dead_id,
        )
        if row is None:
            raise NotFound(f"no dead letter {dead_id}")
        if row["status"] != "dead":
            raise DomainError(f"dead letter {dead_id} is already {row['status']}")
        if row["envelope"] is None:
            raise DomainError(
                f"dead letter {dead_id} has no valid envelope (no message id or type); "
                "it cannot be replayed, only discarded"
            )
        envelope = msgspec.structs.replace(envelope_from_json(row["envelope"]), attempt=1)
        await write(conn, [Outgoing(envelope, row["body"], destination=row["actor"])])
        await conn.execute(
            "UPDATE hub_dead_letters SET status = 'replayed', resolved_at = now() WHERE id = $1",
            dead_id,
        )
        done.append(dead_id)
    return done


async def discard(conn: asyncpg.Connection, ids: Iterable[int]) -> list[int]:
    """Mark dead letters as discarded (kept for the record, never redelivered)."""
    done: list[int] = []
    for dead_id in ids:
        status = await conn.fetchval(
            "UPDATE hub_dead_letters SET status = 'discarded', resolved_at = now() "
            "WHERE id = $1 AND status = 'dead' RETURNING status",
            dead_id,
        )
        if status is None:
            await get(conn, dead_id)  # raises NotFound when missing
            raise DomainError(f"dead letter {dead_id} is not dead (already replayed or discarded)")
        done.append(dead_id)
    return done


async def count_dead(conn: asyncpg.Connection) -> int:
    """How many dead letters wait for a decision."""
    n: int = await conn.fetchval("SELECT count(*) FROM hub_dead_letters WHERE status = 'dead'")
    return n
