"""The notifications contract: what other contexts ask to tell a customer or the staff.

A request carries ``notification_key``, the business event it is about
(``quotation:<id>:expiring``): a request with a key already handled is not sent again, whatever
retries or restarts happen upstream. ``data`` holds the template's values as JSON (money as
strings). The notifications context (its own issue) picks channels from the customer's
preferences and consent unless ``channels`` narrows them.
"""

from __future__ import annotations

from typing import Any, Literal

from hub.messages import Command

Channel = Literal["email", "whatsapp", "in_app"]
Language = Literal["ro", "en"]


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


NotificationsMessage = NotifyCustomer
