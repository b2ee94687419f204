"""Invoices and proformas through the invoicing actor to the SmartBill simulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from actors.invoicing.messages import DocumentFailed, InvoiceIssued, ProformaIssued
from actors.notifications.rendering import Renderer
from actors.notifications.settings import NotificationsSettings
from connectors.smartbill.simulator import SmartBillSimulator
from tests.integration.invoicing.support import (
    Outcomes,
    invoice,
    line,
    proforma,
    send,
    settled,
    state,
)
from tests.support import eventually


async def test_card_order_gets_one_paid_invoice_and_its_email(
    start_hub: Any,
    sim: tuple[SmartBillSimulator, str],
    invoicing: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    simulator, _ = sim
    outcomes = Outcomes()
    hub, _ = await start_hub(invoicing(), outcomes)
    await send(hub, invoice("invoice:o-1", customer_id="c-ioana"))

    issued = await settled(outcomes, "invoice:o-1")
    assert isinstance(issued, InvoiceIssued)
    [doc] = simulator.documents("invoice")
    assert (issued.series, issued.number) == (doc.series, doc.number) == ("LDX", doc.number)
    assert issued.gross == Decimal("242.00") == doc.total
    assert doc.client["name"] == "Ioana Mărgărit" and doc.client["vatCode"] == "-"
    assert doc.body["payment"] == {"value": 242.0, "type": "Card", "isCash": False}
    assert "LDX-o-1" in doc.body["mentions"]
    assert doc.lines[0]["taxName"] == "Normala" and doc.lines[0]["taxPercentage"] == 21

    [notice] = await eventually(lambda: outcomes.notices, what="the invoice email")
    assert notice.notification_key == "invoice:invoice:o-1"
    assert notice.template == "invoice_issued"
    assert notice.email == "ioana@lumina.ro"
    assert notice.data["invoice_number"] == f"LDX {doc.number}"
    assert notice.data["gross"] == "242.00" and notice.data["currency"] == "RON"
    assert notice.data["order_number"] == "LDX-o-1"
    assert notice.customer_id == "c-ioana"
    [attachment] = notice.attachments
    assert attachment.content_type == "application/pdf"
    assert attachment.content.startswith(b"%PDF")
    assert await state(db_conn, "invoice:o-1") == "issued"


async def test_company_bank_transfer_gets_a_proforma(
    start_hub: Any, sim: tuple[SmartBillSimulator, str], invoicing: Callable[..., Any]
) -> None:
    simulator, _ = sim
    outcomes = Outcomes()
    hub, _ = await start_hub(invoicing(), outcomes)
    await send(hub, proforma("proforma:o-2"))

    issued = await settled(outcomes, "proforma:o-2")
    assert isinstance(issued, ProformaIssued)
    [doc] = simulator.documents("estimate")
    assert doc.series == "LDXP" and doc.number == issued.number
    assert doc.client["vatCode"] == "RO18547290" and doc.client["isTaxPayer"] is True
    assert doc.client["city"] == "Sector 3" and doc.client["county"] == "Bucuresti"
    [notice] = await eventually(lambda: outcomes.notices, what="the proforma email")
    assert notice.template == "proforma_issued"
    assert notice.attachments[0].content.startswith(b"%PDF")
    # the email renders from what invoicing sends: the proforma's number and due date (five
    # days after its issue, as the document says in SmartBill)
    assert doc.body["dueDate"] == (doc.issue_date + timedelta(days=5)).isoformat()
    for language in ("ro", "en"):
        text = Renderer(NotificationsSettings().templates_dir).render(
            notice.template, language, notice.data
        )
        assert f"{doc.series} {doc.number}" in text.subject
    assert notice.data["due_date"] == doc.body["dueDate"]


async def test_repeated_request_makes_one_document(
    start_hub: Any, sim: tuple[SmartBillSimulator, str], invoicing: Callable[..., Any]
) -> None:
    simulator, _ = sim
    outcomes = Outcomes()
    hub, _ = await start_hub(invoicing(), outcomes)
    await send(hub, invoice("invoice:o-3", "o-3"))
    await settled(outcomes, "invoice:o-3")
    await send(hub, invoice("invoice:o-3", "o-3"))  # a new message id: the inbox cannot catch it
    await send(hub, invoice("invoice:o-3-again", "o-3"))  # same order, other key: still one
    await send(
        hub, invoice("invoice:o-4", "o-4")
    )  # after the repeats: once it is done, so are they
    await settled(outcomes, "invoice:o-4")
    await eventually(lambda: len(outcomes.notices) == 2, what="two emails")

    [doc] = simulator.documents("invoice", text="LDX-o-3")
    [first] = outcomes.of("invoice:o-3")
    assert isinstance(first, InvoiceIssued)
    # the second request id is told about the order's one invoice, never given another
    [again] = outcomes.of("invoice:o-3-again")
    assert isinstance(again, InvoiceIssued)
    assert (again.series, again.number) == (doc.series, doc.number) == (first.series, first.number)
    assert len(simulator.requests("/invoice", "POST")) == 2


async def test_refused_document_is_reported_with_the_reason(
    start_hub: Any, sim: tuple[SmartBillSimulator, str], invoicing: Callable[..., Any]
) -> None:
    simulator, _ = sim
    outcomes = Outcomes()
    hub, _ = await start_hub(invoicing(), outcomes)
    bad = line(quantity="1", unit_net="10.00")
    bad = bad.__class__(
        **{**{f: getattr(bad, f) for f in bad.__struct_fields__}, "vat_rate": Decimal("0.19")}
    )
    await send(hub, invoice("invoice:o-5", "o-5", lines=(bad,)))

    failed = await settled(outcomes, "invoice:o-5")
    assert isinstance(failed, DocumentFailed)
    assert not failed.parked and failed.document == "invoice"
    assert "19" in failed.reason
    assert simulator.documents() == []


@pytest.mark.parametrize("transport", ["amqp"], indirect=True)  # two hubs share a queue
async def test_documents_queued_for_their_series_are_handed_it_in_turn(
    start_hub: Any, sim: tuple[SmartBillSimulator, str], invoicing: Callable[..., Any]
) -> None:
    # A series holds one document in flight at a time, across processes. The others queue
    # and the document that frees the series wakes the next with a message: waiters do not
    # poll the series (each used to retry every second while it was busy).
    simulator, _ = sim
    simulator.latency["/invoice"] = 0.1  # each POST takes a while: the others have to queue
    outcomes = Outcomes()
    first, _ = await start_hub(invoicing(settings={"retry_backoff": 30.0}), outcomes)
    second, _ = await start_hub(invoicing(settings={"retry_backoff": 30.0}))
    ids = [f"invoice:q-{n}" for n in range(8)]
    for n, request_id in enumerate(ids):
        await send(first, invoice(request_id, f"q-{n}"))
    issued = [await settled(outcomes, i, timeout=20) for i in ids]
    assert all(isinstance(o, InvoiceIssued) for o in issued)
    numbers = sorted(int(d.number) for d in simulator.documents("invoice"))
    assert numbers == list(range(numbers[0], numbers[0] + 8))
    posts = [c for c in simulator.calls if c.path == "/invoice" and c.method == "POST"]
    assert len(posts) == 8  # one POST each
    attempts = sum(
        hub.metrics.registry.get_sample_value(
            "hub_messages_handled_total", {"actor": "invoicing", "type": "invoicing.IssueAttempt"}
        )
        or 0.0
        for hub in (first, second)
    )
    assert attempts <= len(ids)  # each waiter woken once at most, none polling
