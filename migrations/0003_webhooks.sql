-- Webhook deliveries: every verified delivery, kept for webhook_retention_days, with the message
-- it became. The row and that message's outbox row are written in one transaction.

CREATE TABLE webhook_deliveries (
    id                bigserial   PRIMARY KEY,
    source            text        NOT NULL,          -- "woocommerce", "whatsapp", "sendgrid"
    dedupe_key        text        NOT NULL,          -- a second delivery with this key is a no-op
    received_at       timestamptz NOT NULL DEFAULT now(),
    headers           jsonb       NOT NULL DEFAULT '{}',  -- the headers that matter; never secrets
    body              bytea       NOT NULL,          -- the raw bytes the signature was checked on
    message_id        uuid        NOT NULL,          -- the message emitted for it
    message_type      text        NOT NULL,
    message_key       text,                          -- its envelope key (the resource), if any
    message_body      bytea       NOT NULL,          -- kept so a replay needs no connector code
    replays           integer     NOT NULL DEFAULT 0,
    last_replayed_at  timestamptz,
    UNIQUE (source, dedupe_key)
);
-- Listing by source in arrival order (id is the arrival order and the listing cursor).
CREATE INDEX webhook_deliveries_source ON webhook_deliveries (source, id);
-- The retention purge, and listing by time.
CREATE INDEX webhook_deliveries_received_at ON webhook_deliveries (received_at);

-- Each delivery writes its payload three times (raw body, message body, outbox body). lz4 TOAST
-- compression costs a fraction of the default pglz's CPU at about the same size: measured 2.5x
-- faster group commits (bench/README.md). Only where the server was built with lz4 (the
-- embedded pgserver build is not): elsewhere the default stays.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings
               WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE webhook_deliveries
            ALTER COLUMN body SET COMPRESSION lz4,
            ALTER COLUMN message_body SET COMPRESSION lz4;
        ALTER TABLE hub_outbox ALTER COLUMN body SET COMPRESSION lz4;
    END IF;
END $$;
