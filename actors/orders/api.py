"""The orders' routes (``actors.orders.api:api``): reads in ``api_reads``, commands in
``api_changes``."""

from __future__ import annotations

from actors.orders.api_changes import changes
from actors.orders.api_reads import reads
from hub.edge.api import Api

api = Api("orders", routes=[*reads.routes, *changes.routes])
