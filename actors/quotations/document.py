"""The quotation as a printed document: what the PDF shows, its HTML, and the PDF itself.

:class:`QuotationDocument` holds everything printed (seller, customer, lines with their
discounts, totals, validity), built by the caller from a stored quote and the seller's settings.
:func:`render_html` is pure (jinja2, autoescaped: a customer's text is always text, never
markup; the template and its words live in ``config/templates/quotations``);
:func:`render_pdf` hands the HTML to the hub's :class:`~hub.pdf.PdfRenderer`, whose worker
processes print it off the event loop and fetch nothing but ``data:`` URLs.

Discounts come from the price breakdown: a promotion replaces the tier and volume discounts (the
customer gets the lowest, see actors/pricing), so a line shows either the promotion or its tier
and volume discounts, and a note when the margin floor raised the price. Internal steps (cost,
margin, floor value) are never printed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jinja2
import msgspec
from markupsafe import Markup

from actors.pricing.messages import PricedLine, PriceStep, StepName
from actors.quotations.domain import QuoteLine, QuoteTotals, round_money
from hub.pdf import PdfRenderer
from hub.settings import PROJECT_ROOT

TEMPLATES = Path("config/templates/quotations")
Language = Literal["ro", "en"]
Unit = Literal["piece", "metre"]
DiscountKind = Literal["tier", "volume", "promotion", "floor"]
ONE = Decimal(1)
MINUS = "\N{MINUS SIGN}"  # typographic, as printed before a discount
ZERO = Decimal(0)


class Seller(msgspec.Struct, frozen=True, kw_only=True):
    """The shop issuing the quote, as its settings describe it."""

    name: str
    cui: str
    reg_com: str
    street: str
    city: str
    county: str
    iban: str
    bank: str
    email: str
    phone: str
    postcode: str | None = None
    country: str = "RO"
    website: str | None = None


class Client(msgspec.Struct, frozen=True, kw_only=True):
    """Who the quote is for: a company (CUI, trade register number) or a consumer."""

    kind: Literal["consumer", "company"]
    name: str
    street: str
    city: str
    county: str
    postcode: str | None = None
    country: str = "RO"
    cui: str | None = None
    reg_com: str | None = None
    contact: str | None = None  # the person at a company the quote is addressed to
    email: str | None = None
    phone: str | None = None


class Discount(msgspec.Struct, frozen=True, kw_only=True):
    """One discount a line got: its kind, its rate (None: a fixed promotional price or the
    floor) and, for a promotion, its name."""

    kind: DiscountKind
    rate: Decimal | None = None
    label: str | None = None


class DocumentLine(msgspec.Struct, frozen=True, kw_only=True):
    """A printed line: list price before discounts, the discounts, the price and its VAT."""

    sku: str
    name: str
    unit: Unit
    quantity: Decimal
    list_price: Decimal  # unit, net, before any discount, to the cent
    discounts: tuple[Discount, ...]
    discount: Decimal | None  # the total discount on the unit price, as a fraction
    unit_net: Decimal
    line_net: Decimal
    vat_rate: Decimal
    line_vat: Decimal
    line_gross: Decimal


class QuotationDocument(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the quotation PDF shows. ``valid_until`` is the last valid day."""

    seller: Seller
    number: str
    issued_on: date
    valid_until: date
    client: Client
    lines: tuple[DocumentLine, ...]
    totals: QuoteTotals
    language: Language = "ro"
    notes: str | None = None
    payment_terms: str | None = None  # None: the standard words of strings.toml
    prepared_by: str | None = None

    def __post_init__(self) -> None:
        sums = (
            sum((line.line_net for line in self.lines), ZERO),
            sum((line.line_vat for line in self.lines), ZERO),
            sum((line.line_gross for line in self.lines), ZERO),
        )
        if sums != (self.totals.net, self.totals.vat, self.totals.gross):
            raise ValueError(f"the totals of {self.number} are not the sums of its lines")


def document_line(line: QuoteLine | PricedLine, *, name: str, unit: Unit) -> DocumentLine:
    """The printed form of a priced line; its breakdown may be ``PriceStep``s or their JSON."""
    steps = {s.step: s for s in (msgspec.convert(x, PriceStep) for x in line.breakdown)}
    base = steps.get("base")
    list_price = max(round_money(base.amount), line.unit_net) if base else line.unit_net
    discounts = _discounts(steps)
    return DocumentLine(
        sku=line.sku,
        name=name,
        unit=unit,
        quantity=line.quantity,
        list_price=list_price,
        discounts=discounts,
        discount=_total_discount(discounts, list_price, line.unit_net),
        unit_net=line.unit_net,
        line_net=line.line_net,
        vat_rate=line.vat_rate,
        line_vat=line.line_vat,
        line_gross=line.line_gross,
    )


def _discounts(steps: Mapping[StepName, PriceStep]) -> tuple[Discount, ...]:
    found: list[Discount] = []
    promotion = steps.get("promotion")
    if promotion is not None and promotion.applied:
        found.append(Discount(kind="promotion", rate=promotion.rate, label=promotion.note))
    else:
        for kind in ("tier", "volume"):
            step = steps.get(kind)
            if step is not None and step.applied and step.rate:
                found.append(Discount(kind=kind, rate=step.rate))
    floor = steps.get("floor")
    if floor is not None and floor.applied:
        found.append(Discount(kind="floor"))
    return tuple(found)


