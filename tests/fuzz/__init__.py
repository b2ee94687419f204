"""Property-based fuzzing of the hub's edges: webhooks, bus messages, the OpenAPI contract."""
