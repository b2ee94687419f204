"""WhatsApp Business Cloud (Meta Graph API): messages out (the connector actor, its client and
simulator) and the signed webhook in (docs/WHATSAPP.md)."""
