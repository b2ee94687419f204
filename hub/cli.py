"""The ``cypher-hub`` command: serve, migrate, seed, schemas, settings, dlq, users, apikeys,
webhooks, demo, woo.

Commands of other packages register themselves through an ``add_commands(subparsers)``
function (see the end of :func:`_parser`); this module is the only one of ``hub/`` that may
import ``connectors/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
from aiohttp import web

from connectors.sandbox import cli as sandbox_cli
from hub import deadletters, messages, plugins, seeds
from hub import settings as settings_mod
from hub.auth import cli as auth_cli
from hub.bootstrap import ActorFactory, load_factories, open_db
from hub.edge import webhooks
from hub.edge.api import Api
from hub.errors import ConfigError, DomainError
from hub.settings import HubSettings
from hub.telemetry import setup_logging

log = logging.getLogger("hub.cli")

# ``add_commands(subparsers)`` of the connectors and contexts that have commands.
COMMANDS: tuple[str, ...] = ("connectors.woocommerce.reconcile_cmd:add_commands",)


def installed_actor_paths() -> tuple[str, ...]:
    """Every installed context's and connector's actor factory path."""
    import actors
    import connectors

    return tuple(actors.INSTALLED) + tuple(connectors.INSTALLED)


def installed_factories() -> list[ActorFactory]:
    """Import the installed actors (this also registers their messages)."""
    return load_factories(installed_actor_paths())


def installed_apis() -> list[Api]:
    """The installed contexts' and connectors' API route groups (``APIS`` lists)."""
    import actors
    import connectors

    apis: list[Api] = plugins.load_all(tuple(actors.APIS) + tuple(connectors.APIS), "API")
    return apis


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_mod.load_hub()
    except ConfigError as exc:
        print(f"cypher-hub: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings.log_format)
    try:
        result: int = args.func(settings, args)
        return result
    except ConfigError as exc:
        print(f"cypher-hub: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"cypher-hub: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cypher-hub", description="Cypher Hub, the Ledux back office")
    sub = p.add_subparsers(required=True, metavar="COMMAND")

    s = sub.add_parser("serve", help="run the hub: HTTP edge, actors, outbox relay, timers")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("migrate", help="apply pending migrations and exit")
    s.set_defaults(func=cmd_migrate)

    s = sub.add_parser("schemas", help="JSON Schema of every message (stdout, or files in --out)")
    s.add_argument("--out", type=Path, help="write one <type>.json per message into this folder")
    s.set_defaults(func=cmd_schemas)

    s = sub.add_parser("seed", help="apply the demo data seeds not applied yet (any database)")
    s.set_defaults(func=cmd_seed)

    s = sub.add_parser("settings", help="show the effective settings (secrets masked)")
    s.set_defaults(func=cmd_settings)

    dlq = sub.add_parser("dlq", help="dead letters: list, show, replay, discard")
    dsub = dlq.add_subparsers(required=True, metavar="ACTION")
    d = dsub.add_parser("list", help="list dead letters")
    d.add_argument("--actor")
    d.add_argument("--status", default="dead", choices=["dead", "replayed", "discarded", "all"])
    d.add_argument("--limit", type=int, default=50)
    d.add_argument("--json", action="store_true", help="one JSON object per line")
    d.set_defaults(func=cmd_dlq_list)
    d = dsub.add_parser("show", help="show one dead letter with its body and traceback")
    d.add_argument("id", type=int)
    d.set_defaults(func=cmd_dlq_show)
    d = dsub.add_parser("replay", help="send dead letters back to their actor")
    d.add_argument("ids", type=int, nargs="+")
    d.set_defaults(func=cmd_dlq_replay)
    d = dsub.add_parser("discard", help="mark dead letters as discarded")
    d.add_argument("ids", type=int, nargs="+")
    d.set_defaults(func=cmd_dlq_discard)

    # commands defined next to what they operate on
    auth_cli.add_commands(sub)
    webhooks.add_commands(sub)
    sandbox_cli.add_commands(sub)
    # loaded by name: importing them here would make mypy (strict on hub/) check the actors
    for path in COMMANDS:
        plugins.load(path, "commands")(sub)
    return p


def cmd_serve(settings: HubSettings, args: argparse.Namespace) -> int:
    """Run until SIGTERM/SIGINT, then shut down gracefully.

    In sandbox mode (``sandbox``) the simulators of the partners nobody configured run in this
    process: their ports are taken now, and their settings are the defaults of the partners'
    sections while the app is built and runs, so the connectors load them (connectors/sandbox).
    """
    import actors
    import connectors
    from hub.edge.app import create_app

    known = {settings_mod.env_name(f) for f in HubSettings.__struct_fields__}
    for section, path in {**actors.SETTINGS, **connectors.SETTINGS}.items():
        cls = plugins.load(path, "settings")
        known |= {settings_mod.env_name(f, section) for f in cls.__struct_fields__}
    for name in settings_mod.unknown_env(known=known):
        log.warning("environment variable %s is not a setting (typo?); ignored", name)
    sandbox = plugins.load("connectors.sandbox.runtime:Sandbox", "sandbox").prepare(settings)
    try:
        with settings_mod.section_defaults(sandbox.defaults):
            app = create_app(
                settings,
                actors=installed_factories(),
                webhooks=webhooks.load_sources(connectors.WEBHOOKS),
                apis=installed_apis(),
                seeds=actors.SEEDS,
            )
            sandbox.install(app)
            log.info("serving on http://%s:%d", settings.http_host, settings.http_port)
            web.run_app(
                app,
                host=settings.http_host,
                port=settings.http_port,
                shutdown_timeout=settings.shutdown_timeout,
                print=None,
                access_log=None,
            )
    finally:
        sandbox.close()
    return 0


def cmd_migrate(settings: HubSettings, args: argparse.Namespace) -> int:
    """Apply migrations (``open_db`` migrates on open)."""

    async def run() -> None:
        forced = msgspec.structs.replace(settings, migrate_on_start=True)
        async with open_db(forced) as db, db.pool.acquire() as conn:
            rows = await conn.fetch("SELECT version, name FROM hub_migrations ORDER BY version")
        print(f"database is at migration {rows[-1]['version']:04d}_{rows[-1]['name']}")

    asyncio.run(run())
    return 0


def cmd_seed(settings: HubSettings, args: argparse.Namespace) -> int:
    """Apply the installed seeds to the configured database, whatever ``demo_data`` says."""
    import actors

    async def run() -> list[str]:
        async with open_db(settings) as db:
            return await seeds.apply(db, actors.SEEDS)

    ran = asyncio.run(run())
    print(f"applied {len(ran)} seed(s)" + (": " + ", ".join(ran) if ran else " (all applied)"))
    print("a running hub publishes their messages now; start one if none runs")
    return 0


def cmd_schemas(settings: HubSettings, args: argparse.Namespace) -> int:
    """Print or write the JSON Schemas."""
    installed_factories()
    schemas = messages.schemas()
    if args.out is None:
        print(json.dumps({"envelope": messages.envelope_schema(), "messages": schemas}, indent=2))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "envelope.json").write_text(json.dumps(messages.envelope_schema(), indent=2))
    for tag, schema in schemas.items():
        (args.out / f"{tag}.json").write_text(json.dumps(schema, indent=2))
    print(f"wrote {len(schemas)} message schemas and envelope.json to {args.out}")
    return 0


def cmd_settings(settings: HubSettings, args: argparse.Namespace) -> int:
    """Show the effective settings with their environment variable names."""
    for field, value in settings_mod.describe(settings).items():
        print(f"{settings_mod.env_name(field):32} {field:24} = {value}")
    return 0


def _with_db(settings: HubSettings, work: Any) -> Any:
    async def run() -> Any:
        async with open_db(settings) as db, db.transaction() as conn:
            return await work(conn)

    return asyncio.run(run())


def cmd_dlq_list(settings: HubSettings, args: argparse.Namespace) -> int:
    """List dead letters, newest last."""
    status = None if args.status == "all" else args.status
    rows = _with_db(
        settings,
        lambda conn: deadletters.list_dead(conn, status=status, actor=args.actor, limit=args.limit),
    )
    if args.json:
        for row in rows:
            data = msgspec.to_builtins(row)
            data.pop("body", None)
            print(json.dumps(data))
        return 0
    if not rows:
        print("no dead letters")
        return 0
    print(f"{'ID':>6}  {'FAILED AT':19}  {'ACTOR':14} {'TYPE':28} {'REASON':11} {'STATUS':9} ERROR")
    for r in rows:
        when = r.failed_at.strftime("%Y-%m-%d %H:%M:%S")
        error = r.error.splitlines()[0][:60] if r.error else ""
        print(
            f"{r.id:>6}  {when:19}  {r.actor:14} {(r.type or '?'):28} {r.reason:11} "
            f"{r.status:9} {error}"
        )
    return 0


def cmd_dlq_show(settings: HubSettings, args: argparse.Namespace) -> int:
    """Show one dead letter in full."""
    row = _with_db(settings, lambda conn: deadletters.get(conn, args.id))
    data = msgspec.to_builtins(row)
    body = data.pop("body", "")
    tb = data.pop("traceback", None)
    print(json.dumps(data, indent=2))
    print("body:")
    try:
        print(json.dumps(json.loads(row.body), indent=2))
    except ValueError:
        print(body)
    if tb:
        print("traceback:")
        print(tb)
    return 0


def cmd_dlq_replay(settings: HubSettings, args: argparse.Namespace) -> int:
    """Queue dead letters for redelivery."""
    done = _with_db(settings, lambda conn: deadletters.replay(conn, args.ids))
    print(f"replayed {len(done)}: {', '.join(map(str, done))} (a running hub publishes them now)")
    return 0


def cmd_dlq_discard(settings: HubSettings, args: argparse.Namespace) -> int:
    """Discard dead letters."""
    done = _with_db(settings, lambda conn: deadletters.discard(conn, args.ids))
    print(f"discarded {len(done)}: {', '.join(map(str, done))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
