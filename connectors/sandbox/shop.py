"""What the simulators hold at start: the shop's products, the approved WhatsApp templates.

The WooCommerce simulator sells the hub's demo catalog (``actors.catalog.demo``): the same
SKUs and names, the list price the pricing engine computes for it (tier 0, one piece, no
promotion) and the stock the inventory seed publishes (available minus the safety buffer, whole
pieces); discontinued products are there unpublished (``private``, no price), drafts not at all.
So shop orders map to known SKUs, their totals match the hub's, and the first push of prices
and stock finds little to change (the promotions the pricing seed starts).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

from actors.catalog.demo import demo_products
from actors.inventory.seed import SeedSku, plan
from actors.inventory.settings import load_settings as load_inventory
from actors.notifications.settings import load_settings as load_notifications
from actors.pricing.domain import list_price
from actors.pricing.rules import PriceInput, PriceSheet, SkuRules
from actors.pricing.settings import load_settings as load_pricing
from connectors.woocommerce.simulator import WooCommerceSimulator


def shop_products(on: datetime | None = None) -> Iterator[dict[str, Any]]:
    """The demo catalog's active products as the shop lists them (REST fields)."""
    day = (on or datetime.now(UTC)).date()
    min_margin = load_pricing().min_margin
    default_buffer = load_inventory().default_safety_buffer
    products = demo_products()
    # the inventory seed's plan, from the very list it stocks (the plan is drawn in order)
    stocked = plan([SeedSku(p.sku, p.unit) for p in products if p.status != "draft"])
    published = {
        p.sku: max(
            Decimal(0),
            sum(p.stock.values(), Decimal(0))
            - (p.safety_buffer if p.safety_buffer is not None else default_buffer),
        )
        for p in stocked
    }
    for product in products:
        if product.status == "draft":
            continue  # not sold, not stocked: the shop has not heard of it yet
        item = PriceInput(
            sku=product.sku,
            version=product.version,
            category=product.category,
            unit=product.unit,
            cost=product.cost,
            margin=product.margin,
            status=product.status,
        )
        # None for a discontinued product: kept in the shop unpublished, stock still pushed
        price = list_price(PriceSheet(input=item, rules=SkuRules(min_margin=min_margin)), day)
        stock = published.get(product.sku, Decimal(0))
        yield {
            "name": product.name,
            "sku": product.sku,
            "type": "simple",
            "status": "publish" if price is not None else "private",
            "regular_price": str(price.list_net) if price is not None else "",
            "manage_stock": True,
            "stock_quantity": int(stock.to_integral_value(rounding=ROUND_FLOOR)),
        }


def seed_shop(sim: WooCommerceSimulator) -> int:
    """Put the demo catalog in the simulated shop (no webhooks: nothing changed); the count."""
    count = 0
    for product in shop_products():
        sim.add_product(**product)
        count += 1
    return count


def whatsapp_templates(templates_dir: str | Path | None = None) -> dict[str, int]:
    """The approved templates the notifications use: ``{name: parameter count}``, read from
    each notification's ``template.toml`` (``[whatsapp] name``, ``parameters``)."""
    folder = Path(templates_dir or load_notifications().templates_dir)
    found: dict[str, int] = {}
    for spec in sorted(folder.glob("*/template.toml")):
        with spec.open("rb") as f:
            whatsapp = tomllib.load(f).get("whatsapp")
        if isinstance(whatsapp, dict) and whatsapp.get("name"):
            found[str(whatsapp["name"])] = len(whatsapp.get("parameters") or ())
    return found
