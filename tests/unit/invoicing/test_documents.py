"""SmartBill bodies built from the invoicing commands: identity, places, VAT, payment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
import pytest

from actors.invoicing import documents
from actors.invoicing.messages import DocumentLine, IssueInvoice, IssueProforma, Party
from connectors.smartbill.rules import problems
from connectors.smartbill.wire import Tax, encode

TAXES = (
    Tax(name="Normala", percentage=Decimal(21)),
    Tax(name="Redusa", percentage=Decimal(11)),
    Tax(name="Taxare inversa", percentage=Decimal(0)),
)
CONSUMER = Party(
    kind="consumer",
    name="Ștefan Țăranu",
    street="Str. Mărășești 7",
    city="Brașov",
    county="Brașov",
    email="stefan@exemplu.ro",
)
COMPANY = Party(
    kind="company",
    name="Iluminat Grădină SRL",
    street="Calea Victoriei 10",
    city="Municipiul București",
    county="Sectorul 1",
    cui="RO18547290",
    reg_com="J40/1234/2010",
)
LINE = DocumentLine(
    sku="PROF-AL-2M",
    name="Profil aluminiu 2m, difuzor opac",
    unit="metre",
    quantity=Decimal("2.5"),
    unit_net=Decimal("40.00"),
    vat_rate=Decimal("0.21"),
    line_net=Decimal("100.00"),
    line_vat=Decimal("21.00"),
    line_gross=Decimal("121.00"),
)
NOW = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)  # already 1 April in Bucharest


def _invoice(**kw: object) -> IssueInvoice:
    fields: dict[str, object] = {
        "request_id": "invoice:o-1",
        "order_id": "o-1",
        "order_number": "LDX-10042",
        "party": CONSUMER,
        "lines": (LINE,),
        "payment_method": "card",
        "paid": True,
    }
    fields.update(kw)
    return IssueInvoice(**fields)  # type: ignore[arg-type]


def test_consumer_invoice_paid_by_card() -> None:
    body = documents.invoice(_invoice(), TAXES, series="LDX", now=NOW)
    assert body.series_name == "LDX" and body.currency == "RON"
    assert body.issue_date is not None and body.issue_date.isoformat() == "2026-04-01"
    assert body.client is not None
    assert body.client.name == "Ștefan Țăranu" and body.client.vat_code == "-"
    assert body.client.city == "Brașov" and body.client.county == "Brașov"
    assert body.client.is_tax_payer is False
    assert body.mentions is not None and "LDX-10042" in body.mentions
    [product] = body.products
    assert (product.tax_name, product.tax_percentage) == ("Normala", Decimal(21))
    assert product.measuring_unit_name == "m" and product.code == "PROF-AL-2M"
    assert product.price == Decimal("40.00") and product.is_tax_included is False
    assert body.payment is not None
    assert (body.payment.value, body.payment.type) == (Decimal("121.00"), "Card")
    assert problems(msgspec.structs.replace(body, company_vat_code="RO18547290")) == []
    assert "Ștefan".encode() in encode(body)


def test_unpaid_cash_on_delivery_invoice_has_no_payment() -> None:
    msg = _invoice(payment_method="cash_on_delivery", paid=False)
    assert documents.invoice(msg, TAXES, series="LDX", now=NOW).payment is None


def test_consumer_with_cnp_keeps_it() -> None:
    party = msgspec.structs.replace(CONSUMER, cui="1960229410015")
    assert documents.client(party).vat_code == "1960229410015"


def test_company_in_bucharest_sector() -> None:
    msg = IssueProforma(
        request_id="proforma:o-2",
        order_id="o-2",
        order_number="LDX-10043",
        party=COMPANY,
        lines=(LINE,),
    )
    body = documents.estimate(msg, TAXES, series="LDXP", now=NOW, due_days=5)
    assert body.due_date == documents.issue_date(NOW) + timedelta(days=5)
    assert body.client is not None
    assert body.client.vat_code == "RO18547290" and body.client.is_tax_payer is True
    assert body.client.reg_com == "J40/1234/2010"
    assert (body.client.city, body.client.county) == ("Sector 1", "Bucuresti")


def test_company_without_ro_prefix_is_not_a_vat_payer() -> None:
    client = documents.client(msgspec.structs.replace(COMPANY, cui="18547290"))
    assert client.is_tax_payer is False


@pytest.mark.parametrize("cui", ["RO18547291", "", None, "ABC"])
def test_company_with_invalid_cui_is_refused(cui: str | None) -> None:
    with pytest.raises(documents.DocumentProblem, match="CUI"):
        documents.client(msgspec.structs.replace(COMPANY, cui=cui))


def test_vat_rate_maps_to_smartbill_tax() -> None:
    assert documents.tax_for(Decimal("0.11"), TAXES).name == "Redusa"
    assert documents.tax_for(Decimal("0"), TAXES).name == "Taxare inversa"
    with pytest.raises(documents.DocumentProblem, match="19"):
        documents.tax_for(Decimal("0.19"), TAXES)


def test_bucharest_spellings() -> None:
    assert documents.is_bucharest("Bucuresti", "")
    assert documents.is_bucharest("Sector 4", "București")
    assert not documents.is_bucharest("Cluj-Napoca", "Cluj")
    party = msgspec.structs.replace(CONSUMER, city="București", county="București", street="Str. X")
    assert documents.place(party) == ("Bucuresti", "Bucuresti")


def test_no_lines_is_refused() -> None:
    with pytest.raises(documents.DocumentProblem):
        documents.invoice(_invoice(lines=()), TAXES, series="LDX", now=NOW)
