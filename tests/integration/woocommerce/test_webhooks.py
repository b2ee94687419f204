"""The simulator's webhooks, checked by the hub's own intake code
(``connectors.woocommerce.webhooks``): signature, dedupe key, ping, lost deliveries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from connectors.woocommerce import webhooks
from connectors.woocommerce.changes import ProductUpdate
from connectors.woocommerce.client import WooCommerceClient
from connectors.woocommerce.messages import WebhookReceived
from connectors.woocommerce.resources import Order, decode
from connectors.woocommerce.simulator import WooCommerceSimulator
from hub.edge.webhooks import SignatureError
from tests.integration.woocommerce.conftest import WEBHOOK_SECRET, Receiver
from tests.support import eventually


async def test_an_order_update_is_delivered_signed_and_passes_the_intake(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient, receiver: Receiver
) -> None:
    simulator, _ = sim
    hook = simulator.add_webhook("order.updated", receiver.url, WEBHOOK_SECRET)
    placed = simulator.add_order(status="processing", line_items=[{"sku": "LDX", "quantity": 2}])

    order = await client.update_order_status(placed["id"], "completed")
    await eventually(lambda: receiver.got, what="the order.updated delivery")

    [got] = receiver.got
    headers, body = got.headers, got.body
    webhooks.verifier(WEBHOOK_SECRET)(headers, body)  # raises on a bad signature
    expected = base64.b64encode(hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).digest())
    assert headers["X-WC-Webhook-Signature"] == expected.decode()
    assert headers["X-WC-Webhook-Topic"] == "order.updated"
    assert (headers["X-WC-Webhook-Resource"], headers["X-WC-Webhook-Event"]) == ("order", "updated")
    assert headers["X-WC-Webhook-ID"] == str(hook.id)
    assert headers["X-WC-Webhook-Source"] == "https://ledux.ro/"
    assert re.fullmatch(r"[0-9a-f]{32}", headers["X-WC-Webhook-Delivery-ID"])
    assert headers["User-Agent"].startswith("WooCommerce/")
    assert headers["Content-Type"] == "application/json"
    # the body is the order as the REST API shows it, the same state the client got back
    assert decode(body, Order) == order
    assert order.date_modified_gmt is not None
    stamp = order.date_modified_gmt.strftime("%Y-%m-%dT%H:%M:%S")
    assert webhooks.dedupe_key(headers, body) == f"order:{order.id}:{stamp}"
    translated = webhooks.message(headers, body)
    assert isinstance(translated.message, WebhookReceived)
    assert (translated.message.topic, translated.message.resource_id) == ("order.updated", order.id)
    assert translated.key == f"woocommerce:order:{order.id}"
    with pytest.raises(SignatureError):
        webhooks.verifier("another-secret")(headers, body)


async def test_a_secret_with_html_entities_is_decoded_as_wordpress_does(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient, receiver: Receiver
) -> None:
    simulator, _ = sim
    simulator.add_webhook("product.updated", receiver.url, "a&amp;b")
    ident = simulator.add_product(sku="LDX-1", regular_price="10.00")["id"]

    await client.update_product(ProductUpdate(id=ident, stock_quantity=3, manage_stock=True))
    await eventually(lambda: receiver.got, what="the product.updated delivery")

    body = receiver.got[0].body
    signed_with_decoded = base64.b64encode(hmac.new(b"a&b", body, hashlib.sha256).digest())
    assert receiver.got[0].headers["X-WC-Webhook-Signature"] == signed_with_decoded.decode()
    webhooks.verifier("a&amp;b")(receiver.got[0].headers, body)


async def test_the_activation_ping_is_unsigned_and_recognised_by_the_intake(
    sim: tuple[WooCommerceSimulator, str], receiver: Receiver
) -> None:
    simulator, _ = sim
    hook = simulator.add_webhook("order.created", receiver.url, WEBHOOK_SECRET)

    status = await simulator.webhooks.ping(hook.id)

    assert status == 200
    [got] = receiver.got
    assert got.body == f"webhook_id={hook.id}".encode()
    assert "X-WC-Webhook-Signature" not in got.headers
    assert webhooks.is_ping(got.headers, got.body)


async def test_lost_deliveries_are_found_by_the_modified_after_poll(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient, receiver: Receiver
) -> None:
    simulator, _ = sim
    simulator.add_webhook("order.created", receiver.url, WEBHOOK_SECRET)
    cursor = datetime.now(UTC) - timedelta(seconds=5)
    simulator.webhooks.lose_all = True

    placed = [simulator.place_order(status="processing") for _ in range(3)]
    await simulator.webhooks.flush()

    assert receiver.got == []
    assert [d.lost for d in simulator.webhooks.deliveries] == [True, True, True]
    polled = [o.id async for o in client.orders(modified_after=cursor)]
    assert polled == [o["id"] for o in placed]


async def test_a_batch_fires_one_delivery_per_changed_product(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient, receiver: Receiver
) -> None:
    simulator, _ = sim
    simulator.add_webhook("product.updated", receiver.url, WEBHOOK_SECRET)
    ids = [simulator.add_product(sku=f"LDX-{n}", regular_price="10.00")["id"] for n in range(3)]

    await client.batch_products(
        update=[ProductUpdate(id=i, stock_quantity=5, manage_stock=True) for i in ids]
        + [ProductUpdate(id=ids[0], regular_price=None)]  # the same product twice
    )
    await simulator.webhooks.flush()

    delivered = sorted(msgspec.json.decode(g.body)["id"] for g in receiver.got)
    assert delivered == ids  # once per product per request, as WooCommerce dedupes
    assert all(d.status == 200 for d in simulator.webhooks.deliveries)


async def test_a_receiver_failing_seven_times_gets_its_webhook_disabled(
    sim: tuple[WooCommerceSimulator, str], receiver: Receiver
) -> None:
    simulator, _ = sim
    hook = simulator.add_webhook("order.updated", receiver.url, WEBHOOK_SECRET)
    ident = simulator.add_order(status="pending")["id"]
    receiver.answer = 500

    for _ in range(7):
        simulator.change("order", ident, customer_note="sunati inainte")
        await simulator.webhooks.flush()
    simulator.change("order", ident, status="processing")
    await simulator.webhooks.flush()

    assert hook.status == "disabled"
    assert len(receiver.got) == 7  # nothing is sent once disabled, nothing is re-sent
