"""WhatsApp chat history and staff replies, called by the notifications actor and the chat API.

Meta's notifications are stored as they come: inbound messages once per wamid, statuses once per
``<wamid>:<status>``, applied to a staff reply only forwards (queued → sent → delivered → read;
failed is final, and only a message not yet delivered can fail). A status that arrives before
the connector has told us the reply's wamid is kept and applied when it does.

Free text may go out only inside Meta's customer-service window: 24 hours from the customer's
last inbound message, the end excluded. A customer who wrote to us may be answered inside that
window without having opted in to WhatsApp notifications: the conversation is theirs, and the
opt-in governs only what we start (templates, which the notifications actor sends).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec

from actors.notifications import chat_store as store
from actors.notifications.chat_views import InboundMessage, MetaError, MetaNotification, MetaValue
from connectors.whatsapp.messages import (
    SendWhatsApp,
    WebhookReceived,
    WhatsAppAccepted,
    WhatsAppFailed,
)
from hub.errors import DomainError, PermanentError
from hub.ids import uuid7
from hub.messages import Message

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
MAX_TEXT = 4096  # Meta's limit on a text message body
STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}
FAILABLE = frozenset({"queued", "sent"})


class WindowClosed(DomainError):
    """Free text is refused: the customer has not written in the last 24 hours."""

    code = "window_closed"

    def __init__(self, customer_id: str, closed_at: datetime | None) -> None:
        when = (
            f"closed at {closed_at.astimezone(UTC).isoformat()}"
            if closed_at is not None
            else "was never opened (the customer has not written to us on WhatsApp)"
        )
        super().__init__(
            f"the 24-hour WhatsApp window of customer {customer_id} {when}; "
            "free text is allowed only within 24 hours of the customer's last message, "
            "so send an approved template message instead"
        )
        self.closed_at = closed_at


class InvalidReply(DomainError):
    """The reply cannot be sent as written (empty, too long, no WhatsApp phone)."""

    code = "invalid_reply"


# ---- pure rules ------------------------------------------------------------------------------


def window_closes_at(last_inbound: datetime | None) -> datetime | None:
    """When free text stops being allowed; None when the customer never wrote."""
    return last_inbound + WINDOW if last_inbound is not None else None


def is_open(last_inbound: datetime | None, now: datetime) -> bool:
    """True while ``now`` is less than 24 hours after the customer's last message."""
    closes = window_closes_at(last_inbound)
    return closes is not None and now < closes


def moves_forward(current: str, new: str) -> bool:
    """True when a reply in ``current`` may take status ``new``."""
    if current == "failed" or new not in (*STATUS_RANK, "failed"):
        return False
    if new == "failed":
        return current in FAILABLE
    return STATUS_RANK[new] > STATUS_RANK[current]


def check_text(text: str) -> str:
    """The reply's text, or ``InvalidReply`` naming what is wrong."""
    if not text.strip():
        raise InvalidReply("the reply is empty; write between 1 and 4096 characters")
    if len(text) > MAX_TEXT:
        raise InvalidReply(f"the reply has {len(text)} characters; WhatsApp allows {MAX_TEXT}")
    return text


def digits(phone: str) -> str:
    """E.164 digits without "+" (Meta's wa_id form), as the recipients table keeps them."""
    return "".join(c for c in phone if c.isdigit())


# ---- reading Meta's notification -----------------------------------------------------------

_decode = msgspec.json.Decoder(MetaNotification).decode


def _values(msg: WebhookReceived) -> list[MetaValue]:
    try:
        notification = _decode(msg.payload)
    except msgspec.DecodeError as exc:
        raise PermanentError(f"the WhatsApp notification is not Meta's shape: {exc}") from None
    return [c.value for e in notification.entry for c in e.changes if c.value is not None]


def _when(timestamp: str | None, now: datetime) -> datetime:
    """Meta's Unix seconds as an aware UTC time (now, should Meta ever leave it out)."""
    if timestamp and timestamp.isdigit():
        return datetime.fromtimestamp(int(timestamp), UTC)
    return now


def describe(m: InboundMessage) -> str:
    """The text of a message, or a short description of anything else (``[image] caption``)."""
    if m.type == "text" and m.text is not None:
        return m.text.body
    if m.type == "button" and m.button is not None and m.button.text:
        return m.button.text
    media = {"image": m.image, "video": m.video, "document": m.document}.get(m.type)
    caption = media.caption if media is not None else None
    return f"[{m.type}] {caption}" if caption else f"[{m.type}]"


