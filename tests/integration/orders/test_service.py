"""The orders service on a real database, without the bus: every allowed transition with its
side effects (rows, messages to publish), every forbidden one refused naming the current state
and the allowed ones, idempotency of placing, shipping, returns and payments.

The inventory's and invoicing's answers are handed to the service as the actor would."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import asyncpg
import pytest
from msgspec.structs import replace

from actors.inventory.messages import (
    Allocation,
    IssueStock,
    ReceiveStock,
    ReleaseStock,
    ReservationRejected,
    ReserveStock,
    Shortage,
    StockIssued,
    StockReserved,
    StockShortage,
)
from actors.invoicing.messages import InvoiceIssued, IssueCreditNote, IssueInvoice
from actors.orders import documents, service
from actors.orders.domain import TRANSITIONS, OrderState
from actors.orders.effects import Outcome
from actors.orders.messages import (
    OrderPlaced,
    OrderRejected,
    OrderStateChanged,
    PaymentRecorded,
    RecordPayment,
    ShipLine,
    ShipmentSent,
)
from actors.orders.settings import Shortage as ShortageMode
from actors.pricing.messages import CartPriced, CartPricingFailed, CartTotals, PriceCart
from hub.errors import DomainError, NotFound
from tests.integration.orders.support import (
    COMPANY,
    STAFF,
    apply,
    history,
    lines,
    order_row,
    place,
    priced_line,
    state,
)

S = OrderState
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LINES = (("STRIP", "8"), ("DRIVER", "3"))
PRICED = (priced_line("STRIP", "8", "13.50", "metre"), priced_line("DRIVER", "3", "70.00"))
Change = Callable[[asyncpg.Connection], Awaitable[Outcome]]


def of(outcome: Outcome, cls: type) -> list[Any]:
    return [m for m, _ in outcome.messages if isinstance(m, cls)]


def keyed(outcome: Outcome, cls: type) -> list[str]:
    return [k for m, k in outcome.messages if isinstance(m, cls)]


async def placed(conn: asyncpg.Connection, oid: str, **kw: Any) -> Outcome:
    msg = place(oid, *LINES, priced=PRICED, **kw)
    return await apply(conn, lambda c: service.place_order(c, msg, by=STAFF, now=NOW))


def reserved(oid: str) -> Change:
    allocations = (
        Allocation(sku="DRIVER", warehouse="HQ", quantity=D(3)),
        Allocation(sku="STRIP", warehouse="HQ", quantity=D(5)),
        Allocation(sku="STRIP", warehouse="W2", quantity=D(3)),
    )
    msg = StockReserved(reservation_id=oid, allocations=allocations, complete=True)
    return lambda c: service.stock_reserved(c, msg, now=NOW)


def short(oid: str, partial: bool = False) -> Change:
    msg = StockShortage(
        reservation_id=oid,
        shortages=(Shortage(sku="STRIP", requested=D(8), reserved=D(5)),),
    )
    mode: ShortageMode = "partial" if partial else "hold"
    return lambda c: service.stock_short(c, msg, shortage=mode, now=NOW)


def to(oid: str, target: OrderState, reason: str = "staff decision") -> Change:
    return lambda c: service.change_state(c, oid, target, by=STAFF, reason=reason, now=NOW)


def ship(oid: str, sid: str, *ship_lines: tuple[str, str, str | None]) -> Change:
    wanted = [ShipLine(sku=s, quantity=D(q), warehouse=w) for s, q, w in ship_lines] or None
    return lambda c: service.create_shipment(
        c, oid, sid, wanted, tracking=f"AWB-{sid}", by=STAFF, now=NOW
    )


def issued(oid: str, sid: str, *allocs: tuple[str, str, str], fulfilled: bool) -> Change:
    msg = StockIssued(
        reservation_id=oid,
        shipment_id=sid,
        lines=tuple(Allocation(sku=s, warehouse=w, quantity=D(q)) for s, w, q in allocs),
        fulfilled=fulfilled,
    )
    return lambda c: service.stock_issued(c, msg, now=NOW)


PART = (("STRIP", "5", "HQ"), ("DRIVER", "1", "HQ"))
PART_ISSUED = (("STRIP", "HQ", "5"), ("DRIVER", "HQ", "1"))
REST_ISSUED = (("STRIP", "W2", "3"), ("DRIVER", "HQ", "2"))
ALL_ISSUED = (("STRIP", "HQ", "5"), ("STRIP", "W2", "3"), ("DRIVER", "HQ", "3"))


def path(oid: str, target: OrderState) -> list[Change]:
    """The changes that take a placed order to ``target``."""
    shipped = [
        reserved(oid),
        ship(oid, f"{oid}-s1"),
        issued(oid, f"{oid}-s1", *ALL_ISSUED, fulfilled=True),
    ]
    delivered = [*shipped, to(oid, S.delivered)]
    returned = [
        *delivered,
        lambda c: service.request_return(
            c, oid, f"{oid}-r1", None, reason="wrong colour", by=STAFF, now=NOW
        ),
        lambda c: service.receive_return(c, oid, f"{oid}-r1", warehouse="HQ", by=STAFF, now=NOW),
    ]
    return {
        S.pending: [],
        S.on_hold: [short(oid)],
        S.confirmed: [reserved(oid)],
        S.processing: [reserved(oid), to(oid, S.processing)],
        S.partially_shipped: [
            reserved(oid),
            ship(oid, f"{oid}-s1", *PART),
            issued(oid, f"{oid}-s1", *PART_ISSUED, fulfilled=False),
        ],
        S.shipped: shipped,
        S.delivered: delivered,
        S.cancelled: [to(oid, S.cancelled)],
        S.return_requested: returned[:-1],
        S.returned: returned,
        S.refunded: [*returned, to(oid, S.refunded)],
    }[target]


async def at(conn: asyncpg.Connection, oid: str, target: OrderState, **kw: Any) -> None:
    """Place an order and take it to ``target``."""
    await placed(conn, oid, **kw)
    for change in path(oid, target):
        await apply(conn, change)
    assert await state(conn, oid) == target


# --- placing ----------------------------------------------------------------------------------


async def test_placing_stores_a_pending_order_and_asks_for_its_price(
    conn: asyncpg.Connection,
) -> None:
    await conn.execute(
        "INSERT INTO order_products (sku, name, unit, version) VALUES "
        "('STRIP', 'Bandă LED 5050 12V', 'metre', 1)"
    )
    out = await apply(
        conn,
        lambda c: service.place_order(c, place("o-1", *LINES), by=STAFF, now=NOW),
    )
    [ask] = of(out, PriceCart)
    assert (ask.request_id, keyed(out, PriceCart)) == ("order:o-1", ["order:o-1"])
    row = await order_row(conn, "o-1")
    assert row is not None
    assert (row["state"], row["pricing"], row["reservation"]) == ("pending", "pending", "none")
    assert row["number"].startswith("CMD-") and len(row["number"]) == 10
    assert (row["placed_by"], row["prepaid"]) == (STAFF, True)
    assert row["billing"]["county"] == "Sector 2"  # written properly
    names = await conn.fetch("SELECT sku, name, unit FROM order_lines ORDER BY line_no")
    assert [tuple(r) for r in names] == [
        ("STRIP", "Bandă LED 5050 12V", "metre"),
        ("DRIVER", "DRIVER", "piece"),  # unknown to the catalog so far: its SKU
    ]
    assert await history(conn, "o-1") == []  # placing is not a transition


async def test_the_pricing_answer_prices_the_lines_then_stock_is_asked_for(
    conn: asyncpg.Connection,
) -> None:
    await apply(conn, lambda c: service.place_order(c, place("o-1", *LINES), by=STAFF, now=NOW))
    answer = CartPriced(
        request_id="order:o-1",
        customer_id=None,
        tier=0,
        on=NOW.date(),
        lines=PRICED,
        totals=CartTotals(net=D("318.00"), vat=D("66.78"), gross=D("384.78")),
    )
    out = await apply(conn, lambda c: service.cart_priced(c, answer, now=NOW))
    assert out.types() == ["OrderPlaced", "ReserveStock"]
    [ask] = of(out, ReserveStock)
    assert keyed(out, ReserveStock) == ["reservation:o-1"]
    assert [(x.sku, x.quantity) for x in ask.lines] == [("STRIP", D(8)), ("DRIVER", D(3))]
    row = await order_row(conn, "o-1")
    assert row is not None
    assert (row["pricing"], row["reservation"], row["gross"]) == (
        "priced",
        "requested",
        D("384.78"),
    )
    priced = await conn.fetchrow("SELECT * FROM order_lines WHERE sku = 'STRIP'")
    assert (priced["unit_net"], priced["line_net"], priced["line_gross"]) == (
        D("13.50"),
        D("108.00"),
        D("130.68"),
    )
    # a repeated answer changes nothing
    assert (await apply(conn, lambda c: service.cart_priced(c, answer, now=NOW))).messages == []


async def test_a_quote_pricing_answer_is_not_ours(conn: asyncpg.Connection) -> None:
    await apply(conn, lambda c: service.place_order(c, place("o-1", *LINES), by=STAFF, now=NOW))
    failure = CartPricingFailed(request_id="quote:o-1", reason="nope")
    assert (await apply(conn, lambda c: service.pricing_failed(c, failure, now=NOW))).messages == []
    assert await state(conn, "o-1") == "pending"


async def test_an_order_that_cannot_be_priced_is_cancelled_and_rejected(
    conn: asyncpg.Connection,
) -> None:
    await apply(conn, lambda c: service.place_order(c, place("o-1", *LINES), by=STAFF, now=NOW))
    failure = CartPricingFailed(request_id="order:o-1", reason="unknown SKU: DRIVER")
    out = await apply(conn, lambda c: service.pricing_failed(c, failure, now=NOW))
    [rejected] = of(out, OrderRejected)
    assert "unknown SKU: DRIVER" in rejected.reason
    assert await history(conn, "o-1") == [("pending", "cancelled", "system")]
    row = await order_row(conn, "o-1")
    assert row is not None and row["pricing"] == "failed"
    assert of(out, ReleaseStock) == []  # nothing was ever reserved


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"customer": replace(COMPANY, cui="RO18547291")}, "check digit"),
        ({"customer": replace(COMPANY, cui=None)}, "needs its CUI"),
    ],
)
async def test_a_company_with_a_bad_cui_is_rejected_and_nothing_stored(
    conn: asyncpg.Connection, change: dict[str, Any], reason: str
) -> None:
    msg = place("o-1", *LINES, **change)
    out = await apply(conn, lambda c: service.place_order(c, msg, by=STAFF, now=NOW))
    [rejected] = of(out, OrderRejected)
    assert reason in rejected.reason
    assert await order_row(conn, "o-1") is None


async def test_invalid_lines_and_counties_are_rejected_naming_every_problem(
    conn: asyncpg.Connection,
) -> None:
    msg = place("o-1", ("STRIP", "2"), ("STRIP", "1"), ("DRIVER", "0"))
    msg = replace(msg, billing=replace(msg.billing, county="Bavaria"))
    out = await apply(conn, lambda c: service.place_order(c, msg, by=STAFF, now=NOW))
    [rejected] = of(out, OrderRejected)
    assert "more than once: STRIP" in rejected.reason
    assert "quantity of DRIVER" in rejected.reason
    assert "'Bavaria' is not a Romanian county" in rejected.reason
    assert await order_row(conn, "o-1") is None


async def test_placing_the_same_order_twice_places_one(conn: asyncpg.Connection) -> None:
    first = await placed(conn, "o-1")
    again = await placed(conn, "o-1")
    assert first.types() == ["OrderPlaced", "ReserveStock"]
    assert again.messages == []
    assert await conn.fetchval("SELECT count(*) FROM orders") == 1
    assert await conn.fetchval("SELECT count(*) FROM order_lines") == 2


async def test_a_shop_order_number_places_one_order(conn: asyncpg.Connection) -> None:
    await placed(conn, "o-1", external_ref="1001")
    out = await placed(conn, "o-2", external_ref="1001")
    [rejected] = of(out, OrderRejected)
    assert "already order o-1" in rejected.reason


async def test_priced_lines_that_do_not_match_the_order_are_rejected(
    conn: asyncpg.Connection,
) -> None:
    msg = place("o-1", ("STRIP", "9"), ("DRIVER", "3"), priced=PRICED)
    out = await apply(conn, lambda c: service.place_order(c, msg, by=STAFF, now=NOW))
    assert [type(m).__name__ for m, _ in out.messages] == ["OrderRejected"]


async def test_a_quote_converted_takes_its_hold_over(conn: asyncpg.Connection) -> None:
    out = await placed(conn, "o-1", hold="quote:q-1", quotation_id="q-1", source="quotation")
    [ask] = of(out, ReserveStock)
    assert ask.take_over == "quote:q-1"
    [announced] = of(out, OrderPlaced)
    assert announced.totals.gross == D("384.78")


# --- every allowed transition, with its side effects -------------------------------------------


async def test_pending_to_confirmed_when_everything_is_reserved_asks_for_the_invoice(
    conn: asyncpg.Connection,
) -> None:
    await placed(conn, "o-1")
    out = await apply(conn, reserved("o-1"))
    assert await history(conn, "o-1") == [("pending", "confirmed", "system")]
    [changed] = of(out, OrderStateChanged)
    assert (changed.woo_status, changed.reason) == ("processing", "stock reserved")
    [invoice] = of(out, IssueInvoice)
    assert (invoice.request_id, invoice.paid, invoice.shipment_id) == ("invoice:o-1", True, None)
    assert [(x.sku, x.quantity, x.line_gross) for x in invoice.lines] == [
        ("STRIP", D(8), D("130.68")),
        ("DRIVER", D(3), D("254.10")),
    ]
    assert invoice.party.county == "Sector 2" and invoice.party.cui is None
    docs = await conn.fetch("SELECT request_id, kind, status FROM order_documents")
    assert [tuple(r) for r in docs] == [("invoice:o-1", "invoice", "requested")]
    assert out.transitions[0][1].to_state is S.confirmed
    # the same answer again: no second transition, no second invoice
    assert of(await apply(conn, reserved("o-1")), IssueInvoice) == []
    assert len(await history(conn, "o-1")) == 1


async def test_pending_to_on_hold_names_what_is_short(conn: asyncpg.Connection) -> None:
    await placed(conn, "o-1")
    out = await apply(conn, short("o-1"))
    assert await history(conn, "o-1") == [("pending", "on_hold", "system")]
    [changed] = of(out, OrderStateChanged)
    assert changed.reason == "short of stock: STRIP (reserved 5 of 8)"
    assert changed.woo_status == "on-hold"
    assert of(out, IssueInvoice) == []


async def test_a_shortage_with_partial_shipping_confirms_what_is_held(
    conn: asyncpg.Connection,
) -> None:
    await placed(conn, "o-1")
    out = await apply(conn, short("o-1", partial=True))
    assert await history(conn, "o-1") == [("pending", "confirmed", "system")]
    [changed] = of(out, OrderStateChanged)
    assert changed.reason.startswith("stock reserved in part")
    row = await order_row(conn, "o-1")
    assert row is not None and row["reservation"] == "short"
    # it ships what is held: everything held, by the inventory's own account
    shipped = await apply(conn, ship("o-1", "s1"))
    [issue] = of(shipped, IssueStock)
    assert issue.lines is None


@pytest.mark.parametrize("start", [S.pending, S.on_hold, S.confirmed])
async def test_cancelling_releases_the_stock(conn: asyncpg.Connection, start: OrderState) -> None:
    await at(conn, "o-1", start)
    out = await apply(conn, to("o-1", S.cancelled, "customer changed their mind"))
    assert (await history(conn, "o-1"))[-1] == (start.value, "cancelled", STAFF)
    [release] = of(out, ReleaseStock)
    assert release.reservation_id == "o-1"
    assert "customer changed their mind" in release.reason
    assert keyed(out, ReleaseStock) == ["reservation:o-1"]
    row = await order_row(conn, "o-1")
    assert row is not None and row["reservation"] == "released"
    notes = of(out, IssueCreditNote)
    if start is S.confirmed:  # the card invoice was asked for at confirmation: reversed
        [note] = notes
        assert (note.request_id, note.invoice_request_id) == (
            "credit_note:o-1:cancel",
            "invoice:o-1",
        )
        assert sum(x.line_gross for x in note.lines) == D("384.78")
    else:
        assert notes == []
    # a late answer of the inventory does not revive it
    assert (await apply(conn, reserved("o-1"))).messages == []
    assert await state(conn, "o-1") == "cancelled"


async def test_on_hold_to_confirmed_by_staff_ships_what_is_held(conn: asyncpg.Connection) -> None:
    await at(conn, "o-1", S.on_hold)
    out = await apply(conn, to("o-1", S.confirmed, "customer accepts a partial delivery"))
    assert (await history(conn, "o-1"))[-1] == ("on_hold", "confirmed", STAFF)
    assert len(of(out, IssueInvoice)) == 1


async def test_on_hold_to_confirmed_once_the_retried_reservation_is_complete(
    conn: asyncpg.Connection,
) -> None:
    await at(conn, "o-1", S.on_hold)
    out = await apply(conn, lambda c: service.retry_reservation(c, "o-1", by=STAFF))
    [ask] = of(out, ReserveStock)
    assert (ask.reservation_id, ask.take_over) == ("o-1", None)
    await apply(conn, reserved("o-1"))
    assert (await history(conn, "o-1"))[-1] == ("on_hold", "confirmed", "system")


async def test_retrying_a_reservation_is_for_orders_waiting_for_stock(
    conn: asyncpg.Connection,
) -> None:
    await at(conn, "o-1", S.confirmed)
    with pytest.raises(DomainError, match="is confirmed: only an order on hold"):
        await apply(conn, lambda c: service.retry_reservation(c, "o-1", by=STAFF))


async def test_confirmed_to_processing(conn: asyncpg.Connection) -> None:
    await at(conn, "o-1", S.confirmed)
    out = await apply(conn, to("o-1", S.processing, "picking"))
    assert (await history(conn, "o-1"))[-1] == ("confirmed", "processing", STAFF)
    assert out.types() == ["OrderStateChanged"]


async def test_processing_to_partially_shipped_then_shipped(conn: asyncpg.Connection) -> None:
    await at(conn, "o-1", S.confirmed)
    asked = await apply(conn, ship("o-1", "s1", *PART))
    assert (await history(conn, "o-1"))[-1] == ("confirmed", "processing", STAFF)
    [issue] = of(asked, IssueStock)
    assert (issue.reservation_id, issue.shipment_id) == ("o-1", "s1")
    assert [(x.sku, x.quantity, x.warehouse) for x in issue.lines or ()] == [
        ("STRIP", D(5), "HQ"),
        ("DRIVER", D(1), "HQ"),
    ]
    assert keyed(asked, IssueStock) == ["reservation:o-1"]
    sent = await apply(conn, issued("o-1", "s1", *PART_ISSUED, fulfilled=False))
    assert (await history(conn, "o-1"))[-1] == ("processing", "partially_shipped", "system")
    [announced] = of(sent, ShipmentSent)
    assert (announced.complete, announced.tracking) == (False, "AWB-s1")
    assert await lines(conn, "o-1") == {"STRIP": (8, 5, 0), "DRIVER": (3, 1, 0)}
    assert of(sent, IssueInvoice) == []  # card: invoiced at confirmation

    await apply(conn, ship("o-1", "s2"))
    sent = await apply(conn, issued("o-1", "s2", *REST_ISSUED, fulfilled=True))
    assert (await history(conn, "o-1"))[-1] == ("partially_shipped", "shipped", "system")
    [announced] = of(sent, ShipmentSent)
    assert announced.complete is True
    assert await lines(conn, "o-1") == {"STRIP": (8, 8, 0), "DRIVER": (3, 3, 0)}
    row = await order_row(conn, "o-1")
    assert row is not None and row["reservation"] == "fulfilled"
    statuses = await conn.fetch("SELECT id, status FROM order_shipments ORDER BY id")
    assert [tuple(r) for r in statuses] == [("s1", "sent"), ("s2", "sent")]


async def test_processing_to_shipped_in_one_shipment(conn: asyncpg.Connection) -> None:
    await at(conn, "o-1", S.processing)
    await apply(conn, ship("o-1", "s1"))
    await apply(conn, issued("o-1", "s1", *ALL_ISSUED, fulfilled=True))
    assert (await history(conn, "o-1"))[-1] == ("processing", "shipped", "system")


async def test_shipped_to_delivered_to_return_requested_to_returned_to_refunded(
    conn: asyncpg.Connection,
) -> None:
    await at(conn, "o-1", S.shipped)
    await apply(conn, to("o-1", S.delivered, "courier confirmed"))
    asked = await apply(
        conn,
        lambda c: service.request_return(
            c, "o-1", "r1", [("STRIP", D(2))], reason="too short", by=STAFF, now=NOW
        ),
    )
    assert asked.types() == ["OrderStateChanged"]
    back = await apply(
        conn, lambda c: service.receive_return(c, "o-1", "r1", warehouse="W3", by="user:9", now=NOW)
    )
    [receipt] = of(back, ReceiveStock)
    assert (receipt.receipt_id, receipt.warehouse) == ("return:r1", "W3")
    assert [(x.sku, x.quantity) for x in receipt.lines] == [("STRIP", D(2))]
    assert keyed(back, ReceiveStock) == ["receipt:return:r1"]
    [note] = of(back, IssueCreditNote)
    assert (note.request_id, note.invoice_request_id) == ("credit_note:o-1:r1", "invoice:o-1")
    assert [(x.sku, x.quantity, x.line_net, x.line_vat, x.line_gross) for x in note.lines] == [
        ("STRIP", D(2), D("27.00"), D("5.67"), D("32.67"))
    ]
    assert await lines(conn, "o-1") == {"STRIP": (8, 8, 2), "DRIVER": (3, 3, 0)}
    await apply(conn, to("o-1", S.refunded, "money sent back"))
    assert [(a, b) for a, b, _ in await history(conn, "o-1")][-4:] == [
        ("shipped", "delivered"),
        ("delivered", "return_requested"),
        ("return_requested", "returned"),
        ("returned", "refunded"),
    ]
    # asked and received again: nothing new
    again = await apply(
        conn, lambda c: service.receive_return(c, "o-1", "r1", warehouse="W3", by=STAFF, now=NOW)
    )
    assert again.messages == []


# --- what is refused --------------------------------------------------------------------------


@pytest.mark.parametrize("start", list(S))
async def test_every_forbidden_transition_names_the_current_state_and_the_allowed_ones(
    conn: asyncpg.Connection, start: OrderState
) -> None:
    await at(conn, "o-1", start)
    moves = len(await history(conn, "o-1"))
    allowed = ", ".join(TRANSITIONS[start])
    for target in S:
        if target in TRANSITIONS[start]:
            continue
        with pytest.raises(DomainError) as refused:
            await apply(conn, to("o-1", target))
        message = str(refused.value)
        assert f"order o-1 is {start} and cannot become {target}" in message
        assert (f"it can become: {allowed}" if allowed else f"{start} is final") in message
    assert await state(conn, "o-1") == start
    assert len(await history(conn, "o-1")) == moves


@pytest.mark.parametrize(
    ("start", "target", "hint"),
    [
        (S.processing, S.shipped, "/shipments"),
        (S.processing, S.partially_shipped, "/shipments"),
        (S.delivered, S.return_requested, "/returns"),
        (S.return_requested, S.returned, "/receive"),
        (S.pending, S.confirmed, "wait for it, or cancel"),
        (S.pending, S.on_hold, "wait for it, or cancel"),
    ],
)
async def test_moves_with_their_own_command_are_refused_naming_it(
    conn: asyncpg.Connection, start: OrderState, target: OrderState, hint: str
) -> None:
    await at(conn, "o-1", start)
    with pytest.raises(DomainError, match=hint):
        await apply(conn, to("o-1", target))
    assert await state(conn, "o-1") == start


async def test_an_unknown_order_is_not_found(conn: asyncpg.Connection) -> None:
    with pytest.raises(NotFound):
        await apply(conn, to("nope", S.cancelled))
    with pytest.raises(NotFound):
        await service.current_state(conn, "nope")


async def test_shipping_more_than_is_left_is_refused(conn: asyncpg.Connection) -> None:
    await at(conn, "o-1", S.confirmed)
    await apply(conn, ship("o-1", "s1", ("STRIP", "6", None)))
    with pytest.raises(DomainError, match="cannot ship 3 of STRIP: 2 left to ship"):
        await apply(conn, ship("o-1", "s2", ("STRIP", "3", None)))
    with pytest.raises(DomainError, match="still waiting for the warehouses"):
        await apply(conn, ship("o-1", "s2"))
    with pytest.raises(DomainError, match="LAMP is not on order o-1"):
        await apply(conn, ship("o-1", "s2", ("LAMP", "1", None)))
    # the same shipment again: nothing new
    assert (await apply(conn, ship("o-1", "s1", ("STRIP", "6", None)))).messages == []


async def test_a_shipment_the_warehouses_refuse_is_marked_refused(
    conn: asyncpg.Connection,
) -> None:
    await at(conn, "o-1", S.confirmed)
    await apply(conn, ship("o-1", "s1", ("STRIP", "1", None)))
    await apply(conn, ship("o-1", "s2", ("STRIP", "6", "W3")))
    refusal = ReservationRejected(
        reservation_id="o-1",
        command="issue",
        reason="cannot issue 6 of STRIP in W3",
        shipment_id="s2",
    )
    await apply(conn, lambda c: service.issue_refused(c, refusal))
    rows = await conn.fetch("SELECT id, status, refusal FROM order_shipments ORDER BY id")
    assert [tuple(r) for r in rows] == [
        ("s1", "requested", None),
        ("s2", "refused", "cannot issue 6 of STRIP in W3"),
    ]
    # what it asked for can be asked again
    await apply(conn, ship("o-1", "s3", ("STRIP", "5", None)))


async def test_returning_more_than_was_shipped_is_refused(conn: asyncpg.Connection) -> None:
    await at(conn, "o-1", S.delivered)
    with pytest.raises(DomainError, match="cannot return 9 of STRIP: 8 left to return"):
        await apply(
            conn,
            lambda c: service.request_return(
                c, "o-1", "r1", [("STRIP", D(9))], reason="x", by=STAFF, now=NOW
            ),
        )


# --- payments ---------------------------------------------------------------------------------


def payment(oid: str, pid: str, amount: str) -> Change:
    msg = RecordPayment(order_id=oid, payment_id=pid, amount=D(amount), received_at=NOW)
    return lambda c: service.record_payment(c, msg, by=STAFF, now=NOW)


async def test_a_bank_transfer_gets_a_proforma_then_its_invoice_once_paid_in_full(
    conn: asyncpg.Connection,
) -> None:
    await at(conn, "o-1", S.confirmed, payment="bank_transfer", customer=COMPANY)
    docs = await conn.fetch("SELECT request_id, kind FROM order_documents")
    assert [tuple(r) for r in docs] == [("proforma:o-1", "proforma")]
    first = await apply(conn, payment("o-1", "p1", "300.00"))
    assert first.types() == ["PaymentRecorded"]
    again = await apply(conn, payment("o-1", "p1", "300.00"))
    assert again.messages == []
    rest = await apply(conn, payment("o-1", "p2", "84.78"))
    [recorded] = of(rest, PaymentRecorded)
    assert (recorded.paid_total, recorded.paid_in_full) == (D("384.78"), True)
    [invoice] = of(rest, IssueInvoice)
    assert (invoice.paid, invoice.proforma_request_id) == (True, "proforma:o-1")
    assert invoice.party.cui == "RO18547290" and invoice.party.name == "Lumina Instal SRL"
    more = await apply(conn, payment("o-1", "p3", "1.00"))
    assert of(more, IssueInvoice) == []  # never a second invoice
    row = await order_row(conn, "o-1")
    assert row is not None and row["paid"] == D("385.78")


async def test_a_bank_transfer_paid_before_confirmation_is_invoiced_at_confirmation(
    conn: asyncpg.Connection,
) -> None:
    await placed(conn, "o-1", payment="bank_transfer", customer=COMPANY)
    paid = await apply(conn, payment("o-1", "p1", "384.78"))
    assert of(paid, IssueInvoice) == []
    confirmed = await apply(conn, reserved("o-1"))
    assert confirmed.types() == ["OrderStateChanged", "IssueProforma", "IssueInvoice"]


async def test_cash_on_delivery_invoices_each_shipment_pro_rata(conn: asyncpg.Connection) -> None:
    await at(conn, "o-1", S.confirmed, payment="cash_on_delivery")
    assert await conn.fetchval("SELECT count(*) FROM order_documents") == 0
    await apply(conn, ship("o-1", "s1", ("STRIP", "3", None)))
    sent = await apply(conn, issued("o-1", "s1", ("STRIP", "HQ", "3"), fulfilled=False))
    [invoice] = of(sent, IssueInvoice)
    assert (invoice.request_id, invoice.shipment_id, invoice.paid) == (
        "invoice:o-1:s1",
        "s1",
        False,
    )
    assert [(x.sku, x.quantity, x.line_net, x.line_vat) for x in invoice.lines] == [
        ("STRIP", D(3), D("40.50"), D("8.51"))
    ]


async def test_the_delivery_charge_is_in_the_totals_and_on_the_first_shipments_invoice(
    conn: asyncpg.Connection,
) -> None:
    await at(conn, "o-1", S.confirmed, payment="cash_on_delivery", shipping_fee=D("20.00"))
    row = await conn.fetchrow(
        "SELECT shipping_net, shipping_vat, net, vat, gross FROM orders WHERE id = 'o-1'"
    )
    lines = await conn.fetchrow(
        "SELECT sum(line_net) AS net, sum(line_vat) AS vat FROM order_lines WHERE order_id = 'o-1'"
    )
    assert (row["shipping_net"], row["shipping_vat"]) == (D("20.00"), D("4.20"))
    assert (row["net"], row["vat"]) == (lines["net"] + D("20.00"), lines["vat"] + D("4.20"))
    assert row["gross"] == row["net"] + row["vat"]

    await apply(conn, ship("o-1", "s1", ("STRIP", "3", None)))
    first = await apply(conn, issued("o-1", "s1", ("STRIP", "HQ", "3"), fulfilled=False))
    [invoice] = of(first, IssueInvoice)
    transport = [x for x in invoice.lines if x.sku == "TRANSPORT"]
    assert [(x.quantity, x.line_net, x.line_vat, x.service) for x in transport] == [
        (D(1), D("20.00"), D("4.20"), True)
    ]
    await apply(conn, ship("o-1", "s2"))
    rest_issued = (("STRIP", "HQ", "2"), ("STRIP", "W2", "3"), ("DRIVER", "HQ", "3"))
    rest = await apply(conn, issued("o-1", "s2", *rest_issued, fulfilled=True))
    [second] = of(rest, IssueInvoice)
    assert second.request_id == "invoice:o-1:s2"
    assert "TRANSPORT" not in [x.sku for x in second.lines]  # charged once


async def test_a_negative_delivery_charge_is_refused(conn: asyncpg.Connection) -> None:
    out = await placed(conn, "o-1", shipping_fee=D("-5"))
    [refused] = of(out, OrderRejected)
    assert "shipping_fee" in refused.reason


async def test_document_results_are_kept(conn: asyncpg.Connection) -> None:
    await at(conn, "o-1", S.confirmed)
    done = InvoiceIssued(
        request_id="invoice:o-1",
        order_id="o-1",
        series="FL",
        number="0042",
        gross=D("384.78"),
        issued_at=NOW,
    )
    async with conn.transaction():
        await documents.issued(conn, done)
    row = await conn.fetchrow("SELECT status, series, number, gross FROM order_documents")
    assert tuple(row) == ("issued", "FL", "0042", D("384.78"))
