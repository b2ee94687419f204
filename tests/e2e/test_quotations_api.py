"""The quotations API over HTTP: a draft accepted at once (202, Location) and priced in the
background, send, accept, reject and convert with their timers and audit, refusals (409, 422),
roles and the B2B customer's own quotes, the list's filters and pages, and the PDF."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pypdf import PdfReader

from actors.orders.messages import PlaceOrder
from actors.pricing.actor import Pricing
from actors.pricing.settings import PricingSettings
from actors.quotations.actor import QuotationsActor
from actors.quotations.api import api as quotations_api
from hub.auth import Role
from hub.edge.keys import HUB
from tests.e2e.api_support import Edge
from tests.integration.pricing.conftest import PRICING_TABLES
from tests.integration.quotations.support import Recorder, clean, priced_catalog
from tests.support import eventually

BASE = "/api/v1/quotations"
ADDRESS = {
    "name": "Lumina Design SRL",
    "street": "Str. Fabricii nr. 3",
    "city": "Cluj-Napoca",
    "county": "Cluj",
}


def customer(**kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "company",
        "name": "Lumina Design SRL",
        "contact": "Ioana Popescu",
        "email": "ioana@lumina.ro",
        "cui": "RO18547290",
        "reg_com": "J12/345/2019",
        "address": ADDRESS,
    }
    body.update(kw)
    return body


def quote_body(*lines: tuple[str, str], **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer": customer(),
        "lines": [{"sku": s, "quantity": q} for s, q in lines or (("STRIP-1", "10"),)],
    }
    body.update(kw)
    return body


@pytest.fixture
async def edge(start_api: Callable[..., Awaitable[Edge]]) -> Edge:
    """The edge with the quotations routes, the quotations and pricing actors, a priced
    catalog, and a recorder of what the quotations publish."""
    recorder = Recorder()
    edge = await start_api(
        apis=[quotations_api],
        actors=(QuotationsActor(), Pricing(PricingSettings()), recorder),
    )
    await clean(edge.conn)
    await edge.conn.execute(f"TRUNCATE {PRICING_TABLES} RESTART IDENTITY")
    await priced_catalog(edge.client.app[HUB], edge.conn)
    edge.recorder = recorder  # type: ignore[attr-defined]
    return edge


async def create(edge: Edge, token: str, **kw: Any) -> dict[str, Any]:
    """A quote created and priced; its view."""
    status, env, resp = await edge.call("POST", BASE, token=token, json=quote_body(**kw))
    assert status == 202, env
    return await priced(edge, token, resp.headers["Location"])


async def priced(edge: Edge, token: str, location: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        _, env, _ = await edge.call("GET", location, token=token)
        data: dict[str, Any] = env["data"]
        return data if data["pricing"] != "pending" else None

    found: dict[str, Any] = await eventually(done, what=f"{location} priced")
    return found


async def move(edge: Edge, token: str, quote: dict[str, Any], verb: str, **body: Any) -> Any:
    json = body if verb in ("reject", "convert") else None
    return await edge.call("POST", f"{BASE}/{quote['id']}/{verb}", token=token, json=json)


async def test_a_draft_is_accepted_at_once_and_priced_in_the_background(edge: Edge) -> None:
    sales = await edge.as_role(Role.sales)
    body = quote_body(("STRIP-1", "10"), ("BULB-1", "3"), notes="Montaj inclus")
    status, env, resp = await edge.call("POST", BASE, token=sales, json=body)
    assert status == 202
    data = env["data"]
    assert resp.headers["Location"] == f"{BASE}/{data['id']}"
    assert (data["status"], data["pricing"], data["totals"]) == ("draft", "pending", None)
    assert data["number"].startswith("OF-") and data["allowed"] == ["sent"]

    quote = await priced(edge, sales, resp.headers["Location"])
    assert quote["pricing"] == "priced"
    assert quote["totals"] == {
        "net": "153.00",
        "vat": "32.13",
        "gross": "185.13",
        "currency": "RON",
    }
    strip = quote["lines"][0]
    assert (strip["sku"], strip["name"], strip["unit_net"], strip["line_gross"]) == (
        "STRIP-1",
        "Product STRIP-1",
        "13.50",
        "163.35",
    )
    assert strip["breakdown"][0]["step"] == "base"
    assert strip["breakdown"][0]["note"].startswith("cost ")  # staff see why, to the cost
    assert quote["history"][0]["to_status"] == "draft"
    audit = await edge.conn.fetchrow(
        "SELECT entity_id, status FROM audit_log WHERE action = 'quotations.create'"
    )
    assert (audit["entity_id"], audit["status"]) == (data["id"], 202)


async def test_send_accept_and_convert_set_timers_and_place_the_order(edge: Edge) -> None:
    sales = await edge.as_role(Role.sales)
    quote = await create(edge, sales)
    status, env, _ = await move(edge, sales, quote, "send")
    assert status == 200, env
    sent = env["data"]
    assert (
        sent["status"] == "sent"
        and sent["valid_until"]
        and sent["allowed"]
        == [
            "accepted",
            "rejected",
            "expired",
        ]
    )
    timers = await edge.conn.fetch("SELECT name, due_at FROM hub_timers ORDER BY name")
    assert [t["name"] for t in timers] == [
        f"quotation:{quote['id']}:expire",
        f"quotation:{quote['id']}:remind",
    ]
    assert timers[0]["due_at"].isoformat().replace("+00:00", "Z") == sent["expires_at"]

    status, env, _ = await move(edge, sales, quote, "accept")
    assert (status, env["data"]["status"]) == (200, "accepted")
    assert await edge.conn.fetchval("SELECT count(*) FROM hub_timers") == 1

    # an order the orders context would refuse is refused here, and the quote stays accepted
    nowhere = {"name": "X", "street": "Str. Lungă 1", "city": "Nicăieri", "county": "Atlantis"}
    status, env, _ = await move(
        edge, sales, quote, "convert", payment_method="card", billing=nowhere
    )
    assert status == 422 and "Atlantis" in env["error"]["message"], env
    status, env, _ = await edge.call("GET", f"{BASE}/{quote['id']}", token=sales)
    assert env["data"]["status"] == "accepted"

    status, env, _ = await move(edge, sales, quote, "convert", payment_method="bank_transfer")
    assert status == 200, env
    converted = env["data"]
    assert converted["status"] == "converted" and converted["order_id"]
    assert await edge.conn.fetchval("SELECT count(*) FROM hub_timers") == 0
    recorder: Recorder = edge.recorder  # type: ignore[attr-defined]
    [order] = await eventually(lambda: recorder.of(PlaceOrder), what="the order placed")
    assert (order.order_id, order.quotation_id) == (converted["order_id"], quote["id"])
    assert [str(x.unit_net) for x in order.priced or ()] == ["13.50"]
    rows = await edge.conn.fetch(
        "SELECT action, status, before, after FROM audit_log WHERE entity_id = $1 ORDER BY id",
        quote["id"],
    )
    assert [(r["action"], r["status"]) for r in rows] == [
        ("quotations.create", 202),
        ("quotations.send", 200),
        ("quotations.accept", 200),
        ("quotations.convert", 422),  # refused calls are recorded too
        ("quotations.convert", 200),
    ]
    assert rows[1]["before"]["status"] == "draft" and rows[1]["after"]["status"] == "sent"


async def test_moves_the_status_does_not_allow_answer_409(edge: Edge) -> None:
    sales = await edge.as_role(Role.sales)
    quote = await create(edge, sales)
    status, env, _ = await move(edge, sales, quote, "accept")
    assert (status, env["error"]["code"]) == (409, "invalid_transition")
    assert "is draft and cannot become accepted; it can become: sent" in env["error"]["message"]
    status, env, _ = await move(edge, sales, quote, "convert", payment_method="card")
    assert status == 409

    failing = await create(edge, sales, lines=[{"sku": "NOPE-1", "quantity": "1"}])
    assert failing["pricing"] == "failed" and "NOPE-1" in failing["pricing_error"]
    status, env, _ = await move(edge, sales, failing, "send")
    assert status == 409 and "not priced yet" in env["error"]["message"]

    await move(edge, sales, quote, "send")
    await edge.conn.execute(
        "UPDATE quotations SET expires_at = now() - interval '1 second' WHERE id = $1",
        quote["id"],
    )
    status, env, _ = await move(edge, sales, quote, "accept")
    assert status == 409 and "expired" in env["error"]["message"]
    status, env, _ = await edge.call("POST", f"{BASE}/nope/send", token=sales)
    assert status == 404


async def test_a_request_breaking_a_rule_is_refused(edge: Edge) -> None:
    sales = await edge.as_role(Role.sales)
    cases = [
        (quote_body(("STRIP-1", "1"), ("STRIP-1", "2")), 422, "more than once"),
        (quote_body(customer=customer(cui=None)), 422, "needs its CUI"),
        (quote_body(customer=customer(cui="RO18547291")), 422, "not valid"),
        (quote_body(("STRIP-1", "0.0001")), 422, "at most 3 decimals"),
        (quote_body(customer=customer(colour="red")), 400, "colour"),
        (quote_body(lines=[]), 400, "'field': 'lines'"),
    ]
    for body, code, words in cases:
        status, env, _ = await edge.call("POST", BASE, token=sales, json=body)
        said = env["error"]["message"] + str(env["error"].get("details"))
        assert (status, words in said) == (code, True), env
    assert await edge.conn.fetchval("SELECT count(*) FROM quotations") == 0


async def test_a_b2b_customer_works_with_its_own_quotes_only(edge: Edge) -> None:
    sales = await edge.as_role(Role.sales)
    mine = await edge.as_role(Role.b2b_customer, customer="C-1")
    status, env, _ = await edge.call(
        "POST", BASE, token=mine, json=quote_body(customer=customer(customer_id="C-2"))
    )
    assert status == 403 and env["error"]["details"][0]["field"] == "customer.customer_id"
    status, env, _ = await edge.call("POST", BASE, token=mine, json=quote_body(hold_stock=True))
    assert status == 403 and env["error"]["details"][0]["field"] == "hold_stock"

    own = await create(edge, mine)
    assert own["customer"]["customer_id"] == "C-1"
    other = await create(edge, sales, customer=customer(customer_id="C-2"))
    status, env, _ = await edge.call("GET", BASE, token=mine)
    assert [q["id"] for q in env["data"]] == [own["id"]]
    status, env, _ = await edge.call("GET", f"{BASE}?customer_id=C-2", token=mine)
    assert [q["id"] for q in env["data"]] == [own["id"]]
    for path in (f"{BASE}/{other['id']}", f"{BASE}/{other['id']}/pdf"):
        status, _, _ = await edge.call("GET", path, token=mine)
        assert status == 404

    status, _, _ = await move(edge, mine, own, "send")
    assert status == 403
    for q in (own, other):
        status, _, _ = await move(edge, sales, q, "send")
        assert status == 200
    status, _, _ = await move(edge, mine, other, "reject")
    assert status == 404
    status, env, _ = await move(edge, mine, own, "reject", reason="Prea scump")
    assert (status, env["data"]["status"]) == (200, "rejected")
    assert env["data"]["history"][-1]["reason"] == "Prea scump"


async def test_roles_read_and_change_what_they_may(edge: Edge) -> None:
    sales = await edge.as_role(Role.sales)
    quote = await create(edge, sales)
    for role in (Role.warehouse, Role.ops, Role.admin):
        token = await edge.as_role(role)
        status, _, _ = await edge.call("GET", f"{BASE}/{quote['id']}", token=token)
        assert status == 200, role
    warehouse = await edge.as_role(Role.warehouse)
    status, _, _ = await edge.call("POST", BASE, token=warehouse, json=quote_body())
    assert status == 403
    status, _, _ = await move(edge, warehouse, quote, "send")
    assert status == 403
    marketing = await edge.as_role(Role.marketing)
    status, _, _ = await edge.call("GET", BASE, token=marketing)
    assert status == 403
    status, _, _ = await edge.call("GET", BASE)
    assert status == 401


async def test_the_list_filters_and_pages(edge: Edge) -> None:
    sales = await edge.as_role(Role.sales)
    quotes = [await create(edge, sales, customer=customer(customer_id=f"C-{i}")) for i in range(3)]
    await move(edge, sales, quotes[0], "send")

    async def ids(query: str) -> list[str]:
        status, env, _ = await edge.call("GET", f"{BASE}{query}", token=sales)
        assert status == 200, env
        return [q["id"] for q in env["data"]]

    newest_first = [q["id"] for q in reversed(quotes)]
    assert await ids("") == newest_first
    assert await ids("?sort=created_at") == newest_first[::-1]
    assert await ids("?status=sent") == [quotes[0]["id"]]
    assert await ids("?customer_id=C-1") == [quotes[1]["id"]]
    assert await ids(f"?number={quotes[2]['number']}") == [quotes[2]["id"]]
    since = quotes[1]["created_at"]
    assert await ids(f"?since={since}&sort=created_at") == [quotes[1]["id"], quotes[2]["id"]]

    _, env, _ = await edge.call("GET", f"{BASE}?limit=2", token=sales)
    assert [q["id"] for q in env["data"]] == newest_first[:2]
    cursor = env["metadata"]["next_cursor"]
    _, env, _ = await edge.call("GET", f"{BASE}?limit=2&cursor={cursor}", token=sales)
    assert [q["id"] for q in env["data"]] == newest_first[2:]
    assert env["metadata"]["next_cursor"] is None
    status, env, _ = await edge.call("GET", f"{BASE}?status=lost", token=sales)
    assert status == 400


@pytest.mark.slow
async def test_the_pdf_prints_the_quote_in_romanian_or_english(edge: Edge) -> None:
    sales = await edge.as_role(Role.sales)
    client = customer(name="Țesătoria Ștefănești SRL", contact="Ana-Maria Țîrcă")
    quote = await create(edge, sales, customer=client, language="ro")
    await move(edge, sales, quote, "send")

    resp = await edge.client.get(
        f"{BASE}/{quote['id']}/pdf", headers={"Authorization": f"Bearer {sales}"}
    )
    assert resp.status == 200
    assert resp.content_type == "application/pdf"
    disposition = resp.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="{quote["number"]}.pdf"'
    text = _text(await resp.read())
    assert quote["number"] in text
    assert "Țesătoria Ștefănești SRL" in text and "LEDUX DISTRIBUTION S.R.L." in text
    assert "163,35" in text  # the strip's gross, Romanian style

    resp = await edge.client.get(
        f"{BASE}/{quote['id']}/pdf?lang=en", headers={"Authorization": f"Bearer {sales}"}
    )
    assert resp.status == 200
    assert "163.35" in _text(await resp.read())

    failing = await create(edge, sales, lines=[{"sku": "NOPE-1", "quantity": "1"}])
    status, env, _ = await edge.call("GET", f"{BASE}/{failing['id']}/pdf", token=sales)
    assert (status, env["error"]["code"]) == (409, "not_priced")


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
