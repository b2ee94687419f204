"""Twilio SendGrid: the signed Event Webhook in; Mail Send comes later."""
