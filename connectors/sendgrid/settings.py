"""Settings of the SendGrid connector: table ``[sendgrid]``, variables ``CYPHER_SENDGRID_*``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta

from hub.settings import Positive, Secret, load


class SendGridSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the SendGrid connector needs.

    ``webhook_public_key`` (``CYPHER_SENDGRID_WEBHOOK_PUBLIC_KEY``): the Event Webhook's
    verification key exactly as SendGrid shows it (Base64 DER SubjectPublicKeyInfo, the
    ``public_key`` of ``GET /v3/user/webhooks/event/settings/signed/{id}``). Unset, deliveries are
    refused with 503 naming this setting.

    ``webhook_timestamp_tolerance`` (``CYPHER_SENDGRID_WEBHOOK_TIMESTAMP_TOLERANCE``): seconds a
    signed timestamp may be away from our clock. SendGrid sets no such limit: 300 is our own
    policy against replayed captures. Whether SendGrid's retries (up to 24 h) carry a fresh
    timestamp is not documented; if ``hub_webhook_rejected_total{source="sendgrid",
    reason="timestamp"}`` grows, raise this (86400 covers the whole retry window).

    ``api_key`` (``CYPHER_SENDGRID_API_KEY``): the Mail Send API key (``Authorization: Bearer``).
    Unset, ``SendEmail`` waits (retried) and the log names this setting; production needs it.

    ``base_url``: ``https://api.sendgrid.com`` (EU regional subusers:
    ``https://api.eu.sendgrid.com``; sandbox mode: the simulator's URL, e.g. ``http://127.0.0.1:8025``).

    ``from_email``, ``from_name``: the sender; the address must be a verified Sender Identity
    (SendGrid answers 403 otherwise) and plain ASCII (SendGrid refuses Unicode in ``from``).

    ``timeout``: seconds for one Mail Send request. A timeout is an *unknown outcome* (SendGrid
    may have queued the email), reconciled from the Event Webhook, never blindly retried.

    ``per_second``, ``burst``: the client-side limit on Mail Send requests, shared by every hub
    process through Redis. SendGrid's mail/send limit is not published; 429 is retried anyway.

    ``attempts``: Mail Send requests made at once for a 429/5xx answer before the delivery waits
    on a durable timer (``retry_backoff`` doubling up to ``retry_max_backoff`` seconds, or
    SendGrid's ``Retry-After``); after ``give_up_after`` seconds of failures the connector emits
    ``EmailFailed(permanent=False)``.

    ``reconcile_after``: seconds to wait for an Event Webhook event of an email whose request
    timed out or lost its response before sending it again (docs/SENDGRID.md).

    ``breaker_fail_max``, ``breaker_reset_timeout``: consecutive 5xx/timeouts that open the
    ``sendgrid`` circuit breaker, and seconds before it lets one trial request through.
    """

    webhook_public_key: str | None = None
    webhook_timestamp_tolerance: Annotated[int, Meta(ge=1)] = 300
    api_key: Secret | None = None
    base_url: str = "https://api.sendgrid.com"
    from_email: str = "comenzi@ledux.ro"
    from_name: str = "Ledux.ro"
    timeout: Positive = 10.0
    per_second: Positive = 10.0
    burst: Annotated[int, Meta(ge=1)] = 5
    attempts: Annotated[int, Meta(ge=1, le=10)] = 3
    retry_backoff: Positive = 5.0
    retry_max_backoff: Positive = 300.0
    give_up_after: Positive = 86400.0
    reconcile_after: Positive = 600.0
    breaker_fail_max: Annotated[int, Meta(ge=1)] = 5
    breaker_reset_timeout: Positive = 30.0


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> SendGridSettings:
    """Load ``[sendgrid]`` from the config file and ``CYPHER_SENDGRID_*``."""
    return load(SendGridSettings, section="sendgrid", config_path=config_path, environ=environ)
