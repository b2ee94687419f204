"""The edge skeleton over HTTP: liveness, readiness of each part, Prometheus metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from hub.edge.app import create_app
from hub.edge.keys import DB, HUB
from hub.messages import Envelope, encode
from hub.settings import HubSettings
from tests.support import Add, Counter, eventually


@pytest.fixture
async def client(
    make_settings: Callable[..., HubSettings],
    database_url: str,
    db_conn: asyncpg.Connection,
    amqp_url: str,
    redis_url: str,
) -> AsyncIterator[TestClient]:
    settings = make_settings(database_url=database_url, amqp_url=amqp_url, redis_url=redis_url)
    app = create_app(settings, actors=[lambda _r: Counter()])
    async with TestClient(TestServer(app)) as c:
        yield c


async def test_live_answers_while_the_process_runs(client: TestClient) -> None:
    resp = await client.get("/health/live")
    assert resp.status == 200
    assert (await resp.json())["status"] == "live"


async def test_ready_reports_each_part_and_its_mode(client: TestClient) -> None:
    resp = await client.get("/health/ready")
    body = await resp.json()
    assert resp.status == 200, body
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] and body["checks"]["database"]["mode"].startswith(
        "services"
    )
    assert body["checks"]["bus"]["mode"].startswith("amqp")
    assert body["checks"]["cache"]["mode"].startswith("redis")
    assert body["tasks"]["actor:counter"]["state"] == "running"
    assert "guest:guest" not in await resp.text()  # credentials are masked


async def test_ready_is_503_naming_the_part_that_fails(client: TestClient) -> None:
    await client.app[DB].pool.close()
    resp = await client.get("/health/ready")
    body = await resp.json()
    assert resp.status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["database"]["error"]
    assert body["checks"]["bus"]["ok"] is True


async def test_metrics_count_handled_messages_per_actor_and_type(client: TestClient) -> None:
    hub = client.app[HUB]
    msg = Add(counter="m", amount=1)
    await hub.bus.publish(Envelope.new(msg), encode(msg))

    async def handled() -> str | None:
        text = await (await client.get("/metrics")).text()
        line = 'hub_messages_handled_total{actor="counter",type="test.Add"} 1.0'
        return text if line in text else None

    text = await eventually(handled)
    assert "hub_handler_seconds_bucket" in text
    assert "hub_outbox_lag_seconds" in text
    assert "hub_messages_dead_lettered_total" in text or "hub_messages_dead_lettered" in text
