-- Notifications: who we may write to and how (recipients), what we were asked to tell
-- (notifications, one per business event), each attempt per channel (deliveries), the provider
-- events already applied, suppressed email addresses, in-app messages and the small projection
-- of orders' contacts. The channel rules live in actors/notifications/domain.py.

-- Preferences and consent of a known customer (portal user). The chat module reads
-- customer_id, phone and whatsapp_opt_in.
CREATE TABLE notification_recipients (
    customer_id        text        PRIMARY KEY,
    email              text,
    phone              text,                       -- E.164 digits without "+"
    language           text        NOT NULL DEFAULT 'ro' CHECK (language IN ('ro', 'en')),
    email_enabled      boolean     NOT NULL DEFAULT true,
    whatsapp_opt_in    boolean     NOT NULL DEFAULT false,
    in_app_enabled     boolean     NOT NULL DEFAULT true,
    marketing_consent  boolean     NOT NULL DEFAULT false,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_recipients_phone ON notification_recipients (phone);

-- One row per business event: a repeated request with the same key changes nothing.
CREATE TABLE notification_notifications (
    id                text        PRIMARY KEY,     -- a UUIDv7
    notification_key  text        NOT NULL UNIQUE,
    template          text        NOT NULL,
    customer_id       text,
    language          text        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('sent', 'skipped', 'failed')),
    reason            text,                        -- why skipped or failed
    request           jsonb       NOT NULL,        -- the NotifyCustomer, for a later retry
    created_at        timestamptz NOT NULL
);
CREATE INDEX notification_notifications_customer ON notification_notifications (customer_id);

-- One delivery per notification and channel (and per retry: a retry is a new delivery id).
CREATE TABLE notification_deliveries (
    delivery_id      text        PRIMARY KEY,
    notification_id  text        NOT NULL REFERENCES notification_notifications (id),
    channel          text        NOT NULL CHECK (channel IN ('email', 'whatsapp', 'in_app')),
    address          text        NOT NULL,        -- email, E.164 digits or customer_id
    attempt          integer     NOT NULL DEFAULT 1,
    status           text        NOT NULL CHECK (status IN (
        'requested', 'accepted', 'sent', 'deferred', 'delivered', 'opened', 'clicked', 'read',
        'failed', 'bounced', 'dropped', 'spam')),
    provider_id      text,                         -- SendGrid X-Message-Id or WhatsApp wamid
    error            text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    history          jsonb       NOT NULL DEFAULT '[]'  -- [{"status", "at", "detail"}]
);
CREATE INDEX notification_deliveries_notification ON notification_deliveries (notification_id);
CREATE INDEX notification_deliveries_provider ON notification_deliveries (provider_id);

-- SendGrid events applied (sg_event_id): a repeated event, in any batch, is applied once.
CREATE TABLE notification_provider_events (
    event_id     text        PRIMARY KEY,
    kind         text        NOT NULL,
    received_at  timestamptz NOT NULL
);

CREATE TABLE notification_suppressions (
    address  text        PRIMARY KEY,             -- lower-cased email
    reason   text        NOT NULL CHECK (reason IN ('bounce', 'spamreport', 'unsubscribe', 'dropped')),
    at       timestamptz NOT NULL
);

CREATE TABLE notification_in_app (
    id            text        PRIMARY KEY,        -- a UUIDv7 (sorts by creation)
    delivery_id   text        NOT NULL UNIQUE REFERENCES notification_deliveries (delivery_id),
    customer_id   text        NOT NULL,
    title         text        NOT NULL,
    body          text        NOT NULL,
    link          text,
    created_at    timestamptz NOT NULL,
    read_at       timestamptz
);
CREATE INDEX notification_in_app_owner ON notification_in_app (customer_id, id DESC);

-- Orders' contacts (from orders.OrderPlaced), for the later order events that carry none.
CREATE TABLE notification_order_contacts (
    order_id     text        PRIMARY KEY,
    number       text        NOT NULL,
    customer_id  text,
    name         text        NOT NULL,
    email        text,
    phone        text,
    language     text        NOT NULL DEFAULT 'ro',
    gross        numeric(14,2) NOT NULL,
    currency     text        NOT NULL DEFAULT 'RON',
    placed_at    timestamptz NOT NULL
);
