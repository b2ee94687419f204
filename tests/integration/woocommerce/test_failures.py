"""The store failing: what the client repeats (reads, updates), what it never repeats blindly
(creates), how refusals and outages surface."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from connectors.woocommerce.changes import ProductCreate, ProductUpdate
from connectors.woocommerce.client import WooCommerceClient
from connectors.woocommerce.errors import Unauthorized
from connectors.woocommerce.simulator import WooCommerceSimulator, demo_catalog
from hub.breaker import BreakerOpen
from hub.http import PartnerUnavailable
from hub.settings import Secret
from tests.support import eventually

NEW = ProductCreate(name="Banda LED COB 24V", sku="LDX-COB-24", regular_price=Decimal("59.90"))


async def test_a_500_on_a_read_is_retried(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim
    ident = simulator.add_product(sku="LDX-1", regular_price="10.00")["id"]
    simulator.faults.fail_next = 1

    product = await client.get_product(ident)

    assert product.sku == "LDX-1"
    assert [c.status for c in simulator.calls("GET")] == [500, 200]


async def test_a_500_on_a_create_is_not_retried_and_reported_as_unknown(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim
    simulator.faults.fail_next = 1

    with pytest.raises(PartnerUnavailable) as failed:
        await client.create_product(NEW)

    assert failed.value.outcome_unknown and failed.value.status == 500
    assert [c.status for c in simulator.calls("POST")] == [500]


async def test_a_create_whose_answer_is_lost_is_found_by_sku_and_not_sent_twice(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim
    simulator.faults.drop_next = 1  # saved, then the connection drops

    with pytest.raises(PartnerUnavailable) as failed:
        await client.create_product(NEW)
    found = await client.find_product_by_sku(NEW.sku)

    assert failed.value.outcome_unknown
    assert found is not None and found.regular_price == Decimal("59.90")
    assert len(simulator.calls("POST", "/products")) == 1
    assert len(simulator.store.records["product"]) == 1


async def test_a_create_that_times_out_is_not_sent_again(
    sim: tuple[WooCommerceSimulator, str], make_client: Callable[..., WooCommerceClient]
) -> None:
    simulator, _ = sim
    simulator.faults.latency = 0.5  # WordPress is slow; the hub stops waiting first
    client = make_client(timeout=0.1)

    with pytest.raises(PartnerUnavailable) as failed:
        await client.create_product(NEW)
    await eventually(lambda: simulator.store.records["product"], what="the slow save")

    assert failed.value.outcome_unknown and failed.value.status is None
    assert len(simulator.calls("POST")) == 1


async def test_a_429_before_a_create_is_waited_out_and_the_create_made_once(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim
    simulator.faults.throttle_next = 1
    simulator.faults.retry_after = 0

    product = await client.create_product(NEW)

    assert product.sku == NEW.sku
    assert [c.status for c in simulator.calls("POST")] == [429, 201]
    assert len(simulator.store.records["product"]) == 1


async def test_a_batch_update_whose_answer_is_lost_is_sent_again_safely(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim
    ids = [simulator.add_product(**p)["id"] for p in demo_catalog(5)]
    simulator.faults.drop_next = 1

    outcome = await client.batch_products(
        update=[ProductUpdate(id=i, regular_price=Decimal("42.00")) for i in ids]
    )

    assert outcome.ok and len(outcome.updated) == 5
    assert [c.status for c in simulator.calls("POST")] == [None, 200]  # dropped, then repeated
    assert {simulator.store.records["product"][i]["regular_price"] for i in ids} == {"42.00"}


async def test_a_failed_batch_request_stops_the_rest_and_says_what_was_not_sent(
    sim: tuple[WooCommerceSimulator, str], make_client: Callable[..., WooCommerceClient]
) -> None:
    simulator, _ = sim
    ids = [simulator.add_product(**p)["id"] for p in demo_catalog(250)]
    simulator.faults.fail_after = 1  # the first request goes through
    simulator.faults.fail_next = 5
    client = make_client(attempts=2)

    outcome = await client.batch_products(
        update=[ProductUpdate(id=i, stock_quantity=7) for i in ids]
    )

    assert len(outcome.updated) == 100 and outcome.requests == 2
    second = [f for f in outcome.failed if f.sent]
    third = [f for f in outcome.failed if not f.sent]
    assert len(second) == 100 and len(third) == 50
    assert all(isinstance(f.error, PartnerUnavailable) and not f.permanent for f in outcome.failed)
    assert [c.status for c in simulator.calls("POST")] == [200, 500, 500]


async def test_a_wrong_secret_is_unauthorized_and_not_retried(
    sim: tuple[WooCommerceSimulator, str], make_client: Callable[..., WooCommerceClient]
) -> None:
    simulator, _ = sim
    client = make_client(consumer_secret=Secret("cs_wrong"))

    with pytest.raises(Unauthorized) as refused:
        await client.get_order(1)

    assert refused.value.code == "woocommerce_rest_authentication_error"
    assert refused.value.message == "Consumer secret is invalid."
    assert [c.status for c in simulator.requests] == [401]


async def test_an_unknown_key_is_anonymous_and_cannot_list(
    sim: tuple[WooCommerceSimulator, str], make_client: Callable[..., WooCommerceClient]
) -> None:
    client = make_client(consumer_key=Secret("ck_revoked"))

    with pytest.raises(Unauthorized) as refused:
        async for _ in client.orders():
            pass

    assert refused.value.status == 401
    assert refused.value.code == "woocommerce_rest_cannot_view"


async def test_an_outage_opens_the_breaker_and_later_calls_are_not_sent(
    sim: tuple[WooCommerceSimulator, str], make_client: Callable[..., WooCommerceClient]
) -> None:
    simulator, _ = sim
    simulator.outage(60)
    client = make_client(attempts=1, breaker_fail_max=2)

    for _ in range(2):  # the second failure opens it, and is reported as itself
        with pytest.raises(PartnerUnavailable) as down:
            await client.get_product(1)
        assert not isinstance(down.value, BreakerOpen)
    with pytest.raises(BreakerOpen) as still:
        await client.get_product(1)

    assert down.value.status == 503 and still.value.retry_after > 0
    assert [c.status for c in simulator.requests] == [503, 503]  # the third was never sent
