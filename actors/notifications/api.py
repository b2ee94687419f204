"""The notifications' routes (``actors.notifications.api:api``): the portal's in-app messages,
the staff's view of a notification's deliveries, and customers' preferences.

A B2B customer reaches only its own messages and preferences; another customer's answer exactly
like missing ones (404).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from actors.notifications import people, store
from actors.notifications.api_views import (
    DeliveryView,
    InAppQuery,
    InAppView,
    NotificationView,
    PreferencesBody,
    PreferencesView,
)
from actors.notifications.domain import Recipient
from actors.notifications.phones import normalise
from hub.auth import Role
from hub.edge.api import STAFF, Api, ApiError, Call, FieldError, Page, decode_cursor, encode_cursor
from hub.errors import NotFound

api = Api("notifications")
READERS = {*STAFF, Role.b2b_customer}


def _view(item: people.InApp) -> InAppView:
    return InAppView(**{f: getattr(item, f) for f in InAppView.__struct_fields__})


async def in_app_owner(call: Call[Any, Any]) -> str | None:
    """The customer an in-app message belongs to."""
    async with call.db.pool.acquire() as conn:
        item = await people.in_app(conn, call.param("id"))
    return item.customer_id if item else None


async def customer_owner(call: Call[Any, Any]) -> str | None:
    """The customer in the path is its own owner."""
    return call.param("id")


@api.get(
    "/api/v1/notifications",
    name="notifications.list",
    roles=READERS,
    summary="List in-app notifications",
    query=InAppQuery,
    response=list[InAppView],
)
async def list_in_app(call: Call[None, InAppQuery]) -> Page[InAppView]:
    """Newest first. A B2B customer gets its own; staff may filter by ``customer_id``."""
    q = call.query
    scope = call.customer_scope or q.customer_id
    before = decode_cursor(q.cursor, str)[0] if q.cursor else None
    async with call.db.pool.acquire() as conn:
        rows = await people.in_app_page(
            conn, scope, before=before, limit=q.limit + 1, unread=q.unread
        )
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    return Page([_view(r) for r in rows], encode_cursor(rows[-1].id) if more else None)


@api.post(
    "/api/v1/notifications/{id}/read",
    name="notifications.read",
    roles=READERS,
    summary="Mark an in-app notification read",
    response=InAppView,
    owner=in_app_owner,
    entity="notification",
)
async def mark_read(call: Call[None, None]) -> InAppView:
    """The first reading is kept; marking it again changes nothing."""
    item_id = call.param("id")
    call.audit(entity_id=item_id)
    async with call.transaction() as conn:
        item = await people.mark_read(conn, item_id, datetime.now(UTC))
    if item is None:
        raise NotFound(f"no notification {item_id!r}")
    return _view(item)


@api.get(
    "/api/v1/notifications/{id}/deliveries",
    name="notifications.deliveries",
    roles=STAFF,
    summary="Show a notification's deliveries",
    response=NotificationView,
    entity="notification",
)
async def deliveries(call: Call[None, None]) -> NotificationView:
    """By the notification's id or its key (``order:<id>:confirmed``): each channel, its
    provider's id, its status history and its error."""
    async with call.db.pool.acquire() as conn:
        found = await store.notification(conn, call.param("id"))
        if found is None:
            raise NotFound(f"no notification {call.param('id')!r}")
        rows = await store.deliveries(conn, found.id)
    return NotificationView(
        **{f: getattr(found, f) for f in store.Notification.__struct_fields__},
        deliveries=[msgspec.convert(r, DeliveryView, from_attributes=True) for r in rows],
    )


def _prefs(r: Recipient) -> PreferencesView:
    return PreferencesView(**{f: getattr(r, f) for f in PreferencesView.__struct_fields__})


@api.get(
    "/api/v1/customers/{id}/preferences",
    name="notifications.preferences",
    roles=READERS,
    summary="Show a customer's notification preferences",
    response=PreferencesView,
    owner=customer_owner,
    entity="customer",
)
async def get_preferences(call: Call[None, None]) -> PreferencesView:
    """A customer never saved has the defaults: email and in-app, no WhatsApp, no marketing."""
    customer_id = call.param("id")
    async with call.db.pool.acquire() as conn:
        found = await people.recipient(conn, customer_id)
    return _prefs(found or Recipient(customer_id=customer_id, email=None, phone=None))


@api.put(
    "/api/v1/customers/{id}/preferences",
    name="notifications.preferences_save",
    roles={Role.admin, Role.sales, Role.ops, Role.b2b_customer},
    summary="Save a customer's notification preferences",
    body=PreferencesBody,
    response=PreferencesView,
    owner=customer_owner,
    entity="customer",
)
async def put_preferences(call: Call[PreferencesBody, None]) -> PreferencesView:
    """The phone is stored in E.164 digits (``0744 123 456`` → ``40744123456``); WhatsApp
    opt-in needs a phone, email enabled needs an address. A phone another customer holds is a
    409 ``phone_taken``: the phone opens its holder's WhatsApp conversation."""
    b, customer_id = call.body, call.param("id")
    try:
        phone = normalise(b.phone) if b.phone else None
    except ValueError as exc:
        raise _invalid("phone", str(exc)) from exc
    if b.whatsapp_opt_in and phone is None:
        raise _invalid("phone", "WhatsApp opt-in needs a phone number")
    recipient = Recipient(
        customer_id=customer_id,
        email=b.email.lower() if b.email else None,
        phone=phone,
        language=b.language,
        email_enabled=b.email_enabled,
        whatsapp_opt_in=b.whatsapp_opt_in,
        in_app_enabled=b.in_app_enabled,
        marketing_consent=b.marketing_consent,
    )
    async with call.transaction() as conn:
        before = await people.recipient(conn, customer_id)
        call.audit(
            entity_id=customer_id,
            before=msgspec.to_builtins(before) if before else None,
            after=msgspec.to_builtins(recipient),
        )
        try:
            await people.save_recipient(conn, recipient, datetime.now(UTC))
        except people.PhoneTaken as exc:
            raise ApiError(
                409, exc.code, str(exc), details=[FieldError(field="phone", message=str(exc))]
            ) from None
    return _prefs(recipient)


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(
        422, "validation_error", message, details=[FieldError(field=field, message=message)]
    )
