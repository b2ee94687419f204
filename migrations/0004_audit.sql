-- The audit trail: every state-changing API call and every domain change made on someone's behalf.

CREATE TABLE audit_log (
    id              bigserial   PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor           text        NOT NULL,          -- "user:12", "api_key:3", "system"
    actor_name      text,                          -- e-mail or key name at the time
    action          text        NOT NULL,          -- "users.disable", "orders.OrderCancelled"
    entity_type     text,
    entity_id       text,
    before          jsonb,
    after           jsonb,
    method          text,                          -- set for API calls
    path            text,
    status          integer,
    request_id      text,
    client_ip       text,
    correlation_id  text                           -- set for changes made by actors
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_at ON audit_log (at);
