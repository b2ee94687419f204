"""WooCommerce REST v3 resources as the client reads them: typed, read-only structs.

WooCommerce sends money as strings (``"21.99"``, ``""`` for no price) and a line's ``price``
as a JSON number; dates ``*_gmt`` without an offset (``"2017-03-22T19:28:08"``). :func:`decode`
turns a body into structs with ``Decimal`` money (``""`` → ``None`` or 0, numbers keep their
digits) and aware UTC datetimes; fields the hub does not read are ignored, as are unknown ones.
What the client writes is in ``changes.py``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")
Money = Decimal


class MetaData(msgspec.Struct, frozen=True, kw_only=True):
    """A meta entry; ``value`` is any JSON (plugins store objects too)."""

    key: str
    value: Any = ""
    id: int | None = None


class Address(msgspec.Struct, frozen=True, kw_only=True):
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    address_1: str = ""
    address_2: str = ""
    city: str = ""
    state: str = ""
    postcode: str = ""
    country: str = ""
    email: str | None = None  # billing only
    phone: str | None = None  # billing; shipping since WC 5.6


class LineItem(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str = ""
    product_id: int = 0
    variation_id: int = 0
    quantity: int | Decimal = 0  # Decimal where a store sells by the metre (wc_stock_amount)
    tax_class: str = ""
    subtotal: Money = Decimal(0)
    subtotal_tax: Money = Decimal(0)
    total: Money = Decimal(0)
    total_tax: Money = Decimal(0)
    sku: str | None = None  # null/"" when the product is gone or has no SKU
    price: Money | None = None  # unrounded total / quantity, a JSON number
    meta_data: tuple[MetaData, ...] = ()


class TaxLine(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    rate_code: str = ""
    rate_id: int | str = 0
    label: str = ""
    compound: bool = False
    tax_total: Money = Decimal(0)
    shipping_tax_total: Money = Decimal(0)
    rate_percent: Decimal | None = None  # WC 5.7+


class ShippingLine(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    method_title: str = ""
    method_id: str = ""
    total: Money = Decimal(0)
    total_tax: Money = Decimal(0)


class FeeLine(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str = ""
    total: Money = Decimal(0)
    total_tax: Money = Decimal(0)


class CouponLine(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    code: str = ""
    discount: Money = Decimal(0)
    discount_tax: Money = Decimal(0)


class Refund(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    reason: str = ""
    total: Money = Decimal(0)  # negative, as WooCommerce shows it


class Order(msgspec.Struct, frozen=True, kw_only=True):
    """An order as ``GET /orders/<id>`` (and every order webhook) shows it."""

    id: int
    parent_id: int = 0
    number: str = ""
    order_key: str = ""
    created_via: str = ""
    status: str = "pending"  # str, not OrderStatus: plugins add statuses
    currency: str = ""
    prices_include_tax: bool = False
    date_created_gmt: datetime | None = None
    date_modified_gmt: datetime | None = None
    date_paid_gmt: datetime | None = None
    date_completed_gmt: datetime | None = None
    discount_total: Money = Decimal(0)
    discount_tax: Money = Decimal(0)
    shipping_total: Money = Decimal(0)
    shipping_tax: Money = Decimal(0)
    cart_tax: Money = Decimal(0)
    total: Money = Decimal(0)
    total_tax: Money = Decimal(0)
    customer_id: int = 0
    customer_note: str = ""
    billing: Address = Address()
    shipping: Address = Address()
    payment_method: str = ""
    payment_method_title: str = ""
    transaction_id: str = ""
    meta_data: tuple[MetaData, ...] = ()
    line_items: tuple[LineItem, ...] = ()
    tax_lines: tuple[TaxLine, ...] = ()
    shipping_lines: tuple[ShippingLine, ...] = ()
    fee_lines: tuple[FeeLine, ...] = ()
    coupon_lines: tuple[CouponLine, ...] = ()
    refunds: tuple[Refund, ...] = ()


class Product(msgspec.Struct, frozen=True, kw_only=True):
    """A product as ``GET /products/<id>`` shows it (the fields the hub reads)."""

    id: int
    name: str = ""
    slug: str = ""
    type: str = "simple"
    status: str = "publish"
    sku: str = ""
    price: Money | None = None  # read-only: the price in force
    regular_price: Money | None = None  # None: "" in the store, no price
    sale_price: Money | None = None  # None: not on sale
    on_sale: bool = False
    manage_stock: bool = False
    stock_quantity: int | Decimal | None = None
    stock_status: str = "instock"
    backorders: str = "no"
    date_created_gmt: datetime | None = None
    date_modified_gmt: datetime | None = None
    parent_id: int = 0
    meta_data: tuple[MetaData, ...] = ()


class Customer(msgspec.Struct, frozen=True, kw_only=True):
    """A customer (a WordPress user) as ``GET /customers/<id>`` shows it."""

    id: int
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    role: str = "customer"
    username: str = ""
    billing: Address = Address()
    shipping: Address = Address()
    is_paying_customer: bool = False
    date_created_gmt: datetime | None = None
    date_modified_gmt: datetime | None = None
    meta_data: tuple[MetaData, ...] = ()


# --- reading --------------------------------------------------------------------------------

_MONEY = frozenset(
    {
        "price",
        "regular_price",
        "sale_price",
        "subtotal",
        "subtotal_tax",
        "total",
        "total_tax",
        "discount_total",
        "discount_tax",
        "discount",
        "shipping_total",
        "shipping_tax",
        "cart_tax",
        "tax_total",
        "shipping_tax_total",
        "rate_percent",
    }
)

_json = msgspec.json.Decoder(float_hook=Decimal)  # numbers keep their digits


def _normalise(value: Any) -> Any:
    """Blank money → absent (the struct's default); ``*_gmt`` dates → UTC offset added."""
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in _MONEY and (item == "" or item is None):
            continue
        if key.endswith("_gmt") and isinstance(item, str) and len(item) == 19:
            item += "+00:00"  # "2017-03-22T19:28:08": GMT by the field's name
        out[key] = _normalise(item)
    return out


def decode(body: bytes, type: type[T]) -> T:
    """A WooCommerce JSON body as ``type`` (``Product``, ``list[Order]``...)."""
    return msgspec.convert(_normalise(_json.decode(body)), type=type)


def convert(data: Any, type: type[T]) -> T:
    """Already-decoded JSON (a batch answer's item) as ``type``."""
    return msgspec.convert(_normalise(data), type=type)


def parse_json(body: bytes) -> Any:
    """The body as Python data, numbers as ``int``/``Decimal``."""
    return _json.decode(body)
