"""Quotation PDF benchmark: PDFs/s through the hub's worker pool, and what the event loop feels.

A ticker task sleeps 10 ms in a loop and records how late it wakes up (the event-loop lag: what
every other request of the hub would wait). Measured in one run on one machine:

  idle       the ticker alone: the lag of an idle loop, the floor of the figures below;
  pool       ``--pdfs`` quotation PDFs (``--lines`` lines each, priced by the real pricing
             engine, rendered from the real template) through ``PdfRenderer`` with
             ``--workers`` processes, ``--concurrency`` documents in flight; the HTML is made
             on the loop (jinja2) as the API does, WeasyPrint runs in the workers;
  inline     ``--inline`` of the same documents printed by WeasyPrint on the loop itself, as
             a handler calling it directly would: the lag shows what blocking would cost.

The first document through the pool starts the workers (a fresh interpreter importing
WeasyPrint); it is timed on its own and left out of the pool's figures, as is one inline
warm-up. Figures only: nothing here asserts a timing. No database or broker is needed.

Workers are recycled as in the hub (``--max-tasks 50``, the default setting): every
``workers * max-tasks`` documents the pool is retired and a fresh one started, so the figures
include those restarts. A render that stalls past the time limit is reported, not measured.

    .venv/bin/python bench/quotation_pdf.py [--pdfs 200] [--workers 2] [--inline 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from actors.quotations.document import QuotationDocument
    from hub.pdf import PdfRenderer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Row, write_summary  # noqa: E402

D = Decimal
ON = date(2026, 3, 1)
TICK = 0.010
NAMES = (
    ("metre", "Bandă LED 12V 14,4W/m IP65 lumină caldă 3000K, rolă de 5 m"),
    ("piece", "Sursă alimentare 12V 100W IP20, carcasă metalică"),
    ("piece", "Profil aluminiu aparent 2 m, difuzor opal, capace și cleme"),
    ("piece", "Spot LED GU10 7W lumină neutră 4000K, unghi 38°"),
    ("piece", "Controller RGB Wi-Fi cu telecomandă, 24 de taste"),
)


def documents(count: int, lines: int) -> list[QuotationDocument]:
    """``count`` quotation documents of ``lines`` lines, priced by the pricing engine."""
    from actors.pricing import domain as pricing
    from actors.pricing.rules import PriceInput, SkuRules, VolumeBreak
    from actors.quotations.document import (
        Client,
        QuotationDocument,
        Seller,
        document_line,
        lines_total,
    )

    seller = Seller(
        name="Ledux SRL",
        cui="RO18547290",
        reg_com="J40/1234/2012",
        street="Șoseaua Ștefan cel Mare nr. 12",
        city="București",
        county="Sector 2",
        iban="RO49AAAA1B31007593840000",
        bank="Banca Transilvania",
        email="oferte@ledux.ro",
        phone="+40 21 555 0101",
    )
    made: list[QuotationDocument] = []
    for n in range(count):
        printed = []
        for i in range(lines):
            unit, name = NAMES[i % len(NAMES)]
            sku = f"SKU-{n:04d}-{i:02d}"
            item = PriceInput(
                sku=sku,
                version=1,
                category="led",
                unit=unit,  # type: ignore[arg-type]
                cost=D(5 + (n * 7 + i * 13) % 200) / 2,
                margin=D("0.45"),
                status="active",
            )
            ladder = (
                VolumeBreak(id=1, scope="sku", target=sku, min_quantity=D(10), discount=D("0.05")),
            )
            rules = SkuRules(min_margin=D("0.1"), volume_breaks=ladder)
            line = pricing.price_line(item, n % 4, D(1 + (i * 7) % 40), rules, ON)
            printed.append(document_line(line, name=f"{name} ({i + 1})", unit=line.unit))
        chosen = tuple(printed)
        made.append(
            QuotationDocument(
                seller=seller,
                number=f"OF-2026-{n + 1:05d}",
                issued_on=ON,
                valid_until=date(2026, 3, 15),
                client=Client(
                    kind="company",
                    name=f"Țesătoria Ștefănești nr. {n} SRL",
                    cui="RO33034700",
                    street="Str. Văii nr. 14",
                    city="Iași",
                    county="Iași",
                ),
                lines=chosen,
                totals=lines_total(chosen),
            )
        )
    return made


@dataclass
class Ticker:
    """How late a 10 ms sleep wakes up, recorded until stopped."""

    lags: list[float] = field(default_factory=list)
    _running: bool = True

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._running:
            began = loop.time()
            await asyncio.sleep(TICK)
            self.lags.append(loop.time() - began - TICK)

    def stop(self) -> None:
        self._running = False

    def summary(self) -> str:
        lags = sorted(x * 1000 for x in self.lags) or [float("nan")]
        return (
            f"lag p50 {quantile(lags, 0.5):7.2f} ms  p99 {quantile(lags, 0.99):7.2f} ms  "
            f"max {lags[-1]:7.2f} ms  ({len(lags)} ticks)"
        )


def quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def with_ticker(work: Awaitable[None]) -> tuple[Ticker, float]:
    """Run the coroutine ``work`` with a ticker alongside; the ticker and the wall time."""
    ticker = Ticker()
    task = asyncio.create_task(ticker.run())
    await asyncio.sleep(TICK * 2)  # the ticker is ticking before the work starts
    began = time.perf_counter()
    await work
    elapsed = time.perf_counter() - began
    ticker.stop()
    await task
    return ticker, elapsed


async def idle(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def through_pool(
    renderer: PdfRenderer, docs: list[QuotationDocument], concurrency: int, latencies: list[float]
) -> None:
    """Render every document through the pool, ``concurrency`` in flight; per-PDF seconds
    appended to ``latencies`` as they finish."""
    from actors.quotations.document import render_pdf

    queue = list(enumerate(docs))
    step = max(1, len(docs) // 10)

    async def worker() -> None:
        while queue:
            n, doc = queue.pop(0)
            began = time.perf_counter()
            pdf = await render_pdf(renderer, doc)
            latencies.append(time.perf_counter() - began)
            if not pdf.startswith(b"%PDF-"):
                raise RuntimeError(f"document {n} is not a PDF")
            if len(latencies) % step == 0:
                print(f"    {len(latencies)}/{len(docs)} PDFs", flush=True)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def inline(docs: list[QuotationDocument]) -> list[float]:
    """WeasyPrint on the event loop itself (what the pool exists to avoid)."""
    from actors.quotations.document import render_html
    from hub.pdf import _render

    latencies: list[float] = []
    for doc in docs:
        began = time.perf_counter()
        _render(render_html(doc), None, None)
        latencies.append(time.perf_counter() - began)
        await asyncio.sleep(TICK)  # the ticker runs between two documents (not timed)
    return latencies


def latency(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    return f"per PDF p50 {quantile(ms, 0.5):7.1f} ms  p99 {quantile(ms, 0.99):7.1f} ms"


async def main(args: argparse.Namespace) -> None:
    from actors.quotations.document import render_html, render_pdf
    from hub.pdf import PdfRenderer, RenderTimeout, _render

    print(
        f"quotation PDF benchmark: {args.pdfs} PDFs of {args.lines} lines through "
        f"{args.workers} workers (max {args.max_tasks} PDFs each), {args.concurrency} in "
        f"flight; {args.inline} inline; {os.cpu_count()} CPUs",
        flush=True,
    )
    docs = documents(args.pdfs + 1, args.lines)
    began = time.perf_counter()
    html = [render_html(d) for d in docs]
    html_ms = (time.perf_counter() - began) * 1000 / len(docs)
    print(f"  HTML (jinja2, on the loop): {html_ms:.2f} ms per document, {len(html[0]):,} chars")

    ticker, _ = await with_ticker(idle(args.idle))
    print(f"  idle loop             {ticker.summary()}", flush=True)

    renderer = PdfRenderer(workers=args.workers, max_tasks=args.max_tasks, timeout=args.timeout)
    results: list[float] = []
    try:
        began = time.perf_counter()
        first = await render_pdf(renderer, docs[0])
        start_ms = (time.perf_counter() - began) * 1000
        print(f"  first PDF (starts a worker): {start_ms:.0f} ms, {len(first):,} bytes", flush=True)
        print("  pool:", flush=True)
        pool_run = through_pool(renderer, docs[1:], args.concurrency, results)
        pool_ticker, pool_seconds = await with_ticker(pool_run)
    except RenderTimeout:
        print(
            f"the pool stalled after {len(results)} PDFs: no PDF within {args.timeout:g} s",
            flush=True,
        )
        # the stalled executor's manager thread would hold up the interpreter's exit
        os._exit(1)
    await renderer.close()

    _render(html[0], None, None)  # warm-up: WeasyPrint imported and its fonts loaded here too

    inline_results: list[float] = []

    async def inline_run() -> None:
        inline_results.extend(await inline(docs[1 : 1 + args.inline]))

    print("  inline:", flush=True)
    inline_ticker, _ = await with_ticker(inline_run())

    print()
    print(f"{'scenario':22} {'PDFs/s':>7}  event loop while rendering")
    print(f"{'idle loop':22} {'':>7}  {ticker.summary()}")
    pool_rate = len(results) / pool_seconds
    print(
        f"{'pool, ' + str(args.workers) + ' workers':22} {pool_rate:7.1f}  {pool_ticker.summary()}"
    )
    inline_rate = len(inline_results) / sum(inline_results)  # the pauses left out
    print(f"{'inline on the loop':22} {inline_rate:7.1f}  {inline_ticker.summary()}")
    print()
    print(f"  pool:   {latency(results)} (queueing included)")
    print(f"  inline: {latency(inline_results)} (each one a loop stall)")
    print(f"  pool/inline throughput: {pool_rate / inline_rate:.2f}")

    def p99(t: Ticker) -> float:
        return quantile(sorted(x * 1000 for x in t.lags) or [float("nan")], 0.99)

    bench = f"quotation PDFs ({args.lines} lines)"
    write_summary(
        args.summary,
        [
            Row(
                bench,
                "inline on the loop",
                inline_rate,
                "PDFs/s",
                detail=f"loop lag p99 {p99(inline_ticker):.0f} ms",
            ),
            Row.compared(
                bench,
                f"process pool, {args.workers} workers",
                pool_rate,
                "PDFs/s",
                reference="inline",
                reference_value=inline_rate,
                detail=f"loop lag p99 {p99(pool_ticker):.1f} ms (idle {p99(ticker):.1f} ms)",
            ),
        ],
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--pdfs", type=int, default=200)
    p.add_argument("--summary", help="write the headline rows here (bench/run.py)")
    p.add_argument("--lines", type=int, default=20)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--max-tasks", type=int, default=50, help="PDFs per worker before recycling")
    p.add_argument("--timeout", type=float, default=30.0, help="the renderer's time limit")
    p.add_argument("--concurrency", type=int, default=4, help="documents in flight")
    p.add_argument("--inline", type=int, default=5)
    p.add_argument("--idle", type=float, default=2.0, help="seconds of idle-loop reference")
    return p


if __name__ == "__main__":  # required: the workers are spawned and import this file
    asyncio.run(main(_parser().parse_args()))
