"""Creating a quote and pricing it by message: a numbered draft, the ``PriceCart`` it sends,
and the pricing engine's answer kept (or its failure shown) while the draft waits for it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import asyncpg
import msgspec

from actors.pricing.messages import CartLine, CartPriced, CartPricingFailed, PriceCart
from actors.quotations import domain, store
from actors.quotations.model import HistoryEntry, Language, Line, Quote, QuoteCustomer
from actors.quotations.service import Outcome, Refused, by_request_id, hold_id, quote_key
from hub.errors import DomainError
from hub.ids import uuid7

MAX_LINES = 200
CUI_KEY = "753217532"


class NewQuote(msgspec.Struct, frozen=True, kw_only=True):
    """A quote asked for: who it is for, what, and how it is to be offered."""

    customer: QuoteCustomer
    lines: tuple[CartLine, ...]
    language: Language
    validity_days: int
    hold_stock: bool = False
    tier: int | None = None
    notes: str | None = None


async def create(
    conn: asyncpg.Connection, new: NewQuote, *, by: str, now: datetime
) -> tuple[Quote, Outcome]:
    """Store a draft with the next number of the year and ask the pricing engine to price it."""
    check_lines(new.lines)
    check_customer(new.customer)
    quotation_id = str(uuid7())
    year = domain.business_date(now).year
    number = domain.quote_number(year, await store.next_number(conn, year))
    known = await store.products(conn, (x.sku for x in new.lines))
    quote = Quote(
        id=quotation_id,
        number=number,
        customer_id=new.customer.customer_id,
        customer=new.customer,
        status="draft",
        pricing="pending",
        pricing_error=None,
        tier=new.tier,
        priced_tier=None,
        priced_on=None,
        currency="RON",
        net=None,
        vat=None,
        gross=None,
        language=new.language,
        validity_days=new.validity_days,
        sent_at=None,
        sent_by=None,
        valid_until=None,
        expires_at=None,
        remind_at=None,
        reminded_at=None,
        hold_stock=new.hold_stock,
        hold_status="none",
        held=None,
        order_id=None,
        notes=new.notes,
        created_by=by,
        created_at=now,
        updated_at=now,
        version=1,
    )
    asked = [
        Line(
            line_no=i,
            sku=x.sku,
            name=known[x.sku].name if x.sku in known else x.sku,
            unit=known[x.sku].unit if x.sku in known else "piece",
            quantity=x.quantity,
        )
        for i, x in enumerate(new.lines, start=1)
    ]
    await store.insert(conn, quote, asked)
    created = HistoryEntry(from_status=None, to_status="draft", at=now, by=by, reason="created")
    await store.add_history(conn, quotation_id, created)
    return quote, price_request(quote, new.lines)


def price_request(quote: Quote, lines: Sequence[CartLine]) -> Outcome:
    """Ask the pricing engine for the quote's lines (answered by CartPriced or a failure)."""
    out = Outcome()
    out.emit(
        PriceCart(
            request_id=hold_id(quote.id),
            lines=tuple(lines),
            customer_id=quote.customer_id,
            tier=quote.tier,
        ),
        quote_key(quote.id),
    )
    return out


async def reprice(
    conn: asyncpg.Connection, quotation_id: str, *, now: datetime
) -> tuple[Quote, Outcome]:
    """Price a draft again (after a failure, or after prices changed): pricing is pending."""
    quote = await store.get(conn, quotation_id, lock=True)
    if quote.status != "draft":
        raise Refused(f"quotation {quote.number} is {quote.status}: only a draft is repriced")
    if quote.pricing == "pending":
        raise Refused(f"quotation {quote.number} is being priced already")
    asked = await store.lines(conn, quotation_id)
    after = msgspec.structs.replace(quote, pricing="pending", pricing_error=None)
    saved = await store.save(conn, quote, after, now)
    return saved, price_request(saved, [CartLine(sku=x.sku, quantity=x.quantity) for x in asked])


