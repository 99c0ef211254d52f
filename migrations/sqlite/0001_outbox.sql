-- The outbox: one row per notification, and one row per try of it.
-- Times are milliseconds since the Unix epoch (UTC).
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivering', 'delivered', 'failed', 'cancelled')),
    url             TEXT    NOT NULL,
    host            TEXT    NOT NULL,
    body            BLOB    NOT NULL,
    content_type    TEXT    NOT NULL,
    headers         TEXT    NOT NULL DEFAULT '[]',
    attempts        INTEGER NOT NULL DEFAULT 0,
    round_attempts  INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    retry_schedule  TEXT    NOT NULL,
    idempotency_key TEXT    UNIQUE,
    mid             TEXT,
    contract_id     TEXT,
    kind            TEXT    NOT NULL,
    -- next try while pending, lease expiry while delivering, NULL once finished
    due_at          INTEGER,
    lease_token     INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    last_error      TEXT,
    CHECK ((due_at IS NOT NULL) = (status IN ('pending', 'delivering')))
);

-- Claiming reads only this index: finished rows are not in it.
CREATE INDEX notifications_due ON notifications (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX notifications_status ON notifications (status, id);
CREATE INDEX notifications_mid ON notifications (mid, id) WHERE mid IS NOT NULL;
CREATE INDEX notifications_contract ON notifications (contract_id, id) WHERE contract_id IS NOT NULL;
CREATE INDEX notifications_finished ON notifications (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE attempts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id INTEGER NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    number          INTEGER NOT NULL,
    started_at      INTEGER NOT NULL,
    duration_ms     INTEGER NOT NULL,
    status_code     INTEGER,
    failure         TEXT,
    message         TEXT,
    response_body   BLOB
);

CREATE INDEX attempts_notification ON attempts (notification_id, number);
