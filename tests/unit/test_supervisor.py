"""Supervision: crashed tasks come back with growing backoff; stop and shutdown end them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from hub.supervisor import Supervisor
from hub.telemetry import Metrics


async def eventually(check: Callable[[], Any], *, within: float = 3.0, what: str = "") -> Any:
    """Poll ``check`` until it is truthy, at most ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not (result := check()):
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what or check}")
        await asyncio.sleep(0.005)
    return result


def restarts(metrics: Metrics, task: str) -> float:
    value = metrics.registry.get_sample_value("hub_task_restarts_total", {"task": task})
    return value or 0.0


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def supervisor(metrics: Metrics) -> AsyncIterator[Supervisor]:
    sup = Supervisor(metrics, initial=0.01, maximum=1.0, stable_after=60.0)
    yield sup
    await sup.stop()


class Crashing:
    """A task that fails ``fail_times`` times, then runs until cancelled; it records its runs."""

    def __init__(self, fail_times: int = 1_000_000, *, lasts: float = 0.0) -> None:
        self.fail_times = fail_times
        self.lasts = lasts
        self.starts: list[float] = []
        self.crashes: list[float] = []
        self.cancelled = 0

    async def run(self) -> None:
        self.starts.append(time.monotonic())
        try:
            if self.lasts:
                await asyncio.sleep(self.lasts)
            if len(self.starts) <= self.fail_times:
                self.crashes.append(time.monotonic())
                raise RuntimeError(f"boom {len(self.starts)}")
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


async def test_crashed_task_is_restarted_and_counted(
    supervisor: Supervisor, metrics: Metrics
) -> None:
    task = Crashing(fail_times=2)

    supervisor.start("importer", task.run)

    await eventually(lambda: len(task.starts) == 3, what="third run")
    await eventually(lambda: supervisor.status["importer"].state == "running")
    status = supervisor.status["importer"]
    assert status.restarts == 2
    assert status.last_error == "RuntimeError: boom 2"
    assert status.last_error_at is not None
    assert restarts(metrics, "importer") == 2
    assert supervisor.healthy()


async def test_backoff_grows_between_restarts(supervisor: Supervisor) -> None:
    task = Crashing()  # 10 ms, then 20, 40, 80 (each +-20%)

    supervisor.start("flaky", task.run)
    await eventually(lambda: len(task.starts) >= 5, what="five runs")
    await supervisor.stop("flaky")

    waits = [start - crash for crash, start in zip(task.crashes, task.starts[1:], strict=False)]
    assert waits[0] >= 0.008
    for n, wait in enumerate(waits[:4]):
        assert wait >= 0.01 * 2**n * 0.8 * 0.95, waits  # never shorter than the doubled delay
    assert waits[3] > 0.012 * 2, waits  # so not the flat initial delay either


async def test_backoff_is_capped_at_the_maximum(metrics: Metrics) -> None:
    sup = Supervisor(metrics, initial=0.01, maximum=0.01)
    task = Crashing()
    try:
        sup.start("capped", task.run)
        await eventually(lambda: len(task.starts) >= 8, what="eight runs", within=2.0)
    finally:
        await sup.stop()

    # Uncapped, runs 1..8 would have waited 0.01 * (1 + 2 + ... + 64) = 1.27 s at least.
    assert task.starts[7] - task.starts[0] < 1.0


async def test_backoff_resets_after_a_stable_run(metrics: Metrics) -> None:
    sup = Supervisor(metrics, initial=0.01, maximum=5.0, stable_after=0.03)
    task = Crashing(lasts=0.04)  # every run counts as stable before it crashes
    try:
        sup.start("steady", task.run)
        await eventually(lambda: len(task.starts) >= 6, what="six runs", within=3.0)
    finally:
        await sup.stop()

    waits = [start - crash for crash, start in zip(task.crashes, task.starts[1:], strict=False)]
    # Without the reset the fifth wait would be 0.16 s or more.
    assert max(waits[:5]) < 0.1, waits


async def test_task_that_keeps_running_is_reported_running(
    supervisor: Supervisor, metrics: Metrics
) -> None:
    task = Crashing(fail_times=0)

    supervisor.start("relay", task.run)
    await eventually(lambda: task.starts, what="first run")

    status = supervisor.status["relay"]
    assert status.state == "running"
    assert status.restarts == 0
    assert status.last_error is None
    assert restarts(metrics, "relay") == 0
    assert supervisor.healthy()


async def test_task_that_returns_counts_as_a_crash(
    supervisor: Supervisor, metrics: Metrics
) -> None:
    runs = 0

    async def returns_early() -> None:
        nonlocal runs
        runs += 1

    supervisor.start("quitter", returns_early)
    await eventually(lambda: runs >= 2, what="a restart")

    status = supervisor.status["quitter"]
    assert status.restarts >= 1
    assert status.last_error is not None
    assert "returned" in status.last_error
    assert restarts(metrics, "quitter") >= 1


