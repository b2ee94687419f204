"""Outsiders publishing onto the hub's queues on the real RabbitMQ (AmqpBus).

The hub runs the ``counter`` actor of ``tests.support``. Each example publishes a few poison
messages straight onto the broker, as any outside client would (random bytes, JSON of the wrong
types or with unknown fields, huge bodies, unknown or missing type names, missing or malformed
message ids, random headers and content types), to the actor's queue or through the topic
exchange, then one good ``test.Add`` twice with one message id. Properties, from
docs/RUNTIME.md ("the body cannot be decoded, the type is unknown, the envelope is invalid:
dead-lettered at once"):

- every poison message is dead-lettered once, with its body as received, a reason and a
  readable error; none is retried, requeued for ever or lost;
- the actor keeps consuming (no restart) and handles the good message after the bad ones,
  once: the counter moves by its amount, one ``test.Added`` is emitted.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aio_pika
import asyncpg
import msgspec
import pytest
from aiormq import spec
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from hub.bootstrap import Hub
from hub.bus import envelope_from_wire
from tests.support import Add, Counter, eventually

FUZZ = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
HUGE = 2 * 1024 * 1024
# What the runtime says when it refuses a message (hub/bus/__init__.py, hub/messages.py,
# hub/actor.py): the error names the problem, not just "failed".
READABLE = re.compile(
    r"message has no (message_id|type) property|message_id .+ is not a UUID"
    r"|x-(occurred-at|attempt) .+ is not an? (ISO time|integer)|unknown message type "
    r"|undecodable \S+ body: .|actor 'counter' has no handler for |delivered \d+ times",
    re.DOTALL,
)


@pytest.fixture
def transport() -> str:
    """These tests are about the real broker only."""
    return "amqp"


# --- what outsiders publish ---------------------------------------------------------------------

EPOCH = datetime(1970, 1, 2)
# AMQP field-table values aio-pika can send (no inf/NaN: RabbitMQ closes the connection on them).
amqp_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(width=32, allow_nan=False, allow_infinity=False),
    st.decimals(-(10**6), 10**6, places=2),
    st.text(max_size=40),
    st.binary(max_size=20).map(bytearray),
    st.datetimes(EPOCH, timezones=st.just(UTC)),  # AMQP timestamps are unsigned
)
amqp_values = st.recursive(
    amqp_scalars,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3)
    ),
    max_leaves=6,
)
# x-attempt within PostgreSQL's integer (a larger one is test_attempt_beyond_int32_...'s subject)
attempts = st.one_of(
    st.integers(-(2**31), 2**31 - 1),
    st.floats(-(2.0**31), 2147483520.0, width=32),  # the largest float32 below 2**31
    st.text(max_size=8),
    st.none(),
    st.booleans(),
)
envelope_headers = st.fixed_dictionaries(
    {},
    optional={
        "x-attempt": attempts,
        "x-key": st.one_of(st.text(max_size=30), amqp_values),
        "x-occurred-at": st.one_of(
            st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat), amqp_values
        ),
        "x-causation-id": amqp_values,
        "x-actor": amqp_values,
        "x-delivery-count": st.integers(0, 20),
    },
)
headers = st.builds(
    lambda known, extra: {**extra, **known},
    envelope_headers,
    st.dictionaries(st.text(min_size=1, max_size=12), amqp_values, max_size=3),
)

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3)
    ),
    max_leaves=8,
)
wrong_adds = st.fixed_dictionaries(
    {},
    optional={
        "counter": json_values,
        "amount": json_values,
        "fail_first": json_values,
        "permanent": json_values,
        "hold": json_values,
    },
)
with_unknown_field = st.builds(
    lambda name, amount, extra, value: {"counter": name, "amount": amount, extra: value},
    st.text(min_size=1, max_size=8),
    st.integers(0, 10),
    st.text(min_size=1, max_size=8).filter(lambda k: k not in Add.__struct_fields__),
    json_values,
)
bodies = st.one_of(
    st.binary(max_size=500),
    st.builds(lambda v: json.dumps(v).encode(), st.one_of(wrong_adds, with_unknown_field)),
    st.builds(lambda v: json.dumps(v).encode(), json_values),
    st.integers(1, HUGE).map(lambda n: b'{"counter": "' + b"x" * n + b'"}'),  # no amount
)
type_names = st.one_of(
    st.none(),
    st.sampled_from(["test.Add", "test.Add", "test.Added", "test.Remind", "", "nope.Unknown"]),
    st.text(max_size=40),
)


@dataclass(frozen=True)
class Poison:
    """A message no actor can handle; ``message_id`` "uuid" becomes a fresh one when sent."""

    body: bytes
    type: str | None
    message_id: str | None
    headers: dict[str, Any] = field(default_factory=dict)
    content_type: str | None = None
    content_encoding: str | None = None
    correlation_id: str | None = None
    via_exchange: bool = False  # the topic exchange (routing key test.Add) or the queue itself

    def decodable(self) -> bool:
        """True if this is, after all, a good test.Add (those are filtered out)."""
        if self.type != "test.Add" or self.message_id != "uuid":
            return False
        if _envelope_error(self.headers):
            return False
        try:
            msgspec.json.decode(self.body, type=Add)
        except msgspec.DecodeError:
            return False
        return True


good_adds = st.builds(
    lambda counter, amount: msgspec.json.encode(Add(counter=counter, amount=amount)),
    st.text(max_size=10),
    st.integers(0, 100),
)
message_ids = st.one_of(st.none(), st.just(""), st.text(max_size=40))
extra_headers = st.dictionaries(st.text(min_size=1, max_size=12), amqp_values, max_size=3)
properties = {
    "content_type": st.one_of(
        st.none(), st.sampled_from(["application/json", "text/plain", ""]), st.text(max_size=20)
    ),
    "content_encoding": st.one_of(st.none(), st.sampled_from(["gzip", "utf-16"])),
    "correlation_id": st.one_of(st.none(), st.text(max_size=30)),
    "via_exchange": st.booleans(),
}


def _envelope_error(headers: dict[str, Any]) -> bool:
    """True if these headers make an invalid envelope (hub/bus/__init__.py's rules)."""
    if headers.get("x-delivery-count", 0) >= 10:
        return True  # dead-lettered as redelivered before it is decoded
    try:
        envelope_from_wire(
            message_id=str(uuid.uuid4()), type="test.Add", correlation_id=None, headers=headers
        )
    except ValueError:
        return True
    return False


# Each poison has one main defect (its body, its type, its envelope) or is noise throughout.
poisons = st.one_of(
    st.builds(
        Poison,
        body=bodies,
        type=st.just("test.Add"),
        message_id=st.just("uuid"),
        headers=extra_headers,
        **properties,
    ),
    st.builds(
        Poison,
        body=st.one_of(good_adds, bodies),
        type=type_names,
        message_id=st.just("uuid"),
        headers=extra_headers,
        **properties,
    ),
    st.builds(
        Poison,
        body=st.one_of(good_adds, bodies),
        type=st.just("test.Add"),
        message_id=st.one_of(message_ids, st.just("uuid")),
        headers=headers,
        **properties,
    ),
    st.builds(
        Poison,
        body=bodies,
        type=type_names,
        message_id=st.one_of(message_ids, st.just("uuid")),
        headers=headers,
        **properties,
    ),
).filter(lambda p: not p.decodable())


# --- the harness --------------------------------------------------------------------------------


class AsSent(spec.Basic.Properties):
    """AMQP properties whose message id stays as the outsider set it, absent included.

    aiormq fills in a random message id when a publisher leaves it out (from ``random``, which
    hypothesis seeds: two poisons would share one); other clients do not, and the hub must
    dead-letter what they send.
    """

    @property  # type: ignore[override]
    def message_id(self) -> str | None:
        value: str | None = self.__dict__.get("_message_id")
        return value

    @message_id.setter
    def message_id(self, value: str | None) -> None:
        self.__dict__.setdefault("_message_id", value)


@dataclass
class Outsider:
    """An aio-pika publisher that knows nothing of the hub but its queue and exchange names."""

    hub: Hub
    conn: asyncpg.Connection
    channel: aio_pika.abc.AbstractChannel
    prefix: str
    poisons_sent: int = 0

    async def publish(self, poison: Poison) -> None:
        message_id = str(uuid.uuid4()) if poison.message_id == "uuid" else poison.message_id
        properties = AsSent(
            headers=poison.headers,
            content_type=poison.content_type,
            content_encoding=poison.content_encoding,
            message_id=message_id,
            message_type=poison.type,
            correlation_id=poison.correlation_id,
            delivery_mode=2,
        )
        channel = await self.channel.get_underlay_channel()
        if poison.via_exchange:
            exchange, routing_key = f"{self.prefix}.messages", "test.Add"
        else:
            exchange, routing_key = "", f"{self.prefix}.counter"
        await channel.basic_publish(
            poison.body, exchange=exchange, routing_key=routing_key, properties=properties
        )
        self.poisons_sent += 1

    async def publish_good(self, counter: str, amount: int) -> None:
        """A well-formed test.Add, published twice with the same message id."""
        message_id = str(uuid.uuid4())
        for _ in range(2):
            await self.channel.default_exchange.publish(
                aio_pika.Message(
                    msgspec.json.encode(Add(counter=counter, amount=amount)),
                    message_id=message_id,
                    type="test.Add",
                    content_type="application/json",
                ),
                routing_key=f"{self.prefix}.counter",
            )

    async def dead_letters_after(self, last_id: int) -> list[asyncpg.Record]:
        return await self.conn.fetch(
            "SELECT * FROM hub_dead_letters WHERE id > $1 ORDER BY id", last_id
        )

    async def last_dead_letter(self) -> int:
        value: int = await self.conn.fetchval("SELECT coalesce(max(id), 0) FROM hub_dead_letters")
        return value


@pytest.fixture
async def outsider(
    start_hub: Any, db_conn: asyncpg.Connection, amqp_url: str, prefix: str
) -> AsyncIterator[Outsider]:
    """The hub running ``counter`` on RabbitMQ, and a publisher of its own."""
    hub, _ = await start_hub(Counter())
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        yield Outsider(hub, db_conn, channel, prefix)
    finally:
        await connection.close()


async def total(conn: asyncpg.Connection, counter: str) -> int | None:
    value: int | None = await conn.fetchval(
        "SELECT total FROM test_counters WHERE name = $1", counter
    )
    return value


# --- the properties -----------------------------------------------------------------------------


@settings(FUZZ, max_examples=40)
@example(
    batch=[
        Poison(b"\x00" * HUGE + b"\xff", "test.Add", "uuid", {"x-attempt": "many"}, "image/png"),
        Poison(b'{"counter": 7, "amount": "lots"}', "test.Add", None),
        Poison(b'{"counter": "a", "amount": 1}', "orders.NoSuchThing", "uuid"),
        Poison(b'{"counter": "a", "amount": 1}', None, "not-a-uuid", {"x-key": "a\x00b"}),
        Poison(b"{}", "test.Add", "uuid", {"x-occurred-at": Decimal("1.5")}, via_exchange=True),
    ],
    amount=3,
)
@given(batch=st.lists(poisons, min_size=1, max_size=4), amount=st.integers(0, 1000))
async def test_poison_messages_are_dead_lettered_and_the_actor_goes_on(
    outsider: Outsider, batch: list[Poison], amount: int
) -> None:
    conn = outsider.conn
    last = await outsider.last_dead_letter()
    counter = f"good-{uuid.uuid4().hex[:12]}"

    for poison in batch:
        await outsider.publish(poison)
    await outsider.publish_good(counter, amount)

    await eventually(
        lambda: _is_set(total(conn, counter)), timeout=10, what="the good message handled"
    )
    dead = await eventually(
        lambda: _at_least(outsider.dead_letters_after(last), len(batch)),
        timeout=10,
        what=f"{len(batch)} dead letters",
    )
    assert sorted(bytes(d["body"]) for d in dead) == sorted(p.body for p in batch)
    for d in dead:
        event(f"{d['reason']}: {d['error'][:24]}")
        assert d["actor"] == "counter"
        assert d["reason"] in ("permanent", "redelivered"), d["reason"]
        assert READABLE.match(d["error"]), d["error"]
    assert await total(conn, counter) == amount
    emitted = await conn.fetchval(
        "SELECT count(*) FROM hub_outbox "
        "WHERE type = 'test.Added' AND position(convert_to($1, 'UTF8') IN body) > 0",
        f'"{counter}"',
    )
    assert emitted == 1
    assert retried(outsider.hub) == 0, "a poison message was retried instead of dead-lettered"
    status = outsider.hub.supervisor.status["actor:counter"]
    assert (status.state, status.restarts) == ("running", 0), status
    # nothing doubled, nothing late: every poison so far has exactly one dead letter
    assert await conn.fetchval("SELECT count(*) FROM hub_dead_letters") == outsider.poisons_sent


def retried(hub: Hub) -> float:
    """Messages the counter actor sent to its retry queues so far."""
    return sum(
        sample.value
        for metric in hub.metrics.registry.collect()
        if metric.name == "hub_messages_retried"
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


async def _is_set(value: Any) -> bool:
    return await value is not None


async def _at_least(rows: Any, n: int) -> list[asyncpg.Record] | None:
    found: list[asyncpg.Record] = await rows
    assert len(found) <= n, f"more dead letters than poison messages: {found}"
    return found if len(found) == n else None


@settings(FUZZ, max_examples=5)
@example(attempt=2**31)
@given(attempt=st.integers(2**31, 2**63 - 1) | st.floats(2.0**31, allow_infinity=False, width=32))
async def test_poison_with_any_attempt_header_is_dead_lettered(
    outsider: Outsider, attempt: float
) -> None:
    last = await outsider.last_dead_letter()
    poison = Poison(b"not json", "test.Add", "uuid", {"x-attempt": attempt})

    await outsider.publish(poison)

    [dead] = await eventually(
        lambda: outsider.dead_letters_after(last), timeout=3, what="the dead letter"
    )
    assert bytes(dead["body"]) == poison.body
    assert dead["reason"] == "permanent"
