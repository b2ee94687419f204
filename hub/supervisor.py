"""One-for-one supervision: long-lived tasks restarted with backoff when they crash."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hub.telemetry import Metrics

log = logging.getLogger(__name__)


@dataclass
class TaskStatus:
    """What operations see of a supervised task."""

    name: str
    state: str = "starting"  # running | restarting | stopped
    restarts: int = 0
    last_error: str | None = None
    last_error_at: float | None = None


class Supervisor:
    """Runs named coroutines forever; a crash is logged, metered and restarted with backoff.

    The backoff doubles from ``initial`` up to ``maximum`` and resets once a run has lasted
    ``stable_after`` seconds.
    """

    def __init__(
        self,
        metrics: Metrics,
        *,
        initial: float = 0.2,
        maximum: float = 30.0,
        stable_after: float = 60.0,
        abandon_after: float = 30.0,
    ) -> None:
        self._metrics = metrics
        self._abandon_after = abandon_after
        self._initial = initial
        self._maximum = maximum
        self._stable_after = stable_after
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stoppers: dict[str, Callable[[], Awaitable[None]]] = {}
        self.status: dict[str, TaskStatus] = {}

    def start(
        self,
        name: str,
        run: Callable[[], Awaitable[None]],
        *,
        stop: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Start supervising ``run`` under ``name``; ``stop`` asks it to end gracefully."""
        if name in self._tasks:
            raise ValueError(f"task {name!r} is already supervised")
        self.status[name] = TaskStatus(name)
        if stop is not None:
            self._stoppers[name] = stop
        self._tasks[name] = asyncio.create_task(self._supervise(name, run), name=f"hub:{name}")

    async def _supervise(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        status = self.status[name]
        delay = self._initial
        while True:
            started = time.monotonic()
            status.state = "running"
            try:
                await run()
                if status.state in ("stopping", "stopped"):  # stopped: it was abandoned
                    status.state = "stopped"
                    return
                raise RuntimeError("returned while it should run until stopped")
            except asyncio.CancelledError as cancelled:
                if _cancel_requested():
                    status.state = "stopped"
                    raise
                # Raised inside run() while nobody cancelled this task (an awaited future
                # cancelled under it): a crash to restart, not an end nobody would notice.
                exc: Exception = RuntimeError(f"cancelled from inside: {cancelled!r}")
                exc.__cause__ = cancelled
            except Exception as error:
                exc = error
            if status.state in ("stopping", "stopped"):
                status.state = "stopped"
                log.warning("task %s failed while stopping: %r", name, exc)
                return
            status.restarts += 1
            status.state = "restarting"
            status.last_error = f"{type(exc).__name__}: {exc}"
            status.last_error_at = time.time()
            self._metrics.restarts.labels(name).inc()
            if time.monotonic() - started >= self._stable_after:
                delay = self._initial
            log.error(
                "task %s crashed (restart %d in %.1fs): %s",
                name,
                status.restarts,
                delay,
                status.last_error,
                exc_info=exc,
                extra={"task": name},
            )
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self._maximum)
            if status.state == "stopping":  # asked to stop while waiting to restart
                status.state = "stopped"
                return

    async def stop(self, name: str | None = None) -> None:
        """Cancel one task, or all of them, and wait until they are gone.

        A task still running ``abandon_after`` seconds after its cancellation swallowed it (a
        bug: see ``hub.outbox.OutboxRelay._idle``): it is logged as an error and left behind,
        so a stopping hub still stops instead of waiting forever.
        """
        names = [name] if name else list(self._tasks)
        tasks = {n: self._tasks.pop(n) for n in names if n in self._tasks}
        for task in tasks.values():
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(set(tasks.values()), timeout=self._abandon_after)
            for n, task in tasks.items():
                if task in pending:
                    log.error(
                        "task %s ignored its cancellation for %.0f s; abandoned (a bug: report it)",
                        n,
                        self._abandon_after,
                        extra={"task": n},
                    )
                elif not task.cancelled() and task.exception() is not None:
                    log.debug("task %s ended with %r", n, task.exception())
        for n in names:
            if n in self.status:
                self.status[n].state = "stopped"

    async def shutdown(self, name: str, timeout: float) -> bool:  # noqa: ASYNC109 (a grace period)
        """Ask a task to stop gracefully and wait for it; cancel it after ``timeout``.

        Returns True when it ended by itself.
        """
        task = self._tasks.get(name)
        if task is None:
            return True
        if self.status[name].state == "restarting":  # in its backoff: nothing runs to wait for
            await self.stop(name)
            return True
        self.status[name].state = "stopping"
        stop = self._stoppers.get(name)
        if stop is not None:
            await stop()
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            await self.stop(name)
        self._tasks.pop(name, None)
        return bool(done)

    def healthy(self) -> bool:
        """True when every task is running."""
        return all(s.state == "running" for s in self.status.values())


def _cancel_requested() -> bool:
    """True when the running task itself is being cancelled (not a CancelledError from inside)."""
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0
