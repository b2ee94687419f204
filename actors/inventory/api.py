"""The inventory's routes (``actors.inventory.api:api``): reads in ``api_reads``, changes in
``api_changes``."""

from __future__ import annotations

from actors.inventory.api_changes import changes
from actors.inventory.api_reads import reads
from hub.edge.api import Api

api = Api("inventory", routes=[*reads.routes, *changes.routes])
