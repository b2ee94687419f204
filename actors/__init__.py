"""Bounded contexts, one package each. ``INSTALLED`` lists the actor factories the hub runs.

Each entry is ``"actors.<context>.actor:factory"`` where ``factory(resources) -> Actor``.
Contexts are added here as they land (catalog, pricing, inventory, orders, ...).
"""

INSTALLED: tuple[str, ...] = ()

# API route groups (``hub.edge.api.Api``) of the contexts, served under /api/v1:
# ``"actors.<context>.api:api"``.
APIS: tuple[str, ...] = ()

# Demo data seeds (``async def seed(conn)``), applied once per database in this order when
# ``demo_data`` says so (embedded mode by default): ``"actors.<context>.seed:seed"``.
SEEDS: tuple[str, ...] = ()
