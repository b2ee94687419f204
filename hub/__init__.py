"""Cypher Hub runtime: settings, messages, actors, bus, exactly-once effects, edge.

Nothing in this package knows about LEDs, orders or SmartBill; business contexts live in
``actors/`` and partner systems in ``connectors/``.
"""

__version__ = "0.1.0"
