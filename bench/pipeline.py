"""Order-to-invoice pipeline benchmark: shop orders from webhook to SmartBill document and email.

The hub runs as real ``cypher-hub serve`` processes (one, then two) on PostgreSQL, RabbitMQ and
Redis; the WooCommerce, SmartBill and SendGrid simulators run in this process
(``tests/chaos/floor.py``, the fault suite's floor). Orders are placed in the simulated shop,
whose signed webhooks reach the edge; an order is done when its SmartBill document (invoice for
a card, proforma for a bank transfer) exists and SendGrid has accepted the email carrying it.

Per hub count:
  paced   ``--paced`` orders at ``--rate`` a second: end-to-end latency p50 / p99 (shop order
          saved → SendGrid receiving the document email) at a load the hub keeps up with;
  burst   ``--orders`` placed at once: orders/s from the first order to the last email.
Then one more burst with the hub under cProfile, summarised: where a hub process's time goes.

SmartBill's own limit (30 calls in 10 s: at most 3 documents a second) is lifted in the
simulator so the figures are the hub's; with it, SmartBill is the bound (docs/PERFORMANCE.md).
Figures only: nothing here asserts a timing.

    CYPHER_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/pipeline.py [--orders 300] [--paced 100] [--rate 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pstats
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Row, write_summary  # noqa: E402
from tests.chaos.checker import check, settle  # noqa: E402
from tests.chaos.floor import (  # noqa: E402
    HUB_UNLIMITED,
    UNLIMITED,
    Floor,
    Options,
    Placed,
    running_floor,
)

BENCH = "order-to-invoice pipeline"


@dataclass
class Phase:
    """One measured phase: how many orders, how long, their end-to-end latencies."""

    label: str
    orders: int
    seconds: float
    latencies: list[float]  # seconds, per order
    verdict: str  # the checker's line

    @property
    def rate(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def finished_at(floor: Floor, placed: list[Placed]) -> dict[str, float]:
    """When SendGrid received each order's document email (``time.time()``)."""
    arrivals = {r.message_id: r.at for r in floor.sendgrid.requests if r.message_id}
    wanted = {(p.email, p.document_email): p.hub_id for p in placed}
    done: dict[str, float] = {}
    for mail in floor.sendgrid.accepted:
        for to in mail.to:
            hub_id = wanted.get((to, (mail.categories or [""])[0]))
            if hub_id is not None and mail.message_id in arrivals:
                done[hub_id] = arrivals[mail.message_id]
    return done


async def phase(floor: Floor, label: str, count: int, rate: float | None, limit: float) -> Phase:
    before = len(floor.placed)
    started = time.time()
    placed = await floor.burst(count, rate=rate)
    await settle(floor, timeout=limit, quiet=1.0)
    done = finished_at(floor, placed)
    report = await check(floor, label)
    latencies = [done[p.hub_id] - p.at for p in placed if p.hub_id in done]
    last = max(done.values(), default=started)
    assert len(floor.placed) == before + count
    return Phase(label, len(done), last - started, latencies, report.line())


def unlimited(hubs: int, profile: Path | None = None) -> Options:
    """The floor with SmartBill's limit lifted (the figures are the hub's), quiet logs."""
    return Options(
        hubs=hubs,
        smartbill_limit=UNLIMITED,
        hub_smartbill_limit=dict(HUB_UNLIMITED),
        smartbill_timeout=10.0,
        log_level="WARNING",
        profile=profile,
    )


async def run_hubs(args: argparse.Namespace, hubs: int, workdir: Path, dsn: str) -> list[Phase]:
    out: list[Phase] = []
    async with running_floor(unlimited(hubs), workdir / f"hubs{hubs}", dsn) as floor:
        await phase(floor, "warm-up", 20, None, 60)  # connections, caches, first queries
        print(f"  {hubs} hub(s): paced {args.paced} orders at {args.rate:g}/s ...", flush=True)
        out.append(await phase(floor, f"{hubs} hub(s), paced", args.paced, args.rate, 120))
        print(f"  {hubs} hub(s): burst of {args.orders} orders ...", flush=True)
        out.append(await phase(floor, f"{hubs} hub(s), burst", args.orders, None, 300))
    return out


async def profile(args: argparse.Namespace, workdir: Path, dsn: str) -> pstats.Stats:
    stats = workdir / "hub.prof"
    async with running_floor(unlimited(1, profile=stats), workdir / "profile", dsn) as floor:
        await phase(floor, "profiled burst", args.profile_orders, None, 300)
    return pstats.Stats(str(stats))


