"""The generic intake over HTTP on real PostgreSQL: durability, dedupe, limits, group commit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from hub.db import Database, create_pool
from hub.edge.intake import Intake, IntakeMetrics, IntakeUnavailable, IntakeWriter
from hub.edge.keys import HUB
from hub.messages import Envelope, encode
from tests.webhook_support import outbox, rows, woo_headers, woo_order

pytest_plugins = ("tests.integration.conftest_webhooks",)

WOO = "/webhooks/woocommerce"


async def post_order(client: TestClient, order_id: int, **kw: Any) -> Any:
    body = woo_order(order_id, **kw)
    return await client.post(WOO, data=body, headers=woo_headers(body))


def sample(client: TestClient, name: str, **labels: str) -> float:
    value = client.app[HUB].metrics.registry.get_sample_value(name, labels or None)
    return value or 0.0


async def test_accepted_delivery_is_stored_with_its_outbox_message(
    edge: TestClient, wh_conn: asyncpg.Connection
) -> None:
    resp = await post_order(edge, 5001)

    assert resp.status == 200
    assert (await resp.json())["data"] == {"status": "accepted"}
    [row] = await rows(wh_conn)
    [out] = await outbox(wh_conn)
    assert row["source"] == "woocommerce"
    assert row["dedupe_key"] == "order:5001:2026-11-20T10:15:00"
    assert row["body"] == woo_order(5001)
    assert row["message_id"] == out["message_id"]
    assert out["type"] == "woocommerce.WebhookReceived"
    assert out["envelope"]["key"] == "woocommerce:order:5001"
    assert row["headers"]["X-WC-Webhook-Topic"] == "order.created"
    assert not any("signature" in name.lower() for name in row["headers"])


async def test_duplicate_delivery_answers_200_and_stores_nothing_new(
    edge: TestClient, wh_conn: asyncpg.Connection
) -> None:
    first = await post_order(edge, 5002)
    again = await post_order(edge, 5002)
    at_once = await asyncio.gather(*(post_order(edge, 5003) for _ in range(5)))

    assert first.status == again.status == 200
    assert (await again.json())["data"] == {"status": "duplicate"}
    assert [r.status for r in at_once] == [200] * 5
    assert sorted([(await r.json())["data"]["status"] for r in at_once]) == [
        "accepted",
        *["duplicate"] * 4,
    ]
    assert len(await rows(wh_conn)) == 2
    assert len(await outbox(wh_conn)) == 2
    assert sample(edge, "hub_webhook_deliveries_total", source="woocommerce", outcome="duplicate")


async def test_body_larger_than_the_limit_is_413_by_content_length(
    start_edge: Callable[..., Any], wh_conn: asyncpg.Connection
) -> None:
    edge = await start_edge(webhook_max_body=4096)
    small = woo_order(1, lines=1)
    big = woo_order(2, lines=60)
    assert len(small) <= 4096 < len(big)

    refused = await edge.post(WOO, data=big, headers=woo_headers(big))
    accepted = await edge.post(WOO, data=small, headers=woo_headers(small))

    assert refused.status == 413
    assert (await refused.json())["error"]["code"] == "body_too_large"
    assert accepted.status == 200
    assert [r["body"] for r in await rows(wh_conn)] == [small]


async def test_chunked_body_growing_past_the_limit_is_413(
    start_edge: Callable[..., Any], wh_conn: asyncpg.Connection
) -> None:
    edge = await start_edge(webhook_max_body=4096)
    big = woo_order(3, lines=60)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 1024):
            yield big[start : start + 1024]

    resp = await edge.post(WOO, data=chunks(), headers=woo_headers(big))

    assert resp.request_info.headers.get("Transfer-Encoding") == "chunked"
    assert resp.status == 413
    assert await rows(wh_conn) == []
    assert sample(edge, "hub_webhook_rejected_total", source="woocommerce", reason="too_large")


@pytest.fixture
async def poison_trigger(wh_conn: asyncpg.Connection) -> AsyncIterator[None]:
    """Make PostgreSQL refuse the outbox row of order 666, after its delivery row is inserted."""
    await wh_conn.execute(
        """
        CREATE OR REPLACE FUNCTION test_refuse_order_666() RETURNS trigger AS $$
        BEGIN
            IF NEW.envelope->>'key' = 'woocommerce:order:666' THEN
                RAISE EXCEPTION 'outbox refuses order 666';
            END IF;
            RETURN NEW;
        END $$ LANGUAGE plpgsql;
        CREATE TRIGGER test_refuse_order_666 BEFORE INSERT ON hub_outbox
            FOR EACH ROW EXECUTE FUNCTION test_refuse_order_666();
        """
    )
    try:
        yield
    finally:
        await wh_conn.execute(
            "DROP TRIGGER test_refuse_order_666 ON hub_outbox; "
            "DROP FUNCTION test_refuse_order_666();"
        )


async def test_failed_outbox_write_stores_no_delivery_and_answers_503(
    edge: TestClient, wh_conn: asyncpg.Connection, poison_trigger: None
) -> None:
    resp = await post_order(edge, 666)

    assert resp.status == 503
    assert resp.headers["Retry-After"].isdigit()
    assert (await resp.json())["error"]["code"] == "intake_unavailable"
    assert await rows(wh_conn) == []  # the delivery row went with its outbox row
    assert await outbox(wh_conn) == []


async def test_one_unwritable_delivery_does_not_fail_the_others_in_its_batch(
    edge: TestClient, wh_conn: asyncpg.Connection, poison_trigger: None
) -> None:
    ids = [*range(700, 720), 666]
    responses = await asyncio.gather(*(post_order(edge, i) for i in ids))

    statuses = {i: r.status for i, r in zip(ids, responses, strict=True)}
    assert statuses.pop(666) == 503
    assert set(statuses.values()) == {200}
    stored = {r["dedupe_key"].split(":")[1] for r in await rows(wh_conn)}
    assert stored == {str(i) for i in range(700, 720)}
    assert len(await outbox(wh_conn)) == 20


async def test_database_unavailable_answers_503_with_retry_after(
    edge: TestClient, wh_conn: asyncpg.Connection
) -> None:
    await edge.app[HUB].db.pool.close()

    resp = await post_order(edge, 5004)

    assert resp.status == 503
    assert "Retry-After" in resp.headers
    assert await rows(wh_conn) == []


async def _fire(edge: TestClient, ids: range) -> list[tuple[int, bool]]:
    """Post every order at once; for each, whether its row was committed when its 200 came."""
    pool = edge.app[HUB].db.pool

    async def one(order_id: int) -> tuple[int, bool]:
        resp = await post_order(edge, order_id)
        async with pool.acquire() as conn:
            stored = await conn.fetchval(
                "SELECT count(*) FROM webhook_deliveries d JOIN hub_outbox o USING (message_id) "
                "WHERE d.dedupe_key LIKE $1",
                f"order:{order_id}:%",
            )
        return resp.status, stored == 1

    return await asyncio.gather(*(one(i) for i in ids))


async def test_group_commit_writes_concurrent_deliveries_in_fewer_transactions(
    edge: TestClient, wh_conn: asyncpg.Connection
) -> None:
    results = await _fire(edge, range(9000, 9050))

    assert results == [(200, True)] * 50  # each answered only once its rows were committed
    transactions = sample(edge, "hub_webhook_intake_batch_size_count")
    assert sample(edge, "hub_webhook_intake_batch_size_sum") == 50
    assert transactions < 50, "group commit should have batched concurrent deliveries"
    assert len(await rows(wh_conn)) == 50


async def test_without_group_commit_each_delivery_is_its_own_transaction(
    start_edge: Callable[..., Any], wh_conn: asyncpg.Connection
) -> None:
    edge = await start_edge(intake_group_commit=False)

    results = await _fire(edge, range(9100, 9150))

    assert results == [(200, True)] * 50
    assert sample(edge, "hub_webhook_intake_batch_size_count") == 50


async def test_group_commit_batches_are_capped_at_intake_max_batch(
    start_edge: Callable[..., Any], wh_conn: asyncpg.Connection
) -> None:
    edge = await start_edge(intake_max_batch=4)

    results = await _fire(edge, range(9200, 9240))

    assert results == [(200, True)] * 40
    assert sample(edge, "hub_webhook_intake_batch_size_count") >= 10
    assert sample(edge, "hub_webhook_intake_batch_size_bucket", le="4.0") == sample(
        edge, "hub_webhook_intake_batch_size_count"
    )


async def test_unconfigured_sources_refuse_with_503_naming_the_setting(
    start_edge: Callable[..., Any], wh_conn: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    from connectors.sendgrid import webhooks as sendgrid
    from connectors.sendgrid.settings import SendGridSettings
    from connectors.whatsapp import webhooks as whatsapp
    from connectors.whatsapp.settings import WhatsAppSettings
    from connectors.woocommerce import webhooks as woocommerce
    from connectors.woocommerce.settings import WooCommerceSettings

    caplog.set_level(logging.INFO, logger="hub.edge.webhooks")
    edge = await start_edge(
        webhooks=[
            lambda s: woocommerce.source(s, config=WooCommerceSettings()),
            lambda s: whatsapp.source(s, config=WhatsAppSettings()),
            lambda s: sendgrid.source(s, config=SendGridSettings()),
        ]
    )
    body = woo_order(1)
    cases = {
        WOO: "CYPHER_WOOCOMMERCE_WEBHOOK_SECRET",
        "/webhooks/whatsapp": "CYPHER_WHATSAPP_APP_SECRET",
        "/webhooks/sendgrid": "CYPHER_SENDGRID_WEBHOOK_PUBLIC_KEY",
    }
    for path, setting in cases.items():
        resp = await edge.post(path, data=body, headers=woo_headers(body))
        assert resp.status == 503, path
        assert setting in (await resp.json())["error"]["message"]
        assert setting in caplog.text  # the startup log says which sources are disabled
    unsigned_ping = await edge.post(WOO, data=b"webhook_id=3")
    assert unsigned_ping.status == 503
    handshake = await edge.get("/webhooks/whatsapp", params={"hub.verify_token": ""})
    assert handshake.status == 503
    assert "CYPHER_WHATSAPP_VERIFY_TOKEN" in (await handshake.json())["error"]["message"]
    assert await rows(wh_conn) == []


async def test_startup_log_lists_enabled_sources(
    start_edge: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub.edge.webhooks")
    await start_edge()
    for name in ("woocommerce", "whatsapp", "sendgrid"):
        assert f"webhooks: {name} enabled" in caplog.text
    assert "DISABLED" not in caplog.text


async def test_deliveries_waiting_at_shutdown_are_written_before_the_pool_closes(
    start_edge: Callable[..., Any], wh_conn: asyncpg.Connection
) -> None:
    edge = await start_edge()
    posts = [asyncio.create_task(post_order(edge, i)) for i in range(300, 310)]
    done = await asyncio.gather(*posts)
    await edge.close()

    assert [r.status for r in done] == [200] * 10
    assert len(await rows(wh_conn)) == 10


def _intake(order_id: int) -> Intake:
    from datetime import UTC, datetime

    from connectors.woocommerce import webhooks as woocommerce

    body = woo_order(order_id)
    headers = woo_headers(body)
    message, key = woocommerce.message(headers, body)
    return Intake(
        source="woocommerce",
        dedupe_key=woocommerce.dedupe_key(headers, body),
        received_at=datetime.now(UTC),
        headers={},
        body=body,
        envelope=Envelope.new(message, key=key),
        message_body=encode(message),
    )


async def test_writer_with_two_transactions_in_flight_writes_each_delivery_once(
    database_url: str, wh_conn: asyncpg.Connection
) -> None:
    pool = await create_pool(database_url, max_size=4)
    metrics = IntakeMetrics(CollectorRegistry())
    writer = IntakeWriter(Database(pool, dsn=database_url, mode="test"), metrics, writers=2)
    running = asyncio.create_task(writer.run())
    try:
        ids = [*range(400, 440), *range(400, 410)]  # ten sent twice
        results = await asyncio.gather(*(writer.submit(_intake(i)) for i in ids))
        await writer.stop()
        await asyncio.wait_for(running, 5)

        assert results.count(True) == 40 and results.count(False) == 10
        assert len(await rows(wh_conn)) == 40 and len(await outbox(wh_conn)) == 40
        with pytest.raises(IntakeUnavailable):
            await writer.submit(_intake(999))  # stopped: refused, so the sender retries
    finally:
        running.cancel()
        await pool.close()


async def test_a_delivery_that_cannot_be_encoded_fails_alone_not_its_batch(
    database_url: str, wh_conn: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    pool = await create_pool(database_url, max_size=2)
    metrics = IntakeMetrics(CollectorRegistry())
    writer = IntakeWriter(Database(pool, dsn=database_url, mode="test"), metrics)
    unencodable = _intake(899)
    unencodable.headers = {"User-Agent": "\udce9"}  # how aiohttp reads a Latin-1 byte
    intakes = [*map(_intake, range(800, 810)), unencodable, *map(_intake, range(810, 820))]
    submitted = [asyncio.create_task(writer.submit(i)) for i in intakes]
    running = asyncio.create_task(writer.run())  # after them: all wait, so they form one batch
    try:
        results = await asyncio.gather(*submitted, return_exceptions=True)
        await writer.stop()
        await asyncio.wait_for(running, 5)

        assert isinstance(results.pop(10), IntakeUnavailable)
        assert results == [True] * 20
        assert len(await rows(wh_conn)) == 20 and len(await outbox(wh_conn)) == 20
        assert "intake batch of 21 failed" in caplog.text  # then written one by one
    finally:
        running.cancel()
        await pool.close()