async def priced(conn: asyncpg.Connection, msg: CartPriced, *, now: datetime) -> Outcome:
    """Keep the priced lines of a draft waiting for them (any other answer is stale)."""
    quote = await _waiting_for_price(conn, msg.request_id)
    if quote is None:
        return Outcome()
    asked = await store.lines(conn, quote.id)
    if [(x.sku, x.quantity) for x in asked] != [(x.sku, x.quantity) for x in msg.lines]:
        return Outcome()  # an answer to other lines than these: not ours to keep
    names = {x.sku: x.name for x in asked}
    known = await store.products(conn, names)
    new_lines = [
        Line(
            line_no=i,
            sku=x.sku,
            name=known[x.sku].name if x.sku in known else names[x.sku],
            unit=x.unit,
            quantity=x.quantity,
            unit_net=x.unit_net,
            line_net=x.line_net,
            vat_rate=x.vat_rate,
            line_vat=x.line_vat,
            line_gross=x.line_gross,
            breakdown=list(msgspec.to_builtins(x.breakdown)),
        )
        for i, x in enumerate(msg.lines, start=1)
    ]
    totals = domain.totals(x.quoted() for x in new_lines)
    await store.replace_lines(conn, quote.id, new_lines)
    after = msgspec.structs.replace(
        quote,
        pricing="priced",
        priced_tier=msg.tier,
        priced_on=msg.on,
        net=totals.net,
        vat=totals.vat,
        gross=totals.gross,
    )
    await store.save(conn, quote, after, now)
    return Outcome()


async def pricing_failed(
    conn: asyncpg.Connection, msg: CartPricingFailed, *, now: datetime
) -> Outcome:
    """A draft that could not be priced stays a draft; the reason is shown on it."""
    quote = await _waiting_for_price(conn, msg.request_id)
    if quote is not None:
        after = msgspec.structs.replace(quote, pricing="failed", pricing_error=msg.reason)
        await store.save(conn, quote, after, now)
    return Outcome()


async def _waiting_for_price(conn: asyncpg.Connection, request_id: str) -> Quote | None:
    quote = await by_request_id(conn, request_id)
    if quote is None or quote.status != "draft" or quote.pricing != "pending":
        return None
    return quote


# --- checks ------------------------------------------------------------------------------------


def check_lines(lines: Sequence[CartLine]) -> None:
    """At least one line, at most ``MAX_LINES``, each SKU once, quantities > 0 (3 decimals)."""
    if not lines:
        raise DomainError("a quotation needs at least one line")
    if len(lines) > MAX_LINES:
        raise DomainError(f"a quotation has at most {MAX_LINES} lines, got {len(lines)}")
    twice = sorted(sku for sku, n in Counter(x.sku for x in lines).items() if n > 1)
    if twice:
        raise DomainError(f"SKU listed more than once: {', '.join(twice)}")
    for x in lines:
        if not _quantity_ok(x.quantity):
            raise DomainError(
                f"quantity of {x.sku} must be more than 0 with at most 3 decimals, got {x.quantity}"
            )


def _quantity_ok(quantity: Decimal) -> bool:
    if not quantity.is_finite() or quantity <= 0:
        return False
    exponent = quantity.normalize().as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -3


def check_customer(customer: QuoteCustomer) -> None:
    """A company needs a CUI whose check digit is right."""
    if customer.kind != "company":
        return
    if not customer.cui:
        raise DomainError("a company needs its CUI")
    if not valid_cui(customer.cui):
        raise DomainError(f"CUI {customer.cui!r} is not valid (its check digit does not match)")


def valid_cui(cui: str) -> bool:
    """``RO18547290`` or ``18547290``: 2 to 10 digits, the last one the check digit."""
    digits = "".join(cui.split()).upper().removeprefix("RO")
    if not (digits.isascii() and digits.isdigit() and 2 <= len(digits) <= 10):
        return False
    body = digits[:-1].rjust(len(CUI_KEY), "0")
    check = sum(int(d) * int(k) for d, k in zip(body, CUI_KEY, strict=True)) * 10 % 11
    return (0 if check == 10 else check) == int(digits[-1])