GROUPS = (
    ("asyncpg", ("asyncpg",)),
    ("RabbitMQ client (aio-pika, aiormq, pamqp)", ("aio_pika", "aiormq", "pamqp")),
    ("aiohttp (edge and partner clients)", ("aiohttp", "multidict", "yarl")),
    ("msgspec", ("msgspec",)),
    ("jinja2 (emails)", ("jinja2", "markupsafe")),
    ("redis client", ("redis",)),
    ("asyncio event loop", ("asyncio", "selectors")),
    ("logging", ("logging",)),
    ("hub runtime (hub/)", ("/hub/",)),
    ("contexts (actors/)", ("/actors/",)),
    ("connectors (connectors/)", ("/connectors/",)),
)


def summary(stats: pstats.Stats, wall: float | None = None) -> list[str]:
    """Own time by package, then the functions with the most own time."""
    raw = stats.stats  # type: ignore[attr-defined]
    groups: dict[str, float] = {}
    total = 0.0
    idle = 0.0
    for (path, _, name), (_, _, tottime, _, _) in raw.items():
        total += tottime
        if name in ("<method 'poll' of 'select.epoll' objects>", "select"):
            idle += tottime
            continue
        for group, needles in GROUPS:
            if any(n in path for n in needles):
                groups[group] = groups.get(group, 0.0) + tottime
                break
        else:
            groups["other (stdlib, builtins)"] = groups.get("other (stdlib, builtins)", 0.0) + (
                tottime
            )
    busy = total - idle
    lines = [f"  profiled: {total:.1f} s in the hub process, {idle:.1f} s of it waiting (epoll)"]
    for group, t in sorted(groups.items(), key=lambda kv: -kv[1]):
        lines.append(f"    {group:44} {t:6.2f} s  {100 * t / busy:5.1f} % of busy time")
    lines.append("  functions with the most own time:")
    top = sorted(raw.items(), key=lambda kv: -kv[1][2])
    shown = 0
    for (path, line, name), (_, calls, tottime, _, _) in top:
        if name == "<method 'poll' of 'select.epoll' objects>":
            continue
        short = path.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        lines.append(f"    {tottime:6.2f} s  {calls:8d} calls  {short}:{line} {name}")
        shown += 1
        if shown == 12:
            break
    return lines


async def main(args: argparse.Namespace) -> None:
    dsn = os.environ.get("CYPHER_DATABASE_URL")
    if not dsn:
        raise SystemExit("set CYPHER_DATABASE_URL to a PostgreSQL server (a database is created)")
    print(
        f"order-to-invoice pipeline: {os.cpu_count()} CPUs; the hub as cypher-hub serve "
        "processes, the simulators in this process, SmartBill's limit lifted",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="cypher-pipeline-") as tmp:
        workdir = Path(tmp)
        phases = await run_hubs(args, 1, workdir, dsn)
        phases += await run_hubs(args, 2, workdir, dsn)
        prof = None
        if args.profile_orders:
            print(f"  profile: burst of {args.profile_orders} orders, 1 hub under cProfile ...")
            prof = await profile(args, workdir, dsn)
    print()
    print(f"{'phase':24} {'orders':>6} {'orders/s':>9} {'p50 ms':>8} {'p99 ms':>8}  checker")
    for p in phases:
        print(
            f"{p.label:24} {p.orders:6d} {p.rate:9.1f} {p.quantile(0.5):8.0f} "
            f"{p.quantile(0.99):8.0f}  {p.verdict.split('in ', 1)[-1]}"
        )
    one, two = phases[1], phases[3]
    print(f"\n2 hubs / 1 hub (burst): {two.rate / one.rate:.2f}")
    if prof is not None:
        print()
        print("\n".join(summary(prof)))
    paced = phases[0]
    write_summary(
        args.summary,
        [
            Row(
                BENCH,
                "1 hub, burst",
                one.rate,
                "orders/s",
                detail=f"{one.orders} orders; paced {args.rate:g}/s: p50 "
                f"{paced.quantile(0.5):.0f} ms, p99 {paced.quantile(0.99):.0f} ms",
                reference="SmartBill's limit (30 calls/10 s, 2 per document): documents/s",
                reference_value=1.5,
            ),
            Row.compared(
                BENCH,
                "2 hubs, burst",
                two.rate,
                "orders/s",
                reference="1 hub, burst",
                reference_value=one.rate,
                detail=f"paced: p50 {phases[2].quantile(0.5):.0f} ms, "
                f"p99 {phases[2].quantile(0.99):.0f} ms",
            ),
        ],
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--orders", type=int, default=300, help="orders in each burst")
    p.add_argument("--paced", type=int, default=100, help="orders in each paced phase")
    p.add_argument("--rate", type=float, default=8.0, help="orders a second when paced")
    p.add_argument(
        "--profile-orders", type=int, default=150, help="orders of the profiled burst (0: none)"
    )
    p.add_argument("--summary", help="write the headline rows here (bench/run.py)")
    return p


if __name__ == "__main__":
    asyncio.run(main(_parser().parse_args()))
