"""Turning a request into deliveries: dedupe by key, choose channels, render, record, emit.

Everything happens in the handler's transaction: the notification row (its unique key makes a
repeated request a no-op), one delivery row per channel *before* the connector is asked (the
``SendEmail`` / ``SendWhatsApp`` go through the outbox on commit), in-app messages stored
directly. A request that cannot be rendered is recorded ``failed`` with the reason, never
retried and never crashes the actor.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from actors.notifications import domain, people, store
from actors.notifications.messages import NotifyCustomer
from actors.notifications.phones import maybe
from actors.notifications.rendering import Rendered, Renderer, RenderError
from connectors.sendgrid.messages import Attachment, SendEmail
from connectors.whatsapp.messages import SendWhatsApp
from hub.ids import uuid7
from hub.messages import Message

Emit = list[tuple[Message, str]]


def delivery_id(notification_id: str, channel: str, attempt: int) -> str:
    """The id of one attempt on one channel (the connectors send an id at most once)."""
    return f"{notification_id}.{channel}.{attempt}"


async def recipient_for(conn: asyncpg.Connection, req: NotifyCustomer) -> domain.Recipient:
    """The stored preferences of a known customer, else what the request says (a guest, or a
    customer whose preferences were never saved: transactional defaults)."""
    stored = await people.recipient(conn, req.customer_id) if req.customer_id else None
    if stored is not None:
        return domain.Recipient(
            **{
                **{f: getattr(stored, f) for f in domain.Recipient.__struct_fields__},
                "email": stored.email or req.email,
                "phone": stored.phone or maybe(req.phone),
            }
        )
    return domain.Recipient(
        customer_id=req.customer_id,
        email=req.email,
        phone=maybe(req.phone),
        language=req.language,
    )


async def notify(
    conn: asyncpg.Connection,
    req: NotifyCustomer,
    *,
    renderer: Renderer,
    now: datetime,
) -> Emit:
    """Handle one request; what to emit (nothing for a key seen before)."""
    nid = str(uuid7())
    if not await store.claim(conn, nid, req, req.language, now):
        return []
    recipient = await recipient_for(conn, req)
    try:
        spec = renderer.spec(req.template)
        rendered = renderer.render(req.template, req.language, req.data)
    except RenderError as exc:
        await store.conclude(conn, nid, "failed", str(exc))
        return []
    choice = domain.choose(
        requested=req.channels,
        defaults=spec.channels,
        kind=spec.kind,
        recipient=recipient,
        suppression=await store.suppression(conn, recipient.email),
    )
    if not choice.routes:
        await store.conclude(conn, nid, "skipped", choice.reason)
        return []
    out: Emit = []
    for route in choice.routes:
        out += await dispatch(conn, nid, req, route, rendered, attempt=1, now=now)
    return out


async def dispatch(
    conn: asyncpg.Connection,
    nid: str,
    req: NotifyCustomer,
    route: domain.Route,
    rendered: Rendered,
    *,
    attempt: int,
    now: datetime,
) -> Emit:
    """Record one delivery and return the connector command for it (in-app: stored now)."""
    did = delivery_id(nid, route.channel, attempt)
    status = "delivered" if route.channel == "in_app" else "requested"
    await store.add_delivery(
        conn,
        delivery_id=did,
        notification_id=nid,
        channel=route.channel,
        address=route.address,
        attempt=attempt,
        status=status,
        now=now,
    )
    if route.channel == "in_app":
        item = people.InApp(
            id=str(uuid7()),
            customer_id=route.address,
            title=rendered.subject,
            body=rendered.text,
            link=rendered.link,
            created_at=now,
            read_at=None,
        )
        await people.add_in_app(conn, item, did)
        return []
    if route.channel == "whatsapp":
        # business-initiated: always the approved template, valid inside or outside the 24-hour
        # window (free text is the chat module's, for staff replies)
        if rendered.whatsapp_template is None:
            await store.set_status(conn, did, "failed", now, error="no WhatsApp template")
            return []
        wa = SendWhatsApp(
            delivery_id=did,
            to=route.address,
            template=rendered.whatsapp_template,
            language=req.language,
            parameters=rendered.whatsapp_parameters,
        )
        return [(wa, did)]
    email = SendEmail(
        delivery_id=did,
        to_email=route.address,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        attachments=tuple(
            Attachment(filename=a.filename, content_type=a.content_type, content=a.content)
            for a in req.attachments
        ),
        categories=(req.template,),
        custom_args={"notification_id": nid},
    )
    return [(email, did)]


async def retry(
    conn: asyncpg.Connection,
    nid: str,
    channel: domain.Channel,
    attempt: int,
    *,
    renderer: Renderer,
    now: datetime,
) -> Emit:
    """Send a notification again on one channel, as a new delivery, if it still may go there."""
    if await store.delivery(conn, delivery_id(nid, channel, attempt)) is not None:
        return []
    req = await store.request(conn, nid)
    recipient = await recipient_for(conn, req)
    spec = renderer.spec(req.template)
    choice = domain.choose(
        requested=(channel,),
        defaults=spec.channels,
        kind=spec.kind,
        recipient=recipient,
        suppression=await store.suppression(conn, recipient.email),
    )
    routes = [r for r in choice.routes if r.channel == channel]
    if not routes:
        return []
    rendered = renderer.render(req.template, req.language, req.data)
    return await dispatch(conn, nid, req, routes[0], rendered, attempt=attempt, now=now)
