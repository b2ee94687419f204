"""Helpers of the SendGrid connector tests: a recorder of its events, emails to send."""

from __future__ import annotations

from typing import Any

import asyncpg

from connectors.sendgrid import webhooks
from connectors.sendgrid.messages import Attachment, EmailAccepted, EmailFailed, SendEmail
from connectors.sendgrid.simulator import SendGridSimulator
from hub.actor import Actor, Context, handler
from hub.bootstrap import Hub
from hub.messages import Envelope, Message, encode
from tests.support import eventually

PDF = b"%PDF-1.7\n% factura LDX-2026-00042\n" + bytes(range(256))


class Outcomes(Actor, name="sendgrid-outcomes"):
    """What the connector announced, as the notifications context would receive it."""

    def __init__(self) -> None:
        self.accepted: list[EmailAccepted] = []
        self.failed: list[EmailFailed] = []

    @handler
    async def record(self, msg: EmailAccepted | EmailFailed, ctx: Context) -> None:
        if isinstance(msg, EmailAccepted):
            self.accepted.append(msg)
        else:
            self.failed.append(msg)


def email(delivery_id: str, **kw: Any) -> SendEmail:
    """An invoice email with its PDF for a customer in Cluj."""
    fields: dict[str, Any] = {
        "delivery_id": delivery_id,
        "to_email": "ioana@lumina.ro",
        "to_name": "Ioana Popescu",
        "subject": "Factura LDX-2026-00042",
        "text": "Buna ziua, gasiti factura atasata.",
        "html": "<p>Buna ziua, gasiti factura atasata.</p>",
        "attachments": (
            Attachment(filename="LDX-2026-00042.pdf", content_type="application/pdf", content=PDF),
        ),
        "categories": ("invoice_issued",),
        "custom_args": {"notification_id": f"n-{delivery_id}"},
    }
    fields.update(kw)
    return SendEmail(**fields)


async def send(hub: Hub, message: Message) -> None:
    """Publish ``message`` on the hub's bus."""
    await hub.bus.publish(Envelope.new(message), encode(message))


async def state(conn: asyncpg.Connection, delivery_id: str) -> str | None:
    """The delivery's state in ``sendgrid_deliveries``."""
    value: str | None = await conn.fetchval(
        "SELECT state FROM sendgrid_deliveries WHERE delivery_id = $1", delivery_id
    )
    return value


async def webhook_batch(hub: Hub, sim: SendGridSimulator, events: list[dict[str, Any]]) -> None:
    """Sign ``events`` as SendGrid does, verify and translate them as the edge does, publish."""
    headers, body = sim.sign(events)
    webhooks.verifier(webhooks.load_public_key(sim.public_key), 300)(headers, body)
    batch: Message = webhooks.message(headers, body).message
    await send(hub, batch)


async def settled(outcomes: Outcomes, delivery_id: str) -> Any:
    """The first outcome announced for ``delivery_id``."""

    def found() -> Any:
        every: list[EmailAccepted | EmailFailed] = [*outcomes.accepted, *outcomes.failed]
        return next((m for m in every if m.delivery_id == delivery_id), None)

    return await eventually(found, what=f"an outcome for {delivery_id}")
