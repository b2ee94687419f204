"""The dead-letter store: record, list, show, replay into the outbox, discard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import msgspec
import pytest

from hub import deadletters
from hub.bus import envelope_to_json
from hub.db import init_connection
from hub.errors import DomainError, NotFound
from hub.messages import Command, Envelope, encode


class ShipParcel(Command, tag="deadletters_test.ShipParcel"):
    """Hand a parcel to the courier."""

    order_id: str
    weight_kg: Decimal


@pytest.fixture
async def conn(db_conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """The run's database, emptied, with the runtime's per-connection setup (jsonb codec)."""
    await init_connection(db_conn)
    yield db_conn


def failed_envelope(attempt: int = 4) -> tuple[Envelope, bytes]:
    message = ShipParcel(order_id="WC-1001", weight_kg=Decimal("1.25"))
    envelope = msgspec.structs.replace(Envelope.new(message, key="WC-1001"), attempt=attempt)
    return envelope, encode(message)


async def record(
    conn: asyncpg.Connection,
    envelope: Envelope | None,
    body: bytes,
    *,
    actor: str = "shipping",
    error: str = "TimeoutError: courier API timed out",
) -> None:
    await deadletters.record(
        conn,
        actor=actor,
        envelope=envelope,
        headers={"x-attempt": envelope.attempt if envelope else 1, "x-raw": b"\x00"},
        body=body,
        reason="exhausted",
        error=error,
        traceback="Traceback (most recent call last): ...",
        attempts=envelope.attempt if envelope else 1,
    )


async def only_dead_letter(conn: asyncpg.Connection) -> deadletters.DeadLetter:
    rows = await deadletters.list_dead(conn, status=None)
    assert len(rows) == 1, rows
    return rows[0]


async def test_recorded_dead_letter_is_listed_and_shown(conn: asyncpg.Connection) -> None:
    envelope, body = failed_envelope()

    await record(conn, envelope, body)

    listed = await deadletters.list_dead(conn)
    assert len(listed) == 1
    dead = listed[0]
    assert dead.actor == "shipping"
    assert dead.message_id == envelope.message_id
    assert dead.type == "deadletters_test.ShipParcel"
    assert dead.reason == "exhausted"
    assert dead.status == "dead"
    assert dead.error == "TimeoutError: courier API timed out"
    assert dead.attempts == 4
    assert dead.body == body
    assert dead.envelope == envelope_to_json(envelope)
    assert dead.headers["x-attempt"] == 4
    assert dead.resolved_at is None
    assert await deadletters.get(conn, dead.id) == dead
    assert await deadletters.count_dead(conn) == 1


async def test_list_filters_by_actor_and_status(conn: asyncpg.Connection) -> None:
    envelope, body = failed_envelope()
    await record(conn, envelope, body, actor="shipping")
    await record(conn, envelope, body, actor="invoicing")
    invoicing = (await deadletters.list_dead(conn, actor="invoicing"))[0]
    await deadletters.discard(conn, [invoicing.id])

    assert [d.actor for d in await deadletters.list_dead(conn)] == ["shipping"]
    assert [d.actor for d in await deadletters.list_dead(conn, status="discarded")] == ["invoicing"]
    assert len(await deadletters.list_dead(conn, status=None)) == 2
    assert await deadletters.list_dead(conn, actor="nobody") == []


async def test_recording_the_same_message_twice_for_one_actor_keeps_one(
    conn: asyncpg.Connection,
) -> None:
    envelope, body = failed_envelope()

    await record(conn, envelope, body, error="first")
    await record(conn, envelope, body, error="second")

    dead = await only_dead_letter(conn)
    assert dead.error == "first"


async def test_same_message_failed_by_two_actors_is_kept_for_each(
    conn: asyncpg.Connection,
) -> None:
    envelope, body = failed_envelope()

    await record(conn, envelope, body, actor="shipping")
    await record(conn, envelope, body, actor="notifications")

    assert {d.actor for d in await deadletters.list_dead(conn)} == {"shipping", "notifications"}


async def test_replay_queues_the_message_for_its_actor_with_attempt_reset(
    conn: asyncpg.Connection,
) -> None:
    envelope, body = failed_envelope(attempt=4)
    await record(conn, envelope, body)
    dead = await only_dead_letter(conn)

    async with conn.transaction():
        assert await deadletters.replay(conn, [dead.id]) == [dead.id]

    rows = await conn.fetch("SELECT message_id, type, destination, envelope, body FROM hub_outbox")
    assert len(rows) == 1
    row = rows[0]
    assert row["destination"] == "shipping"
    assert row["message_id"] == envelope.message_id
    assert row["type"] == "deadletters_test.ShipParcel"
    assert row["body"] == body
    assert row["envelope"]["attempt"] == 1
    assert row["envelope"] == envelope_to_json(msgspec.structs.replace(envelope, attempt=1))
    replayed = await deadletters.get(conn, dead.id)
    assert replayed.status == "replayed"
    assert replayed.resolved_at is not None
    assert await deadletters.count_dead(conn) == 0


async def test_replaying_twice_is_refused(conn: asyncpg.Connection) -> None:
    envelope, body = failed_envelope()
    await record(conn, envelope, body)
    dead = await only_dead_letter(conn)
    await deadletters.replay(conn, [dead.id])

    with pytest.raises(DomainError, match="already replayed"):
        await deadletters.replay(conn, [dead.id])

    assert await conn.fetchval("SELECT count(*) FROM hub_outbox") == 1


async def test_replayed_message_that_fails_again_is_recorded_again(
    conn: asyncpg.Connection,
) -> None:
    envelope, body = failed_envelope()
    await record(conn, envelope, body)
    first = await only_dead_letter(conn)
    await deadletters.replay(conn, [first.id])

    await record(conn, envelope, body, error="failed after replay")

    again = await deadletters.list_dead(conn)
    assert [d.error for d in again] == ["failed after replay"]
    assert again[0].id != first.id


async def test_dead_letter_without_envelope_cannot_be_replayed(conn: asyncpg.Connection) -> None:
    await record(conn, None, b"\xff not even json")
    dead = await only_dead_letter(conn)
    assert dead.message_id is None
    assert dead.envelope is None

    with pytest.raises(DomainError, match="no valid envelope"):
        await deadletters.replay(conn, [dead.id])

    assert await conn.fetchval("SELECT count(*) FROM hub_outbox") == 0
    assert (await deadletters.get(conn, dead.id)).status == "dead"


async def test_discard_marks_the_dead_letter_discarded(conn: asyncpg.Connection) -> None:
    envelope, body = failed_envelope()
    await record(conn, envelope, body)
    dead = await only_dead_letter(conn)

    assert await deadletters.discard(conn, [dead.id]) == [dead.id]

    discarded = await deadletters.get(conn, dead.id)
    assert discarded.status == "discarded"
    assert discarded.resolved_at is not None
    assert await conn.fetchval("SELECT count(*) FROM hub_outbox") == 0
    with pytest.raises(DomainError, match="not dead"):
        await deadletters.discard(conn, [dead.id])
    with pytest.raises(DomainError, match="already discarded"):
        await deadletters.replay(conn, [dead.id])


async def test_unknown_id_is_not_found(conn: asyncpg.Connection) -> None:
    with pytest.raises(NotFound, match="no dead letter 999"):
        await deadletters.get(conn, 999)
    with pytest.raises(NotFound):
        await deadletters.replay(conn, [999])
    with pytest.raises(NotFound):
        await deadletters.discard(conn, [999])


async def test_poison_message_with_nul_characters_is_still_recorded(
    conn: asyncpg.Connection,
) -> None:
    await deadletters.record(
        conn,
        actor="shipping",
        envelope=None,
        headers={"type": b"bad\x00type", "x-key": "a\x00b", "nested": {"k": ["\x00"]}},
        body=b"\x00\x01",
        reason="permanent",
        error="undecodable body: Invalid value 'x\x00y'",
        traceback="line \x00",
        attempts=1,
    )

    dead = await only_dead_letter(conn)
    assert dead.type == "bad\\x00type"
    assert dead.headers["x-key"] == "a\\x00b"
    assert dead.headers["nested"] == {"k": ["\\x00"]}
    assert dead.error == "undecodable body: Invalid value 'x\\x00y'"
    assert dead.body == b"\x00\x01"  # the body is bytea: kept exactly


async def test_envelope_with_nul_characters_is_still_recorded(conn: asyncpg.Connection) -> None:
    envelope, body = failed_envelope()
    envelope = msgspec.structs.replace(envelope, key="WC\x001001")

    await record(conn, envelope, body)

    dead = await only_dead_letter(conn)
    assert dead.message_id == envelope.message_id
    assert dead.envelope is not None
    assert dead.envelope["key"] == "WC\\x001001"
