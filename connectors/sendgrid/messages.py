"""Messages of the SendGrid connector.

The notifications context asks for an email with :class:`SendEmail`; the connector answers with
:class:`EmailAccepted` (SendGrid queued it: 202 and its ``X-Message-Id``) or :class:`EmailFailed`.
``delivery_id`` is the hub's id of that one email: the connector sends a ``delivery_id`` at most
once, whatever retries happen, and SendGrid echoes it back in every event (``custom_args``).
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from hub.messages import Command, Event


class Attachment(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A file sent with the email (``content``: the bytes, Base64 in JSON)."""

    filename: str
    content_type: str  # "application/pdf"
    content: bytes


class SendEmail(Command, tag="sendgrid.SendEmail"):
    """Send one email through SendGrid's Mail Send (``POST /v3/mail/send``)."""

    delivery_id: str  # at most one email per id, echoed back as custom_args.delivery_id
    to_email: str
    subject: str
    text: str
    html: str
    to_name: str | None = None
    attachments: tuple[Attachment, ...] = ()
    categories: tuple[str, ...] = ()  # e.g. the template name
    custom_args: dict[str, str] = {}  # delivery_id is added by the connector


class EmailAccepted(Event, tag="sendgrid.EmailAccepted"):
    """SendGrid accepted the email (202): queued, not yet delivered."""

    delivery_id: str
    message_id: str  # the X-Message-Id header; events carry it as the start of sg_message_id
    accepted_at: datetime


class EmailFailed(Event, tag="sendgrid.EmailFailed"):
    """The email was not accepted and will not be tried again by the connector.

    ``permanent``: SendGrid refused it (4xx other than 429): retrying the same request cannot
    help. Otherwise the connector gave up after its retries (outage, breaker open too long).
    """

    delivery_id: str
    reason: str
    permanent: bool
    status: int | None = None  # SendGrid's HTTP status, when it answered


class EventsReceived(
    Event, tag="sendgrid.EventsReceived", frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """SendGrid delivered a verified batch of email events (delivered, bounce, open, ...).

    ``payload`` is the JSON array as sent. SendGrid may send an event again, possibly in another
    batch: consumers deduplicate per ``sg_event_id``.
    """

    event_ids: tuple[str, ...]  # sg_event_id of each event, in payload order
    events: int  # how many events the batch holds
    payload: msgspec.Raw


SendGridMessage = EventsReceived | SendEmail | EmailAccepted | EmailFailed
