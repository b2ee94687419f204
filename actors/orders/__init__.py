"""Orders: the state machine of a shop or B2B order, its documents and its shipments."""
