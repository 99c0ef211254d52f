-- Merchant access keys: secrets a merchant's developers use on the admin API and the
-- console instead of the operator's admin token, each scoped to its merchant. Only the
-- key's SHA-256 digest (hex) is kept; the key itself is shown once, when it is issued.
-- Revoking a key deletes its row.
CREATE TABLE access_keys (
    id TEXT PRIMARY KEY,
    mid TEXT NOT NULL REFERENCES merchants (mid),
    digest TEXT NOT NULL UNIQUE,
    name TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX access_keys_mid ON access_keys (mid, created_at);
