-- SendGrid Mail Send deliveries: one row per hub delivery_id, written (committed) before each
-- request and after its answer, so a retry or a crash finds what already happened instead of
-- sending the email twice (SendGrid has no idempotency key). See docs/SENDGRID.md.
CREATE TABLE sendgrid_deliveries (
    delivery_id   text        PRIMARY KEY,
    -- sending: a request is (or was, if we crashed) in flight; waiting: refused for now (429,
    -- 5xx, breaker open), retried at next_at; unknown: no answer after sending, waiting for an
    -- Event Webhook event until next_at, then sent again; accepted, failed: final.
    state         text        NOT NULL CHECK (state IN (
        'sending', 'waiting', 'unknown', 'accepted', 'failed')),
    request       bytea       NOT NULL,   -- the SendEmail message (msgspec JSON), to send again
    attempts      integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),  -- requests made
    next_at       timestamptz,            -- waiting/unknown: when the next request is due
    message_id    text,                   -- SendGrid's X-Message-Id
    accepted_via  text        CHECK (accepted_via IN ('response', 'event')),
    reason        text,                   -- the last failure, as SendGrid or the network said it
    status        integer,                -- SendGrid's last HTTP status, when it answered
    permanent     boolean,                -- failed: refused for good (4xx) or given up
    announced     boolean     NOT NULL DEFAULT false,  -- EmailAccepted/EmailFailed emitted
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    accepted_at   timestamptz
);

CREATE INDEX sendgrid_deliveries_open ON sendgrid_deliveries (next_at)
    WHERE state IN ('sending', 'waiting', 'unknown');
