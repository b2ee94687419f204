"""Notifications: email, WhatsApp and in-app messages to customers and staff (contract so far)."""
