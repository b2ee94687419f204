"""Quotations: offers with a validity, a reminder, acceptance and conversion to an order."""
