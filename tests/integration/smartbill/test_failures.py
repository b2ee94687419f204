"""SmartBill failing: server errors, lost answers after the effect, an outage behind the breaker."""

from __future__ import annotations

import socket
from collections.abc import Callable
from decimal import Decimal

import pytest

from connectors.smartbill.client import (
    OutcomeUnknown,
    SmartBillClient,
    SmartBillUnavailable,
)
from connectors.smartbill.reconcile import reconcile
from connectors.smartbill.simulator import SmartBillSimulator
from hub.breaker import Breaker, BreakerOpen
from tests.integration.smartbill.support import estimate, invoice


async def test_a_500_on_a_read_is_retried(
    sim: tuple[SmartBillSimulator, str], client: SmartBillClient
) -> None:
    simulator, _ = sim
    simulator.fail_next(2, path="/series")

    assert await client.next_number("LDX") == "0001"
    assert [c.status for c in simulator.requests("/series")] == [500, 500, 200]


async def test_a_slow_read_times_out_is_retried_and_is_never_an_unknown_outcome(
    sim: tuple[SmartBillSimulator, str], make_client: Callable[..., SmartBillClient]
) -> None:
    simulator, _ = sim
    simulator.latency["/tax"] = 0.5
    client = make_client(timeout=0.2, attempts=2)

    with pytest.raises(SmartBillUnavailable) as failed:
        await client.taxes()

    assert not failed.value.outcome_unknown and "TimeoutError" in str(failed.value)
    assert len(simulator.requests("/tax")) == 2


async def test_a_500_on_an_invoice_is_not_retried_and_issued_nothing(
    sim: tuple[SmartBillSimulator, str], client: SmartBillClient
) -> None:
    simulator, _ = sim
    simulator.fail_next(1, path="/invoice")

    with pytest.raises(SmartBillUnavailable) as failed:
        await client.issue_invoice(invoice("O-500"))

    assert not isinstance(failed.value, OutcomeUnknown)
    assert failed.value.status == 500 and not failed.value.outcome_unknown
    assert [c.status for c in simulator.requests("/invoice")] == [500]
    assert simulator.documents() == []


async def test_a_timeout_after_the_effect_is_an_unknown_outcome_reconciled_as_issued(
    sim: tuple[SmartBillSimulator, str], make_client: Callable[..., SmartBillClient]
) -> None:
    simulator, _ = sim
    client = make_client(timeout=0.5)
    expected = await client.next_number("LDX")  # recorded before issuing
    simulator.hold_next(path="/invoice")

    with pytest.raises(OutcomeUnknown) as lost:
        await client.issue_invoice(invoice("O-77"))

    assert lost.value.outcome_unknown and lost.value.series == "LDX"
    assert lost.value.operation == "invoice"
    assert len(simulator.requests("/invoice", "POST")) == 1  # never sent twice
    found = await reconcile(
        client, kind="invoice", series="LDX", expected=expected, total=Decimal("99.80")
    )
    assert (found.state, found.number, found.next_number) == ("issued", "0001", "0002")
    assert len(simulator.documents("invoice", text="Comanda O-77")) == 1
    assert len(simulator.documents()) == 1


async def test_a_dropped_connection_after_the_effect_is_an_unknown_outcome(
    sim: tuple[SmartBillSimulator, str], client: SmartBillClient
) -> None:
    simulator, _ = sim
    expected = await client.next_number("LDXP", "p")
    simulator.drop_next(path="/estimate")

    with pytest.raises(OutcomeUnknown):
        await client.issue_estimate(estimate("Q-drop"))

    [post] = simulator.requests("/estimate", "POST")
    assert post.status is None and post.effect == "issued estimate LDXP0001"
    found = await reconcile(client, kind="estimate", series="LDXP", expected=expected)
    assert (found.state, found.number) == ("issued", "0001")


async def test_a_gateway_timeout_on_a_write_is_an_unknown_outcome_and_reconciles_absent(
    sim: tuple[SmartBillSimulator, str], client: SmartBillClient
) -> None:
    simulator, _ = sim
    expected = await client.next_number("LDX")
    simulator.fail_next(1, status=504, path="/invoice")

    with pytest.raises(OutcomeUnknown) as lost:
        await client.issue_invoice(invoice("O-504"))

    assert lost.value.status == 504
    found = await reconcile(client, kind="invoice", series="LDX", expected=expected)
    assert (found.state, found.number) == ("absent", None)
    assert (await client.issue_invoice(invoice("O-504"))).number == expected  # now safe
    assert len(simulator.documents(text="Comanda O-504")) == 1


async def test_reconcile_is_ambiguous_when_others_issued_in_the_series(
    sim: tuple[SmartBillSimulator, str], client: SmartBillClient
) -> None:
    expected = await client.next_number("LDX")
    await client.issue_invoice(invoice("O-staff"))  # someone else, in SmartBill Cloud
    await client.issue_invoice(invoice("O-ours"))

    both = await reconcile(client, kind="invoice", series="LDX", expected=expected)
    assert (both.state, both.candidates) == ("ambiguous", ("0001", "0002"))
    no_total = await reconcile(
        client, kind="invoice", series="LDX", expected=expected, total=Decimal("1.00")
    )
    assert no_total.state == "ambiguous"


async def test_an_outage_opens_the_breaker_and_spares_smartbill(
    sim: tuple[SmartBillSimulator, str], make_client: Callable[..., SmartBillClient]
) -> None:
    simulator, _ = sim
    simulator.outage(3600)
    breaker = Breaker("smartbill", fail_max=2, reset_timeout=60.0)
    client = make_client(breaker=breaker, attempts=1)

    for _ in range(2):  # the second failure opens it, and is reported as itself
        with pytest.raises(SmartBillUnavailable) as failed:
            await client.taxes()
        assert not isinstance(failed.value, BreakerOpen)
    with pytest.raises(BreakerOpen) as held:
        await client.issue_invoice(invoice("O-outage"))

    assert breaker.state == "open" and held.value.retry_after > 50
    assert [c.status for c in simulator.calls] == [500, 500]  # the invoice was never sent


async def test_a_timeout_that_opens_the_breaker_is_still_an_unknown_outcome(
    sim: tuple[SmartBillSimulator, str], make_client: Callable[..., SmartBillClient]
) -> None:
    simulator, _ = sim
    breaker = Breaker("smartbill", fail_max=1, reset_timeout=60.0)
    client = make_client(breaker=breaker, timeout=0.5)
    simulator.hold_next(path="/invoice")

    with pytest.raises(OutcomeUnknown):
        await client.issue_invoice(invoice("O-trip"))

    assert breaker.state == "open"
    assert len(simulator.documents(text="Comanda O-trip")) == 1


async def test_a_refused_connection_is_not_an_unknown_outcome(
    make_client: Callable[..., SmartBillClient],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(base_url=f"http://127.0.0.1:{port}/SBORO/api")

    with pytest.raises(SmartBillUnavailable) as failed:
        await client.issue_invoice(invoice("O-refused"))

    assert not failed.value.outcome_unknown and not isinstance(failed.value, OutcomeUnknown)
