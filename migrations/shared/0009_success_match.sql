-- How a success body is compared with the answer: 'exact' (the trimmed answer is the
-- body) or 'contains' (the answer contains it). The payment-result notices are re-sent
-- by the platform only when the answer does not contain SUCCESS, so every one already
-- stored (waiting, or finished and redelivered later) is judged that way from now on.
ALTER TABLE notifications ADD COLUMN success_match TEXT NOT NULL DEFAULT 'exact';
UPDATE notifications SET success_match = 'contains' WHERE kind = 'payment_result';
