-- The outbox: one row per notification, and one row per try of it.
CREATE TABLE notifications (
    id              BIGSERIAL   PRIMARY KEY,
    status          TEXT        NOT NULL CHECK (status IN ('pending', 'delivering', 'delivered', 'failed', 'cancelled')),
    url             TEXT        NOT NULL,
    host            TEXT        NOT NULL,
    body            BYTEA       NOT NULL,
    content_type    TEXT        NOT NULL,
    headers         TEXT        NOT NULL DEFAULT '[]',
    attempts        INTEGER     NOT NULL DEFAULT 0,
    round_attempts  INTEGER     NOT NULL DEFAULT 0,
    max_attempts    INTEGER     NOT NULL,
    retry_schedule  TEXT        NOT NULL,
    idempotency_key TEXT        UNIQUE,
    mid             TEXT,
    contract_id     TEXT,
    kind            TEXT        NOT NULL,
    -- next try while pending, lease expiry while delivering, NULL once finished
    due_at          TIMESTAMPTZ,
    lease_token     BIGINT      NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    last_error      TEXT,
    CHECK ((due_at IS NOT NULL) = (status IN ('pending', 'delivering')))
);

-- Claiming reads only this partial index: however much history piles up, finished rows
-- are not in it, so the hot path stays as small as the live backlog.
CREATE INDEX notifications_due ON notifications (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX notifications_status ON notifications (status, id);
CREATE INDEX notifications_mid ON notifications (mid, id) WHERE mid IS NOT NULL;
CREATE INDEX notifications_contract ON notifications (contract_id, id) WHERE contract_id IS NOT NULL;
CREATE INDEX notifications_finished ON notifications (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE attempts (
    id              BIGSERIAL   PRIMARY KEY,
    notification_id BIGINT      NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    number          INTEGER     NOT NULL,
    started_at      TIMESTAMPTZ NOT NULL,
    duration_ms     BIGINT      NOT NULL,
    status_code     INTEGER,
    failure         TEXT,
    message         TEXT,
    response_body   BYTEA
);

CREATE INDEX attempts_notification ON attempts (notification_id, number);
