"""Pricing: list prices, tier and volume discounts, promotions, the margin floor, VAT, quotes."""
