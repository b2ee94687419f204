"""Products in the simulator: the REST shape, field rules, what a save computes.

Prices go through ``wc_format_decimal`` (no error for a non-numeric one: it is stored as
``""``); a SKU another product holds is ``product_invalid_sku``; with ``manage_stock`` the
stock status follows the quantity (``instock`` above 0, else ``outofstock`` or
``onbackorder`` when backorders are allowed) and without it the quantity reads ``null``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.woocommerce.sim_wp import RestError, to_boolean, wc_format_decimal

if TYPE_CHECKING:
    from connectors.woocommerce.sim_store import Store

ARGS: dict[str, dict[str, Any]] = {
    "name": {"type": "string"},
    "slug": {"type": "string"},
    "sku": {"type": "string"},
    "regular_price": {"type": "string"},
    "sale_price": {"type": "string"},
    "description": {"type": "string"},
    "short_description": {"type": "string"},
    "type": {"type": "string", "enum": ("simple", "grouped", "external", "variable")},
    "status": {"type": "string", "enum": ("draft", "pending", "private", "publish")},
    "manage_stock": {"type": "boolean"},
    "stock_quantity": {"type": "integer", "nullable": True},
    "stock_status": {"type": "string", "enum": ("instock", "outofstock", "onbackorder")},
    "backorders": {"type": "string", "enum": ("no", "notify", "yes")},
    "meta_data": {"type": "array"},
}


def blank(ident: int, store_url: str) -> dict[str, Any]:
    """A new product as WooCommerce shows it before any field is set."""
    return {
        "id": ident,
        "name": "",
        "slug": f"product-{ident}",
        "permalink": f"{store_url}/?post_type=product&p={ident}",
        "date_created": None,
        "date_created_gmt": None,
        "date_modified": None,
        "date_modified_gmt": None,
        "type": "simple",
        "status": "publish",
        "featured": False,
        "catalog_visibility": "visible",
        "description": "",
        "short_description": "",
        "sku": "",
        "price": "",
        "regular_price": "",
        "sale_price": "",
        "date_on_sale_from": None,
        "date_on_sale_from_gmt": None,
        "date_on_sale_to": None,
        "date_on_sale_to_gmt": None,
        "on_sale": False,
        "purchasable": False,
        "total_sales": 0,
        "virtual": False,
        "downloadable": False,
        "tax_status": "taxable",
        "tax_class": "",
        "manage_stock": False,
        "stock_quantity": None,
        "stock_status": "instock",
        "backorders": "no",
        "backorders_allowed": False,
        "backordered": False,
        "sold_individually": False,
        "weight": "",
        "dimensions": {"length": "", "width": "", "height": ""},
        "shipping_required": True,
        "parent_id": 0,
        "categories": [],
        "tags": [],
        "images": [],
        "attributes": [],
        "variations": [],
        "menu_order": 0,
        "meta_data": [],
        "_links": {},
    }


def apply(store: Store, product: dict[str, Any], fields: dict[str, Any]) -> None:
    """Set ``fields`` as ``WC_REST_Products_Controller`` does, then what a save computes."""
    for key in (
        "name",
        "slug",
        "type",
        "status",
        "description",
        "short_description",
        "backorders",
        "stock_status",
    ):
        if key in fields:
            product[key] = fields[key]
    if "sku" in fields:
        _set_sku(store, product, str(fields["sku"] or "").strip())
    for key in ("regular_price", "sale_price"):
        if key in fields:
            product[key] = wc_format_decimal(fields[key], store.decimal_separator)
    if "manage_stock" in fields:
        product["manage_stock"] = to_boolean(fields["manage_stock"])
    if "stock_quantity" in fields:
        value = fields["stock_quantity"]
        product["stock_quantity"] = None if value in (None, "") else int(float(value))
    if "meta_data" in fields:
        store.merge_meta(product, fields["meta_data"])
    _derive_product(product)


def _set_sku(store: Store, product: dict[str, Any], sku: str) -> None:
    if sku:
        for other in store.records["product"].values():
            if other["id"] != product["id"] and other["sku"] == sku:
                raise RestError(
                    400,
                    "product_invalid_sku",
                    "Invalid or duplicated SKU.",
                    resource_id=other["id"],
                    unique_sku=sku,
                )
    product["sku"] = sku


def _derive_product(product: dict[str, Any]) -> None:
    """What WooCommerce computes on save: the price in force, sale flag, stock status."""
    regular, sale = product["regular_price"], product["sale_price"]
    on_sale = sale != "" and (regular == "" or _number(sale) < _number(regular))
    product["on_sale"] = on_sale
    product["price"] = sale if on_sale else regular
    product["purchasable"] = product["price"] != "" and product["status"] != "trash"
    if product["manage_stock"]:
        quantity = product["stock_quantity"] or 0
        if quantity > 0:
            product["stock_status"] = "instock"
        elif product["backorders"] != "no":
            product["stock_status"] = "onbackorder"
        else:
            product["stock_status"] = "outofstock"
    else:
        product["stock_quantity"] = None
    product["backorders_allowed"] = product["backorders"] != "no"
    product["backordered"] = product["manage_stock"] and product["stock_status"] == "onbackorder"


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0
