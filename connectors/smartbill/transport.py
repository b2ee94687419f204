"""One SmartBill request: Basic auth, the rate-limit block and window, answers as typed errors.

Requests go through :class:`hub.http.Outbound` (a limiter token per attempt, the breaker,
timeouts). Reads (GET) are repeated by it on 5xx/timeouts; writes are sent once, and a write
whose answer was lost raises :class:`~connectors.smartbill.errors.OutcomeUnknown`.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec

from connectors.smartbill.errors import (
    OutcomeUnknown,
    SmartBillBlocked,
    SmartBillUnavailable,
    rejection,
)
from connectors.smartbill.wire import unwrap
from hub.errors import ConfigError
from hub.http import HttpResult, Outbound, PartnerUnavailable
from hub.settings import Secret, env_name

log = logging.getLogger(__name__)
T = TypeVar("T")

JSON = "application/json"
GATEWAY_LOST = frozenset({502, 504})  # a proxy lost the origin's answer: it may have done the work


class Transport:
    """Sends requests to SmartBill for :class:`~connectors.smartbill.client.SmartBillClient`."""

    def __init__(
        self,
        outbound: Outbound,
        *,
        username: str,
        token: Secret | None,
        block_seconds: float = 600.0,
        max_pause: float = 10.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.outbound = outbound
        self.block_seconds = block_seconds
        self._username = username
        self._token = token
        self._max_pause = max_pause
        self._clock = clock
        self._sleep = sleep
        self._pause_until = 0.0

    async def send(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        params: dict[str, str] | None = None,
        body: bytes | None = None,
        accept: str = JSON,
        series: str = "",
        number: str | None = None,
    ) -> HttpResult:
        """The 2xx answer; otherwise the typed error (``series``/``number`` for OutcomeUnknown)."""
        headers = {"Authorization": self._authorization(), "Accept": accept, "Content-Type": JSON}
        writes = method != "GET"
        await self._wait_for_window()
        try:
            result = await self.outbound.request(
                method, path, data=body, headers=headers, params=params, retry=not writes
            )
        except PartnerUnavailable as exc:
            reason = str(exc).removeprefix(f"{exc.name}: ")
            if writes and (exc.outcome_unknown or exc.status in GATEWAY_LOST):
                log.warning("smartbill %s %s: outcome unknown (%s)", operation, series, reason)
                raise OutcomeUnknown(
                    reason, operation=operation, series=series, number=number, status=exc.status
                ) from exc
            raise SmartBillUnavailable(
                reason, status=exc.status, retry_after=exc.retry_after, operation=operation
            ) from exc
        self._note_window(result)
        if result.status == 403:
            raise self._blocked(result, operation)
        if not 200 <= result.status < 300:
            raise rejection(result, operation=operation)
        return result

    def read(self, result: HttpResult, type: type[T], operation: str) -> T:
        """The answer decoded; an unreadable one is treated as no answer (transient)."""
        try:
            decoded: T = unwrap(result.body, type)
            return decoded
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise SmartBillUnavailable(
                f"unreadable answer: {exc}", status=result.status, operation=operation
            ) from exc

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.outbound.close()

    def _blocked(self, result: HttpResult, operation: str) -> SmartBillBlocked:
        wait = self.block_seconds
        header = result.headers.get("Retry-After", "")
        if header.isdigit():
            wait = max(wait, float(header))
        self.outbound.breaker.trip(wait, "SmartBill rate-limit block (HTTP 403)")
        log.error(
            "smartbill blocked the account (403) during %s; calls held %.0f s", operation, wait
        )
        return SmartBillBlocked(
            "HTTP 403: rate limit exceeded, account blocked",
            status=403,
            retry_after=wait,
            operation=operation,
        )

    def _note_window(self, result: HttpResult) -> None:
        """``X-RateLimit-Remaining: 0``: no call before ``X-RateLimit-Reset`` (capped)."""
        remaining = result.headers.get("X-RateLimit-Remaining", "")
        reset = result.headers.get("X-RateLimit-Reset", "")
        if remaining.strip() == "0" and reset.strip().isdigit():
            now = self._clock()
            self._pause_until = max(self._pause_until, min(float(reset), now + self._max_pause))

    async def _wait_for_window(self) -> None:
        wait = self._pause_until - self._clock()
        if wait > 0:
            await self._sleep(wait)

    def _authorization(self) -> str:
        if not self._username:
            raise ConfigError(f"missing setting {env_name('username', 'smartbill')}")
        if not self._token:
            raise ConfigError(f"missing setting {env_name('token', 'smartbill')}")
        pair = f"{self._username}:{self._token.reveal()}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")
