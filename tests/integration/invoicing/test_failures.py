"""SmartBill faults, crashes and credit notes: never two documents for one request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec
import pytest

from actors.invoicing import documents
from actors.invoicing.messages import (
    CreditNoteIssued,
    DocumentFailed,
    InvoiceIssued,
    IssueCreditNote,
)
from connectors.smartbill.simulator import SmartBillSimulator
from hub.errors import TransientError
from tests.integration.invoicing.support import (
    Outcomes,
    invoice,
    line,
    send,
    settled,
    state,
)
from tests.support import eventually


async def _one_invoice(
    start_hub: Any, simulator: SmartBillSimulator, actor: Any, request_id: str
) -> InvoiceIssued:
    outcomes = Outcomes()
    hub, _ = await start_hub(actor, outcomes)
    await send(hub, invoice(request_id))
    issued = await settled(outcomes, request_id)
    assert isinstance(issued, InvoiceIssued)
    [doc] = simulator.documents("invoice")
    assert doc.number == issued.number
    await eventually(lambda: outcomes.notices, what="the invoice email")
    assert len(outcomes.of(request_id)) == 1
    return issued


async def test_lost_answer_after_the_invoice_was_made_is_reconciled(
    start_hub: Any,
    sim: tuple[SmartBillSimulator, str],
    invoicing: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    simulator, _ = sim
    simulator.hold_next(path="/invoice")  # made, answer held past the client's timeout
    await _one_invoice(start_hub, simulator, invoicing(), "invoice:lost")
    assert len(simulator.requests("/invoice", "POST")) == 1
    assert (
        await db_conn.fetchval(
            "SELECT attempts FROM invoicing_documents WHERE request_id = 'invoice:lost'"
        )
        == 1
    )


async def test_server_error_is_retried_into_one_invoice(
    start_hub: Any, sim: tuple[SmartBillSimulator, str], invoicing: Callable[..., Any]
) -> None:
    simulator, _ = sim
    simulator.fail_next(2, status=500, path="/invoice")
    await _one_invoice(start_hub, simulator, invoicing(), "invoice:500")
    assert len(simulator.requests("/invoice", "POST")) == 3


async def test_rate_limit_block_waits_then_issues_once(
    start_hub: Any, sim: tuple[SmartBillSimulator, str], invoicing: Callable[..., Any]
) -> None:
    simulator, _ = sim
    simulator.fail_next(status=403, path="/invoice")
    await _one_invoice(start_hub, simulator, invoicing(), "invoice:403")
    assert [c.status for c in simulator.requests("/invoice", "POST")] == [403, 200]


async def test_outage_loses_nothing(
    start_hub: Any, sim: tuple[SmartBillSimulator, str], invoicing: Callable[..., Any]
) -> None:
    simulator, _ = sim
    simulator.outage(1.0)
    await _one_invoice(start_hub, simulator, invoicing(), "invoice:outage")


async def test_refusal_by_smartbill_is_reported(
    start_hub: Any, sim: tuple[SmartBillSimulator, str], invoicing: Callable[..., Any]
) -> None:
    simulator, _ = sim
    outcomes = Outcomes()
    hub, _ = await start_hub(invoicing(), outcomes)
    await send(hub, invoice("invoice:xyz", currency="XYZ"))
    failed = await settled(outcomes, "invoice:xyz")
    assert isinstance(failed, DocumentFailed) and not failed.parked
    assert "HTTP 400" in failed.reason
    assert simulator.documents() == []


async def _crashed_row(
    db_conn: asyncpg.Connection, make_client: Callable[..., Any], request_id: str, *, posted: bool
) -> str | None:
    """A row left in ``issuing`` as a crash between POST and recording would leave it."""
    client = make_client()
    msg = invoice(request_id)
    expected = await client.next_number("LDX", "f")
    number = None
    if posted:
        taxes = await client.taxes()
        answer = await client.issue_invoice(
            documents.invoice(msg, taxes, series="LDX", now=datetime.now(UTC))
        )
        number = answer.number
    await db_conn.execute(
        "INSERT INTO invoicing_documents (request_id, order_id, kind, state, request, series, "
        "expected_number, gross, attempts) VALUES ($1, $2, 'invoice', 'issuing', $3, 'LDX', $4, "
        "$5, 1)",
        request_id,
        msg.order_id,
        msgspec.json.encode(msg),
        expected,
        Decimal("242.00"),
    )
    return number


@pytest.mark.parametrize("posted", [True, False])
async def test_row_left_issuing_is_reconciled_not_posted_blindly(
    start_hub: Any,
    sim: tuple[SmartBillSimulator, str],
    invoicing: Callable[..., Any],
    make_client: Callable[..., Any],
    db_conn: asyncpg.Connection,
    posted: bool,
) -> None:
    simulator, _ = sim
    number = await _crashed_row(db_conn, make_client, "invoice:crash", posted=posted)
    issued = await _one_invoice(start_hub, simulator, invoicing(), "invoice:crash")
    posts = simulator.requests("/invoice", "POST")
    assert len(posts) == 1  # the one before the crash, or the one after an "absent" finding
    if posted:
        assert issued.number == number
    assert await state(db_conn, "invoice:crash") == "issued"


async def test_credit_note_reverses_the_whole_invoice(
    start_hub: Any, sim: tuple[SmartBillSimulator, str], invoicing: Callable[..., Any]
) -> None:
    simulator, _ = sim
    outcomes = Outcomes()
    hub, _ = await start_hub(invoicing(), outcomes)
    await send(hub, invoice("invoice:o-9", "o-9"))
    issued = await settled(outcomes, "invoice:o-9")
    assert isinstance(issued, InvoiceIssued)
    note = IssueCreditNote(
        request_id="credit:o-9",
        order_id="o-9",
        order_number="LDX-o-9",
        invoice_request_id="invoice:o-9",
        lines=(line(),),
        reason="retur integral",
    )
    await send(hub, note)
    await send(hub, note)
    storno = await settled(outcomes, "credit:o-9")
    assert isinstance(storno, CreditNoteIssued)
    assert storno.series == issued.series and storno.number != issued.number
    assert storno.gross == Decimal("-242.00")
    assert len(simulator.requests("/invoice/reverse", "POST")) == 1

    again = msgspec.structs.replace(note, request_id="credit:o-9-again")
    await send(hub, again)
    refused = await settled(outcomes, "credit:o-9-again")
    assert isinstance(refused, DocumentFailed) and not refused.parked

    await send(hub, invoice("invoice:o-10", "o-10"))
    await settled(outcomes, "invoice:o-10")
    partial = msgspec.structs.replace(
        note,
        request_id="credit:o-10",
        order_id="o-10",
        invoice_request_id="invoice:o-10",
        lines=(line(quantity="1"),),
    )
    await send(hub, partial)
    parked = await settled(outcomes, "credit:o-10")
    assert isinstance(parked, DocumentFailed) and parked.parked
    assert "partial return" in parked.reason
    assert len(simulator.requests("/invoice/reverse", "POST")) == 1


async def test_missing_credentials_wait_naming_the_variable(
    invoicing: Callable[..., Any],
) -> None:
    actor = invoicing(username="")
    with pytest.raises(TransientError, match="CYPHER_SMARTBILL_USERNAME"):
        actor._require()
    await actor.client.close()


async def test_pdf_unavailable_the_email_waits_for_it(
    start_hub: Any, sim: tuple[SmartBillSimulator, str], invoicing: Callable[..., Any]
) -> None:
    simulator, _ = sim
    simulator.fail_next(2, status=500, path="/invoice/pdf")
    outcomes = Outcomes()
    hub, _ = await start_hub(invoicing(), outcomes)
    await send(hub, invoice("invoice:pdf"))
    await settled(outcomes, "invoice:pdf")
    [notice] = await eventually(lambda: outcomes.notices, what="the invoice email")
    assert notice.attachments[0].content.startswith(b"%PDF")
    assert len(simulator.requests("/invoice/pdf")) == 3
    assert len(outcomes.of("invoice:pdf")) == 1
