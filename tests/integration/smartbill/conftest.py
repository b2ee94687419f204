"""Fixtures of the SmartBill client tests: the simulator on loopback and clients wired to it.

The simulator's window is shortened to 1 s (30 calls per second) and the clients' limits match
it (``limit_window=1``), so tests run fast yet keep SmartBill's rule: a client never exceeds it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
import pytest
from aiohttp.test_utils import TestServer

from connectors.smartbill.client import SmartBillClient, build_client
from connectors.smartbill.settings import SmartBillSettings
from connectors.smartbill.simulator import API, SmartBillSimulator
from hub.breaker import Breaker
from hub.settings import Secret

USERNAME = "api@ledux.ro"
TOKEN = "sim-token"
CIF = "RO18547290"


class Clock:
    """Wall-clock time that a test can move forward (the simulator's windows and blocks, the
    breaker's hold), so a 10-minute block ends without waiting 10 minutes."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sim(clock: Clock) -> AsyncIterator[tuple[SmartBillSimulator, str]]:
    """The simulator (its clock: ``clock``) and the API base URL, as in ``base_url``."""
    simulator = SmartBillSimulator(username=USERNAME, token=TOKEN, clock=clock)
    simulator.rate.window = 1.0
    async with TestServer(simulator.app(), host="127.0.0.1") as server:
        try:
            yield simulator, str(server.make_url(API))
        finally:
            simulator.release()


@pytest.fixture
def settings(sim: tuple[SmartBillSimulator, str]) -> SmartBillSettings:
    """Settings for the simulator: fast retries, a limit matching its 30 calls per second."""
    return SmartBillSettings(
        username=USERNAME,
        token=Secret(TOKEN),
        cif=CIF,
        base_url=sim[1],
        invoice_series="LDX",
        proforma_series="LDXP",
        timeout=2.0,
        per_second=20.0,
        burst=10,
        backoff=0.01,
        max_backoff=0.05,
        breaker_fail_max=5,
        breaker_reset_timeout=0.2,
        limit_calls=30,
        limit_window=1.0,
    )


@pytest.fixture
async def make_client(
    settings: SmartBillSettings,
) -> AsyncIterator[Callable[..., SmartBillClient]]:
    """``make_client(breaker=None, **settings)``: a client of the simulator (closed after)."""
    made: list[SmartBillClient] = []

    def make(breaker: Breaker | None = None, **overrides: Any) -> SmartBillClient:
        client = build_client(msgspec.structs.replace(settings, **overrides), breaker=breaker)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


@pytest.fixture
def client(make_client: Callable[..., SmartBillClient]) -> SmartBillClient:
    """A client with the default test settings."""
    return make_client()
