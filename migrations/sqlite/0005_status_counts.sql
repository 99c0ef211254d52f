-- Notifications per status, kept by triggers, so stats cost the same however much
-- history the outbox holds. SQLite has one writer, so the counts change in place.
-- (The deltas table is where PostgreSQL's concurrent writers append instead; here it
-- stays empty, so stats read the same two tables on both backends.)
CREATE TABLE status_counts (
    status TEXT PRIMARY KEY,
    n      INTEGER NOT NULL
);

CREATE TABLE status_count_deltas (
    status TEXT    NOT NULL,
    n      INTEGER NOT NULL
);

INSERT INTO status_counts (status, n)
SELECT s.status, (SELECT COUNT(*) FROM notifications WHERE status = s.status)
FROM (SELECT 'pending' AS status UNION ALL SELECT 'delivering' UNION ALL SELECT 'delivered'
      UNION ALL SELECT 'failed' UNION ALL SELECT 'cancelled') s;

CREATE TRIGGER notifications_counted_insert AFTER INSERT ON notifications
BEGIN
    UPDATE status_counts SET n = n + 1 WHERE status = NEW.status;
END;

CREATE TRIGGER notifications_counted_update AFTER UPDATE OF status ON notifications
WHEN OLD.status <> NEW.status
BEGIN
    UPDATE status_counts SET n = n - 1 WHERE status = OLD.status;
    UPDATE status_counts SET n = n + 1 WHERE status = NEW.status;
END;

CREATE TRIGGER notifications_counted_delete AFTER DELETE ON notifications
BEGIN
    UPDATE status_counts SET n = n - 1 WHERE status = OLD.status;
END;
