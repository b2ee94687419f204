"""The aiohttp edge: app factory, health and metrics, (later) auth, webhooks and the API."""
