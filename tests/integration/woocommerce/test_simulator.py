"""The simulator over raw HTTP answers as a WooCommerce store does (status, body, headers)."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
import pytest

from connectors.woocommerce.sim_rest import API
from connectors.woocommerce.simulator import WooCommerceSimulator, demo_catalog
from tests.integration.woocommerce.conftest import KEY, SECRET

AUTH = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()


async def call(
    url: str,
    method: str,
    path: str,
    *,
    body: Any = None,
    auth: str | None = AUTH,
    raw: bytes | None = None,
) -> tuple[int, Any, aiohttp.ClientResponse]:
    headers = {"Authorization": auth} if auth else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url + API + path, json=body, data=raw, headers=headers) as response,
    ):
        text = await response.read()
        data = await response.json(content_type=None) if text else None
        return response.status, data, response


@pytest.mark.parametrize(
    ("method", "path", "code", "message"),
    [
        ("GET", "/products", "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
        (
            "GET",
            "/orders/5",
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot view this resource.",
        ),
        (
            "POST",
            "/products/batch",
            "woocommerce_rest_cannot_batch",
            "Sorry, you are not allowed to batch manipulate this resource.",
        ),
    ],
)
async def test_without_credentials_the_permission_check_refuses_with_401(
    sim: tuple[WooCommerceSimulator, str], method: str, path: str, code: str, message: str
) -> None:
    _, url = sim
    status, body, _ = await call(
        url, method, path, auth=None, body={} if method == "POST" else None
    )

    assert status == 401
    assert body == {"code": code, "message": message, "data": {"status": 401}}


async def test_a_wrong_secret_gets_the_authentication_error_and_a_basic_challenge(
    sim: tuple[WooCommerceSimulator, str],
) -> None:
    _, url = sim
    wrong = "Basic " + base64.b64encode(f"{KEY}:cs_nope".encode()).decode()

    status, body, response = await call(url, "GET", "/products", auth=wrong)

    assert (status, body["code"]) == (401, "woocommerce_rest_authentication_error")
    assert body["message"] == "Consumer secret is invalid."
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="WooCommerce API.')


async def test_a_read_only_key_may_not_write(sim: tuple[WooCommerceSimulator, str]) -> None:
    simulator, url = sim
    simulator.keys["ck_reader"] = ("cs_reader", "read")
    reader = "Basic " + base64.b64encode(b"ck_reader:cs_reader").decode()

    listed, _, _ = await call(url, "GET", "/products", auth=reader)
    status, body, _ = await call(url, "POST", "/products", auth=reader, body={"name": "x"})

    assert listed == 200
    assert (status, body["message"]) == (
        401,
        "The API key provided does not have write permissions.",
    )


async def test_paging_headers_are_those_wordpress_sends(
    sim: tuple[WooCommerceSimulator, str],
) -> None:
    simulator, url = sim
    for product in demo_catalog(250):
        simulator.add_product(**product)

    status, body, response = await call(url, "GET", "/products?per_page=100&page=2")
    _, past, last = await call(url, "GET", "/products?per_page=100&page=9")
    _, default, first = await call(url, "GET", "/products")

    assert status == 200 and len(body) == 100
    assert response.headers["X-WP-Total"] == "250" and response.headers["X-WP-TotalPages"] == "3"
    base = f"{url}{API}/products"
    assert response.headers.getall("Link") == [
        f'<{base}?per_page=100&page=1>; rel="prev", <{base}?per_page=100&page=3>; rel="next"'
    ]
    assert past == [] and last.headers["X-WP-Total"] == "250"
    assert last.headers["Link"] == f'<{base}?per_page=100&page=3>; rel="prev"'  # capped
    assert len(default) == 10 and first.headers["X-WP-TotalPages"] == "25"
    assert first.headers["Content-Type"] == "application/json; charset=UTF-8"


async def test_parameters_are_checked_before_permissions(
    sim: tuple[WooCommerceSimulator, str],
) -> None:
    _, url = sim

    status, body, _ = await call(url, "GET", "/orders?per_page=101&status=shipped", auth=None)

    assert status == 400 and body["code"] == "rest_invalid_param"
    assert body["message"] == "Invalid parameter(s): per_page, status"
    assert body["data"]["params"]["per_page"] == (
        "per_page must be between 1 (inclusive) and 100 (inclusive)"
    )


async def test_a_batch_over_100_items_is_refused_with_413_and_nothing_changes(
    sim: tuple[WooCommerceSimulator, str],
) -> None:
    simulator, url = sim
    ids = [simulator.add_product(**p)["id"] for p in demo_catalog(101)]

    status, body, _ = await call(
        url, "POST", "/products/batch", body={"update": [{"id": i, "sku": f"N-{i}"} for i in ids]}
    )

    assert status == 413
    assert body == {
        "code": "woocommerce_rest_request_entity_too_large",
        "message": "Unable to accept more than 100 items for this request.",
        "data": {"status": 413},
    }
    assert not any(p["sku"].startswith("N-") for p in simulator.store.records["product"].values())


async def test_unknown_fields_are_ignored_and_price_types_checked(
    sim: tuple[WooCommerceSimulator, str],
) -> None:
    simulator, url = sim
    ident = simulator.add_product(sku="LDX-1", regular_price="10.00")["id"]

    ok, product, _ = await call(
        url, "PUT", f"/products/{ident}", body={"regular_price": "12,50", "colour": "cald"}
    )
    bad, error, _ = await call(url, "PUT", f"/products/{ident}", body={"regular_price": 12.5})
    cleared, emptied, _ = await call(url, "PUT", f"/products/{ident}", body={"sale_price": "abc"})

    assert ok == 200 and product["regular_price"] == "12.50" and "colour" not in product
    assert bad == 400 and error["data"]["params"] == {
        "regular_price": "regular_price is not of type string."
    }
    assert cleared == 200 and emptied["sale_price"] == ""  # wc_format_decimal: no error


async def test_order_status_is_checked_on_its_own_but_not_in_a_batch(
    sim: tuple[WooCommerceSimulator, str],
) -> None:
    simulator, url = sim
    ident = simulator.add_order(status="processing")["id"]

    single, error, _ = await call(url, "PUT", f"/orders/{ident}", body={"status": "shipped"})
    _, answer, _ = await call(
        url, "POST", "/orders/batch", body={"update": [{"id": ident, "status": "shipped"}]}
    )

    assert single == 400 and "status is not one of pending" in error["data"]["params"]["status"]
    assert answer["update"][0]["status"] == "pending"


async def test_unknown_ids_unknown_routes_and_bad_json(
    sim: tuple[WooCommerceSimulator, str],
) -> None:
    _, url = sim

    read, missing, _ = await call(url, "GET", "/orders/77")
    put, unknown, _ = await call(url, "PUT", "/customers/77", body={"first_name": "Ana"})
    route, nowhere, _ = await call(url, "GET", "/coupons/x")
    broken, bad_json, _ = await call(url, "POST", "/products", raw=b"{nope")

    assert (read, missing["code"]) == (404, "woocommerce_rest_shop_order_invalid_id")
    assert (put, unknown["code"]) == (400, "woocommerce_rest_invalid_id")
    assert (route, nowhere["code"]) == (404, "rest_no_route")
    assert (broken, bad_json["code"]) == (400, "rest_invalid_json")


async def test_json_is_encoded_as_php_does(sim: tuple[WooCommerceSimulator, str]) -> None:
    simulator, url = sim
    ident = simulator.add_product(name="Bandă LED", sku="LDX-Ă")["id"]

    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{url}{API}/products/{ident}", headers={"Authorization": AUTH}) as response,
    ):
        raw = await response.read()

    assert b'"name":"Band\\u0103 LED"' in raw
    assert b"https:\\/\\/ledux.ro\\/wp-json\\/wc\\/v3\\/products" in raw


async def test_the_request_log_counts_batch_items(sim: tuple[WooCommerceSimulator, str]) -> None:
    simulator, url = sim
    ids = [simulator.add_product(**p)["id"] for p in demo_catalog(3)]

    await call(
        url,
        "POST",
        "/products/batch",
        body={"update": [{"id": i, "stock_quantity": 1} for i in ids[:2]], "delete": [ids[2]]},
    )

    [logged] = simulator.requests
    assert (logged.method, logged.path, logged.status, logged.items) == (
        "POST",
        "/products/batch",
        200,
        3,
    )
    assert ids[2] not in simulator.store.records["product"]  # batch deletes are forced
