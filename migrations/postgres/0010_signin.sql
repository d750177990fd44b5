-- Web sign-in: local accounts, server-side sessions and OpenID Connect login attempts, all durable.

-- A local account per person id (`warroom user add NAME`): an argon2id PHC hash, never the password.
CREATE TABLE local_accounts (
    person_id     TEXT   PRIMARY KEY,
    display_name  TEXT,
    password_hash TEXT   NOT NULL,
    disabled      BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- A signed-in browser: only the SHA-256 of the cookie's session id is kept; `actor` is the Actor JSON.
CREATE TABLE web_sessions (
    id_hash      TEXT   PRIMARY KEY,
    person_id    TEXT   NOT NULL,
    actor        TEXT   NOT NULL,
    csrf_token   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    user_agent   TEXT
);
CREATE INDEX web_sessions_person ON web_sessions (person_id);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

-- An OpenID Connect sign-in under way: the state sent to the issuer, with the nonce and PKCE verifier it needs.
CREATE TABLE oidc_logins (
    state         TEXT   PRIMARY KEY,
    nonce         TEXT   NOT NULL,
    pkce_verifier TEXT   NOT NULL,
    return_to     TEXT   NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX oidc_logins_expires ON oidc_logins (expires_at);
