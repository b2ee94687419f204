"""The quotation document: formats, discounts from real price breakdowns, the HTML it renders."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import msgspec
import pytest

from actors.pricing import domain as pricing
from actors.pricing.rules import PriceInput, Promotion, SkuRules, VolumeBreak
from actors.quotations import document
from actors.quotations.document import (
    Client,
    Discount,
    DocumentLine,
    QuotationDocument,
    Seller,
    document_line,
    lines_total,
    render_html,
)
from actors.quotations.domain import QuoteLine, QuoteTotals

D = Decimal
M = document.MINUS  # printed before discounts
ON = date(2026, 3, 1)
SELLER = Seller(
    name="Ledux SRL",
    cui="RO18547290",
    reg_com="J40/1234/2012",
    street="Șoseaua Ștefan cel Mare nr. 12",
    city="București",
    county="Sector 2",
    postcode="020121",
    iban="RO49AAAA1B31007593840000",
    bank="Banca Transilvania",
    email="oferte@ledux.ro",
    phone="+40 21 555 0101",
)
CLIENT = Client(
    kind="company",
    name="Lumină Caldă SRL",
    cui="RO33034700",
    reg_com="J08/2345/2014",
    street="Str. Mureșenilor nr. 14",
    city="Brașov",
    county="Brașov",
)


def priced(
    *,
    cost: str = "10",
    margin: str = "0.5",
    tier: int = 0,
    qty: str = "1",
    unit: str = "piece",
    breaks: tuple[VolumeBreak, ...] = (),
    promotions: tuple[Promotion, ...] = (),
    min_margin: str = "0.1",
) -> DocumentLine:
    item = PriceInput(
        sku="BL-12V",
        version=1,
        category="benzi-led",
        unit=unit,  # type: ignore[arg-type]
        cost=D(cost),
        margin=D(margin),
        status="active",
    )
    rules = SkuRules(min_margin=D(min_margin), volume_breaks=breaks, promotions=promotions)
    line = pricing.price_line(item, tier, D(qty), rules, ON)
    return document_line(line, name="Bandă LED 12V", unit=line.unit)


def volume(at: str, discount: str) -> VolumeBreak:
    return VolumeBreak(id=7, scope="sku", target="BL-12V", min_quantity=D(at), discount=D(discount))


def promotion(kind: str, value: str, name: str = "Săptămâna benzilor") -> Promotion:
    return Promotion(
        id=3,
        name=name,
        scope="sku",
        target="BL-12V",
        kind=kind,  # type: ignore[arg-type]
        value=D(value),
        valid_from=ON,
        valid_to=ON,
    )


def quotation(*lines: DocumentLine, language: str = "ro", **kw: object) -> QuotationDocument:
    chosen = lines or (priced(tier=2, qty="12"),)
    fields: dict[str, object] = {
        "seller": SELLER,
        "number": "OF-2026-00012",
        "issued_on": ON,
        "valid_until": date(2026, 3, 15),
        "client": CLIENT,
        "lines": chosen,
        "totals": lines_total(chosen),
        "language": language,
    }
    fields.update(kw)
    return QuotationDocument(**fields)  # type: ignore[arg-type]


# --- formats -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ro", "en"),
    [
        ("1234.56", "1.234,56 lei", "RON 1,234.56"),
        ("0.5", "0,50 lei", "RON 0.50"),
        ("1234567", "1.234.567,00 lei", "RON 1,234,567.00"),
    ],
)
def test_money_is_written_the_romanian_or_the_english_way(value: str, ro: str, en: str) -> None:
    assert document.money(D(value), "ro") == ro
    assert document.money(D(value), "en") == en


@pytest.mark.parametrize(
    ("value", "ro", "en"),
    [
        ("12.000", "12", "12"),
        ("2.500", "2,5", "2.5"),
        ("100", "100", "100"),
        ("1500", "1.500", "1,500"),
    ],
)
def test_quantities_lose_trailing_zeros_but_not_their_magnitude(
    value: str, ro: str, en: str
) -> None:
    assert document.quantity(D(value), "ro") == ro
    assert document.quantity(D(value), "en") == en


def test_percentages_and_dates_per_language() -> None:
    assert document.percent(D("0.21"), "ro") == "21%"
    assert document.percent(D("0.145"), "ro") == "14,5%"
    assert document.percent(D("0.145"), "en") == "14.5%"
    assert document.day(date(2026, 3, 5), "ro") == "05.03.2026"
    assert document.day(date(2026, 3, 5), "en") == "5 March 2026"


def test_addresses_name_the_county_but_not_a_bucharest_sector_or_a_county_town_twice() -> None:
    assert document.address(SELLER, "ro") == [
        "Șoseaua Ștefan cel Mare nr. 12",
        "020121 București, Sector 2",
    ]
    assert document.address(CLIENT, "ro") == ["Str. Mureșenilor nr. 14", "Brașov"]
    rural = msgspec.structs.replace(CLIENT, city="Ghimbav", county="Brașov", postcode="507075")
    assert document.address(rural, "ro")[1] == "507075 Ghimbav, jud. Brașov"
    assert document.address(rural, "en")[1] == "507075 Ghimbav, Brașov"


def test_css_strings_cannot_end_the_string_or_the_style_element() -> None:
    escaped = str(document.css_string('Ledux"; } body { color: red } </style><img src=x>'))
    inner = escaped[1:-1]
    assert escaped.startswith('"') and escaped.endswith('"')
    assert '"' not in inner and "<" not in inner and "}" not in inner
    assert str(document.css_string("Ofertă de preț · Pagina")) == '"Ofertă de preț · Pagina"'


# --- lines from price breakdowns ----------------------------------------------------------------


def test_tier_and_volume_discounts_show_with_their_compounded_total() -> None:
    line = priced(tier=2, qty="60", breaks=(volume("50", "0.05"),))
    assert line.list_price == D("15.00")  # cost 10 + 50 %
    assert line.discounts == (
        Discount(kind="tier", rate=D("0.1")),
        Discount(kind="volume", rate=D("0.05")),
    )
    assert line.discount == D("0.145")
    assert line.unit_net == D("12.83")  # 15 * 0.9 * 0.95 = 12.825, half up
    assert (line.line_net, line.line_vat, line.line_gross) == (
        D("769.80"),
        D("161.66"),
        D("931.46"),
    )


def test_a_promotion_replaces_tier_and_volume_discounts_on_the_document() -> None:
    line = priced(
        tier=1, qty="60", breaks=(volume("50", "0.05"),), promotions=(promotion("percent", "0.2"),)
    )
    assert line.discounts == (
        Discount(kind="promotion", rate=D("0.2"), label="Săptămâna benzilor"),
    )
    assert line.discount == D("0.2")
    assert line.unit_net == D("12.00")


def test_a_fixed_price_promotion_and_the_floor_show_the_discount_the_prices_give() -> None:
    fixed = priced(promotions=(promotion("fixed_price", "12.50", "Lichidare stoc"),))
    assert fixed.discounts == (Discount(kind="promotion", rate=None, label="Lichidare stoc"),)
    assert fixed.discount == D("0.167")  # 1 - 12.50 / 15.00
    floored = priced(margin="0.2", tier=3, min_margin="0.15")  # 12 * 0.85 = 10.20 < 11.50
    assert [d.kind for d in floored.discounts] == ["tier", "floor"]
    assert floored.unit_net == D("11.50")
    assert floored.discount == D("0.042")  # 1 - 11.50 / 12.00


def test_a_line_at_list_price_has_no_discount() -> None:
    line = priced(qty="3.5", unit="metre")
    assert (line.discounts, line.discount, line.list_price) == ((), None, line.unit_net)


def test_stored_breakdowns_decoded_from_json_give_the_same_line() -> None:
    item = PriceInput(
        sku="BL-12V",
        version=1,
        category="c",
        unit="metre",
        cost=D("10"),
        margin=D("0.5"),
        status="active",
    )
    priced_line = pricing.price_line(item, 2, D("12"), SkuRules(min_margin=D("0.1")), ON)
    stored = msgspec.json.decode(msgspec.json.encode(priced_line.breakdown))
    quote_line = QuoteLine(
        sku="BL-12V",
        quantity=D("12"),
        unit_net=priced_line.unit_net,
        vat_rate=priced_line.vat_rate,
        breakdown=tuple(stored),
    )
    from_quote = document_line(quote_line, name="Bandă LED 12V", unit="metre")
    assert from_quote == document_line(priced_line, name="Bandă LED 12V", unit="metre")


def test_totals_that_are_not_the_sum_of_the_lines_are_refused() -> None:
    line = priced(qty="2")
    wrong = QuoteTotals(net=line.line_net, vat=line.line_vat, gross=line.line_gross + D("0.01"))
    with pytest.raises(ValueError, match="not the sums of its lines"):
        quotation(line, totals=wrong)


# --- HTML ----------------------------------------------------------------------------------------


def test_every_word_exists_in_both_languages_and_romanian_uses_comma_below_letters() -> None:
    words = document.strings()
    assert set(words["ro"]) == set(words["en"])
    romanian = " ".join(str(v) for v in words["ro"].values())
    assert not set("şţŞŢ") & set(romanian)  # cedilla forms are wrong in Romanian
    assert {"ș", "ț", "ă", "â", "î"} <= set(romanian)


def test_romanian_html_shows_title_validity_vat_totals_and_no_internal_price_steps() -> None:
    line = priced(tier=2, qty="60", breaks=(volume("50", "0.05"),))
    html = render_html(quotation(line, notes="Livrare în Iași"))
    for text in (
        "Ofertă de preț",
        "OF-2026-00012",
        "Valabilă până la",
        "15.03.2026",
        "TVA 21%",
        "769,80",
        "931,46 lei",
        f"Discount client {M}10%",
        f"Discount de cantitate {M}5%",
        f"{M}14,5%",
        "RO33034700",
        "Livrare în Iași",
        "60 buc",
    ):
        assert text in html, text
    assert "cost" not in html.lower() and "floor" not in html.lower()


def test_english_html_uses_english_words_money_and_dates() -> None:
    html = render_html(quotation(language="en"))
    assert "Quotation" in html and "Valid until" in html and "15 March 2026" in html
    # 12 pcs at 13.50 (15.00 less 10 %): 162.00 net, 34.02 VAT
    assert "VAT 21%" in html and "RON 162.00" in html and "RON 196.02" in html
    assert "12 pcs" in html and f"Customer discount {M}10%" in html
    assert "Ofertă" not in html


def test_customer_text_is_escaped_and_the_page_references_no_url() -> None:
    client = msgspec.structs.replace(CLIENT, name='<script>alert("x")</script> SRL')
    html = render_html(
        quotation(client=client, notes='<img src="http://169.254.169.254/latest"> & Co')
    )
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "<img" not in html and "&lt;img src=" in html and "&amp; Co" in html
    benign = render_html(quotation())
    assert "src=" not in benign and "href=" not in benign and "url(" not in benign
