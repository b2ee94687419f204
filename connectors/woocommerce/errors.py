"""WooCommerce's refusals as typed errors.

WordPress answers an error with ``{"code", "message", "data": {"status", ...}}``; a batch answer
carries the same object under ``error`` for each item that failed. :func:`error_for` maps both
onto one small tree (docs/WOOCOMMERCE.md, "Errors"):

- :class:`Unauthorized` (401/403): wrong or revoked key, or a key without write permission.
- :class:`UnknownResource` (``*_invalid_id``: 404 on reads, 400 on updates; 404 otherwise).
- :class:`DuplicateSku` (``product_invalid_sku``): another product holds the SKU.
- :class:`InvalidRequest` (other 4xx: ``rest_invalid_param``, ``rest_invalid_json``...).
- :class:`TooLarge` (413 ``woocommerce_rest_request_entity_too_large``): batch over the limit.

All of them are :class:`~hub.errors.PermanentError`: the same request cannot succeed. 429 and
5xx never get here: ``hub.http.Outbound`` raises ``PartnerUnavailable`` (a ``TransientError``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from hub.errors import PermanentError, TransientError
from hub.http import HttpResult


class WooCommerceError(PermanentError):
    """WooCommerce refused the request (4xx other than 429)."""

    def __init__(self, status: int, code: str, message: str, data: Any = None) -> None:
        super().__init__(f"WooCommerce refused (HTTP {status}, {code}): {message}")
        self.status = status
        self.code = code
        self.message = message
        self.data = data


class Unauthorized(WooCommerceError):
    """401/403: the key is unknown or revoked, the secret wrong, or the key may not write."""


class UnknownResource(WooCommerceError):
    """No such product/order/customer (``woocommerce_rest_<type>_invalid_id``), or no route."""


class InvalidRequest(WooCommerceError):
    """The request broke a rule: ``data.params`` names the parameters (``rest_invalid_param``)."""


class DuplicateSku(InvalidRequest):
    """``product_invalid_sku``: the SKU is empty-invalid or another product holds it."""


class TooLarge(WooCommerceError):
    """413: more items in one batch than the store's limit (100 by default)."""


class UnreadableAnswer(TransientError):
    """A 2xx answer that is not the JSON promised (a cache's HTML page, a cut body)."""


class _ErrorBody(msgspec.Struct):
    code: str = ""
    message: str = ""
    data: Any = None


_decode_error = msgspec.json.Decoder(_ErrorBody).decode


def error_for(status: int, code: str, message: str, data: Any = None) -> WooCommerceError:
    """The typed error of one WordPress error object."""
    kind: type[WooCommerceError]
    if status in (401, 403):
        kind = Unauthorized
    elif code.endswith("_invalid_id") or status == 404:
        kind = UnknownResource
    elif code in ("product_invalid_sku", "woocommerce_rest_product_sku_already_exists"):
        kind = DuplicateSku
    elif status == 413:
        kind = TooLarge
    else:
        kind = InvalidRequest
    return kind(status, code, message, data)


def refusal(result: HttpResult) -> WooCommerceError:
    """The typed error of a 4xx answer (its WordPress error body, or the raw text)."""
    try:
        body = _decode_error(result.body)
    except msgspec.DecodeError:
        text = result.body[:200].decode("utf-8", "replace")
        return error_for(result.status, f"http_{result.status}", text)
    return error_for(result.status, body.code, body.message, body.data)


def status_of(data: Any, default: int = 400) -> int:
    """``data.status`` of an error object (WordPress puts the HTTP status there)."""
    if isinstance(data, dict) and isinstance(data.get("status"), int):
        status: int = data["status"]
        return status
    return default
