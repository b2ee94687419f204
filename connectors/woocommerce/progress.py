"""A progress line for long shell commands (``cypher-hub woo reconcile``), on standard error.

On a terminal: one line redrawn in place (count/total, a bar, percent, rate), at most ten times a
second. Elsewhere (a log file, cron, CI): a plain line each time another ``every`` percent is
done, and at the end, so logs stay readable. No dependency: tqdm/rich would be one for 40 lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 24  # characters of the bar


class Progress:
    """Progress of one phase (``label``) towards ``total`` items (None: not known yet)."""

    def __init__(
        self,
        stream: TextIO,
        label: str,
        total: int | None = None,
        *,
        tty: bool | None = None,
        every: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.label = label
        self.total = total
        self.count = 0
        self.tty = stream.isatty() if tty is None else tty
        self.every = max(1, every)
        self._clock = clock
        self._started = clock()
        self._drawn_at = -1.0
        self._next_step = self.every
        self._finished = False

    def update(self, count: int, total: int | None = None) -> None:
        """``count`` items done so far (``total`` when it became known)."""
        self.count = count
        if total is not None:
            self.total = total
        if self.tty:
            now = self._clock()
            if now - self._drawn_at >= 0.1 or count == self.total:
                self._drawn_at = now
                self.stream.write("\r" + self.line() + "\x1b[K")
                self.stream.flush()
        elif self.total:
            percent = count * 100 // self.total
            if percent >= self._next_step and count < self.total:
                self._next_step = (percent // self.every + 1) * self.every
                self._print()
        elif self.total is None:
            self._print()  # no total to take percents of: a line per step (a page)

    def done(self) -> None:
        """The phase ended (also when it stopped early): the last figures, then a new line."""
        if self._finished:
            return
        self._finished = True
        if self.tty:
            self.stream.write("\r" + self.line() + "\x1b[K\n")
            self.stream.flush()
        else:
            self._print()

    def line(self) -> str:
        """``label: 150/250 [#########.......]  60%  420/s``."""
        elapsed = max(self._clock() - self._started, 1e-6)
        rate = f"{self.count / elapsed:.0f}/s"
        if not self.total:
            return f"{self.label}: {self.count}  {rate}"
        fraction = min(1.0, self.count / self.total)
        filled = round(fraction * WIDTH)
        bar = "#" * filled + "." * (WIDTH - filled)
        return f"{self.label}: {self.count}/{self.total} [{bar}] {fraction:4.0%}  {rate}"

    def _print(self) -> None:
        self.stream.write(self.line() + "\n")
        self.stream.flush()
