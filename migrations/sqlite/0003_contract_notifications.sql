-- Per contract: when its last state notification was stamped (`requestTimestamp`, whole
-- seconds), so the next one of the same contract gets a later one; and the delivery host
-- (`host:port`) of its notify URL, derived once when the URL was accepted.
-- Times are milliseconds since the Unix epoch (UTC).
ALTER TABLE contracts ADD COLUMN last_notified_at INTEGER;
-- NULL for contracts created before this migration; derived from `notify_url` then.
ALTER TABLE contracts ADD COLUMN notify_host TEXT;

-- A contract that was ever notified was last notified at its last change: only state
-- changes move `updated_at`, and each sends a notification stamped with that time.
UPDATE contracts SET last_notified_at = updated_at
WHERE EXISTS (
    SELECT 1 FROM notifications n
    WHERE n.contract_id = contracts.contract_id AND n.kind = 'contract_state'
);
