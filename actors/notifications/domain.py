"""Pure rules of the notifications: which channels a notification goes to, and why not.

Consent (decided here, documented in docs/NOTIFICATIONS.md):

- ``transactional`` templates (an order, an invoice, a quote the customer asked for) go by email
  whenever the customer has email enabled and the address is not suppressed for a delivery
  reason (bounce, spam report, dropped). An *unsubscribe* only stops marketing: a customer who
  left the newsletter still gets the invoice they must receive.
- ``marketing`` templates also need ``marketing_consent`` and an address never unsubscribed.
- ``staff`` templates go by email only, to the staff addresses.
- WhatsApp needs a recorded opt-in and a phone; guests (no ``customer_id``) have no recorded
  opt-in, so they are written to by email only, and only with transactional templates.
- In-app needs a portal user (a ``customer_id``) with in-app enabled.
"""

from __future__ import annotations

from typing import Literal

import msgspec

Channel = Literal["email", "whatsapp", "in_app"]
Kind = Literal["transactional", "marketing", "staff"]
CHANNELS: tuple[Channel, ...] = ("email", "whatsapp", "in_app")
BLOCKING = frozenset({"bounce", "spamreport", "dropped"})  # suppress every email


class Recipient(msgspec.Struct, frozen=True, kw_only=True):
    """Where and how a customer may be written to (a guest: only what the request says)."""

    customer_id: str | None
    email: str | None
    phone: str | None  # E.164 digits
    language: str = "ro"
    email_enabled: bool = True
    whatsapp_opt_in: bool = False
    in_app_enabled: bool = True
    marketing_consent: bool = False


class Route(msgspec.Struct, frozen=True, kw_only=True):
    """One channel chosen, with the address it goes to."""

    channel: Channel
    address: str


class Choice(msgspec.Struct, frozen=True, kw_only=True):
    """The routes to use, and for each channel left out, why."""

    routes: tuple[Route, ...]
    skipped: dict[str, str]

    @property
    def reason(self) -> str:
        """Why nothing goes out (when ``routes`` is empty)."""
        return "; ".join(f"{k}: {v}" for k, v in self.skipped.items()) or "no channel asked for"


def choose(
    *,
    requested: tuple[Channel, ...],
    defaults: tuple[Channel, ...],
    kind: Kind,
    recipient: Recipient,
    suppression: str | None,
) -> Choice:
    """The channels a notification goes to. ``requested`` (when not empty) narrows the
    template's ``defaults``; ``suppression`` is the reason the email address is suppressed."""
    wanted = [c for c in defaults if not requested or c in requested]
    routes: list[Route] = []
    skipped: dict[str, str] = {}
    if kind == "marketing" and recipient.customer_id is None:
        return Choice(routes=(), skipped={"all": "marketing needs a known customer's consent"})
    for channel in wanted:
        address, why = _check(channel, kind, recipient, suppression)
        if address is None:
            skipped[channel] = why
        else:
            routes.append(Route(channel=channel, address=address))
    for channel in requested:
        if channel not in defaults:
            skipped[channel] = "the template has no such channel"
    return Choice(routes=tuple(routes), skipped=skipped)


def _check(
    channel: Channel, kind: Kind, r: Recipient, suppression: str | None
) -> tuple[str | None, str]:
    if channel == "email":
        if not r.email:
            return None, "no email address"
        if not r.email_enabled:
            return None, "email disabled by the customer"
        if suppression in BLOCKING:
            return None, f"address suppressed ({suppression})"
        if kind == "marketing" and (suppression is not None or not r.marketing_consent):
            return None, "no marketing consent"
        return r.email, ""
    if kind == "staff":
        return None, "staff notifications go by email only"
    if channel == "whatsapp":
        if r.customer_id is None:
            return None, "guests have no WhatsApp opt-in"
        if not r.whatsapp_opt_in:
            return None, "no WhatsApp opt-in"
        if not r.phone:
            return None, "no phone number"
        if kind == "marketing" and not r.marketing_consent:
            return None, "no marketing consent"
        return r.phone, ""
    if r.customer_id is None:
        return None, "in-app needs a portal user"
    if not r.in_app_enabled:
        return None, "in-app disabled by the customer"
    return r.customer_id, ""


STATUS_RANK: dict[str, int] = {
    "requested": 0,
    "accepted": 1,
    "deferred": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
    "opened": 5,
    "clicked": 6,
}
FINAL_FAILURES = frozenset({"failed", "bounced", "dropped", "spam"})


def advances(current: str, new: str) -> bool:
    """True if a delivery at ``current`` may move to ``new``: statuses only move forward (a late
    ``processed`` never undoes ``delivered``); a failure ends a delivery not yet delivered; a
    spam report may follow delivery."""
    if current == new:
        return False
    if new == "spam":
        return True
    if current in FINAL_FAILURES:
        return False
    if new in FINAL_FAILURES:
        return STATUS_RANK.get(current, 0) < STATUS_RANK["delivered"]
    return STATUS_RANK.get(new, 0) > STATUS_RANK.get(current, 0)


SENDGRID_STATUS: dict[str, str] = {
    "processed": "accepted",
    "deferred": "deferred",
    "delivered": "delivered",
    "open": "opened",
    "click": "clicked",
    "bounce": "bounced",
    "dropped": "dropped",
    "spamreport": "spam",
}
WHATSAPP_STATUS: dict[str, str] = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "failed": "failed",
}
BOUNCE_WORDS = ("bounce", "invalid", "unsubscribed", "spam")


def suppression_for(event: str, reason: str) -> str | None:
    """The suppression a SendGrid event causes: bounce and spam report always; dropped only for
    reasons that say the address is bad (a dropped for a size limit says nothing about it)."""
    if event in ("bounce", "spamreport"):
        return event
    if event == "dropped" and any(w in reason.lower() for w in BOUNCE_WORDS):
        return "dropped"
    return None
