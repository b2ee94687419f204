"""WooCommerce (wp-json/wc/v3): webhooks in, the REST client, the simulator and the connector
actor (docs/WOOCOMMERCE.md)."""
