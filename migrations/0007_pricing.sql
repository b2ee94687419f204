-- Pricing: the price inputs copied from the catalog's events, the pricing rules, customer tiers
-- and the stored list prices (tier 0, quantity 1, today). See docs/PRICING.md.

-- The newest catalog snapshot of each product's price inputs (kept by version: an older
-- snapshot arriving late never overwrites a newer one).
CREATE TABLE pricing_inputs (
    sku         text           PRIMARY KEY,
    version     bigint         NOT NULL,
    category    text           NOT NULL,
    unit        text           NOT NULL CHECK (unit IN ('piece', 'metre')),
    cost        numeric(14, 4) NOT NULL CHECK (cost >= 0),
    margin      numeric(10, 4) NOT NULL,
    status      text           NOT NULL CHECK (status IN ('draft', 'active', 'discontinued')),
    updated_at  timestamptz    NOT NULL DEFAULT now()
);
CREATE INDEX pricing_inputs_category ON pricing_inputs (category, sku);

-- Volume discounts: a ladder of quantity thresholds per product (scope 'sku') or category.
CREATE TABLE pricing_volume_breaks (
    id            bigserial      PRIMARY KEY,
    scope         text           NOT NULL CHECK (scope IN ('sku', 'category')),
    target        text           NOT NULL,
    min_quantity  numeric(12, 3) NOT NULL CHECK (min_quantity > 0),
    discount      numeric(6, 4)  NOT NULL CHECK (discount >= 0 AND discount < 1),
    created_at    timestamptz    NOT NULL DEFAULT now(),
    updated_at    timestamptz    NOT NULL DEFAULT now(),
    UNIQUE (scope, target, min_quantity)
);

-- Promotions: a percentage off the list price, or a fixed net unit price, valid between two
-- dates inclusive (Europe/Bucharest).
CREATE TABLE pricing_promotions (
    id          bigserial      PRIMARY KEY,
    name        text           NOT NULL,
    scope       text           NOT NULL CHECK (scope IN ('sku', 'category')),
    target      text           NOT NULL,
    kind        text           NOT NULL CHECK (kind IN ('percent', 'fixed')),
    value       numeric(14, 4) NOT NULL CHECK (value > 0),
    valid_from  date           NOT NULL,
    valid_to    date           NOT NULL,
    created_at  timestamptz    NOT NULL DEFAULT now(),
    updated_at  timestamptz    NOT NULL DEFAULT now(),
    CHECK (valid_from <= valid_to),
    CHECK (kind = 'fixed' OR value < 1)
);
CREATE INDEX pricing_promotions_target ON pricing_promotions (scope, target);

-- Minimum margin overrides (the margin floor) per product or category; the `min_margin`
-- setting applies elsewhere.
CREATE TABLE pricing_min_margins (
    id          bigserial     PRIMARY KEY,
    scope       text          NOT NULL CHECK (scope IN ('sku', 'category')),
    target      text          NOT NULL,
    min_margin  numeric(8, 4) NOT NULL CHECK (min_margin >= 0),
    created_at  timestamptz   NOT NULL DEFAULT now(),
    updated_at  timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (scope, target)
);

-- A customer's B2B tier (0..3); customers without a row are tier 0.
CREATE TABLE pricing_customer_tiers (
    customer_id  text        PRIMARY KEY,
    tier         smallint    NOT NULL CHECK (tier BETWEEN 0 AND 3),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- The list price of each active product: tier 0, quantity 1, on `priced_on`; `sale_net` is the
-- price under the best promotion that day, when one is lower.
CREATE TABLE pricing_list_prices (
    sku           text           PRIMARY KEY,
    list_net      numeric(14, 2) NOT NULL,
    sale_net      numeric(14, 2),
    promotion_id  bigint,
    vat_rate      numeric(5, 4)  NOT NULL,
    priced_on     date           NOT NULL,
    updated_at    timestamptz    NOT NULL DEFAULT now()
);
