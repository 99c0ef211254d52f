-- Notifications per status, kept by triggers, so stats cost the same however much
-- history the outbox holds. Many writers share a PostgreSQL outbox, and one counter row
-- per status would make every claim wait for every other: each statement instead appends
-- its net change to status_count_deltas, which no one else locks, and a background task
-- folds the deltas into status_counts. Stats read both.
LOCK TABLE notifications IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE status_counts (
    status TEXT PRIMARY KEY,
    n      BIGINT NOT NULL
);

CREATE TABLE status_count_deltas (
    status TEXT   NOT NULL,
    n      BIGINT NOT NULL
);

INSERT INTO status_counts (status, n)
SELECT s.status, (SELECT COUNT(*) FROM notifications WHERE status = s.status)
FROM unnest(ARRAY['pending', 'delivering', 'delivered', 'failed', 'cancelled']) AS s(status);

CREATE FUNCTION notifications_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO status_count_deltas (status, n)
    SELECT status, COUNT(*) FROM new_rows GROUP BY status;
    RETURN NULL;
END $$;

CREATE FUNCTION notifications_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO status_count_deltas (status, n)
    SELECT status, SUM(n) FROM (
        SELECT status, -1 AS n FROM old_rows
        UNION ALL
        SELECT status, 1 AS n FROM new_rows
    ) d GROUP BY status HAVING SUM(n) <> 0;
    RETURN NULL;
END $$;

CREATE FUNCTION notifications_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO status_count_deltas (status, n)
    SELECT status, -COUNT(*) FROM old_rows GROUP BY status;
    RETURN NULL;
END $$;

CREATE TRIGGER notifications_counted_insert AFTER INSERT ON notifications
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION notifications_count_inserted();

CREATE TRIGGER notifications_counted_update AFTER UPDATE ON notifications
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION notifications_count_updated();

CREATE TRIGGER notifications_counted_delete AFTER DELETE ON notifications
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION notifications_count_deleted();
