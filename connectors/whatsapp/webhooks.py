"""WhatsApp Cloud API webhooks at ``GET|POST /webhooks/whatsapp``.

GET is Meta's subscription handshake: ``hub.mode=subscribe``, ``hub.verify_token`` (ours),
``hub.challenge``; the right token gets 200 with the raw challenge as the body, anything else 403.
POST notifications are signed ``X-Hub-Signature-256: sha256=<lowercase hex HMAC-SHA256(app
secret, raw body)>``. Delivery is at-least-once: the dedupe key is the notification's message ids
and status ids with their status (a hash of the body when it carries neither).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable

import msgspec
from aiohttp import web

from connectors.whatsapp.messages import WebhookReceived
from connectors.whatsapp.settings import WhatsAppSettings, load_settings
from hub.edge.webhooks import (
    RETRY_AFTER_UNCONFIGURED,
    Handler,
    Headers,
    SignatureError,
    Translation,
    WebhookSource,
    body_digest,
    error_response,
    refuse,
)
from hub.settings import HubSettings, Secret, env_name

log = logging.getLogger(__name__)

NAME = "whatsapp"
PATH = "/webhooks/whatsapp"
SIGNATURE = "X-Hub-Signature-256"
KEEP_HEADERS = ("Content-Type", "User-Agent")


class _Message(msgspec.Struct):
    id: str | None = None
    from_: str | None = msgspec.field(default=None, name="from")


class _Status(msgspec.Struct):
    id: str | None = None
    status: str | None = None
    recipient_id: str | None = None


class _Metadata(msgspec.Struct):
    phone_number_id: str | None = None


class _Value(msgspec.Struct):
    metadata: _Metadata | None = None
    messages: list[_Message] = []
    statuses: list[_Status] = []


class _Change(msgspec.Struct):
    value: _Value | None = None


class _Entry(msgspec.Struct):
    changes: list[_Change] = []


class _Notification(msgspec.Struct):
    entry: list[_Entry] = []


_decode = msgspec.json.Decoder(_Notification).decode


def _values(body: bytes) -> list[_Value]:
    return [c.value for e in _decode(body).entry for c in e.changes if c.value is not None]


def _phone_number_id(value: _Value) -> str | None:
    return value.metadata.phone_number_id if value.metadata else None


def verifier(app_secret: str) -> Callable[[Headers, bytes], None]:
    """Check ``X-Hub-Signature-256`` against the raw body, in constant time."""
    key = app_secret.encode()

    def verify(headers: Headers, body: bytes) -> None:
        given = headers.get(SIGNATURE)
        if not given:
            raise SignatureError(f"missing {SIGNATURE} header")
        expected = b"sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(expected, given.encode("utf-8", "replace")):
            raise SignatureError(f"{SIGNATURE} does not match the body")

    return verify


def dedupe_key(headers: Headers, body: bytes) -> str:
    """The sorted message ids and ``status id:status`` pairs; the body's hash if none."""
    ids: set[str] = set()
    for value in _values(body):
        ids.update(f"m:{m.id}" for m in value.messages if m.id)
        ids.update(f"s:{s.id}:{s.status}" for s in value.statuses if s.id)
    return ",".join(sorted(ids)) if ids else body_digest(body)


def message(headers: Headers, body: bytes) -> Translation:
    """``whatsapp.WebhookReceived``, keyed by the customer when there is exactly one."""
    values = _values(body)
    messages = [m for v in values for m in v.messages]
    statuses = [s for v in values for s in v.statuses]
    contacts = {m.from_ for m in messages if m.from_} | {
        s.recipient_id for s in statuses if s.recipient_id
    }
    contact = next(iter(contacts)) if len(contacts) == 1 else None
    event = WebhookReceived(
        phone_number_ids=tuple(sorted({n for v in values if (n := _phone_number_id(v))})),
        message_ids=tuple(m.id for m in messages if m.id),
        statuses=tuple(f"{s.id}:{s.status}" for s in statuses if s.id),
        contact=contact,
        payload=msgspec.Raw(body),
    )
    return Translation(event, f"{NAME}:{contact}" if contact else None)


def handshake(verify_token: Secret | None) -> Handler:
    """Answer Meta's ``GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…``."""

    async def on_get(request: web.Request) -> web.StreamResponse:
        if verify_token is None or not verify_token.reveal():
            setting = env_name("verify_token", NAME)
            return error_response(
                503,
                "webhook_not_configured",
                f"webhook source {NAME} is not configured: set {setting}",
                retry_after=RETRY_AFTER_UNCONFIGURED,
            )
        query = request.query
        given = query.get("hub.verify_token", "").encode("utf-8", "replace")
        challenge = query.get("hub.challenge")
        right = hmac.compare_digest(given, verify_token.reveal().encode())
        if query.get("hub.mode") == "subscribe" and challenge is not None and right:
            log.info("whatsapp: webhook subscription verified", extra={"source": NAME})
            return web.Response(text=challenge)
        log.warning("whatsapp: handshake refused from %s", request.remote, extra={"source": NAME})
        return error_response(
            403,
            "verification_failed",
            "hub.verify_token does not match, or hub.mode is not subscribe",
        )

    return on_get


def source(settings: HubSettings, *, config: WhatsAppSettings | None = None) -> WebhookSource:
    """The WhatsApp webhook source (settings from ``[whatsapp]`` unless given)."""
    config = config if config is not None else load_settings()
    secret = config.app_secret
    configured = secret is not None and bool(secret.reveal())
    return WebhookSource(
        name=NAME,
        path=PATH,
        methods=("GET", "POST"),
        verify=verifier(secret.reveal()) if secret is not None and configured else refuse,
        dedupe_key=dedupe_key,
        message=message,
        on_get=handshake(config.verify_token),
        keep_headers=KEEP_HEADERS,
        missing_setting=None if configured else env_name("app_secret", NAME),
    )
