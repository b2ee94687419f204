"""SendGrid's signed Event Webhook at ``POST /webhooks/sendgrid``.

SendGrid signs ``timestamp header + raw body`` with ECDSA over SHA-256 (the official helper:
``(timestamp + payload).encode("utf-8")``); the signature is Base64 DER in
``X-Twilio-Email-Event-Webhook-Signature``, the timestamp in ``…-Timestamp``. The curve is the
verification key's (P-256 as SendGrid issues them). The body is a JSON array of events; a batch
sent again is recognised by its sorted ``sg_event_id``s.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from connectors.sendgrid.messages import EventsReceived
from connectors.sendgrid.settings import SendGridSettings, load_settings
from hub.edge.webhooks import (
    Headers,
    SignatureError,
    TimestampError,
    Translation,
    WebhookSource,
    body_digest,
    refuse,
)
from hub.errors import ConfigError
from hub.settings import HubSettings, env_name

NAME = "sendgrid"
PATH = "/webhooks/sendgrid"
SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
KEEP_HEADERS = (TIMESTAMP, "Content-Type", "User-Agent")
_ECDSA = ec.ECDSA(hashes.SHA256())


class _Event(msgspec.Struct):
    sg_event_id: str | None = None


_decode = msgspec.json.Decoder(list[_Event]).decode


def load_public_key(value: str) -> ec.EllipticCurvePublicKey:
    """The verification key from its Base64 DER text; a ``ConfigError`` naming the setting."""
    setting = env_name("webhook_public_key", NAME)
    text = "".join(value.split())
    try:
        key = load_der_public_key(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(
            f"invalid setting {setting}: expected the Base64 DER public key SendGrid shows ({exc})"
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ConfigError(f"invalid setting {setting}: not an elliptic-curve (ECDSA) public key")
    return key


def verifier(
    key: ec.EllipticCurvePublicKey, tolerance: float, clock: Callable[[], float] = time.time
) -> Callable[[Headers, bytes], None]:
    """Check the timestamp (within ``tolerance`` s of ``clock``) and the ECDSA signature."""

    def verify(headers: Headers, body: bytes) -> None:
        signature = headers.get(SIGNATURE)
        stamp = headers.get(TIMESTAMP)
        if not signature or not stamp:
            raise SignatureError(f"missing {SIGNATURE} or {TIMESTAMP} header")
        try:
            skew = abs(clock() - float(int(stamp)))
        except (ValueError, OverflowError):  # OverflowError: beyond a float, 1.8e308
            raise SignatureError(f"{TIMESTAMP} is not a Unix time") from None
        if skew > tolerance:
            raise TimestampError(
                f"{TIMESTAMP} is {skew:.0f} s away from our clock (tolerance {tolerance:.0f} s)"
            )
        try:
            der = base64.b64decode(signature, validate=True)
            key.verify(der, stamp.encode() + body, _ECDSA)
        except (binascii.Error, ValueError, InvalidSignature):
            raise SignatureError(f"{SIGNATURE} does not match the timestamp and body") from None

    return verify


def dedupe_key(headers: Headers, body: bytes) -> str:
    """The batch's sorted ``sg_event_id``s; the body's hash if any event has none."""
    ids = [e.sg_event_id for e in _decode(body)]
    if not ids or any(i is None for i in ids):
        return body_digest(body)
    return ",".join(sorted({i for i in ids if i is not None}))


def message(headers: Headers, body: bytes) -> Translation:
    """``sendgrid.EventsReceived``; a batch spans many emails, so it has no key."""
    events = _decode(body)
    event = EventsReceived(
        event_ids=tuple(e.sg_event_id for e in events if e.sg_event_id),
        events=len(events),
        payload=msgspec.Raw(body),
    )
    return Translation(event, None)


def source(
    settings: HubSettings,
    *,
    config: SendGridSettings | None = None,
    clock: Callable[[], float] = time.time,
) -> WebhookSource:
    """The SendGrid webhook source (settings from ``[sendgrid]`` unless given)."""
    config = config if config is not None else load_settings()
    configured = bool(config.webhook_public_key)
    verify: Callable[[Headers, bytes], None] = refuse
    if config.webhook_public_key:
        key = load_public_key(config.webhook_public_key)
        verify = verifier(key, config.webhook_timestamp_tolerance, clock)
    return WebhookSource(
        name=NAME,
        path=PATH,
        verify=verify,
        dedupe_key=dedupe_key,
        message=message,
        keep_headers=KEEP_HEADERS,
        missing_setting=None if configured else env_name("webhook_public_key", NAME),
    )
