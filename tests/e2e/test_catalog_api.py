"""The catalog over HTTP: products, categories, streamed import and export, the B2B view, the
events each change publishes and the audit trail."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
import pytest

from actors.catalog import api as catalog_api
from actors.catalog import store
from actors.catalog.demo import demo_categories
from actors.catalog.messages import ProductsChanged
from actors.catalog.settings import CatalogSettings
from hub.auth import Role
from hub.messages import decode
from tests.e2e.api_support import Edge, fill

PRODUCTS = "/api/v1/catalog/products"
IMPORT = "/api/v1/catalog/import"
EXPORT = "/api/v1/catalog/export"
CATEGORIES = "/api/v1/catalog/categories"


@pytest.fixture
async def edge(start_api: Callable[..., Awaitable[Edge]]) -> Edge:
    running = await start_api(apis=[catalog_api.api])
    await running.conn.execute(
        "TRUNCATE catalog_import_batches, catalog_products, catalog_categories"
    )
    for category in demo_categories():
        await store.add_category(running.conn, category)
    return running


def driver(sku: str = "SA24-150-IP20", **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sku": sku,
        "name": "Sursă alimentare 24V 150W IP20",
        "category": "surse-alimentare",
        "cost": "80.50",
        "margin": "0.40",
        "status": "active",
        "ean": "5940000000011",
        "attributes": {"power_w": "150", "voltage_v": 24, "ip_rating": "IP20"},
    }
    body.update(kw)
    return body


async def events(edge: Edge) -> list[tuple[str, ProductsChanged]]:
    """``(key, event)`` of every ProductsChanged written to the outbox, oldest first."""
    rows = await edge.conn.fetch(
        "SELECT envelope, body FROM hub_outbox WHERE type = 'catalog.ProductsChanged' ORDER BY id"
    )
    out = []
    for r in rows:
        event = decode("catalog.ProductsChanged", r["body"])
        assert isinstance(event, ProductsChanged)
        out.append((r["envelope"]["key"], event))
    return out


async def create(edge: Edge, body: dict[str, Any]) -> dict[str, Any]:
    token = await edge.as_role(Role.sales)
    status, envelope, _ = await edge.call("POST", PRODUCTS, token=token, json=body)
    assert status == 201, envelope
    data: dict[str, Any] = envelope["data"]
    return data


async def upload(
    edge: Edge, data: Any, *, fmt: str = "csv", content_type: str = "text/csv", **params: Any
) -> tuple[int, dict[str, Any]]:
    token = await edge.as_role(Role.admin)
    status, envelope, _ = await edge.call(
        "POST",
        IMPORT,
        token=token,
        data=data,
        headers={"Content-Type": content_type},
        params={"format": fmt, **params},
    )
    return status, envelope


async def download(edge: Edge, role: Role = Role.admin, **params: Any) -> tuple[Any, str]:
    token = await edge.as_role(role, customer="C-9" if role is Role.b2b_customer else None)
    resp = await edge.client.get(
        EXPORT, params=params, headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status == 200, await resp.text()
    return resp, await resp.text()


# --- products -----------------------------------------------------------------------------------


async def test_creating_a_product_publishes_its_snapshot_and_audits_it(edge: Edge) -> None:
    data = await create(edge, driver(sku="sa24-150-ip20"))
    assert (data["sku"], data["version"], data["cost"], data["margin"]) == (
        "SA24-150-IP20",
        1,
        "80.5000",
        "0.4000",
    )
    [(key, event)] = await events(edge)
    assert key == "sku:SA24-150-IP20" and event.batch_id is None
    [snap] = event.products
    assert (snap.sku, snap.version, snap.unit, snap.status) == (
        "SA24-150-IP20",
        1,
        "piece",
        "active",
    )
    assert "cost" in snap.changed and "margin" in snap.changed
    [entry] = await edge.conn.fetch(
        "SELECT * FROM audit_log WHERE action = 'catalog.products.create'"
    )
    assert (entry["entity_type"], entry["entity_id"], entry["status"]) == (
        "product",
        "SA24-150-IP20",
        201,
    )
    assert entry["after"]["cost"] == "80.5000" and entry["before"] is None

    status, body, _ = await edge.call(
        "POST", PRODUCTS, token=await edge.as_role(Role.sales), json=driver()
    )
    assert status == 409 and body["error"]["code"] == "exists"
    assert len(await events(edge)) == 1


async def test_a_broken_rule_is_422_naming_each_field(edge: Edge) -> None:
    bad = driver(ean="5940000000012", margin="10", attributes={"ip_rating": "IP99", "cct_k": 50})
    status, body, _ = await edge.call(
        "POST", PRODUCTS, token=await edge.as_role(Role.admin), json=bad
    )
    assert status == 422 and body["error"]["code"] == "invalid_product"
    fields = {d["field"] for d in body["error"]["details"]}
    assert fields == {"ean", "margin", "attributes.cct_k", "attributes.ip_rating"}
    assert await events(edge) == []
    [entry] = await edge.conn.fetch(
        "SELECT * FROM audit_log WHERE action = 'catalog.products.create'"
    )
    assert entry["status"] == 422 and entry["entity_id"] == "SA24-150-IP20"


async def test_patch_needs_the_current_version_and_publishes_only_real_changes(edge: Edge) -> None:
    await create(edge, driver())
    sales = await edge.as_role(Role.sales)
    path = f"{PRODUCTS}/SA24-150-IP20"
    status, body, _ = await edge.call(
        "PATCH", path, token=sales, json={"version": 1, "cost": "82", "attributes": {"cri": 80}}
    )
    assert status == 200, body
    assert (body["data"]["version"], body["data"]["cost"]) == (2, "82.0000")
    assert body["data"]["attributes"]["power_w"] == "150"  # attributes merge

    status, body, _ = await edge.call("PATCH", path, token=sales, json={"version": 1, "cost": "90"})
    assert status == 409
    assert body["error"] == {
        "code": "version_conflict",
        "message": "SA24-150-IP20 is at version 2, not 1",
    }

    status, body, _ = await edge.call(
        "PATCH", path, token=sales, json={"version": 2, "cost": "82.00"}
    )
    assert status == 200 and body["data"]["version"] == 2  # nothing changed

    published = await events(edge)
    assert [(k, e.products[0].version, e.products[0].changed) for k, e in published] == [
        ("sku:SA24-150-IP20", 1, published[0][1].products[0].changed),
        ("sku:SA24-150-IP20", 2, ("cost", "attributes")),
    ]
    audits = await edge.conn.fetch(
        "SELECT status, before, after FROM audit_log WHERE action = 'catalog.products.update' "
        "ORDER BY id"
    )
    assert [a["status"] for a in audits] == [200, 409, 200]
    assert audits[0]["before"]["cost"] == "80.5000" and audits[0]["after"]["cost"] == "82.0000"

    status, body, _ = await edge.call(
        "PATCH", f"{PRODUCTS}/NOPE-1", token=sales, json={"version": 1}
    )
    assert status == 404


async def test_b2b_customers_see_active_products_without_cost_or_margin(edge: Edge) -> None:
    await create(edge, driver())
    await create(edge, driver(sku="SA24-200-IP20", ean=None, status="draft"))
    b2b = await edge.as_role(Role.b2b_customer, customer="C-9")

    status, body, _ = await edge.call("GET", PRODUCTS, token=b2b)
    assert status == 200
    assert [p["sku"] for p in body["data"]] == ["SA24-150-IP20"]
    assert "cost" not in body["data"][0] and "margin" not in body["data"][0]
    status, body, _ = await edge.call("GET", PRODUCTS, token=b2b, params={"status": "draft"})
    assert body["data"] == []

    status, body, _ = await edge.call("GET", f"{PRODUCTS}/SA24-150-IP20", token=b2b)
    assert status == 200 and "cost" not in body["data"]
    status, body, _ = await edge.call("GET", f"{PRODUCTS}/SA24-200-IP20", token=b2b)
    assert status == 404

    _, text = await download(edge, Role.b2b_customer)
    rows = list(csv.reader(io.StringIO(text)))
    assert "cost" not in rows[0] and "margin" not in rows[0]
    assert [r[0] for r in rows[1:]] == ["SA24-150-IP20"]
    _, lines = await download(edge, Role.b2b_customer, format="json")
    [line] = lines.splitlines()
    assert "cost" not in json.loads(line)

    warehouse = await edge.as_role(Role.warehouse)
    status, body, _ = await edge.call("GET", f"{PRODUCTS}/SA24-200-IP20", token=warehouse)
    assert status == 200 and body["data"]["cost"] == "80.5000"
    status, _, _ = await edge.call("POST", PRODUCTS, token=b2b, json=driver(sku="X1"))
    assert status == 403


async def test_the_list_filters_sorts_and_pages(edge: Edge) -> None:
    for i, name in enumerate(["Bec LED E27 9W", "Bandă LED 24V", "Bec LED E14 5W", "Spot LED"]):
        await create(edge, driver(sku=f"P{i}", name=name, ean=None, category="becuri-led"))
    await create(edge, driver(sku="Z9", ean=None, status="discontinued"))
    staff = await edge.as_role(Role.marketing)

    async def skus(**params: Any) -> list[str]:
        status, body, _ = await edge.call("GET", PRODUCTS, token=staff, params=params)
        assert status == 200, body
        return [p["sku"] for p in body["data"]]

    assert await skus(category="becuri-led", sort="-sku") == ["P3", "P2", "P1", "P0"]
    assert await skus(status="discontinued") == ["Z9"]
    assert await skus(q="bec led") == ["P0", "P2"]
    assert await skus(q="p") == ["P0", "P1", "P2", "P3"]

    seen: list[str] = []
    params: dict[str, Any] = {"sort": "name", "limit": 2}
    while True:
        status, body, _ = await edge.call("GET", PRODUCTS, token=staff, params=params)
        seen += [p["name"] for p in body["data"]]
        if body["metadata"]["next_cursor"] is None:
            break
        params["cursor"] = body["metadata"]["next_cursor"]
    assert seen == sorted(seen) and len(seen) == 5
    status, body, _ = await edge.call("GET", PRODUCTS, token=staff, params={"sort": "cost"})
    assert status == 400


# --- categories ---------------------------------------------------------------------------------


async def test_categories_list_the_tree_with_counts_and_can_be_added(edge: Edge) -> None:
    await create(edge, driver(sku="P1", ean=None, category="panouri-led"))
    await create(edge, driver(sku="P2", ean=None, category="spoturi-led", status="draft"))
    staff, b2b = await edge.as_role(Role.ops), await edge.as_role(Role.b2b_customer)
    _, body, _ = await edge.call("GET", CATEGORIES, token=staff)
    tree = {c["code"]: c for c in body["data"]}
    assert tree["spoturi-led"]["parent"] == "corpuri-iluminat"
    assert tree["corpuri-iluminat"]["products_with_subcategories"] == 2
    _, body, _ = await edge.call("GET", CATEGORIES, token=b2b)
    assert {c["code"]: c for c in body["data"]}["corpuri-iluminat"][
        "products_with_subcategories"
    ] == 1

    sales = await edge.as_role(Role.sales)
    new = {"code": "aplice", "name": "Aplice", "parent": "corpuri-iluminat"}
    status, body, _ = await edge.call("POST", CATEGORIES, token=sales, json=new)
    assert status == 201 and body["data"]["code"] == "aplice"
    status, body, _ = await edge.call("POST", CATEGORIES, token=sales, json=new)
    assert status == 422 and body["error"]["details"][0]["field"] == "code"
    status, body, _ = await edge.call(
        "POST", CATEGORIES, token=sales, json={"code": "x-y", "name": "X", "parent": "nu-exista"}
    )
    assert status == 422 and body["error"]["details"][0]["field"] == "parent"


# --- import -------------------------------------------------------------------------------------

ROMANIAN_CSV = (
    "Cod;Denumire;Categorie;UM;Preț achiziție;Adaos;Stare;Putere;Tensiune;IP\r\n"
    "BL24-144-40K;Bandă LED 24V 4000K;benzi-led-monocolor;m;17,46;35%;activ;14,4;24;IP20\r\n"
    "BL24-144-30K;Bandă LED 24V 3000K;benzi-led-monocolor;m;17,46;0,35;activ;14,4;24;IP20\r\n"
    "SA24-100;Sursă 24V 100W;surse-alimentare;buc;65;0,3;activ;100;24;IP20\r\n"
    'SA24-150;"Sursă 24V; 150W";surse-alimentare;buc;minus;0,3;activ;150;24;IP20\r\n'
    "BEC-E27-9W;Bec LED E27 9W;becuri-led;buc;10,4;0,5;ciornă;9;230;\r\n"
)


async def test_an_import_applies_good_batches_and_reports_the_bad_one(edge: Edge) -> None:
    status, body = await upload(edge, ROMANIAN_CSV.encode(), batch_size=2)
    assert status == 200, body
    report = body["data"]
    assert [(b["first_row"], b["last_row"], b["status"]) for b in report["batches"]] == [
        (2, 3, "applied"),
        (4, 5, "rejected"),
        (6, 6, "applied"),
    ]
    assert report["errors"] == [
        {
            "row": 5,
            "field": "cost",
            "message": "'minus' is not a number",
            "sku": "SA24-150",
            "code": "invalid",
        }
    ]
    assert (report["created"], report["rejected_rows"], report["errors_total"]) == (3, 2, 1)
    admin = await edge.as_role(Role.admin)
    _, listed, _ = await edge.call("GET", PRODUCTS, token=admin)
    assert [p["sku"] for p in listed["data"]] == ["BEC-E27-9W", "BL24-144-30K", "BL24-144-40K"]
    bulb = next(p for p in listed["data"] if p["sku"] == "BEC-E27-9W")
    assert (bulb["status"], bulb["cost"], bulb["unit"]) == ("draft", "10.4000", "piece")

    published = await events(edge)
    batch_ids = [b["batch_id"] for b in report["batches"] if b["status"] == "applied"]
    assert [(k, e.batch_id) for k, e in published] == [
        (f"catalog-import:{b}", b) for b in batch_ids
    ]
    assert [len(e.products) for _, e in published] == [2, 1]

    status, body = await upload(edge, ROMANIAN_CSV.encode(), batch_size=2)  # the same file again
    assert (body["data"]["unchanged"], body["data"]["created"], body["data"]["updated"]) == (
        3,
        0,
        0,
    )
    assert len(await events(edge)) == 2  # nothing changed: nothing published

    _, batches, _ = await edge.call(
        "GET", "/api/v1/catalog/imports", token=admin, params={"import_id": report["import_id"]}
    )
    rejected = [b for b in batches["data"] if b["status"] == "rejected"]
    assert [e["row"] for e in rejected[0]["errors"]] == [5]
    audits = await edge.conn.fetch(
        "SELECT entity_type, entity_id, after FROM audit_log "
        "WHERE action = 'catalog.products.bulk_import' ORDER BY id"
    )
    assert sorted(a["entity_id"] for a in audits if a["entity_type"] == "product") == [
        "BEC-E27-9W",
        "BL24-144-30K",
        "BL24-144-40K",
    ]
    calls = [a for a in audits if a["entity_type"] == "catalog_import"]
    assert [a["after"]["rejected_batches"] for a in calls] == [1, 1]


async def test_a_windows_1250_file_is_read_when_its_charset_is_named(edge: Edge) -> None:
    cedilla = str.maketrans("șțȘȚ", "şţŞŢ")  # what Windows-1250 has of them
    body = ROMANIAN_CSV.translate(cedilla).encode("windows-1250")
    status, envelope = await upload(edge, body)  # read as UTF-8
    assert status == 400 and envelope["error"]["code"] == "invalid_encoding"
    ascii_header = ROMANIAN_CSV.replace("Preț achiziție", "cost").translate(cedilla)
    status, envelope = await upload(edge, ascii_header.encode("windows-1250"))
    assert status == 200  # the header reads; every row has an "ă": none does
    assert [e["row"] for e in envelope["data"]["errors"]] == [2, 3, 4, 5, 6]
    assert "is not valid utf-8 text" in envelope["data"]["errors"][0]["message"]
    assert envelope["data"]["created"] == 0
    status, envelope = await upload(
        edge, body, content_type="text/csv; charset=windows-1250", batch_size=1
    )
    assert envelope["data"]["created"] == 4
    staff = await edge.as_role(Role.sales)
    _, got, _ = await edge.call("GET", f"{PRODUCTS}/BL24-144-40K", token=staff)
    assert got["data"]["name"] == "Bandă LED 24V 4000K"


async def test_quoted_cells_may_span_lines_and_an_unclosed_quote_is_a_row_error(
    edge: Edge,
) -> None:
    body = (
        "sku,name,category,cost,margin\n"
        'CON-1,"Conector\n""rapid"", 2 pini",conectori,5,0.3\n'
        "\n"
        "CON-2,Conector simplu,conectori,5,0.3\n"
    )
    status, envelope = await upload(edge, body.encode())
    assert status == 200 and envelope["data"]["created"] == 2, envelope
    _, got, _ = await edge.call("GET", f"{PRODUCTS}/CON-1", token=await edge.as_role(Role.ops))
    assert got["data"]["name"] == 'Conector "rapid", 2 pini'

    status, envelope = await upload(edge, b'sku,name\nCON-3,"Conector\nCON-4,x\n')
    assert [(e["row"], e["message"]) for e in envelope["data"]["errors"]] == [
        (2, "a quoted cell opened on this row is never closed")
    ]
    status, envelope = await upload(
        edge, b'[{"sku": "CON-5"}]\n', fmt="json", content_type="application/x-ndjson"
    )
    assert envelope["data"]["errors"][0]["message"].startswith("must be a JSON object")


async def test_an_ndjson_import_creates_a_family_with_its_variants(edge: Edge) -> None:
    family = {
        "sku": "BL24-144",
        "kind": "family",
        "name": "Bandă LED 24V 14.4W/m",
        "category": "benzi-led-monocolor",
        "unit": "metre",
    }
    lines = [json.dumps(family)] + [
        json.dumps(
            {
                "sku": f"BL24-144-{k}K",
                "parent_sku": "BL24-144",
                "kind": "product",
                "name": f"Bandă LED 24V 14.4W/m {k}00K",
                "category": "benzi-led-monocolor",
                "unit": "metre",
                "cost": "17,46",
                "margin": 0.35,
                "status": "active",
                "attributes": {"cct_k": k * 100, "power_w": "14.4"},
            }
        )
        for k in (30, 40, 65)
    ]
    body = ("\n".join(reversed(lines)) + "\n").encode()  # variants before their family
    status, envelope = await upload(edge, body, fmt="json", content_type="application/x-ndjson")
    assert status == 200, envelope
    assert envelope["data"]["created"] == 4 and envelope["data"]["errors"] == []
    [(_, event)] = await events(edge)
    assert sorted(p.sku for p in event.products) == ["BL24-144-30K", "BL24-144-40K", "BL24-144-65K"]
    assert {p.parent_sku for p in event.products} == {"BL24-144"}


async def test_import_refuses_what_it_cannot_read(
    edge: Edge, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, body = await upload(edge, b"sku,name\n", content_type="application/json")
    assert status == 415
    status, body = await upload(edge, b"cod,pret\nA1,3\n")
    assert status == 400 and body["error"]["code"] == "invalid_header"
    assert body["error"]["details"][0]["field"] == "pret"
    status, body = await upload(edge, b"")
    assert status == 400 and body["error"]["code"] == "empty_import"
    status, body = await upload(edge, b"sku\nA1\n", content_type="text/csv; charset=klingon")
    assert status == 415
    status, body = await upload(edge, b'sku,"na"me\n')
    assert status == 400 and body["error"]["code"] == "invalid_header"
    status, body = await upload(edge, b"sku,name\nA1," + b"x" * 70_000 + b"\n")
    assert status == 400 and body["error"]["code"] == "line_too_long"
    assert body["error"]["message"].startswith("line 2 is longer than 65536 bytes")
    sales = await edge.as_role(Role.sales)
    status, _, _ = await edge.call(
        "POST", IMPORT, token=sales, data=b"sku\n", headers={"Content-Type": "text/csv"}
    )
    assert status == 403

    monkeypatch.setattr(
        catalog_api, "current_settings", lambda: CatalogSettings(import_max_bytes=40_000)
    )
    status, body = await upload(edge, b"sku,name\n" + b"A1,x\n" * 10_000)
    assert status == 413 and body["error"]["code"] == "body_too_large"
    assert await edge.conn.fetchval("SELECT count(*) FROM catalog_products") == 0

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: found while reading
        yield b"sku,name,category,cost,margin\n"
        for part in range(20):
            yield "".join(
                f"S{i:04d},Produs {i},conectori,5,0.3\n"
                for i in range(part * 100, part * 100 + 100)
            ).encode()
            await asyncio.sleep(0.01)

    status, body = await upload(edge, chunks(), batch_size=50)
    assert status == 413
    applied = re.search(r"(\d+) batch\(es\) up to row (\d+) were applied", body["error"]["message"])
    assert applied is not None, body
    batches, last_row = int(applied[1]), int(applied[2])
    assert batches >= 1 and last_row == 50 * batches + 1
    assert await edge.conn.fetchval("SELECT count(*) FROM catalog_products") == 50 * batches


# --- export -------------------------------------------------------------------------------------


async def test_the_export_streams_every_product_and_imports_back_unchanged(edge: Edge) -> None:
    lines = "".join(
        json.dumps(
            {
                "sku": f"CON-{i:04d}",
                "name": f'Conector "{i}", 2 pini',
                "category": "conectori",
                "cost": f"{5 + i / 100:.2f}",
                "margin": "0.3",
                "status": "active",
                "ean": None,
            }
        )
        + "\n"
        for i in range(2500)
    )
    status, body = await upload(
        edge, lines.encode(), fmt="json", content_type="application/x-ndjson"
    )
    assert status == 200 and body["data"]["created"] == 2500
    assert len(await events(edge)) == 3  # batches of 1000

    resp, text = await download(edge)
    assert resp.headers["Transfer-Encoding"] == "chunked"
    assert resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 2501 and rows[0][0] == "sku"
    assert [r[0] for r in rows[1:]] == [f"CON-{i:04d}" for i in range(2500)]

    status, body = await upload(edge, text.encode())
    assert status == 200, body
    assert (body["data"]["unchanged"], body["data"]["errors_total"]) == (2500, 0)
    assert len(await events(edge)) == 3

    resp, ndjson = await download(edge, format="json", category="conectori")
    assert resp.headers["Content-Type"].startswith("application/x-ndjson")
    decoded = [msgspec.json.decode(line) for line in ndjson.splitlines()]
    assert len(decoded) == 2500 and decoded[7]["cost"] == "5.0700"


async def test_every_catalog_route_refuses_the_unauthenticated_and_the_roles_it_does_not_admit(
    edge: Edge,
) -> None:
    routes = [r for r in edge.routes if r.path.startswith("/api/v1/catalog")]
    assert len(routes) == 9
    for route in routes:
        path = fill(route.path, "SA24-150")
        status, _, _ = await edge.call(route.method, path)
        assert status == 401, route.name
        for role in sorted(set(Role) - route.roles):  # type: ignore[operator]
            status, _, _ = await edge.call(route.method, path, token=await edge.as_role(role))
            assert status == 403, (route.name, role)
        if "{" in route.path and Role.b2b_customer in route.roles:  # type: ignore[operator]
            assert route.owner is not None, route.name
