"""Outbound HTTP to partner APIs: one session, a rate limiter, a breaker and careful retries.

:class:`Outbound` is what every connector client sends through::

    api = Outbound("sendgrid", base_url="https://api.sendgrid.com", breaker=Breaker("sendgrid"))
    result = await api.request("POST", "/v3/mail/send", json=body, headers=auth, retry=False)

- **Rate limit**: before each attempt a token is taken from the bucket ``outbound:<name>``
  (Redis when the hub has it, so every hub process shares the partner's limit).
- **Breaker**: 5xx answers, timeouts and connection errors count as failures; a 4xx is the
  partner's answer, returned to the client to map onto its typed errors (429 is retried, never
  counted: being throttled is not an outage).
- **Retries** (``retry=True``): 429, 5xx, timeouts and connection errors, with jittered
  exponential backoff, honouring ``Retry-After``. Only for requests that are safe to repeat
  (reads, or writes the partner deduplicates). ``retry=False`` makes one attempt: the caller
  decides what an unknown outcome means.
- After the last attempt :class:`PartnerUnavailable` (a ``TransientError``: the runtime's delay
  queues take over) says whether the partner may have done the work (``outcome_unknown``: the
  request was sent but no answer came back).
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec
from multidict import CIMultiDictProxy

from hub.breaker import Breaker
from hub.errors import TransientError
from hub.ratelimit import RateLimiter
from hub.telemetry import Metrics


class PartnerUnavailable(TransientError):
    """The partner did not answer usefully after the attempts allowed."""

    def __init__(
        self,
        name: str,
        reason: str,
        *,
        status: int | None = None,
        outcome_unknown: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.status = status
        self.outcome_unknown = outcome_unknown
        self.retry_after = retry_after


@dataclass(frozen=True)
class HttpResult:
    """A partner's answer: status, headers and the raw body."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self, type: Any = Any) -> Any:
        """The body decoded as JSON (into ``type`` when given)."""
        return msgspec.json.decode(self.body, type=type)


class _ServerError(Exception):
    """A 5xx answer, raised inside the breaker so it counts as a failure."""

    def __init__(self, result: HttpResult) -> None:
        super().__init__(f"HTTP {result.status}")
        self.result = result


class Outbound:
    """Requests to one partner (see the module docstring)."""

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        breaker: Breaker,
        timeout: float = 10.0,
        limiter: RateLimiter | None = None,
        per_second: float | None = None,
        burst: int = 1,
        attempts: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        session: aiohttp.ClientSession | None = None,
        metrics: Metrics | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.breaker = breaker
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._limiter = limiter if per_second else None
        self._per_second = per_second or 0.0
        self._burst = max(1, burst)
        self._session = session
        self._own_session = session is None
        self._metrics = metrics
        self._sleep = sleep

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        retry: bool = True,
    ) -> HttpResult:
        """Send, retrying what may be retried; a 2xx-4xx answer is returned as it is."""
        body = msgspec.json.encode(json) if json is not None else data
        sent_headers = dict(headers or {})
        if json is not None:
            sent_headers.setdefault("Content-Type", "application/json")
        attempts = self.attempts if retry else 1
        for attempt in range(1, attempts + 1):
            await self._token()
            try:
                async with self.breaker.calling():
                    result = await self._once(method, path, body, sent_headers, params)
            except _ServerError as exc:
                failure = PartnerUnavailable(
                    self.name, f"HTTP {exc.result.status}", status=exc.result.status
                )
                wait = _retry_after(exc.result)
            except (TimeoutError, aiohttp.ClientError) as exc:
                connect_failed = isinstance(exc, aiohttp.ClientConnectorError)
                self._count("error" if connect_failed else "timeout")
                failure = PartnerUnavailable(
                    self.name,
                    f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
                    outcome_unknown=not connect_failed,
                )
                wait = None
            else:
                if result.status != 429:
                    return result
                failure = PartnerUnavailable(self.name, "HTTP 429 (throttled)", status=429)
                wait = _retry_after(result)
            failure.retry_after = wait
            if attempt == attempts or (wait is not None and wait > self.max_backoff):
                raise failure
            await self._sleep(wait if wait is not None else self._delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(
        self,
        method: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
        params: Mapping[str, str] | None,
    ) -> HttpResult:
        session = self._ensure_session()
        async with session.request(
            method,
            self.base_url + path,
            data=body,
            headers=headers,
            params=params,
            timeout=aiohttp.ClientTimeout(total=self.timeout),
        ) as response:
            result = HttpResult(response.status, response.headers, await response.read())
        self._count(f"{result.status // 100}xx")
        if result.status >= 500:
            raise _ServerError(result)
        return result

    def _delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter in its upper half."""
        base: float = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        return base * random.uniform(0.5, 1.0)

    async def _token(self) -> None:
        if self._limiter is None:
            return
        while True:
            wait = await self._limiter.take(
                f"outbound:{self.name}", per_second=self._per_second, burst=self._burst
            )
            if wait <= 0:
                return
            await self._sleep(wait)

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(raise_for_status=False)
            self._own_session = True
        return self._session

    def _count(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.outbound.labels(partner=self.name, outcome=outcome).inc()

    async def close(self) -> None:
        """Close the session (when this object opened it)."""
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None


def _retry_after(result: HttpResult) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date), if any."""
    value = result.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, float(when.timestamp()) - time.time())
