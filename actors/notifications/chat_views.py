"""The shapes the WhatsApp chat reads and answers: Meta's notification (only what the chat
keeps; anything else in it is ignored) and the bodies of the chat routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from hub.edge.api import ApiModel, PageQuery


class ChatQuery(PageQuery):
    """Oldest message first; ``cursor`` continues after the previous page."""


class ReplyBody(ApiModel):
    """A staff member's free-text answer, inside the customer's 24-hour window."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]


class ChatMessageView(ApiModel):
    """One message: ``in`` from the customer, ``out`` a staff reply with its delivery status."""

    id: str
    direction: str
    type: str
    text: str
    at: datetime
    wamid: str | None = None
    reply_to: str | None = None
    status: str | None = None  # replies: queued, sent, delivered, read, failed
    status_at: datetime | None = None
    error: str | None = None
    author: str | None = None


class WindowView(ApiModel):
    """Whether free text may be sent now, and until when (None: the customer never wrote)."""

    open: bool
    open_until: datetime | None = None


class ConversationView(ApiModel):
    """A customer's WhatsApp conversation: one page of messages and the window's state."""

    customer_id: str
    phone: str | None
    contact_name: str | None
    whatsapp_opt_in: bool
    window: WindowView
    messages: list[ChatMessageView]


class ReplyAccepted(ApiModel):
    """The reply is stored and queued for sending; follow its status in the conversation."""

    message_id: str
    delivery_id: str
    status: str = "queued"


# ---- Meta's notification -----------------------------------------------------------------


class MetaText(msgspec.Struct):
    body: str = ""


class MetaCaption(msgspec.Struct):
    caption: str | None = None


class MetaContext(msgspec.Struct):
    id: str | None = None


class MetaButton(msgspec.Struct):
    text: str | None = None


class InboundMessage(msgspec.Struct):
    """One of ``messages[]``: what the customer sent (media only by type and caption)."""

    id: str | None = None
    from_: str | None = msgspec.field(default=None, name="from")
    timestamp: str | None = None
    type: str = "unknown"
    text: MetaText | None = None
    button: MetaButton | None = None
    image: MetaCaption | None = None
    video: MetaCaption | None = None
    document: MetaCaption | None = None
    context: MetaContext | None = None


class MetaError(msgspec.Struct):
    code: int | None = None
    title: str | None = None
    message: str | None = None


class MetaStatus(msgspec.Struct):
    id: str | None = None
    status: str | None = None
    timestamp: str | None = None
    errors: list[MetaError] = []


class MetaProfile(msgspec.Struct):
    name: str | None = None


class MetaContact(msgspec.Struct):
    wa_id: str | None = None
    profile: MetaProfile | None = None


class MetaValue(msgspec.Struct):
    contacts: list[MetaContact] = []
    messages: list[InboundMessage] = []
    statuses: list[MetaStatus] = []


class MetaChange(msgspec.Struct):
    value: MetaValue | None = None


class MetaEntry(msgspec.Struct):
    changes: list[MetaChange] = []


class MetaNotification(msgspec.Struct):
    """``{"object", "entry": [{"changes": [{"field", "value"}]}]}`` as Meta posts it."""

    entry: list[MetaEntry] = []
