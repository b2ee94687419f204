"""The demo pricing rules price the demo catalog as the catalog's seed publishes it."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from actors.catalog.demo import demo_products
from actors.pricing.actor import Pricing
from actors.pricing.messages import CartLine, PriceCart
from actors.pricing.seed import seed
from actors.pricing.settings import PricingSettings
from tests.integration.pricing.support import PricingSink, products, send
from tests.support import eventually

StartHub = Callable[..., Any]


@pytest.fixture
def transport() -> str:  # the seed's effect does not depend on the transport
    return "memory"


async def test_the_demo_rules_price_the_demo_catalog(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    async with db_conn.transaction():
        await seed(db_conn)
    sink = PricingSink()
    hub, _ = await start_hub(Pricing(PricingSettings()), sink)
    await eventually(lambda: len(sink.repriced) == 2, what="the promotions' repricings")
    catalog = demo_products()
    await send(hub, products(*catalog, batch_id="demo"))
    await eventually(lambda: len(sink.repriced) == 3, what="the demo catalog priced")
    active = [p for p in catalog if p.status == "active"]
    assert sink.repriced[-1].changed == len(active)
    await eventually(lambda: len(sink.changed) == len(active), what="one PriceChanged each")
    profiles = [e for e in sink.changed if e.sku.startswith("PA-")]
    assert profiles and all(e.sale_net is not None and e.sale_net < e.list_net for e in profiles)

    strip = next(p for p in active if p.category == "benzi-led-monocolor")
    cart = (CartLine(sku=strip.sku, quantity=Decimal(60)),)
    await send(hub, PriceCart(request_id="demo", customer_id="C-1003", lines=cart), key="demo")
    await eventually(lambda: sink.priced, what="the demo cart priced")
    [line] = sink.priced[0].lines
    assert sink.priced[0].tier == 3
    assert (line.breakdown[2].rate, line.breakdown[2].applied) == (Decimal("0.08"), True)

    timers = await db_conn.fetch("SELECT name FROM hub_timers ORDER BY name")
    assert [t["name"] for t in timers] == [
        "pricing:promotion:1:end",
        "pricing:promotion:2:end",
        "pricing:promotion:2:start",
    ]
