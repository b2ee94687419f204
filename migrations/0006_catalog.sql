-- The catalog: categories (a tree), products and families (actors/catalog), import batches.

CREATE TABLE catalog_categories (
    code        text        PRIMARY KEY,             -- "benzi-led"
    name        text        NOT NULL,                -- "Benzi LED"
    parent      text        REFERENCES catalog_categories (code),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX catalog_categories_parent ON catalog_categories (parent);

-- A product is a sellable SKU; a family groups variants (one strip in 3000/4000/6500 K) and has
-- no price. SKUs use the C collation: byte order, and LIKE 'PREFIX%' can use the primary key.
CREATE TABLE catalog_products (
    sku         text COLLATE "C" PRIMARY KEY,
    version     integer     NOT NULL CHECK (version >= 1),  -- +1 on every change
    kind        text        NOT NULL DEFAULT 'product' CHECK (kind IN ('product', 'family')),
    parent_sku  text COLLATE "C",
    name        text        NOT NULL,
    ean         text,
    category    text        NOT NULL REFERENCES catalog_categories (code),
    unit        text        NOT NULL CHECK (unit IN ('piece', 'metre')),
    cost        numeric(12, 4) CHECK (cost >= 0),      -- RON per unit, net of VAT
    margin      numeric(6, 4)  CHECK (margin >= 0 AND margin < 10),  -- 0.35 = +35 %
    status      text        NOT NULL CHECK (status IN ('draft', 'active', 'discontinued')),
    attributes  jsonb       NOT NULL DEFAULT '{}',     -- power_w, cct_k, ip_rating, voltage_v, ...
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'family') = (cost IS NULL) AND (kind = 'family') = (margin IS NULL)),
    -- deferred: a batch may create a family and its variants, or swap two EANs, in any order
    CONSTRAINT catalog_products_parent FOREIGN KEY (parent_sku) REFERENCES catalog_products (sku)
        DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT catalog_products_ean UNIQUE (ean) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX catalog_products_name ON catalog_products (name, sku);
-- prefix search ("q"): sku and lower(name) compared as ranges in byte order
CREATE INDEX catalog_products_name_prefix ON catalog_products ((lower(name) COLLATE "C"));
CREATE INDEX catalog_products_category ON catalog_products (category, sku);
CREATE INDEX catalog_products_status ON catalog_products (status, sku);
CREATE INDEX catalog_products_parent_sku ON catalog_products (parent_sku) WHERE parent_sku IS NOT NULL;

-- One row per batch of an import (an upload is cut into batches; each applies all or nothing).
CREATE TABLE catalog_import_batches (
    id           text        PRIMARY KEY,        -- "<import id>:<seq>", or a command's batch_id
    import_id    text        NOT NULL,
    seq          integer     NOT NULL,
    actor        text        NOT NULL,           -- "user:12", "system:seed", an envelope's actor
    actor_name   text,
    format       text        NOT NULL,           -- "csv", "json", "message"
    first_row    integer     NOT NULL,
    last_row     integer     NOT NULL,
    rows         integer     NOT NULL,
    created      integer     NOT NULL DEFAULT 0,
    updated      integer     NOT NULL DEFAULT 0,
    unchanged    integer     NOT NULL DEFAULT 0,
    status       text        NOT NULL CHECK (status IN ('applied', 'rejected')),
    errors       jsonb       NOT NULL DEFAULT '[]',
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX catalog_import_batches_import ON catalog_import_batches (import_id, seq);
CREATE INDEX catalog_import_batches_finished ON catalog_import_batches (finished_at);