def _total_discount(
    discounts: tuple[Discount, ...], list_price: Decimal, unit_net: Decimal
) -> Decimal | None:
    """The rates compounded when they tell the whole story (the sub-lines then add up);
    else what the prices say, to a tenth of a percent."""
    if unit_net >= list_price or not discounts:
        return None
    if all(d.rate is not None for d in discounts):
        remaining = ONE
        for d in discounts:
            remaining *= ONE - (d.rate or ZERO)
        return ONE - remaining
    return (ONE - unit_net / list_price).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


# --- rendering ---------------------------------------------------------------------------------


def render_html(doc: QuotationDocument) -> str:
    """The document as a self-contained HTML page (styles inline, no URL to fetch)."""
    template = _environment().get_template("quotation.html")
    return template.render(doc=doc, t=strings()[doc.language], summary=_summary(doc))


async def render_pdf(renderer: PdfRenderer, doc: QuotationDocument) -> bytes:
    """The PDF of ``doc``, printed by ``renderer``'s worker processes."""
    return await renderer.render(render_html(doc))


@cache
def templates_dir() -> Path:
    """``config/templates/quotations`` under the working directory (an installed hub, as in the
    Docker image), else next to the code (a checkout)."""
    return TEMPLATES if TEMPLATES.is_dir() else PROJECT_ROOT / TEMPLATES


@cache
def strings() -> dict[str, dict[str, Any]]:
    """The words of the document by language (``strings.toml``)."""
    with (templates_dir() / "strings.toml").open("rb") as f:
        return tomllib.load(f)


def _summary(doc: QuotationDocument) -> dict[str, Any]:
    list_total = sum((round_money(x.list_price * x.quantity) for x in doc.lines), ZERO)
    by_rate: dict[Decimal, Decimal] = {}
    for line in doc.lines:
        by_rate[line.vat_rate] = by_rate.get(line.vat_rate, ZERO) + line.line_vat
    return {
        "list_total": list_total,
        "discount_total": max(list_total - doc.totals.net, ZERO),
        "vat_by_rate": sorted(by_rate.items(), reverse=True),
    }


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=_lang_filter(money),
        amount=_lang_filter(amount),
        qty=_lang_filter(quantity),
        percent=_lang_filter(percent),
        day=_lang_filter(day),
        address=_lang_filter(address),
        discount_label=_lang_filter(discount_label),
        css_string=css_string,
    )
    return env


def _lang_filter(format_: Any) -> Any:
    @jinja2.pass_context
    def apply(context: jinja2.runtime.Context, value: Any) -> Any:
        return format_(value, context["doc"].language)

    return apply


# --- formats -----------------------------------------------------------------------------------


def number(value: Decimal, language: Language, places: int | None = None) -> str:
    """``1.234,56`` (ro) or ``1,234.56`` (en); ``places=None``: no trailing zeros."""
    if places is None:
        value = value.normalize()
        places = max(0, -int(value.as_tuple().exponent))
    text = f"{value:,.{places}f}"
    return text.translate(str.maketrans(",.", ".,")) if language == "ro" else text


def amount(value: Decimal, language: Language) -> str:
    """Money without its currency, to the cent (table cells)."""
    return number(value, language, 2)


def money(value: Decimal, language: Language) -> str:
    """``1.234,56 lei`` (ro) or ``RON 1,234.56`` (en)."""
    text = amount(value, language)
    return f"{text} lei" if language == "ro" else f"RON {text}"


def quantity(value: Decimal, language: Language) -> str:
    """A quantity without trailing zeros: ``12``, ``2,5``."""
    return number(value, language)


def percent(rate: Decimal, language: Language) -> str:
    """A fraction as a percentage: ``0.21`` → ``21%``, ``0.145`` → ``14,5%``."""
    return number(rate * 100, language) + "%"


def day(value: date, language: Language) -> str:
    """``15.03.2026`` (ro) or ``15 March 2026`` (en)."""
    if language == "ro":
        return value.strftime("%d.%m.%Y")
    return f"{value.day} {strings()['en']['months'][value.month - 1]} {value.year}"


def address(party: Seller | Client, language: Language) -> list[str]:
    """Street, then postcode, city and county (``jud.`` in Romanian; Bucharest has sectors)."""
    county = party.county
    prefix = strings()[language]["county"]
    if prefix and county != party.city and not county.lower().startswith("sector"):
        county = f"{prefix} {county}"
    place = " ".join(p for p in (party.postcode, party.city) if p)
    rows = [party.street, f"{place}, {county}" if county != party.city else place]
    if party.country != "RO":
        rows.append(party.country)
    return rows


def discount_label(discount: Discount, language: Language) -> str:
    """A discount in words: its kind, the promotion's name in quotes, the rate."""
    words = strings()[language]
    parts = [words[f"discount_{discount.kind}"]]
    if discount.label:
        opening, closing = words["quotes"]
        parts.append(f"{opening}{discount.label}{closing}")
    if discount.rate:
        parts.append(MINUS + percent(discount.rate, language))
    return " ".join(parts)


def css_string(value: str) -> Markup:
    """A quoted CSS string (for ``content:``): quotes, backslashes, newlines and ``<`` escaped,
    so no value can end the string or the ``<style>`` element."""
    escaped = "".join(c if c.isalnum() or c in " .,-·:/" else f"\\{ord(c):x} " for c in value)
    return Markup(f'"{escaped}"')


def lines_total(lines: Iterable[DocumentLine]) -> QuoteTotals:
    """The totals of printed lines (sums of net, VAT and gross)."""
    net = vat = ZERO
    for line in lines:
        net += line.line_net
        vat += line.line_vat
    return QuoteTotals(net=net, vat=vat, gross=net + vat)
