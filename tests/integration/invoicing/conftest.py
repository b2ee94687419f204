"""Fixtures of the invoicing tests: the SmartBill simulator on loopback, the actor wired to it,
and a recorder of what the actor publishes (its events and the customer emails it asks for)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import msgspec
import pytest
from aiohttp.test_utils import TestServer

from actors.invoicing.actor import InvoicingActor, build
from actors.invoicing.settings import InvoicingSettings
from connectors.smartbill.client import SmartBillClient, build_client
from connectors.smartbill.settings import SmartBillSettings
from connectors.smartbill.simulator import API, SmartBillSimulator
from hub.db import Database
from hub.settings import Secret

USERNAME = "api@ledux.ro"
TOKEN = "sim-token"
CIF = "RO18547290"


class Clock:
    """Wall-clock time a test can move forward (the simulator's 403 block)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
async def sim() -> AsyncIterator[tuple[SmartBillSimulator, str]]:
    """The simulator (a 1 s rate window, a short 403 block) and its API base URL."""
    simulator = SmartBillSimulator(username=USERNAME, token=TOKEN, clock=Clock())
    simulator.rate.window = 1.0
    simulator.rate.block = 0.3
    simulator.hold_seconds = 5.0
    async with TestServer(simulator.app(), host="127.0.0.1") as server:
        try:
            yield simulator, str(server.make_url(API))
        finally:
            simulator.release()


@pytest.fixture
async def database(actor_db: Database, db_conn: asyncpg.Connection) -> Database:
    """A pool on the run's database, with no invoicing documents."""
    await db_conn.execute("TRUNCATE invoicing_documents, invoicing_stock_checks CASCADE")
    return actor_db


@pytest.fixture
def smartbill_settings(sim: tuple[SmartBillSimulator, str]) -> SmartBillSettings:
    return SmartBillSettings(
        username=USERNAME,
        token=Secret(TOKEN),
        cif=CIF,
        base_url=sim[1],
        invoice_series="LDX",
        proforma_series="LDXP",
        timeout=0.5,
        per_second=20.0,
        burst=10,
        attempts=1,
        backoff=0.01,
        max_backoff=0.05,
        breaker_fail_max=50,
        breaker_reset_timeout=0.2,
        block_seconds=0.3,
        limit_calls=30,
        limit_window=1.0,
    )


@pytest.fixture
async def make_client(
    smartbill_settings: SmartBillSettings,
) -> AsyncIterator[Callable[..., SmartBillClient]]:
    made: list[SmartBillClient] = []

    def make(**overrides: Any) -> SmartBillClient:
        client = build_client(msgspec.structs.replace(smartbill_settings, **overrides))
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


@pytest.fixture
def invoicing(
    smartbill_settings: SmartBillSettings, database: Database
) -> Callable[..., InvoicingActor]:
    """``invoicing(**smartbill_overrides)``: the actor against the simulator, fast timers, no
    payment poll or stock comparison unless ``settings=`` asks for them."""

    def make(settings: dict[str, Any] | None = None, **overrides: Any) -> InvoicingActor:
        smartbill = msgspec.structs.replace(smartbill_settings, **overrides)
        fields: dict[str, Any] = {
            "retry_backoff": 0.05,
            "retry_max_backoff": 0.3,
            "reconcile_after": 0.6,
            "payment_poll_interval": None,
            "stock_check_at": None,
            **(settings or {}),
        }
        return build(InvoicingSettings(**fields), smartbill, database, build_client(smartbill))

    return make
