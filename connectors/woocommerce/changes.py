"""What the client writes: the hub-owned fields of products, orders and customers.

Each struct carries fields that are ``UNSET`` until set, so a body holds exactly the fields
that changed (:func:`wire`). Every field *sets* a value (no "add a line", no "increase stock
by"), so sending the same update twice leaves the store as sending it once: that is what makes
updates safe to repeat after a lost answer. Money goes out as plain decimal strings
(``"1250.00"``, never ``"1.25E+3"``, which WooCommerce's ``wc_format_decimal`` would store as
``"1.253"``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from connectors.woocommerce.resources import Address, Money, Product

# The order statuses the hub may set (REST docs' enum; "trash" is a DELETE, not a status).
OrderStatus = Literal[
    "pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed"
]
StockStatus = Literal["instock", "outofstock", "onbackorder"]
Backorders = Literal["no", "notify", "yes"]


class MetaUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """Set meta ``key`` to ``value`` (WooCommerce updates the entry with that key, or adds it)."""

    key: str
    value: Any


class ProductUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """The hub-owned fields of a product to set; ``UNSET`` fields are not sent.

    ``regular_price``/``sale_price`` ``None`` clears the price (``""``): no sale, or no price.
    """

    id: int
    sku: str | UnsetType = UNSET
    regular_price: Money | UnsetType | None = UNSET
    sale_price: Money | UnsetType | None = UNSET
    manage_stock: bool | UnsetType = UNSET
    stock_quantity: int | UnsetType = UNSET
    stock_status: StockStatus | UnsetType = UNSET
    backorders: Backorders | UnsetType = UNSET
    meta_data: tuple[MetaUpdate, ...] | UnsetType = UNSET


class ProductCreate(msgspec.Struct, frozen=True, kw_only=True):
    """A new product (the store owns descriptions and images: they are added there)."""

    name: str
    sku: str
    type: Literal["simple", "variable", "grouped", "external"] = "simple"
    status: Literal["draft", "pending", "private", "publish"] = "draft"
    regular_price: Money | UnsetType | None = UNSET
    sale_price: Money | UnsetType | None = UNSET
    manage_stock: bool | UnsetType = UNSET
    stock_quantity: int | UnsetType = UNSET
    stock_status: StockStatus | UnsetType = UNSET
    meta_data: tuple[MetaUpdate, ...] | UnsetType = UNSET


class OrderUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """An order's fields to set: its status, meta entries (e.g. the invoice number)."""

    id: int
    status: OrderStatus | UnsetType = UNSET
    transaction_id: str | UnsetType = UNSET
    meta_data: tuple[MetaUpdate, ...] | UnsetType = UNSET


class CustomerUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """A customer's fields to set (the B2B tier travels in a meta entry)."""

    id: int
    first_name: str | UnsetType = UNSET
    last_name: str | UnsetType = UNSET
    billing: Address | UnsetType = UNSET
    shipping: Address | UnsetType = UNSET
    meta_data: tuple[MetaUpdate, ...] | UnsetType = UNSET


Update = ProductUpdate | OrderUpdate | CustomerUpdate


def money(value: Decimal) -> str:
    """A price as WooCommerce stores it: plain notation, never an exponent; not negative."""
    if not value.is_finite() or value < 0:
        raise ValueError(f"not a price: {value!r}")
    return format(value, "f")


def wire(item: msgspec.Struct) -> dict[str, Any]:
    """The JSON object of a write struct: set fields only, money as strings, ``None`` → ``""``."""
    body: dict[str, Any] = {}
    for field in item.__struct_fields__:
        value = getattr(item, field)
        if value is UNSET:
            continue
        if isinstance(value, Decimal):
            value = money(value)
        elif value is None and field.endswith("price"):
            value = ""
        body[field] = _plain(value)
    return body


def _plain(value: Any) -> Any:
    """JSON data of a value; an address's ``None`` fields are left out (they would clear it)."""
    if isinstance(value, msgspec.Struct):
        data = msgspec.to_builtins(value, builtin_types=(Decimal,))
        return {k: v for k, v in data.items() if v is not None}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def changed_fields(update: ProductUpdate, current: Product) -> ProductUpdate | None:
    """``update`` without the fields ``current`` already holds; ``None`` when nothing changes.

    A meta entry counts as unchanged when ``current`` has that key with an equal value.
    """
    kept: dict[str, Any] = {}
    for field in update.__struct_fields__:
        wanted = getattr(update, field)
        if field == "id" or wanted is UNSET:
            continue
        if field == "meta_data":
            have = {m.key: m.value for m in current.meta_data}
            fresh = tuple(m for m in wanted if m.key not in have or have[m.key] != m.value)
            if fresh:
                kept[field] = fresh
        elif getattr(current, field) != wanted:
            kept[field] = wanted
    if not kept:
        return None
    return ProductUpdate(id=update.id, **kept)
