"""WooCommerce (wp-json/wc/v3): webhooks in, the REST client and the simulator
(docs/WOOCOMMERCE.md); the connector actor comes later."""
