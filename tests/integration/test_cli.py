"""``cypher-hub dlq`` and ``cypher-hub schemas`` as operations use them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import pytest

from hub import deadletters
from hub.cli import main
from hub.db import init_connection
from hub.messages import Envelope, encode
from tests.support import Add


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> str:
    for key in ("CYPHER_AMQP_URL", "CYPHER_REDIS_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CYPHER_DATABASE_URL", database_url)
    monkeypatch.setenv("CYPHER_CONFIG", str(Path(__file__).parent.parent / "empty.toml"))
    asyncio.run(_truncate(database_url))
    return database_url


async def _truncate(url: str) -> None:
    conn = await asyncpg.connect(url)
    await conn.execute("TRUNCATE hub_dead_letters, hub_outbox RESTART IDENTITY")
    await conn.close()


def _dead_letter(url: str, msg: Add) -> Envelope:
    env = Envelope.new(msg)

    async def run() -> None:
        conn = await asyncpg.connect(url)
        await init_connection(conn)
        await deadletters.record(
            conn,
            actor="counter",
            envelope=env,
            headers={},
            body=encode(msg),
            reason="exhausted",
            error="ConnectionError('smartbill timed out')",
            traceback="Traceback (most recent call last):\n  ...",
            attempts=5,
        )
        await conn.close()

    asyncio.run(run())
    return env


def _outbox(url: str) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        rows: list[asyncpg.Record] = await conn.fetch("SELECT * FROM hub_outbox")
        await conn.close()
        return rows

    return asyncio.run(run())


def test_dlq_list_and_show_tell_what_failed_and_why(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _dead_letter(cli_env, Add(counter="a", amount=1))
    assert main(["dlq", "list"]) == 0
    out = capsys.readouterr().out
    assert "counter" in out and "test.Add" in out and "exhausted" in out
    assert "smartbill timed out" in out
    assert main(["dlq", "show", "1"]) == 0
    shown = capsys.readouterr().out
    assert '"counter": "a"' in shown
    assert "Traceback" in shown


def test_dlq_replay_queues_the_message_for_its_actor_once(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _dead_letter(cli_env, Add(counter="a", amount=1))
    assert main(["dlq", "replay", "1"]) == 0
    assert "replayed 1" in capsys.readouterr().out
    rows = _outbox(cli_env)
    assert [(r["message_id"], r["destination"]) for r in rows] == [(env.message_id, "counter")]
    assert main(["dlq", "replay", "1"]) == 1  # already replayed: refused, nothing queued
    assert "already replayed" in capsys.readouterr().err
    assert len(_outbox(cli_env)) == 1


def test_dlq_discard_and_unknown_ids(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    _dead_letter(cli_env, Add(counter="a", amount=1))
    assert main(["dlq", "discard", "1"]) == 0
    assert main(["dlq", "list"]) == 0
    assert "no dead letters" in capsys.readouterr().out
    assert main(["dlq", "list", "--status", "discarded", "--json"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[0]
    assert json.loads(line)["status"] == "discarded"
    assert main(["dlq", "show", "99"]) == 1
    assert "no dead letter 99" in capsys.readouterr().err


def test_schemas_are_written_for_every_registered_message(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "schemas"
    assert main(["schemas", "--out", str(out)]) == 0
    schema = json.loads((out / "test.Add.json").read_text())
    assert schema["title"] == "test.Add"
    props = schema["$defs"]["Add"]["properties"]
    assert {"counter", "amount"} <= set(props)
    assert (out / "envelope.json").exists()
