-- The outbox names no producer: who a notification belongs to is its `tenant` (for the
-- platform's notices, the merchant's mid) and what it is about is its `subject` (a
-- contract's contractId, later an order). Renaming keeps every row and index.
ALTER TABLE notifications RENAME COLUMN mid TO tenant;
ALTER TABLE notifications RENAME COLUMN contract_id TO subject;
DROP INDEX notifications_mid;
DROP INDEX notifications_contract;
CREATE INDEX notifications_tenant ON notifications (tenant, id) WHERE tenant IS NOT NULL;
CREATE INDEX notifications_subject ON notifications (subject, id) WHERE subject IS NOT NULL;
CREATE INDEX notifications_kind ON notifications (kind, id);
