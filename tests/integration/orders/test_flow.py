"""Orders end to end through the real bus (memory and RabbitMQ): the orders actor with the real
pricing and inventory actors and a stand-in for the invoicing connector. After every step: the
order's state and history, stock per warehouse, the movements of the order, and on hand equal to
the sum of the movements."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import asyncpg
import pytest

from actors.inventory.actor import InventoryActor
from actors.invoicing.messages import IssueCreditNote, IssueInvoice, IssueProforma
from actors.orders import service
from actors.orders.actor import OrdersActor
from actors.orders.domain import OrderState
from actors.orders.effects import Outcome
from actors.orders.messages import RecordPayment, RetryReservation, ShipLine
from actors.pricing.actor import Pricing
from actors.pricing.settings import PricingSettings
from hub.bootstrap import Hub
from tests.integration.inventory.support import ledger_mismatches, receive
from tests.integration.orders.support import (
    COMPANY,
    STAFF,
    InvoicingStandIn,
    apply,
    documents,
    history,
    lines,
    movements,
    outbox,
    place,
    priced_line,
    products,
    send,
    snapshot,
    state,
)
from tests.support import eventually

StartHub = Callable[..., Any]
S = OrderState
LINES = (("STRIP", "8"), ("DRIVER", "3"))
PRICED = (priced_line("STRIP", "8", "13.50", "metre"), priced_line("DRIVER", "3", "70.00"))
CATALOG = products(
    snapshot("STRIP", name="Bandă LED 5050 12V 14.4W/m", unit="metre", cost="10.00"),
    snapshot("DRIVER", name="Sursă alimentare 12V 100W", cost="50.00", margin="0.40"),
)


def new_id() -> str:
    return f"o-{secrets.token_hex(4)}"


def now() -> datetime:
    return datetime.now(UTC)


async def started(start_hub: StartHub, conn: asyncpg.Connection) -> tuple[Hub, InvoicingStandIn]:
    """The hub with orders, pricing, inventory and the invoicing stand-in, products known."""
    invoicing = InvoicingStandIn()
    hub, _ = await start_hub(OrdersActor(), Pricing(PricingSettings()), InventoryActor(), invoicing)
    await send(hub, CATALOG, key="catalog")

    async def known() -> bool:
        return bool(
            await conn.fetchval(
                "SELECT (SELECT count(*) FROM order_products) = 2 "
                "AND (SELECT count(*) FROM pricing_list_prices) = 2 "
                "AND (SELECT count(*) FROM inventory_skus WHERE unit IS NOT NULL) = 2"
            )
        )

    await eventually(known, what="the catalog's products known to orders, pricing, inventory")
    return hub, invoicing


async def stock(conn: asyncpg.Connection) -> dict[str, tuple[Any, Any]]:
    """``sku@warehouse`` → (on hand, reserved), every stock row."""
    rows = await conn.fetch("SELECT sku, warehouse, on_hand, reserved FROM inventory_stock")
    return {
        f"{r['sku']}@{r['warehouse']}": (r["on_hand"].normalize(), r["reserved"].normalize())
        for r in rows
    }


async def reached(conn: asyncpg.Connection, oid: str, target: OrderState, **docs: str) -> None:
    """Wait until the order is in ``target`` and each named document has that status."""

    async def check() -> bool:
        if await state(conn, oid) != target:
            return False
        found = await documents(conn, oid)
        return all(rid in found and found[rid]["status"] == st for rid, st in docs.items())

    await eventually(check, what=f"order {oid} {target} with {docs}")


def moves(*rows: tuple[str, str, str, int | str]) -> list[tuple[str, str, str, D]]:
    return sorted((k, s, w, D(q)) for k, s, w, q in rows)


async def ledger(conn: asyncpg.Connection, reference: str) -> list[tuple[str, str, str, D]]:
    return sorted(await movements(conn, reference))


async def test_an_order_goes_from_placed_to_refunded(
    start_hub: StartHub, conn: asyncpg.Connection
) -> None:
    await receive(
        conn,
        [("STRIP", "HQ", "5"), ("STRIP", "W2", "10"), ("DRIVER", "HQ", "1"), ("DRIVER", "W3", "5")],
    )
    hub, invoicing = await started(start_hub, conn)
    oid = new_id()

    # placed → priced → reserved (split by warehouse priority) → confirmed, invoice issued
    await send(hub, place(oid, *LINES), key=f"order:{oid}")
    await reached(conn, oid, S.confirmed, **{f"invoice:{oid}": "issued"})
    assert await history(conn, oid) == [("pending", "confirmed", "system")]
    assert await stock(conn) == {
        "STRIP@HQ": (5, 5),
        "STRIP@W2": (10, 3),
        "DRIVER@HQ": (1, 1),
        "DRIVER@W3": (5, 2),
    }
    assert await ledger(conn, oid) == moves(
        ("reservation", "STRIP", "HQ", 5),
        ("reservation", "STRIP", "W2", 3),
        ("reservation", "DRIVER", "HQ", 1),
        ("reservation", "DRIVER", "W3", 2),
    )
    assert await ledger_mismatches(conn) == []
    priced = await conn.fetch(
        "SELECT sku, name, unit_net, line_net, line_gross, breakdown FROM order_lines "
        "WHERE order_id = $1 ORDER BY line_no",
        oid,
    )
    assert [(r["sku"], r["unit_net"], r["line_gross"]) for r in priced] == [
        ("STRIP", D("13.50"), D("130.68")),
        ("DRIVER", D("70.00"), D("254.10")),
    ]
    assert priced[0]["name"] == "Bandă LED 5050 12V 14.4W/m"
    assert priced[0]["breakdown"][0]["step"] == "base"
    [invoice] = invoicing.of(IssueInvoice, oid)
    assert invoice.paid is True and sum(x.line_gross for x in invoice.lines) == D("384.78")
    doc = (await documents(conn, oid))[f"invoice:{oid}"]
    assert (doc["series"], doc["number"], doc["gross"]) == ("FL", "0001", D("384.78"))

    # ship partially: 5 m of strip and one driver, both from HQ
    part = [
        ShipLine(sku="STRIP", quantity=D(5), warehouse="HQ"),
        ShipLine(sku="DRIVER", quantity=D(1)),
    ]
    await apply(
        conn,
        lambda c: service.create_shipment(c, oid, "s1", part, tracking="AWB1", by=STAFF, now=now()),
    )
    await reached(conn, oid, S.partially_shipped)
    assert await history(conn, oid) == [
        ("pending", "confirmed", "system"),
        ("confirmed", "processing", STAFF),
        ("processing", "partially_shipped", "system"),
    ]
    assert await stock(conn) == {
        "STRIP@HQ": (0, 0),
        "STRIP@W2": (10, 3),
        "DRIVER@HQ": (0, 0),
        "DRIVER@W3": (5, 2),
    }
    assert await ledger(conn, oid) == moves(
        ("reservation", "STRIP", "HQ", 5),
        ("reservation", "STRIP", "W2", 3),
        ("reservation", "DRIVER", "HQ", 1),
        ("reservation", "DRIVER", "W3", 2),
        ("issue", "STRIP", "HQ", -5),
        ("issue", "DRIVER", "HQ", -1),
    )
    assert await ledger_mismatches(conn) == []
    assert await lines(conn, oid) == {"STRIP": (8, 5, 0), "DRIVER": (3, 1, 0)}
    [sent] = await outbox(conn, "orders.ShipmentSent", f"order:{oid}")
    assert sent["complete"] is False and sent["tracking"] == "AWB1"

    # ship the rest: everything the reservation still holds
    await apply(
        conn,
        lambda c: service.create_shipment(c, oid, "s2", None, tracking=None, by=STAFF, now=now()),
    )
    await reached(conn, oid, S.shipped)
    assert (await history(conn, oid))[-1] == ("partially_shipped", "shipped", "system")
    assert await stock(conn) == {
        "STRIP@HQ": (0, 0),
        "STRIP@W2": (7, 0),
        "DRIVER@HQ": (0, 0),
        "DRIVER@W3": (3, 0),
    }
    issued = [m for m in await ledger(conn, oid) if m[0] == "issue"]
    assert issued == moves(
        ("issue", "STRIP", "HQ", -5),
        ("issue", "STRIP", "W2", -3),
        ("issue", "DRIVER", "HQ", -1),
        ("issue", "DRIVER", "W3", -2),
    )
    assert await ledger_mismatches(conn) == []
    assert await lines(conn, oid) == {"STRIP": (8, 8, 0), "DRIVER": (3, 3, 0)}
    assert await conn.fetchval("SELECT reservation FROM orders WHERE id = $1", oid) == "fulfilled"

    shipped_stock, shipped_ledger = await stock(conn), await ledger(conn, oid)

    # delivered: no stock moves
    await apply(
        conn,
        lambda c: service.change_state(c, oid, S.delivered, by=STAFF, reason="courier", now=now()),
    )
    assert (await history(conn, oid))[-1] == ("shipped", "delivered", STAFF)
    assert (await stock(conn), await ledger(conn, oid)) == (shipped_stock, shipped_ledger)

    # the customer asks to send 2 m of strip back: nothing moves until it arrives
    await apply(
        conn,
        lambda c: service.request_return(
            c, oid, "r1", [("STRIP", D(2))], reason="too long", by=STAFF, now=now()
        ),
    )
    assert (await history(conn, oid))[-1] == ("delivered", "return_requested", STAFF)
    assert (await stock(conn), await ledger(conn, oid)) == (shipped_stock, shipped_ledger)
    assert await ledger(conn, "return:r1") == []
    assert await ledger_mismatches(conn) == []

    # received back into HQ: stock back, credit note issued
    await apply(
        conn,
        lambda c: service.receive_return(c, oid, "r1", warehouse="HQ", by=STAFF, now=now()),
    )
    await reached(conn, oid, S.returned, **{f"credit_note:{oid}:r1": "issued"})

    async def back_in_stock() -> bool:
        return (await stock(conn))["STRIP@HQ"] == (2, 0)

    await eventually(back_in_stock, what="the returned strip on hand in HQ")
    assert await stock(conn) == {
        "STRIP@HQ": (2, 0),
        "STRIP@W2": (7, 0),
        "DRIVER@HQ": (0, 0),
        "DRIVER@W3": (3, 0),
    }
    assert await ledger(conn, "return:r1") == moves(("receipt", "STRIP", "HQ", 2))
    assert await ledger(conn, oid) == shipped_ledger
    assert await ledger_mismatches(conn) == []
    assert await lines(conn, oid) == {"STRIP": (8, 8, 2), "DRIVER": (3, 3, 0)}
    [note] = invoicing.of(IssueCreditNote, oid)
    assert note.invoice_request_id == f"invoice:{oid}"
    assert [(x.sku, x.quantity, x.line_gross) for x in note.lines] == [("STRIP", D(2), D("32.67"))]
    doc = (await documents(conn, oid))[f"credit_note:{oid}:r1"]
    assert (doc["series"], doc["number"], doc["gross"]) == ("FL", "0002", D("-32.67"))

    # refunded: final
    await apply(
        conn,
        lambda c: service.change_state(c, oid, S.refunded, by=STAFF, reason="paid back", now=now()),
    )
    assert (await stock(conn))["STRIP@HQ"] == (2, 0)
    assert await ledger_mismatches(conn) == []
    assert [to for _, to, _ in await history(conn, oid)] == [
        "confirmed",
        "processing",
        "partially_shipped",
        "shipped",
        "delivered",
        "return_requested",
        "returned",
        "refunded",
    ]
    changes = await outbox(conn, "orders.OrderStateChanged", f"order:{oid}")
    assert [c["woo_status"] for c in changes] == [
        "processing",
        "processing",
        "processing",
        "completed",
        "completed",
        "completed",
        "completed",
        "refunded",
    ]
    # the actor audits the moves it made itself (the API audits its own calls)
    audited = await conn.fetch(
        "SELECT after->>'state' AS state FROM audit_log WHERE action = 'orders.transition' "
        "AND entity_id = $1 ORDER BY id",
        oid,
    )
    assert [r["state"] for r in audited] == ["confirmed", "partially_shipped", "shipped"]


async def test_cash_on_delivery_is_invoiced_per_shipment(
    start_hub: StartHub, conn: asyncpg.Connection
) -> None:
    await receive(conn, [("STRIP", "HQ", "20"), ("DRIVER", "HQ", "5")])
    hub, invoicing = await started(start_hub, conn)
    oid = new_id()
    await send(hub, place(oid, *LINES, payment="cash_on_delivery"), key=f"order:{oid}")
    await reached(conn, oid, S.confirmed)
    assert invoicing.of(IssueInvoice, oid) == []  # nothing at confirmation

    first = [ShipLine(sku="STRIP", quantity=D(4))]
    await apply(
        conn,
        lambda c: service.create_shipment(c, oid, "s1", first, tracking=None, by=STAFF, now=now()),
    )
    await reached(conn, oid, S.partially_shipped, **{f"invoice:{oid}:s1": "issued"})
    await apply(
        conn,
        lambda c: service.create_shipment(c, oid, "s2", None, tracking=None, by=STAFF, now=now()),
    )
    await reached(conn, oid, S.shipped, **{f"invoice:{oid}:s2": "issued"})
    one, two = invoicing.of(IssueInvoice, oid)
    assert (one.shipment_id, one.paid, two.shipment_id) == ("s1", False, "s2")
    assert [(x.sku, x.quantity, x.line_net, x.line_vat) for x in one.lines] == [
        ("STRIP", D(4), D("54.00"), D("11.34"))
    ]
    assert [(x.sku, x.quantity, x.line_net) for x in two.lines] == [
        ("STRIP", D(4), D("54.00")),
        ("DRIVER", D(3), D("210.00")),
    ]
    numbers = {d["request_id"]: d["number"] for d in (await documents(conn, oid)).values()}
    assert numbers == {f"invoice:{oid}:s1": "0001", f"invoice:{oid}:s2": "0002"}
    assert await ledger_mismatches(conn) == []


async def test_a_bank_transfer_gets_a_proforma_then_the_invoice_when_paid(
    start_hub: StartHub, conn: asyncpg.Connection
) -> None:
    await receive(conn, [("STRIP", "HQ", "20"), ("DRIVER", "HQ", "5")])
    hub, invoicing = await started(start_hub, conn)
    oid = new_id()
    await send(
        hub, place(oid, *LINES, payment="bank_transfer", customer=COMPANY), key=f"order:{oid}"
    )
    await reached(conn, oid, S.confirmed, **{f"proforma:{oid}": "issued"})
    [proforma] = invoicing.of(IssueProforma, oid)
    assert proforma.party.cui == "RO18547290"
    assert invoicing.of(IssueInvoice, oid) == []

    def paid(pid: str, amount: str) -> RecordPayment:
        return RecordPayment(order_id=oid, payment_id=pid, amount=D(amount), received_at=now())

    await send(hub, paid("p1", "300.00"), key=f"order:{oid}")
    await send(hub, paid("p1", "300.00"), key=f"order:{oid}")  # the same payment seen twice
    await send(hub, paid("p2", "84.78"), key=f"order:{oid}")
    await reached(conn, oid, S.confirmed, **{f"invoice:{oid}": "issued"})
    assert await conn.fetchval("SELECT paid FROM orders WHERE id = $1", oid) == D("384.78")
    recorded = await outbox(conn, "orders.PaymentRecorded", f"order:{oid}")
    assert [(r["payment_id"], r["paid_in_full"]) for r in recorded] == [
        ("p1", False),
        ("p2", True),
    ]
    [invoice] = invoicing.of(IssueInvoice, oid)
    assert (invoice.paid, invoice.proforma_request_id) == (True, f"proforma:{oid}")
    assert (await documents(conn, oid))[f"proforma:{oid}"]["series"] == "PF"


async def test_a_shortage_holds_the_order_until_stock_comes_in(
    start_hub: StartHub, conn: asyncpg.Connection
) -> None:
    await receive(conn, [("STRIP", "HQ", "5"), ("DRIVER", "W3", "3")])
    hub, _ = await started(start_hub, conn)
    oid = new_id()
    await send(hub, place(oid, *LINES), key=f"order:{oid}")
    await reached(conn, oid, S.on_hold)
    reason = await conn.fetchval("SELECT reason FROM order_transitions WHERE order_id = $1", oid)
    assert reason == "short of stock: STRIP (reserved 5 of 8)"
    assert await stock(conn) == {"STRIP@HQ": (5, 5), "DRIVER@W3": (3, 3)}

    await receive(conn, [("STRIP", "W2", "4")])
    await send(hub, RetryReservation(order_id=oid), key=f"order:{oid}")
    await reached(conn, oid, S.confirmed)
    assert (await history(conn, oid))[-1] == ("on_hold", "confirmed", "system")
    assert await stock(conn) == {"STRIP@HQ": (5, 5), "STRIP@W2": (4, 3), "DRIVER@W3": (3, 3)}
    assert await ledger(conn, oid) == moves(
        ("reservation", "STRIP", "HQ", 5),
        ("reservation", "DRIVER", "W3", 3),
        ("reservation", "STRIP", "W2", 3),
    )
    assert await ledger_mismatches(conn) == []


@pytest.mark.parametrize("start", [S.pending, S.on_hold, S.confirmed])
async def test_cancelling_gives_the_stock_back(
    start_hub: StartHub, conn: asyncpg.Connection, start: OrderState
) -> None:
    strip = "5" if start is S.on_hold else "20"
    await receive(conn, [("STRIP", "HQ", strip), ("DRIVER", "HQ", "5")])
    hub, invoicing = await started(start_hub, conn)
    oid = new_id()

    async def cancel(c: asyncpg.Connection) -> Outcome:
        return await service.change_state(
            c, oid, S.cancelled, by=STAFF, reason="customer called", now=now()
        )

    if start is S.pending:
        # placed and cancelled before the inventory answered: the release follows the
        # reservation on the reservation's key, so nothing stays held
        msg = place(oid, *LINES, priced=PRICED)

        async def place_then_cancel(c: asyncpg.Connection) -> Outcome:
            out = await service.place_order(c, msg, by=STAFF, now=now())
            out.extend(await cancel(c))
            return out

        assert (await apply(conn, place_then_cancel)).types()[-1] == "ReleaseStock"
    else:
        await send(hub, place(oid, *LINES), key=f"order:{oid}")
        await reached(conn, oid, start)
        await apply(conn, cancel)

    async def released() -> bool:
        status = await conn.fetchval("SELECT status FROM inventory_reservations WHERE id = $1", oid)
        return bool(status == "released")

    await eventually(released, what="the reservation released")
    assert all(reserved == 0 for _, reserved in (await stock(conn)).values())
    assert (await history(conn, oid))[-1] == (start.value, "cancelled", STAFF)
    kinds = sorted({k for k, *_ in await ledger(conn, oid)})
    assert kinds == ["release", "reservation"]
    assert sum(q for _, _, _, q in await ledger(conn, oid)) == 0
    assert await ledger_mismatches(conn) == []
    if start is S.confirmed:
        await reached(conn, oid, S.cancelled, **{f"credit_note:{oid}:cancel": "issued"})
        [note] = invoicing.of(IssueCreditNote, oid)
        assert note.invoice_request_id == f"invoice:{oid}"


async def test_placing_the_same_order_twice_places_one(
    start_hub: StartHub, conn: asyncpg.Connection
) -> None:
    await receive(conn, [("STRIP", "HQ", "20"), ("DRIVER", "HQ", "5")])
    hub, invoicing = await started(start_hub, conn)
    oid = new_id()
    first = await send(hub, place(oid, *LINES), key=f"order:{oid}")
    second = await send(hub, place(oid, *LINES), key=f"order:{oid}")
    await reached(conn, oid, S.confirmed, **{f"invoice:{oid}": "issued"})

    async def both_handled() -> bool:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM hub_inbox WHERE actor = 'orders' AND message_id = ANY($1)",
            [first.message_id, second.message_id],
        )
        return count == 2

    await eventually(both_handled, what="both PlaceOrder handled")
    assert await conn.fetchval("SELECT count(*) FROM orders WHERE id = $1", oid) == 1
    assert len(await outbox(conn, "orders.OrderPlaced", f"order:{oid}")) == 1
    assert await stock(conn) == {"STRIP@HQ": (20, 8), "DRIVER@HQ": (5, 3)}
    assert len(invoicing.of(IssueInvoice, oid)) == 1
