"""AsyncAPI 3.0 of every registered message, from the msgspec types the actors decode with."""

from __future__ import annotations

from typing import Any

import msgspec

from hub import __version__
from hub.messages import Envelope, registry


def build_asyncapi(*, exchange: str = "<prefix>.messages") -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every registered message type on the topic exchange."""
    types = [cls for _, cls in registry]
    refs, components = msgspec.json.schema_components(
        [*types, Envelope], ref_template="#/components/schemas/{name}"
    )
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for (tag, cls), ref in zip(registry, refs, strict=False):
        key = tag.replace(".", "_")
        doc = (cls.__doc__ or "").strip()
        messages[key] = {
            "name": tag,
            "title": tag,
            "summary": doc.splitlines()[0] if doc else tag,
            "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/AmqpHeaders"},
            "payload": ref,
            "correlationId": {"location": "$message.header#/correlation_id"},
            "bindings": {"amqp": {"messageType": tag}},
        }
        channels[key] = {
            "address": tag,
            "description": f"{cls.kind.capitalize()} {tag}: routing key on {exchange}",
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": {"name": exchange, "type": "topic", "durable": True},
                }
            },
        }
        operations[f"publish_{key}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"Publish a {tag} (with publisher confirms)",
            "bindings": {"amqp": {"deliveryMode": 2, "timestamp": True}},
        }
    components["AmqpHeaders"] = {
        "type": "object",
        "description": "Envelope fields carried as AMQP properties (message_id, type, "
        "correlation_id, timestamp) and headers (below)",
        "properties": {
            "x-causation-id": {"type": "string"},
            "x-key": {"type": "string", "description": "entity whose order of events matters"},
            "x-occurred-at": {"type": "string", "format": "date-time"},
            "x-attempt": {"type": "integer", "minimum": 1},
            "x-actor": {"type": "string", "description": "who the flow acts for"},
        },
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Cypher Hub messages",
            "version": __version__,
            "description": "Every message type on the hub's topic exchange. Bodies are msgspec "
            "JSON; money is a decimal string; times are ISO 8601 with offset.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": components, "messages": messages},
    }
