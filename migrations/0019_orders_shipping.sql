-- The shipping charge of an order (net and VAT, RON), part of its totals and invoiced as a
-- "Transport" service line (actors/orders/documents.shipping_line).
ALTER TABLE orders
    ADD COLUMN shipping_net numeric(14,2) NOT NULL DEFAULT 0 CHECK (shipping_net >= 0),
    ADD COLUMN shipping_vat numeric(14,2) NOT NULL DEFAULT 0 CHECK (shipping_vat >= 0);
