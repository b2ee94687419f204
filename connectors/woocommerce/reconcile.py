"""A full comparison of the shop's products with the hub's prices and stock (pure, no I/O).

The hub's side is what the connector recorded per SKU from ``pricing.PriceChanged`` and
``inventory.StockChanged`` (``woo_products``: already in the shop's terms, net or gross per
``prices_include_tax``, published stock after the safety buffer, see ``push.py``); the shop's
side is every product it lists, learnt into the same rows (``product_store.learn``). What
differs is what :func:`push.update_for` would send: the same rule as the pusher's, asked for
every field the hub has a value of.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec

from connectors.woocommerce import push
from connectors.woocommerce.product_store import ProductRow
from connectors.woocommerce.resources import Product

# category -> how the summary names it
CATEGORIES: dict[str, str] = {
    "price_differs": "price differs",
    "stock_differs": "stock differs",
    "stock_changed_in_shop": (
        "stock changed in the shop since the hub's last figure (left alone: the shop's own "
        "orders lower it first; --overwrite-stock pushes the hub's)"
    ),
    "missing_in_shop": "known to the hub, missing in the shop (the hub creates no products)",
    "unknown_to_hub": "in the shop, unknown to the hub",
    "duplicate_sku": "SKU duplicated in the shop (not pushed until one product holds it)",
    "no_sku": "product without SKU",
    "unsupported": "not a simple product (only simple products get prices and stock pushed)",
}
PUSHED = ("price_differs", "stock_differs")  # what --apply fixes (+ stock_changed_in_shop)
PRICE_FIELDS = ("regular_price", "sale_price")
STOCK_FIELDS = ("manage_stock", "stock_quantity")


class Difference(msgspec.Struct, kw_only=True):
    """One SKU (or product, without a SKU) that differs, as the hub and the shop have it."""

    sku: str
    product_ids: tuple[int, ...] = ()
    name: str | None = None
    hub: dict[str, Any] | None = None
    shop: dict[str, Any] | None = None
    fixed: bool = False  # --apply: the shop took the hub's values
    error: str | None = None  # --apply: why it was not fixed


class Report(msgspec.Struct, kw_only=True):
    """What differs, by category (``CATEGORIES``), and what ``--apply`` did about it."""

    apply: bool
    products_read: int
    hub_skus: int
    differences: dict[str, list[Difference]]
    pushed: int = 0  # products the shop took
    requests: int = 0  # batch requests made
    not_pushed: str | None = None  # why the push stopped early

    def remaining(self) -> int:
        """Differences still there (all of them in a dry run)."""
        return sum(1 for items in self.differences.values() for d in items if not d.fixed)

    def counts(self) -> dict[str, int]:
        """Differences found per category."""
        return {c: len(items) for c, items in self.differences.items()}


def knows(row: ProductRow | None) -> bool:
    """True when the hub has a price or a stock figure for the row's SKU."""
    return row is not None and (row.price_at is not None or row.stock_version is not None)


def wanted(row: ProductRow, *, overwrite_stock: bool = False) -> ProductRow:
    """``row`` with the price due whenever the hub has one (prices are the hub's: a shop edit is
    pushed back) and the stock due as the pusher sees it, or whenever the hub has a figure with
    ``overwrite_stock``."""
    stock = row.stock_due or (overwrite_stock and row.stock_version is not None)
    return msgspec.structs.replace(row, price_due=row.price_at is not None, stock_due=stock)


def learnable(products: Iterable[Product]) -> list[Product]:
    """The listed products the connector keeps as holders of their SKU: simple ones whose SKU no
    other listed product holds."""
    holders = _by_sku(products)
    return [
        found[0]
        for found in holders.values()
        if len(found) == 1 and push.supported(found[0]) is None
    ]


def compare(products: Sequence[Product], rows: Mapping[str, ProductRow]) -> Report:
    """Every difference between the listed ``products`` and the hub's ``rows`` (by SKU), the rows
    holding what the shop showed (``learnable`` products learnt into them)."""
    found: dict[str, list[Difference]] = {c: [] for c in CATEGORIES}
    holders = _by_sku(products)
    for product in products:
        if not product.sku:
            found["no_sku"].append(
                Difference(
                    sku="", product_ids=(product.id,), name=product.name, shop=_shop(product)
                )
            )
    for sku in sorted(holders):
        listed = holders[sku]
        row = rows.get(sku)
        ids = tuple(p.id for p in listed)
        hub = _hub(row) if row is not None and knows(row) else None
        if len(listed) > 1:
            found["duplicate_sku"].append(Difference(sku=sku, product_ids=ids, hub=hub))
        elif row is None or hub is None:
            found["unknown_to_hub"].append(
                Difference(sku=sku, product_ids=ids, shop=_shop(listed[0]))
            )
        elif (reason := push.supported(listed[0])) is not None:
            found["unsupported"].append(
                Difference(sku=sku, product_ids=ids, hub=hub, shop=_shop(listed[0]), error=reason)
            )
        else:
            _compare_row(row, ids, found)
    for sku, row in sorted(rows.items()):
        if sku not in holders and knows(row):
            found["missing_in_shop"].append(Difference(sku=sku, hub=_hub(row)))
    return Report(
        apply=False,
        products_read=len(products),
        hub_skus=sum(1 for r in rows.values() if knows(r)),
        differences=found,
    )


def _compare_row(row: ProductRow, ids: tuple[int, ...], found: dict[str, list[Difference]]) -> None:
    update = push.update_for(wanted(row, overwrite_stock=True))
    if update is None:
        return
    if any(getattr(update, f) is not msgspec.UNSET for f in PRICE_FIELDS):
        found["price_differs"].append(
            Difference(
                sku=row.sku,
                product_ids=ids,
                hub={"regular_price": row.regular_price, "sale_price": row.sale_price},
                shop={"regular_price": row.shop_regular_price, "sale_price": row.shop_sale_price},
            )
        )
    if any(getattr(update, f) is not msgspec.UNSET for f in STOCK_FIELDS):
        category = "stock_differs" if row.stock_due else "stock_changed_in_shop"
        found[category].append(
            Difference(
                sku=row.sku,
                product_ids=ids,
                hub={"stock_quantity": row.stock_quantity},
                shop={"stock_quantity": _quantity(row), "manage_stock": row.shop_manage_stock},
            )
        )


def _by_sku(products: Iterable[Product]) -> dict[str, list[Product]]:
    holders: dict[str, list[Product]] = defaultdict(list)
    for product in products:
        if product.sku:
            holders[product.sku].append(product)
    return holders


def _hub(row: ProductRow) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if row.price_at is not None:
        values.update(regular_price=row.regular_price, sale_price=row.sale_price)
    if row.stock_version is not None:
        values["stock_quantity"] = row.stock_quantity
    return values


def _shop(product: Product) -> dict[str, Any]:
    return {
        "regular_price": product.regular_price,
        "sale_price": product.sale_price,
        "stock_quantity": product.stock_quantity if product.manage_stock else None,
        "manage_stock": product.manage_stock,
    }


def _quantity(row: ProductRow) -> int | Decimal | None:
    value = row.shop_stock_quantity
    if value is not None and value == value.to_integral_value():
        return int(value)
    return value
