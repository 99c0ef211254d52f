-- Idempotency keys are unique among the notifications that have one. The unique
-- constraint also indexed every row without a key (most of them), and every claim and
-- result writes a new version of a row, each with its own entry in every index: a
-- partial index leaves those out. Inserts name it with
-- `ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL`, which either index
-- satisfies. (SQLite keeps its constraint: dropping it there means rebuilding the table.)
CREATE UNIQUE INDEX notifications_idempotency_key ON notifications (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
ALTER TABLE notifications DROP CONSTRAINT notifications_idempotency_key_key;
