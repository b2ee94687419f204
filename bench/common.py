"""What every benchmark shares: the summary rows ``bench/run.py`` gathers into one table.

A benchmark run with ``--summary FILE`` writes its headline figures there as JSON, one
:class:`Row` each: the figure, and the reference it was measured next to in the same run (so
the ratio holds on a noisy machine). The benchmark's own detailed output stays on stdout.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import msgspec


@dataclass(frozen=True)
class Row:
    """One line of the table: ``value unit`` next to ``reference`` (same run) and the goal."""

    bench: str  # the section: "webhook intake", "actor runtime", ...
    figure: str  # what was measured: "edge, group commit"
    value: float
    unit: str  # "deliveries/s", "s", "calls"
    detail: str = ""  # "p50 17 ms, p99 77 ms"
    reference: str = ""  # what it is compared with: "(a) bound"
    reference_value: float | None = None
    goal: str = ""  # "≥ 0.60 of (a)"; empty when the row is a reference itself
    ratio: float | None = None  # value / reference_value (or as the goal reads it)
    met: bool | None = None  # the goal, when there is one

    @classmethod
    def compared(
        cls,
        bench: str,
        figure: str,
        value: float,
        unit: str,
        *,
        reference: str,
        reference_value: float,
        goal: float | None = None,
        detail: str = "",
        lower_is_better: bool = False,
    ) -> Row:
        """A row with its ratio to the reference and, given ``goal``, whether the ratio meets
        it (``value / reference ≥ goal``; with ``lower_is_better`` the ratio is
        ``reference / value``, e.g. API calls against the minimum)."""
        if lower_is_better:
            ratio = reference_value / value if value else 0.0
        else:
            ratio = value / reference_value if reference_value else 0.0
        return cls(
            bench=bench,
            figure=figure,
            value=value,
            unit=unit,
            detail=detail,
            reference=reference,
            reference_value=reference_value,
            goal="" if goal is None else f"≥ {goal:g}",
            ratio=ratio,
            met=None if goal is None else ratio >= goal,
        )


def write_summary(path: str | Path | None, rows: list[Row]) -> None:
    """Write the rows as JSON to ``path`` (no-op when the benchmark runs on its own)."""
    if path:
        Path(path).write_bytes(msgspec.json.encode([asdict(r) for r in rows]))


def read_summary(path: str | Path) -> list[Row]:
    """The rows a benchmark wrote (empty if it wrote none)."""
    p = Path(path)
    if not p.exists() or not p.stat().st_size:
        return []
    return [Row(**r) for r in msgspec.json.decode(p.read_bytes())]
