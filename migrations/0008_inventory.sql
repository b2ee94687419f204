-- Inventory: warehouses, stock per (SKU, warehouse), the movement ledger, reservations,
-- per-SKU settings and published figures, costs learnt from the catalog, low-stock digests.
-- Quantities are numeric(14,3): metres of LED strip to the millimetre, pieces whole.

CREATE TABLE inventory_warehouses (
    code      text     PRIMARY KEY,
    name      text     NOT NULL,
    priority  smallint NOT NULL UNIQUE CHECK (priority > 0)  -- 1 is allocated first
);
INSERT INTO inventory_warehouses (code, name, priority) VALUES
    ('HQ', 'Sediu (HQ)', 1),
    ('W2', 'Depozit 2', 2),
    ('W3', 'Depozit 3', 3);

-- One row per SKU the inventory knows: the per-SKU lock every stock change takes first (in SKU
-- order), the settings, what the catalog said (unit, cost) and the figures last published.
CREATE TABLE inventory_skus (
    sku              text          PRIMARY KEY,
    reorder_point    numeric(14,3) CHECK (reorder_point >= 0),   -- NULL: the default setting
    safety_buffer    numeric(14,3) CHECK (safety_buffer >= 0),   -- NULL: the default setting
    unit             text          CHECK (unit IN ('piece', 'metre')),  -- NULL: not known yet
    cost             numeric(14,4) CHECK (cost >= 0),            -- RON per unit, from the catalog
    catalog_version  bigint,
    available        numeric(14,3) NOT NULL DEFAULT 0,  -- last StockChanged figures
    published        numeric(14,3) NOT NULL DEFAULT 0,
    version          bigint        NOT NULL DEFAULT 0,  -- grows with every StockChanged
    low              boolean       NOT NULL DEFAULT false,  -- below its reorder point
    updated_at       timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX inventory_skus_low ON inventory_skus (sku) WHERE low;

CREATE TABLE inventory_stock (
    sku        text          NOT NULL,
    warehouse  text          NOT NULL REFERENCES inventory_warehouses (code),
    on_hand    numeric(14,3) NOT NULL DEFAULT 0,
    reserved   numeric(14,3) NOT NULL DEFAULT 0,
    updated_at timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (sku, warehouse),
    CONSTRAINT inventory_stock_never_oversold
        CHECK (reserved >= 0 AND reserved <= on_hand AND on_hand >= 0)
);
CREATE INDEX inventory_stock_warehouse ON inventory_stock (warehouse, sku);

-- The ledger. on_hand = sum over receipt, issue, transfer, adjustment;
-- reserved = sum over reservation, release, issue (an issue consumes a reservation).
CREATE TABLE inventory_movements (
    id         bigserial     PRIMARY KEY,
    at         timestamptz   NOT NULL DEFAULT now(),
    kind       text          NOT NULL
        CHECK (kind IN ('receipt', 'issue', 'transfer', 'adjustment', 'reservation', 'release')),
    sku        text          NOT NULL,
    warehouse  text          NOT NULL REFERENCES inventory_warehouses (code),
    quantity   numeric(14,3) NOT NULL CHECK (quantity <> 0),
    reason     text          NOT NULL CHECK (reason <> ''),
    author     text          NOT NULL,   -- user:12, api_key:3, system:seed, system
    reference  text,                     -- reservation id, transfer or receipt document
    CHECK (CASE kind
        WHEN 'receipt' THEN quantity > 0
        WHEN 'reservation' THEN quantity > 0
        WHEN 'issue' THEN quantity < 0
        WHEN 'release' THEN quantity < 0
        ELSE true END)
);
CREATE INDEX inventory_movements_sku ON inventory_movements (sku, id);
CREATE INDEX inventory_movements_kind ON inventory_movements (kind, id);
CREATE INDEX inventory_movements_at ON inventory_movements (at);
CREATE INDEX inventory_movements_reference ON inventory_movements (reference) WHERE reference IS NOT NULL;

CREATE TABLE inventory_reservations (
    id           text        PRIMARY KEY,   -- an order id, or "quote:<id>"
    status       text        NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'released', 'fulfilled')),
    expires_at   timestamptz,
    closed_reason text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inventory_reservations_open_expiry ON inventory_reservations (expires_at)
    WHERE status = 'open' AND expires_at IS NOT NULL;

-- What was asked for, per SKU (a repeated ReserveStock only tops the hold up to this).
CREATE TABLE inventory_reservation_requests (
    reservation_id text          NOT NULL REFERENCES inventory_reservations (id) ON DELETE CASCADE,
    sku            text          NOT NULL,
    requested      numeric(14,3) NOT NULL CHECK (requested > 0),
    PRIMARY KEY (reservation_id, sku)
);

-- What is held, per warehouse; "issued" counts what left with shipments.
CREATE TABLE inventory_reservation_lines (
    reservation_id text          NOT NULL REFERENCES inventory_reservations (id) ON DELETE CASCADE,
    sku            text          NOT NULL,
    warehouse      text          NOT NULL REFERENCES inventory_warehouses (code),
    quantity       numeric(14,3) NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    issued         numeric(14,3) NOT NULL DEFAULT 0 CHECK (issued >= 0),
    PRIMARY KEY (reservation_id, sku, warehouse)
);
CREATE INDEX inventory_reservation_lines_sku ON inventory_reservation_lines (sku, warehouse)
    WHERE quantity > 0;

-- Shipments already issued against a reservation (IssueStock is idempotent per shipment).
CREATE TABLE inventory_shipments (
    reservation_id text        NOT NULL REFERENCES inventory_reservations (id) ON DELETE CASCADE,
    shipment_id    text        NOT NULL,
    issued_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (reservation_id, shipment_id)
);

-- Low-stock digests: SKUs that fell below their reorder point since the last digest, and the
-- one timer that will send the next digest (due_at NULL: none armed).
CREATE TABLE inventory_low_stock_pending (
    sku       text        PRIMARY KEY,
    noted_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE inventory_digest_state (
    id            smallint    PRIMARY KEY CHECK (id = 1),
    due_at        timestamptz,
    last_sent_at  timestamptz
);
INSERT INTO inventory_digest_state (id) VALUES (1);
