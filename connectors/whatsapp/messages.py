"""Messages of the WhatsApp connector.

The notifications context asks for a message with :class:`SendWhatsApp` (an approved template,
or free text inside the 24-hour customer-service window, which notifications decides from the
chat history); the connector answers with :class:`WhatsAppAccepted` (Meta's ``wamid``) or
:class:`WhatsAppFailed` (Meta's error ``code`` mapped to a ``reason``). ``delivery_id`` is the
hub's id of that one message: the connector sends a ``delivery_id`` at most once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from hub.messages import Command, Event

FailureReason = Literal[
    "throughput",  # 130429: the number's messages/s exceeded
    "pair_rate_limit",  # 131056: too many to the same user too fast
    "re_engagement",  # 131047: free text outside the 24-hour window
    "invalid_recipient",  # 100/131026/133010-like: not on WhatsApp, undeliverable
    "template",  # 132000/132001: template missing or parameters wrong
    "auth",  # 0/10/190: token or permission
    "rejected",  # any other 4xx
    "unavailable",  # 5xx, timeouts, breaker open past the retries
]


class SendWhatsApp(Command, tag="whatsapp.SendWhatsApp"):
    """Send one WhatsApp message (``POST /{version}/{phone_number_id}/messages``).

    ``template`` set: a template message (``language``, body ``parameters`` in order); otherwise
    ``text`` is sent as free text (``reply_to``: the inbound wamid it answers).
    """

    delivery_id: str
    to: str  # E.164 digits without "+", e.g. "40744123456"
    template: str | None = None
    language: str = "ro"
    parameters: tuple[str, ...] = ()
    text: str | None = None
    reply_to: str | None = None


class WhatsAppAccepted(Event, tag="whatsapp.WhatsAppAccepted"):
    """Meta accepted the message; statuses (sent, delivered, read, failed) follow by webhook."""

    delivery_id: str
    wamid: str
    wa_id: str  # the recipient's WhatsApp id as Meta resolved it
    accepted_at: datetime


class WhatsAppFailed(Event, tag="whatsapp.WhatsAppFailed"):
    """The message was not accepted and the connector will not try it again."""

    delivery_id: str
    reason: FailureReason
    permanent: bool
    code: int | None = None  # Meta's error code
    detail: str = ""


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


WhatsAppMessage = WebhookReceived | SendWhatsApp | WhatsAppAccepted | WhatsAppFailed
