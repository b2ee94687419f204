"""The quotations' routes (``actors.quotations.api:api``): reads and the PDF in ``api_reads``,
changes in ``api_changes``."""

from __future__ import annotations

from actors.quotations.api_changes import changes
from actors.quotations.api_reads import reads
from hub.edge.api import Api

api = Api("quotations", routes=[*reads.routes, *changes.routes])
