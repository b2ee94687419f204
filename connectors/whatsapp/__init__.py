"""WhatsApp Business Cloud (Meta Graph API): webhooks in; sending comes later."""
