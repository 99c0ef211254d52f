-- The platform simulation: merchants with their credentials, password-free contracts,
-- issued access tokens and spent nonces. Times are TIMESTAMPTZ.
CREATE TABLE merchants (
    mid             TEXT    PRIMARY KEY,
    name            TEXT    NOT NULL,
    -- where notifications go when a contract names no notify URL of its own
    notify_url      TEXT,
    app_id          TEXT    NOT NULL UNIQUE,
    app_key         TEXT    NOT NULL,
    -- simulated user consent: contracts of this merchant sign themselves after this delay
    auto_consent_ms BIGINT,
    -- every notification of this merchant is sent this many extra times
    extra_copies    INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE contracts (
    id               BIGSERIAL   PRIMARY KEY,
    contract_id      TEXT    NOT NULL UNIQUE,
    mid              TEXT    NOT NULL REFERENCES merchants (mid),
    contract_no      TEXT    NOT NULL,
    plan_id          TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('UNSIGNED', 'SIGNED', 'DELETING_CONTRACT', 'RESCISSION', 'UNKNOWN')),
    notify_url       TEXT    NOT NULL,
    single_limit_amt TEXT    NOT NULL DEFAULT '',
    avl_num          TEXT    NOT NULL DEFAULT '',
    signed_at        TIMESTAMPTZ,
    expires_at       TIMESTAMPTZ,
    -- when the simulated user consents; cleared by any state change
    consent_due_at   TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (mid, contract_no)
);

CREATE INDEX contracts_mid ON contracts (mid, id);
CREATE INDEX contracts_consent_due ON contracts (consent_due_at) WHERE consent_due_at IS NOT NULL;

-- Only a digest of each token is kept: a leaked table grants nothing.
CREATE TABLE access_tokens (
    token_hash TEXT    PRIMARY KEY,
    app_id     TEXT    NOT NULL REFERENCES merchants (app_id),
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);

-- A nonce is remembered until no request carrying it could pass the timestamp window.
CREATE TABLE used_nonces (
    app_id     TEXT    NOT NULL,
    nonce      TEXT    NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (app_id, nonce)
);

CREATE INDEX used_nonces_expiry ON used_nonces (expires_at);
