"""Typed application keys, all in one module."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from hub.bootstrap import ActorFactory, Hub
from hub.bus import Bus
from hub.cache import Cache
from hub.db import Database
from hub.pdf import PdfRenderer
from hub.settings import HubSettings

SETTINGS = web.AppKey("settings", HubSettings)
ACTORS = web.AppKey("actors", Sequence[ActorFactory])
SEEDS = web.AppKey("seeds", tuple[str, ...])
DB = web.AppKey("db", Database)
BUS = web.AppKey("bus", Bus)
CACHE = web.AppKey("cache", Cache)
HUB = web.AppKey("hub", Hub)
PDF = web.AppKey("pdf", PdfRenderer)
