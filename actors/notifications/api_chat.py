"""The WhatsApp chat routes: a customer's conversation, and staff replies inside the window.

Mounted on its own (``actors.notifications.api_chat:api``). A B2B customer reads its own
conversation only (another's answers like a missing one, 404); only staff reply. A reply is
stored and its ``SendWhatsApp`` written to the outbox in the same transaction as the audit entry.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from actors.notifications import chat
from actors.notifications import chat_store as store
from actors.notifications.chat_views import (
    ChatMessageView,
    ChatQuery,
    ConversationView,
    ReplyAccepted,
    ReplyBody,
    WindowView,
)
from hub.auth import Role
from hub.edge.api import Api, ApiError, Call, decode_cursor, encode_cursor

api = Api("notifications")
REPLIERS = {Role.admin, Role.ops, Role.sales}
READERS = {*REPLIERS, Role.b2b_customer}


async def customer_owner(call: Call[Any, Any]) -> str | None:
    """The conversation in the path belongs to the customer it names."""
    return call.param("id")


def _view(m: store.ChatMessage) -> ChatMessageView:
    return ChatMessageView(
        id=m.id,
        direction=m.direction,
        type=m.type,
        text=m.body,
        at=m.at,
        wamid=m.wamid,
        reply_to=m.reply_to,
        status=m.status,
        status_at=m.status_at,
        error=m.error,
        author=m.author,
    )


@api.get(
    "/api/v1/customers/{id}/whatsapp",
    name="notifications.whatsapp.get",
    roles=READERS,
    summary="Show a customer's WhatsApp conversation",
    query=ChatQuery,
    response=ConversationView,
    owner=customer_owner,
    entity="customer",
)
async def get_conversation(call: Call[None, ChatQuery]) -> ConversationView:
    """Messages oldest first, a page at a time (``metadata.next_cursor``), with the state of the
    24-hour window in which staff may answer with free text."""
    q = call.query
    after = decode_cursor(q.cursor, datetime, str) if q.cursor else None
    customer_id = call.param("id")
    async with call.db.pool.acquire() as conn:
        customer = await store.recipient(conn, customer_id)
        phone = chat.digits(customer.phone) if customer.phone else None
        found = await store.conversation(conn, phone) if phone else None
        rows = (
            await store.messages(
                conn, phone, after=(after[0], after[1]) if after else None, limit=q.limit + 1
            )
            if phone and found
            else []
        )
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    call.metadata["next_cursor"] = encode_cursor(rows[-1].at, rows[-1].id) if more else None
    last = found.last_inbound_at if found else None
    return ConversationView(
        customer_id=customer_id,
        phone=phone,
        contact_name=found.contact_name if found else None,
        whatsapp_opt_in=customer.whatsapp_opt_in,
        window=WindowView(
            open=chat.is_open(last, datetime.now(UTC)), open_until=chat.window_closes_at(last)
        ),
        messages=[_view(m) for m in rows],
    )


@api.post(
    "/api/v1/customers/{id}/whatsapp",
    name="notifications.whatsapp.reply",
    roles=REPLIERS,
    summary="Answer a customer on WhatsApp",
    body=ReplyBody,
    response=ReplyAccepted,
    status=202,
    entity="customer",
)
async def post_reply(call: Call[ReplyBody, None]) -> ReplyAccepted:
    """Free text, within 24 hours of the customer's last message; outside that window a 409
    says when it closed (a template message is needed then). The message is queued at once (202)
    and its delivery status shows in the conversation."""
    customer_id = call.param("id")
    try:
        async with call.transaction() as conn:
            message_id, command = await chat.reply(
                conn, customer_id, call.body.text, by=call.actor, now=datetime.now(UTC)
            )
            call.emit(command, key=f"whatsapp:{command.to}")
            call.audit(
                entity_id=customer_id,
                after={"message_id": message_id, "delivery_id": command.delivery_id},
            )
    except chat.WindowClosed as exc:
        raise ApiError(409, exc.code, str(exc)) from None
    return ReplyAccepted(message_id=message_id, delivery_id=command.delivery_id)
