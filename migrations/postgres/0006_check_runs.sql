-- Conformance check runs started from the sandbox, with their reports.
-- Times are TIMESTAMPTZ.
CREATE TABLE check_runs (
    id          BIGSERIAL PRIMARY KEY,
    mid         TEXT    NOT NULL REFERENCES merchants (mid),
    notify_url  TEXT    NOT NULL,
    -- the check ids asked for, as a JSON array; NULL for the whole catalogue
    only_checks TEXT,
    status      TEXT    NOT NULL CHECK (status IN ('running', 'finished', 'failed')),
    -- set when finished: 1 when no `must` check failed, else 0
    passed      INTEGER,
    pass_count  INTEGER NOT NULL DEFAULT 0,
    fail_count  INTEGER NOT NULL DEFAULT 0,
    warn_count  INTEGER NOT NULL DEFAULT 0,
    -- the report as JSON once finished; the error once failed
    report      TEXT,
    error       TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);

CREATE INDEX check_runs_mid ON check_runs (mid, id);
