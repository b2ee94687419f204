"""Domain changes made by actors on someone's behalf land in the audit trail."""

from __future__ import annotations

from typing import Any

import asyncpg

from hub import audit
from hub.actor import Actor, Context, handler
from hub.messages import Command, Envelope, encode
from tests.support import eventually


class Rename(Command, tag="test.Rename"):
    """Rename thing ``thing_id``."""

    thing_id: str
    name: str


class Things(Actor, name="things"):
    """Renames things and says so in the audit trail."""

    @handler
    async def rename(self, msg: Rename, ctx: Context) -> None:
        await ctx.audit(
            "things.renamed",
            entity_type="thing",
            entity_id=msg.thing_id,
            before={"name": "old"},
            after={"name": msg.name},
        )


async def test_an_actor_records_the_change_for_the_user_the_flow_acts_for(
    start_hub: Any, db_conn: asyncpg.Connection
) -> None:
    await db_conn.execute("TRUNCATE audit_log")
    hub, _ = await start_hub(Things())
    msg = Rename(thing_id="t-1", name="new")
    env = Envelope.new(msg, actor="user:42")
    await hub.bus.publish(env, encode(msg))
    await eventually(lambda: db_conn.fetchval("SELECT count(*) FROM audit_log"))
    async with hub.db.pool.acquire() as conn:
        entries = await audit.query(conn, entity_type="thing", entity_id="t-1")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.actor == "user:42"
    assert entry.action == "things.renamed"
    assert entry.before == {"name": "old"} and entry.after == {"name": "new"}
    assert entry.correlation_id == env.correlation_id


async def test_query_filters_and_pages_newest_first(db_conn: asyncpg.Connection) -> None:
    await db_conn.execute("TRUNCATE audit_log")
    for i in range(5):
        await audit.record(
            db_conn,
            actor="user:1" if i % 2 else "user:2",
            action="x.changed",
            entity_type="x",
            entity_id=str(i),
        )
    newest = await audit.query(db_conn, limit=2)
    assert [e.entity_id for e in newest] == ["4", "3"]
    older = await audit.query(db_conn, before_id=newest[-1].id, limit=10)
    assert [e.entity_id for e in older] == ["2", "1", "0"]
    mine = await audit.query(db_conn, actor="user:1")
    assert {e.entity_id for e in mine} == {"1", "3"}
