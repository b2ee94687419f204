"""Messages of the WhatsApp connector."""

from __future__ import annotations

import msgspec

from hub.messages import Event


class WebhookReceived(
    Event, tag="whatsapp.WebhookReceived", frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """Meta delivered a verified WhatsApp notification: inbound messages, statuses or errors.

    ``payload`` is the notification as sent (``{"object": "whatsapp_business_account",
    "entry": [{"changes": [{"field", "value"}]}]}``); the ids are lifted out for routing.
    """

    phone_number_ids: tuple[str, ...]  # our business numbers the notification is about
    message_ids: tuple[str, ...]  # inbound messages (wamid...)
    statuses: tuple[str, ...]  # "<wamid>:<sent|delivered|read|failed>"
    contact: str | None  # the customer's wa_id, when the notification concerns exactly one
    payload: msgspec.Raw


WhatsAppMessage = WebhookReceived
