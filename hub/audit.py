"""The audit trail: who changed what, when, with the state before and after.

API calls are recorded by the edge (``hub.edge.api``) in the same transaction as the change they
make; actors record domain changes made on someone's behalf with ``ctx.audit(...)``, taking the
acting principal from the envelope (``Envelope.actor``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from hub.db import storable


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One recorded change."""

    id: int
    at: datetime
    actor: str
    actor_name: str | None
    action: str
    entity_type: str | None
    entity_id: str | None
    before: Any | None
    after: Any | None
    method: str | None
    path: str | None
    status: int | None
    request_id: str | None
    client_ip: str | None
    correlation_id: str | None


_COLUMNS = ", ".join(AuditEntry.__struct_fields__)


def _plain(value: Any) -> Any:
    if value is None:
        return None
    return storable(msgspec.to_builtins(value, str_keys=True, enc_hook=str))


async def record(
    conn: asyncpg.Connection,
    *,
    actor: str,
    action: str,
    actor_name: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    before: Any = None,
    after: Any = None,
    method: str | None = None,
    path: str | None = None,
    status: int | None = None,
    request_id: str | None = None,
    client_ip: str | None = None,
    correlation_id: str | None = None,
) -> int:
    """Append an entry in the caller's transaction; returns its id.

    A NUL character (a refused call's path or field) is stored spelled out as ``\\x00``.
    """
    entry_id: int = await conn.fetchval(
        """
        INSERT INTO audit_log (actor, actor_name, action, entity_type, entity_id, before, after,
                               method, path, status, request_id, client_ip, correlation_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        RETURNING id
        """,
        actor,
        storable(actor_name),
        action,
        entity_type,
        storable(entity_id),
        _plain(before),
        _plain(after),
        method,
        storable(path),
        status,
        request_id,
        storable(client_ip),
        storable(correlation_id),
    )
    return entry_id


async def query(
    conn: asyncpg.Connection,
    *,
    actor: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    """Entries newest first, filtered; ``before_id`` continues a page."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM audit_log
        WHERE ($1::text IS NULL OR actor = $1)
          AND ($2::text IS NULL OR entity_type = $2)
          AND ($3::text IS NULL OR entity_id = $3)
          AND ($4::text IS NULL OR action = $4)
          AND ($5::timestamptz IS NULL OR at >= $5)
          AND ($6::bigint IS NULL OR id < $6)
        ORDER BY id DESC
        LIMIT $7
        """,
        actor,
        entity_type,
        entity_id,
        action,
        since,
        before_id,
        limit,
    )
    return [msgspec.convert(dict(r), AuditEntry) for r in rows]
