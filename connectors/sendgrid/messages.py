"""Messages of the SendGrid connector."""

from __future__ import annotations

import msgspec

from hub.messages import Event


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


SendGridMessage = EventsReceived
