"""WooCommerce webhooks at ``POST /webhooks/woocommerce``: verification, dedupe key, message.

WooCommerce signs ``base64(HMAC-SHA256(secret, raw body))`` in ``X-WC-Webhook-Signature``, with
the secret passed through ``wp_specialchars_decode`` first. When a webhook is saved as active it
POSTs an unsigned form body ``webhook_id=<id>`` and only succeeds on exactly 200.

``X-WC-Webhook-Delivery-ID`` is ``wp_hash(webhook_id . time())``: two deliveries of one webhook
in the same second share it, so it is not the dedupe key. The key is the topic's resource + the
resource id + ``date_modified_gmt`` (resource + id for ``deleted``, whose body is ``{"id": N}``; a
hash of the body for payloads without an id, such as ``action.*`` topics). The topic's event is
not in the key: only the body is signed, so one state of a resource is one delivery whatever
event header comes with it. Headers are unsigned hints: consumers confirm a deletion with the
shop's API before acting on it. WooCommerce never re-sends a failed
delivery, so the orders context should still reconcile with ``GET /orders?modified_after=``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable

import msgspec

from connectors.woocommerce.messages import WebhookReceived
from connectors.woocommerce.settings import WooCommerceSettings, load_settings
from hub.edge.webhooks import (
    Headers,
    PayloadError,
    SignatureError,
    Translation,
    WebhookSource,
    body_digest,
    refuse,
)
from hub.settings import HubSettings, env_name

NAME = "woocommerce"
PATH = "/webhooks/woocommerce"
SIGNATURE = "X-WC-Webhook-Signature"
TOPIC = "X-WC-Webhook-Topic"
RESOURCE = "X-WC-Webhook-Resource"
EVENT = "X-WC-Webhook-Event"
WEBHOOK_ID = "X-WC-Webhook-ID"
DELIVERY_ID = "X-WC-Webhook-Delivery-ID"
KEEP_HEADERS = (
    "X-WC-Webhook-Source",
    TOPIC,
    RESOURCE,
    EVENT,
    WEBHOOK_ID,
    DELIVERY_ID,
    "Content-Type",
    "User-Agent",
)

_PING = re.compile(rb"webhook_id=\d+")


class _Resource(msgspec.Struct):
    """The fields of a payload the intake reads; the rest travels untouched."""

    id: int | None = None
    date_modified_gmt: str | None = None


_decode_resource = msgspec.json.Decoder(_Resource).decode

# wp_specialchars_decode($secret, ENT_QUOTES): one pass (PHP strtr), numeric forms zero-padded.
_WP_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#0*(?:34|38|39|60|62)|#[xX]0*(?:22|26|27));")
_WP_CHARS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_WP_NUMERIC = {34: '"', 38: "&", 39: "'", 60: "<", 62: ">"}


def wp_specialchars_decode(text: str) -> str:
    """What WordPress's ``wp_specialchars_decode($text, ENT_QUOTES)`` returns."""

    def one(match: re.Match[str]) -> str:
        entity = match.group(0)[1:-1]
        if entity in _WP_CHARS:
            return _WP_CHARS[entity]
        if entity[1] in "xX":
            return _WP_NUMERIC[int(entity[2:], 16)]
        return _WP_NUMERIC[int(entity[1:])]

    return _WP_ENTITY.sub(one, text)


def is_ping(headers: Headers, body: bytes) -> bool:
    """The activation ping: unsigned, and the body is exactly ``webhook_id=<digits>``."""
    return SIGNATURE not in headers and _PING.fullmatch(body) is not None


def verifier(secret: str) -> Callable[[Headers, bytes], None]:
    """Check ``X-WC-Webhook-Signature`` against the raw body, in constant time."""
    key = wp_specialchars_decode(secret).encode()

    def verify(headers: Headers, body: bytes) -> None:
        given = headers.get(SIGNATURE)
        if not given:
            raise SignatureError(f"missing {SIGNATURE} header")
        expected = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest())
        if not hmac.compare_digest(expected, given.encode("utf-8", "replace")):
            raise SignatureError(f"{SIGNATURE} does not match the body")

    return verify


def _topic(headers: Headers) -> str:
    topic = headers.get(TOPIC)
    if not topic:
        raise PayloadError(f"missing {TOPIC} header")
    return topic


def dedupe_key(headers: Headers, body: bytes) -> str:
    """Resource + id + ``date_modified_gmt`` (see the module docstring).

    The topic's event (``created``, ``updated``...) is left out: headers are not signed, so a
    captured body sent again under another event must be a duplicate, not a new message.
    """
    kind = _topic(headers).partition(".")[0]
    resource = _decode_resource(body)
    if resource.id is None:
        return f"{kind}:{body_digest(body)}"
    if resource.date_modified_gmt:
        return f"{kind}:{resource.id}:{resource.date_modified_gmt}"
    return f"{kind}:{resource.id}"


def message(headers: Headers, body: bytes) -> Translation:
    """``woocommerce.WebhookReceived``, keyed by the resource (``woocommerce:order:123``)."""
    topic = _topic(headers)
    topic_resource, _, topic_event = topic.partition(".")
    resource = headers.get(RESOURCE) or topic_resource
    payload = _decode_resource(body)
    event = WebhookReceived(
        topic=topic,
        resource=resource,
        event=headers.get(EVENT) or topic_event,
        resource_id=payload.id,
        delivery_id=headers.get(DELIVERY_ID),
        webhook_id=headers.get(WEBHOOK_ID),
        payload=msgspec.Raw(body),
    )
    key = f"{NAME}:{resource}:{payload.id}" if payload.id is not None else None
    return Translation(event, key)


def source(settings: HubSettings, *, config: WooCommerceSettings | None = None) -> WebhookSource:
    """The WooCommerce webhook source (settings from ``[woocommerce]`` unless given)."""
    config = config if config is not None else load_settings()
    secret = config.webhook_secret
    configured = secret is not None and bool(secret.reveal())
    return WebhookSource(
        name=NAME,
        path=PATH,
        verify=verifier(secret.reveal()) if secret is not None and configured else refuse,
        dedupe_key=dedupe_key,
        message=message,
        keep_headers=KEEP_HEADERS,
        is_ping=is_ping,
        missing_setting=None if configured else env_name("webhook_secret", NAME),
    )
