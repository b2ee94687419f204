"""The payment poll against the SmartBill simulator, with the accountant acting in SmartBill
Cloud (``invoice_estimate``, ``collect``): invoicing alone, and with the real orders actor."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import asyncpg

from actors.invoicing.actor import InvoicingActor
from actors.invoicing.messages import InvoiceIssued, ProformaIssued
from actors.invoicing.payments import PAYMENT_KEY, PollPayments
from actors.orders.domain import OrderState
from actors.orders.messages import RecordPayment
from connectors.smartbill.simulator import SmartBillSimulator
from hub.actor import Actor, Context, handler
from hub.bootstrap import Hub
from hub.messages import Envelope, encode
from tests.integration.inventory.support import clean as clean_inventory
from tests.integration.inventory.support import receive
from tests.integration.invoicing.support import Outcomes, invoice, proforma, send, settled
from tests.integration.orders.support import COMPANY, ORDER_TABLES, PRICING_TABLES, documents
from tests.integration.orders.support import place as place_order
from tests.integration.orders.support import send as send_order
from tests.integration.orders.test_flow import LINES, new_id, reached, started
from tests.support import eventually

D = Decimal


class Payments(Actor, name="invoicing-test-payments"):
    """Stands in for orders: the payments the invoicing actor reports."""

    def __init__(self) -> None:
        self.recorded: list[RecordPayment] = []

    @handler
    async def record(self, msg: RecordPayment, ctx: Context) -> None:
        self.recorded.append(msg)


async def poll(hub: Hub, conn: asyncpg.Connection) -> None:
    """One payment poll, waited for (its inbox row)."""
    env = Envelope.new(PollPayments(), key=PAYMENT_KEY)
    await hub.bus.publish(env, encode(PollPayments()))

    async def done() -> bool:
        return bool(
            await conn.fetchval(
                "SELECT count(*) FROM hub_inbox WHERE message_id = $1", env.message_id
            )
        )

    await eventually(done, what="the payment poll handled")


async def watch(conn: asyncpg.Connection, request_id: str) -> tuple[str, Decimal]:
    row = await conn.fetchrow(
        "SELECT watch, paid_recorded FROM invoicing_documents WHERE request_id = $1", request_id
    )
    assert row is not None
    return row["watch"], row["paid_recorded"]


async def test_money_collected_in_smartbill_is_recorded_once_and_the_invoice_adopted(
    start_hub: Any,
    sim: tuple[SmartBillSimulator, str],
    invoicing: Callable[..., InvoicingActor],
    db_conn: asyncpg.Connection,
) -> None:
    simulator, _ = sim
    outcomes, payments = Outcomes(), Payments()
    hub, _ = await start_hub(invoicing(), outcomes, payments)
    await send(hub, proforma("proforma:o-2", "o-2"))
    issued = await settled(outcomes, "proforma:o-2")
    assert isinstance(issued, ProformaIssued)

    await poll(hub, db_conn)  # nothing invoiced yet
    assert payments.recorded == []
    made = simulator.invoice_estimate(issued.series, issued.number)
    assert made.total == D("363.00")
    simulator.fail_next(1, status=503, path="/estimate/invoices")
    await poll(hub, db_conn)  # SmartBill down: nothing adopted, nothing lost
    assert payments.recorded == []
    assert await watch(db_conn, "proforma:o-2") == ("open", D(0))

    await poll(hub, db_conn)  # adopted, not paid yet
    assert await watch(db_conn, "adopted:proforma:o-2") == ("open", D(0))
    assert payments.recorded == []

    simulator.collect(made.series, made.number, D("100.00"))
    await poll(hub, db_conn)
    await poll(hub, db_conn)  # a repeated poll changes nothing
    simulator.collect(made.series, made.number)  # the rest
    await poll(hub, db_conn)
    await poll(hub, db_conn)
    await eventually(lambda: len(payments.recorded) == 2, what="two payments")
    first, second = payments.recorded
    assert (first.order_id, first.amount, first.payment_id) == (
        "o-2",
        D("100.00"),
        f"smartbill:{made.ref}:paid:100.00",
    )
    assert (second.amount, second.payment_id) == (D("263.00"), f"smartbill:{made.ref}:paid:363.00")
    assert await watch(db_conn, "adopted:proforma:o-2") == ("done", D("363.00"))

    # orders then asks for the paid invoice: answered with the adopted one, never a second
    await send(
        hub,
        invoice(
            "invoice:o-2",
            "o-2",
            payment_method="bank_transfer",
            proforma_request_id="proforma:o-2",
        ),
    )
    answer = await settled(outcomes, "invoice:o-2")
    assert isinstance(answer, InvoiceIssued)
    assert (answer.series, answer.number, answer.gross) == (made.series, made.number, D("363.00"))
    assert simulator.requests("/invoice", "POST") == []
    assert len(simulator.documents("invoice")) == 1
    assert (
        await db_conn.fetchval("SELECT count(*) FROM invoicing_documents WHERE kind = 'invoice'")
        == 1
    )


async def test_an_invoice_made_before_the_poll_saw_it_is_found_before_issuing(
    start_hub: Any,
    sim: tuple[SmartBillSimulator, str],
    invoicing: Callable[..., InvoicingActor],
) -> None:
    simulator, _ = sim
    outcomes = Outcomes()
    hub, _ = await start_hub(invoicing(), outcomes)
    await send(hub, proforma("proforma:o-5", "o-5"))
    issued = await settled(outcomes, "proforma:o-5")
    assert isinstance(issued, ProformaIssued)
    made = simulator.invoice_estimate(issued.series, issued.number)
    # staff recorded the transfer in the hub; the accountant invoiced it in SmartBill Cloud
    await send(
        hub,
        invoice(
            "invoice:o-5",
            "o-5",
            payment_method="bank_transfer",
            proforma_request_id="proforma:o-5",
        ),
    )
    answer = await settled(outcomes, "invoice:o-5")
    assert isinstance(answer, InvoiceIssued)
    assert (answer.series, answer.number) == (made.series, made.number)
    assert simulator.requests("/invoice", "POST") == []


async def test_cash_on_delivery_collection_is_recorded(
    start_hub: Any,
    sim: tuple[SmartBillSimulator, str],
    invoicing: Callable[..., InvoicingActor],
    db_conn: asyncpg.Connection,
) -> None:
    simulator, _ = sim
    outcomes, payments = Outcomes(), Payments()
    hub, _ = await start_hub(invoicing(), outcomes, payments)
    await send(
        hub, invoice("invoice:o-6:s-1", "o-6", payment_method="cash_on_delivery", paid=False)
    )
    issued = await settled(outcomes, "invoice:o-6:s-1")
    assert isinstance(issued, InvoiceIssued)
    await poll(hub, db_conn)
    assert payments.recorded == []
    simulator.collect(issued.series, issued.number, kind="Ramburs")
    await poll(hub, db_conn)
    [paid] = await eventually(lambda: payments.recorded, what="the courier's collection")
    assert (paid.order_id, paid.amount) == ("o-6", D("242.00"))
    await poll(hub, db_conn)
    assert len(payments.recorded) == 1
    assert await watch(db_conn, "invoice:o-6:s-1") == ("done", D("242.00"))


async def test_bank_transfer_order_is_paid_through_smartbill_with_one_invoice(
    start_hub: Any,
    sim: tuple[SmartBillSimulator, str],
    invoicing: Callable[..., InvoicingActor],
    db_conn: asyncpg.Connection,
) -> None:
    simulator, _ = sim
    await db_conn.execute(f"TRUNCATE {ORDER_TABLES} CASCADE")
    await db_conn.execute(f"TRUNCATE {PRICING_TABLES} RESTART IDENTITY")
    await clean_inventory(db_conn)
    await receive(db_conn, [("STRIP", "HQ", "20"), ("DRIVER", "HQ", "5")])
    hub, standin = await started(
        lambda *actors: start_hub(
            *(a for a in actors if a.name != "invoicing-standin"), invoicing()
        ),
        db_conn,
    )
    del standin
    oid = new_id()
    await send_order(
        hub,
        place_order(oid, *LINES, payment="bank_transfer", customer=COMPANY),
        key=f"order:{oid}",
    )
    await reached(db_conn, oid, OrderState.confirmed, **{f"proforma:{oid}": "issued"})
    [estimate] = simulator.documents("estimate")
    made = simulator.invoice_estimate(estimate.series, estimate.number)

    simulator.collect(made.series, made.number, D("100.00"))  # a partial transfer
    await poll(hub, db_conn)

    async def paid() -> Decimal:
        value: Decimal = await db_conn.fetchval("SELECT paid FROM orders WHERE id = $1", oid)
        return value

    await eventually(lambda: _equals(paid, D("100.00")), what="the partial payment recorded")
    assert f"invoice:{oid}" not in await documents(db_conn, oid)
    await poll(hub, db_conn)  # again: nothing changes

    simulator.collect(made.series, made.number)
    await poll(hub, db_conn)
    await poll(hub, db_conn)
    await reached(db_conn, oid, OrderState.confirmed, **{f"invoice:{oid}": "issued"})
    assert await paid() == made.total
    docs = await documents(db_conn, oid)
    assert (docs[f"invoice:{oid}"]["series"], docs[f"invoice:{oid}"]["number"]) == (
        made.series,
        made.number,
    )
    assert len(simulator.documents("invoice")) == 1
    assert simulator.requests("/invoice", "POST") == []
    rows = await db_conn.fetch("SELECT id FROM order_payments WHERE order_id = $1 ORDER BY id", oid)
    assert [r["id"] for r in rows] == [
        f"smartbill:{made.ref}:paid:100.00",
        f"smartbill:{made.ref}:paid:{made.total}",
    ]


async def _equals(read: Callable[[], Any], value: Decimal) -> bool:
    return bool(await read() == value)
