"""The notifications actor: requests and business events in, connector commands out, and the
connectors' answers and the providers' events applied to the deliveries."""

from __future__ import annotations

import logging
from datetime import timedelta

from actors.inventory.messages import LowStockDigest
from actors.notifications import chat, outcomes, sending, triggers
from actors.notifications.messages import NotifyCustomer, RetryDelivery
from actors.notifications.rendering import Renderer
from actors.notifications.settings import NotificationsSettings, load_settings
from actors.orders.messages import OrderPlaced, OrderStateChanged, ShipmentSent
from actors.quotations.messages import QuotationStatusChanged
from connectors.sendgrid.messages import EmailAccepted, EmailFailed, EventsReceived
from connectors.whatsapp.messages import WebhookReceived, WhatsAppAccepted, WhatsAppFailed
from hub.actor import Actor, Context, handler
from hub.bootstrap import Resources

log = logging.getLogger(__name__)


class NotificationsActor(Actor, name="notifications"):
    """Tells customers and staff what happened, by email, WhatsApp and in the portal."""

    def __init__(self, settings: NotificationsSettings) -> None:
        self.settings = settings
        self.renderer = Renderer(settings.templates_dir)

    async def _notify(self, req: NotifyCustomer | None, ctx: Context) -> None:
        if req is None:
            return
        emits = await sending.notify(ctx.conn, req, renderer=self.renderer, now=ctx.now)
        for message, key in emits:
            ctx.emit(message, key=key)

    @handler
    async def notify(self, msg: NotifyCustomer, ctx: Context) -> None:
        await self._notify(msg, ctx)

    @handler
    async def retry(self, msg: RetryDelivery, ctx: Context) -> None:
        emits = await sending.retry(
            ctx.conn,
            msg.notification_id,
            msg.channel,
            msg.attempt,
            renderer=self.renderer,
            now=ctx.now,
        )
        for message, key in emits:
            ctx.emit(message, key=key)

    def _schedule(self, retry: outcomes.Retry | None, ctx: Context) -> None:
        if retry is None or retry.attempt >= self.settings.retry_attempts:
            return
        delay = self.settings.retry_backoff * 2 ** (retry.attempt - 1)
        nxt = RetryDelivery(
            notification_id=retry.notification_id, channel=retry.channel, attempt=retry.attempt + 1
        )
        name = sending.delivery_id(retry.notification_id, retry.channel, retry.attempt + 1)
        ctx.schedule(nxt, at=ctx.now + timedelta(seconds=delay), name=f"notification:{name}")

    @handler
    async def email_accepted(self, msg: EmailAccepted, ctx: Context) -> None:
        await outcomes.email_accepted(ctx.conn, msg, ctx.now)

    @handler
    async def email_failed(self, msg: EmailFailed, ctx: Context) -> None:
        self._schedule(await outcomes.email_failed(ctx.conn, msg, ctx.now), ctx)

    @handler
    async def whatsapp_accepted(self, msg: WhatsAppAccepted, ctx: Context) -> None:
        if await chat.on_accepted(ctx.conn, msg):
            return  # a staff reply of the chat
        await outcomes.whatsapp_accepted(ctx.conn, msg, ctx.now)

    @handler
    async def whatsapp_failed(self, msg: WhatsAppFailed, ctx: Context) -> None:
        if await chat.on_failed(ctx.conn, msg):
            return  # a staff reply of the chat
        self._schedule(await outcomes.whatsapp_failed(ctx.conn, msg, ctx.now), ctx)

    @handler
    async def sendgrid_events(self, msg: EventsReceived, ctx: Context) -> None:
        await outcomes.sendgrid_events(ctx.conn, msg, ctx.now)

    @handler
    async def whatsapp_webhook(self, msg: WebhookReceived, ctx: Context) -> None:
        await outcomes.whatsapp_statuses(ctx.conn, msg.statuses, ctx.now)
        # inbound messages and the staff replies' statuses: the chat's
        for message in await chat.on_webhook(ctx.conn, msg, ctx.now):
            ctx.emit(message)

    @handler
    async def order_placed(self, msg: OrderPlaced, ctx: Context) -> None:
        await triggers.order_placed(ctx.conn, msg, self.settings.default_language)

    @handler
    async def order_state(self, msg: OrderStateChanged, ctx: Context) -> None:
        await self._notify(await triggers.order_state(ctx.conn, msg), ctx)

    @handler
    async def shipment_sent(self, msg: ShipmentSent, ctx: Context) -> None:
        await self._notify(await triggers.shipment_sent(ctx.conn, msg), ctx)

    @handler
    async def quotation_changed(self, msg: QuotationStatusChanged, ctx: Context) -> None:
        req = await triggers.quotation_sent(ctx.conn, msg, self.settings.default_language)
        await self._notify(req, ctx)

    @handler
    async def low_stock(self, msg: LowStockDigest, ctx: Context) -> None:
        digest = str(ctx.envelope.message_id)
        staff, lang = self.settings.staff_emails, self.settings.default_language
        for req in triggers.low_stock(msg, digest, staff, lang):
            await self._notify(req, ctx)


def factory(resources: Resources) -> Actor:
    """The notifications actor with the ``[notifications]`` settings."""
    return NotificationsActor(load_settings())
