-- API tokens that belong to someone: a person of the directory or a service account. Only the SHA-256 of
-- the secret is kept; the public prefix finds the row, the hash proves the secret.
CREATE TABLE api_tokens (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL,
    prefix          TEXT    NOT NULL UNIQUE,
    secret_hash     TEXT    NOT NULL,
    person_id       TEXT,
    service_account TEXT,
    scopes          TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    last_used_at    BIGINT,
    expires_at      BIGINT,
    revoked_at      BIGINT,
    CHECK ((person_id IS NULL) <> (service_account IS NULL))
);
