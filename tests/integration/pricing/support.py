"""Helpers of the pricing integration and API tests: catalog snapshots and an event sink."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from actors.catalog.messages import Attributes, ProductsChanged, ProductSnapshot
from actors.pricing.messages import CartPriced, CartPricingFailed, PriceChanged, PricesRepriced
from hub.actor import Actor, Context, handler
from hub.bootstrap import Hub
from hub.messages import Envelope, Message, encode


def snapshot(
    sku: str,
    *,
    version: int = 1,
    cost: str = "10.00",
    margin: str = "0.35",
    category: str = "benzi-led-monocolor",
    unit: str = "metre",
    status: str = "active",
    changed: tuple[str, ...] = (),
) -> ProductSnapshot:
    """A catalog snapshot with the price inputs that matter here."""
    return ProductSnapshot(
        sku=sku,
        version=version,
        name=f"Product {sku}",
        ean=None,
        category=category,
        unit=unit,  # type: ignore[arg-type]
        cost=Decimal(cost),
        margin=Decimal(margin),
        status=status,  # type: ignore[arg-type]
        attributes=Attributes(),
        changed=changed,
    )


def products(*snapshots: ProductSnapshot, **kw: Any) -> ProductsChanged:
    """One ``ProductsChanged`` with these snapshots."""
    return ProductsChanged(products=snapshots, **kw)


async def send(hub: Hub, message: Message, *, key: str | None = None) -> Envelope:
    """Publish ``message`` on the hub's bus."""
    env = Envelope.new(message, key=key)
    await hub.bus.publish(env, encode(message))
    return env


class PricingSink(Actor, name="pricing_sink"):
    """Records the pricing events it receives."""

    def __init__(self) -> None:
        self.changed: list[PriceChanged] = []
        self.repriced: list[PricesRepriced] = []
        self.priced: list[CartPriced] = []
        self.failed: list[CartPricingFailed] = []

    @handler
    async def on_changed(self, msg: PriceChanged, ctx: Context) -> None:
        self.changed.append(msg)

    @handler
    async def on_repriced(self, msg: PricesRepriced, ctx: Context) -> None:
        self.repriced.append(msg)

    @handler
    async def on_priced(self, msg: CartPriced | CartPricingFailed, ctx: Context) -> None:
        (self.priced if isinstance(msg, CartPriced) else self.failed).append(msg)  # type: ignore[arg-type]

    def by_sku(self) -> dict[str, list[PriceChanged]]:
        """The PriceChanged received, per SKU, in arrival order."""
        found: dict[str, list[PriceChanged]] = {}
        for event in self.changed:
            found.setdefault(event.sku, []).append(event)
        return found
