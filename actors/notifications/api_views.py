"""Request and response bodies of the notifications API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from hub.edge.api import ApiModel, PageQuery

Email = Annotated[str, msgspec.Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class InAppQuery(PageQuery):
    """Staff may narrow the list to one customer; a B2B customer always sees only its own."""

    customer_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    unread: bool = False


class InAppView(msgspec.Struct, kw_only=True):
    """An in-app notification."""

    id: str
    customer_id: str
    title: str
    body: str
    link: str | None
    created_at: datetime
    read_at: datetime | None


class DeliveryView(msgspec.Struct, kw_only=True):
    """One channel of a notification with its status history."""

    delivery_id: str
    channel: str
    address: str
    attempt: int
    status: str
    provider_id: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    history: list[dict[str, Any]]


class NotificationView(msgspec.Struct, kw_only=True):
    """A notification and what became of it on each channel."""

    id: str
    notification_key: str
    template: str
    customer_id: str | None
    language: str
    status: str
    reason: str | None
    created_at: datetime
    deliveries: list[DeliveryView]


class PreferencesBody(ApiModel):
    """A customer's contact details and consent (the whole set: what is left out is reset)."""

    email: Email | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    language: Literal["ro", "en"] = "ro"
    email_enabled: bool = True
    whatsapp_opt_in: bool = False
    in_app_enabled: bool = True
    marketing_consent: bool = False


class PreferencesView(msgspec.Struct, kw_only=True):
    """A customer's preferences; ``phone`` in E.164 digits."""

    customer_id: str
    email: str | None
    phone: str | None
    language: str
    email_enabled: bool
    whatsapp_opt_in: bool
    in_app_enabled: bool
    marketing_consent: bool
