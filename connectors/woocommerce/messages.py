"""Messages of the WooCommerce connector: the webhook intake's, and the connector actor's
commands and events (docs/WOOCOMMERCE.md, "The connector actor").

Money is ``Decimal`` RON (net of VAT unless a field says gross), times timezone-aware UTC.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from hub.messages import Command, Event


class WebhookReceived(
    Event, tag="woocommerce.WebhookReceived", frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """WooCommerce delivered a verified webhook: a resource created, updated, deleted, restored.

    ``payload`` is the body as sent: for API v3 the resource exactly as
    ``GET /wc/v3/<resource>s/<id>`` returns it, ``{"id": N}`` for ``deleted``, and
    ``{"action", "arg"}`` for ``action.*`` topics.
    """

    topic: str  # "order.created"
    resource: str  # "order"
    event: str  # "created"
    resource_id: int | None  # None for action.* topics
    delivery_id: str | None  # X-WC-Webhook-Delivery-ID: not unique (see connectors/woocommerce)
    webhook_id: str | None  # X-WC-Webhook-ID: the webhook's post id in the store
    payload: msgspec.Raw


# --- commands -----------------------------------------------------------------------------------


class ReconcileOrders(
    Command,
    tag="woocommerce.ReconcileOrders",
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
):
    """List the shop's orders changed after ``modified_after`` (default: the poll's cursor minus
    its overlap) and take each in as if its webhook had come; repeats change nothing."""

    modified_after: datetime | None = None


class PushProducts(
    Command, tag="woocommerce.PushProducts", frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """Push now the hub-owned product fields the shop does not hold yet (prices, stock)."""


class RetryOrder(
    Command, tag="woocommerce.RetryOrder", frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """Take a parked or rejected shop order in again (its SKU now exists, its data was fixed);
    ``accept_totals`` places it although its totals differ from the hub's pricing."""

    shop_order_id: int
    accept_totals: bool = False


# --- the actor's own (timers, poll results) ------------------------------------------------------


class PollOrders(
    Command, tag="woocommerce.PollOrders", frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """Internal timer: the periodic reconcile poll (it schedules the next one)."""


class PushOrderStatus(
    Command,
    tag="woocommerce.PushOrderStatus",
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
):
    """Internal timer: push a shop order's wanted status again after the shop failed to take it
    (``attempt``: the try this is, for the backoff and the logs)."""

    shop_order_id: int
    attempt: int = 2


class OrderFetched(
    Command, tag="woocommerce.OrderFetched", frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """Internal: an order the reconcile poll listed, taken in as its webhook would be.

    ``payload`` is the order as the client read it (msgspec JSON of ``resources.Order``).
    """

    shop_order_id: int
    payload: msgspec.Raw


# --- events -------------------------------------------------------------------------------------


class OrderParked(
    Event, tag="woocommerce.OrderParked", frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """A shop order was not placed in the hub and waits for a person: ``reason`` says why,
    ``skus`` names the lines at fault (unknown SKU, no SKU)."""

    shop_order_id: int
    order_id: str
    number: str
    reason: str
    skus: tuple[str, ...] = ()


class LineMismatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One SKU whose net line total differs between the shop and the hub (``None``: absent)."""

    sku: str
    shop_net: Decimal | None
    hub_net: Decimal | None


class OrderTotalsMismatch(
    Event,
    tag="woocommerce.OrderTotalsMismatch",
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
):
    """A shop order's totals (its lines) differ from the hub's pricing by more than 0.01 RON.

    ``placed``: the order was placed anyway (setting ``totals_mismatch = "place"``); else it is
    parked. Shipping and fees are not part of either figure (hub orders carry product lines).
    """

    shop_order_id: int
    order_id: str
    number: str
    shop_net: Decimal
    shop_gross: Decimal
    hub_net: Decimal
    hub_gross: Decimal
    lines: tuple[LineMismatch, ...]
    placed: bool


class ShopOrderCancelled(
    Event,
    tag="woocommerce.ShopOrderCancelled",
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
):
    """The shop cancelled (or failed) an order the hub had confirmed already: the hub did not
    cancel it (an invoice may exist, stock may have left); staff decide about ``order_id``."""

    shop_order_id: int
    order_id: str
    number: str
    status: str
    at: datetime


WooCommerceMessage = (
    WebhookReceived
    | ReconcileOrders
    | PushProducts
    | RetryOrder
    | PollOrders
    | PushOrderStatus
    | OrderFetched
    | OrderParked
    | OrderTotalsMismatch
    | ShopOrderCancelled
)
