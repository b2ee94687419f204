"""What became of deliveries: the connectors' answers and the providers' events.

Statuses only move forward (:func:`~actors.notifications.domain.advances`). SendGrid may send an
event twice, in different batches: each ``sg_event_id`` is applied once. WhatsApp statuses are
applied once per (wamid, status).

Retry policy: the connectors send a ``delivery_id`` at most once, so a retry is a *new*
delivery, and only after a failure that says nothing was sent: SendGrid answered (429/5xx,
``status`` set) or Meta answered with a rate-limit or server error code. A failure without an
answer (timeout, dropped connection) may have been sent: it is not retried, the delivery stays
``failed`` with the reason for staff to see.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from actors.notifications import domain, people, store
from connectors.sendgrid.messages import EmailAccepted, EmailFailed, EventsReceived
from connectors.whatsapp.messages import WhatsAppAccepted, WhatsAppFailed

log = logging.getLogger(__name__)
_events = msgspec.json.Decoder(list[dict[str, Any]])


class Retry(msgspec.Struct, frozen=True, kw_only=True):
    """A failed delivery that may be sent again, as attempt ``attempt + 1``."""

    notification_id: str
    channel: domain.Channel
    attempt: int


async def move(
    conn: asyncpg.Connection,
    delivery_id: str,
    status: str,
    now: datetime,
    *,
    detail: str = "",
    provider_id: str | None = None,
    error: str | None = None,
) -> store.Delivery | None:
    """Move a delivery forward; the delivery if it moved (None: unknown or not forward)."""
    found = await store.delivery(conn, delivery_id, lock=True)
    if found is None:
        log.warning("no delivery %s for status %s", delivery_id, status)
        return None
    if provider_id is not None and found.provider_id is None:
        await store.set_provider(conn, delivery_id, provider_id)
    if not domain.advances(found.status, status):
        return None
    await store.set_status(
        conn, delivery_id, status, now, detail=detail, provider_id=provider_id, error=error
    )
    return found


async def email_accepted(conn: asyncpg.Connection, msg: EmailAccepted, now: datetime) -> None:
    """SendGrid queued the email: keep its X-Message-Id to match its events."""
    await move(conn, msg.delivery_id, "accepted", now, provider_id=msg.message_id)


async def email_failed(conn: asyncpg.Connection, msg: EmailFailed, now: datetime) -> Retry | None:
    """The connector gave up on the email; a retry when SendGrid said it took nothing."""
    detail = f"{msg.reason} (status {msg.status})" if msg.status else msg.reason
    found = await move(conn, msg.delivery_id, "failed", now, detail=detail, error=detail)
    sent_nothing = not msg.permanent and msg.status is not None
    return _retry(found, "email") if sent_nothing else None


async def whatsapp_accepted(conn: asyncpg.Connection, msg: WhatsAppAccepted, now: datetime) -> None:
    """Meta took the message: keep its wamid to match the statuses that follow."""
    await move(conn, msg.delivery_id, "accepted", now, provider_id=msg.wamid)


async def whatsapp_failed(
    conn: asyncpg.Connection, msg: WhatsAppFailed, now: datetime
) -> Retry | None:
    """The connector gave up on the message; a retry when Meta refused it for rate or load."""
    detail = f"{msg.reason} (code {msg.code}) {msg.detail}".strip()
    found = await move(conn, msg.delivery_id, "failed", now, detail=detail, error=detail)
    rate = msg.reason in ("throughput", "pair_rate_limit")
    answered = msg.reason == "unavailable" and msg.code is not None
    return _retry(found, "whatsapp") if not msg.permanent and (rate or answered) else None


def _retry(found: store.Delivery | None, channel: domain.Channel) -> Retry | None:
    if found is None:
        return None
    return Retry(notification_id=found.notification_id, channel=channel, attempt=found.attempt)


async def sendgrid_events(conn: asyncpg.Connection, msg: EventsReceived, now: datetime) -> int:
    """Apply a batch of SendGrid events; how many were new."""
    try:
        events = _events.decode(msg.payload)
    except msgspec.DecodeError:
        log.error("SendGrid batch is not a JSON array of objects; ignored")
        return 0
    applied = 0
    for event in events:
        event_id, kind = str(event.get("sg_event_id") or ""), str(event.get("event") or "")
        if not event_id or not await store.first_event(conn, event_id, kind, now):
            continue
        applied += 1
        await _apply(conn, event, kind, now)
    return applied


async def _apply(conn: asyncpg.Connection, event: dict[str, Any], kind: str, now: datetime) -> None:
    email = str(event.get("email") or "")
    reason = str(event.get("reason") or event.get("response") or "")
    if email and (why := domain.suppression_for(kind, reason)) is not None:
        await store.suppress(conn, email, why, now)
    if email and kind in ("unsubscribe", "group_unsubscribe"):
        await store.suppress(conn, email, "unsubscribe", now)
        await people.withdraw_marketing(conn, email, now)
    status = domain.SENDGRID_STATUS.get(kind)
    if status is None:
        return
    found = await _find(conn, event)
    if found is not None:
        detail = f"{kind}: {reason}" if reason else kind
        error = detail if status in domain.FINAL_FAILURES else None
        await move(conn, found.delivery_id, status, now, detail=detail, error=error)


async def _find(conn: asyncpg.Connection, event: dict[str, Any]) -> store.Delivery | None:
    delivery_id = event.get("delivery_id")
    if isinstance(delivery_id, str) and (d := await store.delivery(conn, delivery_id)):
        return d
    message_id = event.get("sg_message_id")
    if isinstance(message_id, str) and message_id:
        return await store.delivery_by_provider(conn, message_id)
    return None


async def whatsapp_statuses(
    conn: asyncpg.Connection, statuses: tuple[str, ...], now: datetime
) -> int:
    """Apply ``"<wamid>:<status>"`` statuses to the deliveries with those wamids."""
    applied = 0
    for item in statuses:
        wamid, _, kind = item.rpartition(":")
        status = domain.WHATSAPP_STATUS.get(kind)
        if not wamid or status is None:
            continue
        if not await store.first_event(conn, f"wa:{item}", kind, now):
            continue
        found = await store.delivery_by_provider(conn, wamid)
        if found is not None and found.channel == "whatsapp":
            applied += 1
            await move(conn, found.delivery_id, status, now, detail=f"whatsapp {kind}")
    return applied
