-- WhatsApp Cloud API deliveries: one row per hub delivery_id, written (committed) before each
-- request and after its answer, so a retry or a crash finds what already happened instead of
-- sending the message twice (the Cloud API has no idempotency key). See docs/WHATSAPP.md.
CREATE TABLE whatsapp_deliveries (
    delivery_id   text        PRIMARY KEY,
    -- sending: a request is (or was, if we crashed) in flight; waiting: refused for now
    -- (130429, 131056, 5xx, breaker open, no token), retried at next_at; accepted, failed: final
    -- (an unknown outcome is final too: failed, reason 'unavailable', never sent again).
    state         text        NOT NULL CHECK (state IN ('sending', 'waiting', 'accepted', 'failed')),
    request       bytea       NOT NULL,   -- the SendWhatsApp message (msgspec JSON), to send again
    attempts      integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),  -- requests made
    next_at       timestamptz,            -- waiting: when the next request is due
    wamid         text,                   -- Meta's message id
    wa_id         text,                   -- the recipient as Meta resolved it
    reason        text,                   -- FailureReason of the last failure
    code          integer,                -- Meta's error code, when it answered with one
    detail        text,                   -- the last failure as Meta or the network said it
    permanent     boolean,                -- failed: refused for good, or unknown/given up (false)
    announced     boolean     NOT NULL DEFAULT false,  -- WhatsAppAccepted/WhatsAppFailed emitted
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    accepted_at   timestamptz
);

CREATE INDEX whatsapp_deliveries_open ON whatsapp_deliveries (next_at)
    WHERE state IN ('sending', 'waiting');
