"""The catalog's public contract: what other contexts may listen to, and what they may ask.

Every change to a product that another context needs (price inputs, attributes, status) is
published as :class:`ProductsChanged`, carrying whole snapshots: a listener never has to ask the
catalog anything. One edit is a one-product event; an import batch is one event per batch.
Snapshots carry the product's ``version`` (it grows with every change), so a listener keeps the
newest one whatever order events arrive in.

Families (a strip sold in several colour temperatures) have no price and are never in a
snapshot; their variants carry the family's SKU as ``parent_sku``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec
from msgspec import UNSET, UnsetType

from hub.messages import Command, Event

Unit = Literal["piece", "metre"]
Status = Literal["draft", "active", "discontinued"]
Kind = Literal["product", "family"]


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
    parent_sku: str | None = None  # the family this product is a variant of


class ProductsChanged(Event, tag="catalog.ProductsChanged"):
    """Products were created or changed (one edit, or one batch of an import)."""

    products: tuple[ProductSnapshot, ...]
    batch_id: str | None = None  # the import batch, when there was one


# --- commands: other contexts and publishers asking the catalog for a change ------------------


class AttributesInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Attributes to set: a field left out keeps its value, ``null`` clears it."""

    power_w: Decimal | UnsetType | None = UNSET
    cct_k: int | UnsetType | None = UNSET
    ip_rating: str | UnsetType | None = UNSET
    voltage_v: int | UnsetType | None = UNSET
    lumens: int | UnsetType | None = UNSET
    cri: int | UnsetType | None = UNSET
    colour: str | UnsetType | None = UNSET


class ProductInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A product to create, or the fields of one to change (left out: kept; ``null``: cleared).

    A new product needs ``name``, ``category`` and (unless it is a family) ``cost`` and
    ``margin``; ``unit`` defaults to ``piece``, ``status`` to ``draft``. ``version``, when given,
    must be the product's current version (optimistic concurrency); it is ignored for a new one.
    """

    sku: str
    version: int | UnsetType = UNSET
    kind: Kind | UnsetType = UNSET
    parent_sku: str | UnsetType | None = UNSET
    name: str | UnsetType = UNSET
    ean: str | UnsetType | None = UNSET
    category: str | UnsetType = UNSET
    unit: Unit | UnsetType = UNSET
    cost: Decimal | UnsetType | None = UNSET
    margin: Decimal | UnsetType | None = UNSET
    status: Status | UnsetType = UNSET
    attributes: AttributesInput | UnsetType = UNSET


class UpsertProduct(Command, tag="catalog.UpsertProduct"):
    """Create a product, or change the fields given of an existing one."""

    product: ProductInput


class ImportProducts(Command, tag="catalog.ImportProducts"):
    """Create or change these products all together, or none of them (at most 1000 rows).

    ``batch_id`` names the batch (it becomes the ``ProductsChanged.batch_id``); a batch id
    already imported is not applied again.
    """

    batch_id: str
    products: tuple[ProductInput, ...]


class RowError(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What is wrong with one row (1-based; for a CSV file the line, header = 1) and field.

    ``code``: ``invalid`` (a value breaks a rule), ``version_conflict`` (the product changed
    since that version), ``exists`` (creating a SKU that exists), ``not_found``, ``duplicate``
    (the SKU is twice in one batch).
    """

    row: int
    field: str | None
    message: str
    sku: str | None = None
    code: str = "invalid"


class ProductChangeRejected(Event, tag="catalog.ProductChangeRejected"):
    """A requested change (one product, or an import batch) was refused; nothing was applied."""

    errors: tuple[RowError, ...]
    sku: str | None = None  # for UpsertProduct
    batch_id: str | None = None  # for ImportProducts


CatalogMessage = ProductsChanged | UpsertProduct | ImportProducts | ProductChangeRejected