async def test_cancelled_error_raised_inside_the_task_counts_as_a_crash(
    supervisor: Supervisor,
) -> None:
    runs = 0

    async def awaits_a_cancelled_future() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            future.cancel()
            await future  # raises CancelledError although nobody cancels this task
        await asyncio.Event().wait()

    supervisor.start("consumer", awaits_a_cancelled_future)
    await eventually(lambda: runs == 2, what="a restart after the inner CancelledError")

    status = supervisor.status["consumer"]
    assert status.restarts == 1
    assert status.last_error is not None
    assert "cancelled" in status.last_error
    await eventually(lambda: status.state == "running")


async def test_stop_cancels_every_task(supervisor: Supervisor) -> None:
    first, second = Crashing(fail_times=0), Crashing(fail_times=0)
    supervisor.start("first", first.run)
    supervisor.start("second", second.run)
    await eventually(lambda: first.starts and second.starts, what="both running")

    await supervisor.stop()

    assert first.cancelled == 1
    assert second.cancelled == 1
    assert {s.state for s in supervisor.status.values()} == {"stopped"}
    assert not supervisor.healthy()


async def test_stop_of_one_task_leaves_the_others_running(supervisor: Supervisor) -> None:
    first, second = Crashing(fail_times=0), Crashing(fail_times=0)
    supervisor.start("first", first.run)
    supervisor.start("second", second.run)
    await eventually(lambda: first.starts and second.starts, what="both running")

    await supervisor.stop("first")

    assert first.cancelled == 1
    assert second.cancelled == 0
    assert supervisor.status["first"].state == "stopped"
    assert supervisor.status["second"].state == "running"


async def test_stopped_task_in_backoff_is_not_restarted(metrics: Metrics) -> None:
    sup = Supervisor(metrics, initial=0.05, maximum=0.05)
    task = Crashing()
    sup.start("flaky", task.run)
    await eventually(lambda: sup.status["flaky"].state == "restarting")

    await sup.stop()
    runs = len(task.starts)
    await asyncio.sleep(0.1)

    assert len(task.starts) == runs
    assert sup.status["flaky"].state == "stopped"


async def test_same_name_cannot_be_supervised_twice(supervisor: Supervisor) -> None:
    task = Crashing(fail_times=0)
    supervisor.start("relay", task.run)

    with pytest.raises(ValueError, match="relay"):
        supervisor.start("relay", task.run)


async def test_shutdown_asks_the_task_to_stop_and_waits_for_it(supervisor: Supervisor) -> None:
    stopping = asyncio.Event()
    ended = False

    async def run() -> None:
        nonlocal ended
        await stopping.wait()
        ended = True

    async def stop() -> None:
        stopping.set()

    supervisor.start("actor:orders", run, stop=stop)
    await eventually(lambda: supervisor.status["actor:orders"].state == "running")

    assert await supervisor.shutdown("actor:orders", timeout=1.0) is True
    assert ended
    assert supervisor.status["actor:orders"].state == "stopped"
    assert supervisor.status["actor:orders"].restarts == 0


async def test_shutdown_cancels_a_task_that_does_not_stop_in_time(supervisor: Supervisor) -> None:
    task = Crashing(fail_times=0)
    supervisor.start("stubborn", task.run)
    await eventually(lambda: task.starts)

    assert await supervisor.shutdown("stubborn", timeout=0.05) is False
    assert task.cancelled == 1
    assert supervisor.status["stubborn"].state == "stopped"


async def test_shutdown_during_backoff_ends_at_once(metrics: Metrics) -> None:
    sup = Supervisor(metrics, initial=5.0, maximum=5.0)
    task = Crashing()
    sup.start("flaky", task.run)
    await eventually(lambda: sup.status["flaky"].state == "restarting")
    loop = asyncio.get_running_loop()

    began = loop.time()
    await sup.shutdown("flaky", timeout=3.0)

    assert loop.time() - began < 1.0
    assert len(task.starts) == 1
    assert sup.status["flaky"].state == "stopped"


async def test_stop_abandons_a_task_that_swallows_its_cancellation(
    metrics: Metrics, caplog: pytest.LogCaptureFixture
) -> None:
    sup = Supervisor(metrics, initial=0.01, abandon_after=0.2)
    release, ended = asyncio.Event(), asyncio.Event()

    async def stubborn() -> None:
        try:
            while not release.is_set():
                with contextlib.suppress(asyncio.CancelledError):  # the bug guarded against
                    await release.wait()
        finally:
            ended.set()

    sup.start("stubborn", stubborn)
    await eventually(lambda: sup.status["stubborn"].state == "running")
    await asyncio.wait_for(sup.stop(), timeout=5)  # returns instead of waiting forever

    assert sup.status["stubborn"].state == "stopped"
    assert "task stubborn ignored its cancellation" in caplog.text
    release.set()  # when the abandoned task ends at last, it is not restarted
    await eventually(ended.is_set)
    await asyncio.sleep(0.05)  # a restart would be due after 0.01 s
    assert sup.status["stubborn"].state == "stopped" and restarts(metrics, "stubborn") == 0
