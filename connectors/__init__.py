"""Partner systems (SmartBill, WooCommerce, WhatsApp, SendGrid, suppliers), one package each."""

INSTALLED: tuple[str, ...] = (
    "connectors.sendgrid.actor:factory",
    "connectors.whatsapp.actor:factory",
    "connectors.woocommerce.actor:factory",
)

# Webhook source factories (``factory(settings: HubSettings) -> WebhookSource``), one per partner
# that sends webhooks: ``create_app(settings, webhooks=hub.edge.webhooks.load_sources(WEBHOOKS))``.
WEBHOOKS: tuple[str, ...] = (
    "connectors.woocommerce.webhooks:source",
    "connectors.whatsapp.webhooks:source",
    "connectors.sendgrid.webhooks:source",
)

# Each partner's ``[section]`` of settings (``CYPHER_<SECTION>_*``): ``"module:Class"``.
SETTINGS: dict[str, str] = {
    "woocommerce": "connectors.woocommerce.settings:WooCommerceSettings",
    "whatsapp": "connectors.whatsapp.settings:WhatsAppSettings",
    "sendgrid": "connectors.sendgrid.settings:SendGridSettings",
    "smartbill": "connectors.smartbill.settings:SmartBillSettings",
}

# API route groups (``hub.edge.api.Api``) of the connectors: ``"connectors.<partner>.api:api"``.
APIS: tuple[str, ...] = ()
