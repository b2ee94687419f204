"""The pricing API over HTTP: quotes for staff and B2B customers, product prices, audited rule
changes and their effect on the next quote, roles."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from actors.pricing import domain
from actors.pricing.actor import Pricing
from actors.pricing.api import api as pricing_api
from actors.pricing.settings import PricingSettings
from hub.auth import Role
from hub.cache import RedisCache
from hub.edge.keys import HUB
from tests.e2e.api_support import Edge, fill
from tests.integration.pricing.conftest import PRICING_TABLES
from tests.integration.pricing.support import PricingSink, products, send, snapshot
from tests.support import eventually

QUOTE = "/api/v1/prices/quote"
BREAKS = "/api/v1/pricing/volume-breaks"
PROMOTIONS = "/api/v1/pricing/promotions"
MARGINS = "/api/v1/pricing/min-margins"
TIERS = "/api/v1/pricing/customer-tiers"
D = Decimal


def today() -> str:
    return domain.business_date(datetime.now(UTC)).isoformat()


@pytest.fixture
async def edge(
    start_api: Callable[..., Awaitable[Edge]], redis_url: str, prefix: str
) -> AsyncIterator[Edge]:
    """The edge with the pricing routes and actor, and a small demo catalog priced.

    The actor gets its own client of the edge's Redis (same prefix), as another hub process
    would: its cache invalidations reach the edge through the shared price version.
    """
    sink = PricingSink()
    cache = RedisCache(redis_url, prefix=prefix)
    actor = Pricing(PricingSettings(), cache)
    edge = await start_api(apis=[pricing_api], actors=(actor, sink))
    await edge.conn.execute(f"TRUNCATE {PRICING_TABLES} RESTART IDENTITY")
    edge.sink = sink  # type: ignore[attr-defined]
    hub = edge.client.app[HUB]
    await send(
        hub,
        products(
            snapshot("STRIP-1"),  # 10.00 * 1.35 = 13.50 a metre
            snapshot("STRIP-2", cost="20.00"),
            snapshot("BULB-1", category="becuri-led", unit="piece", cost="4.00", margin="0.50"),
            snapshot("OLD-1", category="becuri-led", unit="piece", status="discontinued"),
        ),
    )
    await eventually(lambda: len(sink.changed) == 3, what="the demo catalog priced")
    yield edge
    await cache.close()


def sink_of(edge: Edge) -> PricingSink:
    sink: PricingSink = edge.sink  # type: ignore[attr-defined]
    return sink


async def quote(edge: Edge, token: str, **body: Any) -> tuple[int, dict[str, Any]]:
    status, envelope, _ = await edge.call("POST", QUOTE, token=token, json=body)
    return status, envelope


def lines(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"sku": s, "quantity": q} for s, q in pairs]


async def audit_rows(edge: Edge, action: str) -> list[dict[str, Any]]:
    rows = await edge.conn.fetch("SELECT * FROM audit_log WHERE action = $1 ORDER BY id", action)
    return [dict(r) for r in rows]


# --- quotes -----------------------------------------------------------------------------------


async def test_staff_quote_at_a_tier_has_lines_with_breakdown_and_totals(edge: Edge) -> None:
    token = await edge.as_role(Role.sales)
    status, body = await quote(
        edge, token, tier=2, lines=lines(("STRIP-1", "2.5"), ("BULB-1", "3"))
    )
    assert status == 200, body
    data = body["data"]
    assert (data["tier"], data["customer_id"], data["on"]) == (2, None, today())
    strip, bulb = data["lines"]
    assert (strip["unit_net"], strip["line_net"], strip["vat_rate"]) == ("12.15", "30.38", "0.21")
    assert (strip["line_vat"], strip["line_gross"]) == ("6.38", "36.76")
    assert [s["step"] for s in strip["breakdown"]] == [
        "base",
        "tier",
        "volume",
        "promotion",
        "floor",
        "rounding",
    ]
    assert strip["breakdown"][1] == {
        "step": "tier",
        "amount": "12.150",
        "applied": True,
        "rate": "0.1",
        "rule_id": None,
        "note": "tier 2",
    }
    assert (bulb["unit_net"], bulb["line_net"]) == ("5.40", "16.20")
    assert data["totals"] == {"net": "46.58", "vat": "9.78", "gross": "56.36", "currency": "RON"}


async def test_staff_quote_for_a_customer_uses_its_tier_and_the_supply_date_sets_vat(
    edge: Edge,
) -> None:
    admin = await edge.as_role(Role.admin)
    status, body, _ = await edge.call("PUT", f"{TIERS}/C-1001", token=admin, json={"tier": 1})
    assert status == 200, body
    token = await edge.as_role(Role.service)
    status, body = await quote(
        edge, token, customer_id="C-1001", on="2025-07-31", lines=lines(("STRIP-1", "1"))
    )
    assert status == 200, body
    [line] = body["data"]["lines"]
    assert (body["data"]["tier"], line["unit_net"], line["vat_rate"]) == (1, "12.83", "0.19")
    assert line["line_gross"] == "15.27"


async def test_a_b2b_customer_is_priced_at_its_own_tier_and_no_other(edge: Edge) -> None:
    sales = await edge.as_role(Role.sales)
    await edge.call("PUT", f"{TIERS}/C-7", token=sales, json={"tier": 3})
    customer = await edge.as_role(Role.b2b_customer, customer="C-7")
    status, body = await quote(edge, customer, lines=lines(("STRIP-1", "1")))
    assert status == 200, body
    assert (body["data"]["tier"], body["data"]["customer_id"]) == (3, "C-7")
    assert body["data"]["lines"][0]["unit_net"] == "11.48"
    status, body = await quote(edge, customer, customer_id="C-7", lines=lines(("STRIP-1", "1")))
    assert (status, body["data"]["tier"]) == (200, 3)
    status, body = await quote(edge, customer, customer_id="C-8", lines=lines(("STRIP-1", "1")))
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, body = await quote(edge, customer, tier=0, lines=lines(("STRIP-1", "1")))
    assert (status, body["error"]["code"]) == (403, "forbidden")
    status, body, _ = await edge.call("GET", f"{TIERS}/C-7", token=customer)
    assert (status, body["data"]["tier"]) == (200, 3)
    status, body, _ = await edge.call("GET", f"{TIERS}/C-8", token=customer)
    assert status == 404


async def test_staff_see_the_cost_and_margins_in_a_breakdown_a_customer_does_not(
    edge: Edge,
) -> None:
    seen = {}
    for role in (Role.sales, Role.b2b_customer):
        token = await edge.as_role(role, customer="C-7" if role is Role.b2b_customer else None)
        status, body = await quote(edge, token, lines=lines(("STRIP-1", "1")))
        assert status == 200, body
        seen[role] = body["data"]["lines"][0]
    staff, customer = seen[Role.sales], seen[Role.b2b_customer]
    base, floor = staff["breakdown"][0], staff["breakdown"][4]
    assert (base["rate"], base["note"], floor["rate"]) == ("0.35", "cost 10", "0.10")
    for step in (customer["breakdown"][0], customer["breakdown"][4]):
        assert (step["rate"], step["rule_id"], step["note"]) == (None, None, None), step
    assert customer["breakdown"][0]["amount"] == staff["breakdown"][0]["amount"]  # the list price
    assert customer["breakdown"][1:4] == staff["breakdown"][1:4]  # tier, volume, promotion
    assert customer["unit_net"] == staff["unit_net"] == "13.50"


async def test_unknown_and_inactive_skus_are_a_422_naming_them(edge: Edge) -> None:
    token = await edge.as_role(Role.sales)
    status, body = await quote(
        edge, token, lines=lines(("STRIP-1", "1"), ("NOPE-9", "1"), ("OLD-1", "2"))
    )
    assert status == 422
    error = body["error"]
    assert error["code"] == "unknown_sku"
    assert error["message"] == "unknown or inactive SKU: NOPE-9, OLD-1"
    assert [d["field"] for d in error["details"]] == ["lines[1].sku", "lines[2].sku"]
    status, body = await quote(edge, token, lines=lines(("BULB-1", "1.5")))
    assert (status, body["error"]["code"]) == (422, "invalid_quantity")
    assert "sold by the piece" in body["error"]["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"lines": []},
        {"lines": lines(*[("STRIP-1", "1")] * 201)},
        {"lines": lines(("STRIP-1", "0"))},
        {"lines": lines(("STRIP-1", "100000.5"))},
        {"lines": lines(("STRIP-1", "1")), "tier": 4},
    ],
)
async def test_limits_of_a_quote_are_a_400(edge: Edge, body: dict[str, Any]) -> None:
    token = await edge.as_role(Role.sales)
    status, envelope = await quote(edge, token, **body)
    assert (status, envelope["error"]["code"]) == (400, "validation_error"), envelope


async def test_a_product_price_shows_list_sale_and_the_best_price_explained(edge: Edge) -> None:
    marketing = await edge.as_role(Role.marketing)
    status, body, _ = await edge.call(
        "POST",
        PROMOTIONS,
        token=marketing,
        json={
            "name": "Becuri -20 %",
            "scope": "category",
            "target": "becuri-led",
            "kind": "percent",
            "value": "0.20",
            "valid_from": today(),
            "valid_to": today(),
        },
    )
    assert status == 201, body
    promotion_id = body["data"]["id"]
    status, body, _ = await edge.call("GET", "/api/v1/prices/BULB-1", token=marketing)
    assert status == 200, body
    data = body["data"]
    assert (data["list_net"], data["list_gross"]) == ("6.00", "7.26")
    assert (data["sale_net"], data["sale_gross"], data["promotion_id"]) == (
        "4.80",
        "5.81",
        promotion_id,
    )
    assert data["best_net"] == "4.80"
    assert data["breakdown"][3]["rule_id"] == promotion_id
    status, body, _ = await edge.call("GET", "/api/v1/prices/OLD-1", token=marketing)
    assert status == 404


# --- rules: audited, and seen by the next quote ----------------------------------------------


async def test_a_rule_change_is_audited_and_the_next_quote_reflects_it(edge: Edge) -> None:
    sales = await edge.as_role(Role.sales)
    cart = lines(("STRIP-1", "60"), ("STRIP-2", "1"))
    _, before = await quote(edge, sales, lines=cart)  # now cached everywhere
    assert before["data"]["lines"][0]["unit_net"] == "13.50"
    status, body, _ = await edge.call(
        "POST",
        BREAKS,
        token=sales,
        json={
            "scope": "category",
            "target": "benzi-led-monocolor",
            "min_quantity": "50",
            "discount": "0.08",
        },
    )
    assert status == 201, body
    created = body["data"]
    _, after = await quote(edge, sales, lines=cart)
    first = after["data"]["lines"][0]
    assert first["unit_net"] == "12.42"
    assert (first["breakdown"][2]["rule_id"], first["breakdown"][2]["applied"]) == (
        created["id"],
        True,
    )
    assert after["data"]["lines"][1]["unit_net"] == "27.00"
    [entry] = await audit_rows(edge, "pricing.volume_breaks.create")
    assert (entry["entity_type"], entry["entity_id"], entry["status"]) == (
        "volume_break",
        str(created["id"]),
        201,
    )
    assert entry["after"]["discount"] == "0.0800" and entry["before"] is None

    status, body, _ = await edge.call(
        "PUT",
        f"{BREAKS}/{created['id']}",
        token=sales,
        json={
            "scope": "category",
            "target": "benzi-led-monocolor",
            "min_quantity": "50",
            "discount": "0.10",
        },
    )
    assert status == 200, body
    _, again = await quote(edge, sales, lines=cart)
    assert again["data"]["lines"][0]["unit_net"] == "12.15"
    [update] = await audit_rows(edge, "pricing.volume_breaks.update")
    assert (update["before"]["discount"], update["after"]["discount"]) == ("0.0800", "0.1000")

    status, body, _ = await edge.call("DELETE", f"{BREAKS}/{created['id']}", token=sales)
    assert status == 200, body
    _, last = await quote(edge, sales, lines=cart)
    assert last["data"]["lines"][0]["unit_net"] == "13.50"
    [deleted] = await audit_rows(edge, "pricing.volume_breaks.delete")
    assert deleted["before"]["id"] == created["id"] and deleted["after"] is None


async def test_a_promotion_reprices_its_products_and_publishes_their_new_prices(
    edge: Edge,
) -> None:
    sink = sink_of(edge)
    marketing = await edge.as_role(Role.marketing)
    status, body, _ = await edge.call(
        "POST",
        PROMOTIONS,
        token=marketing,
        json={
            "name": "Strip 2",
            "scope": "sku",
            "target": "STRIP-2",
            "kind": "fixed",
            "value": "25",
            "valid_from": today(),
            "valid_to": today(),
        },
    )
    assert status == 201, body
    await eventually(lambda: len(sink.changed) == 4, what="STRIP-2's PriceChanged")
    event = sink.changed[-1]
    assert (event.sku, event.list_net, event.sale_net) == ("STRIP-2", D("27.00"), D("25.00"))
    assert event.reason == f"promotion {body['data']['id']} created"
    timer = await edge.conn.fetchval("SELECT name FROM hub_timers")
    assert timer == f"pricing:promotion:{body['data']['id']}:end"


async def test_a_min_margin_override_holds_the_price_up(edge: Edge) -> None:
    admin = await edge.as_role(Role.admin)
    status, body, _ = await edge.call(
        "POST",
        MARGINS,
        token=admin,
        json={"scope": "sku", "target": "STRIP-1", "min_margin": "0.30"},
    )
    assert status == 201, body
    _, quoted = await quote(edge, admin, tier=3, lines=lines(("STRIP-1", "1")))
    [line] = quoted["data"]["lines"]
    assert line["unit_net"] == "13.00"  # tier 3 would be 11.48
    assert (line["breakdown"][4]["applied"], line["breakdown"][4]["rule_id"]) == (
        True,
        body["data"]["id"],
    )
    status, body, _ = await edge.call(
        "POST",
        MARGINS,
        token=admin,
        json={"scope": "sku", "target": "STRIP-1", "min_margin": "0.20"},
    )
    assert (status, body["error"]["code"]) == (422, "domain_error")
    assert "already exists" in body["error"]["message"]


async def test_a_cost_change_from_the_catalog_reaches_the_next_quotes_within_a_second(
    edge: Edge,
) -> None:
    sales = await edge.as_role(Role.sales)
    _, first = await quote(edge, sales, lines=lines(("STRIP-1", "1")))
    assert first["data"]["lines"][0]["unit_net"] == "13.50"
    await send(edge.client.app[HUB], products(snapshot("STRIP-1", version=2, cost="12.00")))

    async def repriced() -> bool:
        _, body = await quote(edge, sales, lines=lines(("STRIP-1", "1")))
        return bool(body["data"]["lines"][0]["unit_net"] == "16.20")

    await eventually(repriced, timeout=5, interval=0.1, what="the new cost in a quote")


async def test_rule_lists_page_and_filter(edge: Edge) -> None:
    sales = await edge.as_role(Role.sales)
    for at in ("10", "50", "100"):
        body = {
            "scope": "category",
            "target": "benzi-led-rgb",
            "min_quantity": at,
            "discount": "0.05",
        }
        assert (await edge.call("POST", BREAKS, token=sales, json=body))[0] == 201
    await edge.call(
        "POST",
        BREAKS,
        token=sales,
        json={"scope": "sku", "target": "STRIP-1", "min_quantity": "5", "discount": "0.02"},
    )
    warehouse = await edge.as_role(Role.warehouse)
    status, body, _ = await edge.call(
        "GET", BREAKS, token=warehouse, params={"target": "benzi-led-rgb", "limit": "2"}
    )
    assert status == 200
    assert [b["min_quantity"] for b in body["data"]] == ["10.000", "50.000"]
    cursor = body["metadata"]["next_cursor"]
    _, body, _ = await edge.call(
        "GET", BREAKS, token=warehouse, params={"target": "benzi-led-rgb", "cursor": cursor}
    )
    assert [b["min_quantity"] for b in body["data"]] == ["100.000"]
    assert body["metadata"]["next_cursor"] is None


async def test_who_may_change_what(edge: Edge) -> None:
    breaks = {"scope": "category", "target": "x", "min_quantity": "10", "discount": "0.05"}
    promotion = {
        "name": "p",
        "scope": "category",
        "target": "x",
        "kind": "percent",
        "value": "0.1",
        "valid_from": today(),
        "valid_to": today(),
    }
    marketing = await edge.as_role(Role.marketing)
    assert (await edge.call("POST", BREAKS, token=marketing, json=breaks))[0] == 403
    assert (await edge.call("POST", PROMOTIONS, token=marketing, json=promotion))[0] == 201
    warehouse = await edge.as_role(Role.warehouse)
    assert (await edge.call("POST", PROMOTIONS, token=warehouse, json=promotion))[0] == 403
    assert (await edge.call("PUT", f"{TIERS}/C-1", token=warehouse, json={"tier": 3}))[0] == 403
    customer = await edge.as_role(Role.b2b_customer, customer="C-1")
    assert (await edge.call("PUT", f"{TIERS}/C-1", token=customer, json={"tier": 3}))[0] == 403
    assert (await edge.call("GET", BREAKS, token=customer))[0] == 403
    [refused] = await audit_rows(edge, "pricing.volume_breaks.create")
    assert refused["status"] == 403


async def test_every_pricing_route_refuses_the_anonymous_and_the_roles_it_does_not_admit(
    edge: Edge,
) -> None:
    routes = [r for r in pricing_api.routes]
    assert len(routes) >= 20
    for route in routes:
        status, body, _ = await edge.call(route.method, fill(route.path))
        assert status == 401, (route.name, body)
        for role in sorted(set(Role) - route.roles):  # type: ignore[operator]
            token = await edge.as_role(role, customer="C-1" if role is Role.b2b_customer else None)
            status, body, _ = await edge.call(route.method, fill(route.path), token=token)
            assert status == 403, (route.name, role, body)
    status, body, _ = await edge.call("GET", "/api/v1/openapi.json")
    documented = {op["operationId"] for path in body["paths"].values() for op in path.values()}
    assert {r.name for r in routes} <= documented


async def test_an_admin_reprices_everything_on_demand(edge: Edge) -> None:
    sink = sink_of(edge)
    admin = await edge.as_role(Role.admin)
    status, body, _ = await edge.call(
        "POST", "/api/v1/pricing/reprice", token=admin, json={"everything": True}
    )
    assert (status, body["data"]) == (202, {"queued": True})
    await eventually(lambda: any(r.reason.startswith("manual") for r in sink.repriced))
    manual = next(r for r in sink.repriced if r.reason.startswith("manual"))
    assert (manual.checked, manual.changed) == (4, 0)
    [entry] = await audit_rows(edge, "pricing.reprice")
    assert entry["after"] == {"skus": [], "categories": [], "everything": True}


async def test_a_price_quote_is_a_computation_and_leaves_no_audit_entry(
    start_api: Callable[..., Awaitable[Edge]],
) -> None:
    edge = await start_api(apis=[pricing_api])
    token = await edge.as_role(Role.sales)
    status, _, _ = await edge.call(
        "POST",
        "/api/v1/prices/quote",
        token=token,
        json={"lines": [{"sku": "NOPE", "quantity": 1}]},
    )
    assert status == 422
    assert await edge.conn.fetchval("SELECT count(*) FROM audit_log") == 0
