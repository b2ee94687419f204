"""``make bench``: every benchmark in one run, then one table of the headline figures.

Each benchmark runs as its own process with settings sized so the whole run stays under ten
minutes on a 2-core machine; its full output goes to ``bench/out/<name>.log`` (and its progress
to the terminal), its headline rows to a summary file (``--summary``, ``bench/common.py``).
Every figure sits next to the reference it was measured with in the same run, so the ratios
hold on a noisy machine; the absolute figures move with whatever else the machine is doing.

    make bench                       # all of them (about 8 minutes)
    .venv/bin/python bench/run.py --only pipeline,pdf
    .venv/bin/python bench/run.py --list
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Row, read_summary  # noqa: E402

OUT = ROOT / "bench" / "out"


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    args: tuple[str, ...]
    about: str  # roughly how long, for the progress line


BENCHES = (
    Bench(
        "webhooks",
        "webhook_intake.py",
        ("--duration", "4", "--rounds", "2"),
        "about 50 s",
    ),
    Bench("runtime", "actor_runtime.py", ("--messages", "3000", "--rounds", "3"), "about 60 s"),
    Bench(
        "pipeline",
        "pipeline.py",
        ("--orders", "200", "--paced", "80", "--rate", "5", "--profile-orders", "100"),
        "about 3 minutes",
    ),
    Bench("quotes", "price_quote.py", ("--duration", "4"), "about 30 s"),
    Bench("repricing", "repricing.py", ("--skus", "50000"), "about 20 s"),
    Bench("pdf", "quotation_pdf.py", ("--pdfs", "60", "--inline", "3"), "about 40 s"),
    Bench("woo-push", "woo_push.py", (), "about 35 s"),
)
SERVICES = {
    "CYPHER_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres",
    "CYPHER_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/",
    "CYPHER_REDIS_URL": "redis://127.0.0.1:6379/0",
}


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{os.cpu_count()} CPUs ({cpu}){memory}, Python {platform.python_version()}, "
        f"load average {load:.1f} at the start"
    )


def run(bench: Bench, env: dict[str, str]) -> tuple[list[Row], float, int]:
    OUT.mkdir(exist_ok=True)
    summary = OUT / f"{bench.name}.json"
    summary.unlink(missing_ok=True)
    log = OUT / f"{bench.name}.log"
    command = [sys.executable, str(ROOT / "bench" / bench.script), *bench.args]
    command += ["--summary", str(summary)]
    print(f"==> {bench.name}: {bench.script} {' '.join(bench.args)} ({bench.about})", flush=True)
    began = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if line.startswith("  ") and len(line) < 140:  # the benchmarks' progress lines
                print(f"    {line.rstrip()}", flush=True)
        code = proc.wait()
    seconds = time.monotonic() - began
    if code != 0:
        print(f"    FAILED (exit {code}); its output: {log}", flush=True)
    return read_summary(summary), seconds, code


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return ""
    text = f"{value:,.2f}" if unit == "s" or abs(value) < 10 else f"{value:,.0f}"
    return text.replace(",", " ")


def table(rows: list[Row]) -> list[str]:
    lines = [
        f"| {'benchmark':30} | {'figure':34} | {'value':>14} | {'reference (same run)':34} "
        f"| {'ratio':>6} | {'goal':>6} | met | detail |",
        "| --- | --- | ---: | --- | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        ref = f"{r.reference} {fmt(r.reference_value)}".strip() if r.reference else ""
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(
            f"| {r.bench:30} | {r.figure:34} | {fmt(r.value, r.unit) + ' ' + r.unit:>14} "
            f"| {ref:34} | {fmt(r.ratio):>6} | {r.goal:>6} | {met} | {r.detail} |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated names (see --list)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks")
    args = parser.parse_args()
    if args.list:
        for b in BENCHES:
            print(f"{b.name:10} bench/{b.script} {' '.join(b.args)}  ({b.about})")
        return 0
    chosen = BENCHES
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {b.name for b in BENCHES}
        if unknown:
            parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))} (see --list)")
        chosen = tuple(b for b in BENCHES if b.name in wanted)
    env = {**SERVICES, **os.environ}
    about = machine()
    print(f"Cypher Hub benchmarks on {about}", flush=True)
    began = time.monotonic()
    rows: list[Row] = []
    failed: list[str] = []
    for bench in chosen:
        found, seconds, code = run(bench, env)
        print(f"    done in {seconds:.0f} s", flush=True)
        rows.extend(found)
        if code != 0 or not found:
            failed.append(bench.name)
    total = time.monotonic() - began
    lines = [
        "",
        f"Cypher Hub benchmarks, {time.strftime('%Y-%m-%d %H:%M')}, {about}; "
        f"{total / 60:.1f} minutes in all",
        "",
        *table(rows),
    ]
    if failed:
        lines.append(f"\nno figures from: {', '.join(failed)} (see bench/out/<name>.log)")
    text = "\n".join(lines)
    print(text)
    (OUT / "table.md").write_text(text + "\n")
    print(f"\n(the table is also in {OUT / 'table.md'}; each benchmark's output beside it)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
