"""The inventory API over HTTP: receipts, transfers and adjustments recorded as movements with
their author and audited; the ledger adds up; B2B customers see only what the shop may sell;
stock value from the catalog's costs; lists, filters and paging; roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import pytest

from actors.catalog.messages import Attributes, ProductsChanged, ProductSnapshot
from actors.inventory.actor import InventoryActor
from actors.inventory.api import api as inventory_api
from hub import seeds
from hub.auth import Role
from hub.edge.api import ALL_ROLES, STAFF
from tests.e2e.api_support import Edge, fill
from tests.integration.inventory.support import clean, ledger_mismatches
from tests.support import eventually

BASE = "/api/v1/inventory"
KEEPERS = {Role.admin, Role.ops, Role.warehouse}


@pytest.fixture
async def inv(start_api: Callable[..., Awaitable[Edge]]) -> Edge:
    edge = await start_api(apis=[inventory_api], actors=(InventoryActor(),))
    await clean(edge.conn)
    return edge


async def keeper(edge: Edge) -> str:
    return await edge.as_role(Role.warehouse)


async def post(edge: Edge, path: str, body: dict[str, Any], token: str | None = None) -> Any:
    status, envelope, _ = await edge.call(
        "POST", f"{BASE}/{path}", token=token or await keeper(edge), json=body
    )
    assert status == 201, envelope
    return envelope["data"]


async def get(edge: Edge, path: str, token: str | None = None, **params: Any) -> Any:
    status, envelope, _ = await edge.call(
        "GET", f"{BASE}/{path}", token=token or await keeper(edge), params=params
    )
    assert status == 200, envelope
    return envelope


async def receive(edge: Edge, warehouse: str, reason: str = "NIR 12", **lines: str) -> Any:
    return await post(
        edge,
        "receipts",
        {
            "warehouse": warehouse,
            "reason": reason,
            "lines": [{"sku": s.replace("_", "-"), "quantity": q} for s, q in lines.items()],
        },
    )


async def audit(edge: Edge, action: str) -> list[dict[str, Any]]:
    rows = await edge.conn.fetch("SELECT * FROM audit_log WHERE action = $1 ORDER BY id", action)
    return [dict(r) for r in rows]


def by_warehouse(view: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {w["warehouse"]: (w["on_hand"], w["reserved"]) for w in view["warehouses"]}


async def test_a_receipt_is_a_movement_with_its_author_audited_and_published(inv: Edge) -> None:
    token = await keeper(inv)
    user_id = int(inv.tokens.verify_access(token).id)
    data = await post(
        inv,
        "receipts",
        {
            "warehouse": "W2",
            "reason": "NIR 2041 Arelux",
            "reference": "NIR-2041",
            "lines": [
                {"sku": "STRIP-5050", "quantity": "125.5"},
                {"sku": "DRV-60W", "quantity": "12"},
            ],
        },
        token,
    )
    assert data["reference"] == "NIR-2041"
    assert [(m["kind"], m["sku"], m["warehouse"], m["quantity"]) for m in data["movements"]] == [
        ("receipt", "DRV-60W", "W2", "12"),
        ("receipt", "STRIP-5050", "W2", "125.5"),
    ]
    assert {m["author"] for m in data["movements"]} == {f"user:{user_id}"}
    assert {m["reason"] for m in data["movements"]} == {"NIR 2041 Arelux"}
    [entry] = await audit(inv, "inventory.receipts.create")
    assert (entry["actor"], entry["entity_type"], entry["entity_id"]) == (
        f"user:{user_id}",
        "stock_receipt",
        "NIR-2041",
    )
    assert entry["status"] == 201
    assert entry["before"]["STRIP-5050@W2"] == {"on_hand": "0", "reserved": "0"}
    assert entry["after"]["STRIP-5050@W2"] == {"on_hand": "125.5", "reserved": "0"}
    view = (await get(inv, "stock/STRIP-5050"))["data"]
    assert (view["on_hand"], view["available"], view["published"]) == ("125.5", "125.5", "125.5")
    assert by_warehouse(view) == {"W2": ("125.5", "0")}
    changed = await inv.conn.fetch(
        "SELECT body, envelope FROM hub_outbox WHERE type = 'inventory.StockChanged' ORDER BY id"
    )
    assert [r["envelope"]["actor"] for r in changed] == [f"user:{user_id}"] * 2
    assert (
        b'"sku":"STRIP-5050","available":"125.5","published":"125.5","version":1'
        in changed[1]["body"]
    )


async def test_transfers_and_adjustments_keep_the_ledger_and_never_touch_reserved_stock(
    inv: Edge,
) -> None:
    await receive(inv, "HQ", BULB_E27="40", STRIP_2835="50.25")
    transfer = await post(
        inv,
        "transfers",
        {
            "from_warehouse": "HQ",
            "to_warehouse": "W3",
            "reason": "restock showroom",
            "lines": [{"sku": "STRIP-2835", "quantity": "20.125"}],
        },
    )
    assert transfer["reference"].startswith("transfer:")
    assert [(m["warehouse"], m["quantity"]) for m in transfer["movements"]] == [
        ("HQ", "-20.125"),
        ("W3", "20.125"),
    ]
    await post(
        inv,
        "adjustments",
        {
            "warehouse": "HQ",
            "reason": "stocktake 2026-11",
            "lines": [
                {"sku": "BULB-E27", "counted": "37"},
                {"sku": "STRIP-2835", "delta": "-0.125"},
            ],
        },
    )
    view = (await get(inv, "stock/STRIP-2835"))["data"]
    assert by_warehouse(view) == {"HQ": ("30", "0"), "W3": ("20.125", "0")}
    assert by_warehouse((await get(inv, "stock/BULB-E27"))["data"]) == {"HQ": ("37", "0")}

    # Hold 35 of the bulbs: only 2 are free to move or write off.
    await inv.conn.execute(
        "UPDATE inventory_stock SET reserved = 35 WHERE sku = 'BULB-E27' AND warehouse = 'HQ'"
    )
    await inv.conn.execute(
        "INSERT INTO inventory_movements (kind, sku, warehouse, quantity, reason, author) "
        "VALUES ('reservation', 'BULB-E27', 'HQ', 35, 'test hold', 'test')"
    )
    token = await keeper(inv)
    refused = [
        (
            "transfers",
            {
                "from_warehouse": "HQ",
                "to_warehouse": "W2",
                "reason": "x",
                "lines": [{"sku": "BULB-E27", "quantity": "3"}],
            },
            "BULB-E27 in HQ: 2 available (35 reserved of 37), not enough for this transfer",
        ),
        (
            "adjustments",
            {"warehouse": "HQ", "reason": "broken", "lines": [{"sku": "BULB-E27", "delta": "-3"}]},
            "BULB-E27 in HQ: 2 available (35 reserved of 37), not enough for this adjustment",
        ),
        (
            "transfers",
            {
                "from_warehouse": "HQ",
                "to_warehouse": "HQ",
                "reason": "x",
                "lines": [{"sku": "BULB-E27", "quantity": "1"}],
            },
            "a transfer needs two different warehouses, got HQ twice",
        ),
        (
            "receipts",
            {"warehouse": "W9", "reason": "x", "lines": [{"sku": "BULB-E27", "quantity": "1"}]},
            "unknown warehouse 'W9': one of HQ, W2, W3",
        ),
        (
            "receipts",
            {
                "warehouse": "HQ",
                "reason": "x",
                "lines": [{"sku": "BULB-E27", "quantity": "1.0001"}],
            },
            "invalid quantity of BULB-E27 1.0001: at most three decimals",
        ),
        (
            "adjustments",
            {
                "warehouse": "HQ",
                "reason": "x",
                "lines": [{"sku": "BULB-E27", "delta": "1", "counted": "3"}],
            },
            "BULB-E27: give either delta or counted",
        ),
    ]
    for path, body, message in refused:
        status, envelope, _ = await inv.call("POST", f"{BASE}/{path}", token=token, json=body)
        assert (status, envelope["error"]["message"]) == (422, message), envelope
    statuses = await inv.conn.fetch(
        "SELECT status FROM audit_log WHERE action LIKE 'inventory.%' AND status = 422"
    )
    assert len(statuses) == len(refused)  # refused changes are audited too
    assert by_warehouse((await get(inv, "stock/BULB-E27"))["data"]) == {"HQ": ("37", "35")}
    assert await ledger_mismatches(inv.conn) == []


async def test_movements_are_listed_newest_first_with_filters_and_paging(inv: Edge) -> None:
    await receive(inv, "HQ", A="1", B="2", C="3")
    since = datetime.now(UTC)
    await receive(inv, "W2", A="4")
    await post(
        inv,
        "adjustments",
        {"warehouse": "HQ", "reason": "lost", "lines": [{"sku": "A", "delta": "-1"}]},
    )
    pages, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        envelope = await get(inv, "movements", **params)
        pages.append([(m["sku"], m["kind"], m["quantity"]) for m in envelope["data"]])
        cursor = envelope["metadata"]["next_cursor"]
        if cursor is None:
            break
    assert pages == [
        [("A", "adjustment", "-1"), ("A", "receipt", "4")],
        [("C", "receipt", "3"), ("B", "receipt", "2")],
        [("A", "receipt", "1")],
    ]
    only_a = (await get(inv, "movements", sku="A", kind="receipt"))["data"]
    assert [m["quantity"] for m in only_a] == ["4", "1"]
    recent = (await get(inv, "movements", since=since.isoformat()))["data"]
    assert [m["kind"] for m in recent] == ["adjustment", "receipt"]
    status, envelope, _ = await inv.call(
        "GET", f"{BASE}/movements", token=await keeper(inv), params={"kind": "theft"}
    )
    assert status == 400 and envelope["error"]["code"] == "validation_error"


async def test_stock_list_filters_by_sku_warehouse_and_reorder_point(inv: Edge) -> None:
    await receive(inv, "HQ", LED_1="10", LED_2="3", LED_3="7", PROF_1="1")
    await receive(inv, "W3", LED_1="5", LED_2="1")
    token = await inv.as_role(Role.ops)
    for sku, point in (("LED-1", "20"), ("LED-2", "2"), ("PROF-1", "5")):
        status, envelope, _ = await inv.call(
            "PUT", f"{BASE}/skus/{sku}/settings", token=token, json={"reorder_point": point}
        )
        assert status == 200, envelope
    rows, cursor = [], None
    while True:
        envelope = await get(
            inv, "stock", sku="LED", limit=2, **({"cursor": cursor} if cursor else {})
        )
        rows += [(r["sku"], r["warehouse"], r["available"]) for r in envelope["data"]]
        if (cursor := envelope["metadata"]["next_cursor"]) is None:
            break
    assert rows == [
        ("LED-1", "HQ", "10"),
        ("LED-1", "W3", "5"),
        ("LED-2", "HQ", "3"),
        ("LED-2", "W3", "1"),
        ("LED-3", "HQ", "7"),
    ]
    low = (await get(inv, "stock", below_reorder="true"))["data"]
    assert sorted({r["sku"] for r in low}) == ["LED-1", "PROF-1"]
    w3 = (await get(inv, "stock", warehouse="W3"))["data"]
    assert [r["sku"] for r in w3] == ["LED-1", "LED-2"]
    status, _, _ = await inv.call("GET", f"{BASE}/stock/NOPE", token=token)
    assert status == 404


async def test_b2b_customers_see_only_what_the_shop_may_sell(inv: Edge) -> None:
    await receive(inv, "HQ", STRIP_RGB="30")
    await receive(inv, "W2", STRIP_RGB="12.5", DRV_100W="2")
    ops = await inv.as_role(Role.ops)
    status, envelope, _ = await inv.call(
        "PUT", f"{BASE}/skus/STRIP-RGB/settings", token=ops, json={"safety_buffer": "10"}
    )
    assert status == 200, envelope
    assert envelope["data"]["published"] == "32.5"
    await inv.call("PUT", f"{BASE}/skus/DRV-100W/settings", token=ops, json={"safety_buffer": "5"})
    customer = await inv.as_role(Role.b2b_customer, customer="C-42")
    envelope = await get(inv, "availability", customer, sku="STRIP-RGB,DRV-100W,UNKNOWN")
    assert envelope["data"] == [
        {"sku": "STRIP-RGB", "available": "32.5", "in_stock": True},
        {"sku": "DRV-100W", "available": "0", "in_stock": False},
        {"sku": "UNKNOWN", "available": "0", "in_stock": False},
    ]
    for path in ("stock", "stock/STRIP-RGB", "movements", "value"):
        status, envelope, _ = await inv.call("GET", f"{BASE}/{path}", token=customer)
        assert status == 403, path
    published = await inv.conn.fetch(
        "SELECT body FROM hub_outbox WHERE type = 'inventory.StockChanged' ORDER BY id"
    )
    assert (
        b'"sku":"STRIP-RGB","available":"42.5","published":"32.5","version":3'
        in published[-2]["body"]
    )
    entry = (await audit(inv, "inventory.skus.settings"))[0]
    assert entry["entity_id"] == "STRIP-RGB"
    assert entry["before"] == {"reorder_point": None, "safety_buffer": None}
    assert entry["after"] == {"reorder_point": None, "safety_buffer": "10"}


async def test_stock_value_uses_the_catalogs_costs(inv: Edge) -> None:
    await receive(inv, "HQ", STRIP_A="100.5", BULB_B="10", NOCOST="3")
    await receive(inv, "W3", BULB_B="4")

    def product(sku: str, cost: str, version: int = 1) -> ProductSnapshot:
        return ProductSnapshot(
            sku=sku,
            version=version,
            name=sku,
            ean=None,
            category="benzi-led",
            unit="metre" if sku.startswith("STRIP") else "piece",
            cost=D(cost),
            margin=D("0.3"),
            status="active",
            attributes=Attributes(),
        )

    async with inv.conn.transaction():
        await seeds.emit(
            inv.conn,
            ProductsChanged(products=(product("STRIP-A", "12.345"), product("BULB-B", "4.5"))),
        )
    await eventually(
        lambda: inv.conn.fetchval("SELECT count(*) = 2 FROM inventory_skus WHERE cost IS NOT NULL")
    )
    value = (await get(inv, "value", await inv.as_role(Role.marketing)))["data"]
    # HQ: 100.5 x 12.345 + 10 x 4.5 = 1240.6725 + 45; W3: 4 x 4.5
    assert value == {
        "currency": "RON",
        "total": "1303.67",
        "warehouses": [
            {"warehouse": "HQ", "name": "Sediu (HQ)", "value": "1285.67", "skus_without_cost": 1},
            {"warehouse": "W2", "name": "Depozit 2", "value": "0.00", "skus_without_cost": 0},
            {"warehouse": "W3", "name": "Depozit 3", "value": "18.00", "skus_without_cost": 0},
        ],
        "skus_without_cost": 1,
    }
    # Now the catalog says BULB-B is sold by the piece: fractions are refused.
    status, envelope, _ = await inv.call(
        "POST",
        f"{BASE}/receipts",
        token=await keeper(inv),
        json={"warehouse": "HQ", "reason": "x", "lines": [{"sku": "BULB-B", "quantity": "1.5"}]},
    )
    assert (status, envelope["error"]["message"]) == (
        422,
        "BULB-B is sold by the piece: 1.5 is not whole",
    )


async def test_every_route_declares_its_roles(inv: Edge) -> None:
    routes = [r for r in inv.routes if r.name.startswith("inventory.")]
    assert len(routes) == 9
    status, doc, _ = await inv.call("GET", "/api/v1/openapi.json")
    for route in routes:
        assert route.path in doc["paths"], route.path
        path = fill(route.path, "X")
        status, _, _ = await inv.call(route.method, path)
        assert status == 401, route.name
        admitted = route.roles
        assert admitted in (STAFF, ALL_ROLES, frozenset(KEEPERS)), route.name
        for role in set(Role) - set(admitted):  # type: ignore[arg-type]
            token = await inv.as_role(role, customer="C-1" if role is Role.b2b_customer else None)
            status, _envelope, _ = await inv.call(route.method, path, token=token, json={})
            assert status == 403, (route.name, role)
