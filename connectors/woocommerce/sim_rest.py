"""The REST layer of the simulator: routes, credentials, bodies, WP_Error answers, batches.

What ``WP_REST_Server`` and ``WC_REST_Controller`` do around the stores: match a route (else
404 ``rest_no_route``), read the JSON body (400 ``rest_invalid_json``), answer with
``wp_json_encode``'s JSON and WordPress's headers, and run ``batch_items`` (the limit checked
first, 413; then each item on its own, an ``{"id", "error"}`` object in place of each refused).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from connectors.woocommerce.sim_store import Event, Store
from connectors.woocommerce.sim_wp import RestError, php_json

API = "/wp-json/wc/v3"
KINDS = {"products": "product", "orders": "order", "customers": "customer"}
ROUTE = re.compile(r"^/(products|orders|customers)(?:/(\d+|batch))?/?$")
FATAL = (
    "<p>There has been a critical error on this website.</p>"
    '<p><a href="https://wordpress.org/documentation/article/faq-troubleshooting/">'
    "Learn more about troubleshooting WordPress.</a></p>"
)
CANNOT = {
    "list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "read": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "create": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "update": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "delete": (
        "woocommerce_rest_cannot_delete",
        "Sorry, you are not allowed to delete this resource.",
    ),
    "batch": (
        "woocommerce_rest_cannot_batch",
        "Sorry, you are not allowed to batch manipulate this resource.",
    ),
}


def batch_items(
    store: Store, kind: str, body: dict[str, Any], limit: int, events: list[Event]
) -> dict[str, Any]:
    """``WC_REST_Controller::batch_items``: the limit first, then each item on its own
    (deletes with ``force``), an error object in place of each item refused."""
    lists = {a: _as_list(body.get(a)) for a in ("create", "update", "delete")}
    if sum(len(v) for v in lists.values()) > limit:
        raise RestError(
            413,
            "woocommerce_rest_request_entity_too_large",
            f"Unable to accept more than {limit} items for this request.",
        )
    answer: dict[str, list[Any]] = {}
    for item in lists["create"]:
        entry = _attempt(events, 0, store.create, kind, _obj(item), strict=False)
        answer.setdefault("create", []).append(entry)
    for item in lists["update"]:
        ident = _int(_obj(item).get("id"))
        entry = _attempt(events, ident, store.update, kind, ident or 0, _obj(item), strict=False)
        answer.setdefault("update", []).append(entry)
    for raw in lists["delete"]:
        ident = _int(raw) or 0
        if ident:
            entry = _attempt(events, ident, store.delete, kind, ident, force=True)
            answer.setdefault("delete", []).append(entry)
    return answer


def _attempt(events: list[Event], ident: int | None, work: Any, *args: Any, **kw: Any) -> Any:
    """One batch item: the record, or ``{"id", "error"}`` when WooCommerce refuses it."""
    try:
        record, fired = work(*args, **kw)
    except RestError as exc:
        return {
            "id": ident,
            "error": {"code": exc.code, "message": exc.message, "data": exc.data()},
        }
    events.extend(fired)
    return record


def action_of(method: str, target: str | None) -> str | None:
    if target is None:
        return {"GET": "list", "POST": "create"}.get(method)
    if target == "batch":
        return "batch" if method in ("POST", "PUT", "PATCH") else None
    return {
        "GET": "read",
        "POST": "update",
        "PUT": "update",
        "PATCH": "update",
        "DELETE": "delete",
    }.get(method)


async def read_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise RestError(
            400,
            "rest_invalid_json",
            "Invalid JSON body passed.",
            json_error_code=4,
            json_error_message="Syntax error",
        ) from None
    return data if isinstance(data, dict) else {}


def basic_credentials(header: str) -> tuple[str, str]:
    if not header.lower().startswith("basic "):
        return "", ""
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    key, _, secret = decoded.partition(":")
    return key, secret


def respond(data: Any, status: int, headers: Any = None) -> web.Response:
    out = CIMultiDict[str](headers or {})
    out.setdefault("X-Robots-Tag", "noindex")
    out.setdefault("X-Content-Type-Options", "nosniff")
    out.setdefault("Access-Control-Expose-Headers", "X-WP-Total, X-WP-TotalPages, Link")
    return web.Response(
        body=php_json(data),
        status=status,
        headers=out,
        content_type="application/json",
        charset="UTF-8",
    )


def error_response(exc: RestError) -> web.Response:
    response = respond(exc.body(), exc.status)
    if exc.code == "woocommerce_rest_authentication_error":
        response.headers["WWW-Authenticate"] = (
            'Basic realm="WooCommerce API. Use a consumer key in the username field and '
            'a consumer secret in the password field."'
        )
    return response


def api_link(origin: str) -> str:
    return f'<{origin}/wp-json/>; rel="https://api.w.org/"'


def fatal(status: int) -> web.Response:
    """WordPress's answer to a PHP fatal error during a REST request."""
    body = {
        "code": "internal_server_error",
        "message": FATAL,
        "data": {"status": status},
        "additional_errors": [],
    }
    return respond(body, status)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else ([] if value is None else [value])


def _obj(item: Any) -> dict[str, Any]:
    return item if isinstance(item, dict) else {}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
