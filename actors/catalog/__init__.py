"""The catalog: products (SKUs) with their attributes, cost and margin, and categories."""
