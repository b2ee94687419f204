"""Partner systems (SmartBill, WooCommerce, WhatsApp, SendGrid, suppliers), one package each."""

INSTALLED: tuple[str, ...] = ()
