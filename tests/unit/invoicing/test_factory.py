"""The hub starts the invoicing actor without SmartBill credentials; its handlers wait."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from actors.invoicing.actor import InvoicingActor, backoff, factory
from hub.cache import MemoryCache
from hub.errors import TransientError


async def test_factory_without_credentials_builds_an_actor_that_waits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.startswith(("CYPHER_SMARTBILL_", "CYPHER_INVOICING_")):
            monkeypatch.delenv(name)
    resources = SimpleNamespace(cache=MemoryCache(), metrics=None, db=None)
    actor = factory(resources)  # type: ignore[arg-type]
    assert isinstance(actor, InvoicingActor)
    with pytest.raises(TransientError, match="CYPHER_SMARTBILL_USERNAME"):
        actor._require()
    await actor.client.close()


def test_backoff_doubles_capped_never_sooner_than_asked() -> None:
    assert backoff(30, 900, 1, None) == 30
    assert backoff(30, 900, 3, None) == 120
    assert backoff(30, 900, 10, None) == 900
    assert backoff(30, 900, 1, 600.0) == 600
