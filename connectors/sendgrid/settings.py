"""Settings of the SendGrid connector: table ``[sendgrid]``, variables ``CYPHER_SENDGRID_*``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta

from hub.settings import load


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
    """

    webhook_public_key: str | None = None
    webhook_timestamp_tolerance: Annotated[int, Meta(ge=1)] = 300


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> SendGridSettings:
    """Load ``[sendgrid]`` from the config file and ``CYPHER_SENDGRID_*``."""
    return load(SendGridSettings, section="sendgrid", config_path=config_path, environ=environ)
