-- SmartBill documents of the invoicing context: one row per request_id, written (committed)
-- before each POST and after its answer, so a retry, a redelivery or a crash finds what already
-- happened instead of issuing a second document (SmartBill has no idempotency key).
-- See docs/INVOICING.md.
CREATE TABLE invoicing_documents (
    request_id      text        PRIMARY KEY,  -- the asker's idempotency key
    order_id        text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('invoice', 'proforma', 'credit_note')),
    shipment_id     text,                     -- an invoice for one shipment (cash on delivery)
    invoice_request_id text,                  -- credit note: the invoice it reverses
    -- intent: asked, nothing sent (or certainly not made: refused for now), retried at next_at;
    -- issuing: a POST is (or was, if we crashed) in flight: reconcile, never POST blindly;
    -- issued: series + number known; failed: SmartBill refused; parked: outcome unknown, a
    -- person decides.
    state           text        NOT NULL CHECK (state IN (
        'intent', 'issuing', 'issued', 'failed', 'parked')),
    request         bytea       NOT NULL,     -- the command (msgspec JSON), to issue again
    series          text,                     -- the series the POST goes to
    expected_number text,                     -- the series' nextNumber read before the POST
    number          text,
    gross           numeric(14, 2) NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),  -- POSTs made
    next_at         timestamptz,              -- intent/issuing: when the timer is due
    last_error      text,
    announced       boolean     NOT NULL DEFAULT false,  -- the outcome event emitted
    notified        boolean     NOT NULL DEFAULT false,  -- the document email asked for
    issued_at       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- one invoice / one proforma per order (per shipment for cash on delivery), as orders key them
CREATE UNIQUE INDEX invoicing_documents_one_per_order
    ON invoicing_documents (order_id, kind, COALESCE(shipment_id, ''))
    WHERE kind IN ('invoice', 'proforma');
-- SmartBill reverses a whole invoice once
CREATE UNIQUE INDEX invoicing_documents_one_storno
    ON invoicing_documents (invoice_request_id) WHERE kind = 'credit_note';
CREATE INDEX invoicing_documents_open ON invoicing_documents (next_at)
    WHERE state IN ('intent', 'issuing');
