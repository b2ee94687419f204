"""The notifications contract: what other contexts ask to tell a customer or the staff.

A request carries ``notification_key``, the business event it is about
(``quotation:<id>:expiring``): a request with a key already handled is not sent again, whatever
retries or restarts happen upstream. ``data`` holds the template's values as JSON (money as
strings). The notifications context (its own issue) picks channels from the customer's
preferences and consent unless ``channels`` narrows them.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from hub.messages import Command

Channel = Literal["email", "whatsapp", "in_app"]
Language = Literal["ro", "en"]


class Attachment(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A file that goes with the email (an invoice PDF): ``content`` is Base64 in JSON."""

    filename: str
    content_type: str
    content: bytes


class NotifyCustomer(Command, tag="notifications.NotifyCustomer"):
    """Tell a customer something with one of the templates (``quotation_expiring``, ...)."""

    notification_key: str
    template: str
    data: dict[str, Any]
    customer_id: str | None = None
    email: str | None = None  # where to write when the customer is not known to the hub
    phone: str | None = None
    language: Language = "ro"
    channels: tuple[Channel, ...] = ()  # empty: as the customer's preferences say
    attachments: tuple[Attachment, ...] = ()  # email only (invoice or proforma PDF)


class RetryDelivery(Command, tag="notifications.RetryDelivery"):
    """Timer: send a notification again on ``channel`` after a failure that sent nothing."""

    notification_id: str
    channel: Channel
    attempt: int  # the attempt this retry is (2 = the first retry)


NotificationsMessage = NotifyCustomer | RetryDelivery
