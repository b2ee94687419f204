-- WhatsApp chat history: one conversation per customer phone (E.164 digits, Meta's wa_id), the
-- inbound and outbound messages in it, and the delivery statuses already received. The rules
-- (the 24-hour window, the status order) live in actors/notifications/chat.py.

-- customer_id is the recipient whose phone this is, kept right by the trigger below when a
-- recipient gets (or loses) the phone after the customer first wrote to us.
CREATE TABLE notification_chat_conversations (
    phone              text        PRIMARY KEY,     -- E.164 digits without "+"
    customer_id        text,
    contact_name       text,                        -- the WhatsApp profile name, as last seen
    last_inbound_at    timestamptz,                 -- the customer's last message (the window)
    last_inbound_wamid text,                        -- what a staff reply answers
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX notification_chat_conversations_customer
    ON notification_chat_conversations (customer_id);

CREATE TABLE notification_chat_messages (
    id           text        PRIMARY KEY,           -- a UUIDv7 (ties in "at" sort by arrival)
    phone        text        NOT NULL REFERENCES notification_chat_conversations (phone),
    direction    text        NOT NULL CHECK (direction IN ('in', 'out')),
    wamid        text        UNIQUE,                -- NULL while a reply is not yet accepted
    type         text        NOT NULL,              -- Meta's message type (text, image, ...)
    body         text        NOT NULL,              -- the text, or "[image]" for media
    reply_to     text,                              -- the wamid this message answers
    at           timestamptz NOT NULL,              -- Meta's timestamp; a reply: when queued
    status       text        CHECK (status IN ('queued', 'sent', 'delivered', 'read', 'failed')),
    status_at    timestamptz,
    error        text,                              -- why it failed (Meta's code and title)
    author       text,                              -- the staff member of a reply (user:12)
    delivery_id  text        UNIQUE,                -- the SendWhatsApp of a reply
    created_at   timestamptz NOT NULL,
    CHECK ((direction = 'in') = (status IS NULL)),
    CHECK (direction = 'out' OR wamid IS NOT NULL)
);
CREATE INDEX notification_chat_messages_page ON notification_chat_messages (phone, at, id);

-- Every "<wamid>:<status>" received once; a status that comes before the connector reports
-- the reply's wamid waits here and is applied when it does.
CREATE TABLE notification_chat_statuses (
    status_id    text        PRIMARY KEY,           -- "<wamid>:<status>"
    wamid        text        NOT NULL,
    status       text        NOT NULL,
    at           timestamptz NOT NULL,              -- Meta's timestamp
    error        text,
    received_at  timestamptz NOT NULL
);
CREATE INDEX notification_chat_statuses_wamid ON notification_chat_statuses (wamid);

CREATE FUNCTION notification_chat_relink() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE notification_chat_conversations SET customer_id = NULL
     WHERE customer_id = NEW.customer_id AND phone IS DISTINCT FROM NEW.phone;
    IF NEW.phone IS NOT NULL THEN
        UPDATE notification_chat_conversations SET customer_id = NEW.customer_id
         WHERE phone = NEW.phone AND customer_id IS DISTINCT FROM NEW.customer_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER notification_chat_relink
    AFTER INSERT OR UPDATE OF phone ON notification_recipients
    FOR EACH ROW EXECUTE FUNCTION notification_chat_relink();
