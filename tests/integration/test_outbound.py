"""hub.http.Outbound and hub.breaker.Breaker against a scripted HTTP server on loopback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hub.breaker import Breaker, BreakerOpen, breakers
from hub.http import Outbound, PartnerUnavailable
from hub.telemetry import Metrics


@dataclass
class Script:
    """Answers in order (status, headers); ``hang`` answers never come."""

    answers: list[tuple[int, dict[str, str]] | str] = field(default_factory=list)
    seen: list[tuple[str, str, bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append((request.method, request.path_qs, await request.read()))
        answer = self.answers.pop(0) if self.answers else (200, {})
        if answer == "hang":
            await asyncio.sleep(30)
        assert not isinstance(answer, str)
        status, headers = answer
        return web.json_response({"status": status}, status=status, headers=headers)


@pytest.fixture
async def served() -> AsyncIterator[tuple[Script, str]]:
    script = Script()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", script.handle)
    async with TestServer(app, host="127.0.0.1") as server:
        yield script, str(server.make_url("")).rstrip("/")


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def outbound(base: str, name: str = "partner", **kw: object) -> tuple[Outbound, Sleeps]:
    sleeps = Sleeps()
    breaker = kw.pop("breaker", None) or Breaker(name, fail_max=3, reset_timeout=60)
    api = Outbound(name, base_url=base, breaker=breaker, sleep=sleeps, **kw)  # type: ignore[arg-type]
    return api, sleeps


async def test_server_errors_are_retried_with_growing_jittered_delays(
    served: tuple[Script, str],
) -> None:
    script, base = served
    script.answers = [(503, {}), (502, {}), (201, {})]
    metrics = Metrics()
    api, sleeps = outbound(base, attempts=3, backoff=0.5, metrics=metrics)
    try:
        result = await api.request("POST", "/v1/things", json={"a": "ă"}, headers={"X-K": "1"})
    finally:
        await api.close()
    assert (result.status, result.json()) == (201, {"status": 201})
    assert [s[:2] for s in script.seen] == [("POST", "/v1/things")] * 3
    assert script.seen[0][2] == '{"a":"ă"}'.encode()
    assert 0.25 <= sleeps.waits[0] <= 0.5 and 0.5 <= sleeps.waits[1] <= 1.0
    assert api.breaker.state == "closed" and api.breaker.failures == 0  # the success reset it
    assert metrics.outbound.labels(partner="partner", outcome="5xx")._value.get() == 2


async def test_a_client_error_is_the_partners_answer_not_an_outage(
    served: tuple[Script, str],
) -> None:
    script, base = served
    script.answers = [(400, {}), (404, {})]
    api, sleeps = outbound(base, "p400")
    try:
        assert (await api.request("GET", "/a")).status == 400
        assert (await api.request("GET", "/b")).status == 404
    finally:
        await api.close()
    assert len(script.seen) == 2 and sleeps.waits == []
    assert api.breaker.failures == 0


async def test_throttling_is_retried_after_retry_after_and_never_trips_the_breaker(
    served: tuple[Script, str],
) -> None:
    script, base = served
    script.answers = [(429, {"Retry-After": "2"})] * 4
    api, sleeps = outbound(base, "p429", attempts=3, max_backoff=10)
    try:
        with pytest.raises(PartnerUnavailable) as raised:
            await api.request("GET", "/x")
        script.answers = [(429, {"Retry-After": "120"})]
        with pytest.raises(PartnerUnavailable) as too_long:
            await api.request("GET", "/x")
    finally:
        await api.close()
    assert sleeps.waits == [2.0, 2.0]  # three attempts; the long wait is left to the caller
    assert (raised.value.status, raised.value.outcome_unknown) == (429, False)
    assert too_long.value.retry_after == 120.0 and len(script.seen) == 4
    assert api.breaker.state == "closed" and api.breaker.failures == 0


async def test_a_timeout_after_sending_is_an_unknown_outcome_and_not_retried_when_unsafe(
    served: tuple[Script, str],
) -> None:
    script, base = served
    script.answers = ["hang"]
    api, _ = outbound(base, "ptimeout", timeout=0.3)
    try:
        with pytest.raises(PartnerUnavailable) as raised:
            await api.request("POST", "/send", json={}, retry=False)
    finally:
        await api.close()
    assert raised.value.outcome_unknown is True
    assert len(script.seen) == 1


async def test_a_refused_connection_is_a_known_outcome() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    api, sleeps = outbound(f"http://127.0.0.1:{port}", "prefused", attempts=2)
    try:
        with pytest.raises(PartnerUnavailable) as raised:
            await api.request("GET", "/")
    finally:
        await api.close()
    assert raised.value.outcome_unknown is False and len(sleeps.waits) == 1


async def test_a_timed_out_write_that_opens_the_breaker_is_still_an_unknown_outcome(
    served: tuple[Script, str],
) -> None:
    script, base = served
    script.answers = ["hang"]
    breaker = Breaker("ptripwrite", fail_max=1, reset_timeout=60)
    api, _ = outbound(base, "ptripwrite", timeout=0.3, breaker=breaker)
    try:
        with pytest.raises(PartnerUnavailable) as raised:
            await api.request("POST", "/invoice", json={}, retry=False)
    finally:
        await api.close()
    # not BreakerOpen ("not attempted"): the partner may have done the work, a blind retry
    # could issue a second invoice
    assert not isinstance(raised.value, BreakerOpen)
    assert raised.value.outcome_unknown is True and breaker.state == "open"


async def test_an_outage_opens_the_breaker_and_later_calls_are_not_made(
    served: tuple[Script, str],
) -> None:
    script, base = served
    script.answers = [(500, {})] * 10
    metrics = Metrics()
    breaker = Breaker("pdown", fail_max=3, reset_timeout=60, metrics=metrics)
    api, _ = outbound(base, "pdown", attempts=1, breaker=breaker)
    try:
        for _ in range(3):  # the third failure opens it, and is still reported as itself
            with pytest.raises(PartnerUnavailable) as failed:
                await api.request("GET", "/")
            assert not isinstance(failed.value, BreakerOpen) and failed.value.status == 500
        assert breaker.state == "open"
        with pytest.raises(BreakerOpen) as refused:
            await api.request("GET", "/")
    finally:
        await api.close()
    assert len(script.seen) == 3 and breaker.state == "open"
    assert 0 < refused.value.retry_after <= 60
    assert breakers()["pdown"] is breaker
    assert metrics.breaker_open.labels(partner="pdown")._value.get() == 1


async def test_a_tripped_breaker_holds_then_lets_one_trial_call_through(
    served: tuple[Script, str],
) -> None:
    script, base = served
    now = [1000.0]
    breaker = Breaker("ptrip", fail_max=3, reset_timeout=30, clock=lambda: now[0])
    api, _ = outbound(base, "ptrip", breaker=breaker)
    try:
        breaker.trip(600, "403: rate limit block")
        with pytest.raises(BreakerOpen, match="403: rate limit block"):
            await api.request("GET", "/")
        now[0] += 601
        assert (await api.request("GET", "/")).status == 200
    finally:
        await api.close()
    assert len(script.seen) == 1 and breaker.state == "closed"


class CountingLimiter:
    mode = "memory"

    def __init__(self) -> None:
        self.calls: list[tuple[str, float, int]] = []

    async def take(self, key: str, *, per_second: float, burst: int) -> float:
        self.calls.append((key, per_second, burst))
        return 0.25 if len(self.calls) % 2 else 0.0  # every other take must wait once


async def test_every_attempt_takes_a_rate_limit_token_first(served: tuple[Script, str]) -> None:
    script, base = served
    script.answers = [(500, {}), (200, {})]
    limiter = CountingLimiter()
    api, sleeps = outbound(base, "plimit", limiter=limiter, per_second=8, burst=2)
    try:
        await api.request("GET", "/")
    finally:
        await api.close()
    assert limiter.calls == [("outbound:plimit", 8, 2)] * 4  # two attempts, one wait each
    assert sleeps.waits.count(0.25) == 2 and len(script.seen) == 2
