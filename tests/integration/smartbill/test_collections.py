"""``GET /estimate/invoices`` and ``POST /payment`` over HTTP: the client and the simulator."""

from __future__ import annotations

import base64
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from connectors.smartbill.client import SmartBillClient
from connectors.smartbill.errors import DocumentNotFound
from connectors.smartbill.simulator import SmartBillSimulator
from connectors.smartbill.wire import Client, DocumentRef, Estimate, Product


async def test_estimate_invoices_lists_what_the_accountant_made(
    sim: tuple[SmartBillSimulator, str], make_client: Callable[..., SmartBillClient]
) -> None:
    simulator, _ = sim
    client = make_client()
    proforma = await client.issue_estimate(
        Estimate(
            client=Client(name="Lumina SRL"),
            products=(
                Product(
                    name="Banda LED",
                    code="LED-STRIP-5M",
                    measuring_unit_name="buc",
                    currency="RON",
                    quantity=Decimal(1),
                    price=Decimal("10.00"),
                    tax_name="Normala",
                    tax_percentage=Decimal(21),
                ),
            ),
        )
    )
    assert await client.estimate_invoices(proforma.series, proforma.number) == ()
    made = simulator.invoice_estimate(proforma.series, proforma.number)
    assert await client.estimate_invoices(proforma.series, proforma.number) == (
        DocumentRef(series=made.series, number=made.number),
    )
    with pytest.raises(DocumentNotFound):
        await client.estimate_invoices(proforma.series, "0999")
    simulator.collect(made.series, made.number, Decimal("5.00"))
    status = await client.payment_status(made.series, made.number)
    assert (status.paid_amount, status.unpaid_amount, status.paid) == (
        Decimal("5.00"),
        Decimal("7.10"),
        False,
    )


async def test_post_payment_collects_and_refuses_like_smartbill(
    sim: tuple[SmartBillSimulator, str], make_client: Callable[..., SmartBillClient]
) -> None:
    simulator, base = sim
    proforma = simulator.books.issue(
        "estimate",
        {
            "companyVatCode": simulator.books.cif,
            "client": {"name": "Lumina SRL"},
            "products": [
                {
                    "name": "Banda LED",
                    "code": "LED-STRIP-5M",
                    "measuringUnitName": "buc",
                    "currency": "RON",
                    "quantity": 1,
                    "price": 100,
                    "taxName": "Normala",
                    "taxPercentage": 21,
                }
            ],
        },
        simulator.today(),
    )
    made = simulator.invoice_estimate(proforma.series, proforma.number)
    token = base64.b64encode(f"{simulator.username}:{simulator.token}".encode()).decode()
    body: dict[str, Any] = {
        "companyVatCode": simulator.books.cif,
        "issueDate": simulator.today().isoformat(),
        "type": "Ordin plata",
        "useInvoiceDetails": True,
        "invoicesList": [{"seriesName": made.series, "number": made.number}],
    }
    async with aiohttp.ClientSession(headers={"Authorization": f"Basic {token}"}) as session:
        async with session.post(f"{base}/payment", json=body) as response:
            assert response.status == 200
            assert (await response.json())["sbcResponse"]["errorText"] == ""
        async with session.post(f"{base}/payment", json={**body, "type": "Bon"}) as response:
            assert response.status == 400
            assert (await response.json())["Fault"]["errorText"] == (
                "Nu puteti adauga bonuri prin API."
            )
    assert made.paid == made.total == Decimal("121.00")
    [call, refused] = simulator.requests("/payment", "POST")
    assert call.effect == f"collected 121.00 on {made.ref}" and refused.effect is None
