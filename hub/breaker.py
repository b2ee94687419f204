"""Circuit breakers for partner APIs: ``pybreaker`` state machines driven from async code.

A connector wraps each awaited call to its partner::

    async with breaker.calling():
        response = await session.post(...)

pybreaker decides (closed → open after ``fail_max`` failures in a row → half-open after
``reset_timeout`` → closed on a success); an exception escaping the block is a failure unless it
is one of ``excluded`` (a partner's "no" to a bad request is not an outage). While the breaker is
open, :class:`BreakerOpen` (a :class:`~hub.errors.TransientError`) is raised at once with the
seconds left, so the message goes to the delay queues instead of hammering a partner that is down.

``trip(seconds)`` holds a breaker open regardless of counts: SmartBill answers 403 for ten
minutes once its rate limit is exceeded, and calling during that time only extends the block.

Every breaker registers itself by name (:func:`breakers`) for the ops page and readiness; state
changes are logged and counted (``hub_breaker_transitions_total``, ``hub_breaker_open``).
The state is per process: each hub process discovers an outage with its own ``fail_max`` calls,
which bounds the extra calls to ``fail_max`` per process and needs no blocking Redis storage
on the event loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

import pybreaker

from hub.errors import TransientError
from hub.telemetry import Metrics

log = logging.getLogger(__name__)

State = Literal["closed", "open", "half-open"]
_REGISTRY: dict[str, Breaker] = {}


class BreakerOpen(TransientError):
    """The partner's breaker is open: the call was not made. Try again in ``retry_after`` s."""

    def __init__(self, name: str, retry_after: float, reason: str) -> None:
        super().__init__(f"{name} is unavailable ({reason}); retry in {retry_after:.1f} s")
        self.name = name
        self.retry_after = retry_after


class _Listener(pybreaker.CircuitBreakerListener):
    def __init__(self, owner: Breaker) -> None:
        self._owner = owner

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        self._owner._changed(old_state.name if old_state else "closed", new_state.name)


class Breaker:
    """One partner's circuit breaker (``name``: "smartbill", "sendgrid", ...)."""

    def __init__(
        self,
        name: str,
        *,
        fail_max: int = 5,
        reset_timeout: float = 30.0,
        excluded: tuple[type[BaseException], ...] = (),
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.reset_timeout = reset_timeout
        self._metrics = metrics
        self._clock = clock
        self._opened_at = clock()
        self._held_until = 0.0
        self._reason = "too many failures"
        self._cb = pybreaker.CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_timeout,
            exclude=list(excluded),
            listeners=[_Listener(self)],
            name=name,
        )
        _REGISTRY[name] = self
        self._gauge(0.0)

    @property
    def state(self) -> State:
        """Closed, open or half-open (an open breaker past its timeout reads half-open)."""
        if self._clock() < self._held_until:
            return "open"
        current: str = self._cb.current_state
        if current == "open" and self._clock() - self._opened_at >= self.reset_timeout:
            return "half-open"
        return "half-open" if current == "half-open" else current  # type: ignore[return-value]

    @property
    def failures(self) -> int:
        """Failures in a row counted so far."""
        count: int = self._cb.fail_counter
        return count

    def retry_after(self) -> float:
        """Seconds until a call may be tried again (0 when closed or half-open)."""
        now = self._clock()
        held = self._held_until - now
        if held > 0:
            return held
        if self._cb.current_state == "open":
            return max(0.0, self.reset_timeout - (now - self._opened_at))
        return 0.0

    @asynccontextmanager
    async def calling(self) -> AsyncIterator[None]:
        """Run the block as one call through the breaker; :class:`BreakerOpen` while open."""
        wait = self.retry_after()
        if wait > 0:
            raise BreakerOpen(self.name, wait, self._reason)
        if self._held_until:  # a hold just ended: one trial call decides, as after a timeout
            self._held_until = 0.0
            if self._cb.current_state == "open":
                self._cb.half_open()
        failure: BaseException | None = None
        try:
            with self._cb.calling():
                try:
                    yield
                except BaseException as exc:
                    failure = exc
                    raise
        except pybreaker.CircuitBreakerError:
            if failure is not None:
                # This call failed and its failure opened the breaker; pybreaker raises its own
                # error instead, which would read as "not attempted". The call's own error says
                # what happened (a timed-out write may have been done: never a blind retry).
                raise failure from None
            raise BreakerOpen(self.name, self.reset_timeout, self._reason) from None

    def trip(self, seconds: float, reason: str) -> None:
        """Hold the breaker open for ``seconds`` (a partner told us to stay away)."""
        self._reason = reason
        self._held_until = max(self._held_until, self._clock() + seconds)
        if self._cb.current_state != "open":
            self._cb.open()
        log.warning("breaker %s held open for %.0f s: %s", self.name, seconds, reason)

    def reset(self) -> None:
        """Close the breaker (operations, after fixing the cause)."""
        self._held_until = 0.0
        self._cb.close()

    def _changed(self, old: str, new: str) -> None:
        if new == "open":
            self._opened_at = self._clock()
        if new == "closed":
            self._reason = "too many failures"
        log.warning("breaker %s: %s -> %s", self.name, old, new)
        if self._metrics is not None:
            self._metrics.breaker_transitions.labels(partner=self.name, to=new).inc()
        self._gauge(1.0 if new == "open" else 0.0)

    def _gauge(self, value: float) -> None:
        if self._metrics is not None:
            self._metrics.breaker_open.labels(partner=self.name).set(value)


def breakers() -> dict[str, Breaker]:
    """The breakers made in this process, by partner name (ops page, readiness)."""
    return dict(_REGISTRY)
