"""SmartBill misbehaving while the shop's orders arrive: a burst of card orders through the whole
chain (signed webhooks → edge → connector → orders → inventory → invoicing → SmartBill
simulator) while SmartBill times out after making the invoice, drops the connection after
making it, answers 500, has the account blocked for the rate limit, or is down for a while.
Every order ends with exactly one invoice, one invoice email and the shop showing it processing;
nothing is parked, nothing dead-lettered, and the simulator's request log shows the hub never
went over SmartBill's limit (a sliding window, stricter than SmartBill's fixed one)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from actors.invoicing.settings import InvoicingSettings
from connectors.smartbill.simulator import SmartBillSimulator
from hub.db import Database
from tests.e2e.api_support import Edge
from tests.e2e.shop_support import CONSUMER, Floor, busiest_window, line, shop_floor
from tests.support import eventually

pytestmark = pytest.mark.slow
ORDERS = 12


def timeout_after_the_effect(sb: SmartBillSimulator) -> None:
    sb.hold_next(3, path="/invoice")  # made, the answer held past the client's timeout


def dropped_after_the_effect(sb: SmartBillSimulator) -> None:
    sb.drop_next(3, path="/invoice")  # made, the connection closed unanswered


def server_errors(sb: SmartBillSimulator) -> None:
    sb.fail_next(5, status=500, path="/invoice")


def rate_limit_block(sb: SmartBillSimulator) -> None:
    # another program on the same account used the budget up: the account is blocked
    sb.rate.blocked_until = sb.clock() + sb.rate.block


def down_for_a_while(sb: SmartBillSimulator) -> None:
    sb.outage(3.0, status=503)


@pytest.fixture
async def floor(
    start_api: Callable[..., Awaitable[Edge]], actor_db: Database, db_conn: asyncpg.Connection
) -> AsyncIterator[Floor]:
    fast = InvoicingSettings(retry_backoff=0.2, retry_max_backoff=1.0, reconcile_after=1.2)
    async with shop_floor(
        start_api, actor_db, db_conn, smartbill_timeout=1.0, invoicing=fast
    ) as running:
        yield running


@pytest.mark.parametrize(
    "fault",
    [
        timeout_after_the_effect,
        dropped_after_the_effect,
        server_errors,
        rate_limit_block,
        down_for_a_while,
    ],
)
async def test_every_shop_order_gets_exactly_one_invoice_whatever_smartbill_does(
    floor: Floor, fault: Callable[[SmartBillSimulator], None]
) -> None:
    sb, conn = floor.smartbill, floor.conn
    fault(sb)
    started = sb.clock()
    orders = [
        floor.woo.place_order(
            status="processing",
            payment_method="stripe",
            set_paid=True,
            billing={**CONSUMER, "email": f"client{n}@example.ro"},
            line_items=[line("STRIP-5050", 1 + n % 4), line("DRV-100W", 1)],
        )
        for n in range(ORDERS)
    ]
    ids = [floor.hub_id(o) for o in orders]

    def all_invoiced() -> bool:
        return all(floor.documents_of(i) for i in ids)

    await eventually(all_invoiced, timeout=60, what=f"an invoice for each of {ORDERS} orders")
    # SmartBill has a document before the hub has read its answer: wait for the hub's record
    await eventually(
        lambda: conn.fetchval(
            "SELECT count(*) = 0 FROM invoicing_documents WHERE state IN ('intent', 'issuing')"
        ),
        timeout=30,
        what="every answer recorded by the hub",
    )

    # exactly one invoice per order, for its total; none for anything else
    per_order = {i: floor.documents_of(i) for i in ids}
    assert {i: len(d) for i, d in per_order.items() if len(d) != 1} == {}
    assert len(sb.documents("invoice")) == ORDERS
    grosses = dict(await conn.fetch("SELECT id, gross FROM orders WHERE id = ANY($1)", ids))
    assert {i: d[0].total for i, d in per_order.items()} == grosses
    rows = await conn.fetch(
        "SELECT order_id, state, series || number AS ref FROM invoicing_documents "
        "WHERE kind = 'invoice'"
    )
    assert Counter(r["state"] for r in rows) == {"issued": ORDERS}
    assert {r["order_id"]: r["ref"] for r in rows} == {i: d[0].ref for i, d in per_order.items()}

    # each customer told once, the shop showing each order processing, nothing lost
    def invoice_mails() -> Counter[str] | None:
        mails = Counter(
            a.to[0] for a in floor.sendgrid.accepted if a.categories == ["invoice_issued"]
        )
        return mails if sum(mails.values()) >= ORDERS else None

    mails = await eventually(invoice_mails, timeout=30, what="an invoice email per order")
    assert mails == Counter(f"client{n}@example.ro" for n in range(ORDERS))
    await eventually(
        lambda: all(floor.shop_status(o) == "processing" for o in orders),
        what="the shop showing every order processing",
    )
    assert await conn.fetchval("SELECT count(*) FROM hub_dead_letters") == 0

    # the hub never went over SmartBill's limit; a block it did not cause is not hammered
    calls = [c for c in sb.calls if c.at >= started]
    assert busiest_window([c.at for c in calls], sb.rate.window) <= sb.rate.calls
    refused = [c for c in calls if c.status == 403]
    if fault is rate_limit_block:
        assert 1 <= len(refused) <= 3, _summary(calls)
    else:
        assert refused == [], _summary(calls)


def _summary(calls: list[Any]) -> str:
    return "\n".join(f"{c.at:.2f} {c.method} {c.path} {c.status} {c.effect or ''}" for c in calls)
