-- Authentication: users, refresh tokens, API keys. Secrets are never stored in clear:
-- passwords as argon2id hashes, refresh tokens and API keys as SHA-256 digests.

CREATE TABLE auth_users (
    id              bigserial   PRIMARY KEY,
    email           text        NOT NULL CHECK (email = lower(btrim(email)) AND email LIKE '%_@_%'),
    role            text        NOT NULL CHECK (role IN (
                        'admin', 'ops', 'sales', 'warehouse', 'marketing', 'b2b_customer', 'service')),
    customer_id     text        CHECK (customer_id <> ''),
    password_hash   text        NOT NULL,
    totp_secret     text,                       -- set while enrolling, and once enabled
    totp_enabled    boolean     NOT NULL DEFAULT false,
    totp_last_step  bigint,                     -- step of the last accepted code: no replay
    disabled_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    last_login_at   timestamptz,
    -- a b2b customer is bound to exactly one customer; nobody else is bound to one
    CONSTRAINT auth_users_customer CHECK ((role = 'b2b_customer') = (customer_id IS NOT NULL)),
    CONSTRAINT auth_users_totp_secret CHECK (NOT totp_enabled OR totp_secret IS NOT NULL),
    -- TOTP is mandatory for admins, from the first login
    CONSTRAINT auth_users_admin_totp CHECK (role <> 'admin' OR totp_enabled)
);
CREATE UNIQUE INDEX auth_users_email ON auth_users (lower(email));

-- One row per refresh token ever issued. A login starts a family; each rotation adds a child
-- and marks its parent rotated. A rotated token presented again revokes the whole family.
CREATE TABLE auth_refresh_tokens (
    id          bigserial   PRIMARY KEY,
    user_id     bigint      NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    family      uuid        NOT NULL,
    parent_id   bigint      REFERENCES auth_refresh_tokens (id) ON DELETE CASCADE,
    token_hash  bytea       NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    rotated_at  timestamptz,
    revoked_at  timestamptz,
    CHECK (expires_at > issued_at)
);
CREATE INDEX auth_refresh_tokens_family ON auth_refresh_tokens (family);
CREATE INDEX auth_refresh_tokens_user ON auth_refresh_tokens (user_id) WHERE revoked_at IS NULL;
CREATE INDEX auth_refresh_tokens_expires_at ON auth_refresh_tokens (expires_at);

-- Keys of machine clients: "chk_<public_id>_<secret>"; the public id finds the row, the
-- SHA-256 of the whole key proves it.
CREATE TABLE auth_api_keys (
    id            bigserial   PRIMARY KEY,
    public_id     text        NOT NULL UNIQUE CHECK (public_id ~ '^[a-z0-9]{8}$'),
    name          text        NOT NULL CHECK (name = btrim(name) AND name <> ''),
    roles         text[]      NOT NULL CHECK (
                      cardinality(roles) > 0
                      AND roles <@ ARRAY['ops', 'sales', 'warehouse', 'marketing',
                                         'b2b_customer', 'service']),  -- never admin
    customer_id   text        CHECK (customer_id <> ''),
    secret_hash   bytea       NOT NULL CHECK (octet_length(secret_hash) = 32),
    created_by    bigint      REFERENCES auth_users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    -- a b2b customer key is bound to one customer and holds no other role
    CONSTRAINT auth_api_keys_customer CHECK (
        CASE WHEN 'b2b_customer' = ANY (roles)
             THEN customer_id IS NOT NULL AND roles = ARRAY['b2b_customer']
             ELSE customer_id IS NULL
        END)
);
CREATE UNIQUE INDEX auth_api_keys_active_name ON auth_api_keys (lower(name))
    WHERE revoked_at IS NULL;
