-- The invoicing context's SmartBill duties besides issuing (docs/INVOICING.md):
-- 1. payments polled from SmartBill (it has no webhooks): proformas watched for the invoice the
--    accountant makes of them (adopted as the order's invoice), invoices watched for the money
--    SmartBill shows collected (told to orders once, as RecordPayment);
-- 2. the daily stock comparison SmartBill <-> hub and its discrepancy report.

-- origin: 'hub' (issued by the hub) or 'smartbill' (made in SmartBill Cloud from the hub's
--   proforma, found by the poll and adopted; its request_id is 'adopted:<proforma request_id>'
--   until the IssueInvoice of its order arrives and claims it under its own request_id);
-- from_request_id: an adopted invoice's proforma (request_id);
-- watch: 'none' (not polled), 'open' (polled), 'done' (paid in full / invoiced), 'parked'
--   (SmartBill shows something a person must look at: see last_error), 'expired' (polled
--   longer than [invoicing] payment_watch_days);
-- paid_recorded: what SmartBill showed collected and orders was told (RecordPayment), in RON.
ALTER TABLE invoicing_documents
    ADD COLUMN origin          text           NOT NULL DEFAULT 'hub'
        CHECK (origin IN ('hub', 'smartbill')),
    ADD COLUMN from_request_id text,
    ADD COLUMN watch           text           NOT NULL DEFAULT 'none'
        CHECK (watch IN ('none', 'open', 'done', 'parked', 'expired')),
    ADD COLUMN paid_recorded   numeric(14, 2) NOT NULL DEFAULT 0 CHECK (paid_recorded >= 0),
    ADD COLUMN polled_at       timestamptz;

-- what was there before: issued proformas and cash-on-delivery invoices are watched
UPDATE invoicing_documents SET watch = 'open'
 WHERE state = 'issued'
   AND (kind = 'proforma'
        OR (kind = 'invoice'
            AND convert_from(request, 'UTF8')::jsonb ->> 'payment_method' = 'cash_on_delivery'));

CREATE INDEX invoicing_documents_watched ON invoicing_documents (polled_at NULLS FIRST)
    WHERE watch = 'open';

-- One stock comparison (per Bucharest day): SmartBill's GET /stocks?date= against the hub's
-- on-hand stock per product code (SKU) and warehouse (mapped by [invoicing] warehouses).
CREATE TABLE invoicing_stock_checks (
    id             bigserial   PRIMARY KEY,
    on_date        date        NOT NULL UNIQUE,  -- the Bucharest day compared
    checked_at     timestamptz NOT NULL,
    compared       integer     NOT NULL CHECK (compared >= 0),     -- (SKU, warehouse) pairs
    missing        integer     NOT NULL CHECK (missing >= 0),      -- in the hub, not in SmartBill
    extra          integer     NOT NULL CHECK (extra >= 0),        -- in SmartBill, not in the hub
    different      integer     NOT NULL CHECK (different >= 0),    -- both, other quantities
    unmapped       text[]      NOT NULL DEFAULT '{}'  -- SmartBill warehouses with no hub code
);

CREATE TABLE invoicing_stock_discrepancies (
    check_id            bigint        NOT NULL REFERENCES invoicing_stock_checks (id)
                                      ON DELETE CASCADE,
    sku                 text          NOT NULL,  -- SmartBill's productCode
    warehouse           text          NOT NULL,  -- the hub's warehouse code
    smartbill_warehouse text          NOT NULL,
    kind                text          NOT NULL CHECK (kind IN ('missing', 'extra', 'different')),
    hub_quantity        numeric(14, 3),          -- NULL: the hub has no row
    smartbill_quantity  numeric(14, 3),          -- NULL: SmartBill does not list it
    PRIMARY KEY (check_id, sku, warehouse)
);
