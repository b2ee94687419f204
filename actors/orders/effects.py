"""What a change to an order publishes (:class:`Outcome`), and the one way an order moves
(:func:`move`): the domain says yes or no, the move is stored with who, when and why, and
``OrderStateChanged`` goes out in the same transaction.

The orders actor emits an outcome through its handler context (and audits its transitions),
an API route through its call, a seed or a test through :func:`write`; every path publishes
through the outbox, in the transaction that made the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from actors.orders import domain, store
from actors.orders.domain import OrderState, Transition
from actors.orders.messages import OrderStateChanged
from hub import outbox
from hub.messages import Envelope, Message, encode

SYSTEM = "system"


def order_key(order_id: str) -> str:
    """The bus key of every message about one order."""
    return f"order:{order_id}"


@dataclass
class Outcome:
    """Messages to publish (each with its key), the transitions made, notes worth a log line."""

    messages: list[tuple[Message, str]] = field(default_factory=list)
    transitions: list[tuple[str, Transition]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def emit(self, message: Message, key: str) -> None:
        """Publish ``message`` under ``key`` when the transaction commits."""
        self.messages.append((message, key))

    def extend(self, other: Outcome) -> None:
        """Add another outcome's effects after this one's."""
        self.messages.extend(other.messages)
        self.transitions.extend(other.transitions)
        self.notes.extend(other.notes)

    def types(self) -> list[str]:
        """The class names of the messages, in order (for logs and tests)."""
        return [type(m).__name__ for m, _ in self.messages]


async def move(
    conn: asyncpg.Connection,
    order: store.Order,
    to: OrderState,
    *,
    by: str,
    reason: str,
    now: datetime,
    out: Outcome,
) -> Transition:
    """Move a locked order to ``to`` (or raise the domain's refusal naming where it can go),
    record the move and announce it."""
    step = domain.transition(order.id, order.state, to, at=now, by=by, reason=reason)
    await store.record_transition(conn, order.id, step)
    order.state = to
    out.transitions.append((order.id, step))
    out.emit(
        OrderStateChanged(
            order_id=order.id,
            number=order.number,
            external_ref=order.external_ref,
            from_state=step.from_state.value,
            to_state=step.to_state.value,
            woo_status=domain.woo_status(to),
            at=step.at,
            by=step.by,
            reason=step.reason,
        ),
        order_key(order.id),
    )
    return step


async def write(conn: asyncpg.Connection, outcome: Outcome, *, actor: str) -> None:
    """Write an outcome's messages into the outbox of ``conn``'s transaction, as ``actor``
    (for seeds, tests and tools that have no handler context or API call)."""
    items = [
        outbox.Outgoing(Envelope.new(m, key=key, actor=actor), encode(m))
        for m, key in outcome.messages
    ]
    if items:
        await outbox.write(conn, items)
