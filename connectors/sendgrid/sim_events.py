"""Event Webhook batches as SendGrid builds and signs them (used by the simulator).

Events carry the email's custom args as top-level keys, a unique Base64url ``sg_event_id`` and
an ``sg_message_id`` that starts with the Mail Send ``X-Message-Id`` followed by a filter
suffix. A batch is signed over ``timestamp + raw body`` with ECDSA/SHA-256 (Base64 DER).
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

import msgspec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"

_DETAILS: dict[str, dict[str, Any]] = {
    "bounce": {"type": "bounce", "status": "5.1.1", "reason": "550 5.1.1 user unknown"},
    "dropped": {"reason": "Bounced Address"},
    "click": {"url": "https://ledux.ro/", "useragent": "Mozilla/5.0", "ip": "192.0.2.1"},
    "open": {"useragent": "Mozilla/5.0", "ip": "192.0.2.1"},
}


def build_events(
    *,
    email: str,
    message_id: str,
    categories: list[str],
    custom_args: dict[str, str],
    kinds: tuple[str, ...],
    extra: dict[str, Any],
) -> list[dict[str, Any]]:
    """One event per kind (processed, delivered, bounce, dropped, open, click, ...)."""
    events = []
    for kind in kinds:
        event: dict[str, Any] = {
            "email": email,
            "timestamp": int(time.time()),
            "event": kind,
            "sg_event_id": base64.urlsafe_b64encode(secrets.token_bytes(24)).decode(),
            "sg_message_id": f"{message_id}.filterdrecv-{secrets.token_hex(4)}.1.0",
            "smtp-id": f"<{message_id}@ismtpd0001p1lon1.sendgrid.net>",
            "category": categories,
            **custom_args,
            **_DETAILS.get(kind, {}),
        }
        events.append(event | extra)
    return events


def sign_batch(
    key: ec.EllipticCurvePrivateKey, events: list[dict[str, Any]], timestamp: int | None = None
) -> tuple[dict[str, str], bytes]:
    """The headers and raw body of a signed batch."""
    body = msgspec.json.encode(events)
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    headers = {
        SIGNATURE: base64.b64encode(signature).decode("ascii"),
        TIMESTAMP: stamp,
        "Content-Type": "application/json",
        "User-Agent": "SendGrid Event API",
    }
    return headers, body