def _error(errors: list[MetaError]) -> str | None:
    if not errors:
        return None
    e = errors[0]
    return f"{e.code}: {e.title or e.message or 'error'}"


# ---- what the notifications actor calls ------------------------------------------------------


async def on_webhook(
    conn: asyncpg.Connection, msg: WebhookReceived, now: datetime
) -> list[Message]:
    """Store the inbound messages and apply the statuses of Meta's notification."""
    for value in _values(msg):
        names = {c.wa_id: c.profile.name for c in value.contacts if c.wa_id and c.profile}
        for m in value.messages:
            phone = digits(m.from_ or "")
            if not m.id or not phone:
                continue
            await store.open_conversation(conn, phone, names.get(m.from_ or ""), now)
            await store.add_inbound(
                conn,
                id=str(uuid7()),
                phone=phone,
                wamid=m.id,
                type=m.type,
                body=describe(m),
                reply_to=m.context.id if m.context else None,
                at=_when(m.timestamp, now),
                now=now,
            )
        for s in value.statuses:
            if s.id and s.status:
                at = _when(s.timestamp, now)
                error = _error(s.errors)
                if await store.record_status(
                    conn, wamid=s.id, status=s.status, at=at, error=error, now=now
                ):
                    await _apply(conn, s.id, [(s.status, at, error)])
    return []


async def _apply(
    conn: asyncpg.Connection, wamid: str, statuses: list[tuple[str, datetime, str | None]]
) -> None:
    found = await store.outbound_by(conn, wamid=wamid)
    if found is None:
        return  # not a chat reply, or its wamid is not known yet: kept for on_accepted
    id, current = found
    for status, at, error in statuses:
        if moves_forward(current, status):
            await store.set_status(conn, id, status, at, error)
            current = status


async def window_open(conn: asyncpg.Connection, phone: str, now: datetime) -> bool:
    """True when free text may be sent to ``phone`` now."""
    found = await store.conversation(conn, digits(phone))
    return is_open(found.last_inbound_at if found else None, now)


async def reply(
    conn: asyncpg.Connection, customer_id: str, text: str, *, by: str, now: datetime
) -> tuple[str, SendWhatsApp]:
    """Store a staff reply as queued; the message id and the command to emit with it."""
    check_text(text)
    customer = await store.recipient(conn, customer_id)
    if not customer.phone or not digits(customer.phone):
        raise InvalidReply(f"customer {customer_id} has no WhatsApp phone number")
    phone = digits(customer.phone)
    found = await store.conversation(conn, phone)
    last = found.last_inbound_at if found else None
    if not is_open(last, now) or found is None:
        raise WindowClosed(customer_id, window_closes_at(last))
    message_id, delivery_id = str(uuid7()), f"chat:{uuid7()}"
    await store.add_reply(
        conn,
        id=message_id,
        phone=phone,
        delivery_id=delivery_id,
        body=text,
        reply_to=found.last_inbound_wamid,
        author=by,
        now=now,
    )
    log.info("whatsapp reply %s queued by %s", delivery_id, by, extra={"delivery_id": delivery_id})
    command = SendWhatsApp(
        delivery_id=delivery_id, to=phone, text=text, reply_to=found.last_inbound_wamid
    )
    return message_id, command


async def on_accepted(conn: asyncpg.Connection, msg: WhatsAppAccepted) -> bool:
    """Note the reply's wamid and apply any status that came first; False: not a chat reply."""
    found = await store.outbound_by(conn, delivery_id=msg.delivery_id)
    if found is None:
        return False
    await store.set_wamid(conn, found[0], msg.wamid)
    await _apply(conn, msg.wamid, await store.statuses_of(conn, msg.wamid))
    return True


async def on_failed(conn: asyncpg.Connection, msg: WhatsAppFailed) -> bool:
    """Mark the reply failed with the connector's reason; False: not a chat reply."""
    found = await store.outbound_by(conn, delivery_id=msg.delivery_id)
    if found is None:
        return False
    id, current = found
    if moves_forward(current, "failed"):
        code = f" {msg.code}" if msg.code is not None else ""
        detail = f": {msg.detail}" if msg.detail else ""
        await store.set_status(conn, id, "failed", _now(), f"{msg.reason}{code}{detail}")
    return True


def _now() -> datetime:
    return datetime.now(UTC)
