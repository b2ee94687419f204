"""The quotation PDF, printed by WeasyPrint in the hub's worker pool and read back as text."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pypdf import PdfReader

from actors.pricing import domain as pricing
from actors.pricing.rules import PriceInput, Promotion, SkuRules, VolumeBreak
from actors.quotations.document import (
    MINUS,
    Client,
    DocumentLine,
    QuotationDocument,
    Seller,
    document_line,
    lines_total,
    render_pdf,
)
from hub.pdf import PdfRenderer

pytestmark = pytest.mark.slow

D = Decimal
ON = date(2026, 3, 1)
SELLER = Seller(
    name="Ledux SRL",
    cui="RO18547290",
    reg_com="J40/1234/2012",
    street="Șoseaua Ștefan cel Mare nr. 12, et. 2",
    city="București",
    county="Sector 2",
    postcode="020121",
    iban="RO49AAAA1B31007593840000",
    bank="Banca Transilvania",
    email="oferte@ledux.ro",
    phone="+40 21 555 0101",
    website="www.ledux.ro",
)
CLIENT = Client(
    kind="company",
    name="Țesătoria Ștefănești SRL",
    cui="RO33034700",
    reg_com="J22/2345/2014",
    street="Str. Văii nr. 14, ap. 3",
    city="Iași",
    county="Iași",
    postcode="700259",
    contact="Ana-Maria Țîrcă",
    email="achizitii@tesatoria.ro",
    phone="0744 123 456",
)
# (sku, name, unit, quantity, cost, margin, tier)
PRODUCTS = [
    ("BL-12V-144-WW", "Bandă LED 12V 14,4W/m IP65 lumină caldă", "metre", "25", "11", "0.6", 2),
    ("SA-12V-100W", "Sursă alimentare 12V 100W, carcasă metalică", "piece", "5", "52", "0.6", 2),
    (
        "PR-AL-2M",
        "Profil aluminiu 2 m, difuzor opal, capace și cleme",
        "piece",
        "60",
        "25",
        "0.7",
        2,
    ),
    ("SP-GU10-7W", "Spot LED GU10 7W lumină neutră, unghi 38°", "piece", "150", "7", "0.8", 0),
]
BREAKS = (
    VolumeBreak(id=1, scope="sku", target="PR-AL-2M", min_quantity=D(50), discount=D("0.05")),
)
PROMOTIONS = (
    Promotion(
        id=2,
        name="Săptămâna spoturilor",
        scope="sku",
        target="SP-GU10-7W",
        kind="percent",
        value=D("0.2"),
        valid_from=ON,
        valid_to=ON,
    ),
)


def priced_lines(count: int = len(PRODUCTS)) -> tuple[DocumentLine, ...]:
    """Lines priced by the real pricing engine (breakdowns included), then made printable."""
    lines = []
    for n in range(count):
        sku, name, unit, qty, cost, margin, tier = PRODUCTS[n % len(PRODUCTS)]
        item = PriceInput(
            sku=sku,
            version=1,
            category="led",
            unit=unit,  # type: ignore[arg-type]
            cost=D(cost),
            margin=D(margin),
            status="active",
        )
        rules = SkuRules(
            min_margin=D("0.1"),
            volume_breaks=tuple(b for b in BREAKS if b.target == sku),
            promotions=tuple(p for p in PROMOTIONS if p.target == sku),
        )
        line = pricing.price_line(item, tier, D(qty), rules, ON)
        suffix = f" nr. {n + 1}" if count > len(PRODUCTS) else ""
        lines.append(document_line(line, name=name + suffix, unit=line.unit))
    return tuple(lines)


def quotation(lines: tuple[DocumentLine, ...] | None = None, **kw: object) -> QuotationDocument:
    chosen = lines or priced_lines()
    fields: dict[str, object] = {
        "seller": SELLER,
        "number": "OF-2026-00012",
        "issued_on": ON,
        "valid_until": date(2026, 3, 15),
        "client": CLIENT,
        "lines": chosen,
        "totals": lines_total(chosen),
        "notes": "Livrare la sediul din Brașov, Șoseaua Ștefan cel Mare — ÎNCĂRCARE ȘI ȚINERE.",
        "prepared_by": "Ioana Stănescu",
    }
    fields.update(kw)
    return QuotationDocument(**fields)  # type: ignore[arg-type]


@pytest.fixture
async def renderer() -> AsyncIterator[PdfRenderer]:
    r = PdfRenderer(workers=1, max_tasks=10, timeout=30)
    yield r
    await r.close()


def pages_of(pdf: bytes) -> list[str]:
    """Each page's text, whitespace collapsed (wrapped names read as one line)."""
    return [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages]


