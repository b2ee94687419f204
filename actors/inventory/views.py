"""The inventory API's request and response bodies."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from hub.edge.api import ApiModel, PageQuery

Sku = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Reference = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Kind = Literal["receipt", "issue", "transfer", "adjustment", "reservation", "release"]


class StockRowView(ApiModel):
    """Stock of one SKU in one warehouse."""

    sku: str
    warehouse: str
    on_hand: Decimal
    reserved: Decimal
    available: Decimal


class StockQuery(PageQuery):
    """Filters of the stock list: SKU prefix, warehouse, only SKUs below their reorder point."""

    sku: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    warehouse: Code | None = None
    below_reorder: bool = False


class WarehouseStock(ApiModel):
    """A SKU's stock in one warehouse."""

    warehouse: str
    name: str
    on_hand: Decimal
    reserved: Decimal
    available: Decimal


class SkuStockView(ApiModel):
    """A SKU's stock over every warehouse, what the shop sees, and its settings."""

    sku: str
    unit: str | None
    on_hand: Decimal
    reserved: Decimal
    available: Decimal
    published: Decimal
    safety_buffer: Decimal
    reorder_point: Decimal | None
    below_reorder: bool
    warehouses: list[WarehouseStock]


class MovementView(ApiModel):
    """One entry of the stock ledger."""

    id: int
    at: datetime
    kind: str
    sku: str
    warehouse: str
    quantity: Decimal
    reason: str
    author: str
    reference: str | None


class MovementQuery(PageQuery):
    """Filters of the movement list (newest first)."""

    sku: Sku | None = None
    kind: Kind | None = None
    warehouse: Code | None = None
    reference: Reference | None = None
    since: datetime | None = None


class WarehouseValue(ApiModel):
    """Stock value of one warehouse: on hand times cost, RON net of VAT."""

    warehouse: str
    name: str
    value: Decimal
    skus_without_cost: int


class StockValue(ApiModel):
    """Stock value per warehouse and in total."""

    currency: str
    total: Decimal
    warehouses: list[WarehouseValue]
    skus_without_cost: int  # SKUs in stock the catalog has not given a cost for yet


class AvailabilityQuery(ApiModel):
    """SKUs, comma-separated (at most 100)."""

    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=6500)]


class Availability(ApiModel):
    """What the shop may sell of a SKU (available minus the safety buffer)."""

    sku: str
    available: Decimal
    in_stock: bool


class QuantityLine(ApiModel):
    """A quantity of one SKU."""

    sku: Sku
    quantity: Decimal


class ReceiptBody(ApiModel):
    """Goods received into one warehouse."""

    warehouse: Code
    lines: Annotated[list[QuantityLine], msgspec.Meta(min_length=1, max_length=200)]
    reason: Reason
    reference: Reference | None = None  # the supplier's delivery note, the NIR number


class TransferBody(ApiModel):
    """Available stock moved from one warehouse to another."""

    from_warehouse: Code
    to_warehouse: Code
    lines: Annotated[list[QuantityLine], msgspec.Meta(min_length=1, max_length=200)]
    reason: Reason
    reference: Reference | None = None


class AdjustmentLine(ApiModel):
    """A correction of one SKU: a signed ``delta``, or the quantity ``counted``."""

    sku: Sku
    delta: Decimal | None = None
    counted: Decimal | None = None


class AdjustmentBody(ApiModel):
    """Corrections in one warehouse (damage, loss, a stocktake)."""

    warehouse: Code
    lines: Annotated[list[AdjustmentLine], msgspec.Meta(min_length=1, max_length=200)]
    reason: Reason
    reference: Reference | None = None


class StockChangeView(ApiModel):
    """The movements a receipt, transfer or adjustment recorded."""

    reference: str
    movements: list[MovementView]


class SkuSettingsBody(ApiModel):
    """A SKU's reorder point and safety buffer (null: the default setting)."""

    reorder_point: Decimal | None = None
    safety_buffer: Decimal | None = None


class SkuSettingsView(ApiModel):
    """A SKU's settings, as set and as in effect, with the figures they give."""

    sku: str
    reorder_point: Decimal | None
    safety_buffer: Decimal | None
    effective_reorder_point: Decimal | None
    effective_safety_buffer: Decimal
    available: Decimal
    published: Decimal
