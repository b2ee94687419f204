"""Lists in the simulator: WordPress's collection parameters, filters, order and paging headers.

As ``WC_REST_CRUD_Controller::get_items`` answers: ``X-WP-Total`` (items matching),
``X-WP-TotalPages`` (``ceil(total / per_page)``), and ``Link`` headers ``rel="prev"`` /
``rel="next"`` only (one header each), built from the request's own query with ``page``
replaced; a page past the end is an empty list with the same totals. ``modified_after`` and
``after`` compare strictly, to the second, with the GMT column when ``dates_are_gmt`` is true
and the site-local one otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from connectors.woocommerce.sim_orders import STATUSES
from connectors.woocommerce.sim_store import Store
from connectors.woocommerce.sim_wp import (
    collection_schema,
    pages,
    parse_date,
    to_boolean,
    validate,
    wp_list,
)

ORDERBY = {
    "product": ("date", "id", "include", "title", "slug", "price", "popularity", "rating"),
    "order": ("date", "id", "include", "title", "slug"),
    "customer": ("id", "include", "name", "registered_date"),
}
ROLES = ("all", "administrator", "editor", "author", "contributor", "subscriber", "customer")


@dataclass(frozen=True)
class Listing:
    items: list[dict[str, Any]]
    total: int
    total_pages: int
    page: int


def schema(store: Store, kind: str) -> dict[str, dict[str, Any]]:
    """The query parameters ``kind``'s list checks (others are ignored, as WordPress does)."""
    args = collection_schema(ORDERBY[kind], "asc" if kind == "customer" else "desc")
    args["include"] = {"type": "array"}
    args["exclude"] = {"type": "array"}
    if kind == "product":
        args["status"] = {
            "type": "string",
            "enum": ("any", "future", "trash", "draft", "pending", "private", "publish"),
        }
        args["sku"] = {"type": "string"}
        args["stock_status"] = {"type": "string", "enum": ("instock", "outofstock", "onbackorder")}
    elif kind == "order":
        args["status"] = {"type": "array", "enum": ("any", "trash", *STATUSES)}
        args["customer"] = {"type": "integer"}
    else:
        for name in ("after", "before", "modified_after", "modified_before", "dates_are_gmt"):
            del args[name]
        roles = {c["role"] for c in store.records["customer"].values()}
        args["role"] = {"type": "string", "enum": (*ROLES, *sorted(roles - set(ROLES)))}
        args["email"] = {"type": "string"}
    return args


def run(store: Store, kind: str, query: Mapping[str, str]) -> Listing:
    """The page of ``kind``'s records ``query`` asks for (``RestError`` for bad parameters)."""
    given: dict[str, Any] = dict(query)
    for name in ("include", "exclude", "status"):
        if name in given and (name != "status" or kind == "order"):
            given[name] = wp_list(given[name])
    args = validate(given, schema(store, kind))
    per_page = int(args.get("per_page", 10))
    page = int(args.get("page", 1))
    matching = [r for r in store.records[kind].values() if _matches(store, kind, r, args)]
    matching.sort(
        key=_sort_key(store, kind, args), reverse=args.get("order", _order(kind)) == "desc"
    )
    start = int(args["offset"]) if "offset" in args else (page - 1) * per_page
    chosen = matching[start : start + per_page] if start >= 0 else []
    return Listing([dict(r) for r in chosen], len(matching), pages(len(matching), per_page), page)


def link_headers(url: str, query: Mapping[str, str], listing: Listing) -> list[str]:
    """``Link`` headers ``prev`` then ``next``, as ``get_items`` adds them."""
    links = []
    if listing.page > 1:
        previous = min(listing.page - 1, listing.total_pages)
        links.append(f'<{url}?{urlencode({**query, "page": previous})}>; rel="prev"')
    if listing.total_pages > listing.page:
        links.append(f'<{url}?{urlencode({**query, "page": listing.page + 1})}>; rel="next"')
    return links


def _order(kind: str) -> str:
    return "asc" if kind == "customer" else "desc"


def _matches(store: Store, kind: str, record: dict[str, Any], args: dict[str, Any]) -> bool:
    if "include" in args and str(record["id"]) not in args["include"]:
        return False
    if "exclude" in args and str(record["id"]) in args["exclude"]:
        return False
    if kind == "customer":
        role = args.get("role", "customer")
        if role != "all" and record["role"] != role:
            return False
        return "email" not in args or record["email"] == args["email"]
    if not _dates_match(store, record, args):
        return False
    search = str(args.get("search") or "").lower()
    if search and search not in str(record.get("name", record.get("number", ""))).lower():
        return False
    if kind == "product":
        return _product_matches(record, args)
    statuses = args.get("status") or ["any"]
    in_status = record["status"] in statuses or ("any" in statuses and record["status"] != "trash")
    customer = args.get("customer")
    return in_status and (customer is None or record["customer_id"] == customer)


def _product_matches(record: dict[str, Any], args: dict[str, Any]) -> bool:
    status = args.get("status", "any")
    if status == "any" and record["status"] == "trash":
        return False
    if status != "any" and record["status"] != status:
        return False
    if "sku" in args and record["sku"] not in wp_list(args["sku"]):
        return False
    return "stock_status" not in args or record["stock_status"] == args["stock_status"]


def _dates_match(store: Store, record: dict[str, Any], args: dict[str, Any]) -> bool:
    gmt = to_boolean(args.get("dates_are_gmt", False))
    zone = UTC if gmt else store.zone
    for name, column, after in (
        ("after", "date_created", True),
        ("before", "date_created", False),
        ("modified_after", "date_modified", True),
        ("modified_before", "date_modified", False),
    ):
        if name not in args:
            continue
        bound = parse_date(str(args[name]), zone)
        value = parse_date(record[column + "_gmt"], UTC)
        assert bound is not None and value is not None
        if (after and not value > bound) or (not after and not value < bound):
            return False
    return True


def _sort_key(store: Store, kind: str, args: dict[str, Any]) -> Any:
    orderby = args.get("orderby", "name" if kind == "customer" else "date")
    include = list(args.get("include") or [])

    def key(record: dict[str, Any]) -> Any:
        if orderby == "include" and str(record["id"]) in include:
            return (include.index(str(record["id"])), record["id"])
        if orderby in ("date", "registered_date"):
            return (record["date_created_gmt"], record["id"])
        if orderby in ("title", "name"):
            return (str(record.get("name") or record.get("username") or ""), record["id"])
        if orderby == "slug":
            return (str(record.get("slug", "")), record["id"])
        if orderby == "price":
            return (_price(record), record["id"])
        return (record["id"],)

    return key


def _price(record: dict[str, Any]) -> Decimal:
    try:
        return Decimal(str(record.get("price") or 0))
    except InvalidOperation:
        return Decimal(0)


def parse_moment(text: str) -> datetime | None:
    return parse_date(text, UTC)
