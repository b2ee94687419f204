"""The three partners' webhooks over HTTP: signatures, ping, handshake, dedupe, messages."""

from __future__ import annotations

import time
from collections.abc import Callable

import asyncpg
from aiohttp.test_utils import TestClient

from hub.messages import decode
from tests.webhook_support import (
    META_SECRET,
    VERIFY_TOKEN,
    meta_notification,
    meta_signature,
    outbox,
    rows,
    sendgrid_events,
    woo_headers,
    woo_order,
)

pytest_plugins = ("tests.integration.conftest_webhooks",)

WOO = "/webhooks/woocommerce"
META = "/webhooks/whatsapp"
SENDGRID = "/webhooks/sendgrid"


# --- WooCommerce --------------------------------------------------------------------------------


async def test_woocommerce_signed_order_becomes_a_webhook_received_event(
    edge: TestClient, wh_conn: asyncpg.Connection
) -> None:
    body = woo_order(8001)
    resp = await edge.post(WOO, data=body, headers=woo_headers(body, topic="order.updated"))

    assert resp.status == 200
    [out] = await outbox(wh_conn)
    event = decode(out["type"], out["body"])
    assert event.topic == "order.updated"
    assert event.resource_id == 8001
    assert bytes(event.payload) == body


async def test_woocommerce_tampered_body_is_401_and_nothing_is_stored(
    edge: TestClient, wh_conn: asyncpg.Connection
) -> None:
    body = woo_order(8002)
    resp = await edge.post(WOO, data=body.replace(b"1249.50", b"1.00"), headers=woo_headers(body))

    assert resp.status == 401
    error = (await resp.json())["error"]
    assert error["code"] == "invalid_signature"
    assert "X-WC-Webhook-Signature" in error["message"]
    assert await rows(wh_conn) == [] and await outbox(wh_conn) == []


async def test_woocommerce_wrong_secret_is_401_and_nothing_is_stored(
    edge: TestClient, wh_conn: asyncpg.Connection
) -> None:
    body = woo_order(8003)
    resp = await edge.post(WOO, data=body, headers=woo_headers(body, secret="not-ours"))

    assert resp.status == 401
    assert await rows(wh_conn) == [] and await outbox(wh_conn) == []


async def test_woocommerce_activation_ping_gets_exactly_200_and_is_not_stored(
    edge: TestClient, wh_conn: asyncpg.Connection
) -> None:
    resp = await edge.post(
        WOO,
        data=b"webhook_id=17",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert resp.status == 200
    assert await rows(wh_conn) == [] and await outbox(wh_conn) == []


async def test_woocommerce_unsigned_body_that_is_not_the_ping_is_401(
    edge: TestClient, wh_conn: asyncpg.Connection
) -> None:
    for body in (b"webhook_id=17&status=active", woo_order(8004)):
        resp = await edge.post(WOO, data=body, headers={"X-WC-Webhook-Topic": "order.created"})
        assert resp.status == 401
    assert await rows(wh_conn) == []


async def test_woocommerce_signed_but_unreadable_payload_is_400_and_not_stored(
    edge: TestClient, wh_conn: asyncpg.Connection
) -> None:
    body = b'{"id": "not-a-number"'
    resp = await edge.post(WOO, data=body, headers=woo_headers(body))

    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "invalid_payload"
    assert await rows(wh_conn) == []


async def test_woocommerce_delete_of_a_resource_is_deduplicated_by_topic_and_id(
    edge: TestClient, wh_conn: asyncpg.Connection
) -> None:
    body = b'{"id": 8005}'
    for _ in range(2):
        resp = await edge.post(WOO, data=body, headers=woo_headers(body, topic="order.deleted"))
        assert resp.status == 200
    [row] = await rows(wh_conn)
    assert row["dedupe_key"] == "order:8005"


# --- WhatsApp / Meta ----------------------------------------------------------------------------


async def test_meta_handshake_with_the_right_token_echoes_the_challenge(edge: TestClient) -> None:
    resp = await edge.get(
        META,
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        },
    )

    assert resp.status == 200
    assert await resp.text() == "1158201444"


async def test_meta_handshake_with_a_wrong_token_or_mode_is_403(edge: TestClient) -> None:
    wrong_token = {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}
    wrong_mode = {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}
    for params in (wrong_token, wrong_mode, {}):
        resp = await edge.get(META, params=params)
        assert resp.status == 403, params
        assert await resp.text() != "1"


