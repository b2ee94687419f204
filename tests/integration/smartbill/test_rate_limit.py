"""SmartBill's limit (30 calls per window, else a 403 block): the client stays under it, and
when the account is blocked anyway the breaker keeps every call away for the block."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from connectors.smartbill.client import SmartBillBlocked, SmartBillClient
from connectors.smartbill.simulator import SmartBillSimulator
from hub.breaker import Breaker, BreakerOpen
from tests.integration.smartbill.conftest import Clock
from tests.integration.smartbill.support import invoice


async def test_the_client_limiter_keeps_a_burst_of_40_calls_under_the_limit(
    sim: tuple[SmartBillSimulator, str], make_client: Callable[..., SmartBillClient]
) -> None:
    simulator, _ = sim  # 30 calls per 1 s window (conftest), like SmartBill's 30 per 10 s
    client = make_client(per_second=20.0, burst=5)  # at most 5 + 20 = 25 in any second

    answers = await asyncio.gather(*(client.taxes() for _ in range(40)))

    assert len(answers) == 40 and len(simulator.calls) == 40
    assert {c.status for c in simulator.calls} == {200}
    assert simulator.busiest(1.0) <= 30


async def test_without_the_limiter_the_same_burst_gets_the_account_blocked(
    sim: tuple[SmartBillSimulator, str], make_client: Callable[..., SmartBillClient]
) -> None:
    simulator, _ = sim
    client = make_client(per_second=1000.0, burst=1000, limit_calls=100_000)

    answers = await asyncio.gather(*(client.taxes() for _ in range(40)), return_exceptions=True)

    assert any(isinstance(a, SmartBillBlocked) for a in answers)
    assert 403 in {c.status for c in simulator.calls}
    assert simulator.busiest(1.0) > 30


async def test_a_403_block_holds_the_breaker_for_the_block(
    sim: tuple[SmartBillSimulator, str],
    make_client: Callable[..., SmartBillClient],
    clock: Clock,
) -> None:
    simulator, _ = sim
    simulator.rate.window = 10.0
    simulator.rate.calls = 3  # others used the rest of the account's budget
    breaker = Breaker("smartbill", fail_max=5, reset_timeout=1.0, clock=clock)
    client = make_client(breaker=breaker, limit_window=0.2, per_second=10.0, burst=1)

    for _ in range(3):
        await client.taxes()
    with pytest.raises(SmartBillBlocked) as blocked:
        await client.taxes()

    assert blocked.value.status == 403 and blocked.value.retry_after == 600.0
    assert breaker.state == "open"
    with pytest.raises(BreakerOpen) as held:
        await client.issue_invoice(invoice("O-blocked"))
    assert 500.0 < held.value.retry_after <= 600.0
    assert [c.status for c in simulator.calls] == [200, 200, 200, 403]  # nothing more was sent

    clock.advance(600.0)  # SmartBill's block and the breaker's hold both end
    assert (await client.issue_invoice(invoice("O-after"))).number == "0001"
    assert str(breaker.state) == "closed"  # the trial call closed it


async def test_remaining_zero_makes_the_client_wait_for_the_next_window(
    sim: tuple[SmartBillSimulator, str], make_client: Callable[..., SmartBillClient]
) -> None:
    simulator, _ = sim
    simulator.rate.calls = 3  # per 1 s window; the client's own limit knows nothing of it
    client = make_client(per_second=100.0, burst=100, limit_calls=1000)

    for _ in range(7):
        await client.taxes()

    assert [c.status for c in simulator.calls] == [200] * 7
    assert simulator.busiest(1.0) <= 3
