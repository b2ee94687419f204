"""Bounded contexts, one package each. ``INSTALLED`` lists the actor factories the hub runs.

Each entry is ``"actors.<context>.actor:factory"`` where ``factory(resources) -> Actor``.
Contexts are added here as they land (catalog, pricing, inventory, orders, ...).
"""

INSTALLED: tuple[str, ...] = (
    "actors.catalog.actor:factory",
    "actors.pricing.actor:factory",
    "actors.inventory.actor:factory",
    "actors.orders.actor:factory",
    "actors.quotations.actor:factory",
    "actors.notifications.actor:factory",
    "actors.invoicing.actor:factory",
)

# API route groups (``hub.edge.api.Api``) of the contexts, served under /api/v1:
# ``"actors.<context>.api:api"``.
APIS: tuple[str, ...] = (
    "actors.catalog.api:api",
    "actors.pricing.api:api",
    "actors.inventory.api:api",
    "actors.orders.api:api",
    "actors.quotations.api:api",
    "actors.notifications.api:api",
    "actors.notifications.api_chat:api",
)

# Demo data seeds (``async def seed(conn)``), applied once per database in this order when
# ``demo_data`` says so (embedded mode by default): ``"actors.<context>.seed:seed"``.
SEEDS: tuple[str, ...] = (
    "actors.catalog.seed:seed",
    "actors.pricing.seed:seed",
    "actors.inventory.seed:seed",
)

# Each context's ``[section]`` of settings (``CYPHER_<SECTION>_*``): ``"module:Class"``.
SETTINGS: dict[str, str] = {
    "catalog": "actors.catalog.settings:CatalogSettings",
    "pricing": "actors.pricing.settings:PricingSettings",
    "inventory": "actors.inventory.settings:InventorySettings",
    "orders": "actors.orders.settings:OrdersSettings",
    "quotations": "actors.quotations.settings:QuotationsSettings",
    "notifications": "actors.notifications.settings:NotificationsSettings",
    "invoicing": "actors.invoicing.settings:InvoicingSettings",
}