async def test_romanian_pdf_shows_diacritics_number_totals_vat_validity_and_cui(
    renderer: PdfRenderer,
) -> None:
    doc = quotation()
    pdf = await render_pdf(renderer, doc)
    assert pdf.startswith(b"%PDF-")
    text = " ".join(pages_of(pdf))
    for expected in (
        "Ofertă de preț",
        "OF-2026-00012",
        "Țesătoria Ștefănești SRL",
        "Str. Văii nr. 14, ap. 3",
        "700259 Iași",
        "Șoseaua Ștefan cel Mare nr. 12, et. 2",
        "Bandă LED 12V 14,4W/m IP65 lumină caldă",
        "Profil aluminiu 2 m, difuzor opal, capace și cleme",
        "ÎNCĂRCARE ȘI ȚINERE",
        "Ana-Maria Țîrcă",
        "CUI: RO33034700",
        "Nr. Reg. Com.: J22/2345/2014",
        "Valabilă până la 15.03.2026",
        "Data 01.03.2026",
        "Pagina 1 din 1",
        "Document generat electronic, valabil fără semnătură și ștampilă.",
    ):
        assert expected in text, expected
    assert not set("şţŞŢ") & set(text)  # comma-below letters only
    # 25 m of strip at tier 2: 11 * 1.6 = 17.60 list, 15.84 net
    assert f"25 m 17,60 {MINUS}10% 15,84 396,00 83,16" in text
    assert f"Promoție „Săptămâna spoturilor” {MINUS}20%" in text
    assert f"Discount client {MINUS}10% · Discount de cantitate {MINUS}5%" in text
    totals = doc.totals
    assert (totals.net, totals.vat, totals.gross) == (D("4462.80"), D("937.18"), D("5399.98"))
    assert "Total fără TVA 4.462,80 lei" in text
    assert "TVA 21% 937,18 lei" in text
    assert "Total de plată 5.399,98 lei" in text


async def test_english_pdf_uses_english_words_money_and_dates(renderer: PdfRenderer) -> None:
    text = " ".join(pages_of(await render_pdf(renderer, quotation(language="en"))))
    for expected in (
        "Quotation",
        "Valid until 15 March 2026",
        "Tax ID (CUI): RO33034700",
        "25 m 17.60",
        "VAT 21% RON 937.18",
        "Total due RON 5,399.98",
        "Țesătoria Ștefănești SRL",
        "Page 1 of 1",
    ):
        assert expected in text, expected
    assert "Ofertă" not in text and "lei" not in text


async def test_a_long_quote_repeats_the_header_numbers_pages_and_keeps_lines_whole(
    renderer: PdfRenderer,
) -> None:
    lines = priced_lines(40)
    pages = pages_of(await render_pdf(renderer, quotation(lines)))
    count = len(pages)
    assert count >= 2
    for number, page in enumerate(pages, start=1):
        assert f"Pagina {number} din {count}" in page
        if "Cod: " in page:  # a page of the table (the totals may have one to themselves)
            assert "Produs Cantitate Preț listă Discount Preț unitar" in page
    for n, line in enumerate(lines, start=1):
        holding = [p for p in pages if f"{line.name} " in p]  # "nr. 1 " is not "nr. 10"
        assert len(holding) == 1, line.name
        gross = f"{line.line_gross:,.2f}".translate(str.maketrans(",.", ".,"))
        row = re.escape(line.name) + r" Cod: \S+ .*?" + re.escape(gross)
        assert re.search(row, holding[0]), f"line {n} split across pages"
    assert "Total de plată" in pages[-1]


async def test_customer_markup_is_printed_as_text_and_fetches_nothing(
    renderer: PdfRenderer, caplog: pytest.LogCaptureFixture
) -> None:
    hits: list[str] = []

    async def record(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=b"GIF89a", content_type="image/gif")

    app = web.Application()
    app.router.add_get("/{tail:.*}", record)
    async with TestServer(app) as server:
        image = server.make_url("/latest/meta-data/iam")
        sheet = server.make_url("/x.css")
        client = msgspec.structs.replace(CLIENT, name="<script>alert(1)</script> SRL")
        note = f'<img src="{image}"><link rel="stylesheet" href="{sheet}"> url({image})'
        with caplog.at_level(logging.WARNING, logger="hub.pdf"):
            pdf = await render_pdf(renderer, quotation(client=client, notes=note))
    text = " ".join(pages_of(pdf))
    assert hits == []
    assert "<script>alert(1)</script> SRL" in text  # shown as the name it is
    assert f'<img src="{image}">' in text
    assert "refused to fetch" not in caplog.text  # escaped: there was nothing to fetch
