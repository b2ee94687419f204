"""Operating stored deliveries: listing, replay (over the real bus), retention, the CLI."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from connectors.woocommerce.messages import WebhookReceived
from hub.actor import Actor, Context, handler
from hub.bus.amqp import AmqpBus
from hub.db import init_connection
from hub.edge import webhooks
from hub.edge.keys import HUB
from hub.errors import NotFound
from hub.settings import HubSettings
from tests.conftest import QUEUE_EXPIRES
from tests.support import eventually
from tests.webhook_support import outbox, rows, woo_headers, woo_order

pytest_plugins = ("tests.integration.conftest_webhooks",)

WOO = "/webhooks/woocommerce"


async def post_order(client: TestClient, order_id: int) -> None:
    body = woo_order(order_id)
    resp = await client.post(WOO, data=body, headers=woo_headers(body))
    assert resp.status == 200


class OrderWebhooks(Actor, name="order_webhooks"):
    """Records every WooCommerce delivery it is handed."""

    def __init__(self) -> None:
        self.seen: list[tuple[int | None, UUID, str | None]] = []

    @handler
    async def received(self, msg: WebhookReceived, ctx: Context) -> None:
        self.seen.append((msg.resource_id, ctx.envelope.message_id, ctx.envelope.causation_id))


async def test_list_deliveries_filters_by_source_and_pages_by_id(
    edge: TestClient, wh_conn: asyncpg.Connection
) -> None:
    for order_id in (1, 2, 3):
        await post_order(edge, order_id)

    page = await webhooks.list_deliveries(wh_conn, source="woocommerce", limit=2)
    rest = await webhooks.list_deliveries(wh_conn, source="woocommerce", after_id=page[-1].id)
    newest = await webhooks.list_deliveries(wh_conn, limit=1, newest_first=True)

    assert [d.dedupe_key.split(":")[1] for d in page + rest] == ["1", "2", "3"]
    assert await webhooks.list_deliveries(wh_conn, source="sendgrid") == []
    assert newest[0].id == rest[-1].id
    assert page[0].message_type == "woocommerce.WebhookReceived"
    assert page[0].size == len(woo_order(1))


@pytest.mark.amqp
async def test_replay_emits_the_message_again_with_a_new_id_caused_by_the_original(
    start_edge: Callable[..., Any],
    wh_conn: asyncpg.Connection,
    amqp_url: str,
    prefix: str,
) -> None:
    listener = OrderWebhooks()
    edge = await start_edge(amqp_url=amqp_url, actors=(listener,))
    try:
        await post_order(edge, 4242)
        await eventually(lambda: len(listener.seen) == 1, what="the delivery reaches the actor")
        [delivery] = await webhooks.list_deliveries(wh_conn)

        async with edge.app[HUB].db.transaction() as conn:
            new_id = await webhooks.replay_delivery(conn, delivery.id)

        await eventually(lambda: len(listener.seen) == 2, what="the replay reaches the actor")
        original, replayed = listener.seen
        assert original == (4242, delivery.message_id, None)
        assert replayed == (4242, new_id, str(delivery.message_id))
        [after] = await webhooks.list_deliveries(wh_conn)
        assert after.replays == 1 and after.last_replayed_at is not None
        assert len(await outbox(wh_conn)) == 2
    finally:
        await edge.close()
        cleaner = AmqpBus(
            amqp_url, prefix=prefix, retry_delays=(0.05, 0.1), queue_expires=QUEUE_EXPIRES
        )
        await cleaner.start()
        await cleaner.delete_topology([listener.name])
        await cleaner.close()


async def test_replay_of_an_unknown_delivery_is_not_found(wh_conn: asyncpg.Connection) -> None:
    with pytest.raises(NotFound):
        await webhooks.replay_delivery(wh_conn, 999_999)


async def test_purge_deletes_only_deliveries_past_their_retention(
    edge: TestClient, wh_conn: asyncpg.Connection
) -> None:
    for order_id in (10, 11, 12):
        await post_order(edge, order_id)
    await wh_conn.execute(
        "UPDATE webhook_deliveries SET received_at = now() - interval '31 days' WHERE id <= 2"
    )

    purged = await webhooks.purge_deliveries(wh_conn, days=30, batch=1)

    assert purged == 2
    assert [r["id"] for r in await rows(wh_conn)] == [3]


async def test_retention_purge_runs_when_the_edge_starts(
    start_edge: Callable[..., Any], wh_conn: asyncpg.Connection
) -> None:
    await wh_conn.execute(
        "INSERT INTO webhook_deliveries (source, dedupe_key, received_at, body, message_id, "
        "message_type, message_body) VALUES ('woocommerce', 'old', now() - interval '8 days', "
        "'', gen_random_uuid(), 'woocommerce.WebhookReceived', '{}')"
    )
    edge = await start_edge(webhook_retention_days=7)
    await post_order(edge, 13)

    async def only_new() -> bool:
        return [r["dedupe_key"] for r in await rows(wh_conn)] == ["order:13:2026-11-20T10:15:00"]

    await eventually(only_new, what="the old delivery purged, the new one kept")
    assert edge.app[HUB].supervisor.status["webhook-retention"].state == "running"


# --- cypher-hub webhooks list | replay -----------------------------------------------------------


def _cli(settings: HubSettings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="cypher-hub")
    webhooks.add_commands(parser.add_subparsers(required=True))
    args = parser.parse_args(argv)
    result: int = args.func(settings, args)
    return result


def _seed(url: str, *order_ids: int) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(url)
        await init_connection(conn)
        await conn.execute("TRUNCATE webhook_deliveries, hub_outbox RESTART IDENTITY")
        for order_id in order_ids:
            await conn.execute(
                "INSERT INTO webhook_deliveries (source, dedupe_key, body, message_id, "
                "message_type, message_body) VALUES ($1, $2, $3, gen_random_uuid(), $4, $5)",
                "woocommerce",
                f"order:{order_id}",
                woo_order(order_id),
                "woocommerce.WebhookReceived",
                b"{}",
            )
        await conn.close()

    asyncio.run(run())


def _fetch(url: str, query: str) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        await init_connection(conn)
        try:
            return await conn.fetch(query)
        finally:
            await conn.close()

    return asyncio.run(run())


def test_cli_lists_the_newest_deliveries(
    make_settings: Callable[..., HubSettings],
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed(database_url, 1, 2, 3)
    settings = make_settings(database_url=database_url)

    assert _cli(settings, "webhooks", "list", "--source", "woocommerce", "--limit", "2") == 0

    out = capsys.readouterr().out
    assert "order:2" in out and "order:3" in out
    assert "order:1" not in out


def test_cli_replay_writes_new_messages_to_the_outbox(
    make_settings: Callable[..., HubSettings],
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed(database_url, 1, 2)
    settings = make_settings(database_url=database_url)

    assert _cli(settings, "webhooks", "replay", "1", "2") == 0

    assert "replayed 2" in capsys.readouterr().out
    emitted = _fetch(database_url, "SELECT envelope FROM hub_outbox ORDER BY id")
    originals = _fetch(
        database_url, "SELECT message_id, replays FROM webhook_deliveries ORDER BY id"
    )
    assert [e["envelope"]["causation_id"] for e in emitted] == [
        str(o["message_id"]) for o in originals
    ]
    assert [o["replays"] for o in originals] == [1, 1]
    with pytest.raises(NotFound):
        _cli(settings, "webhooks", "replay", "99")
