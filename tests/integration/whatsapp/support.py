"""Helpers of the WhatsApp connector tests: a recorder of its events, a publisher."""

from __future__ import annotations

from typing import Any

from connectors.whatsapp.messages import WhatsAppAccepted, WhatsAppFailed
from hub.actor import Actor, Context, handler
from hub.bootstrap import Hub
from hub.messages import Envelope, Message, encode
from tests.support import eventually


class Outcomes(Actor, name="whatsapp-outcomes"):
    """What the connector announced, as the notifications context would receive it."""

    def __init__(self) -> None:
        self.seen: list[WhatsAppAccepted | WhatsAppFailed] = []

    @handler
    async def record(self, msg: WhatsAppAccepted | WhatsAppFailed, ctx: Context) -> None:
        self.seen.append(msg)


async def send(hub: Hub, message: Message) -> None:
    """Publish ``message`` on the hub's bus."""
    await hub.bus.publish(Envelope.new(message), encode(message))


async def settled(outcomes: Outcomes, delivery_id: str) -> Any:
    """The first outcome announced for ``delivery_id``."""

    def found() -> Any:
        return next((m for m in outcomes.seen if m.delivery_id == delivery_id), None)

    return await eventually(found, what=f"an outcome for {delivery_id}")
