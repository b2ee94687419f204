"""Quotations through the real bus: numbered drafts priced by the pricing engine (or failing
to be), sending, acceptance, rejection, conversion to an order at the quoted prices, and the
optional stock hold kept by the inventory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import asyncpg
import msgspec
import pytest

from actors.inventory.actor import InventoryActor
from actors.inventory.messages import ReleaseStock, ReserveStock
from actors.orders.messages import PlaceOrder
from actors.pricing.actor import Pricing
from actors.pricing.messages import CartPriced, CartTotals
from actors.pricing.settings import PricingSettings
from actors.quotations import drafts, lifecycle, store
from actors.quotations.actor import QuotationsActor
from actors.quotations.messages import QuotationStatusChanged
from actors.quotations.service import Refused
from hub.bootstrap import Hub
from tests.integration.inventory.support import clean as clean_inventory
from tests.integration.inventory.support import receive, stock
from tests.integration.pricing.support import products, snapshot
from tests.integration.quotations.support import (
    ACTOR,
    Recorder,
    TimeMachine,
    change,
    history,
    new_quote,
    priced_catalog,
    priced_quote,
    send,
)
from tests.support import eventually

StartHub = Callable[..., Any]
START = datetime(2027, 5, 10, 8, 0, tzinfo=UTC)  # 11:00 in Bucharest
CASH = lifecycle.OrderTerms(payment_method="bank_transfer")


async def started(
    start_hub: StartHub, conn: asyncpg.Connection, tm: TimeMachine, *more: Any
) -> tuple[Hub, Recorder]:
    recorder = Recorder()
    hub, _ = await start_hub(
        QuotationsActor(clock=tm.now), Pricing(PricingSettings()), recorder, *more
    )
    await priced_catalog(hub, conn)
    return hub, recorder


async def create(conn: asyncpg.Connection, tm: TimeMachine, *lines: tuple[str, str], **kw: Any):
    quote, _ = await change(
        conn, lambda c: drafts.create(c, new_quote(*lines, **kw), by=ACTOR, now=tm.now()), tm
    )
    return await priced_quote(conn, quote.id)


async def test_a_draft_is_numbered_and_priced_with_its_breakdown(
    start_hub: StartHub, qdb: asyncpg.Connection
) -> None:
    tm = TimeMachine(START)
    await started(start_hub, qdb, tm)
    first = await create(qdb, tm, ("STRIP-1", "10"), ("BULB-1", "3"))
    second = await create(qdb, tm, ("STRIP-2", "1"))
    assert (first.number, second.number) == ("OF-2027-00001", "OF-2027-00002")
    assert first.status == "draft" and first.pricing == "priced"
    lines = await store.lines(qdb, first.id)
    assert [(x.sku, x.name, x.unit, x.quantity) for x in lines] == [
        ("STRIP-1", "Product STRIP-1", "metre", D(10)),
        ("BULB-1", "Product BULB-1", "piece", D(3)),
    ]
    strip, bulb = lines
    assert (strip.unit_net, strip.line_net, strip.vat_rate) == (D("13.50"), D("135.00"), D("0.21"))
    assert (bulb.unit_net, bulb.line_net) == (D("6.00"), D("18.00"))
    assert strip.breakdown is not None and strip.breakdown[0]["step"] == "base"
    assert (first.net, first.vat, first.gross) == (D("153.00"), D("32.13"), D("185.13"))
    assert first.priced_tier == 0
    assert await history(qdb, first.id) == [(None, "draft", ACTOR)]


async def test_a_quote_that_cannot_be_priced_stays_a_draft_with_the_reason(
    start_hub: StartHub, qdb: asyncpg.Connection
) -> None:
    tm = TimeMachine(START)
    hub, _ = await started(start_hub, qdb, tm)
    quote = await create(qdb, tm, ("STRIP-1", "2"), ("NEW-1", "1"))
    assert (quote.status, quote.pricing) == ("draft", "failed")
    assert quote.pricing_error is not None and "NEW-1" in quote.pricing_error
    with pytest.raises(Refused, match="not priced yet"):
        await change(
            qdb, lambda c: lifecycle.send(c, quote.id, by=ACTOR, now=tm.now(), remind_days_before=3)
        )

    await send(hub, products(snapshot("NEW-1", unit="piece", category="becuri-led")))
    await eventually(
        lambda: qdb.fetchval("SELECT count(*) = 4 FROM quotation_products"), what="NEW-1 known"
    )
    again, _ = await change(qdb, lambda c: drafts.reprice(c, quote.id, now=tm.now()))
    assert (again.pricing, again.pricing_error) == ("pending", None)
    repriced = await priced_quote(qdb, quote.id)
    assert repriced.pricing == "priced" and repriced.gross is not None
    assert [x.name for x in await store.lines(qdb, quote.id)] == [
        "Product STRIP-1",
        "Product NEW-1",
    ]


async def test_a_stale_pricing_answer_changes_nothing(
    start_hub: StartHub, qdb: asyncpg.Connection
) -> None:
    tm = TimeMachine(START)
    hub, _ = await started(start_hub, qdb, tm)
    quote = await create(qdb, tm, ("STRIP-1", "2"))
    lines = await store.lines(qdb, quote.id)
    cheaper = msgspec.structs.replace(lines[0].priced(), unit_net=D("1.00"))
    stale = CartPriced(
        request_id=f"quote:{quote.id}",
        customer_id=None,
        tier=3,
        on=START.date(),
        lines=(cheaper,),
        totals=CartTotals(net=D("2.00"), vat=D("0.42"), gross=D("2.42")),
    )
    env = await send(hub, stale, key=f"quote:{quote.id}")
    await eventually(
        lambda: qdb.fetchval(
            "SELECT true FROM hub_inbox WHERE actor = 'quotations' AND message_id = $1",
            env.message_id,
        ),
        what="the stale answer handled",
    )
    assert await store.get(qdb, quote.id) == quote
    assert await store.lines(qdb, quote.id) == lines


async def test_an_accepted_quote_becomes_an_order_at_the_quoted_prices(
    start_hub: StartHub, qdb: asyncpg.Connection
) -> None:
    tm = TimeMachine(START)
    _, rec = await started(start_hub, qdb, tm)
    quote = await create(qdb, tm, ("STRIP-1", "10"), ("BULB-1", "3"))
    await change(
        qdb, lambda c: lifecycle.send(c, quote.id, by=ACTOR, now=tm.now(), remind_days_before=3), tm
    )
    await change(qdb, lambda c: lifecycle.accept(c, quote.id, by="user:9", now=tm.now()), tm)
    assert set(await tm.pending(qdb)) == {f"quotation:{quote.id}:expire"}
    converted, _ = await change(
        qdb, lambda c: lifecycle.convert(c, quote.id, CASH, by=ACTOR, now=tm.now()), tm
    )

    [order] = await eventually(lambda: rec.of(PlaceOrder), what="the order placed")
    lines = await store.lines(qdb, quote.id)
    assert order.order_id == converted.order_id
    assert (order.source, order.quotation_id, order.hold) == ("quotation", quote.id, None)
    assert order.priced == tuple(x.priced() for x in lines)
    assert [(x.sku, x.quantity) for x in order.lines] == [("STRIP-1", 10), ("BULB-1", 3)]
    assert order.billing == quote.customer.address
    assert (order.customer.cui, order.customer.customer_id) == ("RO18547290", "C-42")
    assert order.payment_method == "bank_transfer"
    assert converted.status == "converted"
    assert await tm.pending(qdb) == {}
    moves = await eventually(
        lambda: (
            [(e.from_status, e.to_status) for e in rec.of(QuotationStatusChanged)]
            if len(rec.of(QuotationStatusChanged)) == 3
            else None
        ),
        what="three status events",
    )
    assert moves == [("draft", "sent"), ("sent", "accepted"), ("accepted", "converted")]
    assert rec.of(QuotationStatusChanged)[-1].order_id == converted.order_id
    assert await history(qdb, quote.id) == [
        (None, "draft", ACTOR),
        ("draft", "sent", ACTOR),
        ("sent", "accepted", "user:9"),
        ("accepted", "converted", ACTOR),
    ]


async def test_moves_the_status_does_not_allow_are_refused_naming_the_way_out(
    start_hub: StartHub, qdb: asyncpg.Connection
) -> None:
    tm = TimeMachine(START)
    await started(start_hub, qdb, tm)
    quote = await create(qdb, tm, ("STRIP-1", "1"))
    with pytest.raises(Refused, match="is draft and cannot become accepted; it can become: sent"):
        await change(qdb, lambda c: lifecycle.accept(c, quote.id, by=ACTOR, now=tm.now()))
    with pytest.raises(Refused, match="only an accepted quote"):
        await change(qdb, lambda c: lifecycle.convert(c, quote.id, CASH, by=ACTOR, now=tm.now()))
    await change(
        qdb, lambda c: lifecycle.send(c, quote.id, by=ACTOR, now=tm.now(), remind_days_before=3), tm
    )
    with pytest.raises(Refused, match="is sent and cannot become sent"):
        await change(
            qdb, lambda c: lifecycle.send(c, quote.id, by=ACTOR, now=tm.now(), remind_days_before=3)
        )
    await change(
        qdb, lambda c: lifecycle.reject(c, quote.id, by=ACTOR, reason="too dear", now=tm.now())
    )
    with pytest.raises(
        Refused, match="is rejected and cannot become accepted; it can become: nothing else"
    ):
        await change(qdb, lambda c: lifecycle.accept(c, quote.id, by=ACTOR, now=tm.now()))
    assert (await store.get(qdb, quote.id)).status == "rejected"
    assert [h[1] for h in await history(qdb, quote.id)] == ["draft", "sent", "rejected"]


async def test_after_its_expiry_instant_a_quote_is_neither_accepted_nor_converted(
    start_hub: StartHub, qdb: asyncpg.Connection
) -> None:
    tm = TimeMachine(START)
    await started(start_hub, qdb, tm)
    sent_one = await create(qdb, tm, ("STRIP-1", "1"))
    accepted_one = await create(qdb, tm, ("STRIP-1", "2"))
    for q in (sent_one, accepted_one):
        await change(
            qdb,
            lambda c, q=q: lifecycle.send(c, q.id, by=ACTOR, now=tm.now(), remind_days_before=3),
        )
    await change(qdb, lambda c: lifecycle.accept(c, accepted_one.id, by=ACTOR, now=tm.now()))
    expires_at = (await store.get(qdb, sent_one.id)).expires_at
    assert expires_at is not None
    late = expires_at + timedelta(microseconds=1)
    with pytest.raises(Refused, match="expired: it was valid until 2027-05-24"):
        await change(qdb, lambda c: lifecycle.accept(c, sent_one.id, by=ACTOR, now=late))
    with pytest.raises(Refused, match="expired"):
        await change(qdb, lambda c: lifecycle.convert(c, accepted_one.id, CASH, by=ACTOR, now=late))
    just_in_time = expires_at - timedelta(microseconds=1)
    await change(qdb, lambda c: lifecycle.accept(c, sent_one.id, by=ACTOR, now=just_in_time))


@pytest.fixture
async def stocked(qdb: asyncpg.Connection) -> asyncpg.Connection:
    """Stock of the demo catalog: 8 m of STRIP-1, 5 bulbs."""
    await clean_inventory(qdb)
    await receive(qdb, [("STRIP-1", "HQ", "8"), ("BULB-1", "HQ", "5")])
    return qdb


async def test_a_held_quote_holds_its_stock_until_rejected(
    start_hub: StartHub, stocked: asyncpg.Connection
) -> None:
    db = stocked
    tm = TimeMachine(START)
    _, rec = await started(start_hub, db, tm, InventoryActor())
    quote = await create(db, tm, ("STRIP-1", "5"), ("BULB-1", "2"), hold_stock=True)
    sent, _ = await change(
        db, lambda c: lifecycle.send(c, quote.id, by=ACTOR, now=tm.now(), remind_days_before=3), tm
    )
    assert sent.hold_status == "requested"
    [reserve] = await eventually(lambda: rec.of(ReserveStock), what="the hold asked for")
    assert (reserve.reservation_id, reserve.expires_at) == (f"quote:{quote.id}", sent.expires_at)
    held = await eventually(lambda: _hold(db, quote.id, "held"), what="the hold kept by the quote")
    assert [(h.sku, h.quantity) for h in held.held or ()] == [("BULB-1", 2), ("STRIP-1", 5)]
    assert await stock(db, "STRIP-1") == {"HQ": (8, 5)}

    await change(
        db, lambda c: lifecycle.reject(c, quote.id, by=ACTOR, reason=None, now=tm.now()), tm
    )
    [release] = await eventually(lambda: rec.of(ReleaseStock), what="the hold given back")
    assert release.reservation_id == f"quote:{quote.id}"
    await eventually(lambda: _reserved(db, "STRIP-1", 0), what="the strip released")
    assert (await store.get(db, quote.id)).hold_status == "released"
    assert await tm.pending(db) == {}


async def test_a_hold_short_of_stock_is_partial_and_goes_to_the_order(
    start_hub: StartHub, stocked: asyncpg.Connection
) -> None:
    db = stocked
    tm = TimeMachine(START)
    _, rec = await started(start_hub, db, tm, InventoryActor())
    quote = await create(db, tm, ("STRIP-1", "10"), hold_stock=True)
    await change(
        db, lambda c: lifecycle.send(c, quote.id, by=ACTOR, now=tm.now(), remind_days_before=3), tm
    )
    partial = await eventually(lambda: _hold(db, quote.id, "partial"), what="a partial hold")
    assert [(h.sku, h.quantity) for h in partial.held or ()] == [("STRIP-1", 8)]
    await change(db, lambda c: lifecycle.accept(c, quote.id, by=ACTOR, now=tm.now()), tm)
    converted, _ = await change(
        db, lambda c: lifecycle.convert(c, quote.id, CASH, by=ACTOR, now=tm.now()), tm
    )
    [order] = await eventually(lambda: rec.of(PlaceOrder), what="the order placed")
    assert order.hold == f"quote:{quote.id}"
    assert converted.hold_status == "taken_over"
    assert not rec.of(ReleaseStock)


async def _hold(conn: asyncpg.Connection, quotation_id: str, status: str) -> Any:
    quote = await store.get(conn, quotation_id)
    return quote if quote.hold_status == status else None


async def _reserved(conn: asyncpg.Connection, sku: str, quantity: int) -> bool:
    return all(reserved == quantity for _, reserved in (await stock(conn, sku)).values())
