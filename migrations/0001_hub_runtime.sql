-- The runtime's tables: inbox (dedupe), outbox (relay), durable timers, dead letters.

CREATE TABLE hub_inbox (
    actor       text        NOT NULL,
    message_id  uuid        NOT NULL,
    handled_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (actor, message_id)
);
CREATE INDEX hub_inbox_handled_at ON hub_inbox (handled_at);

CREATE TABLE hub_outbox (
    id            bigserial   PRIMARY KEY,
    message_id    uuid        NOT NULL,
    type          text        NOT NULL,
    destination   text,                      -- NULL: the topic exchange; else one actor's queue
    envelope      jsonb       NOT NULL,
    body          bytea       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz,
    attempts      integer     NOT NULL DEFAULT 0,  -- failed publish attempts
    last_error    text
);
CREATE INDEX hub_outbox_unpublished ON hub_outbox (id) WHERE published_at IS NULL;
CREATE INDEX hub_outbox_published_at ON hub_outbox (published_at) WHERE published_at IS NOT NULL;

CREATE TABLE hub_timers (
    id           bigserial   PRIMARY KEY,
    name         text        UNIQUE,         -- optional: re-scheduling a name replaces it
    due_at       timestamptz NOT NULL,
    message_id   uuid        NOT NULL,
    type         text        NOT NULL,
    destination  text,
    envelope     jsonb       NOT NULL,
    body         bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hub_timers_due_at ON hub_timers (due_at);

CREATE TABLE hub_dead_letters (
    id           bigserial   PRIMARY KEY,
    actor        text        NOT NULL,
    message_id   uuid,
    type         text,
    envelope     jsonb,
    headers      jsonb       NOT NULL DEFAULT '{}',
    body         bytea       NOT NULL,
    reason       text        NOT NULL CHECK (reason IN ('permanent', 'exhausted', 'redelivered')),
    error        text        NOT NULL,
    traceback    text,
    attempts     integer     NOT NULL DEFAULT 1,
    status       text        NOT NULL DEFAULT 'dead' CHECK (status IN ('dead', 'replayed', 'discarded')),
    failed_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz
);
CREATE INDEX hub_dead_letters_status ON hub_dead_letters (status, id);
-- A message dead-lettered twice by one actor (a redelivery racing the ack) is kept once.
CREATE UNIQUE INDEX hub_dead_letters_once ON hub_dead_letters (actor, message_id)
    WHERE status = 'dead';
