"""The orders API over HTTP, with the real orders, pricing and inventory actors on RabbitMQ and a
stand-in for the invoicing connector: an order placed, shipped in two parts, delivered, returned
and refunded by people with the right roles; refusals naming the way out; a B2B customer sees
and cancels only its own orders; list filters and cursor pages; payments counted once."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from decimal import Decimal as D
from typing import Any

import pytest

from actors.inventory.actor import InventoryActor
from actors.orders.actor import OrdersActor
from actors.orders.api import api as orders_api
from actors.pricing.actor import Pricing
from actors.pricing.settings import PricingSettings
from hub.auth import Role
from hub.edge.keys import HUB
from hub.messages import Envelope, encode
from tests.e2e.api_support import Edge
from tests.integration.inventory.support import clean as clean_inventory
from tests.integration.inventory.support import ledger_mismatches, receive
from tests.integration.orders.support import (
    ORDER_TABLES,
    PRICING_TABLES,
    InvoicingStandIn,
    products,
    snapshot,
)
from tests.support import eventually

BASE = "/api/v1/orders"
CATALOG = products(
    snapshot("STRIP", name="Bandă LED 5050 12V 14,4W/m", unit="metre", cost="10.00"),
    snapshot("DRIVER", name="Sursă alimentare 12V 100W", cost="50.00", margin="0.40"),
)
BILLING = {
    "name": "Lumina Instal SRL",
    "street": "Șoseaua Ștefan cel Mare 12",
    "city": "București",
    "county": "Sector 2",
}
COMPANY = {
    "kind": "company",
    "name": "Lumina Instal SRL",
    "cui": "RO18547290",
    "email": "office@lumina.ro",
    "customer_id": "C-1",
}
CONSUMER = {"kind": "consumer", "name": "Ion Popescu", "email": "ion@example.ro"}


@pytest.fixture
async def shop(start_api: Callable[..., Awaitable[Edge]]) -> Edge:
    """The edge with the orders routes and the actors an order needs; products and stock known."""
    edge = await start_api(
        apis=[orders_api],
        actors=(OrdersActor(), Pricing(PricingSettings()), InventoryActor(), InvoicingStandIn()),
    )
    await edge.conn.execute(f"TRUNCATE {ORDER_TABLES} CASCADE")
    await edge.conn.execute(f"TRUNCATE {PRICING_TABLES} RESTART IDENTITY")
    await clean_inventory(edge.conn)
    env = Envelope.new(CATALOG, key="catalog")
    await edge.client.app[HUB].bus.publish(env, encode(CATALOG))
    await eventually(
        lambda: edge.conn.fetchval(
            "SELECT (SELECT count(*) FROM order_products) = 2 "
            "AND (SELECT count(*) FROM pricing_list_prices) = 2 "
            "AND (SELECT count(*) FROM inventory_skus WHERE unit IS NOT NULL) = 2"
        ),
        what="products known to orders, pricing and inventory",
    )
    await receive(edge.conn, [("STRIP", "HQ", "5"), ("STRIP", "W2", "20"), ("DRIVER", "HQ", "10")])
    return edge


def order_body(*lines: tuple[str, str], **kw: Any) -> dict[str, Any]:
    return {
        "customer": CONSUMER,
        "billing": BILLING,
        "payment_method": "card",
        "lines": [{"sku": s, "quantity": q} for s, q in lines],
        **kw,
    }


async def call(
    edge: Edge, method: str, path: str, role: Role, body: Any = None, **kw: Any
) -> tuple[int, dict[str, Any]]:
    customer = kw.pop("customer", None)
    token = await edge.as_role(role, customer=customer)
    status, envelope, _ = await edge.call(method, path, token=token, json=body, **kw)
    return status, envelope


async def place(edge: Edge, body: dict[str, Any], role: Role = Role.sales, **kw: Any) -> str:
    status, envelope = await call(edge, "POST", BASE, role, body, **kw)
    assert status == 202, envelope
    order_id: str = envelope["data"]["order_id"]
    assert envelope["data"]["location"] == f"{BASE}/{order_id}"
    return order_id


async def order(edge: Edge, order_id: str, role: Role = Role.ops, **kw: Any) -> dict[str, Any]:
    status, envelope = await call(edge, "GET", f"{BASE}/{order_id}", role, **kw)
    assert status == 200, envelope
    found: dict[str, Any] = envelope["data"]
    return found


async def reaches(edge: Edge, order_id: str, state: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        found = await edge.conn.fetchval("SELECT state FROM orders WHERE id = $1", order_id)
        return await order(edge, order_id) if found == state else None

    seen: dict[str, Any] = await eventually(check, what=f"order {order_id} {state}")
    return seen


async def stock(edge: Edge) -> dict[str, tuple[D, D]]:
    rows = await edge.conn.fetch("SELECT sku, warehouse, on_hand, reserved FROM inventory_stock")
    return {
        f"{r['sku']}@{r['warehouse']}": (r["on_hand"].normalize(), r["reserved"].normalize())
        for r in rows
    }


async def test_an_order_is_driven_through_its_life_by_the_roles_that_may(shop: Edge) -> None:
    oid = await place(shop, order_body(("STRIP", "8"), ("DRIVER", "2")))
    seen = await reaches(shop, oid, "confirmed")
    strip = next(x for x in seen["lines"] if x["sku"] == "STRIP")
    assert strip["name"] == "Bandă LED 5050 12V 14,4W/m"
    assert strip["breakdown"][0]["step"] == "base"  # why this price
    assert strip["breakdown"][0]["note"].startswith("cost ")  # staff see it to the cost
    assert D(seen["gross"]) == sum(D(x["line_gross"]) for x in seen["lines"])
    assert seen["allowed"] == ["processing", "cancelled"]
    assert await stock(shop) == {
        "STRIP@HQ": (5, 5),
        "STRIP@W2": (20, 3),
        "DRIVER@HQ": (10, 2),
    }
    await eventually(
        lambda: shop.conn.fetchval(
            "SELECT status = 'issued' FROM order_documents WHERE request_id = $1", f"invoice:{oid}"
        ),
        what="the card order's invoice issued",
    )

    # the warehouse ships part from W2, then the rest by priority
    status, envelope = await call(
        shop,
        "POST",
        f"{BASE}/{oid}/shipments",
        Role.warehouse,
        {"lines": [{"sku": "STRIP", "quantity": "3", "warehouse": "W2"}], "tracking": "FAN-1"},
    )
    assert status == 202, envelope
    seen = await reaches(shop, oid, "partially_shipped")
    assert [(t["from_state"], t["to_state"]) for t in seen["transitions"]][-2:] == [
        ("confirmed", "processing"),
        ("processing", "partially_shipped"),
    ]
    assert await stock(shop) == {
        "STRIP@HQ": (5, 5),
        "STRIP@W2": (17, 0),
        "DRIVER@HQ": (10, 2),
    }
    status, envelope = await call(shop, "POST", f"{BASE}/{oid}/shipments", Role.warehouse, {})
    assert status == 202, envelope
    seen = await reaches(shop, oid, "shipped")
    assert {x["sku"]: D(x["shipped"]) for x in seen["lines"]} == {"STRIP": 8, "DRIVER": 2}
    assert [s["status"] for s in seen["shipments"]] == ["sent", "sent"]
    assert await stock(shop) == {"STRIP@HQ": (0, 0), "STRIP@W2": (17, 0), "DRIVER@HQ": (8, 0)}

    # delivered (warehouse), a return asked (sales), received into W3 (warehouse), refunded
    status, envelope = await call(
        shop,
        "POST",
        f"{BASE}/{oid}/transitions",
        Role.warehouse,
        {"to": "delivered", "reason": "courier confirmed"},
    )
    assert (status, envelope["data"]["state"]) == (200, "delivered"), envelope
    status, envelope = await call(
        shop,
        "POST",
        f"{BASE}/{oid}/returns",
        Role.sales,
        {"reason": "wrong colour", "lines": [{"sku": "STRIP", "quantity": "2"}]},
    )
    assert status == 201, envelope
    return_id = envelope["data"]["reference"]
    status, envelope = await call(
        shop,
        "POST",
        f"{BASE}/{oid}/returns/{return_id}/receive",
        Role.warehouse,
        {"warehouse": "W3"},
    )
    assert (status, envelope["data"]["state"]) == (200, "returned"), envelope
    await eventually(
        lambda: shop.conn.fetchval(
            "SELECT on_hand = 2 FROM inventory_stock WHERE sku = 'STRIP' AND warehouse = 'W3'"
        ),
        what="the returned strip back on hand in W3",
    )
    credit = await eventually(
        lambda: shop.conn.fetchrow(
            "SELECT * FROM order_documents WHERE order_id = $1 AND kind = 'credit_note' "
            "AND status = 'issued'",
            oid,
        ),
        what="the credit note issued",
    )
    assert credit["return_id"] == return_id
    status, envelope = await call(
        shop,
        "POST",
        f"{BASE}/{oid}/transitions",
        Role.sales,
        {"to": "refunded", "reason": "refund 2 m by card"},
    )
    assert status == 200, envelope
    seen = await order(shop, oid)
    assert seen["state"] == "refunded" and seen["allowed"] == []
    assert [t["to_state"] for t in seen["transitions"]] == [
        "confirmed",
        "processing",
        "partially_shipped",
        "shipped",
        "delivered",
        "return_requested",
        "returned",
        "refunded",
    ]
    assert await ledger_mismatches(shop.conn) == []
    actions = [
        r["action"]
        for r in await shop.conn.fetch(
            "SELECT action FROM audit_log WHERE entity_id = $1 ORDER BY id", oid
        )
    ]
    for action in (
        "orders.place",
        "orders.shipments.create",
        "orders.transition",
        "orders.returns.create",
        "orders.returns.receive",
    ):
        assert action in actions, actions


async def test_a_move_the_state_does_not_allow_is_a_409_naming_the_way_out(shop: Edge) -> None:
    oid = await place(shop, order_body(("DRIVER", "1")))
    await reaches(shop, oid, "confirmed")
    status, envelope = await call(
        shop, "POST", f"{BASE}/{oid}/transitions", Role.sales, {"to": "refunded", "reason": "x"}
    )
    assert status == 409, envelope
    message = envelope["error"]["message"]
    assert "is confirmed" in message and "processing, cancelled" in message
    status, envelope = await call(
        shop,
        "POST",
        f"{BASE}/{oid}/transitions",
        Role.warehouse,
        {"to": "cancelled", "reason": "x"},
    )
    assert status == 403, envelope  # the warehouse starts processing and delivers, no more
    status, envelope = await call(
        shop, "POST", f"{BASE}/{oid}/returns", Role.sales, {"reason": "not delivered yet"}
    )
    assert status == 422, envelope
    assert (await order(shop, oid))["state"] == "confirmed"


async def test_cancelling_a_confirmed_order_gives_its_stock_back(shop: Edge) -> None:
    oid = await place(shop, order_body(("STRIP", "7")))
    await reaches(shop, oid, "confirmed")
    assert (await stock(shop))["STRIP@W2"] == (20, 2)
    status, envelope = await call(
        shop,
        "POST",
        f"{BASE}/{oid}/transitions",
        Role.ops,
        {"to": "cancelled", "reason": "customer called"},
    )
    assert status == 200, envelope
    await eventually(
        lambda: shop.conn.fetchval("SELECT sum(reserved) = 0 FROM inventory_stock"),
        what="the reservation released",
    )
    assert await ledger_mismatches(shop.conn) == []


async def test_an_invalid_order_is_refused_at_once_and_nothing_is_stored(shop: Edge) -> None:
    bad_cui = {**COMPANY, "cui": "RO18547291"}  # wrong check digit
    status, envelope = await call(
        shop, "POST", BASE, Role.sales, order_body(("DRIVER", "1"), customer=bad_cui)
    )
    assert status == 422, envelope
    assert "CUI" in envelope["error"]["message"]
    status, envelope = await call(
        shop,
        "POST",
        BASE,
        Role.sales,
        order_body(("DRIVER", "1"), ("DRIVER", "2"), billing={**BILLING, "county": "Atlantis"}),
    )
    assert status == 422, envelope
    assert "Atlantis" in envelope["error"]["message"]
    status, envelope = await call(
        shop, "POST", BASE, Role.sales, {**order_body(("DRIVER", "1")), "discount": "99%"}
    )
    assert status == 400, envelope
    assert await shop.conn.fetchval("SELECT count(*) FROM orders") == 0


async def test_an_order_id_sent_twice_places_one_order(shop: Edge) -> None:
    body = order_body(("DRIVER", "1"), order_id=f"web-{secrets.token_hex(4)}")
    first = await place(shop, body)
    assert await place(shop, body) == first
    await reaches(shop, first, "confirmed")
    assert await shop.conn.fetchval("SELECT count(*) FROM orders") == 1
    assert (await stock(shop))["DRIVER@HQ"] == (10, 1)


async def test_a_b2b_customer_sees_and_cancels_only_its_own_orders(shop: Edge) -> None:
    other = {**COMPANY, "customer_id": "C-2"}
    theirs = await place(shop, order_body(("STRIP", "100"), customer=other))
    own_body = order_body(("STRIP", "100"), customer={**COMPANY, "customer_id": None})
    own_body["payment_method"] = "bank_transfer"
    own = await place(shop, own_body, role=Role.b2b_customer, customer="C-1")
    seen = await reaches(shop, own, "on_hold")  # 25 m in stock: it waits for the rest
    assert seen["customer"]["customer_id"] == "C-1"  # placed for itself
    await reaches(shop, theirs, "on_hold")

    status, envelope = await call(shop, "GET", BASE, Role.b2b_customer, customer="C-1")
    assert status == 200, envelope
    assert [o["id"] for o in envelope["data"]] == [own]
    status, envelope = await call(
        shop, "GET", f"{BASE}/{theirs}", Role.b2b_customer, customer="C-1"
    )
    assert status == 404, envelope
    status, envelope = await call(
        shop,
        "POST",
        f"{BASE}/{theirs}/transitions",
        Role.b2b_customer,
        {"to": "cancelled", "reason": "x"},
        customer="C-1",
    )
    assert status == 404, envelope
    status, envelope = await call(
        shop,
        "POST",
        f"{BASE}/{own}/shipments",
        Role.b2b_customer,
        {},
        customer="C-1",
    )
    assert status == 403, envelope
    status, envelope = await call(
        shop,
        "POST",
        f"{BASE}/{own}/transitions",
        Role.b2b_customer,
        {"to": "cancelled", "reason": "ordered elsewhere"},
        customer="C-1",
    )
    assert (status, envelope["data"]["state"]) == (200, "cancelled"), envelope
    assert (await order(shop, theirs))["state"] == "on_hold"


async def test_the_list_filters_and_pages_newest_first(shop: Edge) -> None:
    placed = [await place(shop, order_body(("DRIVER", "1"))) for _ in range(3)]
    strip = await place(shop, order_body(("STRIP", "1")))
    for oid in [*placed, strip]:
        await reaches(shop, oid, "confirmed")
    # The actor stamps placed_at when it handles the message, so the bus decides the order.
    rows = await shop.conn.fetch("SELECT id FROM orders ORDER BY placed_at, id")
    oldest_first = [r["id"] for r in rows]
    ids = [oid for oid in oldest_first if oid in placed]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", "sku": "DRIVER", **({"cursor": cursor} if cursor else {})}
        status, envelope = await call(shop, "GET", BASE, Role.ops, params=params)
        assert status == 200, envelope
        seen += [o["id"] for o in envelope["data"]]
        cursor = envelope["metadata"]["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    status, envelope = await call(
        shop, "GET", BASE, Role.ops, params={"state": "confirmed", "sort": "placed_at"}
    )
    assert [o["id"] for o in envelope["data"]] == oldest_first
    status, envelope = await call(shop, "GET", BASE, Role.ops, params={"limit": "201"})
    assert status == 400, envelope


async def test_a_bank_transfer_is_invoiced_once_paid_and_a_payment_counts_once(
    shop: Edge,
) -> None:
    body = order_body(("DRIVER", "2"), customer=COMPANY, payment_method="bank_transfer")
    oid = await place(shop, body)
    seen = await reaches(shop, oid, "confirmed")
    gross = seen["gross"]
    await eventually(
        lambda: shop.conn.fetchval(
            "SELECT status = 'issued' FROM order_documents WHERE request_id = $1",
            f"proforma:{oid}",
        ),
        what="the proforma issued",
    )
    payment = {"amount": gross, "received_at": "2026-11-28T10:00:00+02:00", "payment_id": "OP-77"}
    for _ in range(2):
        status, envelope = await call(shop, "POST", f"{BASE}/{oid}/payments", Role.sales, payment)
        assert status == 201, envelope
    await eventually(
        lambda: shop.conn.fetchval(
            "SELECT status = 'issued' FROM order_documents WHERE request_id = $1",
            f"invoice:{oid}",
        ),
        what="the invoice issued after the payment",
    )
    seen = await order(shop, oid)
    assert D(seen["paid"]) == D(gross)
    assert [p["id"] for p in seen["payments"]] == ["OP-77"]
    assert sorted(d["kind"] for d in seen["documents"]) == ["invoice", "proforma"]
