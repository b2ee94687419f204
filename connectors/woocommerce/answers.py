"""Reading the store's answers: JSON of the promised shape, typed resources, paging headers.

WordPress pages lists with ``X-WP-Total`` (items), ``X-WP-TotalPages`` and one ``Link``
header holding ``<url>; rel="prev"`` and ``<url>; rel="next"`` (comma-joined; some proxies
split it into several headers). A 2xx answer that is not the JSON promised (a cache's HTML
page, a cut body) is :class:`~connectors.woocommerce.errors.UnreadableAnswer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlsplit

from connectors.woocommerce.errors import UnreadableAnswer
from connectors.woocommerce.resources import convert, parse_json
from hub.http import HttpResult

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, with WordPress's totals (``None`` when a proxy dropped them)."""

    items: list[T]
    number: int
    total: int | None  # X-WP-Total
    total_pages: int | None  # X-WP-TotalPages
    next_url: str | None  # Link rel="next"


def page(result: HttpResult, number: int, items: list[T]) -> Page[T]:
    """Page ``number`` of a list answer, with WordPress's totals."""
    following = link(", ".join(result.headers.getall("Link", [])), "next")
    return Page(
        items,
        number,
        header_int(result.headers.get("X-WP-Total")),
        header_int(result.headers.get("X-WP-TotalPages")),
        following,
    )


def next_page(
    result: HttpResult, number: int, query: dict[str, str], items: int
) -> tuple[int, dict[str, str]] | None:
    """The number and query of the page after ``number``, or ``None`` after the last.

    The ``Link: rel="next"`` URL is followed (its query carries the filters); without any
    ``Link`` header (stripped by a proxy) pages are counted up to ``X-WP-TotalPages``.
    """
    links = result.headers.getall("Link", [])
    following = link(", ".join(links), "next")
    if following is not None:
        query = dict(parse_qsl(urlsplit(following).query))
        after = header_int(query.get("page")) or number + 1
        return (after, query) if after > number else None
    total_pages = header_int(result.headers.get("X-WP-TotalPages"))
    if not links and total_pages is not None and number < total_pages and items:
        return number + 1, {**query, "page": str(number + 1)}
    return None


def read(result: HttpResult, shape: type[T]) -> T:
    """The JSON body, which must be a ``shape`` (list or dict); else ``UnreadableAnswer``."""
    try:
        data = parse_json(result.body)
    except ValueError as exc:
        raise UnreadableAnswer(f"HTTP {result.status}: not JSON ({exc})") from None
    if not isinstance(data, shape):
        raise UnreadableAnswer(f"HTTP {result.status}: a {type(data).__name__}, not a {shape}")
    return data


def resource(result: HttpResult, kind: type[T]) -> T:
    """The one resource a 2xx answer carries, as ``kind``."""
    return as_kind(read(result, dict), kind)


def as_kind(data: Any, kind: type[T]) -> T:
    try:
        return convert(data, kind)
    except ValueError as exc:
        raise UnreadableAnswer(f"not a {kind.__name__}: {exc}") from None


def header_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def link(header: str, rel: str) -> str | None:
    """The URL of ``rel`` in an RFC 5988 ``Link`` header (WordPress: ``<url>; rel="next"``)."""
    for part in header.split(","):
        url, _, attributes = part.partition(";")
        url = url.strip()
        if (
            url.startswith("<")
            and url.endswith(">")
            and f'rel="{rel}"' in attributes.replace("'", '"')
        ):
            return url[1:-1]
    return None
