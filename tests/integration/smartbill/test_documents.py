"""The client against the simulator: documents issued, reversed, cancelled, read back."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from connectors.smartbill.client import (
    AlreadyReversed,
    DocumentNotFound,
    SmartBillAuthError,
    SmartBillClient,
    SmartBillRejected,
)
from connectors.smartbill.simulator import SmartBillSimulator
from connectors.smartbill.wire import EstimateRef, Invoice, Payment, Product
from hub.errors import ConfigError
from hub.settings import Secret
from tests.integration.smartbill.support import estimate, invoice, line


async def test_invoices_get_consecutive_numbers_and_carry_the_spec_fields(
    sim: tuple[SmartBillSimulator, str], client: SmartBillClient
) -> None:
    simulator, _ = sim
    assert await client.next_number("LDX") == "0001"

    first = await client.issue_invoice(invoice("O-1"))
    second = await client.issue_invoice(invoice("O-2"))

    assert (first.series, first.number, second.number) == ("LDX", "0001", "0002")
    assert await client.next_number("LDX", "f") == "0003"
    [doc] = simulator.documents("invoice", text="Comanda O-1")
    assert doc.body["companyVatCode"] == "RO18547290" and doc.body["seriesName"] == "LDX"
    assert doc.body["client"]["vatCode"] == "RO4221306"
    assert doc.body["products"][0] == {
        "name": "Banda LED 5m",
        "code": "LED-STRIP-5M",
        "measuringUnitName": "buc",
        "currency": "RON",
        "quantity": 2,
        "price": Decimal("49.90"),
        "isTaxIncluded": True,
        "taxName": "Normala",
        "taxPercentage": 21,
        "saveToDb": False,
    }
    issued = [c.effect for c in simulator.requests("/invoice", "POST")]
    assert issued == ["issued invoice LDX0001", "issued invoice LDX0002"]


async def test_a_draft_takes_no_number(
    sim: tuple[SmartBillSimulator, str], client: SmartBillClient
) -> None:
    draft = await client.issue_invoice(invoice("O-draft", is_draft=True))

    assert draft.number == "" and draft.series == "LDX"
    assert await client.next_number("LDX") == "0001"
    assert sim[0].documents("invoice")[0].draft


async def test_an_invoice_made_from_a_proforma_takes_its_lines(
    sim: tuple[SmartBillSimulator, str], client: SmartBillClient
) -> None:
    simulator, _ = sim
    proforma = await client.issue_estimate(estimate("Q-9", line(quantity="3")))
    assert (proforma.series, proforma.number) == ("LDXP", "0001")

    made = await client.issue_invoice(
        Invoice(
            use_estimate_details=True,
            estimate=EstimateRef(series_name="LDXP", number=proforma.number),
        )
    )

    [doc] = simulator.documents("invoice")
    assert doc.ref == f"LDX{made.number}" and doc.from_estimate == "LDXP0001"
    assert doc.total == Decimal("149.70")  # 3 x 49.90, VAT included
    assert simulator.documents("estimate")[0].invoiced_by == ["LDX0001"]
    assert await client.estimate_exists("LDXP", "0001")
    assert not await client.estimate_exists("LDXP", "0002")


async def test_a_storno_is_a_new_negative_invoice_and_only_one_is_allowed(
    sim: tuple[SmartBillSimulator, str], client: SmartBillClient
) -> None:
    simulator, _ = sim
    original = await client.issue_invoice(invoice("O-5"))

    storno = await client.reverse_invoice("LDX", original.number, issue_date=simulator.today())

    assert (storno.series, storno.number) == ("LDX", "0002")
    assert storno.document_id and storno.document_view_url
    status = await client.payment_status("LDX", storno.number)
    assert status.invoice_total_amount == Decimal("-99.80")
    with pytest.raises(AlreadyReversed) as refused:
        await client.reverse_invoice("LDX", original.number)
    assert refused.value.error_text == "Factura este deja stornata."
    assert len(simulator.documents("invoice")) == 2


async def test_cancel_restore_and_delete_only_the_last_of_a_series(
    sim: tuple[SmartBillSimulator, str], client: SmartBillClient
) -> None:
    simulator, _ = sim
    first = await client.issue_invoice(invoice("O-10"))
    second = await client.issue_invoice(invoice("O-11"))

    message = await client.cancel_invoice("LDX", first.number)
    assert message == "Factura cu seria si numarul LDX0001 a fost anulata cu succes."
    assert simulator.documents(text="O-10")[0].cancelled
    await client.restore_invoice("LDX", first.number)
    assert not simulator.documents(text="O-10")[0].cancelled

    with pytest.raises(SmartBillRejected, match="nu este ultimul din serie"):
        await client.delete_invoice("LDX", first.number)
    await client.delete_invoice("LDX", second.number)
    assert await client.next_number("LDX") == "0002"  # the number is given back
    assert [d.ref for d in simulator.documents("invoice")] == ["LDX0001"]


async def test_the_pdf_is_a_readable_pdf_of_the_document(client: SmartBillClient) -> None:
    issued = await client.issue_invoice(invoice("O-20"))

    pdf = await client.invoice_pdf("LDX", issued.number)

    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "FACTURA seria LDX nr. 0001" in text and "Lumina Design SRL" in text
    with pytest.raises(DocumentNotFound, match="LDX0099 nu a fost gasita"):
        await client.invoice_pdf("LDX", "0099")


async def test_payment_status_follows_payments_and_tells_a_missing_invoice(
    sim: tuple[SmartBillSimulator, str], client: SmartBillClient
) -> None:
    simulator, _ = sim
    lines = (line(), line("Sursa 60W", "PSU-60", "1", "100", is_tax_included=False))
    issued = await client.issue_invoice(invoice("O-30", *lines))

    status = await client.payment_status("LDX", issued.number)
    assert status.invoice_total_amount == Decimal("220.80")  # 99.80 + 100 x 1.21
    assert (status.paid_amount, status.unpaid_amount) == (Decimal(0), Decimal("220.80"))
    assert status.paid is False
    simulator.pay("LDX", issued.number, Decimal("220.80"))
    assert (await client.payment_status("LDX", issued.number)).paid is True

    assert await client.invoice_exists("LDX", issued.number)
    assert not await client.invoice_exists("LDX", "0002")
    [missing] = [c for c in simulator.requests("/invoice/paymentstatus") if c.status == 400]
    assert missing.error_text == "Factura nu a fost gasita!"


async def test_an_invoice_paid_at_issue_with_a_receipt(
    sim: tuple[SmartBillSimulator, str], client: SmartBillClient
) -> None:
    payment = Payment(value=Decimal("99.80"), type="Chitanta", payment_series="LDXC", is_cash=True)
    issued = await client.issue_invoice(invoice("O-31", payment=payment))

    assert (await client.payment_status("LDX", issued.number)).paid is True
    assert await client.next_number("LDXC", "c") == "0002"


async def test_series_taxes_and_stocks(
    sim: tuple[SmartBillSimulator, str], client: SmartBillClient
) -> None:
    assert [(s.name, s.type) for s in await client.series("p")] == [("LDXP", "p")]
    taxes = {(t.name, t.percentage) for t in await client.taxes()}
    assert {("Normala", 21), ("Redusa", 11), ("SDD", 0)} <= taxes

    await client.issue_invoice(
        invoice("O-40", line(quantity="3", warehouse_name="Depozit Bucuresti"), use_stock=True)
    )

    [stock] = await client.stocks(date.today(), product_code="LED-STRIP-5M")
    assert stock.warehouse is not None and stock.warehouse.warehouse_name == "Depozit Bucuresti"
    assert [(p.product_name, p.quantity) for p in stock.products] == [
        ("Banda LED 5m", Decimal(117))
    ]
    everything = await client.stocks(date.today())
    assert len(everything[0].products) == 2


async def test_a_refused_invoice_carries_smartbills_error_text(
    sim: tuple[SmartBillSimulator, str], client: SmartBillClient
) -> None:
    wrong_rate = line(tax_name="Normala", tax_percentage=Decimal(19))  # the rate before Aug 2025

    with pytest.raises(SmartBillRejected) as refused:
        await client.issue_invoice(invoice("O-50", wrong_rate))

    assert refused.value.status == 400
    expected = "Cota tva a produsului Banda LED 5m nu a fost gasita pe server!"
    assert refused.value.error_text == expected
    assert sim[0].documents() == []


async def test_an_invalid_invoice_is_refused_before_any_call(
    sim: tuple[SmartBillSimulator, str], client: SmartBillClient
) -> None:
    priceless = Product(name="Banda", measuring_unit_name="buc", currency="RON", code="X")

    with pytest.raises(SmartBillRejected) as refused:
        await client.issue_invoice(invoice("O-51", priceless))

    assert refused.value.status is None and "price is required" in refused.value.error_text
    assert sim[0].calls == []


async def test_wrong_credentials_and_a_foreign_company_are_auth_errors(
    sim: tuple[SmartBillSimulator, str], make_client: Callable[..., SmartBillClient]
) -> None:
    wrong_token = make_client(token=Secret("not-the-token"))
    with pytest.raises(SmartBillAuthError) as refused:
        await wrong_token.taxes()
    assert refused.value.status == 401 and "not-the-token" not in str(refused.value)

    other_company = make_client(cif="RO4221306")
    with pytest.raises(SmartBillAuthError):
        await other_company.series()

    no_token = make_client(token=None)
    with pytest.raises(ConfigError, match="CYPHER_SMARTBILL_TOKEN"):
        await no_token.taxes()
    assert [c.status for c in sim[0].calls] == [401, 401]
