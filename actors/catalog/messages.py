"""The catalog's public contract: what other contexts may listen to.

Every change to a product that another context needs (price inputs, attributes, status) is
published as :class:`ProductsChanged`, carrying whole snapshots: a listener never has to ask the
catalog anything. One edit is a one-product event; an import batch is one event per batch.
Snapshots carry the product's ``version`` (it grows with every change), so a listener keeps the
newest one whatever order events arrive in.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

from hub.messages import Event

Unit = Literal["piece", "metre"]
Status = Literal["draft", "active", "discontinued"]


class Attributes(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Technical attributes of an LED product (each optional: a profile has no wattage)."""

    power_w: Decimal | None = None  # W per piece, or W per metre for strips (unit "metre")
    cct_k: int | None = None  # colour temperature, kelvin (2700, 4000, 6500...)
    ip_rating: str | None = None  # "IP20", "IP65", "IP67"
    voltage_v: int | None = None  # 12, 24, 230
    lumens: int | None = None  # per piece or per metre
    cri: int | None = None  # colour rendering index
    colour: str | None = None  # "RGB", "RGBW", or a finish ("alb", "negru")


class ProductSnapshot(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A product as it stands after a change."""

    sku: str
    version: int
    name: str
    ean: str | None
    category: str  # category code, e.g. "benzi-led"
    unit: Unit
    cost: Decimal  # purchase cost per unit, RON, net of VAT
    margin: Decimal  # markup as a fraction of cost: 0.35 = +35 %
    status: Status
    attributes: Attributes
    changed: tuple[str, ...] = ()  # the fields this change touched ("cost", "margin", ...)


class ProductsChanged(Event, tag="catalog.ProductsChanged"):
    """Products were created or changed (one edit, or one batch of an import)."""

    products: tuple[ProductSnapshot, ...]
    batch_id: str | None = None  # the import batch, when there was one


CatalogMessage = ProductsChanged
