"""WooCommerce (wp-json/wc/v3): webhooks in; the REST client and actor come later."""
