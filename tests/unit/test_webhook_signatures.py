"""The three partners' signature schemes, dedupe keys and messages, without I/O."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from multidict import CIMultiDict

from connectors.sendgrid import webhooks as sendgrid
from connectors.sendgrid.settings import SendGridSettings
from connectors.whatsapp import webhooks as whatsapp
from connectors.whatsapp.settings import WhatsAppSettings
from connectors.woocommerce import webhooks as woocommerce
from connectors.woocommerce.messages import WebhookReceived as WooReceived
from connectors.woocommerce.settings import WooCommerceSettings, load_settings
from hub.edge.webhooks import SignatureError, TimestampError, normalize_key
from hub.errors import ConfigError
from hub.messages import decode, encode
from hub.settings import HubSettings, Secret
from tests.webhook_support import (
    META_SECRET,
    WOO_SECRET,
    meta_notification,
    meta_signature,
    public_key_b64,
    sendgrid_events,
    sendgrid_signature,
    woo_headers,
    woo_order,
    woo_signature,
)

NOW = 1_763_633_700


def headers(**values: str) -> CIMultiDict[str]:
    return CIMultiDict({k.replace("_", "-"): v for k, v in values.items()})


# --- WooCommerce --------------------------------------------------------------------------------


def test_woocommerce_signature_of_the_raw_body_verifies() -> None:
    body = woo_order(1001)
    woocommerce.verifier(WOO_SECRET)(CIMultiDict(woo_headers(body)), body)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body, h: (body.replace(b"1249.50", b"1.00"), h),
        lambda body, h: (body, {**h, "X-WC-Webhook-Signature": woo_signature(body, "wrong")}),
        lambda body, h: (body, {k: v for k, v in h.items() if k != "X-WC-Webhook-Signature"}),
        lambda body, h: (json.dumps(json.loads(body)).encode() + b" ", h),
        lambda body, h: (body, {**h, "X-WC-Webhook-Signature": woo_signature(body).lower()}),
    ],
    ids=["tampered-body", "wrong-secret", "no-signature", "reserialised", "altered-base64"],
)
def test_woocommerce_signature_refuses_any_change(tamper: Callable[..., Any]) -> None:
    body = woo_order(1001)
    changed_body, changed_headers = tamper(body, woo_headers(body))
    with pytest.raises(SignatureError):
        woocommerce.verifier(WOO_SECRET)(CIMultiDict(changed_headers), changed_body)


def test_woocommerce_secret_is_html_decoded_like_wordpress_does() -> None:
    # WooCommerce keys the HMAC with wp_specialchars_decode($secret, ENT_QUOTES).
    body = woo_order(7)
    signed = {"X-WC-Webhook-Signature": woo_signature(body, "a&b<c>'\"&amp;")}
    woocommerce.verifier("a&amp;b&lt;c&gt;&#039;&quot;&amp;amp;")(CIMultiDict(signed), body)
    assert woocommerce.wp_specialchars_decode("&#0039;&#x27;&#X26;&amp;lt;") == "''&&lt;"


def test_woocommerce_ping_is_only_the_unsigned_webhook_id_form() -> None:
    assert woocommerce.is_ping(headers(), b"webhook_id=42")
    assert not woocommerce.is_ping(headers(), b"webhook_id=42&x=1")
    assert not woocommerce.is_ping(headers(), b'{"webhook_id": 42}')
    assert not woocommerce.is_ping(headers(X_WC_Webhook_Signature="abc"), b"webhook_id=42")


def test_woocommerce_dedupe_key_is_resource_id_and_modification_time_not_delivery_id() -> None:
    body = woo_order(1001, modified="2026-11-20T10:15:00")
    h = CIMultiDict(woo_headers(body, topic="order.updated"))
    key = woocommerce.dedupe_key(h, body)
    assert key == "order:1001:2026-11-20T10:15:00"
    other_delivery = CIMultiDict({**h, "X-WC-Webhook-Delivery-ID": "another"})
    assert woocommerce.dedupe_key(other_delivery, body) == key
    later = woo_order(1001, modified="2026-11-20T10:16:00")
    assert woocommerce.dedupe_key(h, later) != key
    deleted = CIMultiDict(woo_headers(b'{"id": 1001}', topic="order.deleted"))
    assert woocommerce.dedupe_key(deleted, b'{"id": 1001}') == "order:1001"
    action = b'{"action": "woocommerce_low_stock", "arg": 55}'
    action_headers = CIMultiDict(woo_headers(action, topic="action.x"))
    assert woocommerce.dedupe_key(action_headers, action).startswith("action:sha256:")


def test_woocommerce_a_signed_body_sent_again_under_another_event_is_the_same_delivery() -> None:
    # only the body is signed: the event header can be changed by whoever captured a delivery
    body = woo_order(1001)
    updated = CIMultiDict(woo_headers(body, topic="order.updated"))
    for event in ("created", "deleted", "restored"):
        swapped = CIMultiDict({**updated, "X-WC-Webhook-Topic": f"order.{event}"})
        assert woocommerce.dedupe_key(swapped, body) == woocommerce.dedupe_key(updated, body)


def test_woocommerce_message_carries_the_resource_and_the_payload_as_sent() -> None:
    body = woo_order(1001)
    msg, key = woocommerce.message(CIMultiDict(woo_headers(body)), body)
    assert key == "woocommerce:order:1001"
    back = decode("woocommerce.WebhookReceived", encode(msg))
    assert isinstance(back, WooReceived)
    assert (back.topic, back.resource, back.event, back.resource_id) == (
        "order.created",
        "order",
        "created",
        1001,
    )
    assert json.loads(bytes(back.payload)) == json.loads(body)


def test_woocommerce_secret_comes_from_its_environment_variable() -> None:
    env = {"CYPHER_WOOCOMMERCE_WEBHOOK_SECRET": "from-env"}
    settings = load_settings(config_path="tests/empty.toml", environ=env)
    assert settings.webhook_secret == Secret("from-env")
    assert "from-env" not in repr(settings)
    unset = woocommerce.source(HubSettings(), config=WooCommerceSettings())
    assert unset.missing_setting == "CYPHER_WOOCOMMERCE_WEBHOOK_SECRET"


# --- Meta / WhatsApp ----------------------------------------------------------------------------


def test_meta_signature_of_the_raw_body_verifies() -> None:
    body = meta_notification(messages=[("wamid.A", "40740000001")])
    h = headers(X_Hub_Signature_256=meta_signature(body))
    whatsapp.verifier(META_SECRET)(h, body)


@pytest.mark.parametrize(
    "signature",
    [
        lambda body: meta_signature(body.replace(b"stoc", b"STOC")),  # another body
        lambda body: meta_signature(body, "wrong-secret"),
        lambda body: meta_signature(body).removeprefix("sha256="),
        lambda body: meta_signature(body).upper(),
        lambda body: "",
    ],
    ids=["tampered-body", "wrong-secret", "no-prefix", "uppercase", "empty"],
)
def test_meta_signature_refuses_anything_else(signature: Callable[..., Any]) -> None:
    body = meta_notification(messages=[("wamid.A", "40740000001")])
    h = headers(X_Hub_Signature_256=signature(body))
    with pytest.raises(SignatureError):
        whatsapp.verifier(META_SECRET)(h, body)


def test_meta_dedupe_key_names_message_ids_and_each_status_change() -> None:
    inbound = meta_notification(messages=[("wamid.B", "4074"), ("wamid.A", "4074")])
    assert whatsapp.dedupe_key(headers(), inbound) == "m:wamid.A,m:wamid.B"
    delivered = meta_notification(statuses=[("wamid.X", "delivered", "4075")])
    read = meta_notification(statuses=[("wamid.X", "read", "4075")])
    assert whatsapp.dedupe_key(headers(), delivered) == "s:wamid.X:delivered"
    assert whatsapp.dedupe_key(headers(), read) == "s:wamid.X:read"
    msg, key = whatsapp.message(headers(), read)
    assert key == "whatsapp:4075"
    assert msg.statuses == ("wamid.X:read",)


def test_meta_handshake_settings_are_secrets() -> None:
    config = WhatsAppSettings(app_secret=Secret("a"), verify_token=Secret("b"))
    assert "'a'" not in repr(config) and "'b'" not in repr(config)
    unset = whatsapp.source(HubSettings(), config=WhatsAppSettings(verify_token=Secret("b")))
    assert unset.missing_setting == "CYPHER_WHATSAPP_APP_SECRET"


# --- SendGrid -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _sendgrid_verify(
    key: ec.EllipticCurvePrivateKey, tolerance: float = 300
) -> Callable[..., None]:
    public = sendgrid.load_public_key(public_key_b64(key))
    return sendgrid.verifier(public, tolerance, clock=lambda: NOW)


def _sg_headers(signature: str, stamp: str) -> CIMultiDict[str]:
    return CIMultiDict(
        {
            "X-Twilio-Email-Event-Webhook-Signature": signature,
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        }
    )


def test_sendgrid_signature_over_timestamp_and_body_verifies(
    key: ec.EllipticCurvePrivateKey,
) -> None:
    body = sendgrid_events("ev1", "ev2")
    stamp = str(NOW - 20)
    _sendgrid_verify(key)(_sg_headers(sendgrid_signature(key, stamp, body), stamp), body)


def test_sendgrid_signature_refuses_tampered_body_other_key_and_moved_timestamp(
    key: ec.EllipticCurvePrivateKey,
) -> None:
    verify = _sendgrid_verify(key)
    body = sendgrid_events("ev1")
    stamp = str(NOW)
    good = sendgrid_signature(key, stamp, body)
    other = ec.generate_private_key(ec.SECP256R1())
    cases = [
        (_sg_headers(good, stamp), body.replace(b"delivered", b"bounce")),
        (_sg_headers(sendgrid_signature(other, stamp, body), stamp), body),
        (_sg_headers(good, str(NOW - 1)), body),  # the timestamp is signed too
        (_sg_headers("not base64!", stamp), body),
        (_sg_headers(base64.b64encode(b"\x30\x00").decode(), stamp), body),
        (CIMultiDict({"X-Twilio-Email-Event-Webhook-Timestamp": stamp}), body),
    ]
    for h, b in cases:
        with pytest.raises(SignatureError):
            verify(h, b)


def test_sendgrid_timestamp_outside_the_tolerance_is_refused_even_if_signed(
    key: ec.EllipticCurvePrivateKey,
) -> None:
    verify = _sendgrid_verify(key, tolerance=300)
    body = sendgrid_events("ev1")
    for stamp in (str(NOW - 301), str(NOW + 301)):
        with pytest.raises(TimestampError):
            verify(_sg_headers(sendgrid_signature(key, stamp, body), stamp), body)
    for stamp in ("soon", "2" + "0" * 308):  # 309 digits: beyond a float
        with pytest.raises(SignatureError, match="is not a Unix time"):
            verify(_sg_headers(sendgrid_signature(key, stamp, body), stamp), body)


def test_sendgrid_public_key_that_is_not_an_ec_key_is_a_config_error() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = rsa_key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(ConfigError, match="CYPHER_SENDGRID_WEBHOOK_PUBLIC_KEY"):
        sendgrid.load_public_key(base64.b64encode(der).decode())
    with pytest.raises(ConfigError, match="CYPHER_SENDGRID_WEBHOOK_PUBLIC_KEY"):
        sendgrid.source(HubSettings(), config=SendGridSettings(webhook_public_key="bm90IGEga2V5"))


def test_sendgrid_dedupe_key_is_the_sorted_event_ids() -> None:
    assert sendgrid.dedupe_key(headers(), sendgrid_events("b", "a")) == "a,b"
    assert sendgrid.dedupe_key(headers(), sendgrid_events("a", "b")) == "a,b"
    no_id = b'[{"event": "open"}]'
    assert sendgrid.dedupe_key(headers(), no_id).startswith("sha256:")


def test_long_dedupe_keys_are_hashed_to_a_fixed_length() -> None:
    ids = [f"{n:022d}" for n in range(1000)]
    key = sendgrid.dedupe_key(headers(), sendgrid_events(*ids))
    assert len(key) > 20_000
    assert normalize_key(key).startswith("sha256:") and len(normalize_key(key)) == 71
    assert normalize_key("order:1:2026") == "order:1:2026"
