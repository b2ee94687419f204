-- Orders: the order and its priced lines, its transition history, shipments, returns,
-- payments and the documents asked of invoicing. State rules live in actors/orders/domain.py.

CREATE SEQUENCE orders_number_seq;

CREATE TABLE orders (
    id              text          PRIMARY KEY,  -- chosen by the placer: the idempotency key
    number          text          NOT NULL UNIQUE,  -- "CMD-000123", for people
    source          text          NOT NULL CHECK (source IN ('api', 'woocommerce', 'quotation')),
    external_ref    text,                        -- the shop's order number
    quotation_id    text,
    customer_id     text,                        -- the hub's customer (B2B); NULL: guest
    customer        jsonb         NOT NULL,      -- snapshot: kind, name, email, phone, cui, reg_com
    billing         jsonb         NOT NULL,
    shipping        jsonb         NOT NULL,
    payment_method  text          NOT NULL
        CHECK (payment_method IN ('card', 'cash_on_delivery', 'bank_transfer')),
    state           text          NOT NULL DEFAULT 'pending' CHECK (state IN (
        'pending', 'on_hold', 'confirmed', 'processing', 'partially_shipped', 'shipped',
        'delivered', 'cancelled', 'return_requested', 'returned', 'refunded')),
    -- pricing: 'pending' until the pricing engine answered (or the lines came priced)
    pricing         text          NOT NULL DEFAULT 'pending'
        CHECK (pricing IN ('pending', 'priced', 'failed')),
    -- the stock reservation (its id is the order id)
    reservation     text          NOT NULL DEFAULT 'none'
        CHECK (reservation IN ('none', 'requested', 'complete', 'short', 'released', 'fulfilled')),
    hold            text,                        -- a reservation to take over (quote:<id>)
    tier            integer,
    priced_on       date,
    currency        text          NOT NULL DEFAULT 'RON',
    net             numeric(14,2),
    vat             numeric(14,2),
    gross           numeric(14,2),
    paid            numeric(14,2) NOT NULL DEFAULT 0,  -- recorded payments (bank transfers)
    prepaid         boolean       NOT NULL DEFAULT false,  -- paid online when placed (card)
    note            text,
    placed_by       text          NOT NULL,
    placed_at       timestamptz   NOT NULL,
    updated_at      timestamptz   NOT NULL,
    version         integer       NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX orders_external_ref ON orders (source, external_ref)
    WHERE external_ref IS NOT NULL;
CREATE INDEX orders_placed ON orders (placed_at, id);
CREATE INDEX orders_state_placed ON orders (state, placed_at, id);
CREATE INDEX orders_customer_placed ON orders (customer_id, placed_at, id)
    WHERE customer_id IS NOT NULL;
CREATE INDEX orders_quotation ON orders (quotation_id) WHERE quotation_id IS NOT NULL;

CREATE TABLE order_lines (
    order_id    text          NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no     integer       NOT NULL CHECK (line_no > 0),
    sku         text          NOT NULL,
    name        text          NOT NULL,
    quantity    numeric(14,3) NOT NULL CHECK (quantity > 0),
    unit        text          NOT NULL DEFAULT 'piece' CHECK (unit IN ('piece', 'metre')),
    unit_net    numeric(14,2),
    line_net    numeric(14,2),
    vat_rate    numeric(6,4),
    line_vat    numeric(14,2),
    line_gross  numeric(14,2),
    breakdown   jsonb,                           -- the pricing steps (why this price)
    shipped     numeric(14,3) NOT NULL DEFAULT 0 CHECK (shipped >= 0 AND shipped <= quantity),
    returned    numeric(14,3) NOT NULL DEFAULT 0 CHECK (returned >= 0 AND returned <= shipped),
    PRIMARY KEY (order_id, line_no),
    UNIQUE (order_id, sku)
);
CREATE INDEX order_lines_sku ON order_lines (sku);

-- Every accepted move: who, when, why.
CREATE TABLE order_transitions (
    id          bigserial   PRIMARY KEY,
    order_id    text        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    from_state  text        NOT NULL,
    to_state    text        NOT NULL,
    at          timestamptz NOT NULL,
    by          text        NOT NULL,
    reason      text        NOT NULL
);
CREATE INDEX order_transitions_order ON order_transitions (order_id, id);

CREATE TABLE order_shipments (
    id           text        PRIMARY KEY,
    order_id     text        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    status       text        NOT NULL DEFAULT 'requested'
        CHECK (status IN ('requested', 'sent', 'refused')),
    requested    jsonb       NOT NULL,           -- [{sku, quantity, warehouse|null}]
    everything   boolean     NOT NULL DEFAULT false,  -- asked for all the reservation holds
    sent         jsonb,                          -- [{sku, warehouse, quantity}] as issued
    tracking     text,
    refusal      text,
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL,
    sent_at      timestamptz
);
CREATE INDEX order_shipments_order ON order_shipments (order_id, created_at);

CREATE TABLE order_returns (
    id           text        PRIMARY KEY,
    order_id     text        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    status       text        NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'received')),
    lines        jsonb       NOT NULL,           -- [{sku, quantity}]
    reason       text        NOT NULL,
    warehouse    text,                           -- where the goods came back
    requested_by text        NOT NULL,
    requested_at timestamptz NOT NULL,
    received_by  text,
    received_at  timestamptz
);
CREATE INDEX order_returns_order ON order_returns (order_id, requested_at);

CREATE TABLE order_payments (
    id           text          PRIMARY KEY,      -- the payment's own id: recorded once
    order_id     text          NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    amount       numeric(14,2) NOT NULL,
    received_at  timestamptz   NOT NULL,
    reference    text,
    recorded_by  text          NOT NULL,
    recorded_at  timestamptz   NOT NULL
);
CREATE INDEX order_payments_order ON order_payments (order_id, received_at);

-- Documents asked of invoicing; the request id is the document's idempotency key.
CREATE TABLE order_documents (
    request_id   text          PRIMARY KEY,
    order_id     text          NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    kind         text          NOT NULL CHECK (kind IN ('invoice', 'proforma', 'credit_note')),
    status       text          NOT NULL DEFAULT 'requested'
        CHECK (status IN ('requested', 'issued', 'failed', 'parked')),
    shipment_id  text,
    return_id    text,
    invoice_request_id text,                     -- a credit note: the invoice it reverses
    lines        jsonb         NOT NULL,         -- the DocumentLines asked for
    series       text,
    number       text,
    gross        numeric(14,2),
    error        text,
    requested_at timestamptz   NOT NULL,
    issued_at    timestamptz
);
CREATE INDEX order_documents_order ON order_documents (order_id, requested_at);
-- At most one document of a kind for one order, shipment or return (a credit note: for one
-- return and the invoice's shipment; a cancelled order's credit note has neither).
CREATE UNIQUE INDEX order_documents_one ON order_documents
    (order_id, kind, coalesce(shipment_id, ''), coalesce(return_id, ''));

-- Product names and units, learned from the catalog (order lines keep a snapshot).
CREATE TABLE order_products (
    sku      text   PRIMARY KEY,
    name     text   NOT NULL,
    unit     text   NOT NULL DEFAULT 'piece',
    version  bigint NOT NULL                     -- the catalog's: the newest snapshot wins
);
