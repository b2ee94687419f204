-- Quotations: the quote with its customer snapshot, priced lines, status history, the numbers
-- handed out per year, and the product names learnt from the catalog. The rules (statuses,
-- validity, reminder, conversion) live in actors/quotations/domain.py.

-- "OF-2026-00042": one counter per year of issue, taken in the creating transaction.
CREATE TABLE quotation_numbers (
    year  integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 9999),
    last  integer NOT NULL CHECK (last BETWEEN 1 AND 99999)
);

CREATE TABLE quotations (
    id             text          PRIMARY KEY,   -- a UUIDv7
    number         text          NOT NULL UNIQUE,
    customer_id    text,                        -- the hub's customer (B2B); NULL: a prospect
    customer       jsonb         NOT NULL,      -- snapshot: kind, name, contact, email, phone,
                                                -- customer_id, cui, reg_com, address
    status         text          NOT NULL DEFAULT 'draft' CHECK (status IN (
        'draft', 'sent', 'accepted', 'converted', 'rejected', 'expired')),
    -- 'pending' until the pricing engine answered; 'failed' keeps the draft, with the reason
    pricing        text          NOT NULL DEFAULT 'pending'
        CHECK (pricing IN ('pending', 'priced', 'failed')),
    pricing_error  text,
    tier           integer,                     -- asked for; NULL: the customer's own tier
    priced_tier    integer,                     -- the tier the pricing engine applied
    priced_on      date,
    currency       text          NOT NULL DEFAULT 'RON',
    net            numeric(14,2),
    vat            numeric(14,2),
    gross          numeric(14,2),
    language       text          NOT NULL DEFAULT 'ro' CHECK (language IN ('ro', 'en')),
    validity_days  integer       NOT NULL CHECK (validity_days BETWEEN 1 AND 365),
    sent_at        timestamptz,
    sent_by        text,
    valid_until    date,                        -- the last valid day, Europe/Bucharest
    expires_at     timestamptz,                 -- the next local midnight after valid_until
    remind_at      timestamptz,                 -- NULL: no reminder (sent too late for one)
    reminded_at    timestamptz,                 -- set once: a repeated timer sends nothing
    hold_stock     boolean       NOT NULL DEFAULT false,
    hold_status    text          NOT NULL DEFAULT 'none' CHECK (hold_status IN (
        'none', 'requested', 'held', 'partial', 'released', 'taken_over')),
    held           jsonb,                       -- [{sku, quantity}] the inventory holds
    order_id       text,                        -- the order it was converted into
    notes          text,
    created_by     text          NOT NULL,
    created_at     timestamptz   NOT NULL,
    updated_at     timestamptz   NOT NULL,
    version        integer       NOT NULL DEFAULT 1,
    CHECK ((status = 'draft') = (sent_at IS NULL)),
    CHECK (sent_at IS NULL OR (expires_at IS NOT NULL AND valid_until IS NOT NULL)),
    CHECK ((status = 'converted') = (order_id IS NOT NULL))
);
CREATE INDEX quotations_created ON quotations (created_at, id);
CREATE INDEX quotations_status_created ON quotations (status, created_at, id);
CREATE INDEX quotations_customer_created ON quotations (customer_id, created_at, id)
    WHERE customer_id IS NOT NULL;

-- The lines asked for; the price columns are filled when the pricing engine answers.
CREATE TABLE quotation_lines (
    quotation_id  text          NOT NULL REFERENCES quotations (id) ON DELETE CASCADE,
    line_no       integer       NOT NULL CHECK (line_no > 0),
    sku           text          NOT NULL,
    name          text          NOT NULL,      -- snapshot of the catalog's name when priced
    unit          text          NOT NULL DEFAULT 'piece' CHECK (unit IN ('piece', 'metre')),
    quantity      numeric(14,3) NOT NULL CHECK (quantity > 0),
    unit_net      numeric(14,2),
    line_net      numeric(14,2),
    vat_rate      numeric(6,4),
    line_vat      numeric(14,2),
    line_gross    numeric(14,2),
    breakdown     jsonb,                       -- the pricing steps (why this price)
    PRIMARY KEY (quotation_id, line_no),
    UNIQUE (quotation_id, sku)
);

-- Every move: who, when, why (creation is the move from nothing to draft).
CREATE TABLE quotation_history (
    id            bigserial   PRIMARY KEY,
    quotation_id  text        NOT NULL REFERENCES quotations (id) ON DELETE CASCADE,
    from_status   text,
    to_status     text        NOT NULL,
    at            timestamptz NOT NULL,
    by            text        NOT NULL,
    reason        text        NOT NULL
);
CREATE INDEX quotation_history_quotation ON quotation_history (quotation_id, id);

-- Product names and units, learnt from the catalog (lines keep a snapshot).
CREATE TABLE quotation_products (
    sku      text   PRIMARY KEY,
    name     text   NOT NULL,
    unit     text   NOT NULL DEFAULT 'piece',
    version  bigint NOT NULL
);
