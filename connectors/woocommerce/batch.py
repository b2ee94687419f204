"""Batch requests (``POST /<resource>s/batch``): split into requests, answers read per item.

WooCommerce takes at most 100 items per request, counting create + update + delete together
(``check_batch_limit``), and answers ``{"create": [...], "update": [...], "delete": [...]}``
with one entry per item sent, in order: the resource, or ``{"id", "error": {code, message,
data}}`` for an item it refused (``id`` 0 for a create). :func:`plan` cuts the caller's items
into bodies; :func:`read_answer` files each answer entry under the caller's item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from connectors.woocommerce.changes import wire
from connectors.woocommerce.errors import UnreadableAnswer, error_for, status_of
from connectors.woocommerce.resources import convert
from hub.breaker import BreakerOpen
from hub.errors import PermanentError
from hub.http import PartnerUnavailable

T = TypeVar("T")
Action = Literal["create", "update", "delete"]


@dataclass(frozen=True)
class Item:
    """One item of a batch: where it came from and what is sent for it."""

    action: Action
    index: int  # position in the caller's sequence for ``action``
    id: int  # 0 for a create
    body: Any  # the JSON object (create/update) or the id (delete)


@dataclass(frozen=True)
class BatchItemError:
    """An item that did not go through, and why.

    ``error`` is a ``WooCommerceError`` when the store refused this item (permanent), or the
    failure of its request (``PartnerUnavailable``, ``BreakerOpen``, a whole-request refusal).
    ``sent`` is False when the item never left the hub (an earlier request failed, or the
    breaker was open): sending it later is always safe.
    """

    action: Action
    index: int
    id: int
    error: Exception
    sent: bool = True

    @property
    def permanent(self) -> bool:
        """True when the same item will be refused again (it needs fixing, not waiting)."""
        return isinstance(self.error, PermanentError)

    @property
    def outcome_unknown(self) -> bool:
        """True when the store may have applied the item although no answer says so."""
        if not self.sent:
            return False
        if isinstance(self.error, PartnerUnavailable):
            return self.error.outcome_unknown
        return isinstance(self.error, UnreadableAnswer)


@dataclass
class BatchOutcome(Generic[T]):
    """Every item of a batch call, in exactly one place (``skipped``: updates with no field)."""

    created: dict[int, T] = field(default_factory=dict)  # index in ``create`` -> resource
    updated: dict[int, T] = field(default_factory=dict)  # id -> resource after the update
    deleted: dict[int, T] = field(default_factory=dict)  # id -> resource as it was
    failed: list[BatchItemError] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # ids of updates that set nothing
    requests: int = 0  # batch requests made (a request repeated after a 5xx counts once)

    @property
    def ok(self) -> bool:
        """True when no item failed."""
        return not self.failed


def items(
    create: Sequence[Any], update: Sequence[Any], delete: Sequence[int]
) -> tuple[list[Item], list[int]]:
    """The items to send, in WooCommerce's processing order, and the ids of empty updates.

    An update that sets nothing is not sent: WooCommerce would still save the item, moving its
    ``date_modified`` and firing an ``updated`` webhook for no change.
    """
    out = [Item("create", i, 0, _object(c)) for i, c in enumerate(create)]
    skipped: list[int] = []
    for i, u in enumerate(update):
        body = _object(u)
        ident = body.get("id")
        if not isinstance(ident, int) or ident <= 0:
            raise ValueError(f"update {i} has no valid id: {ident!r}")
        if set(body) <= {"id"}:
            skipped.append(ident)
            continue
        out.append(Item("update", i, ident, body))
    for i, ident in enumerate(delete):
        if ident <= 0:
            raise ValueError(f"delete {i}: not an id: {ident!r}")
        out.append(Item("delete", i, ident, ident))
    return out, skipped


def _object(item: Any) -> dict[str, Any]:
    return dict(item) if isinstance(item, dict) else wire(item)


def plan(pending: Sequence[Item], size: int) -> list[list[Item]]:
    """``pending`` cut into requests of at most ``size`` items (the store's batch limit)."""
    return [list(pending[i : i + size]) for i in range(0, len(pending), size)]


def body_of(chunk: Sequence[Item]) -> dict[str, list[Any]]:
    """The JSON body of one request; an action without items is left out."""
    body: dict[str, list[Any]] = {}
    for item in chunk:
        body.setdefault(item.action, []).append(item.body)
    return body


def read_answer(
    chunk: Sequence[Item], answer: Any, kind: type[T], outcome: BatchOutcome[T]
) -> None:
    """File each answer entry under its item; items without an entry fail as unreadable."""
    if not isinstance(answer, dict):
        fail(chunk, UnreadableAnswer("the batch answer is not an object"), outcome)
        return
    for action in ("create", "update", "delete"):
        sent = [item for item in chunk if item.action == action]
        entries = answer.get(action) or []
        if not isinstance(entries, list):
            entries = []
        for position, item in enumerate(sent):
            entry = entries[position] if position < len(entries) else None
            _file(item, entry, kind, outcome)


def _file(item: Item, entry: Any, kind: type[T], outcome: BatchOutcome[T]) -> None:
    if not isinstance(entry, dict):
        outcome.failed.append(
            BatchItemError(item.action, item.index, item.id, UnreadableAnswer("no answer entry"))
        )
        return
    error = entry.get("error")
    if isinstance(error, dict):
        data = error.get("data")
        refused = error_for(
            status_of(data), str(error.get("code", "")), str(error.get("message", "")), data
        )
        outcome.failed.append(BatchItemError(item.action, item.index, item.id, refused))
        return
    try:
        resource = convert(entry, kind)
    except (TypeError, ValueError) as exc:  # msgspec.ValidationError is a ValueError
        outcome.failed.append(
            BatchItemError(item.action, item.index, item.id, UnreadableAnswer(str(exc)))
        )
        return
    if item.action == "create":
        outcome.created[item.index] = resource
    elif item.action == "update":
        outcome.updated[item.id] = resource
    else:
        outcome.deleted[item.id] = resource


def fail(
    chunk: Sequence[Item], error: Exception, outcome: BatchOutcome[Any], *, sent: bool = True
) -> None:
    """Every item of ``chunk`` failed with ``error`` (its request did)."""
    outcome.failed.extend(
        BatchItemError(item.action, item.index, item.id, error, sent) for item in chunk
    )


def never_sent(exc: Exception) -> bool:
    """True when the request certainly did not reach WordPress (breaker open, 429, no socket)."""
    if isinstance(exc, BreakerOpen):
        return True
    if isinstance(exc, PartnerUnavailable):
        return exc.status == 429 or (exc.status is None and not exc.outcome_unknown)
    return False
