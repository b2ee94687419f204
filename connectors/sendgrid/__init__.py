"""Twilio SendGrid: Mail Send (the connector actor, its client and simulator) and the signed
Event Webhook in (docs/SENDGRID.md)."""
