"""OpenAPI 3.1 of the declared routes, generated from the msgspec types the edge decodes with."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import msgspec

from hub import __version__
from hub.edge.api import ErrorBody, FieldError, Route

_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")
_ERRORS = {
    "400": "The request is malformed or invalid (details name the fields)",
    "401": "Not authenticated, or the token is expired or invalid",
    "403": "Authenticated, but without a role this operation admits",
    "404": "No such object (or not yours)",
    "413": "The body is too large",
    "415": "The body is not of a media type this operation reads",
    "422": "A business rule refused the request",
    "429": "Too many requests; see Retry-After",
    "500": "Something failed on the hub's side",
}


def openapi_path(path: str) -> str:
    """aiohttp's ``{id:\\d+}`` as OpenAPI's ``{id}``."""
    return _PARAM.sub(lambda m: "{" + m.group(1) + "}", path)


def build_openapi(routes: Iterable[Route], *, title: str = "Cypher Hub API") -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes``."""
    routes = list(routes)
    types: list[Any] = [ErrorBody, FieldError]
    for route in routes:
        types += [t for t in (route.body, route.query, route.response) if t is not None]
    unique = list(dict.fromkeys(types))
    refs, components = msgspec.json.schema_components(
        unique, ref_template="#/components/schemas/{name}"
    )
    ref_of = dict(zip(unique, refs, strict=True))
    components["Metadata"] = {
        "type": "object",
        "description": "Paging and request information",
        "properties": {
            "next_cursor": {"type": ["string", "null"]},
            "count": {"type": "integer"},
            "request_id": {"type": "string"},
        },
    }
    components["ErrorEnvelope"] = {
        "type": "object",
        "required": ["success", "data", "error", "metadata"],
        "properties": {
            "success": {"const": False},
            "data": {"type": "null"},
            "error": ref_of[ErrorBody],
            "metadata": {"$ref": "#/components/schemas/Metadata"},
        },
    }
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(openapi_path(route.path), {})[route.method.lower()] = _operation(
            route, ref_of, components
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": __version__,
            "description": "Back office of Ledux.ro. Every response is the envelope "
            "{success, data, error, metadata}; errors carry a stable code and a message.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }


def _operation(
    route: Route, ref_of: dict[Any, dict[str, Any]], components: dict[str, Any]
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.name,
        "summary": route.summary,
        "tags": list(route.tags),
        "x-roles": ["public"] if route.public else sorted(route.roles),  # type: ignore[arg-type]
    }
    if route.description:
        op["description"] = route.description
    op["security"] = [] if route.public else [{"bearer": []}, {"apiKey": []}]
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PARAM.findall(route.path)
    ]
    if route.query is not None:
        schema = _resolve(ref_of[route.query], components)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            params.append(
                {"name": name, "in": "query", "required": name in required, "schema": prop}
            )
    if params:
        op["parameters"] = params
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref_of[route.body]}},
        }
    elif route.request_types:
        op["requestBody"] = {
            "required": True,
            "content": {media: {"schema": _raw_schema(media)} for media in route.request_types},
        }
    if route.raw:
        content = {media: {"schema": _raw_schema(media)} for media in route.response_types}
        responses: dict[str, Any] = {
            str(route.status): {"description": route.summary, "content": content}
        }
        op["responses"] = {**responses, **_error_responses(route)}
        return op
    data = ref_of[route.response] if route.response is not None else {"type": "null"}
    responses = {
        str(route.status): {
            "description": route.summary,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["success", "data", "error", "metadata"],
                        "properties": {
                            "success": {"const": True},
                            "data": data,
                            "error": {"type": "null"},
                            "metadata": {"$ref": "#/components/schemas/Metadata"},
                        },
                    }
                }
            },
        }
    }
    op["responses"] = {**responses, **_error_responses(route)}
    return op


def _error_responses(route: Route) -> dict[str, Any]:
    wanted = {"400", "429", "500"}
    if not route.public:
        wanted |= {"401", "403"}
    if _PARAM.search(route.path):
        wanted.add("404")
    if route.body is not None or route.request_types:
        wanted |= {"413", "415"}
    wanted |= {str(status) for status in route.errors}
    if route.changes_state:
        wanted.add("422")
    envelope = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
    return {code: {"description": _ERRORS[code], "content": envelope} for code in sorted(wanted)}


def _raw_schema(media_type: str) -> dict[str, Any]:
    """What a body the handler reads or writes itself is documented as: JSON or text."""
    return {"type": "object"} if media_type == "application/json" else {"type": "string"}


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    resolved: dict[str, Any] = components[ref.rsplit("/", 1)[1]]
    return resolved
