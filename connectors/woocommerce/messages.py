"""Messages of the WooCommerce connector."""

from __future__ import annotations

import msgspec

from hub.messages import Event


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


WooCommerceMessage = WebhookReceived
