"""The simulator's data: products, orders and customers kept as WooCommerce shows them.

Each record is the JSON object ``GET /wc/v3/<kind>s/<id>`` returns. Every save moves
``date_modified(_gmt)`` to the clock's second, changed or not (WooCommerce's data stores do
the same), and returns the events it fires (``product.updated``...). Single requests are
checked against the schema first (``strict``); batch items are not (WooCommerce calls its
handlers directly for them), so a batch item gets the item-level checks only: an unknown id,
a duplicated SKU; an unknown order status quietly becomes ``pending`` (``WC_Order::set_status``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from connectors.woocommerce import sim_orders as orders
from connectors.woocommerce import sim_products as products
from connectors.woocommerce.sim_wp import (
    RestError,
    validate,
    wp_dates,
)

SITE_ZONE = ZoneInfo("Europe/Bucharest")
KINDS = ("product", "order", "customer")
Event = tuple[str, str, int]  # (kind, "created" | "updated" | "deleted", id)

CUSTOMER_ARGS: dict[str, dict[str, Any]] = {
    "email": {"type": "string"},
    "first_name": {"type": "string"},
    "last_name": {"type": "string"},
    "username": {"type": "string"},
    "password": {"type": "string"},
    "billing": {"type": "object"},
    "shipping": {"type": "object"},
    "meta_data": {"type": "array"},
}
ARGS = {"product": products.ARGS, "order": orders.ARGS, "customer": CUSTOMER_ARGS}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Store:
    """The records of one simulated shop (see the module docstring)."""

    store_url: str = "https://ledux.ro"
    zone: tzinfo = SITE_ZONE
    decimal_separator: str = ","  # the shop's price decimal separator (RON: ",")
    vat_rate: Decimal = Decimal(21)
    clock: Callable[[], datetime] = _now
    records: dict[str, dict[int, dict[str, Any]]] = field(
        default_factory=lambda: {kind: {} for kind in KINDS}
    )
    _post_id: int = 100  # products and orders share WordPress's post ids
    _user_id: int = 1  # 1 is the shop's administrator
    _meta_id: int = 1000
    _item_id: int = 1

    # --- reading ----------------------------------------------------------------------------

    def get(self, kind: str, ident: int, *, status: int = 404) -> dict[str, Any]:
        """The record, or WooCommerce's invalid-id error (404 on reads, 400 on updates)."""
        record = self.records[kind].get(ident)
        if record is None:
            raise invalid_id(kind, status)
        return record

    def view(self, kind: str, ident: int) -> dict[str, Any]:
        return copy.deepcopy(self.get(kind, ident))

    # --- writing ----------------------------------------------------------------------------

    def create(
        self, kind: str, fields: dict[str, Any], *, strict: bool, via: str = "rest-api"
    ) -> tuple[dict[str, Any], list[Event]]:
        """A new record from ``fields``; ``strict``: checked as a single request is."""
        if strict:
            fields = validate(fields, ARGS[kind])
        if fields.get("id"):
            raise RestError(
                400,
                f"woocommerce_rest_{_post_type(kind)}_exists",
                f"Cannot create existing {kind}.",
            )
        now = self.clock()
        if kind == "customer":
            record = self._new_customer(fields, now)
        elif kind == "order":
            record = orders.blank(self._next_post(), now, via)
            orders.apply(self, record, fields, creating=True)
        else:
            record = products.blank(self._next_post(), self.store_url)
            record["_links"] = self.links("products", record["id"])
            products.apply(self, record, fields)
        self.stamp(record, now, created=True)
        self.records[kind][record["id"]] = record
        return copy.deepcopy(record), [(kind, "created", record["id"])]

    def update(
        self, kind: str, ident: int, fields: dict[str, Any], *, strict: bool
    ) -> tuple[dict[str, Any], list[Event]]:
        """Apply ``fields`` to the record and save it (``date_modified`` moves in any case)."""
        record = self.get(kind, ident, status=400)
        if strict:
            fields = validate(fields, ARGS[kind])
        staged = copy.deepcopy(record)
        if kind == "product":
            products.apply(self, staged, fields)
        elif kind == "order":
            orders.apply(self, staged, fields, creating=False)
        else:
            self._apply_customer(staged, fields)
        self.stamp(staged, self.clock())
        record.clear()
        record.update(staged)
        return copy.deepcopy(record), [(kind, "updated", ident)]

    def delete(self, kind: str, ident: int, *, force: bool) -> tuple[dict[str, Any], list[Event]]:
        """Trash (no ``force``) or delete. Only trashing fires ``deleted`` (WooCommerce hooks
        ``wp_trash_post``); a customer cannot be trashed."""
        record = self.records[kind].get(ident)
        if record is None:
            raise invalid_id(kind, 404)
        if kind == "customer":
            if not force:
                raise RestError(
                    501,
                    "woocommerce_rest_trash_not_supported",
                    "Customers do not support trashing.",
                )
            del self.records[kind][ident]
            return copy.deepcopy(record), [(kind, "deleted", ident)]
        if force:
            del self.records[kind][ident]
            return copy.deepcopy(record), []
        if record.get("status") == "trash":
            raise RestError(
                410, "woocommerce_rest_already_trashed", f"The {kind} has already been deleted."
            )
        record["status"] = "trash"
        self.stamp(record, self.clock())
        return copy.deepcopy(record), [(kind, "deleted", ident)]

    # --- customers --------------------------------------------------------------------------

    def _new_customer(self, fields: dict[str, Any], now: datetime) -> dict[str, Any]:
        email = str(fields.get("email") or "").strip()
        if "@" not in email:
            raise RestError(
                400, "registration-error-invalid-email", "Please provide a valid email address."
            )
        if any(c["email"] == email for c in self.records["customer"].values()):
            raise RestError(
                400,
                "registration-error-email-exists",
                "An account is already registered with your email address. "
                '<a href="#" class="showlogin">Please log in.</a>',
            )
        self._user_id += 1
        ident = self._user_id
        customer: dict[str, Any] = {
            "id": ident,
            "date_created": None,
            "date_created_gmt": None,
            "date_modified": None,
            "date_modified_gmt": None,
            "email": email,
            "first_name": "",
            "last_name": "",
            "role": str(fields.get("role") or "customer"),
            "username": str(fields.get("username") or email.split("@")[0]),
            "billing": orders.address(billing=True),
            "shipping": orders.address(billing=False),
            "is_paying_customer": False,
            "avatar_url": "https://secure.gravatar.com/avatar/?s=96&d=mm&r=g",
            "meta_data": [],
            "_links": self.links("customers", ident),
        }
        self._apply_customer(customer, fields)
        return customer

    def _apply_customer(self, customer: dict[str, Any], fields: dict[str, Any]) -> None:
        for key in ("first_name", "last_name", "email"):
            if key in fields:
                customer[key] = str(fields[key] or "")
        for key in ("billing", "shipping"):
            if isinstance(fields.get(key), dict):
                orders.merge_address(customer[key], fields[key])
        if "meta_data" in fields:
            self.merge_meta(customer, fields["meta_data"])

    # --- shared -----------------------------------------------------------------------------

    def merge_meta(self, record: dict[str, Any], entries: Any) -> None:
        """Meta entries by ``id`` or by ``key`` (updated in place), else added."""
        if not isinstance(entries, list):
            return
        for entry in entries:
            if not isinstance(entry, dict) or "key" not in entry:
                continue
            existing = next(
                (
                    m
                    for m in record["meta_data"]
                    if (entry.get("id") and m["id"] == entry["id"]) or m["key"] == entry["key"]
                ),
                None,
            )
            if existing is not None:
                existing["value"] = entry.get("value", "")
            else:
                self._meta_id += 1
                record["meta_data"].append(
                    {"id": self._meta_id, "key": entry["key"], "value": entry.get("value", "")}
                )

    def next_item_id(self) -> int:
        self._item_id += 1
        return self._item_id

    def _next_post(self) -> int:
        self._post_id += 1
        return self._post_id

    def stamp(self, record: dict[str, Any], moment: datetime, *, created: bool = False) -> None:
        local, gmt = wp_dates(moment, self.zone)
        if created:
            record["date_created"], record["date_created_gmt"] = local, gmt
        record["date_modified"], record["date_modified_gmt"] = local, gmt

    def links(self, base: str, ident: int) -> dict[str, Any]:
        root = f"{self.store_url}/wp-json/wc/v3/{base}"
        return {"self": [{"href": f"{root}/{ident}"}], "collection": [{"href": root}]}

    def money(self, value: Decimal) -> str:
        return str(value.quantize(Decimal("0.01"), ROUND_HALF_UP))


def _post_type(kind: str) -> str:
    return {"product": "product", "order": "shop_order", "customer": "customer"}[kind]


def invalid_id(kind: str, status: int) -> RestError:
    """WooCommerce's unknown-id error for ``kind`` (404 on reads and deletes, 400 on updates)."""
    if kind == "customer":
        return RestError(status, "woocommerce_rest_invalid_id", "Invalid resource ID.")
    return RestError(status, f"woocommerce_rest_{_post_type(kind)}_invalid_id", "Invalid ID.")
