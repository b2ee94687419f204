"""Operations routes: dead letters, the audit trail, and the API documents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from aiohttp import web

from hub import audit, deadletters
from hub.audit import AuditEntry
from hub.auth import Role
from hub.edge.api import (
    PUBLIC,
    ROUTES,
    Api,
    ApiModel,
    Call,
    Page,
    PageQuery,
    Route,
    decode_cursor,
    encode_cursor,
)
from hub.edge.asyncapi import build_asyncapi
from hub.edge.openapi import build_openapi
from hub.edge.webhooks import WebhookDelivery, list_deliveries, replay_delivery

api = Api("operations")
OPS = {Role.admin, Role.ops}


class DeadLetterView(ApiModel):
    """A dead letter as operations see it (the body is shown by the detail route)."""

    id: int
    actor: str
    message_id: UUID | None
    type: str | None
    reason: str
    error: str
    attempts: int
    status: str
    failed_at: datetime
    resolved_at: datetime | None


class DeadLetterDetail(DeadLetterView):
    """A dead letter with its envelope, body and traceback."""

    envelope: dict[str, Any] | None
    body: str
    traceback: str | None


class DeadLetterQuery(PageQuery):
    """Filters for the dead-letter list."""

    status: Literal["dead", "replayed", "discarded", "all"] = "dead"
    actor: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class Resolved(ApiModel):
    """The dead letters a replay or discard acted on."""

    ids: list[int]


def _view(d: deadletters.DeadLetter) -> DeadLetterView:
    return DeadLetterView(
        id=d.id,
        actor=d.actor,
        message_id=d.message_id,
        type=d.type,
        reason=d.reason,
        error=d.error,
        attempts=d.attempts,
        status=d.status,
        failed_at=d.failed_at,
        resolved_at=d.resolved_at,
    )


@api.get(
    "/api/v1/ops/dead-letters",
    name="ops.dead_letters.list",
    roles=OPS,
    summary="List dead letters",
    query=DeadLetterQuery,
    response=list[DeadLetterView],
)
async def list_dead_letters(call: Call[None, DeadLetterQuery]) -> Page[DeadLetterView]:
    """Oldest first; filter by status and actor."""
    q = call.query
    after = decode_cursor(q.cursor, int)[0] if q.cursor else 0
    async with call.db.pool.acquire() as conn:
        rows = await deadletters.list_dead(
            conn,
            status=None if q.status == "all" else q.status,
            actor=q.actor,
            limit=q.limit + 1,
            after_id=after,
        )
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    return Page([_view(r) for r in rows], encode_cursor(rows[-1].id) if more else None)


@api.get(
    "/api/v1/ops/dead-letters/{id}",
    name="ops.dead_letters.get",
    roles=OPS,
    summary="Show a dead letter with its body and traceback",
    response=DeadLetterDetail,
    entity="dead_letter",
)
async def get_dead_letter(call: Call[None, None]) -> DeadLetterDetail:
    """Everything kept about one dead letter."""
    async with call.db.pool.acquire() as conn:
        d = await deadletters.get(conn, call.int_param("id"))
    return DeadLetterDetail(
        **msgspec.structs.asdict(_view(d)),
        envelope=d.envelope,
        body=d.body.decode(errors="replace"),
        traceback=d.traceback,
    )


@api.post(
    "/api/v1/ops/dead-letters/{id}/replay",
    name="ops.dead_letters.replay",
    roles=OPS,
    summary="Send a dead letter back to its actor",
    response=Resolved,
    entity="dead_letter",
)
async def replay_dead_letter(call: Call[None, None]) -> Resolved:
    """Same message id, attempt 1, to the one actor that failed it."""
    dead_id = call.int_param("id")
    async with call.transaction() as conn:
        done = await deadletters.replay(conn, [dead_id])
        call.audit(after={"status": "replayed"})
    return Resolved(ids=done)


@api.post(
    "/api/v1/ops/dead-letters/{id}/discard",
    name="ops.dead_letters.discard",
    roles=OPS,
    summary="Discard a dead letter (kept for the record)",
    response=Resolved,
    entity="dead_letter",
)
async def discard_dead_letter(call: Call[None, None]) -> Resolved:
    """Mark it discarded; it is never redelivered."""
    dead_id = call.int_param("id")
    async with call.transaction() as conn:
        done = await deadletters.discard(conn, [dead_id])
        call.audit(after={"status": "discarded"})
    return Resolved(ids=done)


class AuditQuery(PageQuery):
    """Filters for the audit trail."""

    actor: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    entity_type: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    entity_id: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    action: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    since: datetime | None = None


@api.get(
    "/api/v1/audit",
    name="audit.list",
    roles={Role.admin},
    summary="Query the audit trail",
    query=AuditQuery,
    response=list[AuditEntry],
)
async def list_audit(call: Call[None, AuditQuery]) -> Page[AuditEntry]:
    """Newest first: who changed what, when, before and after."""
    q = call.query
    before = decode_cursor(q.cursor, int)[0] if q.cursor else None
    async with call.db.pool.acquire() as conn:
        rows = await audit.query(
            conn,
            actor=q.actor,
            entity_type=q.entity_type,
            entity_id=q.entity_id,
            action=q.action,
            since=q.since,
            before_id=before,
            limit=q.limit + 1,
        )
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    return Page(rows, encode_cursor(rows[-1].id) if more else None)


@api.get(
    "/api/v1/openapi.json",
    name="docs.openapi",
    roles=PUBLIC,
    summary="This API as an OpenAPI 3.1 document",
    raw=True,
)
async def openapi(call: Call[None, None]) -> web.Response:
    """Generated from the declared routes and their msgspec types."""
    routes: list[Route] = call.request.app[ROUTES]
    return web.json_response(build_openapi(routes))


@api.get(
    "/api/v1/asyncapi.json",
    name="docs.asyncapi",
    roles=PUBLIC,
    summary="The bus messages as an AsyncAPI 3.0 document",
    raw=True,
)
async def asyncapi(call: Call[None, None]) -> web.Response:
    """Every registered message type, its payload schema and the envelope headers."""
    return web.json_response(build_asyncapi())


# --- webhook deliveries -------------------------------------------------------------------


class DeliveryQuery(PageQuery):
    """Filters for the webhook delivery list."""

    source: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class Replayed(ApiModel):
    """The message a replayed delivery was emitted again as."""

    delivery_id: int
    message_id: UUID


@api.get(
    "/api/v1/ops/webhooks/deliveries",
    name="ops.webhooks.list",
    roles=OPS,
    summary="List stored webhook deliveries",
    query=DeliveryQuery,
    response=list[WebhookDelivery],
)
async def list_webhook_deliveries(call: Call[None, DeliveryQuery]) -> Page[WebhookDelivery]:
    """In arrival order, kept for ``webhook_retention_days``; filter by source."""
    q = call.query
    after = decode_cursor(q.cursor, int)[0] if q.cursor else 0
    async with call.db.pool.acquire() as conn:
        rows = await list_deliveries(conn, q.source, after, q.limit + 1)
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    return Page(rows, encode_cursor(rows[-1].id) if more else None)


@api.post(
    "/api/v1/ops/webhooks/deliveries/{id}/replay",
    name="ops.webhooks.replay",
    roles=OPS,
    summary="Emit a stored webhook delivery's message again",
    response=Replayed,
    entity="webhook_delivery",
)
async def replay_webhook_delivery(call: Call[None, None]) -> Replayed:
    """A new message id, caused by the original; handlers dedupe on the business key."""
    delivery_id = call.int_param("id")
    async with call.transaction() as conn:
        message_id = await replay_delivery(conn, delivery_id)
        call.audit(after={"message_id": str(message_id)})
    return Replayed(delivery_id=delivery_id, message_id=message_id)
