"""Orders in the simulator: the REST shape, status changes, line items and their totals.

Totals follow a Romanian shop's setup: prices entered without VAT, one standard rate
(``Store.vat_rate``, 21 %) on every line and on shipping, amounts rounded half-up to 0.01 per
line. A status set to ``processing``/``completed`` stamps ``date_paid`` (and ``completed``
``date_completed``) as ``WC_Order`` does; an unknown status set without the schema check (a
batch item) becomes ``pending``.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from connectors.woocommerce.sim_wp import RestError, to_boolean, wp_dates

if TYPE_CHECKING:
    from connectors.woocommerce.sim_store import Store

STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
)
PAID = ("processing", "completed")
ARGS: dict[str, dict[str, Any]] = {
    "status": {"type": "string", "enum": STATUSES},
    "currency": {"type": "string"},
    "customer_id": {"type": "integer"},
    "customer_note": {"type": "string"},
    "payment_method": {"type": "string"},
    "payment_method_title": {"type": "string"},
    "transaction_id": {"type": "string"},
    "billing": {"type": "object"},
    "shipping": {"type": "object"},
    "meta_data": {"type": "array"},
    "line_items": {"type": "array"},
    "shipping_lines": {"type": "array"},
    "set_paid": {"type": "boolean"},
}
_ADDRESS = ("first_name", "last_name", "company", "address_1", "address_2", "city", "state")


def address(*, billing: bool) -> dict[str, str]:
    """An empty address as WooCommerce shows it (billing has the email)."""
    fields = {key: "" for key in (*_ADDRESS, "postcode", "country")}
    if billing:
        fields["email"] = ""
    fields["phone"] = ""
    return fields


def merge_address(target: dict[str, Any], given: dict[str, Any]) -> None:
    """Set the known fields given (``set_billing_<field>``); others are ignored."""
    for key, value in given.items():
        if key in target:
            target[key] = "" if value is None else str(value)


def blank(ident: int, now: datetime, via: str) -> dict[str, Any]:
    return {
        "id": ident,
        "parent_id": 0,
        "status": "pending",
        "currency": "RON",
        "version": "9.8.0",
        "prices_include_tax": False,
        "date_created": None,
        "date_modified": None,
        "discount_total": "0.00",
        "discount_tax": "0.00",
        "shipping_total": "0.00",
        "shipping_tax": "0.00",
        "cart_tax": "0.00",
        "total": "0.00",
        "total_tax": "0.00",
        "customer_id": 0,
        "order_key": "wc_order_" + secrets.token_hex(7)[:13],
        "billing": address(billing=True),
        "shipping": address(billing=False),
        "payment_method": "",
        "payment_method_title": "",
        "transaction_id": "",
        "customer_ip_address": "",
        "customer_user_agent": "",
        "created_via": via,
        "customer_note": "",
        "date_completed": None,
        "date_paid": None,
        "cart_hash": "",
        "number": str(ident),
        "meta_data": [],
        "line_items": [],
        "tax_lines": [],
        "shipping_lines": [],
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [],
        "payment_url": "",
        "is_editable": True,
        "needs_payment": True,
        "needs_processing": True,
        "date_created_gmt": None,
        "date_modified_gmt": None,
        "date_completed_gmt": None,
        "date_paid_gmt": None,
        "currency_symbol": "lei",
        "_links": {},
    }


def apply(store: Store, order: dict[str, Any], fields: dict[str, Any], *, creating: bool) -> None:
    """Set ``fields`` on ``order`` as ``WC_REST_Orders_Controller::save_object`` does."""
    order["_links"] = store.links("orders", order["id"])
    for key in ("customer_note", "payment_method", "payment_method_title", "transaction_id"):
        if key in fields:
            order[key] = str(fields[key] or "")
    if "customer_id" in fields:
        order["customer_id"] = int(fields["customer_id"] or 0)
    for key in ("billing", "shipping"):
        if isinstance(fields.get(key), dict):
            merge_address(order[key], fields[key])
    if "meta_data" in fields:
        store.merge_meta(order, fields["meta_data"])
    if creating or "line_items" in fields or "shipping_lines" in fields:
        _lines(store, order, fields)
    if fields.get("status"):
        set_status(store, order, str(fields["status"]))
    if to_boolean(fields.get("set_paid", False)) and order["status"] in ("pending", "failed"):
        set_status(store, order, "processing")


def set_status(store: Store, order: dict[str, Any], status: str) -> None:
    """``WC_Order::set_status``: an unknown status becomes ``pending``; paid ones stamp dates."""
    status = status.removeprefix("wc-")
    if status not in STATUSES and status != "trash":
        status = "pending"
    order["status"] = status
    local, gmt = wp_dates(store.clock(), store.zone)
    if status in PAID and order["date_paid_gmt"] is None:
        order["date_paid"], order["date_paid_gmt"] = local, gmt
    if status == "completed":
        order["date_completed"], order["date_completed_gmt"] = local, gmt
    order["needs_payment"] = status in ("pending", "failed")
    order["is_editable"] = status in ("pending", "on-hold", "auto-draft", "checkout-draft")


def _lines(store: Store, order: dict[str, Any], fields: dict[str, Any]) -> None:
    for given in fields.get("line_items") or []:
        order["line_items"].append(_line(store, given))
    for given in fields.get("shipping_lines") or []:
        total = Decimal(str(given.get("total") or "0"))
        order["shipping_lines"].append(
            {
                "id": store.next_item_id(),
                "method_title": str(given.get("method_title", "")),
                "method_id": str(given.get("method_id", "")),
                "instance_id": "",
                "total": store.money(total),
                "total_tax": store.money(total * store.vat_rate / 100),
                "taxes": [],
                "meta_data": [],
            }
        )
    _totals(store, order)


def _line(store: Store, given: dict[str, Any]) -> dict[str, Any]:
    product = _product_for(store, given)
    quantity = int(given.get("quantity") or 1)
    price = given.get("price")
    unit = Decimal(str(price if price is not None else (product or {}).get("price") or "0"))
    subtotal = unit * quantity
    tax = subtotal * store.vat_rate / 100
    return {
        "id": store.next_item_id(),
        "name": str(given.get("name") or (product or {}).get("name") or ""),
        "product_id": product["id"] if product else 0,
        "variation_id": 0,
        "quantity": quantity,
        "tax_class": "",
        "subtotal": store.money(subtotal),
        "subtotal_tax": store.money(tax),
        "total": store.money(subtotal),
        "total_tax": store.money(tax),
        "taxes": [{"id": 1, "total": store.money(tax), "subtotal": store.money(tax)}],
        "meta_data": [],
        "sku": (product or {}).get("sku") or str(given.get("sku") or ""),
        "price": float(unit),  # a JSON number, as WooCommerce sends it
        "image": {"id": "", "src": ""},
        "parent_name": None,
    }


def _product_for(store: Store, given: dict[str, Any]) -> dict[str, Any] | None:
    products = store.records["product"]
    if given.get("product_id"):
        product = products.get(int(given["product_id"]))
        if product is None:
            raise RestError(
                400, "woocommerce_rest_invalid_product_id", "Product ID provided is invalid."
            )
        return product
    sku = given.get("sku")
    return next((p for p in products.values() if sku and p["sku"] == sku), None)


def _totals(store: Store, order: dict[str, Any]) -> None:
    cart = sum((Decimal(i["total"]) for i in order["line_items"]), Decimal(0))
    cart_tax = sum((Decimal(i["total_tax"]) for i in order["line_items"]), Decimal(0))
    ship = sum((Decimal(s["total"]) for s in order["shipping_lines"]), Decimal(0))
    ship_tax = sum((Decimal(s["total_tax"]) for s in order["shipping_lines"]), Decimal(0))
    order["cart_tax"] = store.money(cart_tax)
    order["shipping_total"] = store.money(ship)
    order["shipping_tax"] = store.money(ship_tax)
    order["total_tax"] = store.money(cart_tax + ship_tax)
    order["total"] = store.money(cart + cart_tax + ship + ship_tax)
    order["tax_lines"] = [
        {
            "id": store.next_item_id(),
            "rate_code": "RO-TVA-1",
            "rate_id": 1,
            "label": "TVA",
            "compound": False,
            "tax_total": order["cart_tax"],
            "shipping_tax_total": order["shipping_tax"],
            "rate_percent": float(store.vat_rate),
            "meta_data": [],
        }
    ]
