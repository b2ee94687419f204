"""Sandbox mode: the partners' simulators inside ``cypher-hub serve``, and ``cypher-hub demo``.

- ``partners.py``: which partners are simulated (those nobody configured) and the settings
  that point their connectors at the simulators;
- ``runtime.py``: :class:`~connectors.sandbox.runtime.Sandbox`, the simulators' ports, start
  and stop around the hub; ``routes.py``: the read-only ``/sandbox`` views;
- ``shop.py``: the simulated shop's products (the hub's demo catalog), WhatsApp templates;
- ``people.py``, ``demo.py``, ``cli.py``: the demo's orders and the ``demo`` command.

Nothing heavy is imported here: the command line imports ``cli`` for every command.
"""
