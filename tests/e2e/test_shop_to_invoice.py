"""The shop's orders end to end: signed WooCommerce webhooks for a consumer's card order, a cash
on delivery order and a company's bank transfer order go through the edge's intake to the
WooCommerce connector, become hub orders, reserve stock, get their SmartBill documents as the
payment method says (invoice at confirmation; invoice at shipment; proforma at confirmation and
the invoice once paid), and the shop shows the hub's status; the stock the shop shows follows
the hub's, pushed in batches. RabbitMQ, PostgreSQL, Redis, and the three partners' simulators."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from hub.auth import Role
from hub.db import Database
from tests.e2e.api_support import Edge
from tests.e2e.shop_support import (
    COMPANY,
    COMPANY_META,
    CONSUMER,
    STOCK,
    Floor,
    busiest_window,
    line,
    shop_floor,
    shop_stock,
)
from tests.integration.inventory.support import ledger_mismatches
from tests.support import eventually

pytestmark = pytest.mark.slow


@pytest.fixture
async def floor(
    start_api: Callable[..., Awaitable[Edge]], actor_db: Database, db_conn: asyncpg.Connection
) -> AsyncIterator[Floor]:
    async with shop_floor(start_api, actor_db, db_conn) as running:
        yield running


async def test_card_cod_and_bank_transfer_orders_from_the_shop_end_with_their_documents(
    floor: Floor,
) -> None:
    woo, conn = floor.woo, floor.conn
    card = woo.place_order(
        status="processing",
        payment_method="stripe",
        payment_method_title="Card online",
        set_paid=True,
        billing=CONSUMER,
        line_items=[line("STRIP-5050", 10), line("DRV-100W", 2)],
        shipping_lines=[COURIER],
    )
    cod = woo.place_order(
        status="processing",
        payment_method="cod",
        payment_method_title="Ramburs",
        billing={**CONSUMER, "first_name": "Ion", "email": "ion@example.ro"},
        line_items=[line("PROFIL-2M", 4)],
        shipping_lines=[COURIER],
    )
    transfer = woo.place_order(
        status="on-hold",
        payment_method="bacs",
        payment_method_title="Transfer bancar",
        billing=COMPANY,
        meta_data=COMPANY_META,
        line_items=[line("DRV-100W", 5), line("PROFIL-2M", 10)],
    )
    ids = {name: floor.hub_id(o) for name, o in (("card", card), ("cod", cod), ("b2b", transfer))}

    # every order confirmed in the hub, its stock reserved, the shop showing "processing"
    async def confirmed() -> bool:
        states = await floor.states([card, cod, transfer])
        return len(states) == 3 and set(states.values()) == {"confirmed"}

    await eventually(confirmed, timeout=45, what="the three shop orders confirmed in the hub")
    rows = await conn.fetch(
        "SELECT id, source, external_ref, payment_method, customer->>'kind' AS kind "
        "FROM orders WHERE id = ANY($1) ORDER BY id",
        list(ids.values()),
    )
    seen = {r["id"]: (r["source"], r["external_ref"], r["payment_method"], r["kind"]) for r in rows}
    assert seen == {
        ids["card"]: ("woocommerce", card["number"], "card", "consumer"),
        ids["cod"]: ("woocommerce", cod["number"], "cash_on_delivery", "consumer"),
        ids["b2b"]: ("woocommerce", transfer["number"], "bank_transfer", "company"),
    }
    reserved = await conn.fetch(
        "SELECT l.sku, sum(l.quantity) AS q FROM inventory_reservations r "
        "JOIN inventory_reservation_lines l ON l.reservation_id = r.id "
        "WHERE r.id = ANY($1) AND r.status = 'open' GROUP BY l.sku",
        list(ids.values()),
    )
    assert {r["sku"]: r["q"] for r in reserved} == {
        "DRV-100W": Decimal(7),
        "PROFIL-2M": Decimal(14),
        "STRIP-5050": Decimal(10),
    }
    await eventually(
        lambda: all(floor.shop_status(o) == "processing" for o in (card, cod, transfer)),
        what="the shop showing every order processing",
    )

    # card: the invoice at confirmation, collected by card; bank transfer: a proforma
    [invoice] = await eventually(
        lambda: floor.documents_of(ids["card"]), what="the card order's invoice in SmartBill"
    )
    assert invoice.client["name"] == "Maria Ionescu" and invoice.client["vatCode"] == "-"
    assert invoice.total == await _gross(conn, ids["card"]) == Decimal(card["total"])
    assert _transport(invoice) == {"price": 20.0, "isService": True, "taxPercentage": 21}
    assert invoice.body.get("payment", {}).get("type") == "Card"
    [proforma] = await eventually(
        lambda: floor.documents_of(ids["b2b"], "estimate"), what="the B2B order's proforma"
    )
    assert proforma.client["vatCode"] == "RO18547290"
    assert proforma.client["county"] == "Bucuresti" and proforma.client["city"] == "Sector 2"
    assert proforma.total == await _gross(conn, ids["b2b"])
    assert floor.documents_of(ids["cod"]) == [] and floor.documents_of(ids["b2b"]) == []

    # cash on delivery: the warehouse ships it, SmartBill gets its invoice, the shop "completed"
    warehouse = await floor.edge.as_role(Role.warehouse)
    status, body, _ = await floor.edge.call(
        "POST",
        f"/api/v1/orders/{ids['cod']}/shipments",
        token=warehouse,
        json={"tracking": "FAN-1"},
    )
    assert status == 202, body
    [cod_invoice] = await eventually(
        lambda: floor.documents_of(ids["cod"]), what="the shipped COD order's invoice"
    )
    assert cod_invoice.total == await _gross(conn, ids["cod"]) == Decimal(cod["total"])
    assert _transport(cod_invoice)["isService"] is True  # the delivery charge invoiced once
    assert "payment" not in cod_invoice.body  # the courier collects it later
    await eventually(lambda: floor.shop_status(cod) == "completed", what="the shop: completed")

    # bank transfer: the money arrives, the invoice follows (one, whatever the repeats)
    gross = await _gross(conn, ids["b2b"])
    staff = await floor.edge.as_role(Role.sales)
    payment = {
        "payment_id": "bt-2026-0042",
        "amount": str(gross),
        "received_at": datetime.now(UTC).isoformat(),
        "reference": "OP 42 BT",
    }
    for _ in range(2):
        status, body, _ = await floor.edge.call(
            "POST", f"/api/v1/orders/{ids['b2b']}/payments", token=staff, json=payment
        )
        assert status == 201, body
    [b2b_invoice] = await eventually(
        lambda: floor.documents_of(ids["b2b"]), what="the paid transfer's invoice"
    )
    assert b2b_invoice.total == gross and b2b_invoice.client["vatCode"] == "RO18547290"

    # the customers got their documents by email (one each, with SmartBill's PDF)
    def invoice_mails() -> list[str] | None:
        mails = [a for a in floor.sendgrid.accepted if a.categories == ["invoice_issued"]]
        return sorted(m.to[0] for m in mails) if len(mails) >= 3 else None

    assert await eventually(invoice_mails, timeout=30, what="three invoice emails") == [
        "ion@example.ro",
        "maria@example.ro",
        "office@lumina-instal.ro",
    ]

    # the shop's stock is the hub's, pushed in batches of changed fields only
    published = {
        r["sku"]: r["published"]
        for r in await conn.fetch("SELECT sku, published FROM inventory_skus")
    }
    await eventually(
        lambda: shop_stock(floor) == {sku: int(q) for sku, q in published.items()},
        timeout=20,
        what="the shop's stock equal to the hub's",
    )
    shipped = {"PROFIL-2M": 4}
    expected = {
        sku: int(Decimal(STOCK[sku]) - shipped.get(sku, 0) - held)
        for sku, held in {"STRIP-5050": 10, "DRV-100W": 7, "PROFIL-2M": 10}.items()
    }
    assert shop_stock(floor) == expected
    pushes = woo.calls("POST", "/products/batch")
    assert pushes and all(len(r.body["update"]) <= 100 for r in pushes)
    assert all(set(item) <= {"id", "stock_quantity"} for r in pushes for item in r.body["update"])
    assert len(pushes) <= 6, "stock changes are gathered, not pushed one by one"

    # nothing doubled or lost anywhere
    assert len(floor.smartbill.documents("invoice")) == 3
    assert len(floor.smartbill.documents("estimate")) == 1
    assert await conn.fetchval("SELECT count(*) FROM hub_dead_letters") == 0
    assert await ledger_mismatches(conn) == []
    calls = [c.at for c in floor.smartbill.calls]
    assert busiest_window(calls, floor.smartbill.rate.window) <= floor.smartbill.rate.calls


COURIER = {"method_id": "flat_rate", "method_title": "Curier rapid", "total": "20.00"}


def _transport(document: Any) -> dict[str, Any]:
    """The delivery line of a SmartBill document as the hub sent it."""
    [found] = [p for p in document.body["products"] if p["code"] == "TRANSPORT"]
    return {k: found.get(k) for k in ("price", "isService", "taxPercentage")}


async def _gross(conn: asyncpg.Connection, order_id: str) -> Decimal:
    gross: Decimal = await conn.fetchval("SELECT gross FROM orders WHERE id = $1", order_id)
    return gross


async def test_a_shop_cancellation_cancels_an_unconfirmed_order_and_flags_a_confirmed_one(
    floor: Floor,
) -> None:
    woo, conn = floor.woo, floor.conn
    # more than the stock: the hub holds what there is and puts the order on hold
    short = woo.place_order(
        status="processing",
        payment_method="cod",
        billing=CONSUMER,
        line_items=[line("DRV-100W", 200)],
    )
    card = woo.place_order(
        status="processing",
        payment_method="stripe",
        set_paid=True,
        billing=CONSUMER,
        line_items=[line("STRIP-5050", 3)],
    )
    short_id, card_id = floor.hub_id(short), floor.hub_id(card)

    async def settled() -> bool:
        states = await floor.states([short, card])
        return states == {short_id: "on_hold", card_id: "confirmed"}

    await eventually(settled, timeout=30, what="one order on hold, one confirmed")
    await eventually(lambda: floor.documents_of(card_id), what="the card order's invoice")

    woo.change("order", short["id"], status="cancelled")
    woo.change("order", card["id"], status="cancelled")

    await eventually(
        lambda: _state_is(conn, short_id, "cancelled"),
        what="the unconfirmed order cancelled in the hub",
    )
    await eventually(
        lambda: conn.fetchval(
            "SELECT status = 'released' FROM inventory_reservations WHERE id = $1", short_id
        ),
        what="its stock released",
    )
    flagged = await eventually(
        lambda: conn.fetchval(
            "SELECT count(*) FROM hub_outbox WHERE type = 'woocommerce.ShopOrderCancelled' "
            "AND envelope->>'key' = $1",
            f"woocommerce:order:{card['id']}",
        ),
        what="staff told about the confirmed order the shop cancelled",
    )
    assert flagged == 1
    # the invoiced order stands: no storno because someone clicked in the shop
    assert await _state_is(conn, card_id, "confirmed")
    assert len(floor.documents_of(card_id)) == 1 and floor.smartbill.documents("invoice")
    assert all(not d.reverses for d in floor.smartbill.documents("invoice"))
    await eventually(
        lambda: shop_stock(floor)["DRV-100W"] == int(STOCK["DRV-100W"]),
        timeout=20,
        what="the released stock back in the shop",
    )
    assert await conn.fetchval("SELECT count(*) FROM hub_dead_letters") == 0


async def _state_is(conn: asyncpg.Connection, order_id: str, state: str) -> bool:
    return bool(await conn.fetchval("SELECT state = $2 FROM orders WHERE id = $1", order_id, state))