async def test_meta_signed_notification_is_stored_once_per_message_id(
    edge: TestClient, wh_conn: asyncpg.Connection
) -> None:
    body = meta_notification(messages=[("wamid.HBgM1", "40740000001")])
    signed = {"X-Hub-Signature-256": meta_signature(body), "Content-Type": "application/json"}

    first = await edge.post(META, data=body, headers=signed)
    retried = await edge.post(META, data=body, headers=signed)

    assert first.status == retried.status == 200
    assert (await retried.json())["data"]["status"] == "duplicate"
    [row] = await rows(wh_conn)
    [out] = await outbox(wh_conn)
    assert row["dedupe_key"] == "m:wamid.HBgM1"
    assert out["envelope"]["key"] == "whatsapp:40740000001"
    assert decode(out["type"], out["body"]).message_ids == ("wamid.HBgM1",)


async def test_meta_each_status_of_a_message_is_a_delivery_of_its_own(
    edge: TestClient, wh_conn: asyncpg.Connection
) -> None:
    for status in ("sent", "delivered", "read", "read"):
        body = meta_notification(statuses=[("wamid.OUT1", status, "40740000002")])
        resp = await edge.post(
            META, data=body, headers={"X-Hub-Signature-256": meta_signature(body)}
        )
        assert resp.status == 200
    assert [r["dedupe_key"] for r in await rows(wh_conn)] == [
        "s:wamid.OUT1:sent",
        "s:wamid.OUT1:delivered",
        "s:wamid.OUT1:read",
    ]


async def test_meta_tampered_body_or_wrong_secret_is_401_and_nothing_is_stored(
    edge: TestClient, wh_conn: asyncpg.Connection
) -> None:
    body = meta_notification(messages=[("wamid.X", "40740000003")])
    tampered = body.replace(b"wamid.X", b"wamid.Y")
    cases = [
        (tampered, meta_signature(body)),
        (body, meta_signature(body, "not-" + META_SECRET)),
        (body, ""),
    ]
    for data, signature in cases:
        resp = await edge.post(META, data=data, headers={"X-Hub-Signature-256": signature})
        assert resp.status == 401
    assert await rows(wh_conn) == [] and await outbox(wh_conn) == []


# --- SendGrid -----------------------------------------------------------------------------------


async def test_sendgrid_signed_batch_is_stored_and_its_resend_is_a_duplicate(
    edge: TestClient, wh_conn: asyncpg.Connection, sendgrid_headers: Callable[..., dict[str, str]]
) -> None:
    body = sendgrid_events("ev-b", "ev-a")
    resent = sendgrid_events("ev-a", "ev-b")  # same events, another order, signed anew

    first = await edge.post(SENDGRID, data=body, headers=sendgrid_headers(body))
    again = await edge.post(SENDGRID, data=resent, headers=sendgrid_headers(resent))

    assert first.status == again.status == 200
    assert (await again.json())["data"]["status"] == "duplicate"
    [row] = await rows(wh_conn)
    [out] = await outbox(wh_conn)
    assert row["dedupe_key"] == "ev-a,ev-b"
    assert row["headers"]["X-Twilio-Email-Event-Webhook-Timestamp"].isdigit()
    event = decode(out["type"], out["body"])
    assert (event.event_ids, event.events) == (("ev-b", "ev-a"), 2)


async def test_sendgrid_tampered_body_is_401_and_nothing_is_stored(
    edge: TestClient, wh_conn: asyncpg.Connection, sendgrid_headers: Callable[..., dict[str, str]]
) -> None:
    body = sendgrid_events("ev-1")
    resp = await edge.post(
        SENDGRID, data=body.replace(b"delivered", b"bounce"), headers=sendgrid_headers(body)
    )

    assert resp.status == 401
    assert await rows(wh_conn) == [] and await outbox(wh_conn) == []


async def test_sendgrid_signature_by_another_key_is_401(
    edge: TestClient, wh_conn: asyncpg.Connection
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from tests.webhook_support import sendgrid_signature

    other = ec.generate_private_key(ec.SECP256R1())
    body = sendgrid_events("ev-2")
    stamp = str(int(time.time()))
    headers = {
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        "X-Twilio-Email-Event-Webhook-Signature": sendgrid_signature(other, stamp, body),
    }
    resp = await edge.post(SENDGRID, data=body, headers=headers)

    assert resp.status == 401
    assert await rows(wh_conn) == []


async def test_sendgrid_stale_timestamp_is_401_even_when_signed(
    edge: TestClient, wh_conn: asyncpg.Connection, sendgrid_headers: Callable[..., dict[str, str]]
) -> None:
    body = sendgrid_events("ev-3")
    stale = sendgrid_headers(body, timestamp=int(time.time()) - 3600)

    resp = await edge.post(SENDGRID, data=body, headers=stale)

    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "invalid_timestamp"
    assert await rows(wh_conn) == []
