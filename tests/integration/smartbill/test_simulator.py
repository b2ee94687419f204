"""The simulator's own rules over plain HTTP: auth, the company CIF, body refusals with
SmartBill's ``errorText``, content types, the rate limit and its 10-minute block."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
import pytest

from connectors.smartbill.simulator import BLOCKED, SmartBillSimulator
from tests.integration.smartbill.conftest import CIF, TOKEN, USERNAME, Clock

AUTH = "Basic " + base64.b64encode(f"{USERNAME}:{TOKEN}".encode()).decode()


async def call(
    url: str,
    method: str,
    path: str,
    *,
    body: Any = None,
    auth: str = AUTH,
    params: dict[str, str] | None = None,
    data: bytes | None = None,
    content_type: str = "application/json",
) -> tuple[int, Any, dict[str, str]]:
    headers = {"Authorization": auth, "Accept": "application/json", "Content-Type": content_type}
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, url + path, json=body, data=data, params=params, headers=headers
        ) as response,
    ):
        text = await response.text()
        payload = await response.json() if response.content_type == "application/json" else text
        return response.status, payload, dict(response.headers)


def product(**changes: Any) -> dict[str, Any]:
    line = {
        "name": "Banda LED 5m",
        "code": "LED-STRIP-5M",
        "measuringUnitName": "buc",
        "currency": "RON",
        "quantity": 1,
        "price": 49.9,
        "isTaxIncluded": True,
        "taxName": "Normala",
        "taxPercentage": 21,
    }
    line.update(changes)
    return {k: v for k, v in line.items() if v is not None}


def body(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "companyVatCode": CIF,
        "seriesName": "LDX",
        "client": {"name": "Ion Popescu", "vatCode": "-", "address": "-", "city": "Sector 3"},
        "products": [product()],
    }
    document.update(changes)
    return {k: v for k, v in document.items() if v is not None}


REFUSALS = [
    (body(client={"name": ""}), "Client invalid!"),
    (body(client=None), "client trebuie specificat"),
    (body(products=[]), "Factura nu contine produse!"),
    (body(seriesName="XYZ"), "Seria nu a fost gasita! Folositi o serie creata in contul de cloud."),
    (body(issueDate="29.11.2026"), "Data documentului trebuie sa fie de forma yyyy-MM-dd."),
    (body(companyVatCode=None), "CIF-ul firmei ('companyVatCode') trebuie specificat"),
    (
        body(companyVatCode="RO12345678"),  # no such company: the check digit is wrong
        "Firma la care incercati sa va conectati nu mai este disponibila in Cloud. "
        "Verificati ciful companiei.",
    ),
    (
        body(products=[product(taxPercentage=19)]),
        "Cota tva a produsului Banda LED 5m nu a fost gasita pe server!",
    ),
    (
        body(products=[product(taxName="Super", taxPercentage=21)]),
        "Cota tva a produsului Banda LED 5m nu a fost gasita pe server!",
    ),
    (body(products=[product(code=None)]), "Produsul Banda LED 5m nu are codul specificat."),
    (body(products=[product(price=None)]), "price trebuie specificat pentru fiecare produs"),
    (body(products=[product(currency="XXX")]), "Moneda nu a fost gasita pe server!"),
    (
        body(
            products=[
                {
                    "name": "Reducere",
                    "isDiscount": True,
                    "numberOfItems": 1,
                    "measuringUnitName": "buc",
                    "currency": "RON",
                    "discountType": 2,
                    "discountPercentage": 10,
                }
            ]
        ),
        "Nu poti sa emiti un document care contine doar un discount. "
        "Trebuie sa ai si produse / servicii adaugate.",
    ),
    (
        body(useStock=True, products=[product(warehouseName="Nicaieri")]),
        "Gestiunea predatoare Nicaieri a produsului Banda LED 5m nu a fost gasita.",
    ),
    (
        body(useStock=True, products=[product(quantity=500, warehouseName="Depozit Bucuresti")]),
        "Cantitate stoc insuficienta la Factura LDX0001 din data",
    ),
    (body(payment={"value": 49.9, "type": "Bitcoin"}), "Tipul incasarii nu a fost gasit!"),
    (
        body(payment={"value": 49.9, "type": "Chitanta", "paymentSeries": "LDX"}),
        "Seria incasarii nu a fost gasita pe server.",
    ),
]


@pytest.mark.parametrize(("document", "error_text"), REFUSALS)
async def test_an_invoice_breaking_a_rule_is_refused_with_smartbills_error_text(
    sim: tuple[SmartBillSimulator, str], document: dict[str, Any], error_text: str
) -> None:
    simulator, url = sim

    status, answer, _ = await call(url, "POST", "/invoice", body=document)

    assert status == 400
    assert answer["Fault"]["errorText"].startswith(error_text)
    assert simulator.documents() == [] and simulator.books.series["LDX"].next == 1
    assert simulator.calls[0].error_text == answer["Fault"]["errorText"]


async def test_a_valid_minimal_invoice_and_the_default_series(
    sim: tuple[SmartBillSimulator, str],
) -> None:
    simulator, url = sim

    status, answer, headers = await call(url, "POST", "/invoice", body=body(seriesName=None))

    assert status == 200
    assert answer["sbcResponse"] | {"url": ""} == {
        "errorText": "",
        "message": "",
        "number": "0001",
        "series": "LDX",  # the account's default invoice series
        "url": "",
    }
    assert [d.ref for d in simulator.documents("invoice")] == ["LDX0001"]
    assert headers["X-RateLimit-Limit"] == "30" and headers["X-RateLimit-Remaining"] == "29"


async def test_bad_credentials_get_tomcats_401_page(sim: tuple[SmartBillSimulator, str]) -> None:
    simulator, url = sim
    wrong = "Basic " + base64.b64encode(f"{USERNAME}:nope".encode()).decode()

    status, page, _ = await call(url, "GET", "/tax", auth=wrong, params={"cif": CIF})
    assert status == 401 and "<h1>HTTP Status 401 - Unauthorized</h1>" in page
    status, _, _ = await call(url, "GET", "/tax", auth="Bearer x", params={"cif": CIF})
    assert status == 401
    status, _, _ = await call(url, "GET", "/tax", params={"cif": "RO4221306"})  # not ours
    assert status == 401
    assert simulator.rate.used == 1  # only the authenticated call counted


async def test_content_type_method_and_query_refusals(
    sim: tuple[SmartBillSimulator, str],
) -> None:
    _, url = sim

    status, _, _ = await call(url, "POST", "/invoice", data=b"<invoice/>", content_type="text/xml")
    assert status == 415
    status, _, _ = await call(url, "GET", "/invoice/reverse", params={"cif": CIF})
    assert status == 405
    status, answer, _ = await call(url, "GET", "/series", params={"cif": CIF, "type": "g"})
    assert status == 400 and answer["Fault"]["errorText"].startswith(
        "Tipul documentului nu poate fi g!"
    )
    status, answer, _ = await call(url, "GET", "/invoice/pdf", params={"cif": CIF})
    assert (status, answer["Fault"]["errorText"]) == (400, "Seria facturii trebuie specificata!")
    status, answer, _ = await call(url, "GET", "/stocks", params={"cif": CIF})
    assert answer["Fault"]["errorText"] == "Data documentului trebuie sa fie de forma yyyy-MM-dd."


async def test_more_than_30_calls_in_a_window_block_every_call_for_ten_minutes(
    sim: tuple[SmartBillSimulator, str], clock: Clock
) -> None:
    simulator, url = sim
    simulator.rate.window = 10.0
    query = {"cif": CIF}

    remaining = [(await call(url, "GET", "/tax", params=query))[2] for _ in range(30)]
    status, answer, _ = await call(url, "GET", "/tax", params=query)

    assert [h["X-RateLimit-Remaining"] for h in remaining][-3:] == ["2", "1", "0"]
    assert (status, answer["Fault"]["errorText"]) == (403, BLOCKED)
    clock.advance(599.0)
    assert (await call(url, "GET", "/series", params=query))[0] == 403
    clock.advance(1.0)
    assert (await call(url, "GET", "/series", params=query))[0] == 200
    assert simulator.busiest(10.0) == 31  # the log keeps refused calls too


async def test_faults_are_per_path_and_an_outage_ends(
    sim: tuple[SmartBillSimulator, str], clock: Clock
) -> None:
    simulator, url = sim
    simulator.fail_next(1, status=503, path="/series")
    simulator.outage(60.0, path="/tax")
    query = {"cif": CIF}

    assert (await call(url, "GET", "/tax", params=query))[0] == 500
    assert (await call(url, "GET", "/series", params=query))[0] == 503
    assert (await call(url, "GET", "/series", params=query))[0] == 200
    clock.advance(60.0)
    assert (await call(url, "GET", "/tax", params=query))[0] == 200
